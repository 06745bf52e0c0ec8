"""The customers: accounts with their planted size and risk, their churn, contacts and opportunities.

Everything here is drawn once for the whole history (arrays over accounts, or accounts x months);
:mod:`pipeline.demo.crm`, :mod:`pipeline.demo.finance` and :mod:`pipeline.demo.surveys` turn it into
files month by month.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from pipeline.demo import model, vocabulary
from pipeline.demo.calendar import NAT, Calendar, month_index_of
from pipeline.demo.retention import RetentionPlan, select_entering
from pipeline.insight.retention import is_holdout

NO_CHURN = 1 << 30  # churn month of accounts that do not churn inside the history
CLOSED, SILENT = 1, 2  # churn kinds
SMALL, MEDIUM, LARGE = 0, 1, 2  # size bands (yearly revenue below 8,000 EUR / below 80,000 / above)
SIZE_BAND_LIMITS = (8_000.0, 80_000.0)


class Streams:
    """Independent, named random streams: a component's numbers do not depend on what ran before it."""

    def __init__(self, seed: int):
        self.seed = seed

    def __call__(self, name: str, *keys: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, zlib.crc32(name.encode()), *keys])


@dataclass
class Accounts:
    count: int
    number: np.ndarray  # 1..n; account_id = "A" + 6 digits
    created_date: np.ndarray
    created_month: np.ndarray  # month index, negative before the history
    name: np.ndarray
    domain: np.ndarray
    business_id: np.ndarray  # "" when the CRM has none
    industry: np.ndarray  # index into vocabulary.INDUSTRIES
    country: np.ndarray  # "FI", "SE", ...
    size_eur: np.ndarray  # planted yearly revenue at full volume, before risk and seasonality
    size_band: np.ndarray
    static_risk: np.ndarray
    static_logit: np.ndarray  # churn log-odds at zero risk state, rounded to 0.01
    product_mix: np.ndarray  # [account, product line] shares
    margin_discount: np.ndarray  # big accounts buy cheaper
    payment_terms_days: np.ndarray
    growth_per_year: np.ndarray
    service_intensity: np.ndarray  # how much serving the account costs beyond its transactions
    experience: np.ndarray  # [account, driver] planted experience, in rating points
    satisfaction: np.ndarray  # [account] planted satisfaction (model.account_satisfaction), drives growth
    segment: np.ndarray  # [account] index into model.ARCHETYPES: the planted behavioural and needs segment
    competitor: np.ndarray  # index into vocabulary.COMPETITORS: whom the account would go to
    competitor_propensity: np.ndarray  # fixed uniform draw: competitor shows up when risk is high
    # churn
    risk_state: np.ndarray  # [account, month]
    churn_month: np.ndarray  # month index, NO_CHURN if none inside the history
    churn_kind: np.ndarray  # 0, CLOSED, SILENT
    closed_date: np.ndarray  # NaT unless closed
    # CRM attributes as of each snapshot [snapshot, account]
    owner: np.ndarray
    region: np.ndarray
    employees: np.ndarray
    potential_eur: np.ndarray  # NaN: not estimated
    competitor_shown: np.ndarray

    def active_in(self, t: int) -> np.ndarray:
        """Accounts that are customers during month t (created, not yet churned): their indexes."""
        return np.flatnonzero((self.created_month <= t) & (self.churn_month > t))


def _weighted_choice(rng: np.random.Generator, weights, size: int) -> np.ndarray:
    weights = np.asarray(weights, dtype=np.float64)
    return rng.choice(len(weights), size=size, p=weights / weights.sum())


