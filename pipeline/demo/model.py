"""The planted model: latent churn risk, the churn hazard, the true six-month churn probability, and
how survey answers (drivers, NPS, non-response) are made.

Risk state
    Each account has a static risk (industry, small size, foreign, a personal component) and a
    latent monthly risk state ``r`` that evolves slowly: a stationary AR(1) with persistence
    ``RISK_PERSISTENCE`` (0.97 per month) and unit variance. ``r`` in month t drives what can be seen in
    month t: revenue (lower when at risk), engagement (fewer activities, fewer meetings and visits),
    late payments, a competitor showing up in the CRM, survey ratings, NPS and
    ``considering_alternatives``.

Churn hazard
    The probability of churning in month m, for an account still a customer at the start of m, is
    ``h_m = sigmoid(b + beta * r_{m-1})``: ``b`` is the account's static log-odds (``BASE_CHURN_LOGIT``
    plus its static risk, rounded to 0.01) and ``r_{m-1}`` the state at the end of the previous month.
    No account churns in the month it was created nor in the first simulated month (it must have
    invoiced once, so that silent churn is observable).

True six-month probability (``truth/churn_probabilities.parquet``)
    For an account active at the end of month s, ``p_churn_6m = 1 - E[prod_{k=1..6} (1 - h_{s+k}) | r_s]``.
    ``h_{s+1}`` is known at s; the later hazards depend on ``r_{s+1..s+5}``, not yet known, so the
    expectation is taken over the AR(1) paths from ``r_s``. It is computed exactly up to numerical
    integration by backward recursion on a grid: ``W_6(r) = 1 - h(r)``,
    ``W_k(r) = (1 - h(r)) * E[W_{k+1}(phi r + sqrt(1-phi^2) eps)]`` with 32-point Gauss-Hermite
    quadrature over eps, a 0.01-step grid in r and linear interpolation (error well below 1e-4), done
    separately for each distinct static log-odds ``b``; ``p = 1 - W_1(r_s)``. Because the churn draws
    use exactly these hazards, the events realised in the landing zone are draws from these
    probabilities. (This is the analytic-expectation choice: a state process whose future hazards are
    known in advance would make revenue decline before the decision rather than before the churn.)

Drivers and NPS
    A respondent rates six drivers 0..10 (account-level experience + the respondent's halo - risk state +
    noise). The would-be NPS (0..10) is ``NPS_BASE`` plus, for each driver, its ``low`` effect when the
    rating is 0..6 or its ``high`` effect when it is 9..10 (middle ratings 7..8 add nothing), minus the
    risk state, plus noise. The effects (``DRIVERS``) plant the four classes of DESIGN.md: hygiene
    (low hurts, high adds nothing), differentiator (high lifts, low costs nothing), performance (both),
    weak (neither). ``truth/drivers.json`` holds them.

Satisfaction and growth
    An account's planted satisfaction is its experience on each driver (``RATING_ACCOUNT_SD`` per driver,
    in rating points, plus its segment's shift: ``ARCHETYPES``), weighted by how much the driver moves the
    NPS answer (its low and high effects), scaled to unit variance of the unshifted experience
    (``account_satisfaction``). It lifts the ratings and so the NPS answers,
    and the account's yearly revenue growth is multiplied by ``exp(SATISFACTION_GROWTH_EFFECT * s)``: a
    satisfied account buys more year after year (DESIGN.md, "NPS and results"). ``truth/nps_and_growth.json``
    holds the effect and its direction; ``truth/accounts.parquet`` each account's satisfaction.

Non-response
    Every invited contact has a would-be NPS; decision makers and larger accounts answer higher (the
    ``NPS_BY_ROLE`` and ``NPS_BY_SIZE_BAND`` shifts) and also answer more often, so respondents over-represent
    the happier segments: a bias that CRM data (size band, contact role) explains and weighting can undo.
    On top, the extremes answer somewhat more than the middle (0..3 and 9..10 a fifth more often than 6..8):
    a bias no CRM weighting can see, left in on purpose so that the adjusted NPS is honest about what it
    cannot fix. ``truth/invited_nps.parquet`` holds every invitation with its would-be NPS and propensity.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# --- risk state and churn ----------------------------------------------------------------------------

RISK_PERSISTENCE = 0.97  # AR(1) coefficient of the monthly risk state
RISK_TO_HAZARD = 0.85  # log-odds of monthly churn per unit of risk state
BASE_CHURN_LOGIT = -5.05  # monthly churn log-odds at zero risk: ~10-12 % annual churn
STATIC_RISK_NOISE = 0.2  # account-level risk not explained by industry, size, country
SMALL_ACCOUNT_RISK = 0.30  # log-odds per standard deviation of smaller log size
FOREIGN_RISK = 0.25
HORIZON_MONTHS = 6

# --- how the risk state shows in what can be seen ----------------------------------------------------

REVENUE_RISK_EFFECT = 0.55  # revenue multiplier exp(-0.55 r - 0.55^2/2), mean 1
ENGAGEMENT_RISK_EFFECT = 1.2  # activities per month multiplier exp(-1.2 r - 1.2^2/2), mean 1
# Activities the CRM logs per account and month at zero risk (small, medium, large accounts): an account team's
# calls, emails, meetings and visits (0.5 / 1 / 2 before: a quarter's count was mostly noise, docs/decisions.md).
ACTIVITIES_PER_MONTH = (1.5, 3.0, 6.0)
MEETING_RISK_EFFECT = 0.8  # share of meetings and visits among activities: exp(-0.8 r)
LATE_PAYMENT_LOGIT = -2.9  # ~6 % of invoices paid late at zero risk
LATE_PAYMENT_RISK_EFFECT = 2.0
COMPETITOR_PRESENT_LOGIT = -1.3
COMPETITOR_RISK_EFFECT = 1.1

# --- survey -----------------------------------------------------------------------------------------

# driver -> (class, effect of a low rating 0..6, effect of a high rating 9..10, mean rating); effects in
# points of the 0..10 NPS answer, against a middle rating 7..8.
DRIVERS: dict[str, tuple[str, float, float, float]] = {
    "driver_quality": ("hygiene", -2.0, 0.0, 7.7),
    "driver_delivery": ("hygiene", -2.4, 0.0, 7.3),
    "driver_service": ("performance", -1.8, 2.2, 7.3),
    "driver_expertise": ("differentiator", 0.0, 2.8, 7.2),
    "driver_price_value": ("weak", -0.2, 0.1, 6.7),
    "driver_ease": ("weak", -0.1, 0.2, 7.5),
}
DRIVER_NAMES = tuple(DRIVERS)
NPS_BASE = 8.4  # would-be NPS of a respondent with every rating in the middle and zero risk
NPS_RISK_EFFECT = 0.5  # NPS points per unit of risk state
NPS_NOISE = 1.0
RATING_ACCOUNT_SD = 0.5  # account-level experience per driver
RATING_HALO_SD = 0.5  # a respondent's general mood, shared by their ratings
RATING_RISK_EFFECT = 0.45
RATING_NOISE = 1.1
EXIT_NPS_SHIFT = -1.0  # leaving customers answer lower than their state alone says
# Log of the yearly revenue growth factor per standard deviation of the account's planted satisfaction.
SATISFACTION_GROWTH_EFFECT = 0.15

# Who answers what, by the CRM's size band (employees < 50, 50-249, 250+) and the contact's role:
# decision makers and larger accounts are happier (points on the 0..10 answer) ...
NPS_BY_SIZE_BAND = np.array([-0.6, 0.8, 1.8])  # small, medium, large accounts
NPS_BY_ROLE = np.array([1.4, 0.3, -0.9, -0.5])  # decision_maker, influencer, user, other
# ... and answer more often: the bias CRM data explains.
PROPENSITY_BY_SIZE_BAND = np.array([0.35, 1.0, 1.8])
PROPENSITY_BY_ROLE = np.array([1.6, 1.0, 0.6, 0.5])
# Response propensity by would-be NPS 0..10: U-shaped, the extremes answer a fifth more than the middle;
# the bias CRM data cannot explain.
PROPENSITY_BY_NPS = np.array([0.33, 0.33, 0.33, 0.33, 0.315, 0.315, 0.30, 0.30, 0.30, 0.33, 0.33])
CRM_SIZE_BAND_LIMITS = (50, 250)  # employees, as the warehouse's size_band macro draws them
PROPENSITY_BY_SURVEY_TYPE = {"relationship": 1.0, "transactional": 0.8, "exit": 0.9}
MAX_PROPENSITY = 0.9


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def simulate_risk_states(rng: np.random.Generator, accounts: int, months: int) -> np.ndarray:
    """Latent risk state r[account, month], stationary N(0, 1) AR(1)."""
    shock_scale = np.sqrt(1.0 - RISK_PERSISTENCE**2)
    states = np.empty((accounts, months), dtype=np.float64)
    states[:, 0] = rng.standard_normal(accounts)
    for t in range(1, months):
        states[:, t] = RISK_PERSISTENCE * states[:, t - 1] + shock_scale * rng.standard_normal(accounts)
    return states


def monthly_hazard(static_logit: np.ndarray, previous_state: np.ndarray) -> np.ndarray:
    """Probability of churning this month given the state at the end of the previous month."""
    return sigmoid(static_logit + RISK_TO_HAZARD * previous_state)


class SixMonthChurnProbability:
    """p_churn_6m(b, r_s) by backward recursion over the AR(1) (see the module docstring)."""

    GRID_STEP = 0.01
    GRID_LIMIT = 7.0
    QUADRATURE_NODES = 32

    def __init__(self, static_logits: np.ndarray):
        self.logits = np.unique(static_logits)
        self.grid = np.arange(-self.GRID_LIMIT, self.GRID_LIMIT + self.GRID_STEP / 2, self.GRID_STEP)
        nodes, weights = np.polynomial.hermite_e.hermegauss(self.QUADRATURE_NODES)
        weights = weights / np.sqrt(2.0 * np.pi)
        # Where each grid point goes after one month, for each quadrature node: linear interpolation.
        shock_scale = np.sqrt(1.0 - RISK_PERSISTENCE**2)
        targets = RISK_PERSISTENCE * self.grid[:, None] + shock_scale * nodes[None, :]
        position = np.clip((targets + self.GRID_LIMIT) / self.GRID_STEP, 0, len(self.grid) - 1.000001)
        lower = np.floor(position).astype(np.int64)
        upper_weight = position - lower
        survival = 1.0 - monthly_hazard(self.logits[:, None], self.grid[None, :])  # [logit, grid]
        remaining = survival.copy()  # W_6
        for _ in range(HORIZON_MONTHS - 1):
            expected = (remaining[:, lower] * (1.0 - upper_weight) + remaining[:, lower + 1] * upper_weight) @ weights
            remaining = survival * expected
        self.table = 1.0 - remaining  # p_churn_6m on [logit, grid]

    def __call__(self, static_logit: np.ndarray, state: np.ndarray) -> np.ndarray:
        row = np.searchsorted(self.logits, static_logit)
        position = np.clip((state + self.GRID_LIMIT) / self.GRID_STEP, 0, len(self.grid) - 1.000001)
        lower = np.floor(position).astype(np.int64)
        upper_weight = position - lower
        return self.table[row, lower] * (1.0 - upper_weight) + self.table[row, lower + 1] * upper_weight


# --- survey answers ---------------------------------------------------------------------------------


def draw_ratings(rng: np.random.Generator, account_experience: np.ndarray, state: np.ndarray) -> np.ndarray:
    """Driver ratings 0..10 [respondent, driver]; account_experience is [respondent, driver]."""
    n = state.shape[0]
    means = np.array([DRIVERS[d][3] for d in DRIVER_NAMES])
    halo = RATING_HALO_SD * np.asarray(rng.standard_normal(n))
    latent = (
        means[None, :]
        + account_experience
        + halo[:, None]
        - RATING_RISK_EFFECT * state[:, None]
        + RATING_NOISE * rng.standard_normal((n, len(DRIVER_NAMES)))
    )
    return np.clip(np.rint(latent), 0, 10).astype(np.int64)


def would_be_nps(
    rng: np.random.Generator, ratings: np.ndarray, state: np.ndarray, shift: float | np.ndarray = 0.0
) -> np.ndarray:
    """The 0..10 answer a contact would give, from the driver ratings and the account's risk state."""
    score = NPS_BASE - NPS_RISK_EFFECT * state + shift + NPS_NOISE * rng.standard_normal(state.shape[0])
    for j, name in enumerate(DRIVER_NAMES):
        _, low, high, _ = DRIVERS[name]
        score = score + np.where(ratings[:, j] <= 6, low, 0.0) + np.where(ratings[:, j] >= 9, high, 0.0)
    return np.clip(np.rint(score), 0, 10).astype(np.int64)


