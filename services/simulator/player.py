"""Plays a plan through Kafka, as the enterprise systems and the people on site would.

Time is driven by ``clock.ticked`` events (the services run with ``PBZ_CLOCK=events``).
Each step publishes what is due, waits until every service has caught up (consumer lag 0),
ticks the clock, waits again, then reads what the services said and reacts the way people
would: filling a new zone's roster, signing a permit when asked (the right member, after
a realistic delay; now and then the wrong one first), closing permits when the work is
done, a fresh gas test and a resume after a suspension.

Every command names who sends it (the CloudEvents authcontext), read from the token the
provider issued to that person (``identity.Identity``): the party office enrols each zone's
secretary, the secretary the rest of the roster; the organiser records an activity; a
unit's own member rates for it; a signer signs. Enterprise facts carry their publisher.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from shared.events import CONTENT_TYPE, CloudEvent, Topic, make_event, new_event_id, spec_for

from .catch_up import CatchUp, Waited
from .identity import Identity
from .plan import TZ, Action, Plan
from .realm import PARTY_OFFICE, PUBLISHERS
from .signers import Expectation, refusal
from .twin import DESK_DELAY_MINUTES, desk_time, is_twin_permit
from .works import Work, gas_data
from .world import PlannedZone

log = logging.getLogger("pbz.simulator")

SOURCES = {
    Topic.PROJECTS: "pm-system",
    Topic.SAFETY: "hse-system",
    Topic.QUALITY: "quality-system",
    Topic.CLOCK: "pbz-clock",
}
PUBLISHER_OF = {Topic(topic): client for client, topic in PUBLISHERS.items()}
PARTY_OFFICER = PARTY_OFFICE[0]
# The roster role that rates for each kind of unit in the "2+1" evaluation.
RATER_ROLE = {"host": "host_rep", "construction": "construction_lead", "management": "management_safety"}
WATCHED = [Topic.ZONE_EVENTS, Topic.ACTIVITY_EVENTS, Topic.PERMIT_EVENTS, Topic.ASSESSMENT_EVENTS, Topic.DLQ]
# Approver roles of GB 30871-2022 Table B.1 held in the enterprise's authorization register.
REGISTER_ROLES = {
    "enterprise_leader",
    "safety_department",
    "plant_manager",
    "professional_department",
    "power_supply_unit",
}
REASON_WORDS = {
    "no_active_zone": "no active zone covers the project",
    "contractor_safety_not_adopted": "contractor safety system not adopted",
    "subcontractor_safety_not_adopted": "subcontractor safety system not adopted",
    "no_morning_checkin": "no morning check-in on site that day",
    "gas_test_missing": "no gas sample within 30 minutes before the work starts",
    "gas_test_failed": "the gas test failed",
    "simops_conflict": "another hot work overlaps in the same area",
    # refusals of a signature
    "signer_lacks_role": "the signer does not hold that role on the zone roster",
    "role_not_required": "this permit needs no signature for that role",
    "role_already_signed": "that role has already signed",
    "permit_finished": "the permit is already finished",
    "unknown_permit": "no such permit",
    "signatures_not_requested": "signatures are not being collected yet",
    # refusals for who sent a command
    "actor_unknown": "the command names nobody",
    "not_party_office": "only the party office may do that",
    "not_secretary": "only the zone's secretary or the party office changes the roster",
    "self_enrolment": "nobody adds themselves to a roster",
    "actor_not_on_roster": "the sender is not on the zone's roster",
    "evaluator_not_of_unit": "the rater is not employed by the unit rated for",
    # GB 30871-2022 and the permit's life
    "guardian_missing": "no guardian named",
    "guardian_not_on_site": "the guardian is not on site",
    "briefing_missing": "no safety briefing yet",
    "ticket_not_checked": "the shift leader has not checked the ticket",
    "isolation_inadequate": "a water seal or closed valve is not an isolation",
    "isolation_not_applied": "an isolation is not confirmed yet",
    "certificate_expired": "the signer's certificate has expired",
    "not_on_site": "signed away from the work area",
    "extension_beyond_cap": "beyond the class's validity cap: a new permit is needed",
    "gas_retest_required": "a new gas test is needed first",
    "open_comments": "review comments are still open",
    "role_unit_mismatch": "the signer is not employed by the unit of that role",
    "already_signed_other_role": "that person already signed another role",
    "gas_monitoring_lapsed": "no gas reading for two hours",
    "handover_missing": "the shift handover was not acknowledged",
    "guardian_left": "the guardian left the site",
    "zone_closed": "the zone closed",
    "incident": "an incident in its area",
}


LIFE_WORDS: dict[str, Callable[[dict[str, Any]], str]] = {
    "permit.revised": lambda d: (
        f"re-planned ({', '.join(d['changed'])})"
        + ("; approvals void, asked again" if d["approvals_void"] else "")
    ),
    "permit.cancelled": lambda d: f"cancelled ({d.get('reason')})",
    "permit.lapsed": lambda d: "lapsed: not issued by its planned end",
    "permit.interrupted": lambda d: f"interrupted: {d['reason']}",
    "permit.work-resumed": lambda d: (
        "work resumed" + (" after a new gas test" if d.get("gas_test_id") else "")
    ),
    "permit.extended": lambda d: f"extended to {d['valid_until'][11:16]}",
    "permit.completion-refused": lambda d: f"completion refused: {d['reason']}",
    "permit.closed": lambda d: "closed after completion acceptance",
    "permit.no-signer": lambda d: f"has nobody to sign as {d['role']}: the zone secretary must act",
}


def hm(minutes: float) -> str:
    h, m = divmod(round(minutes), 60)
    return f"{h}h{m:02d}m" if h else f"{m}m"


@dataclass
class Stats:
    published: int = 0
    published_by_type: Counter[str] = field(default_factory=Counter)
    seen_by_type: Counter[str] = field(default_factory=Counter)
    steps: int = 0
    wall_s: float = 0.0
    dlq: int = 0
    waited: Waited = field(default_factory=Waited)  # for every service to catch up (steps and ticks)
    sign_in_s: float = 0.0  # at the provider: people signing in before their first action, refreshes
    signed_in: int = 0  # people signed in when their first action was due
    signed_in_ahead: int = 0  # people signed in beside the month, before they acted


@dataclass
class Observed:
    """What the simulator saw and did that the report checks the services against: each
    permit's first issue and its unissued end (cancelled, lapsed), its refusals to sign, and
    when the run's clock stopped."""

    first_issued: dict[str, datetime]
    ended_unissued: dict[str, datetime]
    refusals: list[str]
    run_end: datetime


