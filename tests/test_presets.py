"""The source-mapping presets (mappings/presets/): each one, copied as is, loads a sample export of its system.

The samples under tests/data/presets/ are written by hand the way each system exports (headers, value
spellings, quoting, separators, date and number forms); the XLSX ones (Dynamics 365, Webropol) are built
here. Each test copies the preset into a landing zone's mappings folder, drops the sample where its source
delivers, ingests, and checks the exact values loaded, the quarantine, the row accounting and the ledger.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
from decimal import Decimal
from pathlib import Path

import pytest

from pipeline.ingest.inspection import inspect_file
from pipeline.ingest.mapping import parse_mapping

ROOT = Path(__file__).resolve().parents[1]
PRESETS = ROOT / "mappings" / "presets"
DATA = Path(__file__).resolve().parent / "data" / "presets"
EXPECTED_PRESETS = {
    "salesforce.yml",
    "dynamics365.yml",
    "hubspot.yml",
    "pipedrive.yml",
    "qualtrics.yml",
    "webropol.yml",
    "netvisor.yml",
}


def _install(landing, preset: str) -> Path:
    """The preset, byte for byte, as the landing zone's mapping."""
    return landing.write_bytes(f"mappings/{preset}", (PRESETS / preset).read_bytes())


def _drop(landing, source: str, system: str, name: str) -> Path:
    return landing.write_bytes(f"{source}/{name}", (DATA / system / name).read_bytes())


def _ingest(landing, source: str, entity: str, mapping_path: Path, counts: tuple[int, int, int]):
    """Ingest one entity; check its row accounting and that the ledger names the preset it was read by."""
    result = landing.ingest(source, entity, max_quarantine_share=1.0)
    assert len(result.loaded) == 1
    outcome = result.loaded[0]
    assert (outcome.rows_read, outcome.rows_loaded, outcome.rows_quarantined) == counts
    assert outcome.rows_read == outcome.rows_loaded + outcome.rows_quarantined
    mapping, sha, detected = landing.rows(
        "select mapping, mapping_sha256, detected from meta.ingest_ledger where file = ?", [outcome.file]
    )[0]
    assert mapping == str(mapping_path)
    assert sha == hashlib.sha256(mapping_path.read_bytes()).hexdigest()
    assert json.loads(detected)["mapping"] == mapping_path.name
    return outcome


def _quarantine(landing, file: str) -> list[tuple]:
    return [row[1:] for row in landing.quarantine() if row[0] == file]


def _guessed(path: Path) -> tuple[str, str]:
    inspection = inspect_file(path)
    return inspection.source, inspection.entity


# --- every preset -----------------------------------------------------------------------------------


def _leading_comments(text: str) -> str:
    """The comment block the file begins with, as one line of text (wrapped sentences joined)."""
    lines = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        lines.append(line.lstrip("#").strip())
    return " ".join(line for line in lines if line)


def test_every_preset_parses_and_cites_its_documentation():
    presets = sorted(PRESETS.glob("*.yml"))
    assert {p.name for p in presets} == EXPECTED_PRESETS
    for path in presets:
        text = path.read_text(encoding="utf-8")
        mapping = parse_mapping(text, str(path))
        assert mapping.files, path.name
        header = _leading_comments(text)
        assert header, f"{path.name} does not begin with a comment header"
        assert "Docs used" in header, path.name
        assert re.search(r"https?://\S+", header), f"{path.name} cites no documentation address"
        # Where the vendor does not document the export's headers, the preset says so.
        if path.name != "salesforce.yml":
            assert "not documented by" in header and "check against your own export" in header, path.name


# --- Salesforce -------------------------------------------------------------------------------------

SALESFORCE_FILES = ("Account_2026-11-30.csv", "Contact_2026-11-30.csv", "Opportunity_2026-11-30.csv")


