-- One row per grassroots union (基层工会) as the membership system shows it now; unions
-- hard-deleted at the source are dropped. Codes keep their source value; labels come from the
-- enumerations seed.

with

unions as (
    select * from {{ ref('base_membership__unions') }}
),

enumerations as (
    select * from {{ ref('enumerations') }}
),

live_unions as (
    select
        union_id,
        union_uscc,
        union_name,
        union_type,
        employer_uscc,
        employer_name,
        unit_category,
        industry_code,
        district_code,
        parent_union_id,
        founded_on,
        headcount,
        union_status,
        dissolved_on,
        created_at,
        updated_at,
        loaded_at,
        has_valid_uscc
    from unions
    where not is_deleted
),

final as (
    select
        live_unions.*,
        union_types.label_zh as union_type_label_zh,
        union_types.label_en as union_type_label_en,
        union_statuses.label_zh as union_status_label_zh,
        union_statuses.label_en as union_status_label_en
    from live_unions
    left join enumerations as union_types
        on union_types.domain = 'union_type' and live_unions.union_type = union_types.code
    left join enumerations as union_statuses
        on
            union_statuses.domain = 'union_status'
            and live_unions.union_status = union_statuses.code
)

select * from final