class Player:
    def __init__(
        self,
        plan: Plan,
        *,
        bootstrap: str,
        groups: dict[str, list[str]],
        identity: Identity,
        pace_s_per_day: float = 0.0,
        narrate: Callable[[str], None] | None = None,
        progress: Callable[[str], None] | None = None,
        seed: int = 7,
        catch_up_timeout_s: float = 120.0,
    ) -> None:
        self.plan = plan
        self.world = plan.world
        self.bootstrap = bootstrap
        self.identity = identity
        self.groups = groups  # consumer group -> topics it consumes
        self.pace = pace_s_per_day
        self.say = narrate or (lambda line: None)
        # Each played day's summary: narrated with the rest, or alone when the month plays fast.
        self.progress = progress or self.say
        self.rng = random.Random(seed * 104729 + 3)
        self.catch_up_timeout_s = catch_up_timeout_s
        self.queue: list[Action] = list(plan.actions)
        heapq.heapify(self.queue)
        self._seq = 10**8
        self.zone_ids: dict[str, str] = {}  # planned zone key -> zone id
        self.zone_names: dict[str, str] = {}
        self.zone_status: dict[str, str] = {}
        self.on_roster: set[tuple[str, str]] = set()  # (zone key, member id) added
        self.permits: dict[str, dict[str, Any]] = {}
        self.requested_at: dict[str, datetime] = {}
        self.closing: set[str] = set()
        self.asked: dict[tuple[str, str], int] = {}  # (permit, role) -> revision signed for
        self.prepared: set[str] = set()
        self.expired_tried: set[str] = set()
        self.resubmitted: set[str] = set()
        self.interrupted: set[str] = set()
        self.extending: set[str] = set()
        self.handed_over: set[str] = set()
        # The widened ground truth (issue 19): first issue of each permit as the simulator saw
        # it, the roles it signed for (per permit and revision), and its refusals to sign for a
        # role the service should not have asked for.
        self.first_issued: dict[str, datetime] = {}
        self.signed_roles: dict[tuple[str, int], set[str]] = {}
        self.refusals: list[str] = []
        self.ended_unissued: dict[str, datetime] = {}
        self.finished: set[str] = set()  # closed or expired
        self.events: list[CloudEvent] = []
        self.stats = Stats()
        self.now = plan.clock_start
        self.day_counts: Counter[str] = Counter()

    # ---------------------------------------------------------------- lifecycle

    async def __aenter__(self) -> Player:
        # No linger: each step's sends are flushed at once, and a linger only delayed that
        # flush (acknowledged in 6.9 ms with 5 ms of linger, 1.1-1.6 ms without: bench/step_floor.py).
        self.producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap, enable_idempotence=True, linger_ms=0
        )
        self.catch_up = CatchUp(self.bootstrap, self.groups, self.catch_up_timeout_s, self.stats.waited)
        # Reads what the services say; short fetch waits, since every step waits on it.
        self.reader = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap, enable_auto_commit=False, fetch_max_wait_ms=10
        )
        await self.producer.start()
        await self.catch_up.start()
        await self.reader.start()
        cluster = await self.reader._client.fetch_all_metadata()
        self.watched = [
            TopicPartition(t.value, p)
            for t in WATCHED
            for p in sorted(cluster.partitions_for_topic(t.value) or ())
        ]
        self.reader.assign(self.watched)
        for tp, off in (await self.reader.end_offsets(self.watched)).items():
            self.reader.seek(tp, off)
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.reader.stop()
        await self.catch_up.stop()
        await self.producer.stop()

    # ---------------------------------------------------------------- the loop

    async def play(self) -> Stats:
        # People sign in ahead of their first action, one at a time beside the month (a
        # password sign-in is a slow hash at the provider: on demand, a step waited for it).
        ahead = asyncio.create_task(self.identity.sign_in_ahead(self.people_ahead()))
        try:
            return await self._play()
        finally:
            ahead.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ahead
            self.stats.signed_in_ahead = self.identity.signed_in_ahead

    def people_ahead(self) -> list[str]:
        """Who will act: the senders of the scheduled actions (the earliest first), then those
        who answer the permits — each zone's and twin's role holders and guardians, the
        authorization register. A plain member who acts after all signs in when needed."""
        scheduled = [self._actor_for(a) for a in sorted(self.queue)]
        zones = [*self.world.zones, *self.world.twins]
        answering = [
            p.member_id for z in zones for p in z.people if p.zone_role != "member" or p in z.guardians
        ]
        answering += [a.member_id for a in self.world.register]
        return [w for w in dict.fromkeys([*scheduled, *answering]) if w is not None]

    async def _play(self) -> Stats:
        started = time.monotonic()
        day = self.now.date()
        day_started = time.monotonic()
        await self._tick(self.now)  # the first tick only sets the services' clocks
        end = self.plan.clock_end
        while self.now < end or (self.now < self.plan.twin_end and self.twins_at_a_desk()):
            nxt = self._next_step()
            if nxt.date() != day:
                self._day_summary(day)
                if self.pace > 0:
                    await asyncio.sleep(max(0.0, self.pace - (time.monotonic() - day_started)))
                day, day_started = nxt.date(), time.monotonic()
            due: list[Action] = []
            while self.queue and self.queue[0].at <= nxt:
                due.append(heapq.heappop(self.queue))
            self.now = nxt
            if due:
                await self._publish_actions(due)
                await self.caught_up()
            await self._tick(nxt)
            self.stats.steps += 1
        self._day_summary(day)
        self.stats.wall_s = time.monotonic() - started
        return self.stats

    def observed(self) -> Observed:
        return Observed(dict(self.first_issued), dict(self.ended_unissued), list(self.refusals), self.now)

    def twins_at_a_desk(self) -> bool:
        """Some permit of the old route's twin is not finished yet (closed, expired, or ended
        unissued): the clock runs on past the month for them, up to ``Plan.twin_end``."""
        done = self.finished | set(self.ended_unissued)
        return any(pid not in done for w in self.plan.truth.twin_works.values() for pid in w.permit_ids)

    def _next_step(self) -> datetime:
        """Every 15 minutes while something is due, at least hourly (deadlines), 6-hourly after the month."""
        if self.now >= self.plan.clock_start + timedelta(days=self.plan.days) and not self.queue:
            end = self.plan.clock_end if self.now < self.plan.clock_end else self.plan.twin_end
            return min(end, self.now + timedelta(hours=6))
        step = timedelta(minutes=15)
        candidate = self.now + timedelta(hours=1)
        if self.queue:
            first = self.queue[0].at
            if first <= self.now:
                return self.now + step
            rounded = self.now + step * -(-(first - self.now) // step)
            candidate = min(candidate, rounded)
        return candidate

    async def _tick(self, now: datetime) -> None:
        await self._send(
            Topic.CLOCK.value,
            make_event(type="clock.ticked", source="pbz-clock", time=now, data={"now": now.isoformat()}),
            "clock",
        )
        await self.producer.flush()
        await self.caught_up()

    def _actor_for(self, a: Action) -> str | None:
        """Who sends an action: as scheduled, else by its kind (see the module's docstring)."""
        if a.actor is not None:
            return a.actor
        topic = spec_for(a.type).topic
        if topic in PUBLISHER_OF:
            return PUBLISHER_OF[topic]
        if a.type == "activity.record":
            return str(a.data["organizer_member_id"])
        if topic == Topic.PERMIT_COMMANDS:
            return str(a.data["member_id"])  # the person on site: signer, lead, guardian, reviewer
        if a.type == "evaluation.submit":
            z = next((z for z in self.world.zones if z.key == a.zone_key), None)
            rater = next(
                (
                    p
                    for p in (z.people if z else [])
                    if p.zone_role == RATER_ROLE.get(a.data["evaluator_role"])
                    and p.employer_unit_id == a.data["evaluator_unit_id"]
                ),
                None,
            )
            return rater.member_id if rater else PARTY_OFFICER
        if a.type.startswith("zone."):
            return PARTY_OFFICER
        return None

    async def _publish_actions(self, actions: list[Action]) -> None:
        senders = [self._actor_for(a) for a in actions]
        people = {w for w in senders if w is not None}
        self.stats.signed_in += sum(not self.identity.signed_in(w) for w in people)
        started = time.monotonic()
        await self.identity.prepare(people)  # new people sign in, expired tokens are refreshed
        self.stats.sign_in_s += time.monotonic() - started
        for a, sender in zip(actions, senders, strict=True):
            data = dict(a.data)
            key = a.key
            if a.zone_key is not None:
                zone_id = self.zone_ids.get(a.zone_key)
                if zone_id is None:
                    log.warning("no zone yet for %s; %s dropped", a.zone_key, a.type)
                    continue
                data["zone_id"] = zone_id
                key = zone_id
            topic = spec_for(a.type).topic
            event = make_event(
                type=a.type,
                source=SOURCES.get(topic, "site-app"),
                time=a.at,
                subject=key,
                data=data,
                id=new_event_id(),
                extensions=self.identity.cached_actor(sender).extension() if sender else None,
            )
            await self._send(topic.value, event, key)
            self.day_counts[a.type] += 1
        await self.producer.flush()

    async def _send(self, topic: str, event: CloudEvent, key: str | None) -> None:
        await self.producer.send(
            topic,
            event.to_json(),
            key=key.encode() if key else None,
            headers=[("content-type", CONTENT_TYPE.encode())],
        )
        self.stats.published += 1
        self.stats.published_by_type[event.type] += 1

    # ---------------------------------------------------------------- catching up

    async def caught_up(self) -> None:
        await self.catch_up.wait()
        await self._read_answers()

    async def _read_answers(self) -> None:
        ends = await self.catch_up.offsets.end_offsets(self.watched)
        while [tp for tp, off in ends.items() if await self.reader.position(tp) < off]:
            batch = await self.reader.getmany(timeout_ms=20)
            for records in batch.values():
                for r in records:
                    try:
                        event = CloudEvent.model_validate(orjson.loads(r.value))
                    except Exception:
                        continue
                    self.events.append(event)
                    self.stats.seen_by_type[event.type] += 1
                    self._react(event)

    # ---------------------------------------------------------------- people on site

    def _schedule(
        self,
        when: datetime,
        type_: str,
        data: dict[str, Any],
        key: str | None,
        zone_key: str | None = None,
        actor: str | None = None,
    ) -> None:
        self._seq += 1
        heapq.heappush(
            self.queue,
            Action(
                max(when, self.now + timedelta(minutes=1)), self._seq, type_, data, key, zone_key, actor=actor
            ),
        )

    def _react(self, e: CloudEvent) -> None:
        t = e.type
        d = e.data
        if t in ("permit.closed", "permit.expired"):
            self.finished.add(d["permit"]["permit_id"])
        if t.startswith("zone.") and "zone" in d and d["zone"]:
            self._on_zone(e, d["zone"])
        elif t == "permit.requested":
            self.requested_at[d["permit"]["permit_id"]] = datetime.fromisoformat(d["permit"]["requested_at"])
            self.permits[d["permit"]["permit_id"]] = d["permit"]
        elif t == "permit.signature-requested":
            self._on_signature_requested(e)
        elif t == "permit.blocked":
            words = "; ".join(REASON_WORDS.get(r, r) for r in d["reasons"])
            detail = self._gas_detail(d)
            self.say(f"{self._t(e)} permit {d['permit']['permit_id']} blocked: {words}{detail}")
            self.day_counts["blocked"] += 1
        elif t == "permit.issued":
            self.first_issued.setdefault(d["permit"]["permit_id"], e.time)
            self._on_issued(e)
        elif t == "permit.approved" and is_twin_permit(d["permit"]["permit_id"]):
            self._on_twin_approved(e)
        elif t in ("permit.lapsed", "permit.cancelled"):
            self.ended_unissued.setdefault(d["permit"]["permit_id"], e.time)
            self.say(f"{self._t(e)} permit {d['permit']['permit_id']} {LIFE_WORDS[t](d)}")
        elif t == "permit.suspended":
            self._on_suspended(e)
        elif t == "permit.resumed":
            self.say(f"{self._t(e)} permit {d['permit']['permit_id']} resumed after a fresh check")
        elif t == "permit.sla-breached":
            roles = ", ".join(d.get("waiting_on_roles") or []) or "site conditions"
            self.say(
                f"{self._t(e)} permit {d['permit']['permit_id']} passed its SLA unissued — escalated (waiting on {roles})"
            )
        elif t == "permit.rejected":
            self._on_rejected(e)
        elif t == "permit.command-rejected":
            why = "; ".join(REASON_WORDS.get(r, r) for r in d["reasons"])
            what = d["command_type"].removeprefix("permit.").replace("-", " ")
            self.say(f"{self._t(e)} {what} refused on {d['permit_id']}: {why}")
        elif t in LIFE_WORDS:
            self.say(f"{self._t(e)} permit {d['permit']['permit_id']} {LIFE_WORDS[t](d)}")
        elif t == "permit.expired":
            self.day_counts["expired"] += 1
        elif t == "activity.rejected":
            self.say(f"{self._t(e)} activity {d['activity_id']} refused: {', '.join(d['reasons'])}")
        elif t == "activity.compliance-evaluated" and not d["met"]:
            self.say(
                f"{self._t(e)} zone {d['zone_id']} missed {d['rule']} in {d['period']} ({d['actual']}/{d['required']})"
            )
        elif t == "assessment.ranking-published":
            top = ", ".join(f"#{r['rank']} {r['zone_id']} {r['score']:.1f}" for r in d["ranking"][:3])
            self.say(f"{self._t(e)} ranking {d['period']} (revision {d['revision']}) published: {top} …")
        elif t == "dlq.recorded":
            self.stats.dlq += 1
            self.say(f"{self._t(e)} DEAD LETTER from {d['service']}: {d['reason']}")

    def _t(self, e: CloudEvent) -> str:
        return e.time.astimezone(TZ).strftime("%m-%d %H:%M")

    def _gas_detail(self, d: dict[str, Any]) -> str:
        for item in d.get("details") or []:
            if isinstance(item, dict) and item.get("reason") == "gas_test_failed":
                return f" ({item.get('reading')} {item.get('value')}, limit {item.get('limit')})"
        return ""

    def _planned_zone(self, snapshot: dict[str, Any]) -> PlannedZone | None:
        for pid in snapshot.get("project_ids", []):
            z = self.world.zone_of_project(pid)
            if z is not None:
                return z
        return None

    def _on_zone(self, e: CloudEvent, snapshot: dict[str, Any]) -> None:
        z = self._planned_zone(snapshot)
        if z is None:
            return
        zone_id = snapshot["zone_id"]
        first_time = z.key not in self.zone_ids
        self.zone_ids[z.key] = zone_id
        self.zone_names[z.key] = snapshot["name"]
        before = self.zone_status.get(z.key)
        self.zone_status[z.key] = snapshot["status"]
        if first_time:
            self.say(
                f"{self._t(e)} zone established: {snapshot['name']} ({snapshot['mode']}, {snapshot['status']})"
            )
        elif before != snapshot["status"]:
            self.say(f"{self._t(e)} zone {snapshot['name']} is now {snapshot['status']}")
        if e.type == "zone.coverage-gap":
            self.say(
                f"{self._t(e)} coverage gap in {snapshot['name']}: missing {', '.join(e.data['missing_roles'])}"
            )
        has_supervision = any(u["role"] == "supervision" for u in snapshot.get("units", []))
        # The party office enrols the secretary (scheduled first: the same zone's commands are
        # handled in order); the secretary enrols everyone else.
        secretary = z.holders("secretary")[0].member_id
        for m in z.people:
            if (z.key, m.member_id) in self.on_roster:
                continue
            if m.zone_role == "supervision_engineer" and not has_supervision:
                continue  # joins with the supervision unit
            self.on_roster.add((z.key, m.member_id))
            self._schedule(
                e.time + timedelta(minutes=1),
                "zone.add-member",
                {
                    "zone_id": zone_id,
                    "member_id": m.member_id,
                    "name": m.name,
                    "home_branch": m.home_branch,
                    "employer_unit_id": m.employer_unit_id,
                    "employment": m.employment,
                    "zone_role": m.zone_role,
                    "phone": m.phone,
                },
                zone_id,
                actor=PARTY_OFFICER if m.member_id == secretary else secretary,
            )

    def _work(self, permit_id: str) -> Work | None:
        """The work a permit belongs to (``WP-<work id>-<class code>``)."""
        if not permit_id.startswith("WP-"):
            return None
        work_id = permit_id.removeprefix("WP-").rsplit("-", 1)[0]
        return self.plan.truth.works.get(work_id) or self.plan.truth.twin_works.get(work_id)

    def _key(self, z: PlannedZone) -> str | None:
        return self.zone_ids.get(z.key)

    def _command(self, when: datetime, type_: str, data: dict[str, Any], z: PlannedZone) -> None:
        self._schedule(when, type_, data, self._key(z))

    def _on_signature_requested(self, e: CloudEvent) -> None:
        d = e.data
        permit = d["permit"]
        permit_id, role, revision = permit["permit_id"], d["role"], permit.get("revision", 1)
        z = self.world.zone_of_project(permit["project_id"])
        if z is None or self.asked.get((permit_id, role), 0) >= revision:
            return
        self.asked[(permit_id, role)] = revision
        signed = self.signed_roles.setdefault((permit_id, revision), set())
        why = refusal(self._expectation(permit), role, signed)
        if why is not None:
            self.refusals.append(why)  # the person asked refuses: the service asked the wrong role
            self.say(f"{self._t(e)} REFUSED to sign: {why}")
            return
        work = self._work(permit_id)
        if (
            permit["kind"] == "work_permit"
            and permit_id not in self.prepared
            and permit.get("work_class") != "general"
        ):
            self.prepared.add(permit_id)
            self._prepare(permit, z, max(e.time, self.now))
        signer = self._signer(role, z, d.get("member_ids") or [], e.time)
        if signer is None:
            return
        if is_twin_permit(permit_id):
            # A person at a desk: signs after a delay counted in office hours.
            signed.add(role)
            when = desk_time(max(e.time, self.now), self.rng.randint(*DESK_DELAY_MINUTES))
            self._sign(permit_id, signer, role, "approve", when, z, None)
            return
        delay = self.rng.randint(40, 100) if permit["kind"] == "work_permit" else self.rng.randint(60, 300)
        when = max(e.time, self.now) + timedelta(minutes=delay)
        last_revision = self.plan.truth.drawing_last_revision.get(permit_id)
        if last_revision is not None:
            when = max(when, last_revision + timedelta(minutes=delay))  # after the designer's last revision
        decision = "approve"
        if work is not None and work.reject_by_supervision and permit_id == work.permit_id and revision == 1:
            if role != "supervision_engineer":
                return  # the supervisor's refusal ends this round; the others sign the resubmission
            decision = "reject"
        signed.add(role)
        self._sign_on_site(permit, signer, role, decision, when, z)

    def _sign_on_site(
        self, permit: dict[str, Any], signer: str, role: str, decision: str, when: datetime, z: PlannedZone
    ) -> None:
        """Sign on site; now and then somebody else tries first (refused, as they should be)."""
        permit_id = permit["permit_id"]
        presence = permit.get("area") if permit["kind"] == "work_permit" else None
        expired = self.world.expired_approver(role, z.host.unit_id, when.date())
        if expired is not None and permit_id not in self.expired_tried:
            self.expired_tried.add(permit_id)  # a signer whose certificate has lapsed tries first
            self._sign(
                permit_id, expired.member_id, role, "approve", when - timedelta(minutes=10), z, presence
            )
        elif self.rng.random() < 0.04:
            # Someone without the role tries first; the system refuses, the right person signs.
            wrong = next((p for p in z.people if p.zone_role == "member"), None)
            if wrong is not None:
                self._sign(
                    permit_id, wrong.member_id, role, "approve", when - timedelta(minutes=10), z, presence
                )
        self._sign(permit_id, signer, role, decision, when, z, presence)

    def _expectation(self, permit: dict[str, Any]) -> Expectation:
        """What the simulator itself expects of a permit's signatures (``signers.py``)."""
        pid = permit["permit_id"]
        if permit["kind"] != "work_permit":
            return Expectation(pid, permit["kind"])
        work = self._work(pid)
        cls = next((c for c in work.classes if work.pid(c) == pid), None) if work else None
        return Expectation(
            pid, "work_permit", cls, self.plan.truth.grades.get(pid), sequential=is_twin_permit(pid)
        )

    def _signer(self, role: str, z: PlannedZone, named: list[str], when: datetime) -> str | None:
        if role in REGISTER_ROLES:
            a = self.world.approver(role, z.host.unit_id, when.date())
            return None if a is None else a.member_id
        holders = [p for p in z.people if p.zone_role == role]
        if not holders:
            return None
        return next((p for p in holders if p.member_id in named), holders[0]).member_id

    def _sign(
        self,
        permit_id: str,
        who: str,
        role: str,
        decision: str,
        when: datetime,
        z: PlannedZone,
        presence: str | None,
    ) -> None:
        data: dict[str, Any] = {
            "permit_id": permit_id,
            "member_id": who,
            "role": role,
            "decision": decision,
            "signed_at": when.isoformat(),
        }
        if presence is not None:
            data["site_presence"] = presence  # signed on site (GB 30871-2022 §4.11 a)
        if decision == "reject":
            data["comment"] = "作业区域与生产流程交叉，需调整方案后重报"
        self._command(when, "permit.sign", data, z)

    def _prepare(self, permit: dict[str, Any], z: PlannedZone, now: datetime) -> None:
        """Before the work: the guardian named and on site, the safety briefing, the ticket check."""
        pid, area = permit["permit_id"], permit.get("area")
        work = self._work(pid)
        guardian = (work.guardian_in_plan if work else None) or z.guardians[0].member_id
        lead, host = z.holders("construction_lead")[0], z.holders("host_rep")[0]
        if not (work and work.guardian_in_plan):
            self._command(
                now + timedelta(minutes=5),
                "permit.name-guardian",
                {
                    "permit_id": pid,
                    "member_id": lead.member_id,
                    "guardian_member_id": guardian,
                    "named_at": (now + timedelta(minutes=5)).isoformat(),
                },
                z,
            )
        t = now + timedelta(minutes=8)
        self._command(
            t,
            "permit.check-in",
            {"permit_id": pid, "member_id": guardian, "site_presence": area, "checked_in_at": t.isoformat()},
            z,
        )
        self._command(
            t,
            "permit.brief",
            {
                "permit_id": pid,
                "member_id": host.member_id,
                "receiver_member_id": guardian,
                "briefed_at": t.isoformat(),
            },
            z,
        )
        self._command(
            t,
            "permit.check-ticket",
            {
                "permit_id": pid,
                "member_id": z.shift_leader.member_id,
                "site_presence": f"qr:{area}",
                "checked_at": t.isoformat(),
            },
            z,
        )

    def _on_rejected(self, e: CloudEvent) -> None:
        permit = e.data["permit"]
        z = self.world.zone_of_project(permit["project_id"])
        self.say(f"{self._t(e)} permit {permit['permit_id']} rejected on site")
        if z is None or permit["permit_id"] in self.resubmitted:
            return
        self.resubmitted.add(permit["permit_id"])
        when = e.time + timedelta(minutes=30)  # the plan adjusted, asked again
        self._command(
            when,
            "permit.resubmit",
            {
                "permit_id": permit["permit_id"],
                "member_id": z.holders("construction_lead")[0].member_id,
                "comment": "已调整方案",
                "resubmitted_at": when.isoformat(),
            },
            z,
        )

    def _on_issued(self, e: CloudEvent) -> None:
        d = e.data
        permit = d["permit"]
        permit_id = permit["permit_id"]
        requested = self.requested_at.get(permit_id) or datetime.fromisoformat(permit["requested_at"])
        minutes = (e.time - requested).total_seconds() / 60
        self.say(
            f"{self._t(e)} permit {permit_id} issued {hm(minutes)} after request ({permit.get('area') or permit['kind']})"
        )
        self.day_counts["issued"] += 1
        work = self._work(permit_id)
        z = self.world.zone_of_project(permit["project_id"])
        if z is None or work is None or permit_id in self.closing:
            return  # drawing reviews end when issued
        self._while_running(work, permit_id, z, e.time)
        if work.close_at is None:
            return  # left open: it expires
        self.closing.add(permit_id)
        close_at = max(work.close_at, e.time + timedelta(minutes=30))
        if is_twin_permit(permit_id) and work.isolation_kind:
            when = close_at - timedelta(minutes=10)  # the blind plate back out before acceptance
            removed = {
                "isolation_id": work.isolation_id,
                "project_id": work.project_id,
                "removed_by": "属地操作工",
                "removed_at": when.isoformat(),
            }
            self._schedule(when, "isolation.removed", removed, work.project_id)
        self._complete(work, permit_id, z, close_at)
        for other in self.plan.truth.works.values():
            if other.fresh_gas_after_close_of == work.work_id:
                when = close_at + timedelta(minutes=10)
                self._schedule(
                    when, "safety.gas-test-recorded", gas_data(other, when, suffix="F"), other.project_id
                )

    def _on_twin_approved(self, e: CloudEvent) -> None:
        """The old route's paper is back: the crew takes a gas sample and starts (``twin.py``)."""
        permit = e.data["permit"]
        self.say(f"{self._t(e)} permit {permit['permit_id']} signed by all six offices in turn")
        work = self._work(permit["permit_id"])
        if work is None or not work.needs_gas or permit["permit_id"] not in work.gas_permits():
            return
        when = max(e.time, self.now, work.planned_start - timedelta(minutes=15)) + timedelta(minutes=10)
        self._schedule(when, "safety.gas-test-recorded", gas_data(work, when, suffix="Q"), work.project_id)

    def _while_running(self, w: Work, pid: str, z: PlannedZone, issued: datetime) -> None:
        lead = z.holders("construction_lead")[0].member_id
        if w.interrupt is not None and pid not in self.interrupted:
            self.interrupted.add(pid)
            stop, back = w.interrupt
            self._command(
                stop,
                "permit.interrupt",
                {
                    "permit_id": pid,
                    "member_id": lead,
                    "reason": "午间停工",
                    "interrupted_at": stop.isoformat(),
                },
                z,
            )
            self._command(
                back,
                "permit.resume-work",
                {
                    "permit_id": pid,
                    "member_id": lead,
                    "site_presence": w.area,
                    "resumed_at": back.isoformat(),
                },
                z,
            )
        if w.extend is not None and pid not in self.extending:
            self.extending.add(pid)
            asked, until = w.extend
            ext = {
                "permit_id": pid,
                "member_id": z.holders("host_rep")[0].member_id,
                "reason": "工程量增加",
                "site_presence": w.area,
                "extended_at": asked.isoformat(),
            }
            if w.extend_beyond_cap_first:
                beyond = w.planned_start + timedelta(days=1, hours=1)
                self._command(
                    asked - timedelta(minutes=2),
                    "permit.extend",
                    {**ext, "valid_until": beyond.isoformat()},
                    z,
                )
            self._command(asked, "permit.extend", {**ext, "valid_until": until.isoformat()}, z)
        if w.handover and not w.miss_handover and pid not in self.handed_over:
            self.handed_over.add(pid)
            self._handover(pid, z, max(issued, w.planned_start.replace(hour=7, minute=55)))

    def _handover(self, pid: str, z: PlannedZone, when: datetime) -> None:
        """At the 08:00 shift change: outgoing and incoming work lead and guardian acknowledge."""
        lead = z.holders("construction_lead")[0].member_id
        g_out, g_in = (p.member_id for p in z.guardians)
        crew = [p.member_id for p in z.people if p.zone_role == "member" and p.member_id not in (g_out, g_in)]
        lead_in = crew[0] if crew else g_in
        for i, (who, position, side) in enumerate(
            (
                (lead, "work_lead", "outgoing"),
                (g_out, "guardian", "outgoing"),
                (lead_in, "work_lead", "incoming"),
                (g_in, "guardian", "incoming"),
            )
        ):
            t = when + timedelta(minutes=5 * (i // 2) + 1)
            self._command(
                t,
                "permit.handover",
                {
                    "permit_id": pid,
                    "member_id": who,
                    "position": position,
                    "side": side,
                    "acknowledged_at": t.isoformat(),
                },
                z,
            )

    def _complete(self, w: Work, pid: str, z: PlannedZone, close_at: datetime) -> None:
        """完工验收: the work's lead declares it complete, the host representative accepts (once
        refusing first where the plan says so)."""
        lead = z.holders("construction_lead")[0].member_id
        host = z.holders("host_rep")[0].member_id
        declare = {"permit_id": pid, "member_id": lead}
        accept = {
            "permit_id": pid,
            "member_id": host,
            "decision": "approve",
            "guards_restored": True,
            "housekeeping_done": True,
        }
        t = close_at
        if w.refuse_completion:
            self._command(t, "permit.declare-complete", {**declare, "declared_at": t.isoformat()}, z)
            t += timedelta(minutes=5)
            self._command(
                t,
                "permit.accept-completion",
                {**accept, "decision": "reject", "reason": "盖板未恢复", "decided_at": t.isoformat()},
                z,
            )
            t += timedelta(minutes=10)
        self._command(t, "permit.declare-complete", {**declare, "declared_at": t.isoformat()}, z)
        t += timedelta(minutes=5)
        self._command(t, "permit.accept-completion", {**accept, "decided_at": t.isoformat()}, z)

    def _on_suspended(self, e: CloudEvent) -> None:
        permit = e.data["permit"]
        permit_id = permit["permit_id"]
        cause = e.data.get("cause") or "incident"
        self.say(f"{self._t(e)} permit {permit_id} suspended: {REASON_WORDS.get(cause, cause)}")
        self.day_counts["suspended"] += 1
        work = self._work(permit_id)
        z = self.world.zone_of_project(permit["project_id"])
        if z is None or work is None or cause in ("zone_closed", "guardian_left"):
            return
        if cause == "handover_missing":
            self._handover(permit_id, z, e.time + timedelta(minutes=4))
        resumer = z.holders("host_rep")[0]
        when = e.time + timedelta(minutes=15 if cause != "incident" else 35)
        if work.needs_gas:
            tested = e.time + timedelta(minutes=10 if cause != "incident" else 30)
            self._schedule(
                tested, "safety.gas-test-recorded", gas_data(work, tested, suffix="S"), work.project_id
            )
            # Resumed once the new sample is on record: a later step than the test's (steps are
            # 15 minutes), or the resume may overtake the sample and be refused.
            when = tested + timedelta(minutes=20)
        self._command(when, "permit.resume", {"permit_id": permit_id, "member_id": resumer.member_id}, z)

    def _day_summary(self, day: Any) -> None:
        c = self.day_counts
        if c:
            self.progress(
                f"— {day.isoformat()} ({day.strftime('%a')}): {c['activity.record']} activities, "
                f"{c['work.planned']} works planned, {c['permit.sign']} signatures, {c['issued']} permits issued, "
                f"{c['blocked']} blocks, {c['quality.procedure-inspected']} inspections"
            )
        self.day_counts = Counter()
