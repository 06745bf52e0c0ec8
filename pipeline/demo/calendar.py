"""Months of the simulated history and the dates inside them, as numpy datetime64 arrays.

Month index ``t`` runs from 0 (the first simulated month) to ``months - 1`` (``end_month``). Dates are
``datetime64[D]``; "no date" is ``NaT``. Nothing here looks at today's date.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

NAT = np.datetime64("NaT", "D")


@dataclass(frozen=True)
class Calendar:
    first_month: np.datetime64  # datetime64[M]
    months: int

    @classmethod
    def ending(cls, end_month: str, months: int) -> Calendar:
        try:
            end = np.datetime64(dt.datetime.strptime(end_month, "%Y-%m").strftime("%Y-%m"), "M")
        except ValueError as error:
            raise ValueError(f"end_month must be YYYY-MM, got {end_month!r}") from error
        return cls(first_month=end - (months - 1), months=months)

    def month(self, t: int | np.ndarray) -> np.ndarray:
        return self.first_month + np.asarray(t)

    def month_start(self, t: int | np.ndarray) -> np.ndarray:
        return self.month(t).astype("datetime64[D]")

    def month_end(self, t: int | np.ndarray) -> np.ndarray:
        return (self.month(t) + 1).astype("datetime64[D]") - 1

    def days_in_month(self, t: int | np.ndarray) -> np.ndarray:
        return (self.month_end(t) - self.month_start(t)).astype(np.int64) + 1

    def calendar_month(self, t: int) -> int:
        """1..12"""
        return int(self.month(t).astype(np.int64) % 12) + 1

    def stamp(self, t: int) -> str:
        """The extract date of a drop made at the end of month t, as it appears in file names."""
        return str(self.month_end(t)).replace("-", "")

    def random_days(
        self,
        rng: np.random.Generator,
        t: int | np.ndarray,
        size: int | None = None,
        first_day: int = 1,
        last_day: int | None = None,
    ) -> np.ndarray:
        """Uniform random dates in month(s) t, from day ``first_day`` to ``last_day`` (default: month end)."""
        t = np.asarray(t)
        n = size if size is not None else t.shape[0]
        start = self.month_start(t)
        last = self.days_in_month(t) if last_day is None else np.minimum(last_day, self.days_in_month(t))
        offsets = first_day - 1 + np.floor(rng.random(n) * (last - first_day + 1)).astype(np.int64)
        return start + offsets.astype("timedelta64[D]")

    @property
    def quarter_ends(self) -> list[int]:
        """Month indexes at which quarterly drops are made: calendar quarter ends, and the last month."""
        ends = [t for t in range(self.months) if self.calendar_month(t) % 3 == 0]
        if not ends or ends[-1] != self.months - 1:
            ends.append(self.months - 1)
        return ends

    @property
    def snapshot_months(self) -> list[int]:
        """CRM full-snapshot drops: every six months of the history, and the last month."""
        months = [t for t in range(5, self.months, 6)]
        if not months or months[-1] != self.months - 1:
            months.append(self.months - 1)
        return months


def month_index_of(dates: np.ndarray, calendar: Calendar) -> np.ndarray:
    """Month index of each date (negative before the history; NaT gives a large negative number)."""
    return (dates.astype("datetime64[M]") - calendar.first_month).astype(np.int64)
