-- Grain: one row per station × day (station_id, visit_date) of the monthly station-visit
-- workbooks. station_key is the unknown member's for a station not (yet) in the station
-- snapshot; district_code is the station's (null while the station is unknown).

with

station_visits as (
    select * from {{ ref('stg_services__station_visits') }}
),

stations as (
    {{ known_rows('dim_station') }}
),

final as (
    select
        coalesce(stations.station_key, {{ unknown_key() }}) as station_key,
        station_visits.station_id,
        station_visits.visit_date,
        stations.district_code,
        station_visits.reporting_union_id,
        station_visits.visits,
        station_visits.new_form_visits
    from station_visits
    left join stations
        on station_visits.station_id = stations.station_id
)

select * from final