def test_salesforce_data_loader_exports_load_through_the_preset(landing):
    mapping_path = _install(landing, "salesforce.yml")
    for name in (*SALESFORCE_FILES, "Task_2026-11-30.csv"):
        _drop(landing, "crm", "salesforce", name)

    outcome = _ingest(landing, "crm", "accounts", mapping_path, (4, 3, 1))
    assert outcome.extract_date == "2026-11-30"
    assert landing.rows(
        "select account_id, account_name, industry, country, region, employees, created_date, status, owner "
        "from raw.crm__accounts order by account_id"
    ) == [
        (
            "0015g00000AbCdEAAV",
            "Pohjolan Kuljetus Oy",
            "Transportation",
            "FI",
            "Uusimaa",
            120,
            dt.date(2024, 3, 5),  # 2024-03-05T10:22:00.000Z
            "active",
            "0055g00000OwNr1AAA",
        ),
        (
            "0015g00000AbCdFAAV",
            "Örn & Åberg Ab",
            "Retail",
            "SE",
            None,
            45,
            dt.date(2019, 12, 31),
            "active",
            "0055g00000OwNr1AAA",
        ),
        (
            "0015g00000AbCdHAAV",
            "Vanha Asiakas Oy",
            "Manufacturing",
            "FI",
            "Pirkanmaa",
            8,
            dt.date(2018, 6, 1),
            "closed",
            "0055g00000OwNr2AAA",
        ),
    ]
    # A prospect is no account of the contract: quarantined, with the Type as the export had it.
    assert _quarantine(landing, "crm/Account_2026-11-30.csv") == [(3, "status", "isin", "Prospect")]

    _ingest(landing, "crm", "contacts", mapping_path, (3, 3, 0))
    assert landing.rows(
        "select contact_id, account_id, email, created_date from raw.crm__contacts order by contact_id"
    ) == [
        ("0035g00000CoNt1AAA", "0015g00000AbCdEAAV", "maija.makinen@pohjolankuljetus.fi", dt.date(2024, 3, 6)),
        ("0035g00000CoNt2AAA", "0015g00000AbCdFAAV", "erik@ornaberg.se", dt.date(2020, 1, 15)),
        ("0035g00000CoNt3AAA", "0015g00000AbCdEAAV", None, dt.date(2025, 11, 30)),  # ...T07:15:00Z, no millis
    ]
    contact_columns = {row[0] for row in landing.rows("describe raw.crm__contacts")}
    assert "title" in contact_columns  # an unmapped column is kept...
    assert not contact_columns & {"firstname", "lastname", "name", "phone", "mobilephone"}  # ...personal ones not

    _ingest(landing, "crm", "opportunities", mapping_path, (4, 3, 1))
    assert landing.rows(
        "select opportunity_id, account_id, created_date, close_date, stage, amount_eur "
        "from raw.crm__opportunities order by opportunity_id"
    ) == [
        (
            "0065g00000OpPo1AAA",
            "0015g00000AbCdEAAV",
            dt.date(2025, 11, 3),
            dt.date(2026, 2, 27),
            "won",
            Decimal("25000.00"),
        ),
        (
            "0065g00000OpPo2AAA",
            "0015g00000AbCdFAAV",
            dt.date(2026, 1, 20),
            dt.date(2026, 5, 15),
            "lost",
            Decimal("8000.50"),
        ),
        (
            "0065g00000OpPo3AAA",
            "0015g00000AbCdEAAV",
            dt.date(2026, 10, 1),
            dt.date(2027, 1, 31),
            "open",
            Decimal("12000.00"),
        ),
    ]
    # A custom stage the preset does not list waits for the user to map it.
    assert _quarantine(landing, "crm/Opportunity_2026-11-30.csv") == [(4, "stage", "isin", "Tarjous lähetetty")]

    _ingest(landing, "crm", "activities", mapping_path, (4, 3, 1))
    assert landing.rows(
        "select activity_id, account_id, contact_id, activity_type, activity_date, notes "
        "from raw.crm__activities order by activity_id"
    ) == [
        (
            "00T5g00000TaSk1AAA",
            "0015g00000AbCdEAAV",
            "0035g00000CoNt1AAA",
            "call",
            dt.date(2026, 11, 2),
            "Sovittiin tapaaminen",
        ),
        ("00T5g00000TaSk2AAA", "0015g00000AbCdFAAV", "0035g00000CoNt2AAA", "meeting", dt.date(2026, 11, 10), None),
        ("00T5g00000TaSk3AAA", "0015g00000AbCdEAAV", None, "email", dt.date(2026, 11, 12), "Tarjous lähetetty"),
    ]
    assert _quarantine(landing, "crm/Task_2026-11-30.csv") == [(4, "activity_type", "isin", "Other")]


