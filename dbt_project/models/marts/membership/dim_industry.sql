-- Grain: one row per industry class (GB/T 4754-2017) of the industries seed, with its section
-- (门类), plus the "unknown" row.

with

industries as (
    select * from {{ ref('industries') }}
),

sections as (
    select
        section_names.section_code,
        section_names.section_name_zh,
        section_names.section_name_en
    from (
        values
        ('A', '农、林、牧、渔业', 'Agriculture, forestry, animal husbandry and fishery'),
        ('B', '采矿业', 'Mining'),
        ('C', '制造业', 'Manufacturing'),
        ('D', '电力、热力、燃气及水生产和供应业', 'Electricity, heat, gas and water supply'),
        ('E', '建筑业', 'Construction'),
        ('F', '批发和零售业', 'Wholesale and retail trade'),
        ('G', '交通运输、仓储和邮政业', 'Transport, storage and postal services'),
        ('H', '住宿和餐饮业', 'Accommodation and catering'),
        ('I', '信息传输、软件和信息技术服务业', 'Information transmission, software and IT services'),
        ('J', '金融业', 'Finance'),
        ('K', '房地产业', 'Real estate'),
        ('L', '租赁和商务服务业', 'Leasing and business services'),
        ('M', '科学研究和技术服务业', 'Scientific research and technical services'),
        ('N', '水利、环境和公共设施管理业', 'Water, environment and public facilities management'),
        ('O', '居民服务、修理和其他服务业', 'Resident services, repair and other services'),
        ('P', '教育', 'Education'),
        ('Q', '卫生和社会工作', 'Health and social work'),
        ('R', '文化、体育和娱乐业', 'Culture, sports and entertainment'),
        ('S', '公共管理、社会保障和社会组织', 'Public administration, social security and organisations'),
        ('T', '国际组织', 'International organisations')
    ) as section_names (section_code, section_name_zh, section_name_en)
),

known_industries as (
    select
        {{ surrogate_key(['industries.industry_code']) }} as industry_key,
        industries.industry_code,
        industries.name_zh as industry_name_zh,
        industries.name_en as industry_name_en,
        industries.section as section_code,
        sections.section_name_zh,
        sections.section_name_en,
        false as is_unknown
    from industries
    left join sections
        on industries.section = sections.section_code
),

final as (
    {{ union_unknown_row('known_industries', {
        'industry_key': unknown_key(),
        'industry_code': "'UNKNOWN'",
        'industry_name_zh': "'未知'",
        'industry_name_en': "'Unknown'",
        'is_unknown': 'true'
    }, columns=[
        'industry_key', 'industry_code', 'industry_name_zh', 'industry_name_en', 'section_code',
        'section_name_zh', 'section_name_en', 'is_unknown',
    ]) }}
)

select * from final