def crm_size_band(employees: np.ndarray) -> np.ndarray:
    """0 small (< 50 employees), 1 medium (50-249), 2 large (250+): the size band the CRM shows."""
    return np.searchsorted(np.array(CRM_SIZE_BAND_LIMITS), employees, side="right").astype(np.int64)


def response_propensity(nps: np.ndarray, size_band: np.ndarray, role: np.ndarray, survey_type: str) -> np.ndarray:
    propensity = (
        PROPENSITY_BY_NPS[nps]
        * PROPENSITY_BY_SIZE_BAND[size_band]
        * PROPENSITY_BY_ROLE[role]
        * PROPENSITY_BY_SURVEY_TYPE[survey_type]
    )
    return np.minimum(propensity, MAX_PROPENSITY)


def account_satisfaction(experience: np.ndarray) -> np.ndarray:
    """Planted satisfaction [account] from the experience [account, driver]: each driver's experience
    weighted by |low effect| + high effect, scaled to unit variance (the experience is i.i.d. per driver)."""
    weights = np.array([abs(DRIVERS[d][1]) + DRIVERS[d][2] for d in DRIVER_NAMES])
    return (experience @ weights) / (RATING_ACCOUNT_SD * np.sqrt((weights**2).sum()))


def considering_alternatives(rng: np.random.Generator, state: np.ndarray, nps: np.ndarray) -> np.ndarray:
    latent = 2.5 + 1.6 * state - 0.55 * (nps - 7) + 1.5 * rng.standard_normal(state.shape[0])
    return np.clip(np.rint(latent), 0, 10).astype(np.int64)


