-- One row per case × claimant, numbered in the order the source lists them. Only facts
-- derived from the personal data are kept (validity flags, gender and birth year from the ID
-- number); the ID and phone pseudonyms stay in the raw layer. Cases deleted at the source are
-- dropped.

with

source as (
    select * from {{ source('disputes', 'case') }}
),

unnested as (
    select
        case_id,
        generate_subscripts(claimants, 1) as claimant_ordinal,
        unnest(claimants) as claimant
    from source
    where not _is_deleted
),

renamed as (
    select
        cast(case_id as varchar) as case_id,
        cast(claimant_ordinal as integer) as claimant_ordinal,
        cast(struct_extract(claimant, 'member_id') as varchar) as member_id,
        cast(struct_extract(claimant, 'id_valid') as boolean) as id_is_valid,
        cast(struct_extract(claimant, 'id_gender') as varchar) as gender,
        cast(year(struct_extract(claimant, 'id_birth_date')) as integer) as birth_year,
        cast(struct_extract(claimant, 'phone_valid') as boolean) as phone_is_valid,
        cast(struct_extract(claimant, 'employment_form') as varchar) as employment_form,
        cast(struct_extract(claimant, 'new_form_type') as varchar) as new_form_type,
        struct_extract(claimant, 'member_id') is not null as is_member
    from unnested
),

final as (
    select * from renamed
)

select * from final
