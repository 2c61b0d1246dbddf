-- Grain: one row per employer named in a dispute case, by unified social credit code (USCC),
-- plus the unknown member for a case without a USCC. Type 1: name and industry as the most
-- recently updated case reports them.

with

cases as (
    select * from {{ ref('stg_disputes__cases') }}
),

industries as (
    select * from {{ ref('industries') }}
),

ranked_cases as (
    select
        employer_uscc,
        employer_name,
        employer_industry_code,
        employer_uscc_is_valid,
        row_number() over (
            partition by employer_uscc
            order by updated_at desc, case_id desc
        ) as recency_rank
    from cases
    where employer_uscc is not null
),

latest_per_employer as (
    select
        employer_uscc,
        employer_name,
        employer_industry_code,
        employer_uscc_is_valid
    from ranked_cases
    where recency_rank = 1
),

known as (
    select
        {{ surrogate_key(['latest_per_employer.employer_uscc']) }} as employer_key,
        latest_per_employer.employer_uscc,
        latest_per_employer.employer_name,
        latest_per_employer.employer_industry_code as industry_code,
        industries.section as industry_section,
        industries.name_zh as industry_name_zh,
        industries.name_en as industry_name_en,
        latest_per_employer.employer_uscc_is_valid as uscc_is_valid,
        -- USCC characters 3-8: the administrative division of the registration authority.
        case
            when latest_per_employer.employer_uscc_is_valid
                then substr(latest_per_employer.employer_uscc, 3, 6)
        end as registration_division_code
    from latest_per_employer
    left join industries
        on latest_per_employer.employer_industry_code = industries.industry_code
),

final as (
    {{ union_unknown_row('known', {
        'employer_key': unknown_key(),
        'employer_name': "'未知'",
        'industry_name_zh': "'未知'",
        'industry_name_en': "'Unknown'"
    }, columns=[
        'employer_key', 'employer_uscc', 'employer_name', 'industry_code', 'industry_section',
        'industry_name_zh', 'industry_name_en', 'uscc_is_valid', 'registration_division_code',
    ]) }}
)

select * from final
