"""The demo company generator: formats of the landing zone, determinism, and the planted truth.

One small company (300 accounts x 24 months) is generated once per module and read back the way a
stranger would: CSVs with their own separators and encodings, Parquet with pyarrow, XLSX with calamine.
"""

from __future__ import annotations

import codecs
import datetime as dt
import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from python_calamine import CalamineWorkbook

from pipeline.demo import formats, model
from pipeline.demo.generator import generate_demo_company

ACCOUNTS, MONTHS, END_MONTH = 300, 24, "2026-10"
LAST_MONTH = pd.Timestamp("2026-10-01")
FIRST_MONTH = pd.Timestamp("2024-11-01")

# DESIGN.md, landing-zone contract (v1): required columns (*) and the optional ones we generate.
REQUIRED = {
    ("crm", "accounts"): {"account_id", "account_name", "created_date", "status"},
    ("crm", "contacts"): {"contact_id", "account_id"},
    ("crm", "opportunities"): {"opportunity_id", "account_id", "created_date", "stage"},
    ("crm", "activities"): {"activity_id", "account_id", "activity_type", "activity_date"},
    ("survey", "invitations"): {"invitation_id", "survey_id", "account_id", "sent_date"},
    ("survey", "responses"): {"response_id", "survey_id", "account_id", "response_date", "nps"},
    ("finance", "invoice_lines"): {"invoice_id", "line_no", "account_id", "invoice_date", "net_amount_eur"},
    ("finance", "payments"): {"invoice_id", "paid_date", "amount_eur"},
    ("finance", "cost_to_serve"): {"account_id", "month", "service_cost_eur"},
}
OPTIONAL = {
    ("crm", "accounts"): {
        "business_id",
        "industry",
        "country",
        "region",
        "employees",
        "closed_date",
        "owner",
        "estimated_annual_potential_eur",
        "main_competitor",
    },
    ("crm", "contacts"): {"role", "email", "is_active", "created_date"},
    ("crm", "opportunities"): {"close_date", "amount_eur", "lost_reason", "competitor"},
    ("crm", "activities"): {"contact_id", "notes", "campaign"},
    ("survey", "invitations"): {"contact_id"},
    ("survey", "responses"): {
        "survey_type",
        "contact_id",
        "invitation_id",
        *model.DRIVER_NAMES,
        "considering_alternatives",
        "preferred_competitor",
        "reason_left",
        "comment",
    },
    ("finance", "invoice_lines"): {"due_date", "product_line", "cost_amount_eur"},
    ("finance", "payments"): set(),
    ("finance", "cost_to_serve"): set(),
}
FILE_NAME = re.compile(r"^(?P<entity>[a-z_]+?)_(?P<date>\d{8})(_[^/]*)?\.(csv|parquet|xlsx)$")
ENCODING = {"crm": "cp1252", "survey": "utf-8-sig", "finance": "utf-8"}
SEPARATOR = {"crm": ";", "survey": ",", "finance": ","}


