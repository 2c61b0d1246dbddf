-- Grain: one row per labour-dispute case (accumulating snapshot). Each build revises the row
-- as the case reaches its milestones: received, mediation started / succeeded / failed, legal
-- aid, arbitration filed / accepted, award, litigation, judgment, withdrawn, closed; with the
-- durations in calendar days and the legal time-limit flags of int_cases_milestoned.
-- Natural keys (handling_union_id, district_code, milestone dates) stay on the row for the
-- union, district and date dimensions.

with

cases as (
    select * from {{ ref('int_cases_milestoned') }}
),

claimants as (
    select * from {{ ref('stg_disputes__case_claimants') }}
),

employers as (
    select * from {{ ref('dim_employer') }}
),

channels as (
    select * from {{ ref('dim_dispute_channel') }}
),

outcomes as (
    select * from {{ ref('dim_case_outcome') }}
),

claimant_counts as (
    select
        case_id,
        count(*) filter (where is_member) as member_claimant_count,
        count(*) filter (where employment_form = 'NEW_FORM') as new_form_claimant_count
    from claimants
    group by case_id
),

final as (
    select
        {{ surrogate_key(['cases.case_id']) }} as case_key,
        cases.case_id,
        cases.case_no,
        coalesce(employers.employer_key, {{ unknown_key() }}) as employer_key,
        coalesce(channels.dispute_channel_key, {{ unknown_key() }}) as dispute_channel_key,
        coalesce(outcomes.case_outcome_key, {{ unknown_key() }}) as case_outcome_key,
        cases.handling_union_id,
        cases.district_code,
        cases.employer_uscc,
        cases.source_channel,
        cases.case_status,
        cases.outcome,
        cases.is_collective,
        cases.has_legal_aid,
        cases.claimant_count,
        cases.claim_type_count,
        cases.event_count,
        cases.claim_amount,
        cases.recovered_amount,
        cases.received_at,
        cases.received_on,
        cast(cases.mediation_started_at as date) as mediation_started_on,
        cast(cases.mediation_succeeded_at as date) as mediation_succeeded_on,
        cast(cases.mediation_failed_at as date) as mediation_failed_on,
        cast(cases.legal_aid_granted_at as date) as legal_aid_granted_on,
        cast(cases.arbitration_filed_at as date) as arbitration_filed_on,
        cast(cases.arbitration_accepted_at as date) as arbitration_accepted_on,
        cast(cases.award_issued_at as date) as award_issued_on,
        cast(cases.litigation_filed_at as date) as litigation_filed_on,
        cast(cases.judgment_at as date) as judgment_on,
        cast(cases.withdrawn_at as date) as withdrawn_on,
        cases.closed_at,
        cases.closed_on,
        cases.mediation_days,
        cases.arbitration_acceptance_days,
        cases.award_days,
        cases.case_days,
        cases.is_mediation_within_limit,
        cases.is_acceptance_within_limit,
        cases.is_award_within_limit,
        cases.is_award_within_extended_limit,
        cases.updated_at,
        coalesce(claimant_counts.member_claimant_count, 0) as member_claimant_count,
        coalesce(claimant_counts.new_form_claimant_count, 0) as new_form_claimant_count,
        cases.mediation_succeeded_at is not null as is_mediated,
        cases.closed_at is not null as is_closed
    from cases
    left join claimant_counts on cases.case_id = claimant_counts.case_id
    left join employers on cases.employer_uscc = employers.employer_uscc
    left join channels on cases.source_channel = channels.source_channel
    left join outcomes on cases.outcome = outcomes.outcome
)

select * from final
