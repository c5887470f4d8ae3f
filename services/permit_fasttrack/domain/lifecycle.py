"""The permit's life from request to issue and its ends (SPEC §3.3, issue 15).

pending_signatures → approved → blocked ⇄ issued; rejected → (resubmit) pending_signatures;
never issued by its planned end → lapsed; issued (or suspended, interrupted) past its validity →
expired; a re-plan that changes scope, place, time or class voids the approvals
(GB 30871-2022 §4.16–4.17); a closed zone blocks the open permits and suspends the issued ones,
and a new active zone re-routes them to its roster.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Self

from shared.actor import Actor
from shared.events.catalog import (
    BlockReason as B,
)
from shared.events.catalog import (
    CommandRefusal as R,
)
from shared.events.catalog import (
    IsolationKind,
    PermitKind,
    PermitStatus,
    System,
    WorkClass,
    WorkPlanned,
)

from . import classes, gas
from .conflicts import Placed, conflicts
from .model import (
    FINISHED,
    OPEN_UNISSUED,
    RUNNING,
    SYSTEM,
    Guardian,
    IsolationState,
    PermitState,
    Signature,
    SignatureRequest,
    Suspension,
    _plain,
)
from .rules import Rules
from .signers import People, actor_refusals, holder_refusals, on_site

INADEQUATE = {IsolationKind.WATER_SEAL, IsolationKind.CLOSED_VALVE}
MATERIAL = (
    "title",
    "area",
    "location",
    "risk_types",
    "planned_start",
    "planned_end",
    "height_m",
    "load_t",
    "hot_work_grade",
    "wind_force",
    "isolations",
    "side_activities",
    "contractor_unit_id",
    "temporary_power_extended",
)


@dataclass
class Act:
    """A command as the domain sees it: which, by whom (the authcontext actor), when."""

    command_id: str
    command_type: str
    member_id: str
    actor: Actor | None
    at: datetime

    @property
    def who(self) -> str:
        return self.actor.id if self.actor is not None else "(no actor)"


@dataclass
class Facts:
    """What a check needs beyond the permit, gathered by the handler."""

    people: People
    contractor_is_subcontractor: bool = False
    morning_checkin: bool = False
    live: list[Placed] = field(default_factory=list)  # the project's issued permits
    tz: Any = None

    @property
    def zone(self) -> dict[str, Any] | None:
        return self.people.zone


def local_date(at: datetime, tz: Any) -> date:
    return at.astimezone(tz).date() if tz is not None else at.date()


class Lifecycle(PermitState):
    # ------------------------------------------------------------------ creation and routing

    @classmethod
    def for_work(
        cls, work_class: str, plan: WorkPlanned, linked: list[str], at: datetime, rules: Rules, tz: Any
    ) -> Self:
        grade, basis = classes.grade_of(WorkClass(work_class), plan, rules, tz)
        permit = cls(
            permit_id=classes.permit_id_for(plan.work_id, work_class),
            kind=PermitKind.WORK_PERMIT,
            project_id=plan.project_id,
            source_id=plan.work_id,
            requested_at=at,
            sla_deadline=at + rules.work_permit_sla,
        )
        permit._take_plan(plan, work_class, grade, basis, linked)
        permit.served_grades = served_grades(plan, rules, tz)
        return permit

    @classmethod
    def for_drawing(
        cls, drawing_id: str, project_id: str, title: str, unit_id: str, at: datetime, rules: Rules
    ) -> Self:
        return cls(
            permit_id=classes.drawing_permit_id(drawing_id),
            kind=PermitKind.DRAWING_REVIEW,
            project_id=project_id,
            source_id=drawing_id,
            title=title,
            contractor_unit_id=unit_id,
            requested_at=at,
            sla_deadline=at + rules.drawing_review_sla,
            required_roles=classes.required_roles(PermitKind.DRAWING_REVIEW),
        )

    def _take_plan(
        self, plan: WorkPlanned, work_class: str, grade: Any, basis: list[str], linked: list[str]
    ) -> None:
        self.plan = plan
        self.work_class = str(work_class)
        self.grade = None if grade is None else str(grade)
        self.grade_basis = basis
        self.title, self.area = plan.title, plan.area
        self.risk_types = [str(r) for r in plan.risk_types]
        self.contractor_unit_id = plan.contractor_unit_id
        self.linked_permit_ids = [p for p in linked if p != self.permit_id]
        self.required_roles = classes.required_roles(PermitKind.WORK_PERMIT, self.work_class, self.grade)
        kept = {i.isolation_id: i for i in self.isolations}  # a re-plan keeps what is on site
        self.isolations = [
            kept[i.isolation_id].model_copy(update={"kind": str(i.kind), "point": i.point})
            if i.isolation_id in kept
            else IsolationState(isolation_id=i.isolation_id, kind=str(i.kind), point=i.point)
            for i in plan.isolations
        ]
        if plan.guardian_member_id and (
            self.guardian is None or self.guardian.member_id != plan.guardian_member_id
        ):
            self.guardian = Guardian(member_id=plan.guardian_member_id, named_by="work plan")

    def request(self, source: str, at: datetime, people: People) -> None:
        """``permit.requested``, then routed to the active zone's roster or blocked without one."""
        self.record("permit.requested", source, at, detail={"revision": self.revision})
        self.route(people, at)

    def route(self, people: People, at: datetime) -> None:
        zone = people.zone
        if zone is None or zone.get("status") != "active":
            self.zone_id = None
            self._block([B.NO_ACTIVE_ZONE], [], at)
            return
        rerouted = self.signatures_requested or bool(self.signatures)
        self.zone_id = zone["zone_id"]
        if rerouted:
            self.signatures, self.requests = [], []
            self.record(
                "permit.updated",
                SYSTEM,
                at,
                {"change": "rerouted", "actor": SYSTEM, "detail": {"zone_id": zone["zone_id"]}},
                revise=True,
            )
        self.status = PermitStatus.PENDING_SIGNATURES
        self.suspension = None
        self.blocked_reasons, self.blocked_details = [], []
        self.signatures_requested = True
        self.requests = []
        for role in self.required_roles:
            self._ask(role, people.holders(role), at, people)

    def _ask(self, role: str, member_ids: list[str], at: datetime, people: People) -> None:
        self.requests.append(
            SignatureRequest(role=role, member_ids=member_ids, since=at, deadline=self.sla_deadline)
        )
        self.record("permit.signature-requested", SYSTEM, at, {"role": role, "member_ids": member_ids})
        if not member_ids:
            self.record(
                "permit.no-signer",
                SYSTEM,
                at,
                {"role": role, "zone_id": self.zone_id, "secretary_member_ids": people.secretaries()},
            )

    def member_joined(self, member_id: str, role: str, people: People, at: datetime) -> bool:
        """A member who joins with a role this permit still needs is asked at once."""
        if self.status not in OPEN_UNISSUED or not self.signatures_requested or role not in self.waiting_on():
            return False
        request = self.request_for(role)
        if request is None or member_id in request.member_ids:
            return False
        request.member_ids = sorted([*request.member_ids, member_id])
        self.record("permit.signature-requested", SYSTEM, at, {"role": role, "member_ids": [member_id]})
        return True

    # ------------------------------------------------------------------ signatures

    def sign(
        self,
        act: Act,
        role: str,
        decision: str,
        comment: str | None,
        signed_at: datetime,
        site_presence: str | None,
        people: People,
    ) -> bool:
        """Take a signature, or refuse it with every reason. True when taken."""
        reasons = self.sign_refusals(act, role, decision, site_presence, people)
        if reasons:
            self.refuse(act, reasons)
            return False
        self.signatures.append(
            Signature(
                role=role,
                member_id=act.member_id,
                decision=decision,
                comment=comment,
                signed_at=signed_at,
                site_presence=site_presence,
            )
        )
        self.record(
            "permit.signed",
            act.who,
            act.at,
            detail={"role": role, "decision": decision, "member_id": act.member_id},
        )
        if decision == "reject":
            self.status = PermitStatus.REJECTED
            self.finished_at = act.at
            self.record("permit.rejected", act.who, act.at, detail={"role": role, "comment": comment})
        elif set(self.required_roles) <= self.approved_roles():
            self.status = PermitStatus.APPROVED
            self.record("permit.approved", SYSTEM, act.at)
        return True

    def sign_refusals(
        self, act: Act, role: str, decision: str, site_presence: str | None, people: People
    ) -> list[str]:
        reasons = actor_refusals(act.actor, act.member_id)
        if self.status in FINISHED:
            reasons.append(R.PERMIT_FINISHED)
        if not self.signatures_requested or self.status not in OPEN_UNISSUED:
            reasons.append(R.SIGNATURES_NOT_REQUESTED)
        if role not in self.required_roles:
            reasons.append(R.ROLE_NOT_REQUIRED)
        elif role in self.signed_roles():
            reasons.append(R.ROLE_ALREADY_SIGNED)
        if any(s.member_id == act.member_id and s.role != role for s in self.signatures):
            reasons.append(R.ALREADY_SIGNED_OTHER_ROLE)
        reasons += holder_refusals(people, act.member_id, role, local_date(act.at, people_tz(people)))
        if (
            self.is_work
            and self._must_be_on_site(role, site_presence)
            and not on_site(site_presence, self.area)
        ):
            reasons.append(R.NOT_ON_SITE)
        if not self.is_work and decision == "approve" and self.open_comments():
            reasons.append(R.OPEN_COMMENTS)
        return list(dict.fromkeys(reasons))

    def _must_be_on_site(self, role: str, site_presence: str | None) -> bool:
        """The approver signs on site (§4.11 a); anyone who says where they signed must be there."""
        return role == classes.approver_role(self.work_class, self.grade) or site_presence is not None

    def open_comments(self) -> list[str]:
        return [c.comment_id for c in self.comments if c.resolved_in_revision is None]

    def refuse(self, act: Act, reasons: list[str]) -> None:
        self.record(
            "permit.command-rejected",
            act.who,
            act.at,
            {
                "command_id": act.command_id,
                "command_type": act.command_type,
                "permit_id": self.permit_id,
                "member_id": act.member_id,
                "reasons": [str(r) for r in reasons],
                "actor": act.actor.id if act.actor is not None else None,
            },
        )

    def resubmit(self, act: Act, people: People) -> bool:
        """A rejected permit asked again: a new revision, the rejection kept in its history."""
        reasons = actor_refusals(act.actor, act.member_id)
        if self.status != PermitStatus.REJECTED:
            reasons.append(R.NOT_REJECTED)
        if act.actor is None or act.actor.is_person:
            reasons += holder_refusals(
                people, act.member_id, "construction_lead", local_date(act.at, people_tz(people))
            )
        if reasons:
            self.refuse(act, list(dict.fromkeys(reasons)))
            return False
        self._reopen(act.who, act.at, people)
        return True

    def _reopen(self, who: str, at: datetime, people: People) -> None:
        self.signatures, self.requests = [], []
        self.signatures_requested = False
        self.status = PermitStatus.PENDING_SIGNATURES
        self.finished_at = None
        self.record("permit.resubmitted", who, at, {"revision": self.revision + 1}, revise=True)
        self.route(people, at)

    # ------------------------------------------------------------------ preconditions and issue

    def evaluate(self, facts: Facts, at: datetime, rules: Rules) -> None:
        """Issue if every precondition holds, else (stay) blocked with every reason; never after
        the planned end."""
        if self.status not in (PermitStatus.APPROVED, PermitStatus.BLOCKED) or not self.signatures_requested:
            return
        if set(self.required_roles) - self.approved_roles():
            return
        if self.is_work and self.planned_end is not None and at >= self.planned_end:
            self.end_unissued(at)
            return
        reasons, details = self.unmet(facts, at, rules)
        if reasons:
            self._block(reasons, details, at)
        else:
            self._issue(at, rules, facts)

    def unmet(self, facts: Facts, at: datetime, rules: Rules) -> tuple[list[str], list[dict[str, Any]]]:
        """Reason codes (SPEC order, then GB 30871's before the gas test) and their details."""
        reasons: list[str] = []
        details: list[dict[str, Any]] = []
        zone = facts.zone
        if zone is None or zone.get("status") != "active":
            reasons.append(B.NO_ACTIVE_ZONE)
        else:
            systems = set(zone.get("systems", []))
            if System.CONTRACTOR_SAFETY not in systems:
                reasons.append(B.CONTRACTOR_SAFETY_NOT_ADOPTED)
            if facts.contractor_is_subcontractor and System.SUBCONTRACTOR_SAFETY not in systems:
                reasons.append(B.SUBCONTRACTOR_SAFETY_NOT_ADOPTED)
        if not self.is_work or self.work_class == WorkClass.GENERAL:
            return reasons, details
        if zone is not None and not facts.morning_checkin:
            reasons.append(B.NO_MORNING_CHECKIN)
        self._people_unmet(facts.people, reasons, details)
        self._isolation_unmet(reasons, details)
        self._gas_unmet(at, rules, reasons, details)
        found = conflicts(self.placed(at, rules, facts), facts.live, rules)
        if found:
            reasons.append(B.SIMOPS_CONFLICT)
            details += found
        return reasons, details

    def _people_unmet(self, people: People, reasons: list[str], details: list[dict[str, Any]]) -> None:
        g = self.guardian
        if g is None or people.member(g.member_id) is None:
            reasons.append(B.GUARDIAN_MISSING)
            if g is not None:
                details.append(
                    {"reason": "guardian_missing", "member_id": g.member_id, "why": "not on the roster"}
                )
        elif not g.on_site:
            reasons.append(B.GUARDIAN_NOT_ON_SITE)
        if self.briefing is None:
            reasons.append(B.BRIEFING_MISSING)
        if self.ticket_check is None:
            reasons.append(B.TICKET_NOT_CHECKED)

    def _isolation_unmet(self, reasons: list[str], details: list[dict[str, Any]]) -> None:
        bad = [
            i for i in self.isolations if i.kind in INADEQUATE or (i.applied and i.applied_kind in INADEQUATE)
        ]
        if bad:
            reasons.append(B.ISOLATION_INADEQUATE)
            details += [
                {"reason": "isolation_inadequate", "isolation_id": i.isolation_id, "kind": i.kind}
                for i in bad
            ]
        missing = [
            i for i in self.isolations if i.kind not in INADEQUATE and not (i.applied and not i.removed)
        ]
        if missing:
            reasons.append(B.ISOLATION_NOT_APPLIED)
            details += [{"reason": "isolation_not_applied", "isolation_id": i.isolation_id} for i in missing]

    def needs_gas(self) -> bool:
        loc = self.plan.location if self.plan is not None else None
        return classes.needs_gas(self.work_class, bool(loc and loc.fire_explosion_area))

    def _gas_unmet(
        self, at: datetime, rules: Rules, reasons: list[str], details: list[dict[str, Any]]
    ) -> None:
        if not self.needs_gas():
            return
        starts = max(at, self.planned_start or at)
        r = gas.latest(self.readings_here(), at)
        if r is None or not gas.sample_counts(r, starts, at, rules.gas_test_window):
            reasons.append(B.GAS_TEST_MISSING)
            if r is not None:
                details.append(
                    {
                        "reason": "gas_test_missing",
                        "test_id": r.test_id,
                        "tested_at": r.tested_at,
                        "why": f"taken more than {rules.gas_test_window} before the work starts",
                    }
                )
            return
        failed = gas.failures(r, self.work_class, rules.gas)
        if failed:
            reasons.append(B.GAS_TEST_FAILED)
            details += [{"reason": "gas_test_failed", "test_id": r.test_id, **f} for f in failed]

    def cap(self, rules: Rules) -> timedelta:
        if not self.is_work:
            return rules.drawing_validity
        served = tuple(self.served_grades.items())
        extended = bool(self.plan and self.plan.temporary_power_extended)
        return classes.validity_cap(self.work_class, self.grade, rules, extended, served)

    def window(self, at: datetime, rules: Rules) -> tuple[datetime, datetime]:
        """From the later of the check and the planned start until the planned end, capped."""
        if not self.is_work or self.plan is None:
            return at, at + rules.drawing_validity
        start = max(at, self.plan.planned_start)
        return start, max(start, min(self.plan.planned_end, start + self.cap(rules)))

    def placed(self, at: datetime, rules: Rules, facts: Facts | None = None) -> Placed:
        loc = self.plan.location if self.plan is not None else None
        start, until = (
            (self.valid_from, self.valid_until)
            if self.valid_from and self.valid_until
            else self.window(at, rules)
        )
        return Placed(
            permit_id=self.permit_id,
            work_id=self.source_id,
            work_class=str(self.work_class),
            area=self.area,
            x_m=loc.x_m if loc else None,
            y_m=loc.y_m if loc else None,
            pipeline_id=loc.pipeline_id if loc else None,
            side_activities=tuple(str(a) for a in (self.plan.side_activities if self.plan else [])),
            valid_from=start,
            valid_until=until,
        )

    def _block(self, reasons: list[str], details: list[dict[str, Any]], at: datetime) -> None:
        reasons = [str(r) for r in reasons]
        details = _plain(details)
        if (
            self.status == PermitStatus.BLOCKED
            and self.blocked_reasons == reasons
            and self.blocked_details == details
        ):
            return  # nothing new to say
        self.status = PermitStatus.BLOCKED
        self.blocked_reasons, self.blocked_details = reasons, details
        self.record("permit.blocked", SYSTEM, at, {"reasons": reasons, "details": details})

    def _issue(self, at: datetime, rules: Rules, facts: Facts) -> None:
        self.valid_from, self.valid_until = self.window(at, rules)
        self.status = PermitStatus.ISSUED
        self.blocked_reasons, self.blocked_details = [], []
        self.suspension = self.interruption = None
        self.handover_settled_until = self.valid_from
        if self.needs_gas():
            used = gas.latest(self.readings_here(), at)
            self.last_reading_at = used.tested_at if used is not None else at
        self.record(
            "permit.issued", SYSTEM, at, {"valid_from": self.valid_from, "valid_until": self.valid_until}
        )
        if self.issued_at is None:
            self.issued_at = at

    # ------------------------------------------------------------------ ends

    def end_unissued(self, at: datetime) -> None:
        """Past the planned end without a live issue: lapsed if never issued, else expired."""
        if self.issued_at is None:
            self.status = PermitStatus.LAPSED
            self.finished_at = at
            self.record("permit.lapsed", SYSTEM, at, {"planned_end": self.planned_end})
        else:
            self.expire(at)

    def expire(self, at: datetime) -> None:
        self.status = PermitStatus.EXPIRED
        self.finished_at = at
        self.record("permit.expired", SYSTEM, at)

    def cancel(self, reason: str, at: datetime, actor: str = SYSTEM) -> bool:
        if self.finished:
            return False
        self.status = PermitStatus.CANCELLED
        self.finished_at = at
        self.record("permit.cancelled", actor, at, {"reason": reason})
        return True

    def replan(
        self,
        plan: WorkPlanned,
        linked: list[str],
        at: datetime,
        rules: Rules,
        tz: Any,
        people: People,
        source: str,
    ) -> bool:
        """The same work planned again: a no-op when unchanged, else a new revision; a change of
        scope, place, time or class voids the approvals (§4.16–4.17). A rejected permit takes the
        new plan as its resubmission. True when something changed."""
        if self.finished and self.status != PermitStatus.REJECTED:
            return False
        before = self.plan
        changed = [f for f in MATERIAL if before is None or _field(before, f) != _field(plan, f)]
        grade, basis = classes.grade_of(WorkClass(self.work_class or WorkClass.GENERAL), plan, rules, tz)
        if sorted(linked) != sorted([*self.linked_permit_ids, self.permit_id]):
            changed.append("classes")
        if str(grade) != str(self.grade) and "grade" not in changed and grade is not None:
            changed.append("grade")
        guardian_changed = plan.guardian_member_id != (before.guardian_member_id if before else None)
        if not changed and not guardian_changed:
            return False
        self._take_plan(plan, str(self.work_class), grade, basis, linked)
        self.served_grades = served_grades(plan, rules, tz)
        void = bool(changed) and (bool(self.signatures) or self.status in RUNNING)
        ask_again = bool(changed) and self.status not in (PermitStatus.COMPLETING, PermitStatus.REJECTED)
        if ask_again:
            self._clear_approvals()
        self.record(
            "permit.revised",
            source,
            at,
            {
                "revision": self.revision + 1,
                "changed": changed or ["guardian_member_id"],
                "approvals_void": void,
            },
            revise=True,
        )
        if self.status == PermitStatus.REJECTED:
            self._reopen(source, at, people)
        elif ask_again:
            self.route(people, at)  # asked again (the roles may have changed with the grade)
        return True

    def _clear_approvals(self) -> None:
        """Approvals void: the work stops until the roles sign again."""
        self.valid_from = self.valid_until = None
        self.suspension = self.interruption = None
        self.signatures, self.requests = [], []
        self.signatures_requested = False
        if self.status in RUNNING or self.status in OPEN_UNISSUED:
            self.status = PermitStatus.PENDING_SIGNATURES

    def _void(self, at: datetime, people: People) -> None:
        self._clear_approvals()
        self.route(people, at)

    # ------------------------------------------------------------------ time

    def due(self, at: datetime, rules: Rules) -> None:
        """Whatever the clock passing ``at`` brings: lapse or expiry, SLA escalation, a missing
        monitoring reading, an unacknowledged handover."""
        if self.finished:
            return
        if self.status in OPEN_UNISSUED and self.is_work and self.planned_end and at >= self.planned_end:
            self.end_unissued(at)
            return
        if self.status in RUNNING and self.valid_until is not None and at >= self.valid_until:
            self.expire(at)
            return
        if (
            self.status in OPEN_UNISSUED
            and self.issued_at is None
            and not self.sla_breached
            and at >= self.sla_deadline
        ):
            self.sla_breached = True
            self.record(
                "permit.sla-breached",
                SYSTEM,
                at,
                {
                    "deadline": self.sla_deadline,
                    "waiting_on_roles": self.waiting_on(),
                    "waiting_on_members": self.waiting_members(),
                    "blocked_reasons": list(self.blocked_reasons),
                },
            )
        self._running_due(at, rules)

    def _running_due(self, at: datetime, rules: Rules) -> None:
        """Overridden by the operations (monitoring, handover)."""

    def next_due(self, rules: Rules) -> datetime | None:
        times: list[datetime] = []
        if self.status in OPEN_UNISSUED:
            if self.is_work and self.planned_end is not None:
                times.append(self.planned_end)
            if self.issued_at is None and not self.sla_breached:
                times.append(self.sla_deadline)
        if self.status in RUNNING and self.valid_until is not None:
            times.append(self.valid_until)
        times += self._running_due_times(rules)
        return min(times) if times else None

    def _running_due_times(self, rules: Rules) -> list[datetime]:
        return []

    # ------------------------------------------------------------------ zones

    def zone_closed(self, at: datetime) -> None:
        """The zone closed: issued work is suspended, open permits wait for a new zone."""
        if not self.is_work and self.status == PermitStatus.ISSUED:
            return  # a drawing review closed by its zone's roster stands
        if self.status in RUNNING and self.status != PermitStatus.SUSPENDED:
            self.suspend("zone_closed", at, {"zone_id": self.zone_id})
        elif self.status in RUNNING:
            assert self.suspension is not None
            self.suspension.detail = {**self.suspension.detail, "zone_closed": True}
        if self.status in OPEN_UNISSUED:
            self.signatures_requested = False
            self._block([B.NO_ACTIVE_ZONE], [], at)

    def needs_zone(self) -> bool:
        """Waiting for an active zone to be routed (again) to its roster."""
        if self.finished:
            return False
        if self.status in OPEN_UNISSUED and not self.signatures_requested:
            return True
        s = self.suspension
        return (
            self.status == PermitStatus.SUSPENDED
            and s is not None
            and (s.cause == "zone_closed" or bool(s.detail.get("zone_closed")))
        )

    def suspend(
        self, cause: str, at: datetime, detail: dict[str, Any] | None = None, severity: str | None = None
    ) -> None:
        self.status = PermitStatus.SUSPENDED
        self.suspension = Suspension(cause=cause, since=at, severity=severity, detail=detail or {})
        self.record("permit.suspended", SYSTEM, at, {"cause": cause, "detail": detail or {}})


def people_tz(people: People) -> Any:
    return people.tz


def served_grades(plan: WorkPlanned, rules: Rules, tz: Any) -> dict[str, str | None]:
    """The hot work and confined space of the same job, for temporary power's cap (§10.8)."""
    out: dict[str, str | None] = {}
    for cls in classes.classes_of(plan, rules):
        if cls in (WorkClass.HOT_WORK, WorkClass.CONFINED_SPACE):
            grade, _ = classes.grade_of(cls, plan, rules, tz)
            out[str(cls)] = None if grade is None else str(grade)
    return out


def _field(plan: WorkPlanned, name: str) -> Any:
    value = getattr(plan, name)
    if isinstance(value, list):
        return [v.model_dump() if hasattr(v, "model_dump") else str(v) for v in value]
    if hasattr(value, "model_dump"):
        return value.model_dump()
    return value
