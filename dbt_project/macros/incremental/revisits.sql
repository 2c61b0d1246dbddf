{#-
    Data tests on what changed. An incremental build of a replace_keys model rewrites only the
    keys it revisits; every other row is as the build that wrote it left it, and that build
    tested it. So in the invocation that built it incrementally, the model's unique tests
    read only the rows whose value a row of a revisited key has (meta.model_revisits records
    the keys): rows are added only under revisited keys, so a new duplicate has a revisited
    row, and it may pair with an old one.

    Row-wise tests (not_null, accepted_values) read the whole model: in DuckDB's columns a
    null or value-set check of every row costs less than finding the revisited rows (at SF1,
    the 267 not_null tests of a day took 0.45 s whole and 0.57 s narrowed, and narrowing
    cost a query of meta.model_revisits per test: bench/RESULTS.md). Relationships (a parent
    key deleted breaks children that were not revisited) and singular tests stay whole too.

    A merge_logged model (fct_service_deliveries) is narrowed the same way by the keys its
    merge logged in meta.model_changes in this invocation (logged_filter).

    A full build (the first, --full-refresh, a definition or column change) records a null
    key, "every row", and so does every other target than DuckDB, where these models are
    tables. A build that revisited more than a third of the model's rows is tested whole
    too: reading every row once then costs less. `dbt test` on its own, and a build of
    another invocation, test every row: the record counts only in the invocation that wrote
    it. The weekly full refresh (orchestration/defs/automation.py) tests every row of
    everything.
-#}

{#- The table of revisited keys: per model, its latest build's invocation, whether that build
    wrote every row (`whole`), and one row per key it revisited (`revisited_key`; the row with
    a null key is there even when it revisited none, and holds in `rows_revisited` how many
    rows that build wrote and in `rows_total` how many the model had after it: counts DuckDB
    keeps, where counting the distinct keys read the whole key column). Created (and given
    the counts, which came later) by on-run-start. -#}
{% macro ensure_model_revisits() -%}
    create table if not exists meta.model_revisits (
        model_name varchar not null,
        invocation_id varchar not null,
        whole boolean not null,
        revisited_key varchar,
        rows_revisited bigint,
        rows_total bigint
    );
    alter table meta.model_revisits add column if not exists rows_revisited bigint;
    alter table meta.model_revisits add column if not exists rows_total bigint;
    alter table meta.model_revisits drop column if exists keys_total;
    {{ ensure_model_changes() }}
{%- endmacro %}

{#- The log publication reads (serving/model_changes.py): per model, its latest
    model_changes_kept() builds, oldest first by recorded_at, each with one row
    whose changed_key is null and, when the build revisited keys (key_column set), one row
    per key it revisited; a build that wrote every row has a null key_column. The serving
    file records the invocation each of its tables reflects, and catches up by deleting and
    inserting the rows of the keys changed since, instead of hashing every row. -#}
{% macro ensure_model_changes() -%}
    create table if not exists meta.model_changes (
        model_name varchar not null,
        invocation_id varchar not null,
        recorded_at timestamp not null,
        key_column varchar,
        changed_key varchar
    )
{%- endmacro %}

{#- Log a build of `this` in meta.model_changes: one row for the build, and one per key (as
    text) of the select `keys` when the build revisited keys of column `key`; key none: the
    build wrote every row. Keeps the model's latest model_changes_kept() builds. Statements
    for the model's own transaction. -#}
{% macro record_model_changes(key=none, keys=none) -%}
    insert into meta.model_changes
        (model_name, invocation_id, recorded_at, key_column, changed_key)
    select
        '{{ this.identifier }}', '{{ invocation_id }}', current_timestamp,
        {{ "'" ~ key ~ "'" if key is not none else 'null' }}, null;
    {%- if key is not none %}
    insert into meta.model_changes
        (model_name, invocation_id, recorded_at, key_column, changed_key)
    select distinct
        '{{ this.identifier }}', '{{ invocation_id }}', current_timestamp, '{{ key }}',
        cast(changed.changed_key as varchar)
    from ({{ keys }}) as changed (changed_key)
    where changed.changed_key is not null;
    {%- endif %}
    delete from meta.model_changes
    where
        model_name = '{{ this.identifier }}'
        and invocation_id not in (
            select invocation_id from meta.model_changes
            where model_name = '{{ this.identifier }}' and changed_key is null
            order by recorded_at desc
            limit {{ model_changes_kept() }}
        )
{%- endmacro %}

{#- The merge strategy (dbt-duckdb's, with the model's merge_clauses), then the batch's keys
    logged in meta.model_changes: every key the merge may have updated, inserted or deleted
    (fct_service_deliveries' tombstones too). -#}
{% macro get_incremental_merge_logged_sql(arg_dict) -%}
    {{ get_incremental_merge_sql(arg_dict) }};
    {{ record_model_changes(
        arg_dict['unique_key'],
        'select ' ~ arg_dict['unique_key'] ~ ' from ' ~ arg_dict['temp_relation']) }}
{%- endmacro %}

{#- Enough builds that a serving file published from a build of the last month or so (the
    weekly full refresh writes it whole) finds its own build among them. -#}
{% macro model_changes_kept() -%}
    {{ return(64) }}
{%- endmacro %}

{#- Record what `this` model's build rewrote: the keys of the rows of `batch` (key column
    `key`; every revisited key has a marker row, and rows added beside a key's old ones count
    too), or every row (key none). Statements for the model's own transaction. -#}
{% macro record_revisits(key, batch=none, target=none) -%}
    delete from meta.model_revisits where model_name = '{{ this.identifier }}';
    insert into meta.model_revisits
        (model_name, invocation_id, whole, revisited_key, rows_revisited, rows_total)
    select '{{ this.identifier }}', '{{ invocation_id }}', {{ key is none }}, null,
        {%- if key is not none and target is not none %}
        (select count(*) from {{ batch }} where not _revisit_marker),
        (select count(*) from {{ target }});
        {%- else %}
        null, null;
        {%- endif %}
    {%- if key is not none %}
    insert into meta.model_revisits (model_name, invocation_id, whole, revisited_key)
    select distinct '{{ this.identifier }}', '{{ invocation_id }}', false, cast({{ key }} as varchar)
    from {{ batch }};
    {%- endif %}
    {{ record_model_changes(
        key,
        "select revisited_key from meta.model_revisits where model_name = '"
        ~ this.identifier ~ "' and revisited_key is not null") }}
{%- endmacro %}

{#- dbt's hook for a generic test's `model` argument (its `where` config), as dbt's own but
    for Spark, which reads `from t where (x)` as t aliased `where` (x). -#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- if where -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ where ~ ') dbt_subquery') -%}
    {%- endif -%}
    {%- do return(relation) -%}
{%- endmacro %}

{#- The predicate that keeps the rows of the keys the tested model revisited in this
    invocation; '' when the running test must read every row. -#}
{% macro revisited_filter() -%}
    {%- if not execute or target.type != 'duckdb' or flags.WHICH != 'build' -%}
        {{ return('') }}
    {%- endif -%}
    {%- set tested = graph.nodes.get(model.attached_node) -%}
    {%- if tested is none or tested.config.incremental_strategy not in narrowed_strategies() -%}
        {{ return('') }}
    {%- endif -%}
    {%- set key = tested.config.unique_key -%}
    {%- set name = tested.alias or tested.name -%}
    {%- if tested.config.incremental_strategy == 'merge_logged' -%}
        {{ return(logged_filter(key, name)) }}
    {%- endif -%}
    {%- set recorded -%}
        select
            count(*),
            count(*) filter (where whole),
            coalesce(max(rows_revisited), 0),
            coalesce(max(rows_total), 0)
        from meta.model_revisits
        where model_name = '{{ name }}' and invocation_id = '{{ invocation_id }}'
    {%- endset -%}
    {%- set row = run_query(recorded).rows[0] -%}
    {%- if row[0] == 0 or row[1] > 0 -%}
        {{ return('') }}
    {%- endif -%}
    {#- The narrowed test reads the model twice (to find the revisited rows, then the rows
        sharing their values): past a third of the rows, reading every row once costs less. -#}
    {%- if row[2] * 3 > row[3] -%}
        {{ return('') }}
    {%- endif -%}
    {{ return(
        'cast(' ~ key ~ ' as varchar) in (select revisited_key from meta.model_revisits '
        ~ "where model_name = '" ~ name ~ "' and revisited_key is not null)") }}
{%- endmacro %}

{#- The strategies whose builds record the keys they changed: replace_keys in
    meta.model_revisits, merge_logged (a merge: fct_service_deliveries) in
    meta.model_changes. -#}
{% macro narrowed_strategies() -%}
    {{ return(['replace_keys', 'merge_logged']) }}
{%- endmacro %}

{#- revisited_filter for a merge_logged model: the rows of the keys its build in this
    invocation merged (updated, inserted or deleted), when that build logged keys; '' when
    it wrote every row or did not run. A merge adds or changes rows only under those keys,
    so a new duplicate has one. -#}
{% macro logged_filter(key, name) -%}
    {%- set recorded -%}
        select count(*)
        from meta.model_changes
        where
            model_name = '{{ name }}'
            and invocation_id = '{{ invocation_id }}'
            and changed_key is null
            and key_column is not null
    {%- endset -%}
    {%- if run_query(recorded).rows[0][0] == 0 -%}
        {{ return('') }}
    {%- endif -%}
    {{ return(
        'cast(' ~ key ~ ' as varchar) in (select changed_key from meta.model_changes '
        ~ "where model_name = '" ~ name ~ "' and invocation_id = '" ~ invocation_id
        ~ "' and changed_key is not null)") }}
{%- endmacro %}

{#- The unique_key of the model the running test is attached to, when its builds record
    the keys they changed (narrowed_strategies); none for any other test. -#}
{% macro tested_key() -%}
    {%- if not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set tested = graph.nodes.get(model.attached_node) -%}
    {%- if tested is none or tested.config.incremental_strategy not in narrowed_strategies() -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(tested.config.unique_key) }}
{%- endmacro %}

{#- dbt's unique test, replaced for every adapter (a generic test of the root project takes
    precedence over dbt's own): dbt's own test (adapter.dispatch, as dbt's builtin), on the
    rows whose value a row of a key the replace_keys model revisited has, where
    revisited_filter allows (old rows included: a new duplicate may pair with one); on every
    row otherwise. A test of the key itself reads only the revisited keys' rows: those are
    the rows holding their values. -#}
{% test unique(model, column_name) -%}
    {%- set revisited = revisited_filter() -%}
    {%- if revisited and column_name == tested_key() -%}
        {%- set model = '(select * from ' ~ model ~ ' where ' ~ revisited ~ ') dbt_subquery' -%}
    {%- elif revisited -%}
        {%- set model -%}
            (select * from {{ model }} where {{ column_name }} in (
                select {{ column_name }} from {{ model }} where {{ revisited }}
            )) dbt_subquery
        {%- endset -%}
    {%- endif -%}
    {{ adapter.dispatch('test_unique', 'dbt')(model, column_name) }}
{%- endtest %}

{#- No two rows share a value of every column of `combination_of_columns` (as dbt_utils'
    test of that name). When the combination holds the key of the replace_keys model, two
    rows sharing it share the key, so a new duplicate lies among the rows of the keys the
    build revisited: only those are read, where revisited_filter allows. -#}
{% test unique_combination_of_columns(model, combination_of_columns) -%}
    {%- set revisited = revisited_filter() if tested_key() in combination_of_columns else '' -%}
    {%- set columns = combination_of_columns | join(', ') %}
    select {{ columns }}, count(*) as n_records
    from
    {%- if revisited %} (select * from {{ model }} where {{ revisited }}) as revisited_rows
    {%- else %} {{ model }}
    {%- endif %}
    group by {{ columns }}
    having count(*) > 1
{%- endtest %}