@pytest.fixture(scope="module")
def company(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("demo")
    summary = generate_demo_company(
        root / "landing", root / "truth", accounts=ACCOUNTS, months=MONTHS, seed=42, end_month=END_MONTH
    )
    return {"root": root, "landing": root / "landing", "truth": root / "truth", "summary": summary}


def drops(landing: Path, source: str, entity: str) -> list[Path]:
    """The entity's files, oldest extract date first (then name), as the ingest orders them."""
    found = []
    for path in (landing / source).iterdir():
        match = FILE_NAME.match(path.name)
        if match and match["entity"] == entity:
            found.append((match["date"], path.name, path))
    return [p for _, _, p in sorted(found)]


def read(path: Path) -> pd.DataFrame:
    """Read one landing file as text, the way its source wrote it."""
    source = path.parent.name
    if path.suffix == ".parquet":
        return pq.read_table(path).to_pandas()
    if path.suffix == ".xlsx":
        rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("cost_to_serve").to_python()
        return pd.DataFrame(rows[1:], columns=rows[0])
    return pd.read_csv(
        path,
        sep=SEPARATOR[source],
        encoding=ENCODING[source],
        dtype=str,
        keep_default_na=False,
        na_values=[""],
    )


def read_all(landing: Path, source: str, entity: str) -> pd.DataFrame:
    frames = []
    for path in drops(landing, source, entity):
        frame = read(path)
        frame["_file"] = f"{source}/{path.name}"
        frame["_row_number"] = np.arange(1, len(frame) + 1)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def parse_date(values: pd.Series) -> pd.Series:
    iso = pd.to_datetime(values, format="%Y-%m-%d", errors="coerce")
    finnish = pd.to_datetime(values, format="%d.%m.%Y", errors="coerce")
    return iso.fillna(finnish)


def defect_keys(truth: Path, entity: str) -> set[str]:
    defects = pq.read_table(truth / "planted_defects.parquet").to_pandas()
    return set(defects.loc[defects["entity"] == entity, "key"])


def newest(frame: pd.DataFrame, key: list[str]) -> pd.DataFrame:
    """Incremental semantics: a row that comes again with the same key replaces the earlier one."""
    return frame.drop_duplicates(subset=key, keep="last")


def invoice_lines(company: dict) -> pd.DataFrame:
    lines = read_all(company["landing"], "finance", "invoice_lines")
    lines = lines[lines["account_id"].notna()]  # planted defects
    return newest(lines, ["invoice_id", "line_no"])


def last_accounts_snapshot(company: dict) -> pd.DataFrame:
    return read(drops(company["landing"], "crm", "accounts")[-1])


def file_digests(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


# --- determinism and sizes ------------------------------------------------------------------------------


def test_same_arguments_give_byte_identical_files_and_another_seed_differs(company, tmp_path):
    again = generate_demo_company(
        tmp_path / "a" / "landing",
        tmp_path / "a" / "truth",
        accounts=ACCOUNTS,
        months=MONTHS,
        seed=42,
        end_month=END_MONTH,
    )
    for part in ("landing", "truth"):
        first, second = file_digests(company[part]), file_digests(tmp_path / "a" / part)
        assert first.keys() == second.keys()
        differing = [name for name in first if first[name] != second[name]]
        assert not differing, f"files differ between two runs with the same seed: {differing[:5]}"
    assert again.rows == company["summary"].rows

    other = generate_demo_company(
        tmp_path / "b" / "landing",
        tmp_path / "b" / "truth",
        accounts=ACCOUNTS,
        months=MONTHS,
        seed=7,
        end_month=END_MONTH,
    )
    first, third = file_digests(company["landing"]), file_digests(tmp_path / "b" / "landing")
    shared = first.keys() & third.keys()
    assert shared and all(first[name] != third[name] for name in shared if "accounts_" in name)
    assert other.rows != company["summary"].rows


def test_regenerating_into_the_same_folder_replaces_earlier_drops(tmp_path):
    landing, truth = tmp_path / "landing", tmp_path / "truth"
    generate_demo_company(landing, truth, accounts=200, months=13, end_month="2025-06")
    generate_demo_company(landing, truth, accounts=200, months=12, end_month="2025-12")
    stamps = {FILE_NAME.match(p.name)["date"] for p in landing.rglob("*") if p.is_file()}
    assert min(stamps) >= "20250101", "drops of the earlier generation were left behind"


def test_sizes_outside_the_supported_range_are_refused(tmp_path):
    with pytest.raises(ValueError, match="accounts"):
        generate_demo_company(tmp_path / "l", tmp_path / "t", accounts=10)
    with pytest.raises(ValueError, match="months"):
        generate_demo_company(tmp_path / "l", tmp_path / "t", accounts=300, months=6)
    with pytest.raises(ValueError, match="end_month"):
        generate_demo_company(tmp_path / "l", tmp_path / "t", accounts=300, end_month="10/2026")


def test_summary_lists_every_file_and_counts_rows(company):
    summary = company["summary"]
    on_disk = {p.relative_to(company["landing"]).as_posix() for p in company["landing"].rglob("*") if p.is_file()}
    assert set(summary.files) == on_disk
    assert summary.bytes_written == sum((company["landing"] / f).stat().st_size for f in summary.files)
    assert set(summary.rows) == {entity for _, entity in REQUIRED}
    lines = sum(pq.read_metadata(p).num_rows for p in drops(company["landing"], "finance", "invoice_lines"))
    assert summary.rows["invoice_lines"] == lines
    assert summary.elapsed_seconds > 0
    recorded = json.loads((company["truth"] / "summary.json").read_text())
    assert recorded["files"] == list(summary.files)


# --- the landing-zone contract -----------------------------------------------------------------------


def test_every_entity_is_present_with_its_columns(company):
    for (source, entity), required in REQUIRED.items():
        files = drops(company["landing"], source, entity)
        assert files, f"no {source}/{entity} drops"
        for path in files:
            columns = set(read(path).columns)
            missing = (required | OPTIONAL[(source, entity)]) - columns
            assert not missing, f"{path.name} lacks {missing}"
            assert all(c == c.lower() for c in columns)


def test_file_names_carry_extract_dates_and_nothing_is_dated_after_them(company):
    checks = {
        ("crm", "activities"): ["activity_date"],
        ("crm", "accounts"): ["created_date", "closed_date"],
        ("crm", "contacts"): ["created_date"],
        ("crm", "opportunities"): ["created_date"],
        ("survey", "invitations"): ["sent_date"],
        ("survey", "responses"): ["response_date"],
        ("finance", "payments"): ["paid_date"],
        ("finance", "invoice_lines"): ["invoice_date"],
        ("finance", "cost_to_serve"): ["month"],
    }
    for (source, entity), columns in checks.items():
        for path in drops(company["landing"], source, entity):
            extract = pd.Timestamp(dt.datetime.strptime(FILE_NAME.match(path.name)["date"], "%Y%m%d"))
            assert extract == extract + pd.offsets.MonthEnd(0), f"{path.name}: drops are made at month ends"
            frame = read(path)
            for column in columns:
                values = frame[column]
                dates = (
                    parse_date(values.astype(str))
                    if values.dtype == object or values.dtype == "str"
                    else pd.to_datetime(values)
                )
                assert dates[values.notna()].notna().all(), f"{path.name}:{column} has unparseable dates"
                assert (dates.dropna() <= extract).all(), f"{path.name}:{column} is after the extract date"


def test_crm_files_are_windows_1252_semicolon_crlf_with_decimal_comma(company):
    for path in (company["landing"] / "crm").iterdir():
        raw = path.read_bytes()
        raw.decode("cp1252")
        with pytest.raises(UnicodeDecodeError):
            raw.decode("utf-8")
        header = raw.split(b"\r\n", 1)[0]
        assert b";" in header and b"\n" not in header
    potential = read(drops(company["landing"], "crm", "accounts")[-1])["estimated_annual_potential_eur"].dropna()
    assert potential.str.fullmatch(r"\d+,\d{2}").all()


def test_activity_notes_carry_what_real_notes_carry(company):
    text = "".join(p.read_bytes().decode("cp1252") for p in drops(company["landing"], "crm", "activities"))
    for needle in ("€", "„", "–", "ä", "ö", "å", "Ä", "Ö"):
        assert needle in text, f"no {needle!r} in any activity note"
    notes = read_all(company["landing"], "crm", "activities")["notes"].dropna()
    assert notes.str.contains("\n").any() and notes.str.contains(";").any()


def test_some_crm_drops_use_finnish_dates_and_the_rest_iso(company):
    styles = {}
    for path in (company["landing"] / "crm").iterdir():
        column = "activity_date" if path.name.startswith("activities") else "created_date"
        values = read(path)[column].dropna()
        if values.str.fullmatch(r"\d{1,2}\.\d{1,2}\.\d{4}").all():
            styles[path.name] = "fi"
        else:
            assert values.str.fullmatch(r"\d{4}-\d{2}-\d{2}").all(), path.name
            styles[path.name] = "iso"
    assert "fi" in styles.values() and list(styles.values()).count("iso") > len(styles) / 2
    recorded = json.loads((company["truth"] / "summary.json").read_text())["date_styles"]
    assert {name: recorded[f"crm/{name}"] for name in styles} == styles


def test_survey_files_have_a_bom_and_payments_do_not(company):
    for path in (company["landing"] / "survey").iterdir():
        assert path.read_bytes().startswith(codecs.BOM_UTF8), path.name
    comments = read_all(company["landing"], "survey", "responses")["comment"].dropna()
    assert comments.str.contains("\n").any()
    for path in drops(company["landing"], "finance", "payments"):
        raw = path.read_bytes()
        assert not raw.startswith(codecs.BOM_UTF8)
        raw.decode("utf-8")


def test_parquet_and_xlsx_types(company):
    schema = pq.read_schema(drops(company["landing"], "finance", "invoice_lines")[0])
    assert schema.field("invoice_date").type == pa.date32() and schema.field("due_date").type == pa.date32()
    assert schema.field("net_amount_eur").type == pa.float64()
    assert schema.field("invoice_id").type == pa.string() and schema.field("account_id").type == pa.string()
    lines = invoice_lines(company)
    assert (lines["net_amount_eur"] < 0).any(), "credit notes are negative"
    assert np.allclose(lines["net_amount_eur"], lines["net_amount_eur"].round(2))
    workbook = drops(company["landing"], "finance", "cost_to_serve")[0]
    assert CalamineWorkbook.from_path(str(workbook)).sheet_names == ["cost_to_serve"]
    cost = read(workbook)
    assert all(isinstance(v, dt.date) and v.day == 1 for v in cost["month"])
    assert (cost["service_cost_eur"].astype(float) >= 0).all()


def test_a_quarter_too_big_for_one_sheet_is_split_into_parts(tmp_path, monkeypatch):
    from pipeline.demo.calendar import Calendar
    from pipeline.demo.finance import write_cost_to_serve
    from pipeline.demo.ledger import LandingOutput

    monkeypatch.setattr(formats, "XLSX_MAX_DATA_ROWS", 40)
    output = LandingOutput(tmp_path)
    calendar = Calendar.ending("2025-03", 12)
    ids = formats.ids("A", np.arange(1, 101), 6)
    months = np.full(100, np.datetime64("2025-03-01"))
    write_cost_to_serve(output, calendar, 11, ids, np.arange(100), months, np.linspace(0, 99, 100))
    assert output.files == [f"finance/cost_to_serve_20250331_part{i}.xlsx" for i in (1, 2, 3)]
    assert [len(read(tmp_path / f)) for f in output.files] == [40, 40, 20]


def test_identifiers_are_zero_padded_text(company):
    patterns = {
        ("crm", "accounts", "account_id"): r"A\d{6}",
        ("crm", "contacts", "contact_id"): r"C\d{7}",
        ("crm", "opportunities", "opportunity_id"): r"OPP\d{7}",
        ("crm", "activities", "activity_id"): r"ACT\d{9}",
        ("survey", "invitations", "invitation_id"): r"SI\d{8}",
        ("survey", "responses", "response_id"): r"SR\d{8}",
        ("finance", "payments", "invoice_id"): r"INV\d{8}",
        ("finance", "invoice_lines", "invoice_id"): r"INV\d{8}",
    }
    for (source, entity, column), pattern in patterns.items():
        values = read(drops(company["landing"], source, entity)[-1])[column]
        assert values.str.fullmatch(pattern).all(), f"{entity}.{column}"


def test_accounts_have_valid_business_ids_finnish_names_and_history_between_snapshots(company):
    from pipeline.contract import business_id_is_valid

    snapshots = [read(p) for p in drops(company["landing"], "crm", "accounts")]
    current = snapshots[-1]
    present = current["business_id"].dropna()
    assert present.map(business_id_is_valid).all(), "the current snapshot carries only valid Y-tunnus"
    assert current["business_id"].isna().any()
    assert current["account_name"].str.contains(r"[äöåÄÖÅ]").mean() > 0.3
    assert current["account_name"].str.contains(r" (?:Oy|Ab|Oyj|Ky)$").mean() > 0.8
    assert set(current["country"]) >= {"FI", "SE"} and (current["country"] == "FI").mean() > 0.8
    assert current["owner"].nunique() == 12
    assert current["main_competitor"].isna().mean() > 0.3 and current["main_competitor"].notna().any()
    first = snapshots[0].set_index("account_id")
    both = current.set_index("account_id").loc[first.index]
    assert (both["owner"] != first["owner"]).any()
    assert (both["employees"] != first["employees"]).any()
    assert (
        both["estimated_annual_potential_eur"].fillna("") != first["estimated_annual_potential_eur"].fillna("")
    ).any()
    assert len(current) > len(snapshots[0]), "accounts created later appear in later snapshots"
    extract_first = pd.Timestamp(FILE_NAME.match(drops(company["landing"], "crm", "accounts")[0].name)["date"])
    assert (parse_date(snapshots[0]["created_date"]) <= extract_first).all()


def test_contacts_opportunities_and_activities(company):
    contacts = read(drops(company["landing"], "crm", "contacts")[-1])
    assert set(contacts["role"]) == {"decision_maker", "influencer", "user", "other"}
    assert contacts["email"].str.fullmatch(r"[a-z]+\.[a-z]+@[a-z0-9]+\.(fi|se|ee|de)").all()
    assert set(contacts["is_active"]) == {"true", "false"}
    opportunities = read(drops(company["landing"], "crm", "opportunities")[-1])
    assert set(opportunities["stage"]) == {"open", "won", "lost"}
    lost = opportunities[opportunities["stage"] == "lost"]
    assert lost["lost_reason"].notna().all() and lost["competitor"].notna().any()
    assert opportunities.loc[opportunities["stage"] != "lost", "lost_reason"].isna().all()
    for path in drops(company["landing"], "crm", "activities"):
        month = pd.Timestamp(dt.datetime.strptime(FILE_NAME.match(path.name)["date"], "%Y%m%d")).to_period("M")
        dates = parse_date(read(path)["activity_date"])
        assert (dates.dt.to_period("M") == month).all(), f"{path.name} holds only its month's new activities"


# --- planted structure ----------------------------------------------------------------------------


def test_top_fifth_of_accounts_brings_most_revenue(company):
    lines = invoice_lines(company)
    recent = lines[pd.to_datetime(lines["invoice_date"]) > LAST_MONTH - pd.DateOffset(months=11)]
    revenue = recent.groupby("account_id")["net_amount_eur"].sum()
    revenue = revenue[revenue > 0].sort_values(ascending=False)
    top = revenue.iloc[: round(0.2 * len(revenue))].sum() / revenue.sum()
    assert 0.70 <= top <= 0.90


def test_survey_answers_are_biased_towards_the_extremes(company):
    invited = pq.read_table(company["truth"] / "invited_nps.parquet").to_pandas()
    relationship = invited[invited["survey_type"] == "relationship"]
    answered = relationship[relationship["responded"]]
    assert abs(answered["would_be_nps"].mean() - relationship["would_be_nps"].mean()) > 0.1

    def extremes(x: pd.Series) -> float:
        return ((x <= 3) | (x >= 9)).mean()

    assert extremes(answered["would_be_nps"]) > extremes(relationship["would_be_nps"]) + 0.02
    # The bias CRM data explains: contacts of larger accounts (by the CRM's employee count) answer more
    # often and score higher.
    accounts = newest(read_all(company["landing"], "crm", "accounts"), ["account_id"]).set_index("account_id")
    employees = pd.to_numeric(accounts["employees"], errors="coerce")
    known = relationship[relationship["account_id"].map(employees).notna()]
    band = model.crm_size_band(known["account_id"].map(employees).to_numpy())
    by_band = known.groupby(band)
    assert by_band["responded"].mean().is_monotonic_increasing
    assert by_band["would_be_nps"].mean().is_monotonic_increasing
    assert set(invited["survey_type"]) == {"relationship", "transactional", "exit"}


def test_responses_are_exactly_the_responded_invitations(company):
    invited = pq.read_table(company["truth"] / "invited_nps.parquet").to_pandas().set_index("invitation_id")
    responses = read_all(company["landing"], "survey", "responses")
    responses = newest(
        responses[~responses["response_id"].isin(defect_keys(company["truth"], "responses"))], ["response_id"]
    )
    assert responses["invitation_id"].is_unique
    assert set(responses["invitation_id"]) == set(invited.index[invited["responded"]])
    assert (
        responses["nps"].astype(int).to_numpy() == invited.loc[responses["invitation_id"], "would_be_nps"].to_numpy()
    ).all()
    invitations = read_all(company["landing"], "survey", "invitations")
    assert set(invitations["invitation_id"]) == set(invited.index)
    exits = responses[responses["survey_type"] == "exit"]
    assert len(exits) and exits["reason_left"].notna().all() and exits["preferred_competitor"].notna().any()
    assert responses.loc[responses["survey_type"] != "exit", "reason_left"].isna().all()
    assert responses["driver_delivery"].isna().any(), "some respondents skip some drivers"


def test_drivers_json_holds_every_class_with_effects(company):
    drivers = json.loads((company["truth"] / "drivers.json").read_text())
    classes = {spec["class"] for spec in drivers["drivers"].values()}
    assert classes == {"hygiene", "differentiator", "performance", "weak"}
    assert set(drivers["drivers"]) == set(model.DRIVER_NAMES)
    for spec in drivers["drivers"].values():
        strong_low, strong_high = spec["low_effect"] <= -1.0, spec["high_effect"] >= 1.0
        expected = {
            (True, False): "hygiene",
            (False, True): "differentiator",
            (True, True): "performance",
            (False, False): "weak",
        }[(strong_low, strong_high)]
        assert spec["class"] == expected


def test_penalty_reward_regression_recovers_the_planted_driver_classes():
    """On a few thousand simulated relationship answers the planted asymmetries are visible."""
    rng = np.random.default_rng(3)
    n = 4000
    state = rng.standard_normal(n)
    experience = model.RATING_ACCOUNT_SD * rng.standard_normal((n, len(model.DRIVER_NAMES)))
    ratings = model.draw_ratings(rng, experience, state)
    nps = model.would_be_nps(rng, ratings, state)
    design = [np.ones(n)]
    for j in range(len(model.DRIVER_NAMES)):
        design += [(ratings[:, j] <= 6).astype(float), (ratings[:, j] >= 9).astype(float)]
    coefficients = np.linalg.lstsq(np.column_stack(design), nps.astype(float), rcond=None)[0]
    for j, name in enumerate(model.DRIVER_NAMES):
        low, high = coefficients[1 + 2 * j], coefficients[2 + 2 * j]
        found = {
            (True, False): "hygiene",
            (False, True): "differentiator",
            (True, True): "performance",
            (False, False): "weak",
        }[(low < -0.7, high > 0.7)]
        assert found == model.DRIVERS[name][0], f"{name}: low {low:.2f}, high {high:.2f}"


def test_churn_events_agree_with_the_landing_zone(company):
    events = pq.read_table(company["truth"] / "churn_events.parquet").to_pandas()
    events["churn_month"] = pd.to_datetime(events["churn_month"])
    assert set(events["churn_type"]) == {"closed", "silent"}
    accounts = last_accounts_snapshot(company).set_index("account_id")
    assert events["account_id"].isin(accounts.index).all()
    lines = invoice_lines(company)
    lines["month"] = pd.to_datetime(lines["invoice_date"]).dt.to_period("M").dt.to_timestamp()

    closed = events[events["churn_type"] == "closed"]
    assert (accounts.loc[closed["account_id"], "status"] == "closed").all()
    closed_month = parse_date(accounts.loc[closed["account_id"], "closed_date"]).dt.to_period("M").dt.to_timestamp()
    assert (closed_month.to_numpy() == closed["churn_month"].to_numpy()).all()
    assert set(accounts.index[accounts["status"] == "closed"]) == set(closed["account_id"])

    silent = events[events["churn_type"] == "silent"].set_index("account_id")
    assert len(silent) > 0
    assert (accounts.loc[silent.index, "status"] == "active").all()
    assert (silent["churn_month"] + pd.DateOffset(months=5) <= LAST_MONTH).all(), "six silent months inside"
    by_account = lines[lines["account_id"].isin(silent.index)].groupby("account_id")["month"].max()
    last_invoice = by_account.reindex(silent.index)
    assert (last_invoice + pd.DateOffset(months=1) == silent["churn_month"]).all()
    after = lines.merge(silent, left_on="account_id", right_index=True)
    assert after.loc[after["month"] >= after["churn_month"], "net_amount_eur"].abs().sum() == 0

    # Accounts without a churn event invoice up to their last month or are not yet confirmed churners.
    never = lines[~lines["account_id"].isin(events["account_id"])].groupby("account_id")["month"].max()
    assert (never >= LAST_MONTH - pd.DateOffset(months=5)).all()


def test_churn_probabilities_cover_active_account_months_and_rank_real_churn(company):
    p = pq.read_table(company["truth"] / "churn_probabilities.parquet").to_pandas()
    p["month"] = pd.to_datetime(p["month"])
    assert (p["month"].dt.day == 1).all() and p["p_churn_6m"].between(0, 1).all()
    events = pq.read_table(company["truth"] / "churn_events.parquet").to_pandas()
    events["churn_month"] = pd.to_datetime(events["churn_month"])
    accounts = last_accounts_snapshot(company).set_index("account_id")
    created = parse_date(accounts["created_date"]).dt.to_period("M").dt.to_timestamp()
    assert (created.loc[p["account_id"]].to_numpy() <= p["month"].to_numpy()).all()
    churn = events.set_index("account_id")["churn_month"].reindex(p["account_id"]).to_numpy()
    assert not (pd.notna(churn) & (churn <= p["month"].to_numpy())).any(), "no rows on or after churn"
    assert not p.duplicated(["account_id", "month"]).any()

    # Final labels only (DESIGN.md: up to twelve months after the snapshot).
    final = p[p["month"] <= LAST_MONTH - pd.DateOffset(months=12)].copy()
    churn = events.set_index("account_id")["churn_month"].reindex(final["account_id"]).to_numpy()
    horizon = (final["month"] + pd.DateOffset(months=6)).to_numpy()
    final["label"] = pd.notna(churn) & (churn > final["month"].to_numpy()) & (churn <= horizon)
    top = final["p_churn_6m"] >= final["p_churn_6m"].quantile(0.9)
    assert final.loc[top, "label"].mean() > 2 * final.loc[~top, "label"].mean()
    assert abs(final["label"].mean() - final["p_churn_6m"].mean()) < 0.03, "probabilities are calibrated"


def monte_carlo_six_month_probability(
    rng: np.random.Generator, static_logit: float, state: float, paths: int = 200_000
) -> float:
    """The six-month churn probability by brute force, to check the model's recursion."""
    shock_scale = np.sqrt(1.0 - model.RISK_PERSISTENCE**2)
    r = np.full(paths, state)
    survival = np.ones(paths)
    for _ in range(model.HORIZON_MONTHS):
        survival *= 1.0 - model.monthly_hazard(np.full(paths, static_logit), r)
        r = model.RISK_PERSISTENCE * r + shock_scale * rng.standard_normal(paths)
    return float(1.0 - survival.mean())


def test_six_month_probability_matches_monte_carlo():
    logits = np.array([-5.3, -4.6, -5.0])
    probability = model.SixMonthChurnProbability(logits)
    rng = np.random.default_rng(0)
    for logit, state in ((-5.3, 0.0), (-4.6, 2.5), (-5.0, -1.0)):
        exact = probability(np.array([logit]), np.array([state]))[0]
        simulated = monte_carlo_six_month_probability(rng, logit, state, paths=400_000)
        assert abs(exact - simulated) < 4 * np.sqrt(exact * (1 - exact) / 400_000) + 1e-4


def test_planted_defects_point_at_real_rows(company):
    from pipeline.contract import business_id_is_valid

    defects = pq.read_table(company["truth"] / "planted_defects.parquet").to_pandas()
    assert set(defects["entity"]) == {"accounts", "activities", "invoice_lines", "payments", "responses"}
    cache: dict[str, pd.DataFrame] = {}
    for defect in defects.itertuples():
        frame = cache.setdefault(defect.file, read(company["landing"] / defect.file))
        row = frame.iloc[defect.row_number - 1]
        value = row[defect.column]
        if defect.entity == "accounts":
            assert row["account_id"] == defect.key and not business_id_is_valid(value)
        elif defect.entity == "activities":
            assert row["activity_id"] == defect.key and value not in {"meeting", "call", "email", "visit"}
        elif defect.entity == "invoice_lines":
            assert f"{row['invoice_id']}|{row['line_no']}" == defect.key and pd.isna(value)
        elif defect.entity == "payments":
            assert f"{row['invoice_id']}|{row['paid_date']}" == defect.key
            assert pd.to_numeric(pd.Series([value]), errors="coerce").isna().all()
        elif defect.entity == "responses":
            assert row["response_id"] == defect.key and int(value) not in range(11)
    total_rows = sum(company["summary"].rows[e] for e in set(defects["entity"]))
    assert len(defects) < 0.01 * total_rows


def test_re_sent_rows_carry_the_correction_and_come_later(company):
    corrections = pq.read_table(company["truth"] / "corrections.parquet").to_pandas()
    assert set(corrections["entity"]) == {"invoice_lines", "responses"}
    for c in corrections.itertuples():
        assert (
            FILE_NAME.match(c.corrected_file.split("/")[1])["date"]
            > FILE_NAME.match(c.first_file.split("/")[1])["date"]
        )
        first, later = read(company["landing"] / c.first_file), read(company["landing"] / c.corrected_file)
        if c.entity == "invoice_lines":
            invoice, line = c.key.split("|")
            pick = [f[(f["invoice_id"] == invoice) & (f["line_no"] == int(line))] for f in (first, later)]
            assert [f"{x[c.column].iloc[-1]:.2f}" for x in pick] == [c.first_value, c.corrected_value]
        else:
            pick = [f[f["response_id"] == c.key] for f in (first, later)]
            assert [x[c.column].iloc[-1] for x in pick] == [c.first_value, c.corrected_value]
    # Payments pay the corrected amount: never more than the invoice, mostly exactly it.
    lines = invoice_lines(company)
    totals = lines.groupby("invoice_id")["net_amount_eur"].sum()
    payments = read_all(company["landing"], "finance", "payments")
    payments = payments[
        ~(payments["invoice_id"] + "|" + payments["paid_date"]).isin(defect_keys(company["truth"], "payments"))
    ]
    paid = payments.groupby("invoice_id")["amount_eur"].apply(lambda s: s.astype(float).sum())
    corrected = {k.split("|")[0] for k in corrections.loc[corrections["entity"] == "invoice_lines", "key"]}
    paid_corrected = paid[paid.index.isin(corrected)]
    assert len(paid_corrected)
    assert (paid_corrected <= totals.loc[paid_corrected.index] + 0.011).all()
    assert np.isclose(paid_corrected, totals.loc[paid_corrected.index], atol=0.011).mean() > 0.8
    assert (paid <= totals.reindex(paid.index) + 0.011).all()


def test_late_payments_go_with_risk(company):
    lines = invoice_lines(company)
    due = lines.groupby("invoice_id")["due_date"].first()
    payments = read_all(company["landing"], "finance", "payments")
    payments = payments[pd.to_numeric(payments["amount_eur"], errors="coerce").notna()]
    paid = payments.groupby("invoice_id")["paid_date"].min()
    joined = pd.DataFrame({"due": pd.to_datetime(due), "paid": pd.to_datetime(paid)}).dropna()
    late = joined["paid"] > joined["due"]
    assert 0.02 < late.mean() < 0.25
    invoice_account = lines.groupby("invoice_id")["account_id"].first()
    months = pq.read_table(company["truth"] / "account_months.parquet").to_pandas()
    risk = months.groupby("account_id")["risk_state"].mean()
    account_late = late.groupby(invoice_account.reindex(joined.index)).mean()
    risky = risk.reindex(account_late.index) > 0.5
    assert account_late[risky].mean() > account_late[~risky].mean()
