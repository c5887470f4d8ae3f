"""activity-log: activities, problems and the cadence check of the six systems (SPEC §3.2)."""

from __future__ import annotations

from dataclasses import fields, replace

from pydantic import Field, field_validator

from shared.events import Topic
from shared.service import ServiceDefinition
from shared.settings import ServiceSettings

from . import api, store
from .domain import Requirements
from .handlers import handlers


class Settings(ServiceSettings):
    # A month is closed when the clock passes its end plus this grace.
    cadence_grace_hours: float = 24.0
    theme_party_days_per_month: int = Field(1, ge=0)
    joint_meetings_per_month: int = Field(1, ge=0)
    monthly_analyses_per_month: int = Field(1, ge=0)
    weekly_meetings_per_week: int = Field(1, ge=0)
    checkins_per_workday: int = Field(2, ge=0)
    # Per zone, a different requirement for some rules, e.g. a zone that meets twice a week:
    # PBZ_CADENCE_ZONE_OVERRIDES='{"ZC-P001": {"weekly_meetings_per_week": 2}}'
    # (keys are the fields of Requirements; a typo stops the service at start, not silently).
    cadence_zone_overrides: dict[str, dict[str, int]] = Field(default_factory=dict)

    @field_validator("cadence_zone_overrides")
    @classmethod
    def _known_requirements(cls, value: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
        known = {f.name for f in fields(Requirements)}
        for zone_id, override in value.items():
            unknown = sorted(set(override) - known)
            if unknown:
                raise ValueError(f"zone {zone_id}: unknown requirement {unknown}; known: {sorted(known)}")
            negative = sorted(k for k, v in override.items() if v < 0)
            if negative:
                raise ValueError(f"zone {zone_id}: requirement {negative} must not be negative")
        return value

    def requirements(self, zone_id: str | None = None) -> Requirements:
        """The zone's requirements: the service-wide defaults, with its own overrides if any."""
        defaults = Requirements(
            theme_party_day=self.theme_party_days_per_month,
            joint_meeting=self.joint_meetings_per_month,
            monthly_analysis=self.monthly_analyses_per_month,
            weekly_meetings_per_week=self.weekly_meetings_per_week,
            checkins_per_workday=self.checkins_per_workday,
        )
        override = self.cadence_zone_overrides.get(zone_id or "", {})
        return replace(defaults, **override) if override else defaults


definition = ServiceDefinition(
    name="activity_log",
    title="activity-log",
    port=8002,
    description="Activities and problems of each zone, and the cadence check of the six basic systems.",
    consumes=[Topic.ZONE_EVENTS, Topic.ACTIVITY_COMMANDS, Topic.CLOCK, Topic.ACTIVITY_WORK],
    emits=[Topic.ACTIVITY_EVENTS],
    work_topic=Topic.ACTIVITY_WORK,
    handlers=handlers,
    indexes=store.INDEXES,
    routers=[api.router],
    settings_cls=Settings,
)
