"""`pipeline inspect`: the header read, the contract columns proposed, and a draft that loads as a run would."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import yaml

from pipeline.cli import main
from pipeline.ingest.inspection import inspect_file
from pipeline.ingest.mapping import parse_mapping


def _write(path: Path, rows: list[list[str]], delimiter: str = ";", first_line: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        handle.write(first_line)
        csv.writer(handle, delimiter=delimiter, lineterminator="\n").writerows(rows)
    return path


def test_a_hubspot_export_is_recognised_and_its_draft_loads_what_it_can(tmp_path):
    path = _write(
        tmp_path / "crm" / "companies-export-2026-11-30.csv",
        [
            ["Record ID", "Company name", "Y-tunnus", "Create Date", "Lifecycle Stage", "Annual Revenue"],
            ["101", "Pohjolan Kuljetus Oy", "0737546-2", "2024-03-05 10:22", "Customer", "1 234,56 €"],
            ["102", "Örn & Åberg Ab", "", "2019-12-31 08:00", "Former customer", "12 000 €"],
            ["103", "Kesken Oy", "", "2025-01-02 00:00", "Lead", "500 €"],
        ],
        first_line="sep=;\n",
    )

    inspection = inspect_file(path, system="HubSpot")

    assert (inspection.source, inspection.entity) == ("crm", "accounts")
    assert inspection.detected["excel_separator_line"] is True
    assert inspection.extract_date == dt.date(2026, 11, 30)
    chosen = {p.column: p.chosen for p in inspection.proposals if p.chosen}
    assert chosen == {
        "account_id": "Record ID",
        "account_name": "Company name",
        "business_id": "Y-tunnus",
        "created_date": "Create Date",
        "status": "Lifecycle Stage",
        "estimated_annual_potential_eur": "Annual Revenue",
    }
    by_column = {p.column: p for p in inspection.proposals}
    assert by_column["created_date"].options == {"date_format": "%Y-%m-%d %H:%M"}
    assert by_column["status"].options == {"values": {"Customer": "active", "Former customer": "closed"}}
    assert by_column["status"].unmapped_values == ["Lead"]
    assert by_column["estimated_annual_potential_eur"].options == {"strip": ["€"]}
    # The draft is a valid mapping; the trial load is the real loader's verdict on it.
    mapping = parse_mapping(inspection.draft, "draft")
    assert mapping.files[0].match == ("companies-export-*.csv",)
    assert (inspection.rows_read, inspection.rows_loaded, inspection.rows_quarantined) == (3, 2, 1)
    assert inspection.quarantine == [("status", "isin", 1, "Lead")]
    assert "# Lead: TODO one of active, closed" in inspection.draft


def test_a_finnish_invoice_export_is_guessed_from_its_header_alone(tmp_path):
    path = _write(
        tmp_path / "Laskurivit 30.11.2026.csv",
        [
            ["Laskunumero", "Rivi", "Asiakasnumero", "Laskupäivä", "Eräpäivä", "Tuoteryhmä", "Veroton summa"],
            ["L-1", "1", "A001", "15.11.2026", "29.11.2026", "Huolto", "1 234,50"],
            ["L-1", "2", "A001", "15.11.2026", "29.11.2026", "Varaosat", "-34,50"],
        ],
    )

    inspection = inspect_file(path)

    assert (inspection.source, inspection.entity) == ("finance", "invoice_lines")
    assert {p.column: p.chosen for p in inspection.proposals if p.required} == {
        "invoice_id": "Laskunumero",
        "line_no": "Rivi",
        "account_id": "Asiakasnumero",
        "invoice_date": "Laskupäivä",
        "net_amount_eur": "Veroton summa",
    }
    assert inspection.load_error is None
    assert (inspection.rows_read, inspection.rows_loaded, inspection.rows_quarantined) == (2, 2, 0)


def test_labelled_scale_points_are_proposed_for_parsing(tmp_path):
    path = _write(
        tmp_path / "survey" / "responses_20261130.csv",
        [
            ["Vastaus ID", "Kysely", "Asiakasnumero", "Vastattu", "Suosittelu"],
            ["R1", "S1", "A1", "2026-11-29", "10 - Erittäin todennäköisesti"],
            ["R2", "S1", "A2", "2026-11-30", "3 - Epätodennäköisesti"],
        ],
        delimiter=",",
    )

    inspection = inspect_file(path)

    nps = next(p for p in inspection.proposals if p.column == "nps")
    assert (nps.chosen, nps.options) == ("Suosittelu", {"scale_labels": True})
    assert (inspection.rows_loaded, inspection.rows_quarantined) == (2, 0)


def test_the_inspect_command_prints_the_proposal_and_writes_the_draft(tmp_path, capsys):
    path = _write(
        tmp_path / "finance" / "maksut_20261130.csv",
        [["Laskunumero", "Maksupäivä", "Maksettu"], ["L-1", "20.11.2026", "1 200,00 €"]],
    )
    draft = tmp_path / "draft.yml"

    assert main(["inspect", str(path), "--entity", "payments", "--draft", str(draft), "--system", "Netvisor"]) == 0

    printed = capsys.readouterr().out
    assert "Entity: finance/payments" in printed
    assert "1 rows read, 1 would load, 0 would be quarantined" in printed
    written = yaml.safe_load(draft.read_text())
    assert written["system"] == "Netvisor"
    assert written["files"][0]["columns"]["amount_eur"] == {"from": "Maksettu", "strip": ["€"]}
    mapping = parse_mapping(draft.read_text(), "draft")
    assert mapping.files[0].columns["paid_date"].source == "Maksupäivä"


def test_an_edited_mapping_is_checked_against_the_export_it_should_read(tmp_path, capsys):
    export = _write(
        tmp_path / "crm" / "companies-export-2026-11-30.csv",
        [
            ["Record ID", "Company name", "Create Date", "Lifecycle Stage"],
            ["101", "Alfa Oy", "2024-03-05 10:22", "Customer"],
            ["102", "Beta Oy", "2024-03-06 11:00", "Lead"],
        ],
    )
    mapping = tmp_path / "hubspot.yml"
    mapping.write_text(
        "system: HubSpot\nsource: crm\nfiles:\n  - match: companies-export-*.csv\n    entity: accounts\n"
        "    columns:\n      account_id: Record ID\n      account_name: Company name\n"
        '      created_date: {from: Create Date, date_format: "%Y-%m-%d %H:%M"}\n'
        "      status: {from: Lifecycle Stage, values: {Customer: active}}\n"
    )

    assert main(["inspect", str(export), "--mapping", str(mapping)]) == 0
    printed = capsys.readouterr().out
    assert f"Trial load through {mapping}: 2 rows read, 1 would load, 1 would be quarantined" in printed
    assert "status isin: 1 row(s), e.g. 'Lead'" in printed
    assert not list(tmp_path.glob("mapping-draft-*"))  # a check writes no draft

    mapping.write_text(mapping.read_text().replace("entity: accounts", "entity: acounts"))
    assert main(["inspect", str(export), "--mapping", str(mapping)]) == 1
    assert f"{mapping}, line 5: crm has no entity 'acounts'" in capsys.readouterr().err

    other = _write(tmp_path / "crm" / "deals-2026-11-30.csv", [["Deal ID"], ["1"]])
    mapping.write_text(mapping.read_text().replace("entity: acounts", "entity: accounts"))
    assert main(["inspect", str(other), "--mapping", str(mapping)]) == 1
    assert "no rule of" in capsys.readouterr().err
