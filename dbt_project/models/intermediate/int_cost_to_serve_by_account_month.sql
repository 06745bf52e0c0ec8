with

cost_to_serve as (
    select * from {{ ref('stg_finance__cost_to_serve') }}
)

select
    account_id,
    cost_month as month_start,
    sum(service_cost_eur) as cost_to_serve_eur
from cost_to_serve
group by 1, 2