def drivers_truth() -> dict:
    """What ``truth/drivers.json`` says: each driver's planted class and effects."""
    return {
        "scale": "effects in points of the 0-10 NPS answer, against a middle rating (7-8) of the same driver",
        "expected_recovery": (
            "penalty-reward regression of the answer on all low/high dummies, fitted on relationship "
            "respondents, comes out attenuated by the ends of the 0-10 scale and by the non-response: "
            "planted effects of 1.8 or more show as roughly 0.9 or more in magnitude, the weak drivers and "
            "the zero effects as less than 0.5"
        ),
        "low_rating": "0-6",
        "high_rating": "9-10",
        "drivers": {
            name: {"class": cls, "low_effect": low, "high_effect": high, "mean_rating_target": mean}
            for name, (cls, low, high, mean) in DRIVERS.items()
        },
        "classes": {
            cls: sorted(name for name, spec in DRIVERS.items() if spec[0] == cls)
            for cls in ("hygiene", "differentiator", "performance", "weak")
        },
        "other_effects": {
            "nps_base": NPS_BASE,
            "nps_per_unit_risk_state": -NPS_RISK_EFFECT,
            "nps_noise_sd": NPS_NOISE,
            "exit_survey_shift": EXIT_NPS_SHIFT,
        },
    }


