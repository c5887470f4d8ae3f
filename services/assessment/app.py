"""assessment: "2+1" scores and rankings from live events (SPEC §3.4)."""

from __future__ import annotations

from shared.events import Topic
from shared.service import ServiceDefinition
from shared.settings import ServiceSettings

from . import api, store
from .domain import Weights
from .handlers import handlers


class Settings(ServiceSettings):
    # A period is closed this long after its end: late enough for the cadence check
    # (activity-log closes a month at its end + 24 h) to have arrived.
    close_grace_hours: float = 36.0
    weight_indicators: float = 0.7
    weight_evaluation: float = 0.3
    weight_mutual: float = 0.5
    weight_management: float = 0.5

    def weights(self) -> Weights:
        return Weights(
            self.weight_indicators, self.weight_evaluation, self.weight_mutual, self.weight_management
        )


definition = ServiceDefinition(
    name="assessment",
    title="assessment",
    port=8004,
    description='"2+1" scores, indicators and rankings of every zone, from live events.',
    consumes=[
        Topic.ZONE_EVENTS,
        Topic.ACTIVITY_EVENTS,
        Topic.PERMIT_EVENTS,
        Topic.SAFETY,
        Topic.QUALITY,
        Topic.PROJECTS,
        Topic.ASSESSMENT_COMMANDS,
        Topic.CLOCK,
        Topic.ASSESSMENT_WORK,
    ],
    emits=[Topic.ASSESSMENT_EVENTS],
    work_topic=Topic.ASSESSMENT_WORK,
    handlers=handlers,
    indexes=store.INDEXES,
    routers=[api.router],
    settings_cls=Settings,
)