# --- Microsoft Dynamics 365 -------------------------------------------------------------------------

HIDDEN = ["(Do Not Modify) {0}", "(Do Not Modify) Row Checksum", "(Do Not Modify) Modified On"]


def _hidden(guid: str) -> list[object]:
    """A row's three hidden cells: the record's GUID, its row checksum and its modified-on."""
    return [guid, f"checksum-{guid}", dt.datetime(2026, 11, 1, 9, 30)]


def _dynamics_workbook(path: Path, entity: str, header: list[str], rows: list[list[object]]) -> Path:
    """A Dynamics 365 static worksheet: the three hidden re-import columns first, then the view's columns,
    and the hidden metadata sheet Dynamics adds."""
    import xlsxwriter

    path.parent.mkdir(parents=True, exist_ok=True)
    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet(f"Active {entity}s")
    stamp = workbook.add_format({"num_format": "d.m.yyyy h:mm"})
    sheet.write_row(0, 0, [h.format(entity) for h in HIDDEN] + header)
    for i, row in enumerate(rows, start=1):
        for j, value in enumerate(row):
            if isinstance(value, dt.datetime):
                sheet.write_datetime(i, j, value, stamp)
            elif value is not None:
                sheet.write(i, j, value)
    sheet.set_column(0, 2, None, None, {"hidden": True})
    hidden = workbook.add_worksheet("hiddenSheet")
    hidden.write_row(0, 0, ["account:Ag8AAAB...", "statecode", "Active", "Inactive"])
    hidden.hide()
    workbook.close()
    # Copied to the landing zone two days later: the extract date must come from the name, not the mtime.
    later = dt.datetime(2026, 12, 2, 12, 0).timestamp()
    os.utime(path, (later, later))
    return path