def nps_and_growth_truth() -> dict:
    """What ``truth/nps_and_growth.json`` says: how account NPS and revenue growth are linked."""
    return {
        "direction": "positive: accounts with a higher NPS grow their revenue faster",
        "planted": {
            "satisfaction": (
                "per account: its experience on each driver (rating points) weighted by |low effect| + high "
                "effect of the driver, standardised to unit variance (accounts.parquet: satisfaction)"
            ),
            "revenue_growth_log_per_sd_of_satisfaction": SATISFACTION_GROWTH_EFFECT,
            "satisfaction_shows_in_nps": "through the driver ratings (draw_ratings) and their effects on the answer",
        },
        "also_linked_through_the_risk_state": {
            "nps_per_unit_risk_state": -NPS_RISK_EFFECT,
            "driver_rating_per_unit_risk_state": -RATING_RISK_EFFECT,
            "revenue_log_per_unit_risk_state": -REVENUE_RISK_EFFECT,
            "why": (
                "the risk state lowers the answers and the revenue of the same months, and is persistent "
                f"(AR(1), {RISK_PERSISTENCE} a month): an account answering low now tends to be buying less than a "
                "year before"
            ),
        },
        "not_planted": "no link from NPS to margin or cost to serve beyond revenue; no effect of a follow-up",
    }


