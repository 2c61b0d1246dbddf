-- One row per delivery month × district × programme category × beneficiary group × channel,
-- with the person-times of the live deliveries in it: everything the service KPIs read, so
-- the raw reconciliation behind stg_services__deliveries runs once for all of them.
-- program_category is null for a delivery whose program_code is not (yet) in the catalogue.

with

deliveries as (
    select * from {{ ref('stg_services__deliveries') }}
),

programs as (
    select * from {{ ref('stg_services__programs') }}
),

categorised as (
    select
        deliveries.delivered_on,
        deliveries.district_code,
        deliveries.beneficiary_group,
        deliveries.channel,
        deliveries.person_times,
        programs.program_category
    from deliveries
    left join programs
        on deliveries.program_code = programs.program_code
),

final as (
    select
        cast({{ trunc_date("'month'", 'delivered_on') }} as date) as month_start,
        district_code,
        program_category,
        beneficiary_group,
        channel,
        count(*) as deliveries,
        sum(person_times) as person_times
    from categorised
    group by month_start, district_code, program_category, beneficiary_group, channel
)

select * from final
