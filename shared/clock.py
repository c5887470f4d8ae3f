"""The clock of SPEC §5.

``wall``: now is the machine's time. ``events``: now is the latest ``clock.ticked`` seen
on ``pbz.clock``; it only moves forward, and before the first tick it is the epoch (no
deadline falls due until a tick says so). Services never call ``datetime.now()``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal
from zoneinfo import ZoneInfo

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Clock:
    def __init__(self, mode: Literal["wall", "events"] = "wall", timezone: str = "Asia/Shanghai") -> None:
        self.mode = mode
        self.tz = ZoneInfo(timezone)
        self._ticked: datetime = EPOCH

    @property
    def event_driven(self) -> bool:
        return self.mode == "events"

    def now(self) -> datetime:
        if self.mode == "wall":
            return datetime.now(self.tz)
        return self._ticked.astimezone(self.tz)

    def advance(self, to: datetime) -> bool:
        """Move an event-driven clock forward. Returns False for a tick that is not later."""
        if to.tzinfo is None:
            raise ValueError("clock ticks must carry an offset")
        if to <= self._ticked:
            return False
        self._ticked = to
        return True

    def reset(self) -> None:
        """Back to before the first tick (a store rebuilt from the topics replays the ticks)."""
        self._ticked = EPOCH

    def moment(self, event_time: datetime) -> datetime:
        """The moment a check happens: the later of now and the triggering event's time."""
        return max(self.now(), event_time).astimezone(self.tz)

    def local(self, dt: datetime) -> datetime:
        return dt.astimezone(self.tz)
