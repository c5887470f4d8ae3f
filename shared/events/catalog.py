"""Every event type of EVENTS.md as a pydantic model, and the registry ``type -> (topic, model)``.

Inbound enterprise facts are strict (a malformed fact is unreadable and goes to the DLQ).
Commands keep as plain strings the fields a service refuses *for a domain reason* with a
reason code (an unknown role, an unknown activity kind, a score out of range, a missing
check-in slot...): such a command is readable, and its sender gets a ``*.rejected`` answer
instead of silence in the DLQ.
"""

from __future__ import annotations

import builtins
from datetime import date
from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from .envelope import CloudEvent, UnreadableEvent, format_validation_error

# --------------------------------------------------------------------------- topics


class Topic(StrEnum):
    PROJECTS = "ent.projects"
    SAFETY = "ent.safety"
    QUALITY = "ent.quality"
    ZONE_COMMANDS = "pbz.zone.commands"
    ACTIVITY_COMMANDS = "pbz.activity.commands"
    PERMIT_COMMANDS = "pbz.permit.commands"
    ASSESSMENT_COMMANDS = "pbz.assessment.commands"
    CLOCK = "pbz.clock"
    ZONE_EVENTS = "pbz.zone.events"
    ACTIVITY_EVENTS = "pbz.activity.events"
    PERMIT_EVENTS = "pbz.permit.events"
    ASSESSMENT_EVENTS = "pbz.assessment.events"
    DLQ = "pbz.dlq"


ALL_TOPICS: tuple[str, ...] = tuple(t.value for t in Topic)

# --------------------------------------------------------------------------- vocabulary


class ProjectCategory(StrEnum):
    NEW_BUILD = "new_build"
    EPC = "epc"
    RENOVATION = "renovation"
    SAFETY_REMEDIATION = "safety_remediation"
    OTHER = "other"


class ProjectScale(StrEnum):
    LARGE = "large"
    SMALL = "small"


class UnitRole(StrEnum):
    MANAGEMENT = "management"
    HOST = "host"
    CONSTRUCTION = "construction"
    SUPERVISION = "supervision"
    DESIGN = "design"
    SUBCONTRACTOR = "subcontractor"


class ZoneMode(StrEnum):
    PROJECT_COBUILD = "project_cobuild"
    REGIONAL_ALLIANCE = "regional_alliance"


class ZoneStatus(StrEnum):
    PROPOSED = "proposed"
    ACTIVE = "active"
    CLOSED = "closed"


class System(StrEnum):
    """The six basic systems (六项基本制度)."""

    JOINT_MEETING = "joint_meeting"
    DAILY_CHECKIN = "daily_checkin"
    THEME_PARTY_DAY = "theme_party_day"
    TWO_PLUS_ONE_ASSESSMENT = "two_plus_one_assessment"
    SUBCONTRACTOR_SAFETY = "subcontractor_safety"
    CONTRACTOR_SAFETY = "contractor_safety"


ALL_SYSTEMS: tuple[str, ...] = tuple(s.value for s in System)


class Employment(StrEnum):
    STAFF = "staff"
    DISPATCHED = "dispatched"
    MIGRANT_WORKER = "migrant_worker"
    EXTERNAL_HIRE = "external_hire"


class ZoneRole(StrEnum):
    SECRETARY = "secretary"
    HOST_REP = "host_rep"
    CONSTRUCTION_LEAD = "construction_lead"
    SUPERVISION_ENGINEER = "supervision_engineer"
    MANAGEMENT_SAFETY = "management_safety"
    MEMBER = "member"


class ActivityKind(StrEnum):
    THEME_PARTY_DAY = "theme_party_day"
    JOINT_MEETING = "joint_meeting"
    DAILY_CHECKIN = "daily_checkin"
    WEEKLY_MEETING = "weekly_meeting"
    MONTHLY_ANALYSIS = "monthly_analysis"
    PARTY_HISTORY_CLASS = "party_history_class"
    OATH_RENEWAL = "oath_renewal"
    ORGANISATIONAL_LIFE = "organisational_life"
    OTHER = "other"


class CheckinSlot(StrEnum):
    MORNING = "morning"
    EVENING = "evening"


