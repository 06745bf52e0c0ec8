"""Source mappings: real exports, named and laid out as their systems write them, load with exact values.

Each file here is written by hand the way the system exports it (names, headers, value spellings,
separators); the mapping beside it is what a data engineer would write, and the assertions are the values
the warehouse must hold afterwards, the quarantine, the row accounting and the ledger.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import textwrap
from decimal import Decimal
from pathlib import Path

import pytest

from pipeline.ingest.landing import LandingFileNameError, extract_date_from_name
from pipeline.ingest.mapping import MappingError, parse_mapping
from pipeline.ingest.readers import UnreadableFileError

HUBSPOT_COMPANIES = """
    system: HubSpot
    source: crm
    files:
      - match: companies-export-*.csv
        entity: accounts
        drop_columns: ["(Do Not Modify)*"]
        columns:
          account_id: Record ID
          account_name: Company name
          business_id: Y-tunnus
          created_date: {from: Create Date, date_format: "%Y-%m-%d %H:%M"}
          status: {from: Lifecycle Stage, values: {Customer: active, Former customer: closed}}
          estimated_annual_potential_eur: {from: Annual Revenue, strip: ["€", "EUR"]}
          country: {constant: FI}
    """


HUBSPOT_HEADER = ["Record ID", "Company name", "Y-tunnus", "Create Date", "Lifecycle Stage", "Annual Revenue"]


def _accounts(landing) -> list[tuple]:
    return landing.rows(
        "select account_id, account_name, business_id, created_date, status, estimated_annual_potential_eur, "
        "country from raw.crm__accounts order by account_id"
    )


def test_a_hubspot_companies_export_loads_through_its_mapping_with_exact_values(landing):
    mapping_path = landing.write_mapping("hubspot.yml", HUBSPOT_COMPANIES)
    landing.write_csv(
        "crm/companies-export-2026-11-30.csv",
        [
            [*HUBSPOT_HEADER, "Industry", "(Do Not Modify) Row Checksum"],
            ["101", "Pohjolan Kuljetus Oy", "0737546-2", "2024-03-05 10:22", "Customer", "1 234,56 €", "IT", "x1"],
            ["102", "Örn & Åberg Ab", "", "2019-12-31 08:00", "Former customer", "12 000 EUR", "Retail", "x2"],
            ["103", "Kesken Oy", "", "2025-01-02 00:00", "Lead", "500", "", "x3"],
        ],
        delimiter=";",
    )

    result = landing.ingest("crm", "accounts", max_quarantine_share=1.0)

    outcome = result.loaded[0]
    assert (outcome.rows_read, outcome.rows_loaded, outcome.rows_quarantined) == (3, 2, 1)
    assert outcome.extract_date == "2026-11-30"
    assert _accounts(landing) == [
        ("101", "Pohjolan Kuljetus Oy", "0737546-2", dt.date(2024, 3, 5), "active", Decimal("1234.56"), "FI"),
        ("102", "Örn & Åberg Ab", None, dt.date(2019, 12, 31), "closed", Decimal("12000.00"), "FI"),
    ]
    # A lifecycle stage the map does not list is quarantined with the value as the export had it.
    assert landing.quarantine() == [("crm/companies-export-2026-11-30.csv", 3, "status", "isin", "Lead")]
    # Columns the mapping does not use are kept; the dropped ones are not.
    columns = {row[0] for row in landing.rows("describe raw.crm__accounts")}
    assert "industry" in columns and not any("do_not_modify" in c for c in columns)
    mapping, sha, detected = landing.rows("select mapping, mapping_sha256, detected from meta.ingest_ledger")[0]
    assert mapping == str(mapping_path)
    assert sha == hashlib.sha256(mapping_path.read_bytes()).hexdigest()
    assert json.loads(detected)["mapping"] == "hubspot.yml"
    assert json.loads(detected)["dropped_columns"] == "(do_not_modify)_row_checksum"


def test_a_survey_export_with_labelled_scale_points_and_extra_header_rows(landing):
    landing.write_mapping(
        "webropol.yml",
        """
        system: Webropol
        source: survey
        files:
          - match: "Vastaukset *.csv"
            entity: responses
            rows_after_header: 2   # the question texts and the tool's import ids
            columns:
              response_id: Vastaus ID
              survey_id: {constant: NPS-2026}
              account_id: Asiakasnumero
              response_date: {from: Vastattu, date_format: "%d.%m.%Y %H:%M"}
              nps: {from: Suosittelu, scale_labels: true}
              considering_alternatives: {from: Harkitsetteko vaihtoa, scale_labels: true}
              driver_service_quality: {from: Palvelun laatu, scale_labels: true}
        """,
    )
    landing.write_csv(
        "survey/Vastaukset 30.11.2026.csv",
        [
            ["Vastaus ID", "Asiakasnumero", "Vastattu", "Suosittelu", "Harkitsetteko vaihtoa", "Palvelun laatu"],
            ["", "", "", "Kuinka todennäköisesti suosittelisitte meitä?", "Harkitsetteko?", "Laatu"],
            ["{ImportId}", "{ImportId}", "{ImportId}", "{QID1}", "{QID2}", "{QID3}"],
            ["R1", "A001", "29.11.2026 14:05", "10 - Erittäin todennäköisesti", "0 - Ei lainkaan", "9"],
            ["R2", "A002", "30.11.2026 08:00", "6", "7 – Melko todennäköisesti", "4 - Huono"],
            ["R3", "A003", "30.11.2026 09:00", "Erittäin todennäköisesti", "", ""],
        ],
    )

    result = landing.ingest("survey", "responses", max_quarantine_share=1.0)

    outcome = result.loaded[0]
    assert (outcome.rows_read, outcome.rows_loaded, outcome.rows_quarantined) == (3, 2, 1)
    assert landing.rows(
        "select response_id, survey_id, account_id, response_date, nps, considering_alternatives, "
        "driver_service_quality from raw.survey__responses order by response_id"
    ) == [
        ("R1", "NPS-2026", "A001", dt.date(2026, 11, 29), 10, 0, 9),
        ("R2", "NPS-2026", "A002", dt.date(2026, 11, 30), 6, 7, 4),
    ]
    # A label without its scale point is not a number: quarantined, shown as written, at its data row.
    assert landing.quarantine() == [
        ("survey/Vastaukset 30.11.2026.csv", 5, "nps", "dtype", "Erittäin todennäköisesti"),
    ]


def test_status_derived_from_a_closed_date_and_us_dates(landing):
    landing.write_mapping(
        "pipedrive.yml",
        """
        system: Pipedrive
        source: crm
        files:
          - match: organizations-*.csv
            entity: accounts
            columns:
              account_id: ID
              account_name: Name
              created_date: {from: Organization created, date_format: "%m/%d/%Y"}
              closed_date: {from: Closed on, date_format: "%m/%d/%Y"}
              status: {from: Closed on, when_present: closed, when_empty: active}
        """,
    )
    landing.write_csv(
        "crm/organizations-20261130.csv",
        [
            ["ID", "Name", "Organization created", "Closed on"],
            ["7", "Alpha Oy", "03/04/2025", ""],
            ["8", "Beta Ab", "12/31/2020", "11/02/2026"],
        ],
    )

    landing.ingest("crm", "accounts")

    assert landing.rows("select account_id, created_date, status, closed_date from raw.crm__accounts order by 1") == [
        ("7", dt.date(2025, 3, 4), "active", None),
        ("8", dt.date(2020, 12, 31), "closed", dt.date(2026, 11, 2)),
    ]


def test_booleans_in_finnish_swedish_and_english_without_a_mapping(landing):
    rows = [["contact_id", "account_id", "is_active"]]
    words = {"kyllä": True, "EI": False, "ja": True, "nej": False, "Yes": True, "false": False, "tosi": True}
    rows += [[f"C{i}", "A001", word] for i, word in enumerate(words)]
    landing.write_csv("crm/contacts_20261130.csv", rows)

    landing.ingest("crm", "contacts")

    loaded = landing.rows("select is_active from raw.crm__contacts order by _row_number")
    assert [value for (value,) in loaded] == list(words.values())


def test_two_concatenated_exports_load_without_the_repeated_header(landing):
    header = ["contact_id", "account_id", "role"]
    landing.write_csv(
        "crm/contacts_20261130.csv",
        [
            header,
            ["C1", "A001", "user"],
            ["C2", "A001", "other"],
            ["Contact ID", " Account_ID", "ROLE"],  # the second export's header
            ["C3", "A2", ""],
        ],
    )

    result = landing.ingest("crm", "contacts")

    outcome = result.loaded[0]
    assert (outcome.rows_read, outcome.rows_loaded, outcome.rows_quarantined) == (3, 3, 0)
    assert outcome.detected["repeated_header_rows"] == "1"
    assert landing.rows("select contact_id, _row_number from raw.crm__contacts order by 2") == [
        ("C1", 1),
        ("C2", 2),
        ("C3", 4),
    ]
    assert landing.quarantine() == []


def test_a_required_column_the_export_lacks_fails_naming_it_and_the_closest_columns(landing):
    landing.write_mapping("hubspot.yml", HUBSPOT_COMPANIES)
    landing.write_csv(
        "crm/companies-export-20261130.csv",
        [["Record ID", "Company", "Create Date", "Lifecycle Stage"], ["1", "A Oy", "2024-01-01 00:00", "Customer"]],
    )

    with pytest.raises(UnreadableFileError) as raised:
        landing.ingest("crm", "accounts")

    message = str(raised.value)
    assert "companies-export-20261130.csv" in message
    assert "account_name from 'Company name'" in message and "closest: company" in message
    assert landing.rows("select status from meta.ingest_ledger") == [("failed",)]


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        ("system: X\nsource: crm\nfiles:\n  - match: a*.csv\n    entity: acounts\n", 5, "no entity 'acounts'"),
        (
            "system: X\nsource: crm\nfiles:\n  - match: a*.csv\n    entity: accounts\n    columns:\n"
            "      account_id: ID\n      acount_name: Name\n",
            8,
            "did you mean account_name",
        ),
        (
            "system: X\nsource: crm\nfiles:\n  - match: a*.csv\n    entity: opportunities\n    columns:\n"
            "      stage: {from: Stage, values: {Closed Won: won, Negotiation: pending}}\n",
            7,
            "'pending' is not one of stage's values: open, won, lost",
        ),
        (
            "system: X\nsource: crm\nfiles:\n  - match: a*.csv\n    entity: accounts\n    header_row: 0\n",
            6,
            "header_row",
        ),
        ("system: X\nsource: erp\nfiles: []\n", 2, "source"),
        ("system: X\nsource: crm\nfiles:\n  - match: [a*.csv\n", 5, "not valid YAML"),
        (
            "system: X\nsource: crm\nfiles:\n  - match: a*.csv\n    entity: accounts\n    columns:\n"
            "      country: {from: Maa, constant: FI}\n",
            7,
            "exactly one of `from`",
        ),
    ],
)
def test_an_invalid_mapping_file_names_the_file_the_line_and_the_problem(text, line, problem):
    with pytest.raises(MappingError) as raised:
        parse_mapping(text, "mappings/x.yml")
    assert raised.value.line == line, str(raised.value)
    assert problem in str(raised.value)
    assert str(raised.value).startswith(f"mappings/x.yml, line {line}: ")


def test_an_invalid_mapping_fails_the_ingest_of_its_source(landing):
    landing.write_mapping("broken.yml", "system: X\nsource: crm\nfiles:\n  - match: a*.csv\n    entity: acounts\n")
    with pytest.raises(MappingError, match=r"broken\.yml, line 5"):
        landing.ingest("crm", "accounts")


def test_a_file_read_by_a_changed_mapping_gets_a_note_in_the_ledger(landing):
    landing.write_mapping("hubspot.yml", HUBSPOT_COMPANIES)
    row = ["1", "A Oy", "", "2024-01-01 00:00", "Customer", "10"]
    header = HUBSPOT_HEADER
    landing.write_csv("crm/companies-export-20261129.csv", [header, row])
    landing.ingest("crm", "accounts")
    landing.write_mapping("hubspot.yml", HUBSPOT_COMPANIES.replace("Former customer: closed", "Ex-customer: closed"))
    landing.write_csv("crm/companies-export-20261130.csv", [header, row])
    landing.ingest("crm", "accounts")

    notes = landing.rows("select file, message from meta.ingest_ledger order by processed_at")
    assert notes[0] == ("crm/companies-export-20261129.csv", None)
    assert notes[1][0] == "crm/companies-export-20261130.csv"
    assert "the previous load (crm/companies-export-20261129.csv) was read with" in notes[1][1]


def test_a_mapped_file_without_a_date_in_its_name_is_refused_unless_the_mapping_says_modified(landing):
    landing.write_mapping("hubspot.yml", HUBSPOT_COMPANIES)
    landing.write_csv("crm/companies-export-latest.csv", [["Record ID"], ["1"]])
    with pytest.raises(LandingFileNameError, match="no date"):
        landing.ingest("crm", "accounts")


def test_an_xlsx_export_with_a_title_row_hidden_columns_and_a_named_sheet(landing, tmp_path):
    import xlsxwriter

    path = landing.landing / "crm" / "Asiakkaat_30.11.2026.xlsx"
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook = xlsxwriter.Workbook(str(path))
    workbook.add_worksheet("Ohje").write_row(0, 0, ["Tämä välilehti ei ole dataa"])
    sheet = workbook.add_worksheet("Asiakkaat")
    date_format = workbook.add_format({"num_format": "d.m.yyyy"})
    sheet.write_row(0, 0, ["Asiakasrekisteri 30.11.2026"])
    sheet.write_row(1, 0, ["(Do Not Modify) Account", "(Do Not Modify) Row Checksum", "Asiakasnumero", "Nimi"])
    sheet.write(1, 4, "Perustettu")
    sheet.write_row(2, 0, ["guid-1", "abc", "A1", "Alfa Oy"])
    sheet.write_datetime(2, 4, dt.datetime(2021, 5, 1), date_format)
    sheet.write_row(3, 0, ["guid-2", "def", "A2", "Beta Oy", "1.6.2022"])
    workbook.close()
    landing.write_mapping(
        "dynamics.yml",
        """
        system: Microsoft Dynamics 365
        source: crm
        files:
          - match: Asiakkaat_*.xlsx
            entity: accounts
            sheet: Asiakkaat
            header_row: 2
            drop_columns: ["(Do Not Modify) *"]
            columns:
              account_id: Asiakasnumero
              account_name: Nimi
              created_date: Perustettu
              status: {constant: active}
        """,
    )

    result = landing.ingest("crm", "accounts")

    assert result.loaded[0].extract_date == "2026-11-30"
    assert landing.rows("select account_id, account_name, created_date, status, _sheet from raw.crm__accounts") == [
        ("A1", "Alfa Oy", dt.date(2021, 5, 1), "active", "Asiakkaat"),
        ("A2", "Beta Oy", dt.date(2022, 6, 1), "active", "Asiakkaat"),
    ]
    columns = {row[0] for row in landing.rows("describe raw.crm__accounts")}
    assert not any("do_not_modify" in c for c in columns)


def test_the_readme_worked_example_loads_as_the_readme_says(landing):
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    after = readme.split("The draft, once its TODO", 1)[1]
    example = after.split("```yaml\n", 1)[1].split("```", 1)[0]
    landing.write_mapping("hubspot.yml", example)
    landing.write_bytes(
        "crm/companies-export-2026-11-30.csv",
        "sep=;\n"
        "Record ID;Company name;Y-tunnus;Create Date;Lifecycle Stage;Annual Revenue;Industry\n"
        "101;Pohjolan Kuljetus Oy;0737546-2;2024-03-05 10:22;Customer;1 234,56 €;IT\n"
        "102;Örn & Åberg Ab;;2019-12-31 08:00;Former customer;12 000 €;Retail\n"
        "103;Kesken Oy;;2025-01-02 00:00;Lead;500 €;\n".encode(),
    )

    result = landing.ingest("crm", "accounts")

    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (3, 3, 0)
    assert landing.rows("select account_id, status, estimated_annual_potential_eur from raw.crm__accounts") == [
        ("101", "active", Decimal("1234.56")),
        ("102", "closed", Decimal("12000.00")),
        ("103", "active", Decimal("500.00")),
    ]


def test_the_ingest_asset_reads_the_mappings_folder_the_settings_name(tmp_path):
    """Wired as production wires it: Settings -> resources -> the Dagster asset -> the mapping."""
    import dagster as dg

    from assets.ingest import build_ingest_asset
    from pipeline.config import Settings
    from pipeline.contract import contract_for
    from pipeline.resources import resources_from

    settings = Settings.from_env({"PIPELINE_HOME": str(tmp_path), "PIPELINE_MAPPINGS_DIR": str(tmp_path / "maps")})
    assert Settings.from_env({"PIPELINE_HOME": str(tmp_path)}).mappings_dir == tmp_path / "landing" / "mappings"
    (tmp_path / "maps").mkdir()
    (tmp_path / "maps" / "hubspot.yml").write_text(textwrap.dedent(HUBSPOT_COMPANIES))
    (tmp_path / "landing" / "crm").mkdir(parents=True)
    (tmp_path / "landing" / "crm" / "companies-export-20261130.csv").write_text(
        ";".join(HUBSPOT_HEADER) + "\n1;A Oy;;2024-01-01 00:00;Customer;10\n", encoding="utf-8"
    )
    resources = resources_from(settings)
    result = dg.materialize(
        [build_ingest_asset(contract_for("crm", "accounts"))],
        resources={"warehouse": resources["warehouse"], "landing_zone": resources["landing_zone"]},
    )

    assert result.success
    materialization = result.asset_materializations_for_node("raw__crm__accounts")[0]
    assert materialization.metadata["rows_loaded"].value == 1


@pytest.mark.parametrize(
    ("name", "layout", "expected"),
    [
        ("Active Accounts 11-30-2026 10-22-15 AM.xlsx", "%m-%d-%Y", dt.date(2026, 11, 30)),
        ("Laskut 30.11.2026.csv", None, dt.date(2026, 11, 30)),
        ("export_2026_11_30_v2.csv", None, dt.date(2026, 11, 30)),
        ("report-20261130-1.csv", None, dt.date(2026, 11, 30)),
        ("sales 30-Nov-26.csv", "%d-%b-%y", dt.date(2026, 11, 30)),
        ("Active Accounts 13-30-2026.xlsx", "%m-%d-%Y", None),  # no 13th month: no date, never a guess
        ("deals-1234567-8.csv", None, None),
    ],
)
def test_the_extract_date_in_a_file_name(name, layout, expected):
    assert extract_date_from_name(name, layout) == expected
