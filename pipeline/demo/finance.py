"""Finance exports: invoice lines (Parquet, monthly), payments (CSV, monthly), cost to serve
(XLSX, quarterly).

Revenue
    Every account that is a customer in month t (created, not churned) is invoiced that month: its
    planted yearly size / 12, times seasonality (July is quiet), its own growth, a ramp-up in the first
    half year, ``exp(-0.55 r)`` of its risk state (buying less when at risk) and noise. So an account's
    last invoice is in the month before its churn month, and nothing is invoiced after it: silent churn is
    exactly "no invoiced revenue from the churn month on". The month's revenue is split over 1+ invoices
    of 1+ lines; product lines have their own margins (cost of goods per line).
    A few invoices get a credit note (negative lines) in the same month, never more than half a line,
    so an account's monthly net stays positive.

Corrections
    ~0.5 % of a month's lines go out with a wrong net amount and come again in the next month's file
    with the right one (same invoice_id and line_no): the later row wins. ``truth/corrections.parquet``
    lists them; payments pay the right amount.

Payments
    Most invoices are paid on time (a few days before the due date), some late (3+ days after due):
    the chance of paying late rises with the risk state. Some invoices are paid in two parts; some
    last invoices of churning accounts are never paid. A payment shows up in the drop of the month it
    was paid; payments after the history's end are not in the landing zone.

Amounts in Parquet are float64 rounded to whole cents; dates are date32.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from pipeline.demo import formats, model, vocabulary
from pipeline.demo.calendar import Calendar, month_index_of
from pipeline.demo.ledger import CorrectionLedger, DefectLedger, LandingOutput, defect_count, insert_rows
from pipeline.demo.population import Accounts, Streams

# Seasonality by calendar month: the Finnish summer holiday empties July.
SEASON = np.array([0.95, 1.0, 1.08, 1.05, 1.07, 0.98, 0.6, 0.95, 1.08, 1.1, 1.08, 0.85])
SEASON = SEASON / SEASON.mean()
REVENUE_NOISE = 0.25
RAMP_UP_MONTHS = 6
CREDIT_NOTE_SHARE = 0.008
CORRECTION_SHARE = 0.005
WRONG_AMOUNT_FACTORS = np.array([0.8, 0.9, 1.1, 1.25])
SPLIT_PAYMENT_SHARE = 0.04
UNPAID_SHARE_WHEN_CHURNING = 0.3
MARGINS = np.array([margin for _, margin in vocabulary.PRODUCT_LINES])

INVOICE_LINE_SCHEMA = pa.schema(
    [
        ("invoice_id", pa.string()),
        ("line_no", pa.int32()),
        ("account_id", pa.string()),
        ("invoice_date", pa.date32()),
        ("due_date", pa.date32()),
        ("product_line", pa.string()),
        ("net_amount_eur", pa.float64()),
        ("cost_amount_eur", pa.float64()),
    ]
)


@dataclass
class MonthActivity:
    """What month t's invoicing did per account, for cost to serve and the truth."""

    invoices: np.ndarray  # [account]
    lines: np.ndarray  # [account]
    net_revenue: np.ndarray  # [account], true amounts incl. credit notes