class RiskType(StrEnum):
    HOT_WORK = "hot_work"
    CONFINED_SPACE = "confined_space"
    WORK_AT_HEIGHT = "work_at_height"
    LIFTING = "lifting"
    TEMP_ELECTRICITY = "temp_electricity"
    EXCAVATION = "excavation"
    ROAD_BREAKING = "road_breaking"
    BLIND_PLATE = "blind_plate"


class PermitKind(StrEnum):
    WORK_PERMIT = "work_permit"
    DRAWING_REVIEW = "drawing_review"


class PermitStatus(StrEnum):
    PENDING_SIGNATURES = "pending_signatures"
    APPROVED = "approved"
    BLOCKED = "blocked"
    ISSUED = "issued"
    SUSPENDED = "suspended"
    REJECTED = "rejected"
    EXPIRED = "expired"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class Severity(StrEnum):
    NEAR_MISS = "near_miss"
    MINOR = "minor"
    MAJOR = "major"
    FATAL = "fatal"


class IncidentKind(StrEnum):
    INJURY = "injury"
    ENVIRONMENTAL = "environmental"
    EQUIPMENT = "equipment"
    FIRE = "fire"
    OTHER = "other"


class InspectionResult(StrEnum):
    EXCELLENT = "excellent"
    PASS = "pass"
    FAIL = "fail"


