-- One row per award (劳动奖状、劳动奖章、工人先锋号、北京大工匠、劳动模范) as the membership system
-- shows it now; honors hard-deleted at the source are dropped. Revoked honors stay, flagged:
-- they count nowhere.

with

honors as (
    select * from {{ source('membership', 'honor') }}
),

enumerations as (
    select * from {{ ref('enumerations') }}
),

live_honors as (
    select * from honors
    where not _is_deleted
),

renamed as (
    select
        honor_id,
        honor_type,
        level as honor_level,
        member_id,
        union_id,
        team_name,
        awarded_on,
        revoked as is_revoked,
        updated_at,
        _loaded_at as loaded_at,
        level in ('MUNICIPAL', 'NATIONAL') as is_municipal_or_above
    from live_honors
),

final as (
    select
        renamed.*,
        honor_types.label_zh as honor_type_label_zh,
        honor_types.label_en as honor_type_label_en,
        honor_levels.label_zh as honor_level_label_zh,
        honor_levels.label_en as honor_level_label_en
    from renamed
    left join enumerations as honor_types
        on honor_types.domain = 'honor_type' and renamed.honor_type = honor_types.code
    left join enumerations as honor_levels
        on honor_levels.domain = 'honor_level' and renamed.honor_level = honor_levels.code
)

select * from final
