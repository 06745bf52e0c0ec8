"""CRM exports: full snapshots of accounts, contacts and opportunities, and monthly activity drops.

Format (a Finnish desktop CRM exporting to Excel-style CSV): semicolon separated, decimal comma, Windows-1252,
CRLF line ends, header row, fields quoted only when needed. Dates are ISO (YYYY-MM-DD) except in the
drops made while the export ran with Finnish locale settings: the second snapshot of each entity and the
activity drops of history months 6..11 write D.M.YYYY (and, in contacts, kyllä/ei for is_active).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.demo import formats, model, vocabulary
from pipeline.demo.calendar import Calendar
from pipeline.demo.ledger import DefectLedger, LandingOutput, defect_count, insert_rows
from pipeline.demo.population import (
    LARGE,
    SILENT,
    Accounts,
    Contacts,
    Opportunities,
    Streams,
    invalid_business_id,
)
from pipeline.demo.retention import RetentionPlan

FINNISH_LOCALE_SNAPSHOT = 1  # index of the snapshot exported with Finnish date settings
FINNISH_LOCALE_MONTHS = range(6, 12)  # history months whose activity drops use Finnish dates
NOTE_SHARE = 0.6
ACTIVITY_TYPES = ("meeting", "call", "email", "visit")
MEETING, CALL, EMAIL, VISIT = range(4)


def snapshot_date_style(snapshot_index: int) -> str:
    return "fi" if snapshot_index == FINNISH_LOCALE_SNAPSHOT else "iso"


def activity_date_style(t: int) -> str:
    return "fi" if t in FINNISH_LOCALE_MONTHS else "iso"


@dataclass
class Crm:
    streams: Streams
    calendar: Calendar
    accounts: Accounts
    contacts: Contacts
    opportunities: Opportunities
    account_ids: pa.Array
    contact_ids: pa.Array
    output: LandingOutput
    defects: DefectLedger
    retention: RetentionPlan | None = None  # the planted retention policy's calls (pipeline.demo.retention)

    def __post_init__(self) -> None:
        self.next_activity_number = 1
        self.note_pool = _note_pool(self.streams("activity-note-pool"))

    # --- snapshots ---------------------------------------------------------------------------------

    def write_snapshots(self, snapshot_index: int, t: int) -> None:
        self._accounts_snapshot(snapshot_index, t)
        self._contacts_snapshot(snapshot_index, t)
        self._opportunities_snapshot(snapshot_index, t)

    def _accounts_snapshot(self, k: int, t: int) -> None:
        a, extract = self.accounts, self.calendar.month_end(t)
        style = snapshot_date_style(k)
        rows = np.flatnonzero(a.created_date <= extract)
        closed = ~np.isnat(a.closed_date[rows]) & (a.closed_date[rows] <= extract)
        competitor = np.where(a.competitor_shown[k, rows], a.competitor[rows], -1)
        business_id = a.business_id[rows].copy()
        table = pa.table(
            {
                "account_id": self.account_ids.take(pa.array(rows)),
                "account_name": formats.text_column(a.name[rows]),
                "business_id": formats.text_column(business_id),
                "industry": formats.pick([name for name, _, _ in vocabulary.INDUSTRIES], a.industry[rows]),
                "country": formats.text_column(a.country[rows]),
                "region": formats.text_column(a.region[k, rows]),
                "employees": formats.format_integers(a.employees[k, rows]),
                "created_date": formats.format_dates(a.created_date[rows], style),
                "status": pa.array(np.where(closed, "closed", "active")),
                "closed_date": formats.format_dates(np.where(closed, a.closed_date[rows], np.datetime64("NaT")), style),
                "owner": formats.pick(vocabulary.ACCOUNT_MANAGERS, a.owner[k, rows]),
                "estimated_annual_potential_eur": formats.format_amounts(a.potential_eur[k, rows], ","),
                "main_competitor": formats.pick(vocabulary.COMPETITORS, competitor),
            }
        )
        # Planted: a mistyped business ID (bad check digit) in older snapshots; the current one is clean.
        stamp = self.calendar.stamp(t)
        _, relative = self.output.path("crm", "accounts", stamp, "csv")
        is_last = k == len(self.calendar.snapshot_months) - 1
        rng = self.streams("defects-accounts", k)
        count = 0 if is_last else defect_count(rng, table.num_rows, force_one=k == 0)
        candidates = np.flatnonzero(business_id != "")
        if count and candidates.size:
            chosen = np.sort(rng.choice(candidates, size=min(count, candidates.size), replace=False))
            values = np.array(table.column("business_id").to_pylist(), dtype=object)
            values[chosen] = [invalid_business_id(v) for v in values[chosen]]
            table = table.set_column(2, "business_id", pa.array(values.tolist(), type=pa.string()))
            keys = table.column("account_id").take(pa.array(chosen)).to_pylist()
            self.defects.add(
                "crm",
                "accounts",
                relative,
                chosen + 1,
                keys,
                "business_id",
                "business_id fails the Y-tunnus checksum",
            )
        self.output.write_csv(table, "crm", "accounts", stamp, formats.CRM_CSV, date_style=style)

    def _contacts_snapshot(self, k: int, t: int) -> None:
        c, extract = self.contacts, self.calendar.month_end(t)
        style = snapshot_date_style(k)
        rows = np.flatnonzero((c.created_date <= extract) & (self.accounts.created_date[c.account] <= extract))
        rows = rows[np.argsort(c.number[rows], kind="stable")]  # the CRM lists contacts by id
        active = c.active_on(rows, np.full(rows.shape[0], extract), self.accounts)
        yes, no = ("kyllä", "ei") if style == "fi" else ("true", "false")
        table = pa.table(
            {
                "contact_id": self.contact_ids.take(pa.array(rows)),
                "account_id": self.account_ids.take(pa.array(c.account[rows])),
                "role": formats.pick(vocabulary.ROLES, c.role[rows]),
                "title": formats.text_column(c.title[rows]),
                "email": formats.text_column(c.email[rows]),
                "is_active": pa.array(np.where(active, yes, no)),
                "created_date": formats.format_dates(c.created_date[rows], style),
            }
        )
        self.output.write_csv(table, "crm", "contacts", self.calendar.stamp(t), formats.CRM_CSV, date_style=style)

    def _opportunities_snapshot(self, k: int, t: int) -> None:
        o, extract = self.opportunities, self.calendar.month_end(t)
        style = snapshot_date_style(k)
        rows = np.flatnonzero(o.created_date <= extract)
        decided = o.close_date[rows] <= extract
        won = o.won[rows]
        stage = np.where(decided, np.where(won, "won", "lost"), "open")
        lost = decided & ~won
        year = o.created_date[rows].astype("datetime64[Y]").astype(np.int64) + 1970
        name = pc.binary_join_element_wise(
            formats.pick([p for p, _ in vocabulary.PRODUCT_LINES], o.product[rows]),
            pc.binary_join_element_wise(
                formats.pick(vocabulary.OPPORTUNITY_KINDS, o.kind[rows]),
                pc.cast(pa.array(year), pa.string()),
                " ",
            ),
            " – ",
        )
        table = pa.table(
            {
                "opportunity_id": formats.ids("OPP", o.number[rows], 7),
                "account_id": self.account_ids.take(pa.array(o.account[rows])),
                "opportunity_name": name,
                "created_date": formats.format_dates(o.created_date[rows], style),
                "close_date": formats.format_dates(o.close_date[rows], style),
                "stage": pa.array(stage),
                "amount_eur": formats.format_amounts(o.amount_eur[rows], ","),
                "lost_reason": formats.pick(vocabulary.LOST_REASONS, np.where(lost, o.lost_reason[rows], -1)),
                "competitor": formats.pick(vocabulary.COMPETITORS, np.where(lost, o.competitor[rows], -1)),
            }
        )
        self.output.write_csv(table, "crm", "opportunities", self.calendar.stamp(t), formats.CRM_CSV, date_style=style)

    # --- activities --------------------------------------------------------------------------------

    def write_activities(self, t: int) -> np.ndarray:
        """Write month t's new activities; return counts [account, activity type] for cost to serve."""
        a, c, cal = self.accounts, self.contacts, self.calendar
        rng = self.streams("activities", t)
        # Accounts the CRM shows as customers: buying ones, and silent churners nobody has closed.
        buying = (a.created_month <= t) & (a.churn_month > t)
        silent = (a.churn_kind == SILENT) & (a.churn_month <= t)
        accounts = np.flatnonzero(buying | silent)
        state = a.risk_state[accounts, t]
        # Logged calls, emails, meetings and visits per month at zero risk: small, medium, large accounts.
        base_rate = np.array(model.ACTIVITIES_PER_MONTH)[a.size_band[accounts]]
        # The planted segment's way of being served: key accounts are called on far more than price buyers.
        base_rate = base_rate * np.array([s.contact_multiplier for s in model.ARCHETYPES])[a.segment[accounts]]
        # Mean-preserving: at-risk accounts go quiet, the average activity rate stays the base rate.
        engagement = np.exp(-model.ENGAGEMENT_RISK_EFFECT * state - model.ENGAGEMENT_RISK_EFFECT**2 / 2)
        rate = base_rate * engagement * np.where(buying[accounts], 1.0, 0.15)
        n = rng.poisson(rate)
        account = np.repeat(accounts, n)
        state = np.repeat(state, n)
        count = account.shape[0]
        dates = np.maximum(cal.random_days(rng, np.full(count, t)), a.created_date[account])
        order = np.lexsort((account, dates))
        account, state, dates = account[order], state[order], dates[order]

        # Fewer meetings and visits when the relationship cools down.
        face_to_face = np.clip(
            0.28 * np.exp(-model.MEETING_RISK_EFFECT * state) * np.where(a.size_band[account] == LARGE, 1.3, 1.0),
            0.02,
            0.7,
        )
        u = rng.random(count)
        kind = np.where(
            u < face_to_face,
            np.where(rng.random(count) < 0.35, VISIT, MEETING),
            np.where(rng.random(count) < 0.45, CALL, EMAIL),
        )
        contact_row = c.first_of_account[account] + (rng.random(count) * c.per_account[account]).astype(np.int64)
        with_contact = c.active_on(contact_row, dates, a) & (rng.random(count) > 0.08)
        note = np.where(rng.random(count) < NOTE_SHARE, rng.integers(0, len(self.note_pool), count), -1)
        numbers = self.next_activity_number + np.arange(count)
        self.next_activity_number += count
        style = activity_date_style(t)
        table = pa.table(
            {
                "activity_id": formats.ids("ACT", numbers, 9),
                "account_id": self.account_ids.take(pa.array(account)),
                "contact_id": pc.if_else(
                    pa.array(with_contact),
                    self.contact_ids.take(pa.array(contact_row)),
                    pa.scalar(None, pa.string()),
                ),
                "activity_type": formats.pick(ACTIVITY_TYPES, kind),
                "activity_date": formats.format_dates(dates, style),
                "notes": formats.pick(self.note_pool, note),
                "campaign": pa.nulls(count, pa.string()),
            }
        )
        table = self._plant_unknown_types(rng, t, table)
        called = self.retention.contacted_in(t) if self.retention is not None else np.zeros(0, dtype=np.int64)
        if called.shape[0]:
            table = pa.concat_tables([table, self._retention_calls(t, called, style)])
        self.output.write_csv(table, "crm", "activities", cal.stamp(t), formats.CRM_CSV, date_style=style)
        counts = np.bincount(account * len(ACTIVITY_TYPES) + kind, minlength=a.count * len(ACTIVITY_TYPES))
        counts = counts.reshape(a.count, len(ACTIVITY_TYPES))
        np.add.at(counts[:, CALL], called, 1)
        return counts

    def _retention_calls(self, t: int, called: np.ndarray, style: str) -> pa.Table:
        """The planted retention policy's calls of month t: one call per account, marked campaign = retention,
        with its first contact when that contact is still there (own stream: nothing else moves)."""
        a, c, cal = self.accounts, self.contacts, self.calendar
        rng = self.streams("retention-calls", t)
        called = np.sort(called)
        dates = np.maximum(cal.random_days(rng, np.full(called.shape[0], t)), a.created_date[called])
        contact_row = c.first_of_account[called]
        with_contact = c.active_on(contact_row, dates, a)
        numbers = self.next_activity_number + np.arange(called.shape[0])
        self.next_activity_number += called.shape[0]
        return pa.table(
            {
                "activity_id": formats.ids("ACT", numbers, 9),
                "account_id": self.account_ids.take(pa.array(called)),
                "contact_id": pc.if_else(
                    pa.array(with_contact), self.contact_ids.take(pa.array(contact_row)), pa.scalar(None, pa.string())
                ),
                "activity_type": pa.array(["call"] * called.shape[0], pa.string()),
                "activity_date": formats.format_dates(dates, style),
                "notes": pa.nulls(called.shape[0], pa.string()),
                "campaign": pa.array(["retention"] * called.shape[0], pa.string()),
            }
        )

    def _plant_unknown_types(self, rng: np.random.Generator, t: int, table: pa.Table) -> pa.Table:
        """Planted: activities of a type the contract does not know (a new CRM picklist value)."""
        count = defect_count(rng, table.num_rows, force_one=t == self.calendar.months // 2)
        if not count or table.num_rows == 0:
            return table
        source_rows = rng.choice(table.num_rows, size=count, replace=False)
        extra = table.take(pa.array(source_rows))
        numbers = self.next_activity_number + np.arange(count)
        self.next_activity_number += count
        extra = extra.set_column(0, "activity_id", formats.ids("ACT", numbers, 9))
        kinds = rng.integers(0, len(vocabulary.UNKNOWN_ACTIVITY_TYPES), count)
        extra = extra.set_column(3, "activity_type", formats.pick(vocabulary.UNKNOWN_ACTIVITY_TYPES, kinds))
        table, row_numbers = insert_rows(table, extra, source_rows + 1)
        _, relative = self.output.path("crm", "activities", self.calendar.stamp(t), "csv")
        self.defects.add(
            "crm",
            "activities",
            relative,
            row_numbers,
            extra.column("activity_id").to_pylist(),
            "activity_type",
            "activity_type not in meeting | call | email | visit",
        )
        return table


def _note_pool(rng: np.random.Generator, variants: int = 40) -> list[str]:
    """Filled-in activity notes: every template with several names, products, competitors and amounts."""
    pool = []
    for template in vocabulary.ACTIVITY_NOTES:
        for _ in range(variants):
            pool.append(
                template.format(
                    name=vocabulary.FIRST_NAMES[rng.integers(len(vocabulary.FIRST_NAMES))],
                    product=vocabulary.PRODUCT_LINES[rng.integers(len(vocabulary.PRODUCT_LINES))][0].lower(),
                    competitor=vocabulary.COMPETITORS[rng.integers(len(vocabulary.COMPETITORS))],
                    amount=f"{rng.integers(2, 400) * 50:,}".replace(",", " "),
                )
            )
    return pool