def _company_names(rng: np.random.Generator, country: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Finnish-sounding names (Mäkinen Metalli Oy, Pohjolan Kuljetus Oy, Örn & Åberg Ab) and web domains."""
    n = country.shape[0]

    def draw(pool: tuple[str, ...]) -> np.ndarray:
        return np.array(pool, dtype=object)[rng.integers(0, len(pool), n)]

    surname, place, trade = (
        draw(vocabulary.SURNAMES),
        draw(vocabulary.PLACE_GENITIVES),
        draw(vocabulary.TRADE_WORDS),
    )
    form = draw(vocabulary.FINNISH_FORMS)
    first, second = draw(vocabulary.SWEDISH_PAIRS), draw(vocabulary.SWEDISH_PAIRS)
    second = np.where(second == first, "Lindholm", second)
    pattern = _weighted_choice(rng, (0.5, 0.3, 0.08, 0.12), n)
    stem = np.select(
        [pattern == 0, pattern == 1, pattern == 2],
        [surname + " " + trade, place + " " + trade, first + " & " + second],
        trade + "-" + surname,
    )
    legal_form = np.where(pattern == 2, "Ab", np.where(pattern == 3, "Ky", form))
    for code, (surnames, words, foreign_form) in vocabulary.FOREIGN_NAMES.items():
        foreign = country == code
        stem = np.where(foreign, draw(surnames) + " " + draw(words), stem)
        legal_form = np.where(foreign, foreign_form, legal_form)
    names = stem + " " + legal_form
    domains = np.array(
        [
            vocabulary.ascii_fold(s) + vocabulary.COUNTRY_TLD[c]
            for s, c in zip(stem.tolist(), country.tolist(), strict=True)
        ],
        dtype=object,
    )
    return names, domains


def _segment_product_mix(rng: np.random.Generator, lines: np.ndarray) -> np.ndarray:
    """[account, product line] shares: each account buys ``lines`` product lines drawn at random, Dirichlet(4)."""
    count, total = lines.shape[0], len(vocabulary.PRODUCT_LINES)
    chosen = np.argsort(rng.random((count, total)), axis=1) < lines[:, None]
    weights = rng.gamma(4.0, 1.0, (count, total)) * chosen
    return weights / weights.sum(axis=1, keepdims=True)


def business_ids(rng: np.random.Generator, n: int) -> np.ndarray:
    """Distinct valid Finnish business IDs (Y-tunnus): 7 digits, hyphen, mod-11 check digit."""
    candidates = rng.choice(3_300_000, size=int(n * 1.15) + 20, replace=False) + 100_000
    digits = (candidates[:, None] // 10 ** np.arange(6, -1, -1)) % 10
    remainder = (digits * np.array((7, 9, 10, 5, 8, 4, 2))).sum(axis=1) % 11
    keep = remainder != 1  # remainder 1 has no valid check digit
    candidates, remainder = candidates[keep][:n], remainder[keep][:n]
    check = np.where(remainder == 0, 0, 11 - remainder)
    return np.array(
        [f"{base:07d}-{c}" for base, c in zip(candidates.tolist(), check.tolist(), strict=True)], dtype=object
    )


def invalid_business_id(valid: str) -> str:
    """The same ID with a wrong check digit (a typo): fails the checksum."""
    check = int(valid[-1])
    return f"{valid[:-1]}{(check + 3) % 10}"


def build_accounts(
    streams: Streams, count: int, calendar: Calendar, retention: RetentionPlan | None = None
) -> Accounts:
    """The accounts; ``retention``, when given, is the planted retention policy, simulated with churn and
    filled in with what it did (:mod:`pipeline.demo.retention`)."""
    months = calendar.months
    rng = streams("accounts")
    # Creation: most accounts are older than the history; new ones arrive at ~10 % of the base a year.
    years = months / 12
    new_share = 0.1 * years / (1 + 0.1 * years)
    is_new = rng.random(count) < new_share
    history_start = calendar.month_start(0)
    # Customer ages from weeks to ~30 years, recent customers more common than old ones.
    age_days = (45 + 30 * 365 * rng.random(count) ** 1.7).astype(np.int64)
    created_old = history_start - age_days.astype("timedelta64[D]")
    new_month = rng.integers(1, months, count)
    created_new = calendar.random_days(rng, new_month)
    created_date = np.where(is_new, created_new, created_old)
    order = np.argsort(created_date, kind="stable")  # account numbers follow creation
    created_date = created_date[order]
    created_month = month_index_of(created_date, calendar)

    rng = streams("account-attributes")
    size = np.clip(rng.lognormal(np.log(12_000), model.SIZE_LOG_SD, count), 500, 20_000_000)
    # The planted segment, from a stream of its own, chosen by the size already drawn: accounts ranked by their
    # log size plus noise fill the archetypes in the order of their size_order, each its share. No
    # account's size, nor any other draw, moves.
    segment_rng = streams("segments")
    archetypes = model.ARCHETYPES
    size_z0 = (np.log(size) - np.log(12_000)) / model.SIZE_LOG_SD
    score = size_z0 + model.SEGMENT_SIZE_NOISE * segment_rng.standard_normal(count)
    by_size = np.argsort([a.size_order for a in archetypes], kind="stable")
    bounds = np.cumsum([archetypes[k].share for k in by_size])[:-1] * count
    rank = np.empty(count, dtype=np.int64)
    rank[np.argsort(score, kind="stable")] = np.arange(count)
    segment = by_size[np.searchsorted(np.round(bounds), rank, side="right")]
    log_size = np.log(size)
    size_z = (log_size - log_size.mean()) / log_size.std()
    size_band = np.searchsorted(np.array(SIZE_BAND_LIMITS), size, side="right").astype(np.int64)
    industry = _weighted_choice(rng, [w for _, w, _ in vocabulary.INDUSTRIES], count)
    country = np.array(vocabulary.COUNTRIES)[_weighted_choice(rng, vocabulary.COUNTRY_WEIGHTS, count)]
    industry_shift = np.array([s for _, _, s in vocabulary.INDUSTRIES])[industry]
    static_risk = (
        industry_shift
        + model.FOREIGN_RISK * (country != "FI")
        - model.SMALL_ACCOUNT_RISK * size_z
        + model.STATIC_RISK_NOISE * rng.standard_normal(count)
    )
    static_logit = np.round(model.BASE_CHURN_LOGIT + static_risk, 2)
    rng.dirichlet(np.full(len(vocabulary.PRODUCT_LINES), 0.6), count)  # drawn as before, keeps the stream aligned
    product_mix = _segment_product_mix(segment_rng, np.array([a.product_lines for a in archetypes])[segment])
    margin_discount = np.clip(0.025 * size_z, -0.03, 0.08)
    payment_terms = np.array([14, 21, 30, 45, 60])[_weighted_choice(rng, (0.25, 0.1, 0.4, 0.15, 0.1), count)]
    growth = rng.lognormal(0.02, 0.08, count)
    service_intensity = rng.lognormal(0.0, 0.4, count)
    experience = model.RATING_ACCOUNT_SD * rng.standard_normal((count, len(model.DRIVER_NAMES)))
    # The segment's needs: its experience of some drivers shifted (no draw).
    for j, driver in enumerate(model.DRIVER_NAMES):
        experience[:, j] += np.array([a.experience_shift.get(driver, 0.0) for a in archetypes])[segment]
    # Satisfied accounts grow: derived from the experience already drawn, so no other draw moves.
    satisfaction = model.account_satisfaction(experience)
    growth = growth * np.exp(model.SATISFACTION_GROWTH_EFFECT * satisfaction)
    growth = growth * np.exp(np.array([a.growth_log_per_year for a in archetypes])[segment])
    competitor = rng.integers(0, len(vocabulary.COMPETITORS), count)
    competitor_propensity = rng.random(count)
    has_business_id = (country == "FI") & (rng.random(count) > 0.03)
    ids = business_ids(streams("business-ids"), count)
    business_id = np.where(has_business_id, ids, "")
    name, domain = _company_names(streams("account-names"), country)

    risk_state = model.simulate_risk_states(streams("risk-state"), count, months)
    churn_month, churn_kind, closed_date = _simulate_churn(
        streams("churn"),
        calendar,
        created_month,
        static_logit,
        risk_state,
        size_z,
        retention,
        streams("retention-policy"),
    )
    owner, region, employees, potential, shown = _snapshot_attributes(
        streams("snapshot-attributes"),
        calendar,
        country,
        size,
        risk_state,
        static_risk,
        competitor_propensity,
    )
    return Accounts(
        count=count,
        number=np.arange(1, count + 1),
        created_date=created_date,
        created_month=created_month,
        name=name,
        domain=domain,
        business_id=business_id,
        industry=industry,
        country=country,
        size_eur=size,
        size_band=size_band,
        static_risk=static_risk,
        static_logit=static_logit,
        product_mix=product_mix,
        margin_discount=margin_discount,
        payment_terms_days=payment_terms,
        growth_per_year=growth,
        service_intensity=service_intensity,
        experience=experience,
        satisfaction=satisfaction,
        segment=segment,
        competitor=competitor,
        competitor_propensity=competitor_propensity,
        risk_state=risk_state,
        churn_month=churn_month,
        churn_kind=churn_kind,
        closed_date=closed_date,
        owner=owner,
        region=region,
        employees=employees,
        potential_eur=potential,
        competitor_shown=shown,
    )


def _simulate_churn(
    rng: np.random.Generator,
    calendar: Calendar,
    created_month: np.ndarray,
    static_logit: np.ndarray,
    risk_state: np.ndarray,
    size_z: np.ndarray,
    retention: RetentionPlan | None = None,
    policy_rng: np.random.Generator | None = None,
):
    """Draw each account's churn month from the monthly hazards; then how it shows (closed or silent).

    With a retention plan, each month's cohort is selected and split first, and a contacted account's churn
    odds are multiplied by the plan's factor for the horizon (the churn draws themselves are unchanged)."""
    count = created_month.shape[0]
    churn_month = np.full(count, NO_CHURN, dtype=np.int64)
    alive = np.ones(count, dtype=bool)
    effect_until = np.full(count, -1, dtype=np.int64)  # last month of a contact's effect
    if retention is not None:
        probability = model.SixMonthChurnProbability(static_logit)
        in_top = np.zeros((count, calendar.months), dtype=bool)
    for m in range(1, calendar.months):
        if retention is not None and policy_rng is not None:
            _retention_cohort(
                retention,
                policy_rng,
                calendar,
                m - 1,
                alive,
                created_month,
                static_logit,
                risk_state,
                probability,
                in_top,
            )
            if retention.cohort_month and retention.cohort_month[-1] == m - 1:
                # Cohort m - 1's contacts are called in month m and work for months m .. m - 1 + horizon.
                called = retention.cohort_account[-1][retention.cohort_contacted[-1]]
                effect_until[called] = m - 1 + retention.policy.horizon
        # An account churns at the earliest in the month after it was created (it invoiced once).
        eligible = alive & (created_month < m)
        shift = 0.0 if retention is None else np.where(effect_until >= m, retention.policy.logit_shift, 0.0)
        hazard = model.monthly_hazard(static_logit + shift, risk_state[:, m - 1])
        churned = eligible & (rng.random(count) < hazard)
        churn_month[churned] = m
        alive &= ~churned
    # Big accounts end formally (CRM closed); small ones mostly just stop buying (silent churn).
    closes = rng.random(count) < model.sigmoid(-0.2 + 0.7 * size_z)
    churned = churn_month != NO_CHURN
    churn_kind = np.where(churned, np.where(closes, CLOSED, SILENT), 0).astype(np.int64)
    closed_date = np.full(count, NAT)
    is_closed = churn_kind == CLOSED
    closed_date[is_closed] = calendar.random_days(rng, churn_month[is_closed])
    return churn_month, churn_kind, closed_date


def _retention_cohort(
    plan: RetentionPlan,
    rng: np.random.Generator,
    calendar: Calendar,
    t: int,
    alive: np.ndarray,
    created_month: np.ndarray,
    static_logit: np.ndarray,
    risk_state: np.ndarray,
    probability: model.SixMonthChurnProbability,
    in_top: np.ndarray,
) -> None:
    """Month t's cohort: accounts entering the top of the risk proxy, split by the warehouse's hash."""
    policy = plan.policy
    active = np.flatnonzero(alive & (created_month <= t))
    top = select_entering(probability(static_logit[active], risk_state[active, t]), active, policy.selected_share)
    in_top[active[top], t] = True
    if t < policy.first_cohort:
        return
    earlier: np.ndarray = np.asarray(in_top[:, max(0, t - policy.horizon + 1) : t].any(axis=1))
    selected = active[top & ~earlier[active]]
    month = str(calendar.month_start(t))
    holdout = is_holdout(
        plan.account_ids[selected], [month] * selected.shape[0], policy.split_seed, policy.holdout_share
    )
    contacted = ~holdout & (rng.random(selected.shape[0]) < policy.contact_rate)
    plan.cohort_account.append(selected)
    plan.cohort_month.append(t)
    plan.cohort_holdout.append(holdout)
    plan.cohort_contacted.append(contacted)


def _snapshot_attributes(
    rng: np.random.Generator,
    calendar: Calendar,
    country: np.ndarray,
    size: np.ndarray,
    risk_state: np.ndarray,
    static_risk: np.ndarray,
    competitor_propensity: np.ndarray,
):
    """Owner, region, employees, potential and competitor as each CRM snapshot shows them (SCD2 history)."""
    snapshots = calendar.snapshot_months
    k, n = len(snapshots), size.shape[0]
    owner = np.empty((k, n), dtype=np.int64)
    region = np.empty((k, n), dtype=object)
    employees = np.empty((k, n), dtype=np.int64)
    potential = np.empty((k, n), dtype=np.float64)
    shown = np.empty((k, n), dtype=bool)

    owner[0] = rng.integers(0, len(vocabulary.ACCOUNT_MANAGERS), n)
    regions_fi = np.array([r for r, _ in vocabulary.FINNISH_REGIONS], dtype=object)
    region_weights = [w for _, w in vocabulary.FINNISH_REGIONS]
    first_region = regions_fi[_weighted_choice(rng, region_weights, n)]
    for code, names in vocabulary.FOREIGN_REGIONS.items():
        foreign = country == code
        first_region[foreign] = np.array(names, dtype=object)[rng.integers(0, len(names), int(foreign.sum()))]
    region[0] = first_region
    employees[0] = np.maximum(1, np.rint(np.exp(0.7 * np.log(size / 1000) + rng.normal(0, 0.5, n))) + 1)
    share_of_wallet = 0.1 + 0.8 * rng.beta(2.0, 3.0, n)
    stale = rng.random(n) < 0.08  # estimate below what the account already buys
    first_potential = np.where(stale, size * rng.uniform(0.6, 0.95, n), size / share_of_wallet)
    first_potential = np.maximum(500.0, np.round(first_potential / 500) * 500)
    never_estimated = rng.random(n) < 0.10
    potential[0] = np.where(never_estimated, np.nan, first_potential)
    for i in range(1, k):
        owner[i] = np.where(rng.random(n) < 0.06, rng.integers(0, len(vocabulary.ACCOUNT_MANAGERS), n), owner[i - 1])
        relocates = (country == "FI") & (rng.random(n) < 0.01)
        region[i] = np.where(relocates, regions_fi[_weighted_choice(rng, region_weights, n)], region[i - 1])
        employees[i] = np.maximum(1, np.rint(employees[i - 1] * rng.lognormal(0.02, 0.06, n)))
        revised = rng.random(n) < 0.3
        new_estimate = np.maximum(500.0, np.round(potential[i - 1] * rng.lognormal(0.0, 0.15, n) / 500) * 500)
        potential[i] = np.where(revised, new_estimate, potential[i - 1])
    for i, t in enumerate(snapshots):
        presence = model.sigmoid(
            model.COMPETITOR_PRESENT_LOGIT + model.COMPETITOR_RISK_EFFECT * (risk_state[:, t] + static_risk)
        )
        shown[i] = competitor_propensity < presence
    return owner, region, employees, potential, shown


# --- contacts ---------------------------------------------------------------------------------------


@dataclass
class Contacts:
    count: int
    account: np.ndarray  # account index; contacts are sorted by account
    number: np.ndarray  # contact_id = "C" + 7 digits, numbered in order of creation
    role: np.ndarray  # index into vocabulary.ROLES
    title: np.ndarray
    email: np.ndarray
    created_date: np.ndarray
    left_date: np.ndarray  # NaT: still there
    first_of_account: np.ndarray  # [account] index of its first contact
    per_account: np.ndarray  # [account] number of contacts

    def active_on(self, rows: np.ndarray, dates: np.ndarray, accounts: Accounts) -> np.ndarray:
        """Whether each contact row is an active contact on the given date."""
        left = self.left_date[rows]
        closed = accounts.closed_date[self.account[rows]]
        return (
            (self.created_date[rows] <= dates)
            & (np.isnat(left) | (left > dates))
            & (np.isnat(closed) | (closed > dates))
        )


def build_contacts(streams: Streams, accounts: Accounts, calendar: Calendar) -> Contacts:
    rng = streams("contacts")
    n_accounts = accounts.count
    extra = rng.poisson(0.5 + 1.2 * np.maximum(0.0, np.log10(accounts.size_eur / 5000)))
    per_account = 1 + np.minimum(extra, 29)
    account = np.repeat(np.arange(n_accounts), per_account)
    first_of_account = np.concatenate([[0], np.cumsum(per_account)[:-1]])
    position = np.arange(account.shape[0]) - first_of_account[account]
    count = account.shape[0]

    role = np.where(position == 0, 0, _weighted_choice(rng, (0.10, 0.35, 0.40, 0.15), count))
    pools = [vocabulary.TITLES[r] for r in vocabulary.ROLES]
    all_titles = np.array([title for pool in pools for title in pool], dtype=object)
    pool_start = np.cumsum([0] + [len(pool) for pool in pools])[:-1]
    pool_size = np.array([len(pool) for pool in pools])
    title = all_titles[pool_start[role] + rng.integers(0, 1 << 20, count) % pool_size[role]]
    first = np.array([vocabulary.ascii_fold(x) for x in vocabulary.FIRST_NAMES], dtype=object)
    last = np.array([vocabulary.ascii_fold(x) for x in vocabulary.LAST_NAMES], dtype=object)
    email = (
        first[rng.integers(0, len(first), count)]
        + "."
        + last[rng.integers(0, len(last), count)]
        + "@"
        + accounts.domain[account].astype(object)
    )

    # The main contact has been there a while; others joined at any time, some after the history ends.
    history_start = calendar.month_start(0)
    window_days = (calendar.month_end(calendar.months - 1) - history_start).astype(np.int64)
    offset = np.where(
        position == 0,
        -rng.integers(0, 4 * 365, count),
        rng.integers(-4 * 365, window_days + 180, count),
    )
    created = np.maximum(accounts.created_date[account], history_start + offset.astype("timedelta64[D]"))
    leaves = (position > 0) & (rng.random(count) < 0.6)
    left = np.where(leaves, created + rng.exponential(6 * 365, count).astype(np.int64).astype("timedelta64[D]"), NAT)
    number = np.empty(count, dtype=np.int64)
    number[np.argsort(created, kind="stable")] = np.arange(1, count + 1)
    return Contacts(
        count=count,
        account=account,
        number=number,
        role=role,
        title=title,
        email=email,
        created_date=created,
        left_date=left,
        first_of_account=first_of_account,
        per_account=per_account,
    )


# --- opportunities ----------------------------------------------------------------------------------


@dataclass
class Opportunities:
    account: np.ndarray
    number: np.ndarray  # opportunity_id = "OPP" + 7 digits
    created_date: np.ndarray
    close_date: np.ndarray
    won: np.ndarray
    amount_eur: np.ndarray
    lost_reason: np.ndarray  # index into vocabulary.LOST_REASONS, -1 none
    competitor: np.ndarray  # index into vocabulary.COMPETITORS, -1 none
    product: np.ndarray
    kind: np.ndarray


def build_opportunities(streams: Streams, accounts: Accounts, calendar: Calendar) -> Opportunities:
    rate = 0.035 * (1 + accounts.size_band)
    parts = []
    for t in range(calendar.months):
        rng = streams("opportunities", t)
        active = accounts.active_in(t)
        n = rng.poisson(rate[active])
        account = np.repeat(active, n)
        created = calendar.random_days(rng, np.full(account.shape[0], t))
        created = np.maximum(created, accounts.created_date[account])
        parts.append((account, created))
    account = np.concatenate([p[0] for p in parts])
    created = np.concatenate([p[1] for p in parts])
    order = np.lexsort((account, created))
    account, created = account[order], created[order]
    n = account.shape[0]

    rng = streams("opportunity-outcomes")
    close = created + rng.integers(20, 150, n).astype("timedelta64[D]")
    close_month = np.minimum(month_index_of(close, calendar), calendar.months - 1)
    state = accounts.risk_state[account, close_month]
    won = rng.random(n) < model.sigmoid(0.4 - 0.8 * state)
    gone = accounts.churn_month[account] <= month_index_of(close, calendar)
    won &= ~gone
    to_competitor = (~won) & (rng.random(n) < model.sigmoid(-0.8 + 0.8 * state))
    reasons = np.array(vocabulary.LOST_REASONS)
    competitor_reason = int(np.flatnonzero(reasons == vocabulary.LOST_REASON_COMPETITOR)[0])
    other_reasons = np.flatnonzero(reasons != vocabulary.LOST_REASON_COMPETITOR)
    lost_reason = np.where(
        won,
        -1,
        np.where(to_competitor, competitor_reason, other_reasons[rng.integers(0, len(other_reasons), n)]),
    )
    cancelled = int(np.flatnonzero(reasons == "Hanke peruttu")[0])
    lost_reason = np.where(gone, cancelled, lost_reason)
    some_competitor = (~won) & ~to_competitor & (rng.random(n) < 0.2)
    competitor = np.where(
        to_competitor,
        accounts.competitor[account],
        np.where(some_competitor, rng.integers(0, len(vocabulary.COMPETITORS), n), -1),
    )
    monthly = accounts.size_eur[account] / 12
    amount = np.clip(np.round(monthly * rng.uniform(0.5, 8.0, n) / 100) * 100, 500, 9_500_000)
    cumulative = np.cumsum(accounts.product_mix[account], axis=1)
    product = (rng.random(n)[:, None] > cumulative).sum(axis=1).clip(0, len(vocabulary.PRODUCT_LINES) - 1)
    kind = rng.integers(0, len(vocabulary.OPPORTUNITY_KINDS), n)
    return Opportunities(
        account=account,
        number=np.arange(1, n + 1),
        created_date=created,
        close_date=close,
        won=won,
        amount_eur=amount,
        lost_reason=lost_reason,
        competitor=competitor,
        product=product,
        kind=kind,
    )