def test_dynamics_365_excel_exports_load_through_the_preset_without_the_hidden_columns(landing):
    mapping_path = _install(landing, "dynamics365.yml")
    accounts = _dynamics_workbook(
        landing.landing / "crm" / "Active Accounts 11-30-2026 10-22-15 AM.xlsx",
        "Account",
        [
            "Account Name",
            "Account Number",
            "Main Phone",
            "Address 1: City",
            "Address 1: Country/Region",
            "Industry",
            "Number of Employees",
            "Created On",
            "Status",
            "Owner",
        ],
        [
            [
                *_hidden("9b1c-01"),
                "Pohjolan Kuljetus Oy",
                "A001",
                "09 123 4567",
                "Helsinki",
                "Finland",
                "Transportation",
                120,
                dt.datetime(2021, 5, 1, 10, 22),
                "Active",
                "Maija Myyjä",
            ],
            [
                *_hidden("9b1c-02"),
                "Örn & Åberg Ab",
                "A002",
                None,
                "Malmö",
                "Sweden",
                "Retail",
                45,
                dt.datetime(2019, 12, 31, 8, 0),
                "Inactive",
                "Maija Myyjä",
            ],
            [
                *_hidden("9b1c-03"),
                "Kone ja Metalli Oy",
                "A003",
                None,
                "Tampere",
                "Suomi",
                "Manufacturing",
                310,
                dt.datetime(2022, 6, 1, 0, 0),
                "Active",
                "Pekka Myyjä",
            ],
            [
                *_hidden("9b1c-04"),
                "Numeroton Oy",
                None,
                None,
                "Turku",
                "Finland",
                None,
                None,
                dt.datetime(2026, 1, 2, 9, 0),
                "Active",
                "Pekka Myyjä",
            ],
        ],
    )
    contacts = _dynamics_workbook(
        landing.landing / "crm" / "Active Contacts 11-30-2026 10-25-40 AM.xlsx",
        "Contact",
        [
            "Full Name",
            "Company Name",
            "Account Number (Company Name) (Account)",
            "Email",
            "Business Phone",
            "Status",
            "Created On",
        ],
        [
            [
                *_hidden("c0a8-11"),
                "Maija Mäkinen",
                "Pohjolan Kuljetus Oy",
                "A001",
                "maija.makinen@pohjolankuljetus.fi",
                "040 123 4567",
                "Active",
                dt.datetime(2024, 3, 6, 9, 0),
            ],
            [
                *_hidden("c0a8-12"),
                "Erik Örn",
                "Örn & Åberg Ab",
                "A002",
                "erik@ornaberg.se",
                None,
                "Inactive",
                dt.datetime(2020, 1, 15, 13, 45),
            ],
            [
                *_hidden("c0a8-13"),
                "Pekka Virtanen",
                "Pohjolan Kuljetus Oy",
                "A001",
                None,
                None,
                "Active",
                dt.datetime(2025, 11, 30, 7, 15),
            ],
        ],
    )

    outcome = _ingest(landing, "crm", "accounts", mapping_path, (4, 3, 1))
    assert outcome.extract_date == "2026-11-30"  # from the name's US-style date, 11-30-2026
    assert outcome.detected["sheets"] == "Active Accounts" and outcome.detected["ignored_sheets"] == "hiddenSheet"
    assert landing.rows(
        "select account_id, account_name, industry, country, employees, created_date, status, owner "
        "from raw.crm__accounts order by account_id"
    ) == [
        ("A001", "Pohjolan Kuljetus Oy", "Transportation", "FI", 120, dt.date(2021, 5, 1), "active", "Maija Myyjä"),
        ("A002", "Örn & Åberg Ab", "Retail", "SE", 45, dt.date(2019, 12, 31), "closed", "Maija Myyjä"),
        ("A003", "Kone ja Metalli Oy", "Manufacturing", "FI", 310, dt.date(2022, 6, 1), "active", "Pekka Myyjä"),
    ]
    # An account without an Account Number has no key: quarantined at its row.
    assert _quarantine(landing, f"crm/{accounts.name}") == [(4, "account_id", "not_nullable", None)]
    columns = {row[0] for row in landing.rows("describe raw.crm__accounts")}
    assert "main_phone" in columns and not any("do_not_modify" in c for c in columns)

    outcome = _ingest(landing, "crm", "contacts", mapping_path, (3, 3, 0))
    assert landing.rows(
        "select contact_id, account_id, email, is_active, created_date from raw.crm__contacts order by contact_id"
    ) == [
        ("c0a8-11", "A001", "maija.makinen@pohjolankuljetus.fi", True, dt.date(2024, 3, 6)),
        ("c0a8-12", "A002", "erik@ornaberg.se", False, dt.date(2020, 1, 15)),
        ("c0a8-13", "A001", None, True, dt.date(2025, 11, 30)),
    ]
    columns = {row[0] for row in landing.rows("describe raw.crm__contacts")}
    assert "company_name" in columns
    assert not columns & {"full_name", "business_phone"} and not any("do_not_modify" in c for c in columns)
    assert _quarantine(landing, f"crm/{contacts.name}") == []


# --- HubSpot ----------------------------------------------------------------------------------------