@dataclass
class Finance:
    streams: Streams
    calendar: Calendar
    accounts: Accounts
    account_ids: pa.Array
    output: LandingOutput
    defects: DefectLedger
    corrections: CorrectionLedger
    next_invoice_number: int = 1
    resend_next_month: pa.Table | None = None
    resend_origin_file: str = ""
    resend_first_values: list[str] = field(default_factory=list)
    pending_payments: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=list)

    def expected_revenue(self, t: int, accounts: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        a = self.accounts
        tenure = t - a.created_month[accounts]
        ramp = np.clip(0.35 + 0.65 * tenure / RAMP_UP_MONTHS, 0.35, 1.0)
        risk = np.exp(-model.REVENUE_RISK_EFFECT * a.risk_state[accounts, t] - model.REVENUE_RISK_EFFECT**2 / 2)
        noise = rng.lognormal(-(REVENUE_NOISE**2) / 2, REVENUE_NOISE, accounts.shape[0])
        season = SEASON[self.calendar.calendar_month(t) - 1]
        growth = a.growth_per_year[accounts] ** (t / 12)
        return a.size_eur[accounts] / 12 * season * growth * ramp * risk * noise

    def write_month(self, t: int) -> MonthActivity:
        a, cal = self.accounts, self.calendar
        rng = self.streams("invoices", t)
        active = a.active_in(t)
        monthly = self.expected_revenue(t, active, rng)

        # Invoices: bigger accounts get more of them, each with a few lines.
        # The planted segment's buying rhythm: price buyers order rarely and in bulk, key accounts often.
        rhythm = np.array([s.invoice_multiplier for s in model.ARCHETYPES])[a.segment[active]]
        per_account = 1 + rng.poisson(np.minimum(12.0, 0.8 * rhythm * np.sqrt(monthly / 3000)))
        inv_account_pos = np.repeat(np.arange(active.shape[0]), per_account)
        inv_account = active[inv_account_pos]
        inv_date = np.maximum(cal.random_days(rng, np.full(inv_account.shape[0], t)), a.created_date[inv_account])
        order = np.lexsort((inv_account, inv_date))
        inv_account_pos, inv_account, inv_date = inv_account_pos[order], inv_account[order], inv_date[order]
        n_inv = inv_account.shape[0]
        inv_number = self.next_invoice_number + np.arange(n_inv)
        self.next_invoice_number += n_inv
        line_mean = np.minimum(3.0, 0.6 + 0.25 * np.log1p(monthly / 1000))
        lines_per_invoice = 1 + np.minimum(rng.poisson(line_mean[inv_account_pos]), 14)
        line_invoice = np.repeat(np.arange(n_inv), lines_per_invoice)
        line_no = (
            np.arange(line_invoice.shape[0])
            - np.repeat(np.cumsum(lines_per_invoice) - lines_per_invoice, lines_per_invoice)
            + 1
        )
        line_account_pos = inv_account_pos[line_invoice]
        line_account = active[line_account_pos]
        n_lines = line_invoice.shape[0]

        # The month's revenue split over the account's lines.
        weight = rng.gamma(2.0, 1.0, n_lines)
        weight_sum = np.bincount(line_account_pos, weights=weight, minlength=active.shape[0])
        net = np.maximum(5.0, np.round(monthly[line_account_pos] * weight / weight_sum[line_account_pos], 2))
        cumulative = np.cumsum(a.product_mix[line_account], axis=1)
        product = np.minimum((rng.random(n_lines)[:, None] > cumulative).sum(axis=1), len(MARGINS) - 1)
        margin = MARGINS[product] - a.margin_discount[line_account]
        cost = np.round(net * (1 - margin) * rng.lognormal(0.0, 0.05, n_lines), 2)
        due = inv_date + a.payment_terms_days[inv_account].astype("timedelta64[D]")

        lines = {
            "number": inv_number[line_invoice],
            "line_no": line_no,
            "account": line_account,
            "date": inv_date[line_invoice],
            "due": due[line_invoice],
            "product": product,
            "net": net,
            "cost": cost,
        }
        credit = self._credit_notes(rng, t, lines, lines_per_invoice, inv_number, inv_account, inv_date)
        all_lines = {key: np.concatenate([lines[key], credit[key]]) for key in lines}

        # What this month's file says: a few lines with a wrong amount, corrected next month.
        sent_net = all_lines["net"].copy()
        corrected = np.zeros(sent_net.shape[0], dtype=bool)
        if t < cal.months - 1:
            corrected[:n_lines] = rng.random(n_lines) < CORRECTION_SHARE
            factors = WRONG_AMOUNT_FACTORS[rng.integers(0, len(WRONG_AMOUNT_FACTORS), n_lines)]
            sent_net[:n_lines] = np.where(corrected[:n_lines], np.round(net * factors, 2), net)
        table = self._lines_table(all_lines, sent_net)
        stamp = cal.stamp(t)
        _, relative = self.output.path("finance", "invoice_lines", stamp, "parquet")
        table = self._plant_missing_account(rng, t, table, relative, lines_per_invoice, inv_number)
        if self.resend_next_month is not None:
            keys = [
                f"{i}|{n}"
                for i, n in zip(
                    self.resend_next_month.column("invoice_id").to_pylist(),
                    self.resend_next_month.column("line_no").to_pylist(),
                    strict=True,
                )
            ]
            self.corrections.add(
                "finance",
                "invoice_lines",
                keys,
                "net_amount_eur",
                self.resend_origin_file,
                self.resend_first_values,
                relative,
                [f"{v:.2f}" for v in self.resend_next_month.column("net_amount_eur").to_pylist()],
            )
            table = pa.concat_tables([table, self.resend_next_month])
        self.output.write_parquet(table, "finance", "invoice_lines", stamp)
        fixed = np.flatnonzero(corrected)
        self.resend_next_month = self._lines_table({k: v[fixed] for k, v in all_lines.items()}, all_lines["net"][fixed])
        self.resend_origin_file = relative
        self.resend_first_values = [f"{v:.2f}" for v in sent_net[fixed].tolist()]

        # Payments of this month's invoices, bucketed by the month they are paid in.
        invoice_total = np.bincount(line_invoice, weights=net, minlength=n_inv)
        self._schedule_payments(rng, t, inv_number, inv_account, inv_date, due, invoice_total)
        self._write_payments(t)

        invoices = np.bincount(inv_account, minlength=a.count)
        line_counts = np.bincount(line_account, minlength=a.count)
        revenue = np.bincount(all_lines["account"], weights=all_lines["net"], minlength=a.count)
        return MonthActivity(invoices=invoices, lines=line_counts, net_revenue=revenue)

    def _credit_notes(self, rng, t, lines, lines_per_invoice, inv_number, inv_account, inv_date) -> dict:
        """Credit notes for part of one line of a few invoices: negative amounts, own invoice number."""
        n_inv = inv_number.shape[0]
        credited = np.flatnonzero(rng.random(n_inv) < CREDIT_NOTE_SHARE)
        first_line = np.cumsum(lines_per_invoice) - lines_per_invoice
        source = first_line[credited]
        share = rng.uniform(0.1, 0.5, credited.shape[0])
        month_end = self.calendar.month_end(t)
        date = np.minimum(
            inv_date[credited] + rng.integers(0, 10, credited.shape[0]).astype("timedelta64[D]"), month_end
        )
        order = np.lexsort((credited, date))
        credited, source, share, date = credited[order], source[order], share[order], date[order]
        number = self.next_invoice_number + np.arange(credited.shape[0])
        self.next_invoice_number += credited.shape[0]
        return {
            "number": number,
            "line_no": np.ones(credited.shape[0], dtype=np.int64),
            "account": inv_account[credited],
            "date": date,
            "due": date,
            "product": lines["product"][source],
            "net": -np.round(lines["net"][source] * share, 2),
            "cost": -np.round(lines["cost"][source] * share, 2),
        }

    def _lines_table(self, lines: dict, net: np.ndarray) -> pa.Table:
        return pa.table(
            {
                "invoice_id": formats.ids("INV", lines["number"], 8),
                "line_no": pa.array(lines["line_no"].astype(np.int32)),
                "account_id": self.account_ids.take(pa.array(lines["account"])),
                "invoice_date": pa.array(lines["date"], type=pa.date32()),
                "due_date": pa.array(lines["due"], type=pa.date32()),
                "product_line": formats.pick([p for p, _ in vocabulary.PRODUCT_LINES], lines["product"]),
                "net_amount_eur": pa.array(net, type=pa.float64()),
                "cost_amount_eur": pa.array(lines["cost"], type=pa.float64()),
            },
            schema=INVOICE_LINE_SCHEMA,
        )

    def _plant_missing_account(self, rng, t, table, relative, lines_per_invoice, inv_number) -> pa.Table:
        """Planted: an extra line without account_id on an existing invoice (a broken ERP join)."""
        regular_lines = int(lines_per_invoice.sum())
        count = defect_count(rng, regular_lines, force_one=t == self.calendar.months // 2)
        if not count:
            return table
        invoices = np.sort(rng.choice(inv_number.shape[0], size=count, replace=False))
        last_line = np.cumsum(lines_per_invoice)[invoices] - 1  # row of the invoice's last line
        extra = table.take(pa.array(last_line))
        extra = extra.set_column(1, "line_no", pa.array((lines_per_invoice[invoices] + 1).astype(np.int32)))
        extra = extra.set_column(2, "account_id", pa.nulls(count, pa.string()))
        table, row_numbers = insert_rows(table, extra, last_line + 1)
        keys = [
            f"{i}|{n}"
            for i, n in zip(extra.column("invoice_id").to_pylist(), extra.column("line_no").to_pylist(), strict=True)
        ]
        self.defects.add("finance", "invoice_lines", relative, row_numbers, keys, "account_id", "account_id is empty")
        return table

    def _schedule_payments(self, rng, t, inv_number, inv_account, inv_date, due, total) -> None:
        a = self.accounts
        n = inv_number.shape[0]
        late_chance = model.sigmoid(
            model.LATE_PAYMENT_LOGIT
            + model.LATE_PAYMENT_RISK_EFFECT * a.risk_state[inv_account, t]
            + 0.3 * a.static_risk[inv_account]
        )
        late = rng.random(n) < late_chance
        delay = np.where(late, 3 + rng.exponential(20, n).astype(np.int64), -rng.integers(0, 8, n))
        paid = np.maximum(due + delay.astype("timedelta64[D]"), inv_date + np.timedelta64(1, "D"))
        churning_soon = a.churn_month[inv_account] <= t + 2
        unpaid = churning_soon & (rng.random(n) < UNPAID_SHARE_WHEN_CHURNING)
        split = ~unpaid & (rng.random(n) < SPLIT_PAYMENT_SHARE)
        first_part = np.where(split, np.round(total * rng.uniform(0.3, 0.7, n), 2), total)
        second_date = paid + rng.integers(10, 40, n).astype("timedelta64[D]")
        keep = ~unpaid
        numbers = np.concatenate([inv_number[keep], inv_number[split]])
        dates = np.concatenate([paid[keep], second_date[split]])
        amounts = np.concatenate([first_part[keep], np.round(total[split] - first_part[split], 2)])
        self.pending_payments.append((numbers, dates, amounts))

    def _write_payments(self, t: int) -> None:
        numbers = np.concatenate([p[0] for p in self.pending_payments])
        dates = np.concatenate([p[1] for p in self.pending_payments])
        amounts = np.concatenate([p[2] for p in self.pending_payments])
        month = month_index_of(dates, self.calendar)
        now, later = month == t, month > t
        self.pending_payments = [(numbers[later], dates[later], amounts[later])]
        numbers, dates, amounts = numbers[now], dates[now], amounts[now]
        order = np.lexsort((numbers, dates))
        numbers, dates, amounts = numbers[order], dates[order], amounts[order]
        table = pa.table(
            {
                "invoice_id": formats.ids("INV", numbers, 8),
                "paid_date": formats.format_dates(dates),
                "amount_eur": formats.format_amounts(amounts, "."),
            }
        )
        stamp = self.calendar.stamp(t)
        _, relative = self.output.path("finance", "payments", stamp, "csv")
        rng = self.streams("defects-payments", t)
        table = self._plant_non_numeric_amounts(rng, t, table, numbers, dates, relative)
        self.output.write_csv(table, "finance", "payments", stamp, formats.FINANCE_CSV)

    def _plant_non_numeric_amounts(self, rng, t, table, numbers, dates, relative) -> pa.Table:
        """Planted: a payment whose amount is not a number (an Excel error value, a typo)."""
        count = defect_count(rng, table.num_rows, force_one=t == self.calendar.months // 2)
        # Only invoices paid once this month, so the planted row's key (invoice, date) is new.
        _, inverse, payments_per_invoice = np.unique(numbers, return_inverse=True, return_counts=True)
        once = np.flatnonzero(payments_per_invoice[inverse] == 1)
        count = min(count, once.shape[0])
        if not count:
            return table
        source = np.sort(rng.choice(once, size=count, replace=False))
        month_start, month_end = self.calendar.month_start(t), self.calendar.month_end(t)
        shifted = dates[source] + np.timedelta64(1, "D")
        shifted = np.where(shifted > month_end, dates[source] - np.timedelta64(1, "D"), shifted)
        shifted = np.maximum(shifted, month_start)
        values = rng.integers(0, len(vocabulary.NON_NUMERIC_AMOUNTS), count)
        extra = pa.table(
            {
                "invoice_id": table.column("invoice_id").take(pa.array(source)),
                "paid_date": formats.format_dates(shifted),
                "amount_eur": formats.pick(vocabulary.NON_NUMERIC_AMOUNTS, values),
            }
        )
        table, row_numbers = insert_rows(table, extra, source + 1)
        keys = [
            f"{i}|{d}"
            for i, d in zip(extra.column("invoice_id").to_pylist(), extra.column("paid_date").to_pylist(), strict=True)
        ]
        self.defects.add("finance", "payments", relative, row_numbers, keys, "amount_eur", "amount_eur is not a number")
        return table


def service_cost(
    rng: np.random.Generator,
    accounts: Accounts,
    active: np.ndarray,
    activity: MonthActivity,
    activity_counts: np.ndarray,
) -> np.ndarray:
    """Monthly cost to serve: order handling per invoice and line, and the account team's time."""
    meetings, calls, emails, visits = (activity_counts[active, k] for k in range(4))
    cost = (
        35.0
        + 9.0 * activity.invoices[active]
        + 1.5 * activity.lines[active]
        + 60.0 * meetings
        + 8.0 * calls
        + 4.0 * emails
        + 140.0 * visits
    )
    cost = cost * accounts.service_intensity[active] * rng.lognormal(0.0, 0.1, active.shape[0])
    return np.round(cost, 2)


def write_cost_to_serve(
    output: LandingOutput,
    calendar: Calendar,
    t: int,
    account_ids: pa.Array,
    accounts: np.ndarray,
    months: np.ndarray,
    costs: np.ndarray,
) -> None:
    """One workbook per quarter (sheet cost_to_serve); a quarter too big for a sheet goes to several parts."""
    if not output.shape.writes("cost_to_serve"):
        return
    rows = accounts.shape[0]
    parts = max(1, -(-rows // formats.XLSX_MAX_DATA_ROWS))
    stamp = calendar.stamp(t)
    ids = account_ids.take(pa.array(accounts)).to_pylist()
    for part in range(parts):
        lo, hi = part * formats.XLSX_MAX_DATA_ROWS, min(rows, (part + 1) * formats.XLSX_MAX_DATA_ROWS)
        suffix = f"part{part + 1}" if parts > 1 else ""
        path, relative = output.path("finance", "cost_to_serve", stamp, "xlsx", suffix)
        formats.write_cost_to_serve_xlsx(path, "cost_to_serve", ids[lo:hi], months[lo:hi], costs[lo:hi])
        output.record(relative, "cost_to_serve", hi - lo)
