-- Every active account has a care model and a recommended action; a churned account has neither.
-- Each returned row is an account that breaks the rule.
select account_id, is_active_customer, care_model, recommended_action
from {{ ref('mart_account_360') }}
where (is_active_customer and (care_model is null or recommended_action is null))
    or (not is_active_customer and (care_model is not null or recommended_action is not null))