def test_hubspot_companies_and_deals_exports_load_through_the_preset(landing):
    mapping_path = _install(landing, "hubspot.yml")
    _drop(landing, "crm", "hubspot", "companies-export-2026-11-30.csv")
    _drop(landing, "crm", "hubspot", "deals-export-2026-11-30.csv")

    _ingest(landing, "crm", "accounts", mapping_path, (4, 3, 1))
    assert landing.rows(
        "select account_id, account_name, country, region, employees, created_date, status, owner "
        "from raw.crm__accounts order by account_id"
    ) == [
        ("101", "Pohjolan Kuljetus Oy", "FI", "Uusimaa", 120, dt.date(2024, 3, 5), "active", "Maija Myyjä"),
        ("102", "Örn & Åberg Ab", "SE", None, 45, dt.date(2019, 12, 31), "closed", "Maija Myyjä"),
        ("104", "Kone ja Metalli Oy, Tampere", "FI", "Pirkanmaa", 310, dt.date(2021, 6, 15), "active", "Pekka Myyjä"),
    ]
    assert _quarantine(landing, "crm/companies-export-2026-11-30.csv") == [(3, "status", "isin", "Lead")]
    # Annual Revenue is not the contract's potential: kept as an extra column, not mapped.
    assert landing.rows("select annual_revenue, estimated_annual_potential_eur from raw.crm__accounts limit 1") == [
        ("15000000", None)
    ]

    _ingest(landing, "crm", "opportunities", mapping_path, (4, 3, 1))
    assert landing.rows(
        "select opportunity_id, account_id, created_date, close_date, stage, amount_eur, lost_reason "
        "from raw.crm__opportunities order by opportunity_id"
    ) == [
        ("9001", "101", dt.date(2025, 11, 3), dt.date(2026, 2, 27), "won", Decimal("12000.00"), None),
        ("9002", "102", dt.date(2026, 1, 20), dt.date(2026, 5, 15), "lost", Decimal("8000.50"), "Hinta"),
        ("9003", "104", dt.date(2026, 10, 1), dt.date(2027, 1, 31), "open", Decimal("1500.00"), None),
    ]
    assert _quarantine(landing, "crm/deals-export-2026-11-30.csv") == [(4, "stage", "isin", "Pilot running")]


# --- Pipedrive --------------------------------------------------------------------------------------


def test_pipedrive_organizations_and_deals_exports_load_through_the_preset(landing):
    mapping_path = _install(landing, "pipedrive.yml")
    _drop(landing, "crm", "pipedrive", "organizations-2026-11-30.csv")
    _drop(landing, "crm", "pipedrive", "deals-2026-11-30.csv")

    _ingest(landing, "crm", "accounts", mapping_path, (3, 3, 0))
    assert landing.rows(
        "select account_id, account_name, owner, created_date, status from raw.crm__accounts order by account_id"
    ) == [
        ("7", "Alpha Oy", "Maija Myyjä", dt.date(2025, 3, 4), "active"),
        ("8", "Beta Ab", "Pekka Myyjä", dt.date(2020, 12, 31), "active"),
        ("9", "Gamma Oy", "Maija Myyjä", dt.date(2026, 11, 29), "active"),
    ]

    _ingest(landing, "crm", "opportunities", mapping_path, (4, 3, 1))
    assert landing.rows(
        "select opportunity_id, account_id, created_date, close_date, stage, amount_eur, lost_reason "
        "from raw.crm__opportunities order by opportunity_id"
    ) == [
        ("31", "7", dt.date(2025, 9, 1), dt.date(2025, 12, 15), "won", Decimal("15000.00"), None),
        ("32", "8", dt.date(2026, 2, 10), dt.date(2026, 4, 30), "lost", Decimal("4200.50"), "Kilpailija halvempi"),
        ("33", "9", dt.date(2026, 11, 29), dt.date(2027, 2, 28), "open", Decimal("2500.00"), None),
    ]
    assert _quarantine(landing, "crm/deals-2026-11-30.csv") == [(4, "stage", "isin", "Deleted")]


# --- Qualtrics --------------------------------------------------------------------------------------