# --- behavioural and needs segments (issue 22, item 4) -----------------------------------------------


@dataclass(frozen=True)
class Archetype:
    """A planted behavioural and needs segment: what its accounts buy, how they are served and what they rate.

    ``size_order`` ranks the archetypes by size: accounts ranked by their drawn size (plus noise,
    ``SEGMENT_SIZE_NOISE``) fill them from the lowest order up, each its share, so no account's size moves;
    ``growth_log_per_year`` adds to the log of the yearly growth; ``product_lines`` is how many product lines
    the account buys (drawn at random, its mix over them Dirichlet(4)); ``contact_multiplier`` multiplies the
    CRM activities a month, ``invoice_multiplier`` the extra invoices a month; ``experience_shift`` adds rating
    points to the account's experience of a driver (before its satisfaction is derived from the experience: a
    segment that rates a driver higher is, as far as that driver moves the answer, more satisfied and grows
    faster, so the NPS-growth link holds across segments too)."""

    name: str
    share: float
    size_order: int
    growth_log_per_year: float
    product_lines: int
    contact_multiplier: float
    invoice_multiplier: float
    experience_shift: dict[str, float]
    description: str


ARCHETYPES: tuple[Archetype, ...] = (
    Archetype(
        name="key_accounts",
        share=0.15,
        size_order=3,
        growth_log_per_year=0.0,
        product_lines=5,
        contact_multiplier=3.0,
        invoice_multiplier=2.5,
        experience_shift={"driver_expertise": 0.0},
        description="large, broad range, frequent contact, orders often, values expertise",
    ),
    Archetype(
        name="price_driven",
        share=0.25,
        size_order=2,
        growth_log_per_year=-0.03,
        product_lines=1,
        contact_multiplier=0.2,
        invoice_multiplier=0.4,
        experience_shift={"driver_price_value": -2.6},
        description="mid-sized to large, one product line, little contact, rates price and value low",
    ),
    Archetype(
        name="rising",
        share=0.25,
        size_order=1,
        growth_log_per_year=0.2,
        product_lines=3,
        contact_multiplier=2.0,
        invoice_multiplier=1.0,
        experience_shift={},
        description="smaller, several product lines, rising spend, regular contact",
    ),
    Archetype(
        name="small_occasional",
        share=0.35,
        size_order=0,
        growth_log_per_year=-0.05,
        product_lines=2,
        contact_multiplier=0.4,
        invoice_multiplier=0.4,
        experience_shift={"driver_ease": -2.0},
        description="small, a few product lines, flat or falling spend, rates ease of doing business low",
    ),
)
SIZE_LOG_SD = 1.5  # the all-accounts spread of log size (population.build_accounts draws it)
# Accounts are ranked by log size (in standard deviations) plus this much noise and fill the archetypes from the
# lowest size_order up, each its share: the size selects the archetype, it is not moved.
SEGMENT_SIZE_NOISE = 0.3


def segments_truth() -> dict:
    """What ``truth/segments.json`` says: the planted archetypes (``accounts.parquet``: planted_segment)."""
    return {
        "how": (
            "each account put into one archetype by its drawn size plus noise (stream 'segments'), each "
            "archetype its share; the archetype shifts its yearly growth, number of product lines, CRM "
            "activities a month, invoices a month and its experience of some drivers (rating points)"
        ),
        "expected_recovery": (
            "adjusted Rand index of at least 0.7 between planted and found segments of active accounts"
        ),
        "archetypes": [
            {
                "name": a.name,
                "share": a.share,
                "size_order": a.size_order,
                "growth_log_per_year": a.growth_log_per_year,
                "product_lines": a.product_lines,
                "contact_multiplier": a.contact_multiplier,
                "invoice_multiplier": a.invoice_multiplier,
                "experience_shift": a.experience_shift,
                "description": a.description,
            }
            for a in ARCHETYPES
        ],
    }
