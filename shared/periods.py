"""Calendar periods in the site's time zone: months ``YYYY-MM``, quarters ``YYYY-Qn``, ISO weeks."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

# Periods an HTTP query may name: the catalogue's patterns with years a calendar can hold
# (1900-2199), so a far-off year is refused as invalid input instead of failing the date
# arithmetic (year 0 or 10000 out of range) once a service has data to evaluate.
QUERY_PERIOD_MONTH = r"^(19|20|21)\d{2}-(0[1-9]|1[0-2])$"
QUERY_PERIOD_ANY = r"^(19|20|21)\d{2}-((0[1-9]|1[0-2])|Q[1-4])$"


def month_of(d: date | datetime, tz: ZoneInfo | None = None) -> str:
    if isinstance(d, datetime) and tz is not None:
        d = d.astimezone(tz)
    return f"{d.year:04d}-{d.month:02d}"


def quarter_of(d: date | datetime, tz: ZoneInfo | None = None) -> str:
    if isinstance(d, datetime) and tz is not None:
        d = d.astimezone(tz)
    return f"{d.year:04d}-Q{(d.month - 1) // 3 + 1}"


def period_days(period: str) -> tuple[date, date]:
    """First and last calendar day of a month or quarter."""
    year = int(period[:4])
    if "Q" in period:
        q = int(period[-1])
        first = date(year, 3 * (q - 1) + 1, 1)
        months = 3
    else:
        first = date(year, int(period[5:7]), 1)
        months = 1
    m = first.month - 1 + months
    after = date(first.year + m // 12, m % 12 + 1, 1)
    return first, after - timedelta(days=1)


def period_bounds(period: str, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) of the period as aware datetimes in ``tz``."""
    first, last = period_days(period)
    return (
        datetime.combine(first, time.min, tz),
        datetime.combine(last + timedelta(days=1), time.min, tz),
    )


def next_period(period: str) -> str:
    _, last = period_days(period)
    nxt = last + timedelta(days=1)
    return quarter_of(nxt) if "Q" in period else month_of(nxt)


def periods_closed_between(
    after: datetime, until: datetime, tz: ZoneInfo, grace: timedelta, quarters: bool = False
) -> list[str]:
    """Periods whose end + grace falls in (after, until]: what a clock move closes.

    Oldest first. Walks months (and quarters, if asked) from the one containing
    ``after - grace`` so a jump of several periods closes each of them once.
    """
    if until <= after:
        return []
    out: list[str] = []
    start = (after - grace).astimezone(tz)
    kinds = [month_of] + ([quarter_of] if quarters else [])
    for kind in kinds:
        p = kind(start)
        while True:
            _, end = period_bounds(p, tz)
            due = end + grace
            if due > until:
                break
            if due > after:
                out.append(p)
            p = next_period(p)
    return sorted(out, key=lambda p: period_bounds(p, tz)[1])


def iso_weeks_of_month(period: str) -> list[tuple[int, int]]:
    """ISO weeks (year, week) that belong to a month: those whose Thursday falls in it."""
    first, last = period_days(period)
    d = first + timedelta(days=(3 - first.weekday()) % 7)  # first Thursday
    weeks = []
    while d <= last:
        iso = d.isocalendar()
        weeks.append((iso.year, iso.week))
        d += timedelta(days=7)
    return weeks


def days(first: date, last: date) -> Iterator[date]:
    d = first
    while d <= last:
        yield d
        d += timedelta(days=1)
