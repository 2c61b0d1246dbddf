-- One row per case: the case with its lifecycle milestones (first time each event happened),
-- the durations between them in calendar days, and whether they kept to the legal time limits
-- of the Labour Dispute Mediation and Arbitration Law:
--   mediation: settled or failed within 15 days of the application (Art. 14);
--   arbitration acceptance: within 5 days of the filing (Art. 29);
--   award: within 45 days of acceptance, extendable by 15 days at most (Art. 43).
-- Days are counted on Beijing calendar dates, the start day excluded (a milestone on the
-- next day is 1 day). A duration or flag is null while its end milestone has not happened.

with

cases as (
    select * from {{ ref('stg_disputes__cases') }}
),

case_events as (
    select * from {{ ref('stg_disputes__case_events') }}
),

milestones as (
    select
        case_id,
        min(event_at) filter (where event_type = 'RECEIVED') as received_event_at,
        min(event_at) filter (where event_type = 'MEDIATION_STARTED') as mediation_started_at,
        min(event_at) filter (where event_type = 'MEDIATION_SUCCEEDED') as mediation_succeeded_at,
        min(event_at) filter (where event_type = 'MEDIATION_FAILED') as mediation_failed_at,
        min(event_at) filter (where event_type = 'LEGAL_AID_GRANTED') as legal_aid_granted_at,
        min(event_at) filter (where event_type = 'ARBITRATION_FILED') as arbitration_filed_at,
        min(event_at) filter (
            where event_type = 'ARBITRATION_ACCEPTED'
        ) as arbitration_accepted_at,
        min(event_at) filter (where event_type = 'AWARD_ISSUED') as award_issued_at,
        min(event_at) filter (where event_type = 'LITIGATION_FILED') as litigation_filed_at,
        min(event_at) filter (where event_type = 'JUDGMENT') as judgment_at,
        min(event_at) filter (where event_type = 'WITHDRAWN') as withdrawn_at,
        max(event_at) filter (where event_type = 'CLOSED') as closed_event_at,
        max(event_at) as last_event_at
    from case_events
    group by case_id
),

joined as (
    select
        cases.case_id,
        cases.case_no,
        cases.source_channel,
        cases.district_code,
        cases.handling_union_id,
        cases.employer_uscc,
        cases.is_collective,
        cases.has_legal_aid,
        cases.claim_type_count,
        cases.claimant_count,
        cases.event_count,
        cases.claim_amount,
        cases.recovered_amount,
        cases.case_status,
        cases.outcome,
        cases.received_at,
        cases.received_on,
        cases.closed_at,
        cases.closed_on,
        cases.updated_at,
        milestones.received_event_at,
        milestones.mediation_started_at,
        milestones.mediation_succeeded_at,
        milestones.mediation_failed_at,
        milestones.legal_aid_granted_at,
        milestones.arbitration_filed_at,
        milestones.arbitration_accepted_at,
        milestones.award_issued_at,
        milestones.litigation_filed_at,
        milestones.judgment_at,
        milestones.withdrawn_at,
        milestones.closed_event_at,
        milestones.last_event_at,
        coalesce(
            milestones.mediation_succeeded_at, milestones.mediation_failed_at
        ) as mediation_ended_at
    from cases
    left join milestones on cases.case_id = milestones.case_id
),

durations as (
    select
        *,
        {{ date_difference('day', 'received_on', 'cast(mediation_ended_at as date)') }}
            as mediation_days,
        {{ date_difference(
            'day', 'cast(arbitration_filed_at as date)', 'cast(arbitration_accepted_at as date)'
        ) }} as arbitration_acceptance_days,
        {{ date_difference(
            'day', 'cast(arbitration_accepted_at as date)', 'cast(award_issued_at as date)'
        ) }} as award_days,
        {{ date_difference('day', 'received_on', 'closed_on') }} as case_days
    from joined
),

final as (
    select
        *,
        mediation_days <= 15 as is_mediation_within_limit,
        arbitration_acceptance_days <= 5 as is_acceptance_within_limit,
        award_days <= 45 as is_award_within_limit,
        award_days <= 60 as is_award_within_extended_limit
    from durations
)

select * from final
