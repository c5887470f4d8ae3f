"""Gauges read from a service's store: the permits waiting, per status, for the dashboard.

permit-fasttrack lists the probe in its definition (``probes=[permits_waiting]``)."""

from __future__ import annotations

import uuid

from services.permit_fasttrack.app import definition
from services.permit_fasttrack.domain import permit_id_for
from shared.events import Topic
from shared.metrics import PERMITS_WAITING
from shared.probes import permits_waiting
from tests.integration.permit_site import at, of, work, zone
from tests.support import Bus, eventually, running, stored


async def test_permits_waiting_per_status() -> None:
    tag = uuid.uuid4().hex[:6]
    zone_id, project = f"Z-{tag}", f"P-{tag}"
    assert permits_waiting in definition.probes
    pending = PERMITS_WAITING.labels("permit-fasttrack", "pending_signatures")
    async with Bus() as bus, running(definition, lag_interval_s=0.2) as rt:
        out = await bus.watch(Topic.PERMIT_EVENTS.value)
        await bus.publish("clock.ticked", {"now": at(6).isoformat()}, key="clock")
        await bus.publish("zone.established", {"zone": zone(zone_id, project)}, key=zone_id, time=at(6))
        await stored(rt, "zones", zone_id)
        await eventually(lambda: pending._value.get() == 0, what="no permit yet")
        for n in (1, 2):
            await bus.publish(
                "work.planned",
                work(f"W{n}-{tag}", project, "A", ["lifting"], at(9), at(12), load_t=60),
                key=project,
                time=at(7),
            )
        await out.wait_for(
            lambda es: all(
                of(es, permit_id_for(f"W{n}-{tag}", "lifting"), "permit.signature-requested") for n in (1, 2)
            )
        )
        await eventually(lambda: pending._value.get() == 2, what="two permits waiting for signatures")
        assert PERMITS_WAITING.labels("permit-fasttrack", "blocked")._value.get() == 0
