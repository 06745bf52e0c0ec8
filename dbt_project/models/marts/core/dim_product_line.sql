with

invoice_lines as (
    select * from {{ ref('stg_finance__invoice_lines') }}
),

product_lines as (
    select distinct product_line from invoice_lines
)

select
    cast(row_number() over (order by product_line nulls last) as integer) as product_line_key,
    product_line
from product_lines

union all

select -1 as product_line_key, 'Unknown' as product_line
