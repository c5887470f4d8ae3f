"""activity-log: activities, problems and the cadence check of the six systems (SPEC §3.2)."""

from __future__ import annotations

from shared.events import Topic
from shared.service import ServiceDefinition
from shared.settings import ServiceSettings

from . import api, store
from .domain import Requirements
from .handlers import handlers


class Settings(ServiceSettings):
    # A month is closed when the clock passes its end plus this grace.
    cadence_grace_hours: float = 24.0
    theme_party_days_per_month: int = 1
    joint_meetings_per_month: int = 1
    monthly_analyses_per_month: int = 1
    weekly_meetings_per_week: int = 1
    checkins_per_workday: int = 2

    def requirements(self) -> Requirements:
        return Requirements(
            theme_party_day=self.theme_party_days_per_month,
            joint_meeting=self.joint_meetings_per_month,
            monthly_analysis=self.monthly_analyses_per_month,
            weekly_meetings_per_week=self.weekly_meetings_per_week,
            checkins_per_workday=self.checkins_per_workday,
        )


definition = ServiceDefinition(
    name="activity_log",
    title="activity-log",
    port=8002,
    description="Activities and problems of each zone, and the cadence check of the six basic systems.",
    consumes=[Topic.ZONE_EVENTS, Topic.ACTIVITY_COMMANDS, Topic.CLOCK],
    emits=[Topic.ACTIVITY_EVENTS],
    handlers=handlers,
    indexes=store.INDEXES,
    routers=[api.router],
    settings_cls=Settings,
)
