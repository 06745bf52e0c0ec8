"""Survey exports: invitations and responses of three programmes.

- relationship: twice a year (April and October), every active account's decision makers and
  influencers and some users (at most four contacts an account); all six drivers and
  considering_alternatives. Drop at the end of the wave month, suffix ``_relationship``.
- transactional: every month a few accounts' contacts after a delivery; quality, delivery, service and
  ease only. Quarterly drops (calendar quarter ends and the last month), suffix ``_transactional``.
- exit: churned accounts' main contact, the month after a CRM closure or three months into a silent
  churn; reason_left and often preferred_competitor. Quarterly drops, suffix ``_exit``.

Format: comma separated, decimal point, UTF-8 with byte-order mark, LF line ends, quoted line breaks in
``comment``. Every invitation gets a would-be NPS; whether it is answered follows the U-shaped response
propensity of :mod:`pipeline.demo.model`. A response carries its invitation_id and exactly the would-be
NPS. A few responses come again in a later drop with a corrected considering_alternatives (the later
row wins); a few rows carry an impossible NPS (11 or -1): planted defects.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from pipeline.demo import formats, model, vocabulary
from pipeline.demo.calendar import Calendar
from pipeline.demo.ledger import CorrectionLedger, DefectLedger, LandingOutput, defect_count, insert_rows
from pipeline.demo.population import CLOSED, SILENT, Accounts, Contacts, Streams

RELATIONSHIP_MONTHS = (4, 10)
RELATIONSHIP_CONTACTS_PER_ACCOUNT = 4
TRANSACTIONAL_SHARE_BY_SIZE_BAND = np.array([0.03, 0.05, 0.08])
EXIT_INVITE_SHARE = {CLOSED: 0.9, SILENT: 0.6}
SILENT_EXIT_DELAY_MONTHS = 3
MISSING_DRIVER_SHARE = 0.04
COMMENT_SHARE = {"relationship": 0.35, "transactional": 0.25, "exit": 0.6}
RESEND_SHARE = 0.01
TRANSACTIONAL_DRIVERS = ("driver_quality", "driver_delivery", "driver_service", "driver_ease")
# Exit reasons named after the driver the leaving customer rated lowest.
REASON_BY_DRIVER = {
    "driver_quality": "quality",
    "driver_delivery": "delivery",
    "driver_service": "service",
    "driver_price_value": "price",
}

RESPONSE_COLUMNS = [
    "response_id",
    "survey_id",
    "survey_type",
    "account_id",
    "contact_id",
    "invitation_id",
    "response_date",
    "nps",
    *model.DRIVER_NAMES,
    "considering_alternatives",
    "preferred_competitor",
    "reason_left",
    "comment",
]


@dataclass
class Batch:
    """Invitations sent together (one survey), with the answers of those who respond."""

    survey_type: str
    survey_id: np.ndarray
    number: np.ndarray  # invitation_id = "SI" + 8 digits
    account: np.ndarray
    contact_row: np.ndarray
    sent_date: np.ndarray
    nps: np.ndarray
    propensity: np.ndarray
    responded: np.ndarray
    response_date: np.ndarray
    ratings: np.ndarray  # [invitation, driver]
    shown: np.ndarray  # [invitation, driver]: the rating appears in the export
    considering: np.ndarray  # -1: not asked
    preferred_competitor: np.ndarray  # -1: none
    reason_left: np.ndarray  # -1: none
    comment: np.ndarray  # index into the comment pool, -1: none


@dataclass
class Surveys:
    streams: Streams
    calendar: Calendar
    accounts: Accounts
    contacts: Contacts
    account_ids: pa.Array
    contact_ids: pa.Array
    output: LandingOutput
    defects: DefectLedger
    corrections: CorrectionLedger
    next_invitation_number: int = 1
    next_response_number: int = 1
    sent: list[Batch] = field(default_factory=list)  # every invitation, for the truth
    quarter: dict[str, list[Batch]] = field(default_factory=lambda: {"transactional": [], "exit": []})
    # rows to send again corrected, the file they first went out in, their wrong values, that file's date
    pending_resends: list[tuple[pa.Table, str, list[str], str]] = field(default_factory=list)
    first_relationship_drop_done: bool = False

    def __post_init__(self) -> None:
        self.comment_pool, self.comment_pool_by_mood = _comment_pool(self.streams("survey-comment-pool"))
        cal = self.calendar
        waves = [t for t in range(cal.months) if cal.calendar_month(t) in RELATIONSHIP_MONTHS]
        kept = self.output.shape.relationship_waves
        # A company shape may have run only its newest waves (pipeline.demo.shape).
        self.relationship_wave_months = set(waves[-kept:] if kept else waves)
        self.response_drop_stamps = sorted(
            {cal.stamp(t) for t in self.relationship_wave_months} | {cal.stamp(t) for t in cal.quarter_ends}
        )

    # --- month by month ----------------------------------------------------------------------------

    def run_month(self, t: int) -> None:
        cal = self.calendar
        transactional = self._transactional(t)
        if transactional is not None:
            self.quarter["transactional"].append(transactional)
        exit_batch = self._exit(t)
        if exit_batch is not None:
            self.quarter["exit"].append(exit_batch)
        if t in self.relationship_wave_months:
            wave = self._relationship(t)
            self._write_drop(t, "relationship", [wave] if wave is not None else [])
        if t in cal.quarter_ends:
            for programme in ("transactional", "exit"):
                self._write_drop(t, programme, self.quarter[programme])
                self.quarter[programme] = []

    def _relationship(self, t: int) -> Batch | None:
        a, c, cal = self.accounts, self.contacts, self.calendar
        rng = self.streams("survey-relationship", t)
        active = np.zeros(a.count, dtype=bool)
        active[a.active_in(t)] = True
        rows = np.flatnonzero(active[c.account])
        sent = cal.random_days(rng, np.full(rows.shape[0], t), last_day=7)
        role = c.role[rows]
        wanted = (
            (role <= 1)
            | ((role == 2) & (rng.random(rows.shape[0]) < 0.3))
            | ((role == 3) & (rng.random(rows.shape[0]) < 0.1))
        )
        eligible = wanted & c.active_on(rows, sent, a)
        # At most four contacts an account: the first eligible ones in the CRM's order.
        running = np.cumsum(eligible)
        account = c.account[rows]
        first_in_account = np.r_[True, account[1:] != account[:-1]]
        before_account = np.maximum.accumulate(np.where(first_in_account, running - eligible, 0))
        eligible &= (running - before_account) <= RELATIONSHIP_CONTACTS_PER_ACCOUNT
        rows, sent = rows[eligible], sent[eligible]
        if rows.size == 0:
            return None
        survey_id = f"REL-{cal.month(t)!s}"
        state = a.risk_state[c.account[rows], t]
        return self._invite(rng, "relationship", survey_id, c.account[rows], rows, sent, state, 0.0, max_delay=19)

    def _transactional(self, t: int) -> Batch | None:
        a, c, cal = self.accounts, self.contacts, self.calendar
        rng = self.streams("survey-transactional", t)
        active = a.active_in(t)
        chosen = active[rng.random(active.shape[0]) < TRANSACTIONAL_SHARE_BY_SIZE_BAND[a.size_band[active]]]
        sent = cal.random_days(rng, np.full(chosen.shape[0], t), last_day=20)
        contact_row = c.first_of_account[chosen] + (rng.random(chosen.shape[0]) * c.per_account[chosen]).astype(
            np.int64
        )
        usable = c.active_on(contact_row, sent, a)
        fallback = c.first_of_account[chosen]
        contact_row = np.where(usable, contact_row, fallback)
        keep = usable | c.active_on(fallback, sent, a)
        chosen, sent, contact_row = chosen[keep], sent[keep], contact_row[keep]
        if chosen.size == 0:
            return None
        survey_id = f"TX-{cal.month(t)!s}"
        return self._invite(
            rng,
            "transactional",
            survey_id,
            chosen,
            contact_row,
            sent,
            a.risk_state[chosen, t],
            0.0,
            max_delay=7,
        )

    def _exit(self, t: int) -> Batch | None:
        a, c, cal = self.accounts, self.contacts, self.calendar
        rng = self.streams("survey-exit", t)
        closed = (a.churn_kind == CLOSED) & (a.churn_month == t - 1)
        silent = (a.churn_kind == SILENT) & (a.churn_month == t - SILENT_EXIT_DELAY_MONTHS)
        share = np.where(closed, EXIT_INVITE_SHARE[CLOSED], np.where(silent, EXIT_INVITE_SHARE[SILENT], 0.0))
        chosen = np.flatnonzero(rng.random(a.count) < share)
        if chosen.size == 0:
            return None
        sent = cal.random_days(rng, np.full(chosen.shape[0], t), last_day=10)
        quarter = (cal.calendar_month(t) - 1) // 3 + 1
        survey_id = f"EXIT-{str(cal.month(t))[:4]}-Q{quarter}"
        # How they felt when they left: the state in their last month as a customer.
        state = a.risk_state[chosen, a.churn_month[chosen] - 1]
        return self._invite(
            rng,
            "exit",
            survey_id,
            chosen,
            c.first_of_account[chosen],
            sent,
            state,
            model.EXIT_NPS_SHIFT,
            max_delay=14,
        )

    def _invite(
        self,
        rng: np.random.Generator,
        survey_type: str,
        survey_id: str,
        account: np.ndarray,
        contact_row: np.ndarray,
        sent: np.ndarray,
        state: np.ndarray,
        shift: float,
        max_delay: int,
    ) -> Batch:
        a, c = self.accounts, self.contacts
        n = account.shape[0]
        order = np.lexsort((contact_row, sent))
        account, contact_row, sent, state = account[order], contact_row[order], sent[order], state[order]
        ratings = model.draw_ratings(rng, a.experience[account], state)
        # Who answers, and how, depends on what the CRM shows (its employee-count size band and the contact's
        # role), so that weighting on CRM data can undo that part of the non-response bias.
        crm_band = model.crm_size_band(a.employees[-1, account])
        segment_shift = model.NPS_BY_SIZE_BAND[crm_band] + model.NPS_BY_ROLE[c.role[contact_row]]
        nps = model.would_be_nps(rng, ratings, state, shift + segment_shift)
        propensity = model.response_propensity(nps, crm_band, c.role[contact_row], survey_type)
        responded = rng.random(n) < propensity
        response_date = sent + rng.integers(0, max_delay + 1, n).astype("timedelta64[D]")

        asked = np.ones(len(model.DRIVER_NAMES), dtype=bool)
        if survey_type == "transactional":
            asked = np.isin(np.array(model.DRIVER_NAMES), TRANSACTIONAL_DRIVERS)
        shown = asked[None, :] & (rng.random(ratings.shape) >= MISSING_DRIVER_SHARE)
        considering = (
            model.considering_alternatives(rng, state, nps) if survey_type != "transactional" else np.full(n, -1)
        )
        competitor = a.competitor[account]
        reason = np.full(n, -1)
        preferred = np.full(n, -1)
        reasons = list(vocabulary.REASONS_LEFT)
        if survey_type == "relationship":
            likes_other = (considering >= 7) & (rng.random(n) < 0.55)
            random_pick = rng.random(n) < 0.02
            preferred = np.where(
                likes_other,
                competitor,
                np.where(random_pick, rng.integers(0, len(vocabulary.COMPETITORS), n), -1),
            )
        elif survey_type == "exit":
            driver_index = [model.DRIVER_NAMES.index(d) for d in REASON_BY_DRIVER]
            lowest = np.array([reasons.index(r) for r in REASON_BY_DRIVER.values()])[
                np.argmin(ratings[:, driver_index], axis=1)
            ]
            went_to_competitor = (considering >= 7) & (rng.random(n) < 0.5)
            business_closed = (a.churn_kind[account] == CLOSED) & (rng.random(n) < 0.1)
            other = rng.random(n) < 0.08
            reason = np.select(
                [business_closed, went_to_competitor, other],
                [reasons.index("business closed"), reasons.index("competitor offer"), reasons.index("other")],
                lowest,
            )
            preferred = np.where(
                (reason == reasons.index("competitor offer"))
                | (rng.random(n) < 0.3) & (reason != reasons.index("business closed")),
                competitor,
                -1,
            )
        mood = np.where(nps <= 6, 0, np.where(nps <= 8, 1, 2))
        pool_start = np.array(
            [
                0,
                len(self.comment_pool_by_mood[0]),
                len(self.comment_pool_by_mood[0]) + len(self.comment_pool_by_mood[1]),
            ]
        )
        pool_size = np.array([len(p) for p in self.comment_pool_by_mood])
        comment = np.where(
            rng.random(n) < COMMENT_SHARE[survey_type],
            pool_start[mood] + rng.integers(0, 1 << 20, n) % pool_size[mood],
            -1,
        )
        numbers = self.next_invitation_number + np.arange(n)
        self.next_invitation_number += n
        batch = Batch(
            survey_type=survey_type,
            survey_id=np.full(n, survey_id, dtype=object),
            number=numbers,
            account=account,
            contact_row=contact_row,
            sent_date=sent,
            nps=nps,
            propensity=propensity,
            responded=responded,
            response_date=response_date,
            ratings=ratings,
            shown=shown,
            considering=considering,
            preferred_competitor=preferred,
            reason_left=reason,
            comment=comment,
        )
        self.sent.append(batch)
        return batch

    # --- drops -------------------------------------------------------------------------------------

    def _write_drop(self, t: int, programme: str, batches: list[Batch]) -> None:
        stamp = self.calendar.stamp(t)
        if batches:
            invitations = pa.concat_tables([self._invitations_table(b) for b in batches])
            self.output.write_csv(invitations, "survey", "invitations", stamp, formats.SURVEY_CSV, suffix=programme)
        responses = [self._responses_table(b) for b in batches]
        table = pa.concat_tables(responses) if responses else None
        # Rows chosen for correction in an earlier-dated drop come again here, corrected.
        due = [entry for entry in self.pending_resends if entry[3] < stamp]
        if (table is None or table.num_rows == 0) and not due:
            return
        if table is None:
            table = due[0][0].slice(0, 0)
        _, relative = self.output.path("survey", "responses", stamp, "csv", programme)
        rng = self.streams("survey-drop", t, ["relationship", "transactional", "exit"].index(programme))
        own_rows = table.num_rows
        if own_rows and any(s > stamp for s in self.response_drop_stamps):
            table = self._choose_resends(rng, table, relative, stamp, programme)
        if programme == "relationship" and own_rows:
            table = self._plant_impossible_nps(rng, table, relative, force=not self.first_relationship_drop_done)
        for entry in due:
            resent, first_file, first_values, _ = entry
            self.corrections.add(
                "survey",
                "responses",
                resent.column("response_id").to_pylist(),
                "considering_alternatives",
                first_file,
                first_values,
                relative,
                resent.column("considering_alternatives").to_pylist(),
            )
            table = pa.concat_tables([table, resent])
        self.pending_resends = [entry for entry in self.pending_resends if entry[3] >= stamp]
        self.output.write_csv(table, "survey", "responses", stamp, formats.SURVEY_CSV, suffix=programme)

    def _invitations_table(self, b: Batch) -> pa.Table:
        return pa.table(
            {
                "invitation_id": formats.ids("SI", b.number, 8),
                "survey_id": pa.array(b.survey_id, type=pa.string()),
                "account_id": self.account_ids.take(pa.array(b.account)),
                "contact_id": self.contact_ids.take(pa.array(b.contact_row)),
                "sent_date": formats.format_dates(b.sent_date),
            }
        )

    def _responses_table(self, b: Batch) -> pa.Table:
        rows = np.flatnonzero(b.responded)
        rows = rows[np.lexsort((b.number[rows], b.response_date[rows]))]
        n = rows.shape[0]
        numbers = self.next_response_number + np.arange(n)
        self.next_response_number += n
        columns = {
            "response_id": formats.ids("SR", numbers, 8),
            "survey_id": pa.array(b.survey_id[rows], type=pa.string()),
            "survey_type": pa.array(np.full(n, b.survey_type), type=pa.string()),
            "account_id": self.account_ids.take(pa.array(b.account[rows])),
            "contact_id": self.contact_ids.take(pa.array(b.contact_row[rows])),
            "invitation_id": formats.ids("SI", b.number[rows], 8),
            "response_date": formats.format_dates(b.response_date[rows]),
            "nps": formats.format_integers(b.nps[rows]),
        }
        for j, name in enumerate(model.DRIVER_NAMES):
            columns[name] = formats.format_integers(b.ratings[rows, j], ~b.shown[rows, j])
        columns["considering_alternatives"] = formats.format_integers(b.considering[rows], b.considering[rows] < 0)
        columns["preferred_competitor"] = formats.pick(vocabulary.COMPETITORS, b.preferred_competitor[rows])
        columns["reason_left"] = formats.pick(vocabulary.REASONS_LEFT, b.reason_left[rows])
        columns["comment"] = formats.pick(self.comment_pool, b.comment[rows])
        return pa.table(columns)

    def _choose_resends(self, rng, table, relative, stamp, programme):
        """Some rows go out with a wrong considering_alternatives now and come again corrected later."""
        values = table.column("considering_alternatives").to_numpy(zero_copy_only=False)
        candidates = np.flatnonzero(np.array([v is not None for v in values]))
        count = int(rng.binomial(candidates.shape[0], RESEND_SHARE)) if candidates.size else 0
        if programme == "relationship" and candidates.shape[0] >= 20:
            count = max(count, 1)
        if not count:
            return table
        chosen = np.sort(rng.choice(candidates, size=count, replace=False))
        true_rows = table.take(pa.array(chosen))
        truth = np.array([int(v) for v in values[chosen]])
        wrong = np.clip(truth + rng.choice(np.array([-3, -2, 2, 3]), size=count), 0, 10)
        wrong = np.where(wrong == truth, np.where(truth >= 5, truth - 4, truth + 4), wrong)
        column = np.array(values, dtype=object)
        column[chosen] = [str(v) for v in wrong.tolist()]
        index = table.column_names.index("considering_alternatives")
        table = table.set_column(index, "considering_alternatives", pa.array(column.tolist(), type=pa.string()))
        self.pending_resends.append((true_rows, relative, [str(v) for v in wrong.tolist()], stamp))
        return table

    def _plant_impossible_nps(self, rng, table, relative, force) -> pa.Table:
        """Planted: responses with an NPS outside 0..10 (a survey tool's -1 for 'skipped', an 11)."""
        count = defect_count(rng, table.num_rows, force_one=force)
        if not count:
            return table
        source = rng.choice(table.num_rows, size=count, replace=False)
        extra = table.take(pa.array(source))
        numbers = self.next_response_number + np.arange(count)
        self.next_response_number += count
        extra = extra.set_column(0, "response_id", formats.ids("SR", numbers, 8))
        extra = extra.set_column(5, "invitation_id", pa.nulls(count, pa.string()))
        extra = extra.set_column(4, "contact_id", pa.nulls(count, pa.string()))
        extra = extra.set_column(7, "nps", pa.array(np.where(rng.random(count) < 0.5, "11", "-1")))
        table, row_numbers = insert_rows(table, extra, source + 1)
        self.defects.add(
            "survey",
            "responses",
            relative,
            row_numbers,
            extra.column("response_id").to_pylist(),
            "nps",
            "nps outside 0..10",
        )
        self.first_relationship_drop_done = True
        return table

    # --- truth -------------------------------------------------------------------------------------

    def invited_truth(self) -> pa.Table:
        batches = self.sent

        def cat(getter):
            return np.concatenate([getter(b) for b in batches]) if batches else np.array([])

        sent = cat(lambda b: b.sent_date).astype("datetime64[D]")
        return pa.table(
            {
                "invitation_id": formats.ids("SI", cat(lambda b: b.number).astype(np.int64), 8),
                "survey_id": pa.array(cat(lambda b: b.survey_id).tolist(), type=pa.string()),
                "survey_type": pa.array(
                    cat(lambda b: np.full(b.number.shape[0], b.survey_type)).tolist(), type=pa.string()
                ),
                "account_id": self.account_ids.take(pa.array(cat(lambda b: b.account).astype(np.int64))),
                "contact_id": self.contact_ids.take(pa.array(cat(lambda b: b.contact_row).astype(np.int64))),
                "sent_month": pa.array(sent.astype("datetime64[M]").astype("datetime64[D]"), type=pa.date32()),
                "would_be_nps": pa.array(cat(lambda b: b.nps).astype(np.int64)),
                "response_propensity": pa.array(cat(lambda b: b.propensity).astype(np.float64)),
                "responded": pa.array(cat(lambda b: b.responded).astype(bool)),
            }
        )


def _comment_pool(rng: np.random.Generator, variants: int = 25) -> tuple[list[str], list[list[str]]]:
    by_mood = []
    for templates in (
        vocabulary.COMMENTS_DETRACTOR,
        vocabulary.COMMENTS_PASSIVE,
        vocabulary.COMMENTS_PROMOTER,
    ):
        pool = []
        for template in templates:
            for _ in range(variants):
                pool.append(
                    template.format(
                        name=vocabulary.FIRST_NAMES[rng.integers(len(vocabulary.FIRST_NAMES))],
                        competitor=vocabulary.COMPETITORS[rng.integers(len(vocabulary.COMPETITORS))],
                    )
                )
        by_mood.append(pool)
    return [comment for pool in by_mood for comment in pool], by_mood
