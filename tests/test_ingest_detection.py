"""Every export dialect loads the same values without the user saying which dialect it is."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

import pytest

from pipeline.ingest.readers import UnreadableFileError
from tests.conftest import ACCOUNT_HEADER, account_row

ENCODINGS = ["utf-8", "utf-8-sig", "cp1252"]
DELIMITERS = [",", ";", "\t", "|"]
DECIMALS = ["point", "comma"]
NEWLINES = ["\n", "\r\n"]


def _amount(text: str, decimal: str) -> str:
    return text.replace(".", ",") if decimal == "comma" else text


@pytest.mark.parametrize(
    ("encoding", "delimiter", "decimal", "newline"), list(itertools.product(ENCODINGS, DELIMITERS, DECIMALS, NEWLINES))
)
def test_every_dialect_loads_the_same_values(landing, encoding, delimiter, decimal, newline):
    rows = [
        [*ACCOUNT_HEADER, "notes"],
        [
            *account_row("A001", estimated_annual_potential_eur=_amount("1234.5", decimal)),
            f"Tapaaminen: hinta 5{delimiter}0 €\nseuraava „askel” – sopimus",
        ],
        [
            *account_row(
                "A002",
                account_name="Örn & Åberg Ab",
                estimated_annual_potential_eur=_amount("-0.75", decimal),
                created_date="3.2.2021",
            ),
            "",
        ],
        [
            *account_row(
                "A003",
                account_name='Pohjolan "Kuljetus" Oy',
                estimated_annual_potential_eur="1000",
                created_date="2019-12-31",
                country="se",
                status="Closed",
            ),
            "ok",
        ],
    ]
    # A negative potential is out of range: it must be quarantined, not loaded or crashed on.
    landing.write_csv("crm/accounts_20250131.csv", rows, delimiter=delimiter, encoding=encoding, newline=newline)

    result = landing.ingest("crm", "accounts", max_quarantine_share=1.0)

    detected = result.loaded[0].detected
    assert detected["delimiter"] == delimiter
    assert detected["encoding"] == {"utf-8-sig": "utf-8-sig", "utf-8": "utf-8", "cp1252": "cp1252"}[encoding]
    assert result.rows_read == 3 and result.rows_loaded == 2 and result.rows_quarantined == 1
    loaded = landing.rows(
        "select account_id, account_name, estimated_annual_potential_eur, created_date, country, status, notes "
        "from raw.crm__accounts order by account_id"
    )
    expected_note = f"Tapaaminen: hinta 5{delimiter}0 €\nseuraava „askel” – sopimus"
    assert loaded == [
        ("A001", "Mäkinen Metalli Oy", Decimal("1234.50"), dt.date(2020, 1, 15), "FI", "active", expected_note),
        ("A003", 'Pohjolan "Kuljetus" Oy', Decimal("1000.00"), dt.date(2019, 12, 31), "SE", "closed", "ok"),
    ]
    assert landing.quarantine() == [
        ("crm/accounts_20250131.csv", 2, "estimated_annual_potential_eur", "in_range", _amount("-0.75", decimal))
    ]


@pytest.mark.parametrize(
    ("values", "decimal", "expected"),
    [
        (["1.234,56", "12,5", "7"], "comma", ["1234.56", "12.50", "7.00"]),
        (["1,234.56", "12.5", "7"], "point", ["1234.56", "12.50", "7.00"]),
        (["1 234,56", "100", "0,1"], "comma", ["1234.56", "100.00", "0.10"]),
    ],
)
def test_thousands_separators_and_the_decimal_decision(landing, values, decimal, expected):
    rows = [ACCOUNT_HEADER] + [account_row(f"A{i}", estimated_annual_potential_eur=v) for i, v in enumerate(values)]
    landing.write_csv("crm/accounts_20250131.csv", rows, delimiter=";")
    result = landing.ingest("crm", "accounts")
    assert result.loaded[0].detected["decimal_separator"] == decimal
    loaded = landing.rows("select estimated_annual_potential_eur from raw.crm__accounts order by account_id")
    assert [str(v) for (v,) in loaded] == expected


def test_mixed_decimal_separators_quarantine_the_minority_instead_of_misreading_it(landing):
    rows = [ACCOUNT_HEADER] + [account_row(f"A{i}", estimated_annual_potential_eur=f"{i},25") for i in range(1, 6)]
    rows.append(account_row("A9", estimated_annual_potential_eur="12.5"))  # point in a decimal-comma file
    landing.write_csv("crm/accounts_20250131.csv", rows, delimiter=";")
    result = landing.ingest("crm", "accounts", max_quarantine_share=1.0)
    assert result.rows_loaded == 5
    assert landing.quarantine()[0][2:] == ("estimated_annual_potential_eur", "dtype", "12.5")


def test_column_names_match_case_insensitively_and_extra_columns_are_kept(landing):
    header = [c.upper() for c in ACCOUNT_HEADER] + ["Segment Code"]
    landing.write_csv("crm/accounts_20250131.csv", [header, [*account_row(), "S1"]])
    landing.ingest("crm", "accounts")
    assert landing.rows("select account_id, segment_code from raw.crm__accounts") == [("A001", "S1")]


def test_headers_match_with_spaces_for_underscores_stray_whitespace_and_a_byte_order_mark(landing):
    """`Account Name`, ` Account ID `, a no-break space and Excel's BOM all name the contract's columns."""
    spelled = {"account_id": "\ufeff Account ID ", "account_name": "Account Name", "created_date": "Created\u00a0Date"}
    header = [spelled.get(c, c.replace("_", " ").title()) for c in ACCOUNT_HEADER]
    landing.write_csv("crm/accounts_20250131.csv", [header, account_row()], encoding="utf-8")
    result = landing.ingest("crm", "accounts")
    assert result.rows_loaded == 1
    assert landing.rows("select account_id, account_name, created_date from raw.crm__accounts") == [
        ("A001", "Mäkinen Metalli Oy", dt.date(2020, 1, 15))
    ]


def test_two_header_columns_that_read_as_the_same_contract_column_are_refused_naming_both(landing):
    from pipeline.ingest.readers import UnreadableFileError

    header = [*ACCOUNT_HEADER, "Account Name"]
    landing.write_csv("crm/accounts_20250131.csv", [header, [*account_row(), "Toinen nimi"]])
    with pytest.raises(UnreadableFileError, match="'account_name' and 'Account Name' both read as account_name"):
        landing.ingest("crm", "accounts")


@pytest.mark.parametrize("line", ["sep=;", "SEP=;", '"sep=;"'])
def test_excels_separator_line_names_the_delimiter_and_is_not_a_row(landing, line):
    """Excel writes `sep=;` as the first line (and reads the file right with it): the delimiter is the
    one it names, the header is the next line, and row numbers still count from the first row under it."""
    rows = [ACCOUNT_HEADER, account_row("A001"), [*account_row("A002"), "one field too many"], account_row("A003")]
    landing.write_bytes(
        "crm/accounts_20250131.csv",
        (line + "\r\n" + "\r\n".join(";".join(r) for r in rows) + "\r\n").encode("utf-8"),
    )
    result = landing.ingest("crm", "accounts", max_quarantine_share=1.0)
    detected = result.loaded[0].detected
    assert detected["delimiter"] == ";" and detected["excel_separator_line"] is True
    assert result.rows_read == 3 and result.rows_loaded == 2
    assert landing.rows("select account_id from raw.crm__accounts order by 1") == [("A001",), ("A003",)]
    assert [q[:2] for q in landing.quarantine()] == [("crm/accounts_20250131.csv", 2)]


def test_parquet_and_xlsx_drops_load(landing, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq
    import xlsxwriter

    lines = pa.table(
        {
            "invoice_id": ["INV1", "INV1", "INV2"],
            "line_no": [1, 2, 1],
            "account_id": ["A001", "A001", "A002"],
            "invoice_date": [dt.date(2025, 1, 5)] * 3,
            "net_amount_eur": [100.0, -20.5, 3000.25],
            "cost_amount_eur": [60.0, -10.0, 2000.0],
        }
    )
    (landing.landing / "finance").mkdir()
    pq.write_table(lines, landing.landing / "finance/invoice_lines_20250131.parquet")

    workbook = xlsxwriter.Workbook(str(landing.landing / "finance/cost_to_serve_20250331.xlsx"))
    notes = workbook.add_worksheet("Notes")
    notes.write(0, 0, "Cost to serve, Q1; prepared by controlling")
    for name, month in (("Jan", dt.date(2025, 1, 1)), ("Feb", dt.date(2025, 2, 1))):
        sheet = workbook.add_worksheet(name)
        date_format = workbook.add_format({"num_format": "yyyy-mm-dd"})
        sheet.write_row(0, 0, ["Account_ID", "Month", "Service_Cost_EUR"])
        sheet.write_row(1, 0, ["A001"])
        sheet.write_datetime(1, 1, dt.datetime.combine(month, dt.time()), date_format)
        sheet.write_number(1, 2, 125.5)
        sheet.write_row(2, 0, ["A002", "2025-02-15", 10])  # not the first day of a month
    workbook.close()

    invoices = landing.ingest("finance", "invoice_lines")
    costs = landing.ingest("finance", "cost_to_serve", max_quarantine_share=1.0)

    assert invoices.rows_loaded == 3
    assert landing.rows("select sum(net_amount_eur) from raw.finance__invoice_lines") == [(Decimal("3079.75"),)]
    assert costs.loaded[0].detected["sheets"] == "Jan, Feb"
    assert costs.loaded[0].detected["ignored_sheets"] == "Notes"
    assert landing.rows(
        "select _sheet, account_id, month, service_cost_eur from raw.finance__cost_to_serve order by 1"
    ) == [
        ("Feb", "A001", dt.date(2025, 2, 1), Decimal("125.50")),
        ("Jan", "A001", dt.date(2025, 1, 1), Decimal("125.50")),
    ]
    assert {
        (r[0], r[1], r[3])
        for r in landing.rows("select sheet, row_number, column_name, check_name from quarantine.rejected_rows")
    } == {("Jan", 2, "first_day_of_month"), ("Feb", 2, "first_day_of_month")}


def test_windows_1252_bytes_far_into_a_file_are_still_decoded_right(landing):
    # The first megabyte is plain ASCII (valid UTF-8 too); the first non-ASCII byte comes much later.
    rows = [ACCOUNT_HEADER] + [account_row(f"A{i:06d}", account_name="Plain Oy") for i in range(20_000)]
    rows.append(account_row("B000001", account_name="Mäkinen € Oy"))
    landing.write_csv("crm/accounts_20250131.csv", rows, delimiter=";", encoding="cp1252")
    assert (landing.landing / "crm/accounts_20250131.csv").stat().st_size > 1 << 20

    result = landing.ingest("crm", "accounts")

    assert result.loaded[0].detected["encoding"] == "cp1252"
    assert result.rows_quarantined == 0
    assert landing.rows("select account_name from raw.crm__accounts where account_id = 'B000001'") == [
        ("Mäkinen € Oy",)
    ]


def test_a_file_whose_line_ends_change_after_the_separator_line_is_refused_not_loaded_empty(landing):
    # DuckDB's parser returns no rows at all for this file; reporting it as loaded would lose every row.
    landing.write_bytes("crm/contacts_20250131.csv", b"sep=;\ncontact_id;account_id\r\nC1;A1\r\nC2;A2\r\n")
    with pytest.raises(UnreadableFileError, match="line ends mixed"):
        landing.ingest("crm", "contacts")


def test_iso_instants_with_a_zone_are_read_as_their_helsinki_date_and_fractions_of_seconds_parse(landing):
    rows = [["contact_id", "account_id", "created_date"]]
    rows += [
        ["C1", "A1", "2024-03-05T10:22:00.000Z"],  # Salesforce's date-time fields
        ["C2", "A1", "2025-12-31T23:30:00.000Z"],  # already New Year's Day in Helsinki
        ["C3", "A1", "2025-12-31T23:30:00+02:00"],
        ["C4", "A1", "2024-03-05T10:22:00.5"],  # no zone: the date as written
        ["C5", "A1", "2024-03-05T25:22:00Z"],  # no such hour
    ]
    landing.write_csv("crm/contacts_20260131.csv", rows)

    landing.ingest("crm", "contacts", max_quarantine_share=1.0)

    assert landing.rows("select contact_id, created_date from raw.crm__contacts order by 1") == [
        ("C1", dt.date(2024, 3, 5)),
        ("C2", dt.date(2026, 1, 1)),
        ("C3", dt.date(2025, 12, 31)),
        ("C4", dt.date(2024, 3, 5)),
    ]
    assert [row[2:] for row in landing.quarantine()] == [("created_date", "dtype", "2024-03-05T25:22:00Z")]
