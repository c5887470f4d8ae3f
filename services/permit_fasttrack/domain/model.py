"""The permit's state: a typed aggregate, its parts, and how a change is recorded.

A transition (``lifecycle``, ``operations``, ``drawings``) checks its guard, changes the state and
*records* what it caused with :meth:`PermitState.record`: the event type with its fields, the
actor, a snapshot as it stands after that step, and a history entry (who, when, why, revision).
``version`` goes up by one with every recorded change (optimistic concurrency, R3); ``revision``
with every re-plan, resubmission and re-routing, and with every change once the permit has been
issued (an issued permit is never edited, every change is a new revision). The handlers publish
the recorded changes and store the permit; the domain does no I/O.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from shared.events.catalog import PermitKind, PermitStatus, WorkPlanned

from .gas import GasReading

SYSTEM = "permit-fasttrack"
FINISHED = frozenset(
    {
        PermitStatus.REJECTED,
        PermitStatus.EXPIRED,
        PermitStatus.CLOSED,
        PermitStatus.CANCELLED,
        PermitStatus.LAPSED,
    }
)
OPEN_UNISSUED = frozenset({PermitStatus.PENDING_SIGNATURES, PermitStatus.APPROVED, PermitStatus.BLOCKED})
RUNNING = frozenset({PermitStatus.ISSUED, PermitStatus.SUSPENDED, PermitStatus.INTERRUPTED})


class _Part(BaseModel):
    model_config = ConfigDict(extra="ignore")


class SignatureRequest(_Part):
    role: str
    member_ids: list[str] = Field(default_factory=list)
    since: datetime
    deadline: datetime


class Signature(_Part):
    role: str
    member_id: str
    decision: str
    comment: str | None = None
    signed_at: datetime
    site_presence: str | None = None


class Guardian(_Part):
    member_id: str
    named_by: str
    on_site: bool = False
    since: datetime | None = None


class Briefing(_Part):
    giver_member_id: str
    receiver_member_id: str
    at: datetime


class TicketCheck(_Part):
    member_id: str
    at: datetime


class IsolationState(_Part):
    isolation_id: str
    kind: str  # as planned
    point: str = ""
    applied: bool = False
    applied_kind: str | None = None  # as confirmed on site
    applied_by: str | None = None
    lock_id: str | None = None
    applied_at: datetime | None = None
    removed: bool = False
    removed_by: str | None = None
    removed_at: datetime | None = None


class Interruption(_Part):
    since: datetime
    reason: str
    by: str


class Suspension(_Part):
    cause: str
    since: datetime
    severity: str | None = None
    detail: dict[str, Any] = Field(default_factory=dict)


class HandoverAck(_Part):
    shift_change_at: datetime
    position: str
    side: str
    member_id: str
    at: datetime


class Extension(_Part):
    previous_until: datetime
    valid_until: datetime
    by: str
    at: datetime
    reason: str


class CompletionRefusal(_Part):
    by: str
    at: datetime
    reason: str


class Completion(_Part):
    declared_by: str
    declared_at: datetime
    refusals: list[CompletionRefusal] = Field(default_factory=list)
    accepted_by: str | None = None
    accepted_at: datetime | None = None


class Comment(_Part):
    comment_id: str
    member_id: str
    role: str
    sheet: str
    issue: str
    added_at: datetime
    round: int
    resolved_in_revision: int | None = None
    resolved_at: datetime | None = None


class HistoryEntry(_Part):
    event_id: str | None = None
    type: str
    actor: str
    at: datetime
    revision: int = 1
    detail: dict[str, Any] = Field(default_factory=dict)


class Change(BaseModel):
    """One event a transition caused, waiting to be published by the handler."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    type: str
    data: dict[str, Any]
    actor: str
    entry: HistoryEntry


