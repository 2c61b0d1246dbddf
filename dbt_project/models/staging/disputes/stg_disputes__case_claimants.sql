-- One row per case × claimant, numbered in the order the source lists them. Only facts
-- derived from the personal data are kept (validity flags, gender and birth year from the ID
-- number); the ID and phone pseudonyms are not picked from the list (they stay inside
-- base_disputes__cases's nested claimants). Cases deleted at the source are dropped.

with

cases as (
    select * from {{ ref('base_disputes__cases') }}
),

unnested as (
    select
        case_id,
        {{ struct_list_elements('claimants', 'claimant_ordinal', 'claimant') }}
    from cases
    where not is_deleted
),

renamed as (
    select
        cast(case_id as {{ dbt.type_string() }}) as case_id,
        cast(claimant_ordinal as integer) as claimant_ordinal,
        cast(
            {{ struct_field('claimant', 'member_id', 'varchar') }} as {{ dbt.type_string() }}
        ) as member_id,
        cast({{ struct_field('claimant', 'id_valid', 'boolean') }} as boolean) as id_is_valid,
        cast(
            {{ struct_field('claimant', 'id_gender', 'varchar') }} as {{ dbt.type_string() }}
        ) as gender,
        cast(
            {{ date_part_number('year', struct_field('claimant', 'id_birth_date', 'date')) }}
            as integer
        ) as birth_year,
        cast({{ struct_field('claimant', 'phone_valid', 'boolean') }} as boolean) as phone_is_valid,
        cast(
            {{ struct_field('claimant', 'employment_form', 'varchar') }} as {{ dbt.type_string() }}
        ) as employment_form,
        cast(
            {{ struct_field('claimant', 'new_form_type', 'varchar') }} as {{ dbt.type_string() }}
        ) as new_form_type,
        {{ struct_field('claimant', 'member_id', 'varchar') }} is not null as is_member
    from unnested
),

final as (
    select * from renamed
)

select * from final
