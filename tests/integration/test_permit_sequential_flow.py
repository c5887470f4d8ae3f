"""The old sequential sign-off over the real broker and store (issue 19): a zone with
``signing: sequential`` asks its offices one after another through the same permit-fasttrack,
refuses an office out of turn or outside office hours, and approves once the owner has signed."""

from __future__ import annotations

from typing import Any

from services.permit_fasttrack.app import definition
from shared.events import CloudEvent, Topic
from tests.integration.permit_site import Site, at, member, of, tag, zone
from tests.support import Bus, serving

OFFICES = {
    "construction_safety_officer": "Q-1",
    "contractor_safety_officer": "Q-2",
    "contractor_engineer": "Q-3",
    "contractor_manager": "Q-4",
    "supervision": "Q-5",
    "owner": "Q-6",
}
EMPLOYED = {"Q-5": "S1", "Q-6": "M1"}


def sequential_zone(zone_id: str, project: str) -> dict[str, Any]:
    z = zone(zone_id, project)
    z["members"] += [
        {**member(m, office), "employer_unit_id": EMPLOYED.get(m, "C1")} for office, m in OFFICES.items()
    ]
    z["settings"] = {"signing": "sequential", "theme_party_day": None}
    return z


def asked(events: list[CloudEvent], permit_id: str) -> list[str]:
    return [e.data["role"] for e in of(events, permit_id, "permit.signature-requested")]


async def test_a_sequential_zone_asks_each_office_after_the_one_before_in_office_hours() -> None:
    t = tag()
    async with Bus() as bus, serving(definition) as (rt, _):
        out = await bus.watch(Topic.PERMIT_EVENTS.value, Topic.PERMIT_COMMANDS.value)
        site = Site(bus, out, f"ZS-{t}", f"PS-{t}", "A")
        await site.start(rt, at(6), sequential_zone(site.zone_id, site.project))
        p = f"WP-WS-{t}-GW"
        await site.plan(f"WS-{t}", [], at(15), at(17), at(7))
        events = await site.wait(p, "permit.signature-requested")
        assert asked(events, p) == ["construction_safety_officer"]
        assert of(events, p, "permit.signature-requested")[0].data["permit"]["signing"] == "sequential"

        # Before the office opens, and out of turn: refused, with the reason.
        await site.sign(p, "construction_safety_officer", at(7, 30), member_id="Q-1")
        await site.sign(p, "contractor_engineer", at(9), member_id="Q-3")
        assert await site.wait_refusals(p, 2) == [["outside_office_hours"], ["out_of_turn"]]

        for i, (office, who) in enumerate(OFFICES.items()):
            await site.tick(at(9 + i))
            await site.sign(p, office, at(9 + i), member_id=who)
            if i + 1 < len(OFFICES):
                events = await site.wait(p, "permit.signature-requested", i + 2)
                assert asked(events, p)[-1] == list(OFFICES)[i + 1]
        events = await site.wait(p, "permit.approved")
        assert asked(events, p) == list(OFFICES)  # each asked once, in order
        signed = of(events, p, "permit.approved")[0].data["permit"]["signatures"]
        assert [s["role"] for s in signed] == list(OFFICES)