class PermitState(BaseModel):
    """The permit aggregate's data. See the module docstring for how it changes."""

    model_config = ConfigDict(extra="ignore", validate_assignment=False)

    permit_id: str
    kind: PermitKind
    work_class: str | None = None
    grade: str | None = None
    grade_basis: list[str] = Field(default_factory=list)
    zone_id: str | None = None
    project_id: str
    source_id: str
    title: str | None = None
    area: str | None = None
    risk_types: list[str] = Field(default_factory=list)
    contractor_unit_id: str | None = None
    plan: WorkPlanned | None = None
    linked_permit_ids: list[str] = Field(default_factory=list)
    served_grades: dict[str, str | None] = Field(default_factory=dict)
    status: PermitStatus = PermitStatus.PENDING_SIGNATURES
    version: int = 0
    revision: int = 1
    requested_at: datetime
    sla_deadline: datetime
    sla_breached: bool = False
    required_roles: list[str] = Field(default_factory=list)
    signatures_requested: bool = False
    requests: list[SignatureRequest] = Field(default_factory=list)
    signatures: list[Signature] = Field(default_factory=list)
    blocked_reasons: list[str] = Field(default_factory=list)
    blocked_details: list[dict[str, Any]] = Field(default_factory=list)
    guardian: Guardian | None = None
    briefing: Briefing | None = None
    ticket_check: TicketCheck | None = None
    isolations: list[IsolationState] = Field(default_factory=list)
    gas_readings: list[GasReading] = Field(default_factory=list)
    last_reading_at: datetime | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    issued_at: datetime | None = None  # the first issue (the cycle time's end)
    interruption: Interruption | None = None
    suspension: Suspension | None = None
    handovers: list[HandoverAck] = Field(default_factory=list)
    handover_settled_until: datetime | None = None
    extensions: list[Extension] = Field(default_factory=list)
    completion: Completion | None = None
    comments: list[Comment] = Field(default_factory=list)
    drawing_revision: int = 1
    history: list[HistoryEntry] = Field(default_factory=list)
    finished_at: datetime | None = None

    _pending: list[Change] = PrivateAttr(default_factory=list)

    # ------------------------------------------------------------------ recording

    def record(
        self,
        event_type: str,
        actor: str,
        at: datetime,
        extra: dict[str, Any] | None = None,
        detail: dict[str, Any] | None = None,
        revise: bool = False,
    ) -> None:
        """Note one change: version +1, revision +1 when asked or once issued, a history entry,
        and the event with the snapshot as it stands now."""
        refusal = event_type == "permit.command-rejected"
        self.version += 1
        if not refusal and (revise or self.issued_at is not None):
            self.revision += 1
        entry = HistoryEntry(
            type=event_type,
            actor=actor,
            at=at,
            revision=self.revision,
            detail=_plain(detail if detail is not None else extra or {}),
        )
        self.history.append(entry)
        data = dict(extra or {})
        if not refusal:
            data = {"permit": self.snapshot(), **data}
        self._pending.append(Change(type=event_type, data=data, actor=actor, entry=entry))

    def drain(self) -> list[Change]:
        out, self._pending = self._pending, []
        return out

    @property
    def pending(self) -> list[Change]:
        return list(self._pending)

    # ------------------------------------------------------------------ views

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def is_work(self) -> bool:
        return self.kind == PermitKind.WORK_PERMIT

    @property
    def planned_start(self) -> datetime | None:
        return self.plan.planned_start if self.plan is not None else None

    @property
    def planned_end(self) -> datetime | None:
        return self.plan.planned_end if self.plan is not None else None

    def signed_roles(self) -> set[str]:
        return {s.role for s in self.signatures}

    def approved_roles(self) -> set[str]:
        return {s.role for s in self.signatures if s.decision == "approve"}

    def waiting_on(self) -> list[str]:
        done = self.signed_roles()
        return [r for r in self.required_roles if r not in done]

    def waiting_members(self) -> list[str]:
        roles = set(self.waiting_on())
        return sorted({m for r in self.requests if r.role in roles for m in r.member_ids})

    def readings_here(self) -> list[GasReading]:
        """The gas tests of the permit's own area (a re-plan may move it)."""
        return [r for r in self.gas_readings if r.area == self.area]

    def request_for(self, role: str) -> SignatureRequest | None:
        return next((r for r in self.requests if r.role == role), None)

    def snapshot(self) -> dict[str, Any]:
        """The base contract's permit snapshot with this project's additions (PermitSnapshot)."""
        return {
            "permit_id": self.permit_id,
            "kind": str(self.kind),
            "zone_id": self.zone_id,
            "project_id": self.project_id,
            "source_id": self.source_id,
            "area": self.area,
            "risk_types": list(self.risk_types),
            "status": str(self.status),
            "requested_at": self.requested_at,
            "sla_deadline": self.sla_deadline,
            "signatures": [s.model_dump() for s in self.signatures],
            "blocked_reasons": list(self.blocked_reasons),
            "valid_from": self.valid_from,
            "valid_until": self.valid_until,
            "work_class": self.work_class,
            "grade": self.grade,
            "linked_permit_ids": list(self.linked_permit_ids),
            "version": self.version,
            "revision": self.revision,
            "guardian_member_id": self.guardian.member_id if self.guardian else None,
            "suspension_cause": self.suspension.cause if self.suspension else None,
        }

    def store_doc(self) -> dict[str, Any]:
        return {"_id": self.permit_id, **self.model_dump(mode="python")}


def _plain(value: Any) -> Any:
    """History details as plain data (enums to strings) so they store and compare cleanly."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, BaseModel):
        return _plain(value.model_dump())
    if isinstance(value, timedelta):
        return value.total_seconds()
    if hasattr(value, "value") and not isinstance(value, str | int | float | bool | datetime):
        return value.value
    return value