class Decision(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"


class Grade(StrEnum):
    EXCELLENT = "excellent"
    GOOD = "good"
    PASS = "pass"
    FAIL = "fail"


PERIOD_MONTH = r"^\d{4}-(0[1-9]|1[0-2])$"
PERIOD_ANY = r"^\d{4}-((0[1-9]|1[0-2])|Q[1-4])$"

# --------------------------------------------------------------------------- base


class Payload(BaseModel):
    """``data`` of an event. Senders may add fields (EVENTS.md): extras are kept."""

    model_config = ConfigDict(extra="allow", use_enum_values=True)


class Unit(Payload):
    unit_id: str = Field(min_length=1)
    name: str
    role: UnitRole


class CommandUnit(Payload):
    """A unit in a command: the role is checked by the zone-registry (``unknown_role``)."""

    unit_id: str = Field(min_length=1)
    name: str
    role: str


# --------------------------------------------------------------------------- ent.projects


class ProjectRegistered(Payload):
    project_id: str = Field(min_length=1)
    name: str
    category: ProjectCategory
    scale: ProjectScale
    key_project: bool
    region: str
    planned_start: date
    planned_end: date
    units: list[Unit]


class ProjectMilestoneReached(Payload):
    project_id: str = Field(min_length=1)
    milestone: str
    planned_date: date
    actual_date: date


class ProjectCompleted(Payload):
    project_id: str = Field(min_length=1)
    completed_at: AwareDatetime


class WorkPlanned(Payload):
    work_id: str = Field(min_length=1)
    project_id: str = Field(min_length=1)
    title: str
    area: str
    risk_types: list[RiskType] = Field(default_factory=list)
    contractor_unit_id: str
    planned_start: AwareDatetime
    planned_end: AwareDatetime


class DrawingSubmitted(Payload):
    drawing_id: str = Field(min_length=1)
    project_id: str = Field(min_length=1)
    title: str
    submitted_by_unit_id: str


class ImprovementRecorded(Payload):
    project_id: str = Field(min_length=1)
    title: str
    cost_saved_cny: float = Field(ge=0)
    days_saved: float = Field(ge=0)


# --------------------------------------------------------------------------- ent.safety / ent.quality


class GasTestRecorded(Payload):
    test_id: str = Field(min_length=1)
    project_id: str = Field(min_length=1)
    area: str
    tested_at: AwareDatetime
    o2_pct: float
    lel_pct: float
    h2s_mg_m3: float
    co_mg_m3: float | None = None
    tester: str | None = None


class IncidentReported(Payload):
    incident_id: str = Field(min_length=1)
    project_id: str = Field(min_length=1)
    area: str
    severity: Severity
    kind: IncidentKind
    occurred_at: AwareDatetime
    description: str


class ProcedureInspected(Payload):
    inspection_id: str = Field(min_length=1)
    project_id: str = Field(min_length=1)
    procedure_code: str
    result: InspectionResult
    inspected_at: AwareDatetime


# --------------------------------------------------------------------------- pbz.zone.commands


class ZoneEstablish(Payload):
    zone_id: str | None = None
    name: str = Field(min_length=1)
    mode: str
    project_ids: list[str] = Field(default_factory=list)
    region: str
    units: list[CommandUnit] = Field(default_factory=list)
    systems: list[str] | None = None


class ZoneAddUnit(Payload):
    zone_id: str = Field(min_length=1)
    unit_id: str = Field(min_length=1)
    name: str
    role: str


class ZoneAddMember(Payload):
    zone_id: str = Field(min_length=1)
    member_id: str = Field(min_length=1)
    name: str
    home_branch: str
    employer_unit_id: str
    employment: str
    zone_role: str
    phone: str | None = None


class ZoneRemoveMember(Payload):
    zone_id: str = Field(min_length=1)
    member_id: str = Field(min_length=1)
    reason: str | None = None


class ZoneAdoptSystems(Payload):
    zone_id: str = Field(min_length=1)
    systems: list[str]


class ZoneClose(Payload):
    zone_id: str = Field(min_length=1)
    reason: str | None = None


# --------------------------------------------------------------------------- pbz.activity.commands


class ProblemRef(Payload):
    problem_id: str = Field(min_length=1)
    title: str


class ActivityRecord(Payload):
    """Kind and slot are checked by the activity-log (``unknown_kind``, ``checkin_slot_missing``)."""

    activity_id: str = Field(min_length=1)
    zone_id: str = Field(min_length=1)
    kind: str
    slot: str | None = None
    started_at: AwareDatetime
    ended_at: AwareDatetime
    location: str
    topic: str
    organizer_member_id: str
    attendee_member_ids: list[str]
    problems_raised: list[ProblemRef] = Field(default_factory=list)
    problems_resolved: list[str] = Field(default_factory=list)


# --------------------------------------------------------------------------- pbz.permit.commands


class PermitSign(Payload):
    permit_id: str = Field(min_length=1)
    member_id: str = Field(min_length=1)
    role: str
    decision: Decision
    comment: str | None = None
    signed_at: AwareDatetime


class PermitClose(Payload):
    permit_id: str = Field(min_length=1)
    member_id: str = Field(min_length=1)
    closed_at: AwareDatetime


class PermitResume(Payload):
    permit_id: str = Field(min_length=1)
    member_id: str = Field(min_length=1)


# --------------------------------------------------------------------------- pbz.assessment.commands


class EvaluationSubmit(Payload):
    """Role and score range are checked by the assessment (``unknown_evaluator_role``, ``score_out_of_range``)."""

    evaluation_id: str = Field(min_length=1)
    zone_id: str = Field(min_length=1)
    period: str = Field(pattern=PERIOD_ANY)
    evaluator_unit_id: str
    evaluator_role: str
    score: float
    comment: str | None = None


# --------------------------------------------------------------------------- pbz.clock


class ClockTicked(Payload):
    now: AwareDatetime


# --------------------------------------------------------------------------- pbz.zone.events


class Member(Payload):
    member_id: str
    name: str
    home_branch: str
    employer_unit_id: str
    employment: Employment
    zone_role: str


class ZoneSnapshot(Payload):
    zone_id: str
    name: str
    mode: ZoneMode
    status: ZoneStatus
    region: str
    host_unit_id: str | None
    project_ids: list[str]
    units: list[Unit]
    systems: list[System]
    members: list[Member]
    established_at: AwareDatetime


class ZoneEvent(Payload):
    zone: ZoneSnapshot


class ZoneCoverageGap(ZoneEvent):
    project_id: str
    missing_roles: list[UnitRole]


class ZoneCommandRejected(Payload):
    command_id: str
    command_type: str
    zone_id: str | None = None
    reasons: list[str] = Field(min_length=1)
    zone: ZoneSnapshot | None = None


# --------------------------------------------------------------------------- pbz.activity.events


class ActivityRecorded(ActivityRecord):
    pass


class ActivityRejected(Payload):
    activity_id: str
    zone_id: str
    reasons: list[str] = Field(min_length=1)


class ProblemEvent(Payload):
    problem_id: str
    zone_id: str
    title: str | None = None
    raised_at: AwareDatetime
    resolved_at: AwareDatetime | None = None


class ComplianceEvaluated(Payload):
    zone_id: str
    period: str = Field(pattern=PERIOD_MONTH)
    rule: str
    required: int = Field(ge=0)
    actual: int = Field(ge=0)
    met: bool


# --------------------------------------------------------------------------- pbz.permit.events


class Signature(Payload):
    role: str
    member_id: str
    decision: Decision
    comment: str | None = None
    signed_at: AwareDatetime


class PermitSnapshot(Payload):
    permit_id: str
    kind: PermitKind
    zone_id: str | None
    project_id: str
    source_id: str
    area: str | None
    risk_types: list[RiskType]
    status: PermitStatus
    requested_at: AwareDatetime
    sla_deadline: AwareDatetime
    signatures: list[Signature]
    blocked_reasons: list[str]
    valid_from: AwareDatetime | None = None
    valid_until: AwareDatetime | None = None


class PermitEvent(Payload):
    permit: PermitSnapshot


class PermitSignatureRequested(PermitEvent):
    role: str
    member_ids: list[str]


class PermitBlocked(PermitEvent):
    reasons: list[str] = Field(min_length=1)


class PermitIssued(PermitEvent):
    valid_from: AwareDatetime
    valid_until: AwareDatetime


class PermitSlaBreached(PermitEvent):
    deadline: AwareDatetime
    waiting_on_roles: list[str]


class PermitCommandRejected(Payload):
    command_id: str
    command_type: str
    permit_id: str
    member_id: str | None = None
    reasons: list[str] = Field(min_length=1)


# --------------------------------------------------------------------------- pbz.assessment.events


class AssessmentComputed(Payload):
    zone_id: str
    period: str = Field(pattern=PERIOD_ANY)
    revision: int = Field(ge=1)
    indicators: dict[str, Any]
    evaluation: dict[str, Any] | None
    score: float = Field(ge=0, le=100)
    grade: Grade


class RankingEntry(Payload):
    zone_id: str
    score: float
    rank: int = Field(ge=1)


class RankingPublished(Payload):
    period: str = Field(pattern=PERIOD_ANY)
    revision: int = Field(ge=1)
    ranking: list[RankingEntry]


class AssessmentCommandRejected(Payload):
    command_id: str
    command_type: str
    zone_id: str | None = None
    reasons: list[str] = Field(min_length=1)


# --------------------------------------------------------------------------- pbz.dlq


class DeadLetter(Payload):
    service: str
    topic: str
    partition: int
    offset: int
    key: str | None
    reason: str
    original: str  # base64 of the original bytes


class DeadLetterRedriven(Payload):
    """An operator re-published a dead letter's original message (``pbz dlq redrive``): the
    same bytes, key and CloudEvents id, to the original topic — consumers that processed it
    meanwhile drop it as a duplicate. Recorded on ``pbz.dlq`` itself so no letter is re-driven
    twice; ``letters`` are the ids of every letter of that original message (one per service
    that dead-lettered it)."""

    letters: list[str] = Field(min_length=1)
    topic: str
    partition: int
    offset: int
    key: str | None
    event_id: str | None = Field(default=None, description="The original's CloudEvents id, when it had one.")
    redriven_partition: int
    redriven_offset: int
    operator: str | None = None


# --------------------------------------------------------------------------- registry


class EventSpec(BaseModel):
    type: str
    topic: Topic
    model: builtins.type[Payload]


_SPECS: list[tuple[str, Topic, type[Payload]]] = [
    ("project.registered", Topic.PROJECTS, ProjectRegistered),
    ("project.milestone-reached", Topic.PROJECTS, ProjectMilestoneReached),
    ("project.completed", Topic.PROJECTS, ProjectCompleted),
    ("work.planned", Topic.PROJECTS, WorkPlanned),
    ("drawing.submitted", Topic.PROJECTS, DrawingSubmitted),
    ("improvement.recorded", Topic.PROJECTS, ImprovementRecorded),
    ("safety.gas-test-recorded", Topic.SAFETY, GasTestRecorded),
    ("safety.incident-reported", Topic.SAFETY, IncidentReported),
    ("quality.procedure-inspected", Topic.QUALITY, ProcedureInspected),
    ("zone.establish", Topic.ZONE_COMMANDS, ZoneEstablish),
    ("zone.add-unit", Topic.ZONE_COMMANDS, ZoneAddUnit),
    ("zone.add-member", Topic.ZONE_COMMANDS, ZoneAddMember),
    ("zone.remove-member", Topic.ZONE_COMMANDS, ZoneRemoveMember),
    ("zone.adopt-systems", Topic.ZONE_COMMANDS, ZoneAdoptSystems),
    ("zone.close", Topic.ZONE_COMMANDS, ZoneClose),
    ("activity.record", Topic.ACTIVITY_COMMANDS, ActivityRecord),
    ("permit.sign", Topic.PERMIT_COMMANDS, PermitSign),
    ("permit.close", Topic.PERMIT_COMMANDS, PermitClose),
    ("permit.resume", Topic.PERMIT_COMMANDS, PermitResume),
    ("evaluation.submit", Topic.ASSESSMENT_COMMANDS, EvaluationSubmit),
    ("clock.ticked", Topic.CLOCK, ClockTicked),
    ("zone.established", Topic.ZONE_EVENTS, ZoneEvent),
    ("zone.updated", Topic.ZONE_EVENTS, ZoneEvent),
    ("zone.member-joined", Topic.ZONE_EVENTS, ZoneEvent),
    ("zone.member-left", Topic.ZONE_EVENTS, ZoneEvent),
    ("zone.closed", Topic.ZONE_EVENTS, ZoneEvent),
    ("zone.coverage-gap", Topic.ZONE_EVENTS, ZoneCoverageGap),
    ("zone.command-rejected", Topic.ZONE_EVENTS, ZoneCommandRejected),
    ("activity.recorded", Topic.ACTIVITY_EVENTS, ActivityRecorded),
    ("activity.rejected", Topic.ACTIVITY_EVENTS, ActivityRejected),
    ("problem.raised", Topic.ACTIVITY_EVENTS, ProblemEvent),
    ("problem.resolved", Topic.ACTIVITY_EVENTS, ProblemEvent),
    ("activity.compliance-evaluated", Topic.ACTIVITY_EVENTS, ComplianceEvaluated),
    ("permit.requested", Topic.PERMIT_EVENTS, PermitEvent),
    ("permit.signature-requested", Topic.PERMIT_EVENTS, PermitSignatureRequested),
    ("permit.signed", Topic.PERMIT_EVENTS, PermitEvent),
    ("permit.approved", Topic.PERMIT_EVENTS, PermitEvent),
    ("permit.rejected", Topic.PERMIT_EVENTS, PermitEvent),
    ("permit.blocked", Topic.PERMIT_EVENTS, PermitBlocked),
    ("permit.issued", Topic.PERMIT_EVENTS, PermitIssued),
    ("permit.suspended", Topic.PERMIT_EVENTS, PermitEvent),
    ("permit.resumed", Topic.PERMIT_EVENTS, PermitEvent),
    ("permit.expired", Topic.PERMIT_EVENTS, PermitEvent),
    ("permit.closed", Topic.PERMIT_EVENTS, PermitEvent),
    ("permit.cancelled", Topic.PERMIT_EVENTS, PermitEvent),
    ("permit.sla-breached", Topic.PERMIT_EVENTS, PermitSlaBreached),
    ("permit.command-rejected", Topic.PERMIT_EVENTS, PermitCommandRejected),
    ("assessment.computed", Topic.ASSESSMENT_EVENTS, AssessmentComputed),
    ("assessment.ranking-published", Topic.ASSESSMENT_EVENTS, RankingPublished),
    ("assessment.command-rejected", Topic.ASSESSMENT_EVENTS, AssessmentCommandRejected),
    ("dlq.recorded", Topic.DLQ, DeadLetter),
    ("dlq.redriven", Topic.DLQ, DeadLetterRedriven),
]

REGISTRY: dict[str, EventSpec] = {t: EventSpec(type=t, topic=topic, model=m) for t, topic, m in _SPECS}


def spec_for(event_type: str) -> EventSpec:
    try:
        return REGISTRY[event_type]
    except KeyError:
        raise UnreadableEvent("unknown_type", f"no event type {event_type!r} in the catalogue") from None


def parse_data(event: CloudEvent, expected_topic: str | None = None) -> Payload:
    """Type ``event.data`` by ``event.type``. Raises :class:`UnreadableEvent` with the reason."""
    spec = spec_for(event.type)
    if expected_topic is not None and spec.topic.value != expected_topic:
        raise UnreadableEvent(
            "wrong_topic", f"{event.type!r} belongs on {spec.topic.value!r}, not on {expected_topic!r}"
        )
    try:
        return spec.model.model_validate(event.data)
    except ValidationError as e:
        raise UnreadableEvent("invalid_payload", format_validation_error(e, prefix="data.")) from None
