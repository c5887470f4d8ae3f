"""The permit office for one handled message: loads a permit, gathers the facts the domain asks
for, and stages the result — the permit document, its open-permit entry (or its retention record
once finished), and the events its transitions recorded, each with its history entry's event id.
Handlers only load, call the domain and stage (GUIDE: rooms)."""

from __future__ import annotations

from typing import Any

from shared import zone_copy
from shared.events.catalog import FactKind, PermitStatus
from shared.pipeline import HandlerContext, Handlers

from . import store
from .domain import OPEN_UNISSUED, Facts, GasReading, People, Permit, Rules
from .domain.classes import REGISTER_ROLES, SPECIAL_CLASSES

handlers = Handlers()
# Written only from pbz.permit.work keyed by project (R1), versioned (R3): a late copy of an older
# change from an instance that lost the partition never overwrites a newer permit. A permit's
# version is its own (the state machine counts each recorded change); the open entry's and the
# retention record's follow the stored one.
handlers.aggregate(store.PERMITS, store.OPEN, store.RETENTION)
WORK_EVENTS = "pbz.permit.work"


def rules_of(ctx: HandlerContext) -> Rules:
    settings = ctx.settings
    rules: Rules = settings.rules() if settings is not None and hasattr(settings, "rules") else Rules()
    return rules


class Desk:
    def __init__(self, ctx: HandlerContext) -> None:
        self.ctx = ctx
        self.rules = rules_of(ctx)
        self.tz = ctx.tz
        self._before: dict[str, str] = {}

    @property
    def at(self) -> Any:
        return self.ctx.moment

    async def load(self, permit_id: str) -> Permit | None:
        doc = await self.ctx.get(store.PERMITS, permit_id)
        if doc is None:
            return None
        permit = store.permit_of(doc)
        self._before[permit_id] = str(permit.status)
        return permit

    # ------------------------------------------------------------------ facts

    async def zone_for(self, permit: Permit) -> dict[str, Any] | None:
        """The permit's zone; for a permit waiting on one, the active zone covering its project."""
        if permit.zone_id and not permit.needs_zone():
            return await self.ctx.get(zone_copy.ZONES, permit.zone_id)
        return await zone_copy.active_zone_for_project(self.ctx, permit.project_id)

    async def people(
        self, zone: dict[str, Any] | None, roles: set[str] | None = None, members: tuple[str | None, ...] = ()
    ) -> People:
        """The roster, and of the authorization register only what the step needs: the holders of
        ``roles`` (a permit being routed) and the entries of ``members`` (who acts, who is named)."""
        wanted = sorted((roles or set()) & REGISTER_ROLES)
        entries = await store.register(self.ctx.db, wanted) if wanted else {}
        for member_id in members:
            if member_id and member_id not in entries:
                entry = await self.ctx.get(store.REGISTER, member_id)
                if entry is not None:
                    entries[member_id] = entry
        return People(zone=zone, register=entries, tz=self.tz)

    async def people_for(
        self, permit: Permit, routing: bool = False, members: tuple[str | None, ...] = ()
    ) -> People:
        """``routing``: the permit may (re)ask its roles, so the register's holders are loaded."""
        roles = set(permit.required_roles) if routing else None
        return await self.people(await self.zone_for(permit), roles, members)

    async def facts(self, permit: Permit, people: People) -> Facts:
        zone = people.zone
        facts = Facts(people=people, tz=self.tz)
        if zone is not None:
            facts.contractor_is_subcontractor = any(
                u["unit_id"] == permit.contractor_unit_id and u["role"] == "subcontractor"
                for u in zone["units"]
            )
            start = permit.planned_start
            if permit.is_work and start is not None:
                day = start.astimezone(self.tz).date().isoformat()
                facts.morning_checkin = (
                    await self.ctx.get(store.CHECKINS, store.checkin_id(zone["zone_id"], day)) is not None
                )
        if permit.is_work and permit.work_class in SPECIAL_CLASSES:
            facts.live = await store.live_placed(self.ctx, permit.project_id)
        return facts

    async def settle(self, permit: Permit, people: People | None = None) -> None:
        """Issue (or block) an approved permit whose facts may have changed."""
        if (
            permit.status not in (PermitStatus.APPROVED, PermitStatus.BLOCKED)
            or not permit.signatures_requested
        ):
            return
        people = people or await self.people_for(permit)
        permit.evaluate(await self.facts(permit, people), self.at, self.rules)

    async def import_gas_test(self, permit: Permit) -> None:
        """A new (or moved) permit starts with the latest gas test of its area (one that arrived
        before the permit existed; later ones come as facts)."""
        if not permit.needs_gas() or permit.area is None:
            return
        doc = await store.latest_gas_test(self.ctx.db, permit.project_id, permit.area)
        if doc is not None:
            permit.gas_test(GasReading.model_validate(doc), self.at, self.rules)

    # ------------------------------------------------------------------ staging

    async def stage(self, permit: Permit, people: People | None = None) -> None:
        changes = permit.drain()
        if not changes:
            return
        key = permit.zone_id or permit.project_id
        for change in changes:
            event = self.ctx.emit(change.type, change.data, key=key)
            change.entry.event_id = event.id
        self.ctx.put(store.PERMITS, store.permit_doc(permit))
        if permit.finished:
            self.ctx.delete(store.OPEN, permit.permit_id)
            purge_at = (permit.finished_at or self.at) + self.rules.retention
            self.ctx.put(
                store.RETENTION,
                {"_id": permit.permit_id, "project_id": permit.project_id, "purge_at": purge_at},
            )
        else:
            hosts = people.holders("host_rep") if people is not None else []
            if permit.status == PermitStatus.COMPLETING and people is None:
                hosts = (await self.people_for(permit)).holders("host_rep")
            self.ctx.put(store.OPEN, store.index_entry(permit, self.rules, hosts))
        before = self._before.get(permit.permit_id)
        if before == PermitStatus.ISSUED and permit.status != PermitStatus.ISSUED:
            # It left the area: permits waiting on it (SIMOPS) may go now.
            self.ctx.emit(
                "permit-work.fact",
                {
                    "fact": FactKind.AREA_FREED,
                    "project_id": permit.project_id,
                    "data": {"permit_id": permit.permit_id},
                },
                key=permit.project_id,
            )
        self._before[permit.permit_id] = str(permit.status)


def open_unissued(entry: dict[str, Any]) -> bool:
    return entry.get("status") in {s.value for s in OPEN_UNISSUED}


def is_register_role(role: str) -> bool:
    return role in REGISTER_ROLES
