"""zone-registry: zones, rosters and automatic coverage of key projects (SPEC §3.1)."""

from __future__ import annotations

from shared.events import Topic
from shared.service import ServiceDefinition
from shared.settings import ServiceSettings

from . import api, store
from .handlers import handlers


class Settings(ServiceSettings):
    pass


definition = ServiceDefinition(
    name="zone_registry",
    title="zone-registry",
    port=8001,
    description="Zones, their units and rosters, and automatic coverage of key projects.",
    consumes=[Topic.PROJECTS, Topic.ZONE_COMMANDS, Topic.CLOCK, Topic.ZONE_WORK],
    emits=[Topic.ZONE_EVENTS],
    work_topic=Topic.ZONE_WORK,
    handlers=handlers,
    indexes=store.INDEXES,
    routers=[api.router],
    settings_cls=Settings,
)