def test_qualtrics_responses_with_three_header_rows_load_through_the_preset(landing):
    mapping_path = _install(landing, "qualtrics.yml")
    _drop(landing, "survey", "qualtrics", "qualtrics-2026-11-30.csv")

    outcome = _ingest(landing, "survey", "responses", mapping_path, (4, 3, 1))
    assert outcome.detected["rows_after_header_skipped"] == "2"
    assert landing.rows(
        "select response_id, survey_id, survey_type, account_id, contact_id, response_date, nps, "
        "driver_service_quality, driver_product_quality, comment from raw.survey__responses order by response_id"
    ) == [
        (
            "R_1a2B3c4D5e6F7g8",
            "TODO-survey-id",
            "relationship",
            "A001",
            "C0001",
            dt.date(2026, 11, 29),
            10,
            9,
            8,
            "Nopea toimitus, kiitos!",
        ),
        (
            "R_2b3C4d5E6f7G8h9",
            "TODO-survey-id",
            "relationship",
            "A002",
            "C0002",
            dt.date(2026, 11, 30),
            6,
            4,
            None,
            None,
        ),
        ("R_3c4D5e6F7g8H9i0", "TODO-survey-id", "relationship", "A003", None, dt.date(2026, 11, 30), 0, 2, 3, None),
    ]
    # The unfinished response has no score: quarantined at its line under the three header rows.
    assert _quarantine(landing, "survey/qualtrics-2026-11-30.csv") == [(6, "nps", "not_nullable", None)]


# --- Webropol ---------------------------------------------------------------------------------------

WEBROPOL_NPS = "Kuinka todennäköisesti suosittelisitte meitä kollegallenne?"
WEBROPOL_SWITCH = "Harkitsetteko toimittajan vaihtamista?"


def _webropol_workbook(path: Path) -> Path:
    import xlsxwriter

    path.parent.mkdir(parents=True, exist_ok=True)
    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet("Vastaukset")
    stamp = workbook.add_format({"num_format": "d.m.yyyy h:mm"})
    header = ["Vastaustunnus", "Vastausaika", "Asiakasnumero", WEBROPOL_NPS, WEBROPOL_SWITCH]
    sheet.write_row(0, 0, [*header, "Palvelun laatu", "Avoin palaute"])
    sheet.write_row(1, 0, ["1001", "29.11.2026 14:05", "A001", "10 - Erittäin todennäköisesti"])
    sheet.write_row(1, 4, ["0 - En lainkaan", "9", "Hyvää palvelua"])
    sheet.write_row(2, 0, ["1002"])
    sheet.write_datetime(2, 1, dt.datetime(2026, 11, 30, 8, 0), stamp)
    sheet.write_row(2, 2, ["A002", "6", "7 - Melko todennäköisesti", "4 - Huono"])
    sheet.write_row(3, 0, ["1003", "30.11.2026 09:12", "A003", "En osaa sanoa", "", "8"])
    workbook.close()
    return path


def test_webropol_excel_responses_with_labelled_scale_points_load_through_the_preset(landing):
    mapping_path = _install(landing, "webropol.yml")
    path = _webropol_workbook(landing.landing / "survey" / "Vastaukset_2026-11-30.xlsx")

    _ingest(landing, "survey", "responses", mapping_path, (3, 2, 1))
    assert landing.rows(
        "select response_id, survey_id, account_id, response_date, nps, considering_alternatives, "
        "driver_service_quality, comment from raw.survey__responses order by response_id"
    ) == [
        ("1001", "TODO-survey-id", "A001", dt.date(2026, 11, 29), 10, 0, 9, "Hyvää palvelua"),
        ("1002", "TODO-survey-id", "A002", dt.date(2026, 11, 30), 6, 7, 4, None),
    ]
    # "Don't know" is no point of the scale: quarantined as written.
    assert _quarantine(landing, f"survey/{path.name}") == [(3, "nps", "dtype", "En osaa sanoa")]


# --- Netvisor ---------------------------------------------------------------------------------------


def test_netvisor_invoice_lines_with_decimal_commas_load_through_the_preset(landing):
    mapping_path = _install(landing, "netvisor.yml")
    _drop(landing, "finance", "netvisor", "Myyntilaskurivit_2026-11-30.csv")

    outcome = _ingest(landing, "finance", "invoice_lines", mapping_path, (5, 4, 1))
    assert outcome.detected["delimiter"] == ";" and outcome.detected["decimal_separator"] == "comma"
    assert landing.rows(
        "select invoice_id, line_no, account_id, invoice_date, due_date, product_line, net_amount_eur "
        "from raw.finance__invoice_lines order by invoice_id, line_no"
    ) == [
        ("1001", 1, "A001", dt.date(2026, 11, 15), dt.date(2026, 11, 29), "Palvelut", Decimal("1234.56")),
        ("1001", 2, "A001", dt.date(2026, 11, 15), dt.date(2026, 11, 29), "Tuotteet", Decimal("99.90")),
        ("1002", 1, "A002", dt.date(2026, 11, 20), dt.date(2026, 12, 4), "Ohjelmistot", Decimal("12000.00")),
        ("1003", 1, "A001", dt.date(2026, 11, 25), dt.date(2026, 11, 25), "Palvelut", Decimal("-150.00")),
    ]
    # An invoice dated after the extract cannot be a fact yet.
    assert _quarantine(landing, "finance/Myyntilaskurivit_2026-11-30.csv") == [
        (5, "invoice_date", "not_after_extract_date", "1.12.2026")
    ]


