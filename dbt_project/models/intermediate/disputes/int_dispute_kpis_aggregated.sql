-- Grain: one row per dispute/hotline KPI × period grain × period × district ('ALL' for the
-- whole city, and each of the 16 districts unless the KPI is city-only in kpi_catalogue), for
-- every period of int_kpi_periods (KPIS.md). Counts and sums are 0 for an empty period; the
-- closure rate is null for a period without requests.
--   disputes_accepted        cases with received_at in the period
--   disputes_mediated        cases with a MEDIATION_SUCCEEDED event in the period
--   disputes_legal_aid       cases with a LEGAL_AID_GRANTED event in the period
--   disputes_recovered_yuan  sum of recovered_amount of cases with closed_at in the period
--   hotline_requests         requests with received_at in the period
--   hotline_closure_rate     of those requests, the share with status CLOSED (latest load)
-- A record without a district counts in 'ALL' only.
--
-- Incremental (replace_keys on period_start, macros/incremental/revisited_periods.sql): a
-- run recomputes the periods holding a date of any version of a case or request the unseen
-- loads wrote or tombstoned (received, closed, each lifecycle event), and the periods the
-- grid gained or lost.

-- depends_on: {{ ref('stg_services__deletions') }}
-- depends_on: {{ ref('stg_disputes__case_versions') }}
-- depends_on: {{ ref('stg_disputes__hotline_request_versions') }}

{{ replace_keys_config('period_start', ['disputes']) }}
{%- set loads = unseen_loads(['disputes']) %}

with

periods as (
    select * from {{ ref('int_kpi_periods') }}
),

districts as (
    select * from {{ ref('districts') }}
),

kpi_catalogue as (
    select * from {{ ref('kpi_catalogue') }}
),

cases as (
    select * from {{ ref('stg_disputes__cases') }}
),

case_events as (
    select * from {{ ref('stg_disputes__case_events') }}
),

hotline_requests as (
    select * from {{ ref('stg_disputes__hotline_requests') }}
),

{% if is_incremental() %}

    deletions as (
        select * from {{ ref('stg_services__deletions') }}
    ),

    case_versions as (
        select * from {{ ref('stg_disputes__case_versions') }}
    ),

    hotline_request_versions as (
        select * from {{ ref('stg_disputes__hotline_request_versions') }}
    ),

    changed_cases as (
        {{ loaded_keys('case_versions', 'deletions', 'case_id', 'disputes', 'case', loads) }}
    ),

    changed_requests as (
        {{ loaded_keys(
            'hotline_request_versions', 'deletions', 'request_id', 'disputes',
            'hotline_request', loads
        ) }}
    ),

    changed_case_versions as (
        select * from case_versions
        where case_id in (select changed_cases.case_id from changed_cases)
    ),

    changed_case_events as (
        select {{ struct_list_elements('events', 'event_ordinal', 'case_event') }}
        from changed_case_versions
    ),

    changed_dates as (
        select received_on as record_date from changed_case_versions
        union all
        select closed_on as record_date from changed_case_versions
        union all
        select
            cast({{ struct_field('case_event', 'at', 'timestamp') }} as date) as record_date
        from changed_case_events
        union all
        select received_on as record_date from hotline_request_versions
        where request_id in (select changed_requests.request_id from changed_requests)
    ),

    revisited as (
        {{ period_starts_of('changed_dates') }}
        union
        {{ regridded_period_starts() }}
    ),

{% endif %}

revisited_periods as (
    {{ revisited_rows('periods', 'period_start', is_incremental()) }}
),

case_milestone_events as (
    select
        case_events.case_id,
        case_events.event_type,
        case_events.event_on,
        cases.district_code
    from case_events
    inner join cases on case_events.case_id = cases.case_id
    where case_events.event_type in ('MEDIATION_SUCCEEDED', 'LEGAL_AID_GRANTED')
),

-- Every record a KPI reads, on the date that places it in a period.
kpi_records as (
    select
        'disputes_accepted' as kpi_code,
        case_id as record_id,
        received_on as record_on,
        district_code,
        cast(null as decimal(18, 2)) as amount,
        cast(null as boolean) as is_closed
    from cases
    union all
    select
        case
            when event_type = 'MEDIATION_SUCCEEDED' then 'disputes_mediated'
            else 'disputes_legal_aid'
        end as kpi_code,
        case_id as record_id,
        event_on as record_on,
        district_code,
        cast(null as decimal(18, 2)) as amount,
        cast(null as boolean) as is_closed
    from case_milestone_events
    union all
    select
        'disputes_recovered_yuan' as kpi_code,
        case_id as record_id,
        closed_on as record_on,
        district_code,
        recovered_amount as amount,
        cast(null as boolean) as is_closed
    from cases
    where closed_on is not null
    union all
    select
        kpi.kpi_code,
        hotline_requests.request_id as record_id,
        hotline_requests.received_on as record_on,
        hotline_requests.district_code,
        cast(null as decimal(18, 2)) as amount,
        hotline_requests.request_status = 'CLOSED' as is_closed
    from hotline_requests
    cross join
        (values ('hotline_requests'), ('hotline_closure_rate')) as kpi (kpi_code)
),

-- The records of the periods this run computes (on a full build, every period of the grid).
record_periods as (
    {{ records_in_periods('kpi_records', 'record_on', [
        'kpi_code', 'record_id', 'district_code', 'amount', 'is_closed'
    ]) }}
),

-- Each record counts in the whole city and, when it has one, in its own district.
record_scopes as (
    select
        kpi_code,
        record_id,
        amount,
        is_closed,
        period_grain,
        period_start,
        'ALL' as district_code
    from record_periods
    union all
    select
        kpi_code,
        record_id,
        amount,
        is_closed,
        period_grain,
        period_start,
        district_code
    from record_periods
    where district_code is not null
),

aggregated as (
    select
        kpi_code,
        period_grain,
        period_start,
        district_code,
        count(distinct record_id) as record_count,
        count(distinct record_id) filter (where is_closed) as closed_count,
        sum(amount) as amount_sum
    from record_scopes
    group by kpi_code, period_grain, period_start, district_code
),

spine as (
    {{ kpi_spine([
        'disputes_accepted',
        'disputes_mediated',
        'disputes_legal_aid',
        'disputes_recovered_yuan',
        'hotline_requests',
        'hotline_closure_rate',
    ], periods='revisited_periods', catalogued_only=true) }}
),

{%- set kpi_value %}
        case spine.unit
            when 'rate'
                then
                    cast(aggregated.closed_count as {{ type_double() }})
                    / cast(nullif(aggregated.record_count, 0) as {{ type_double() }})
            when 'yuan' then cast(coalesce(aggregated.amount_sum, 0) as {{ type_double() }})
            else cast(coalesce(aggregated.record_count, 0) as {{ type_double() }})
        end
{%- endset %}

kpi_values as (
    {{ kpi_zero_fill('aggregated', value=kpi_value) }}
),

{{ replace_keys_final('kpi_values', 'period_start', is_incremental()) }}

select * from final
