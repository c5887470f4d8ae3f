"""Consumer lag on the real broker: ``pbz lag`` while a service is stopped (growing) and
after it caught up (zero); inside a service, the gauge per partition and ``/readyz`` red
while the lag keeps growing past the setting."""

from __future__ import annotations

import json
import uuid
from typing import Any

from shared.events import Topic
from shared.metrics import CONSUMER_LAG
from tests.integration import probe_service
from tests.integration.test_pipeline import counter, inspection
from tests.support import Bus, eventually, new_suffix, pbz, running


async def lag_of(group: str) -> int:
    rc, out, err = await pbz("lag", "--group", group, "--json")
    assert rc == 0, out + err
    rows = [json.loads(line) for line in out.splitlines()]
    assert rows and all(r["group"] == group for r in rows)
    # The probe also follows pbz.clock (every service does); the test counts its own topic.
    quality = [r for r in rows if r["topic"] == Topic.QUALITY.value]
    assert quality and {r["topic"] for r in rows} <= {Topic.QUALITY.value, Topic.CLOCK.value}
    return sum(r["lag"] for r in quality)


async def test_lag_grows_while_a_service_is_stopped_and_is_zero_once_it_caught_up() -> None:
    project = f"P-{uuid.uuid4().hex[:6]}"
    suffix = new_suffix()
    group = f"pbz-probe{suffix}"
    async with Bus() as bus:
        async with running(probe_service.definition, suffix=suffix, drop=False):
            pass  # the group exists and has committed its starting positions; now it is stopped
        assert await lag_of(group) == 0
        for _ in range(3):
            await bus.publish("quality.procedure-inspected", inspection(project), key=project)
        assert await lag_of(group) == 3
        for _ in range(2):
            await bus.publish("quality.procedure-inspected", inspection(project), key=project)
        assert await lag_of(group) == 5  # growing while nobody consumes
        rc, table, _ = await pbz("lag", "--group", group, "--lagging")
        assert rc == 0 and f"{group}: lag 5" in table and "committed" in table
        async with running(probe_service.definition, suffix=suffix) as rt:
            await eventually(lambda: _is(counter(rt, project), 5), what="all five handled")
            await eventually(lambda: _is(lag_of(group), 0), timeout=30, what="lag back to zero")


async def _is(value: Any, wanted: int) -> bool:
    return bool(await value == wanted)


async def test_lag_gauge_and_readiness_red_while_falling_behind() -> None:
    project = f"P-{uuid.uuid4().hex[:6]}"
    probe_service.transient_failures["stuck"] = 10**6  # the first message cannot be stored
    try:
        async with (
            Bus() as bus,
            running(
                probe_service.definition, lag_interval_s=0.2, lag_alert_messages=2, lag_alert_samples=2
            ) as rt,
        ):
            await bus.publish("quality.procedure-inspected", inspection(project, "stuck"), key=project)
            await eventually(lambda: rt.pipeline.waiting_on is not None, what="the partition stuck")
            assert (await rt.readiness())["lag"] == "ok"

            async def behind() -> bool:
                await bus.publish("quality.procedure-inspected", inspection(project), key=project)
                return (await rt.readiness())["lag"].startswith("falling behind")

            await eventually(behind, timeout=60, what="readiness red for the lag")
            gauge = sum(
                CONSUMER_LAG.labels("probe", Topic.QUALITY.value, str(p))._value.get() for p in range(6)
            )
            assert gauge > 2
            probe_service.transient_failures["stuck"] = 0  # the store is back: it catches up
            await eventually(
                lambda: _ready_lag(rt), timeout=60, what="readiness green again once catching up"
            )
    finally:
        probe_service.transient_failures.clear()


async def _ready_lag(rt: Any) -> bool:
    return bool((await rt.readiness())["lag"] == "ok")
