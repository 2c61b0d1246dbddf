-- Grain: one row per union version (SCD type 2, int_unions_historized), valid on
-- [valid_from, valid_to), plus the "unknown" row for facts whose union is not (yet) known.
-- union_key = md5(union_id, valid_from). Versions of unions hard-deleted at the source are
-- kept for history (is_deleted), closed at the load that noticed the deletion.

with

union_versions as (
    select * from {{ ref('int_unions_historized') }}
),

enumerations as (
    select * from {{ ref('enumerations') }}
),

districts as (
    select * from {{ ref('districts') }}
),

industries as (
    select * from {{ ref('industries') }}
),

unit_categories as (
    select * from {{ ref('unit_categories') }}
),

labelled as (
    select
        {{ surrogate_key(['union_versions.union_id', 'union_versions.valid_from']) }}
            as union_key,
        union_versions.union_id,
        union_versions.version_number,
        union_versions.valid_from,
        union_versions.valid_to,
        union_versions.is_current,
        union_versions.is_deleted,
        union_versions.union_uscc,
        union_versions.has_valid_uscc,
        union_versions.union_name,
        union_versions.union_type,
        union_types.label_zh as union_type_label_zh,
        union_types.label_en as union_type_label_en,
        union_versions.employer_uscc,
        union_versions.employer_name,
        union_versions.unit_category as unit_category_code,
        unit_categories.name_zh as unit_category_name_zh,
        unit_categories.name_en as unit_category_name_en,
        union_versions.industry_code,
        industries.name_zh as industry_name_zh,
        industries.name_en as industry_name_en,
        industries.section as industry_section_code,
        union_versions.district_code,
        districts.name_zh as district_name_zh,
        districts.name_en as district_name_en,
        union_versions.parent_union_id,
        union_versions.founded_on,
        union_versions.headcount,
        union_versions.union_status,
        union_statuses.label_zh as union_status_label_zh,
        union_statuses.label_en as union_status_label_en,
        union_versions.dissolved_on,
        false as is_unknown
    from union_versions
    left join enumerations as union_types
        on union_types.domain = 'union_type' and union_versions.union_type = union_types.code
    left join enumerations as union_statuses
        on
            union_statuses.domain = 'union_status'
            and union_versions.union_status = union_statuses.code
    left join unit_categories
        on union_versions.unit_category = unit_categories.unit_category
    left join industries
        on union_versions.industry_code = industries.industry_code
    left join districts
        on union_versions.district_code = districts.district_code
),

final as (
    {{ union_unknown_row('labelled', {
        'union_key': unknown_key(),
        'union_id': "'UNKNOWN'",
        'version_number': '1',
        'valid_from': "timestamp '1900-01-01'",
        'valid_to': "timestamp '9999-12-31'",
        'is_current': 'true',
        'is_deleted': 'false',
        'union_name': "'未知工会'",
        'is_unknown': 'true'
    }, columns=[
        'union_key', 'union_id', 'version_number', 'valid_from', 'valid_to', 'is_current',
        'is_deleted', 'union_uscc', 'has_valid_uscc', 'union_name', 'union_type',
        'union_type_label_zh', 'union_type_label_en', 'employer_uscc', 'employer_name',
        'unit_category_code', 'unit_category_name_zh', 'unit_category_name_en', 'industry_code',
        'industry_name_zh', 'industry_name_en', 'industry_section_code', 'district_code',
        'district_name_zh', 'district_name_en', 'parent_union_id', 'founded_on', 'headcount',
        'union_status', 'union_status_label_zh', 'union_status_label_en', 'dissolved_on',
        'is_unknown',
    ]) }}
)

select * from final
