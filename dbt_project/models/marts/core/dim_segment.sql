-- Customer segments: industry by company size band; -1 unknown, 0 all segments together.
with

accounts as (
    select * from {{ ref('int_accounts') }}
),

segments as (
    select distinct
        coalesce(industry, 'Unknown') as industry,
        {{ size_band('employees') }} as size_band
    from accounts
),

-- Industry and size both unknown is the unknown member (-1) itself, not a segment of its own: a CRM
-- without those columns would otherwise match two members (and dim_account repeat every account).
known_segments as (
    select * from segments
    where not (industry = 'Unknown' and size_band = 'Unknown')
)

select
    cast(row_number() over (order by industry, size_band) as integer) as segment_key,
    industry || ' / ' || size_band as segment_name,
    industry,
    size_band,
    {{ size_band_order('size_band') }} as size_band_order
from known_segments

union all

select
    -1 as segment_key,
    'Unknown' as segment_name,
    'Unknown' as industry,
    'Unknown' as size_band,
    {{ size_band_order("'Unknown'") }} as size_band_order

union all

-- Summaries over every segment (mart_nps_summary) point at this member.
select
    0 as segment_key,
    'All segments' as segment_name,
    'All' as industry,
    'All' as size_band,
    {{ size_band_order("'All'") }} as size_band_order
