"""The deterministic demo company: a Finnish B2B supplier's landing zone, and the truth it planted.

    generate_demo_company(landing_dir, truth_dir, accounts=2000, months=36, seed=42, end_month="2026-10")

writes ``landing_dir/{crm,survey,finance}`` in the formats of DESIGN.md's landing-zone contract (v1) and
``truth_dir`` with what the pipeline should find. The same arguments give byte-identical files: every
random number comes from a stream named after its purpose and seeded by ``seed``; nothing reads the clock.

The planted company, in short (details in the modules):
- accounts with heavy-tailed sizes (lognormal: the top fifth brings ~80 % of revenue), Finnish names,
  regions, Y-tunnus, owners, potential estimates, competitors; attributes change between CRM snapshots
  (:mod:`pipeline.demo.population`);
- a slowly moving latent risk state per account-month that drives revenue, engagement, late payments,
  competitor presence, survey answers, and a logistic monthly churn hazard; churn is closed (CRM status)
  or silent (invoicing stops); the truth holds each account-month's exact six-month churn probability
  (:mod:`pipeline.demo.model`);
- survey drivers with planted hygiene / differentiator / performance / weak effects on NPS, and
  non-response that favours the very happy and the very unhappy (:mod:`pipeline.demo.surveys`);
- contract violations (~0.2 % of rows) and corrected re-sent rows, recorded in the truth
  (:mod:`pipeline.demo.ledger`).

Files, formats and date styles per drop are listed in ``truth_dir/summary.json``.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.demo import formats, truth
from pipeline.demo.calendar import Calendar
from pipeline.demo.crm import Crm
from pipeline.demo.finance import Finance, service_cost, write_cost_to_serve
from pipeline.demo.ledger import CorrectionLedger, DefectLedger, LandingOutput
from pipeline.demo.population import Streams, build_accounts, build_contacts, build_opportunities
from pipeline.demo.retention import RetentionPlan, RetentionPolicy, retention_truth
from pipeline.demo.shape import FULL, CompanyShape
from pipeline.demo.surveys import Surveys

MIN_ACCOUNTS, MAX_ACCOUNTS = 200, 300_000
MIN_MONTHS, MAX_MONTHS = 12, 60
SOURCES = ("crm", "survey", "finance")
ENTITIES = (
    "accounts",
    "contacts",
    "opportunities",
    "activities",
    "invitations",
    "responses",
    "invoice_lines",
    "payments",
    "cost_to_serve",
)
TRUTH_FILES = (
    "churn_probabilities.parquet",
    "account_months.parquet",
    "churn_events.parquet",
    "accounts.parquet",
    "invited_nps.parquet",
    "planted_defects.parquet",
    "corrections.parquet",
    "drivers.json",
    "segments.json",
    "summary.json",
    "retention_effect.json",
    "retention_cohorts.parquet",
)
PLANTED_RETENTION = RetentionPolicy()  # the demo's retention policy and its planted effect
_GENERATED_NAME = re.compile(rf"^({'|'.join(ENTITIES)})_\d{{8}}(_[^/]*)?\.(csv|parquet|xlsx)(\.tmp)?$")

FILE_FORMATS = {
    "crm": "CSV; delimiter ';'; decimal comma; Windows-1252 (cp1252); CRLF; quoted only when needed; dates "
    "ISO YYYY-MM-DD except drops listed under date_styles as 'fi' (D.M.YYYY, is_active kyllä/ei)",
    "survey": "CSV; delimiter ','; decimal point; UTF-8 with BOM; LF; quoted line breaks in comment; ISO dates",
    "finance/payments": "CSV; delimiter ','; decimal point; UTF-8 without BOM; LF; ISO dates",
    "finance/invoice_lines": "Parquet (zstd); amounts float64 rounded to cents; dates date32; line_no int32",
    "finance/cost_to_serve": "XLSX, one workbook per quarter, sheet 'cost_to_serve', header in row 1, "
    "month as a date cell (first day of month); split into _partN files above 1,000,000 rows",
}
ID_FORMATS = {
    "account_id": "A + 6 digits (A000123)",
    "contact_id": "C + 7 digits",
    "opportunity_id": "OPP + 7 digits",
    "activity_id": "ACT + 9 digits",
    "invoice_id": "INV + 8 digits (credit notes too)",
    "invitation_id": "SI + 8 digits",
    "response_id": "SR + 8 digits",
    "survey_id": "REL-YYYY-MM | TX-YYYY-MM | EXIT-YYYY-Qn",
    "defect/correction key": "key columns joined by '|' (invoice_id|line_no, invoice_id|paid_date)",
}


@dataclass(frozen=True)
class GenerationSummary:
    files: tuple[str, ...]  # landing files, relative to landing_dir, in the order written
    truth_files: tuple[str, ...]  # relative to truth_dir
    rows: dict[str, int]  # rows per entity over all drops (planted defects and re-sent rows included)
    elapsed_seconds: float
    bytes_written: int  # landing zone
    accounts: int
    months: int
    seed: int
    end_month: str
    realised: dict  # what the planted company turned out to be (as in truth/summary.json)


def generate_demo_company(
    landing_dir: Path,
    truth_dir: Path,
    *,
    accounts: int = 2000,
    months: int = 36,
    seed: int = 42,
    end_month: str = "2026-10",
    shape: CompanyShape = FULL,
    retention: RetentionPolicy | None = None,
) -> GenerationSummary:
    """Write the demo company's landing zone and its truth. Replaces earlier generated files there.

    ``shape`` (pipeline.demo.shape) leaves entities or optional columns out, writes digit ids or a 1-10
    answer scale: the same planted company, exported the way another company's systems would. ``retention``
    plants a retention policy and its effect (pipeline.demo.retention; ``PLANTED_RETENTION`` is the demo's,
    which ``pipeline demo`` and ``pipeline generate`` plant). None, the default here, leaves the company as it
    was before the policy existed: a policy changes who churns and so every later draw over the active
    accounts (survey samples, revenue), and the companies the tests share keep their planted figures."""
    if not MIN_ACCOUNTS <= accounts <= MAX_ACCOUNTS:
        raise ValueError(f"accounts must be between {MIN_ACCOUNTS} and {MAX_ACCOUNTS}, got {accounts}")
    if not MIN_MONTHS <= months <= MAX_MONTHS:
        raise ValueError(f"months must be between {MIN_MONTHS} and {MAX_MONTHS}, got {months}")
    started = time.perf_counter()
    landing_dir, truth_dir = Path(landing_dir), Path(truth_dir)
    calendar = Calendar.ending(end_month, months)
    _remove_earlier_output(landing_dir, truth_dir)

    streams = Streams(seed)
    # Digit ids keep their leading zeros: an id is text, never a number (DESIGN.md).
    account_ids = formats.ids("" if shape.digit_ids else "A", np.arange(1, accounts + 1), 6)
    plan = None if retention is None else RetentionPlan(retention, np.array(account_ids.to_pylist(), dtype=object))
    population = build_accounts(streams, accounts, calendar, plan)
    contacts = build_contacts(streams, population, calendar)
    opportunities = build_opportunities(streams, population, calendar)
    contact_ids = formats.ids("C", contacts.number, 7)
    missing = frozenset(account_ids.slice(0, shape.accounts_missing_from_crm).to_pylist())
    output = LandingOutput(landing_dir, shape=shape, missing_accounts=missing)
    defects, corrections = DefectLedger(), CorrectionLedger()
    for source in SOURCES:
        (landing_dir / source).mkdir(parents=True, exist_ok=True)

    crm = Crm(streams, calendar, population, contacts, opportunities, account_ids, contact_ids, output, defects, plan)
    finance = Finance(streams, calendar, population, account_ids, output, defects, corrections)
    surveys = Surveys(streams, calendar, population, contacts, account_ids, contact_ids, output, defects, corrections)
    account_months = truth.AccountMonths()
    quarter_costs: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    snapshots = calendar.snapshot_months

    for t in range(months):
        activity_counts = crm.write_activities(t)
        invoicing = finance.write_month(t)
        active = population.active_in(t)
        cost = service_cost(streams("cost-to-serve", t), population, active, invoicing, activity_counts)
        quarter_costs.append((active, np.full(active.shape[0], calendar.month_start(t)), cost))
        account_months.add(t, active, invoicing.net_revenue[active])
        surveys.run_month(t)
        if t in calendar.quarter_ends:
            write_cost_to_serve(
                output,
                calendar,
                t,
                account_ids,
                *(np.concatenate(x) for x in zip(*quarter_costs, strict=True)),
            )
            quarter_costs = []
        if t in snapshots:
            crm.write_snapshots(snapshots.index(t), t)

    if surveys.pending_resends:  # a generator bug: the truth would list corrections the files lack
        raise RuntimeError("every response chosen for correction must be sent again")
    # What the shape did not write was not planted in the landing zone.
    defects.records = [r for r in defects.records if shape.writes(r[1]) and shape.keeps_column(r[1], r[5])]
    corrections.records = [r for r in corrections.records if shape.writes(r[1]) and shape.keeps_column(r[1], r[3])]
    summary = {
        "parameters": {
            "accounts": accounts,
            "months": months,
            "seed": seed,
            "end_month": end_month,
            "first_month": str(calendar.first_month),
            "shape": shape.describe(),
            "accounts_missing_from_crm": sorted(missing),
        },
        "formats": FILE_FORMATS,
        "ids": ID_FORMATS,
        "date_styles": {name: output.date_styles.get(name, "iso") for name in output.files if name.endswith(".csv")},
        "files": output.files,
        "rows": output.rows,
        "planted_defects": len(defects.records),
        "corrections": len(corrections.records),
    }
    truth_files, realised = truth.write_truth(
        truth_dir,
        calendar,
        population,
        account_ids,
        account_months,
        surveys.invited_truth(),
        defects.table(),
        corrections.table(),
        summary,
    )
    if plan is not None:
        truth_files += write_retention_truth(truth_dir, plan, calendar, population)
    return GenerationSummary(
        files=tuple(output.files),
        truth_files=tuple(truth_files),
        rows=dict(output.rows),
        elapsed_seconds=time.perf_counter() - started,
        bytes_written=output.bytes_written,
        accounts=accounts,
        months=months,
        seed=seed,
        end_month=end_month,
        realised=realised,
    )


def write_retention_truth(truth_dir: Path, plan: RetentionPlan, calendar: Calendar, population) -> list[str]:
    """truth/retention_effect.json and truth/retention_cohorts.parquet (pipeline.demo.retention)."""
    import json

    import pyarrow as pa

    columns, effect = retention_truth(
        plan, calendar, population.static_logit, population.risk_state, population.churn_month
    )
    (truth_dir / "retention_effect.json").write_text(json.dumps(effect, indent=2, sort_keys=True) + "\n")
    if not columns:
        return ["retention_effect.json"]
    table = pa.table({k: pa.array(v, pa.date32() if k == "cohort_month" else None) for k, v in columns.items()})
    formats.write_parquet(table, truth_dir / "retention_cohorts.parquet")
    return ["retention_effect.json", "retention_cohorts.parquet"]


def _remove_earlier_output(landing_dir: Path, truth_dir: Path) -> None:
    """Delete files an earlier generation wrote, so a smaller or shifted run leaves no stale drops.

    Only files named like generated drops in crm/, survey/, finance/ and the known truth files are touched.
    """
    for source in SOURCES:
        folder = landing_dir / source
        if folder.is_dir():
            for path in folder.iterdir():
                if path.is_file() and _GENERATED_NAME.match(path.name):
                    path.unlink()
    for name in TRUTH_FILES:
        (truth_dir / name).unlink(missing_ok=True)
