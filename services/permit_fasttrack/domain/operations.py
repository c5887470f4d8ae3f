"""While the work runs (issue 15, GB 30871-2022): suspension and resumption, interruption,
extension, shift handover, completion acceptance, the guardian, the briefing and ticket check,
isolations and gas readings.

issued → suspended (incident, failing or missing gas reading, guardian left, handover missing,
zone closed) → issued by ``permit.resume``; issued ⇄ interrupted (``permit.interrupt`` /
``permit.resume-work``, with a new gas test after a long pause, §5.3.1 d, §6.3 f); issued →
completing (the work's lead declares it done) → closed (the host representative accepts, §4.15)
or back to issued (refused, with the reason).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from shared.events.catalog import (
    CommandRefusal as R,
)
from shared.events.catalog import (
    HandoverPosition,
    HandoverSide,
    PermitStatus,
    WorkClass,
)

from . import classes, gas
from .gas import GasReading
from .lifecycle import Act, Lifecycle, local_date
from .model import (
    OPEN_UNISSUED,
    RUNNING,
    SYSTEM,
    Briefing,
    Completion,
    CompletionRefusal,
    Extension,
    Guardian,
    HandoverAck,
    Interruption,
    TicketCheck,
)
from .rules import Rules
from .signers import People, actor_refusals, certificate_refusals, has_token_role, holder_refusals, on_site

MAJOR = {"major", "fatal"}
POSITIONS = {p.value for p in HandoverPosition}
SIDES = {s.value for s in HandoverSide}


def holds_any(people: People, member_id: str, roles: list[str], at: datetime) -> list[str]:
    """[] when the member holds one of ``roles`` (with the right employer); else why not."""
    today = local_date(at, people.tz)
    results = [holder_refusals(people, member_id, r, today) for r in roles]
    if any(not r for r in results):
        return []
    if any(R.ROLE_UNIT_MISMATCH in r for r in results):
        return [R.ROLE_UNIT_MISMATCH]
    if any(R.CERTIFICATE_EXPIRED in r for r in results):
        return [R.CERTIFICATE_EXPIRED]
    return [R.ROLE_NOT_ALLOWED]


def shift_changes_between(start: datetime, end: datetime, rules: Rules) -> list[datetime]:
    """Shift changes in (start, end], local times of the site."""
    tz = rules.tz
    day = start.astimezone(tz).date()
    out: list[datetime] = []
    while True:
        for t in sorted(rules.shift_changes, key=lambda x: (x.hour, x.minute)):
            at = datetime.combine(day, time(t.hour, t.minute), tz)
            if at > end:
                return out
            if at > start:
                out.append(at)
        day += timedelta(days=1)


class Operations(Lifecycle):
    # ------------------------------------------------------------------ helpers

    def _guard(self, act: Act, reasons: list[str]) -> bool:
        """Refuse (recorded, with the actor) when there is any reason; True when clear."""
        reasons = list(dict.fromkeys(actor_refusals(act.actor, act.member_id) + reasons))
        if reasons:
            self.refuse(act, reasons)
            return False
        return True

    def _finished_or(self, *allowed: PermitStatus, refusal: str) -> list[str]:
        if self.finished:
            return [R.PERMIT_FINISHED]
        return [] if self.status in allowed else [refusal]

    def _fresh_test(
        self, since: datetime | None, at: datetime, rules: Rules
    ) -> tuple[GasReading | None, list[str]]:
        """The passing test taken after ``since`` and at most the window before ``at``."""
        r = gas.latest(self.readings_here(), at)
        if (
            r is None
            or (since is not None and r.tested_at < since)
            or at - r.tested_at > rules.gas_test_window
        ):
            return None, [R.GAS_RETEST_REQUIRED]
        if gas.failures(r, self.work_class, rules.gas):
            return None, [R.GAS_TEST_FAILED]
        return r, []

    # ------------------------------------------------------------------ suspension

    def incident(self, incident: dict[str, Any], at: datetime) -> bool:
        """An incident suspends the live permits of its area, all of the project's when major or fatal."""
        if self.status not in (PermitStatus.ISSUED, PermitStatus.INTERRUPTED) or not self.is_work:
            return False  # a closed drawing review is not work on site
        if incident["severity"] not in MAJOR and self.area != incident["area"]:
            return False
        self.suspend(
            "incident",
            at,
            {"incident_id": incident["incident_id"], "severity": incident["severity"]},
            severity=incident["severity"],
        )
        return True

    def resume(self, act: Act, people: People, rules: Rules) -> bool:
        """``permit.resume``: the named roles, the cause cleared, a fresh passing gas test where needed."""
        reasons = self._finished_or(PermitStatus.SUSPENDED, refusal=R.NOT_SUSPENDED)
        s = self.suspension
        if not reasons and s is not None:
            reasons = self._resume_refusals(act, people, rules)
        if not self._guard(act, reasons):
            return False
        used, _ = self._fresh_test(s.since if s else None, act.at, rules) if self.needs_gas() else (None, [])
        self._back_to_work(used, act.at)
        self.record(
            "permit.resumed",
            act.who,
            act.at,
            detail={"cause": s.cause if s else None, "gas_test_id": used.test_id if used else None},
        )
        return True

    def _resume_refusals(self, act: Act, people: People, rules: Rules) -> list[str]:
        s = self.suspension
        assert s is not None
        if s.cause == "zone_closed" or s.detail.get("zone_closed"):
            return [R.WAITS_FOR_NEW_ZONE]
        major = s.cause == "incident" and s.severity in MAJOR
        roles = ["management_safety"] if major else ["host_rep", "management_safety"]
        reasons: list[str] = []
        if not has_token_role(act.actor, "hse"):
            reasons += holds_any(people, act.member_id, roles, act.at)
        if s.cause == "guardian_left" and not (self.guardian and self.guardian.on_site):
            reasons.append(R.GUARDIAN_NOT_ON_SITE)
        if s.cause == "handover_missing" and not self._handover_complete(s.detail.get("shift_change_at")):
            reasons.append(R.HANDOVER_NOT_COMPLETE)
        if self.needs_gas():
            reasons += self._fresh_test(s.since, act.at, rules)[1]
        return reasons

    def _back_to_work(self, used: GasReading | None, at: datetime) -> None:
        self.status = PermitStatus.ISSUED
        self.suspension = self.interruption = None
        self.handover_settled_until = at  # shift changes while stopped need no handover
        if used is not None:
            self.last_reading_at = used.tested_at

    # ------------------------------------------------------------------ interruption

    def interrupt(self, act: Act, reason: str, people: People) -> bool:
        reasons = self._finished_or(PermitStatus.ISSUED, refusal=R.NOT_ISSUED)
        if not reasons and not self._is_guardian(act.member_id):
            reasons += holds_any(people, act.member_id, ["construction_lead", "host_rep"], act.at)
        if not self._guard(act, reasons):
            return False
        self.status = PermitStatus.INTERRUPTED
        self.interruption = Interruption(since=act.at, reason=reason, by=act.member_id)
        self.record("permit.interrupted", act.who, act.at, {"reason": reason})
        return True

    def resume_work(self, act: Act, site_presence: str | None, people: People, rules: Rules) -> bool:
        """Back to work after a pause; a new gas analysis when the pause was long or a new day began."""
        reasons = self._finished_or(PermitStatus.INTERRUPTED, refusal=R.NOT_INTERRUPTED)
        used: GasReading | None = None
        if not reasons:
            if not self._is_guardian(act.member_id):
                reasons += holds_any(people, act.member_id, ["construction_lead"], act.at)
            if self.is_work and not on_site(site_presence, self.area):
                reasons.append(R.NOT_ON_SITE)
            if self.work_class in classes.SPECIAL_CLASSES and not (self.guardian and self.guardian.on_site):
                reasons.append(R.GUARDIAN_NOT_ON_SITE)
            if self.retest_needed(act.at, rules):
                since = self.interruption.since if self.interruption else None
                used, gas_reasons = self._fresh_test(since, act.at, rules)
                reasons += gas_reasons
        if not self._guard(act, reasons):
            return False
        self._back_to_work(used, act.at)
        self.record("permit.work-resumed", act.who, act.at, {"gas_test_id": used.test_id if used else None})
        return True

    def retest_needed(self, at: datetime, rules: Rules) -> bool:
        """§5.3.1 d / §6.3 f: a pause over the limit; §5.3.1 d: every day before hot work starts."""
        limit = classes.pause_retest_limit(self.work_class, self.grade, rules)
        if limit is None or self.interruption is None or not self.needs_gas():
            return False
        if at - self.interruption.since > limit:
            return True
        last = gas.latest(self.readings_here(), at)
        new_day = last is None or local_date(last.tested_at, rules.tz) != local_date(at, rules.tz)
        return self.work_class == WorkClass.HOT_WORK and new_day

    def _is_guardian(self, member_id: str) -> bool:
        return self.guardian is not None and self.guardian.member_id == member_id

    # ------------------------------------------------------------------ extension

    def extend(
        self,
        act: Act,
        valid_until: datetime,
        reason: str,
        site_presence: str | None,
        people: People,
        rules: Rules,
    ) -> bool:
        """Within the class's cap, re-checked and re-signed on site by the approver."""
        reasons = self._finished_or(PermitStatus.ISSUED, refusal=R.NOT_ISSUED)
        if not reasons:
            approver = classes.approver_role(self.work_class, self.grade) or "host_rep"
            reasons += holder_refusals(people, act.member_id, approver, local_date(act.at, rules.tz))
            if self.is_work and not on_site(site_presence, self.area):
                reasons.append(R.NOT_ON_SITE)
            assert self.valid_from is not None and self.valid_until is not None
            if valid_until <= self.valid_until:
                reasons.append(R.EXTENSION_NOT_LATER)
            elif valid_until - self.valid_from > self.cap(rules):
                reasons.append(R.EXTENSION_BEYOND_CAP)
            if self.needs_gas():
                reasons += self._fresh_test(None, act.at, rules)[1]
        if not self._guard(act, reasons):
            return False
        previous = self.valid_until
        assert previous is not None
        self.extensions.append(
            Extension(
                previous_until=previous, valid_until=valid_until, by=act.member_id, at=act.at, reason=reason
            )
        )
        self.valid_until = valid_until
        self.record(
            "permit.extended", act.who, act.at, {"previous_valid_until": previous, "valid_until": valid_until}
        )
        return True

    # ------------------------------------------------------------------ handover

    def _pending_shift(self, at: datetime, rules: Rules) -> datetime | None:
        s = self.suspension
        if self.status == PermitStatus.SUSPENDED and s is not None and s.cause == "handover_missing":
            value = s.detail.get("shift_change_at")
            return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
        if self.status != PermitStatus.ISSUED or self.valid_until is None or not self.is_work:
            return None
        start = self.handover_settled_until or self.valid_from or at
        for t in shift_changes_between(start, self.valid_until, rules):
            if t - rules.handover_ack <= at <= t + rules.handover_ack:
                return t
        return None

    def _handover_complete(self, shift: Any) -> bool:
        if shift is None:
            return True
        when = shift if isinstance(shift, datetime) else datetime.fromisoformat(str(shift))
        got = {(h.position, h.side) for h in self.handovers if h.shift_change_at == when}
        positions = POSITIONS if self.work_class in classes.SPECIAL_CLASSES else {"work_lead"}
        return got >= {(p, s) for p in positions for s in SIDES}

    def handover(self, act: Act, position: str, side: str, people: People, rules: Rules) -> bool:
        reasons = self._finished_or(PermitStatus.ISSUED, PermitStatus.SUSPENDED, refusal=R.NOT_ISSUED)
        shift = None
        if not reasons:
            if position not in POSITIONS or side not in SIDES:
                reasons.append(R.UNKNOWN_POSITION)
            if people.member(act.member_id) is None:
                reasons.append(R.NOT_ON_ROSTER)
            if position == "guardian" and side == "outgoing" and not self._is_guardian(act.member_id):
                reasons.append(R.NOT_GUARDIAN)
            shift = self._pending_shift(act.at, rules)
            if shift is None:
                reasons.append(R.NO_HANDOVER_DUE)
        if not self._guard(act, reasons):
            return False
        assert shift is not None
        self.handovers.append(
            HandoverAck(
                shift_change_at=shift, position=position, side=side, member_id=act.member_id, at=act.at
            )
        )
        self.record(
            "permit.updated",
            act.who,
            act.at,
            {
                "change": "handover_acknowledged",
                "actor": act.who,
                "detail": {
                    "shift_change_at": shift,
                    "position": position,
                    "side": side,
                    "member_id": act.member_id,
                },
            },
        )
        if self._handover_complete(shift):
            incoming = next(
                (
                    h.member_id
                    for h in reversed(self.handovers)
                    if h.shift_change_at == shift and h.position == "guardian" and h.side == "incoming"
                ),
                None,
            )
            if incoming is not None:
                self.guardian = Guardian(member_id=incoming, named_by="handover", on_site=True, since=act.at)
            self.handover_settled_until = max(shift, self.handover_settled_until or shift)
            self.record(
                "permit.updated",
                SYSTEM,
                act.at,
                {
                    "change": "handover_completed",
                    "actor": act.who,
                    "detail": {"shift_change_at": shift, "guardian": incoming},
                },
            )
        return True

    # ------------------------------------------------------------------ time (monitoring, handover)

    def _running_due(self, at: datetime, rules: Rules) -> None:
        if self.status != PermitStatus.ISSUED or not self.is_work:
            return
        interval = rules.monitoring_interval
        last = self.last_reading_at
        if classes.monitored(self.work_class, self.grade) and last is not None and at >= last + interval:
            detail = {"last_reading_at": last, "interval_minutes": interval.total_seconds() / 60}
            self.suspend("gas_monitoring_lapsed", at, detail)
            return
        for shift in self._shifts_due(at, rules):
            if self._handover_complete(shift):
                self.handover_settled_until = shift
                continue
            self.handover_settled_until = shift
            self.suspend("handover_missing", at, {"shift_change_at": shift})
            return

    def _shifts_due(self, at: datetime, rules: Rules) -> list[datetime]:
        if self.valid_until is None:
            return []
        start = self.handover_settled_until or self.valid_from or at
        return [
            t
            for t in shift_changes_between(start, min(at, self.valid_until), rules)
            if t + rules.handover_ack <= at
        ]

    def _running_due_times(self, rules: Rules) -> list[datetime]:
        if self.status != PermitStatus.ISSUED or self.valid_until is None or not self.is_work:
            return []
        out: list[datetime] = []
        if classes.monitored(self.work_class, self.grade) and self.last_reading_at is not None:
            out.append(self.last_reading_at + rules.monitoring_interval)
        start = self.handover_settled_until or self.valid_from or self.valid_until
        shifts = shift_changes_between(start, self.valid_until, rules)
        if shifts:
            out.append(shifts[0] + rules.handover_ack)
        return out

    # ------------------------------------------------------------------ completion

    def declare_complete(self, act: Act, people: People) -> bool:
        reasons = self._finished_or(PermitStatus.ISSUED, PermitStatus.INTERRUPTED, refusal=R.NOT_ISSUED)
        if not reasons:
            reasons += holds_any(people, act.member_id, ["construction_lead"], act.at)
        if not self._guard(act, reasons):
            return False
        self._declare(act.member_id, act.who, act.at)
        return True

    def _declare(self, member_id: str, who: str, at: datetime) -> None:
        refusals = self.completion.refusals if self.completion else []
        self.completion = Completion(declared_by=member_id, declared_at=at, refusals=refusals)
        self.status = PermitStatus.COMPLETING
        self.record("permit.completion-declared", who, at)

    def accept_completion(
        self,
        act: Act,
        decision: str,
        guards_restored: bool,
        housekeeping_done: bool,
        reason: str | None,
        people: People,
    ) -> bool:
        """完工验收 (§4.14–4.15): accepted with the site restored and every isolation removed."""
        reasons = self._finished_or(PermitStatus.COMPLETING, refusal=R.NOT_COMPLETING)
        if not reasons:
            reasons += holds_any(people, act.member_id, ["host_rep"], act.at)
            if decision == "approve":
                reasons += self._restore_refusals(guards_restored, housekeeping_done)
        if not self._guard(act, reasons):
            return False
        assert self.completion is not None
        if decision == "approve":
            self._close(act.member_id, act.who, act.at)
            return True
        why = reason or "site not accepted"
        self.completion.refusals.append(CompletionRefusal(by=act.member_id, at=act.at, reason=why))
        self.status = PermitStatus.ISSUED
        self.record("permit.completion-refused", act.who, act.at, {"reason": why})
        return True

    def _restore_refusals(self, guards_restored: bool, housekeeping_done: bool) -> list[str]:
        out: list[str] = []
        if any(i.applied and not i.removed for i in self.isolations):
            out.append(R.ISOLATION_NOT_REMOVED)
        if not (guards_restored and housekeeping_done):
            out.append(R.SITE_NOT_RESTORED)
        return out

    def _close(self, member_id: str, who: str, at: datetime) -> None:
        if self.completion is not None:
            self.completion.accepted_by, self.completion.accepted_at = member_id, at
        self.status = PermitStatus.CLOSED
        self.finished_at = at
        self.record("permit.closed", who, at, detail={"accepted_by": member_id})

    def close(self, act: Act, people: People) -> bool:
        """The base contract's ``permit.close``: the construction_lead declares completion, the
        host_rep accepts it (the close stands for the restored site; isolations must be removed)."""
        host = not holds_any(people, act.member_id, ["host_rep"], act.at)
        lead = not host and not holds_any(people, act.member_id, ["construction_lead"], act.at)
        live = (PermitStatus.ISSUED, PermitStatus.INTERRUPTED, PermitStatus.COMPLETING)
        reasons = self._finished_or(*live, refusal=R.NOT_ISSUED)
        if not reasons and not (host or lead):
            reasons += holds_any(people, act.member_id, ["construction_lead", "host_rep"], act.at)
        if not reasons and host and self.is_work:
            reasons += [r for r in self._restore_refusals(True, True) if r != R.SITE_NOT_RESTORED]
        if not self._guard(act, reasons):
            return False
        if self.status != PermitStatus.COMPLETING and self.is_work:
            self._declare(act.member_id, act.who, act.at)
        if host or not self.is_work:
            self._close(act.member_id, act.who, act.at)
        return True

    # ------------------------------------------------------------------ guardian, briefing, ticket

    def name_guardian(self, act: Act, guardian_id: str, people: People) -> bool:
        reasons = self._finished_or(
            *OPEN_UNISSUED, PermitStatus.SUSPENDED, refusal=R.GUARDIAN_CHANGE_NEEDS_HANDOVER
        )
        if not reasons:
            if self.work_class not in classes.SPECIAL_CLASSES:
                reasons.append(R.NOT_A_SPECIAL_WORK)
            reasons += holds_any(people, act.member_id, ["construction_lead", "host_rep"], act.at)
            if people.member(guardian_id) is None:
                reasons.append(R.NOT_ON_ROSTER)
            reasons += certificate_refusals(people, guardian_id, local_date(act.at, people.tz))
        if not self._guard(act, reasons):
            return False
        self.guardian = Guardian(member_id=guardian_id, named_by=act.member_id)
        self.record(
            "permit.updated",
            act.who,
            act.at,
            {"change": "guardian_named", "actor": act.who, "detail": {"guardian_member_id": guardian_id}},
        )
        return True

    def check_in(self, act: Act, site_presence: str | None) -> bool:
        reasons = self._finished_or(*OPEN_UNISSUED, *RUNNING, refusal=R.NOT_ISSUED)
        if not reasons:
            if not self._is_guardian(act.member_id):
                reasons.append(R.NOT_GUARDIAN)
            if not on_site(site_presence, self.area):
                reasons.append(R.NOT_ON_SITE)
        if not self._guard(act, reasons):
            return False
        assert self.guardian is not None
        self.guardian.on_site, self.guardian.since = True, act.at
        self.record(
            "permit.updated",
            act.who,
            act.at,
            {"change": "guardian_checked_in", "actor": act.who, "detail": {"site_presence": site_presence}},
        )
        return True

    def check_out(self, act: Act) -> bool:
        """The guardian leaves: the ticket is taken back and the work stops (§4.10 f)."""
        reasons = self._finished_or(*OPEN_UNISSUED, *RUNNING, PermitStatus.COMPLETING, refusal=R.NOT_ISSUED)
        if not reasons and not self._is_guardian(act.member_id):
            reasons.append(R.NOT_GUARDIAN)
        if not self._guard(act, reasons):
            return False
        assert self.guardian is not None
        self.guardian.on_site, self.guardian.since = False, act.at
        self.record(
            "permit.updated",
            act.who,
            act.at,
            {"change": "guardian_checked_out", "actor": act.who, "detail": {}},
        )
        if self.status in (PermitStatus.ISSUED, PermitStatus.INTERRUPTED):
            self.suspend("guardian_left", act.at, {"guardian_member_id": act.member_id})
        return True

    def brief(self, act: Act, receiver: str, site_presence: str | None, people: People) -> bool:
        """The safety briefing (§4.4): given by the host unit or management, received by the crew."""
        reasons = self._finished_or(*OPEN_UNISSUED, refusal=R.NOT_ISSUED)
        if not reasons:
            if self.work_class not in classes.SPECIAL_CLASSES:
                reasons.append(R.NOT_A_SPECIAL_WORK)
            if people.member(act.member_id) is None or people.member(receiver) is None:
                reasons.append(R.NOT_ON_ROSTER)
            elif people.employer_role(act.member_id) not in ("host", "management") or people.employer_role(
                receiver
            ) not in ("construction", "subcontractor"):
                reasons.append(R.ROLE_NOT_ALLOWED)
            if site_presence is not None and not on_site(site_presence, self.area):
                reasons.append(R.NOT_ON_SITE)
        if not self._guard(act, reasons):
            return False
        self.briefing = Briefing(giver_member_id=act.member_id, receiver_member_id=receiver, at=act.at)
        self.record(
            "permit.updated",
            act.who,
            act.at,
            {"change": "briefed", "actor": act.who, "detail": {"receiver_member_id": receiver}},
        )
        return True

    def check_ticket(self, act: Act, site_presence: str | None, people: People) -> bool:
        """The shift leader's ticket check (Table A.1): a host-unit roster member, on site."""
        reasons = self._finished_or(*OPEN_UNISSUED, refusal=R.NOT_ISSUED)
        if not reasons:
            if self.work_class not in classes.SPECIAL_CLASSES:
                reasons.append(R.NOT_A_SPECIAL_WORK)
            if people.member(act.member_id) is None:
                reasons.append(R.NOT_ON_ROSTER)
            elif people.employer_role(act.member_id) != "host":
                reasons.append(R.ROLE_NOT_ALLOWED)
            if not on_site(site_presence, self.area):
                reasons.append(R.NOT_ON_SITE)
        if not self._guard(act, reasons):
            return False
        self.ticket_check = TicketCheck(member_id=act.member_id, at=act.at)
        self.record(
            "permit.updated", act.who, act.at, {"change": "ticket_checked", "actor": act.who, "detail": {}}
        )
        return True

    # ------------------------------------------------------------------ isolations and gas

    def isolation(self, fact: dict[str, Any], at: datetime) -> bool:
        """An isolation applied or removed on site (§4.2 b, §4.14)."""
        mine = next((i for i in self.isolations if i.isolation_id == fact["isolation_id"]), None)
        if mine is None or self.finished:
            return False
        if fact.get("removed_at") is not None:
            if mine.removed:
                return False
            mine.removed, mine.removed_by, mine.removed_at = True, fact["removed_by"], fact["removed_at"]
            change, actor = "isolation_removed", fact["removed_by"]
        else:
            if (
                mine.applied
                and mine.lock_id == fact.get("lock_id")
                and mine.applied_kind == str(fact["kind"])
            ):
                return False
            mine.applied_kind = str(fact["kind"])
            mine.removed, mine.removed_by, mine.removed_at = False, None, None
            mine.applied, mine.applied_by, mine.applied_at = True, fact["applied_by"], fact["applied_at"]
            mine.lock_id = fact.get("lock_id")
            change, actor = "isolation_applied", fact["applied_by"]
        self.record(
            "permit.updated", actor, at, {"change": change, "actor": actor, "detail": mine.model_dump()}
        )
        return True

    def gas_test(self, reading: GasReading, at: datetime, rules: Rules) -> bool:
        """A gas test of the permit's area: kept with the permit; a failing one stops running
        work (§5.2.6, §6.5); a passing one is the latest monitoring reading."""
        if self.finished or self.status == PermitStatus.COMPLETING or not self.needs_gas():
            return False
        if reading.area != self.area:
            return False
        if any(r.test_id == reading.test_id for r in self.gas_readings):
            return False
        failed = gas.failures(reading, self.work_class, rules.gas)
        reading = reading.model_copy(update={"passed": not failed})
        self.gas_readings.append(reading)
        self.gas_readings.sort(key=lambda r: r.tested_at)
        self.record(
            "permit.updated",
            reading.tester or SYSTEM,
            at,
            {
                "change": "gas_reading",
                "actor": reading.tester or SYSTEM,
                "detail": {"test_id": reading.test_id, "passed": not failed, "failures": failed},
            },
        )
        live = self.status == PermitStatus.ISSUED and self.valid_from is not None
        if live and failed and reading.tested_at >= (self.last_reading_at or reading.tested_at):
            self.suspend("gas_test_failed", at, {"test_id": reading.test_id, "failures": failed})
        elif live and not failed and classes.monitored(self.work_class, self.grade):
            self.last_reading_at = max(self.last_reading_at or reading.tested_at, reading.tested_at)
        return True