# --- pipeline inspect on the samples ----------------------------------------------------------------

INSPECTED = [
    ("crm", "salesforce", "Account_2026-11-30.csv", "accounts"),
    ("crm", "salesforce", "Contact_2026-11-30.csv", "contacts"),
    ("crm", "salesforce", "Opportunity_2026-11-30.csv", "opportunities"),
    ("crm", "salesforce", "Task_2026-11-30.csv", "activities"),
    ("crm", "hubspot", "companies-export-2026-11-30.csv", "accounts"),
    ("crm", "hubspot", "deals-export-2026-11-30.csv", "opportunities"),
    ("crm", "pipedrive", "organizations-2026-11-30.csv", "accounts"),
    ("crm", "pipedrive", "deals-2026-11-30.csv", "opportunities"),
    ("survey", "qualtrics", "qualtrics-2026-11-30.csv", "responses"),
    ("finance", "netvisor", "Myyntilaskurivit_2026-11-30.csv", "invoice_lines"),
]
# Salesforce's bare "ID" header names no entity, and Dynamics contacts have no contact id column but the
# hidden GUID: for those, the object in the file name (Contact_, "Active Contacts") decides.


@pytest.mark.parametrize(("source", "system", "name", "entity"), INSPECTED, ids=[c[2] for c in INSPECTED])
def test_inspect_guesses_the_entity_of_each_csv_sample(landing, source, system, name, entity):
    path = _drop(landing, source, system, name)
    assert _guessed(path) == (source, entity)


def _webropol_sample(landing) -> Path:
    return _webropol_workbook(landing.landing / "survey" / "Vastaukset_2026-11-30.xlsx")


def _dynamics_accounts_sample(landing) -> Path:
    return _dynamics_workbook(
        landing.landing / "crm" / "Active Accounts 11-30-2026 10-22-15 AM.xlsx",
        "Account",
        ["Account Name", "Account Number", "Created On", "Status"],
        [["g1", "c1", dt.datetime(2026, 11, 1), "Alfa Oy", "A1", dt.datetime(2021, 5, 1), "Active"]],
    )


def _dynamics_contacts_sample(landing) -> Path:
    return _dynamics_workbook(
        landing.landing / "crm" / "Active Contacts 11-30-2026 10-25-40 AM.xlsx",
        "Contact",
        ["Full Name", "Account Number (Company Name) (Account)", "Email", "Status", "Created On"],
        [["g2", "c2", dt.datetime(2026, 11, 1), "Maija Mäkinen", "A1", "m@x.fi", "Active", dt.datetime(2024, 3, 6)]],
    )


XLSX_INSPECTED = [
    (_webropol_sample, "Vastaukset_2026-11-30.xlsx", ("survey", "responses")),
    (_dynamics_accounts_sample, "Active Accounts 11-30-2026 10-22-15 AM.xlsx", ("crm", "accounts")),
    (_dynamics_contacts_sample, "Active Contacts 11-30-2026 10-25-40 AM.xlsx", ("crm", "contacts")),
]


@pytest.mark.parametrize(("build", "name", "expected"), XLSX_INSPECTED, ids=[c[1] for c in XLSX_INSPECTED])
def test_inspect_guesses_the_entity_of_each_xlsx_sample(landing, build, name, expected):
    path = build(landing)
    assert path.name == name
    assert _guessed(path) == expected
