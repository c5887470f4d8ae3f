"""permit-fasttrack: the permit workflow that runs by itself (SPEC §3.3)."""

from __future__ import annotations

from datetime import timedelta

from shared.events import Topic
from shared.service import ServiceDefinition
from shared.settings import ServiceSettings

from . import api, store
from .domain import GasLimits, Rules
from .handlers import handlers


class Settings(ServiceSettings):
    work_permit_sla_hours: float = 4.0
    drawing_review_sla_hours: float = 48.0
    gas_test_window_minutes: float = 30.0
    hot_work_cap_hours: float = 8.0
    confined_space_cap_hours: float = 8.0
    other_cap_hours: float = 24.0
    drawing_validity_days: float = 30.0
    gas_o2_min_pct: float = 19.5
    gas_o2_max_pct: float = 23.5
    gas_lel_max_pct: float = 10.0
    gas_h2s_max_mg_m3: float = 10.0
    gas_co_max_mg_m3: float = 30.0

    def rules(self) -> Rules:
        return Rules(
            work_permit_sla=timedelta(hours=self.work_permit_sla_hours),
            drawing_review_sla=timedelta(hours=self.drawing_review_sla_hours),
            gas_test_window=timedelta(minutes=self.gas_test_window_minutes),
            hot_work_cap=timedelta(hours=self.hot_work_cap_hours),
            confined_space_cap=timedelta(hours=self.confined_space_cap_hours),
            other_cap=timedelta(hours=self.other_cap_hours),
            drawing_validity=timedelta(days=self.drawing_validity_days),
            gas=GasLimits(
                o2_min=self.gas_o2_min_pct,
                o2_max=self.gas_o2_max_pct,
                lel_max=self.gas_lel_max_pct,
                h2s_max=self.gas_h2s_max_mg_m3,
                co_max=self.gas_co_max_mg_m3,
            ),
        )


definition = ServiceDefinition(
    name="permit_fasttrack",
    title="permit-fasttrack",
    port=8003,
    description="Permits requested, routed, checked and issued by themselves from the enterprise's own events.",
    consumes=[
        Topic.PROJECTS,
        Topic.SAFETY,
        Topic.ZONE_EVENTS,
        Topic.ACTIVITY_EVENTS,
        Topic.PERMIT_COMMANDS,
        Topic.CLOCK,
    ],
    emits=[Topic.PERMIT_EVENTS],
    handlers=handlers,
    indexes=store.INDEXES,
    routers=[api.router],
    settings_cls=Settings,
)
