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
    # 三会一课 and the organisational life of 《中国共产党支部工作条例（试行）》 (issue 19):
    PARTY_MEMBERS_MEETING = "party_members_meeting"  # 党员大会, 第十一条
    BRANCH_COMMITTEE_MEETING = "branch_committee_meeting"  # 支委会, 第十二条
    PARTY_GROUP_MEETING = "party_group_meeting"  # 党小组会, 第十三条
    PARTY_CLASS = "party_class"  # 党课, 第十五条
    ORGANISATIONAL_LIFE_MEETING = "organisational_life_meeting"  # 组织生活会, 第十七条
    MEMBER_APPRAISAL = "member_appraisal"  # 民主评议党员, 第十八条


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
PERIOD_YEAR = r"^\d{4}$"
# A month, a quarter or a year: the periods of organisational life and of roll-ups.
PERIOD_ORG = r"^\d{4}(-((0[1-9]|1[0-2])|Q[1-4]))?$"


# --------------------------------------------------------------------------- vocabulary of issue 19


class Cadence(StrEnum):
    """How often a rule of organisational life falls due: its period is a month ``YYYY-MM``,
    a quarter ``YYYY-Qn`` or a year ``YYYY``."""

    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    YEARLY = "yearly"


class OrgLifeRule(StrEnum):
    """The rules of 三会一课 and organisational life a zone's joint branch is held to, by
    《中国共产党支部工作条例（试行）》 (2018): 党员大会 一般每季度召开1次 (第十一条); 支委会
    一般每月召开1次 (第十二条); 党小组会 一般每月召开1次 (第十三条); 党课 按期 (第十五条;
    the default here is at least once a quarter); 主题党日 每月相对固定1天 (第十六条); 组织生活会
    每年至少1次 (第十七条); 民主评议党员 一般每年1次 (第十八条). Each minimum is configurable
    per zone."""

    PARTY_MEMBERS_MEETING = "party_members_meeting"
    BRANCH_COMMITTEE_MEETING = "branch_committee_meeting"
    PARTY_GROUP_MEETING = "party_group_meeting"
    PARTY_CLASS = "party_class"
    THEME_PARTY_DAY_ON_FIXED_DAY = "theme_party_day_on_fixed_day"
    ORGANISATIONAL_LIFE_MEETING = "organisational_life_meeting"
    MEMBER_APPRAISAL = "member_appraisal"


class AttendanceStatus(StrEnum):
    """A member at an activity: present, on leave (请假 recorded before the start), or absent."""

    PRESENT = "present"
    ON_LEAVE = "on_leave"
    ABSENT = "absent"


class MemberStanding(StrEnum):
    """Where a member's organisational relationship stands, which decides the vote at a
    党员大会. ``full``: a member of the joint branch (staff of the zone's units);
    ``probationary``: 预备党员, no vote (党章 第七条); ``certificate``: a floating member away
    from the home branch under six months, holding a 流动党员活动证 — attends, pays dues, no
    vote, cannot elect or be elected; ``transfer_due``: away six months or more, the
    organisational relationship should move (中组部《关于加强和改进流动党员管理工作的意见》) —
    still no vote until it has; ``transferred``: the relationship moved into the branch: votes."""

    FULL = "full"
    PROBATIONARY = "probationary"
    CERTIFICATE = "certificate"
    TRANSFER_DUE = "transfer_due"
    TRANSFERRED = "transferred"


class LeaveRefusal(StrEnum):
    """Why a leave request (请假) is refused. ``leave_after_start``: leave must be recorded
    before the activity starts; afterwards the member is absent, not on leave."""

    UNKNOWN_ZONE = "unknown_zone"
    ZONE_NOT_ACTIVE = "zone_not_active"
    MEMBER_NOT_ON_ROSTER = "member_not_on_roster"
    LEAVE_AFTER_START = "leave_after_start"
    DUPLICATE_LEAVE = "duplicate_leave"
    REASON_MISSING = "reason_missing"


class TransferRefusal(StrEnum):
    """Why ``zone.record-transfer`` (the organisational relationship moved into the branch) is refused."""

    UNKNOWN_ZONE = "unknown_zone"
    ZONE_CLOSED = "zone_closed"
    MEMBER_NOT_ON_ROSTER = "member_not_on_roster"
    NOT_FLOATING = "not_floating"
    ALREADY_TRANSFERRED = "already_transferred"
    TRANSFER_BEFORE_AWAY = "transfer_before_away"


class ZoneSettingRefusal(StrEnum):
    """Why ``zone.configure`` is refused."""

    UNKNOWN_ZONE = "unknown_zone"
    ZONE_CLOSED = "zone_closed"
    UNKNOWN_SIGNING_MODE = "unknown_signing_mode"
    THEME_DAY_OUT_OF_RANGE = "theme_day_out_of_range"
    NOTHING_TO_CHANGE = "nothing_to_change"


class SigningMode(StrEnum):
    """How a zone's permits are signed. ``parallel``: the zone's roles sign on site at once
    (SPEC §3.3). ``sequential``: the old route the zones replaced, each office signing only
    after the one before, in office hours (``SEQUENTIAL_ORDER``) — played by the demo through
    the same services so both columns of its report are measured."""

    PARALLEL = "parallel"
    SEQUENTIAL = "sequential"


class SequentialStep(StrEnum):
    """The offices of the old sequential sign-off, in order."""

    CONSTRUCTION_SAFETY_OFFICER = "construction_safety_officer"  # 施工单位安全员
    CONTRACTOR_SAFETY_OFFICER = "contractor_safety_officer"  # 总包安全员
    CONTRACTOR_ENGINEER = "contractor_engineer"  # 总包工程师
    CONTRACTOR_MANAGER = "contractor_manager"  # 总包项目经理
    SUPERVISION = "supervision"  # 监理
    OWNER = "owner"  # 业主


SEQUENTIAL_ORDER: tuple[SequentialStep, ...] = tuple(SequentialStep)


class RevisionReason(StrEnum):
    """Why an assessment or a ranking has a new revision: the first close of the period, or
    a fact that reached it later — never a silent change (SPEC §3.4)."""

    PERIOD_CLOSED = "period_closed"
    LATE_FACT = "late_fact"
    INCIDENT_RECLASSIFIED = "incident_reclassified"
    INSPECTION_CORRECTED = "inspection_corrected"
    LATE_EVALUATION = "late_evaluation"


class AssessmentStatus(StrEnum):
    """A zone-period is ``scored`` (``assessment.computed``) or has ``no_data``
    (``assessment.no-data``): never a score made up of nothing."""

    SCORED = "scored"
    NO_DATA = "no_data"


class NoDataReason(StrEnum):
    """Why a zone has no score for a period (``no_data``, never 100 / excellent):
    ``no_facts`` — nothing at all was heard of it; ``evaluation_only`` — only "2+1" ratings,
    which are opinions, not data; ``figures_only`` — only reported figures (problems,
    savings) that no indicator scores."""

    NO_FACTS = "no_facts"
    EVALUATION_ONLY = "evaluation_only"
    FIGURES_ONLY = "figures_only"


class Provenance(StrEnum):
    """Where a report figure comes from. ``measured``: computed by the system from events it
    observed and timed itself; ``derived``: computed from figures a sender declared (a cost
    before and after); ``input``: a result a sender declared, read back as it was given;
    ``assumed``: a stated assumption, not an observation."""

    MEASURED = "measured"
    DERIVED = "derived"
    INPUT = "input"
    ASSUMED = "assumed"


class RollupLevel(StrEnum):
    """What a roll-up groups by: each zone, each host unit (属地单位), each region."""

    ZONE = "zone"
    HOST_UNIT = "host_unit"
    REGION = "region"


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
    """An improvement of the way work is done (e.g. 胶粘挂网 instead of 砸皮露砖). ``cost_saved_cny``
    and ``days_saved`` are the sender's declared result (an *input*); with the optional
    before/after figures of the method change, the saving is *derived* from them instead
    and a declared result that disagrees is reported beside it (issue 19)."""

    project_id: str = Field(min_length=1)
    title: str
    cost_saved_cny: float = Field(ge=0)
    days_saved: float = Field(ge=0)
    improvement_id: str | None = None
    method_before: str | None = None
    method_after: str | None = None
    cost_before_cny: float | None = Field(None, ge=0)
    cost_after_cny: float | None = Field(None, ge=0)
    days_before: float | None = Field(None, ge=0)
    days_after: float | None = Field(None, ge=0)


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


class IncidentReclassified(Payload):
    """The HSE system corrects an incident after the fact (e.g. ``minor`` → ``fatal`` when an
    injured worker dies). The correction belongs to the period of the incident's
    ``occurred_at``, not to the day it was made: the assessment of that zone-period (and its
    quarter and year) gets a new revision with reason ``incident_reclassified``, and so does
    the ranking. The latest ``reclassified_at`` wins; one that arrives before the incident
    itself is kept and applied when it does."""

    incident_id: str = Field(min_length=1)
    project_id: str = Field(min_length=1)
    severity: Severity
    kind: IncidentKind | None = None
    previous_severity: Severity | None = None
    reason: str = Field(min_length=1)
    reclassified_at: AwareDatetime


class InspectionCorrected(Payload):
    """The quality system corrects an inspection's result. Like a reclassified incident it
    changes the period of the inspection's ``inspected_at``: a new revision with reason
    ``inspection_corrected``. The latest ``corrected_at`` wins."""

    inspection_id: str = Field(min_length=1)
    project_id: str = Field(min_length=1)
    result: InspectionResult
    previous_result: InspectionResult | None = None
    reason: str = Field(min_length=1)
    corrected_at: AwareDatetime


# --------------------------------------------------------------------------- pbz.zone.commands


class ZoneEstablish(Payload):
    zone_id: str | None = None
    name: str = Field(min_length=1)
    mode: str
    project_ids: list[str] = Field(default_factory=list)
    region: str
    units: list[CommandUnit] = Field(default_factory=list)
    systems: list[str] | None = None
    signing: str | None = Field(None, description="parallel (default) or sequential: SigningMode")


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
    away_since: date | None = Field(
        None, description="the day a floating member left the home branch; default: the day they join"
    )
    probationary: bool | None = Field(None, description="预备党员: no vote (党章 第七条)")


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


class ZoneConfigure(Payload):
    """A zone's own settings (refused with ``ZoneSettingRefusal`` codes): ``signing``
    (``SigningMode``) and ``theme_party_day``, the fixed day of each month for its 主题党日
    (《中国共产党支部工作条例（试行）》第十六条: 每月相对固定1天; 29–31 fall on a shorter
    month's last day). Omitted fields keep their value."""

    zone_id: str = Field(min_length=1)
    signing: str | None = None
    theme_party_day: int | None = None


class ZoneRecordTransfer(Payload):
    """A floating member's organisational relationship has moved into the zone's branch
    (the step ``zone.transfer-due`` asked for): from ``transferred_on`` the member votes.
    Refused with ``TransferRefusal`` codes."""

    zone_id: str = Field(min_length=1)
    member_id: str = Field(min_length=1)
    transferred_on: date
    new_home_branch: str | None = None


# --------------------------------------------------------------------------- pbz.activity.commands


class ProblemRef(Payload):
    problem_id: str = Field(min_length=1)
    title: str


class MeetingDecision(Payload):
    """A matter a 党员大会 voted on. It passes when the quorum held and the votes for exceed
    half of the members *expected* with a vote (《中国共产党支部工作条例（试行）》第十一条:
    赞成人数超过应到会有表决权的党员的半数为通过)."""

    decision_id: str = Field(min_length=1)
    title: str
    votes_for: int = Field(ge=0)
    votes_against: int = Field(0, ge=0)
    abstentions: int = Field(0, ge=0)


class ActivityRecord(Payload):
    """Kind and slot are checked by the activity-log (``unknown_kind``, ``checkin_slot_missing``).
    ``decisions`` are the matters a 党员大会 voted on (issue 19)."""

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
    decisions: list[MeetingDecision] = Field(default_factory=list)


class ActivityRequestLeave(Payload):
    """请假: a member asks to be excused from an activity, before it starts. Refused with
    ``leave_after_start`` when the moment it reaches the system (the later of
    ``requested_at`` and the command's time — a backdated request does not help) is not
    before the activity's start (``activity_starts_at`` as announced, or the recorded start
    once the activity is recorded). A member on leave is excused, not present: a 党员大会's
    quorum still counts them among the members expected."""

    leave_id: str = Field(min_length=1)
    activity_id: str = Field(min_length=1)
    zone_id: str = Field(min_length=1)
    member_id: str = Field(min_length=1)
    activity_starts_at: AwareDatetime
    requested_at: AwareDatetime
    reason: str


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
    joined_on: date | None = None
    away_since: date | None = None
    transferred_on: date | None = None
    probationary: bool | None = None


class ZoneSettings(Payload):
    """A zone's own settings (``zone.configure``)."""

    signing: SigningMode = SigningMode.PARALLEL
    theme_party_day: int | None = Field(None, ge=1, le=31)


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
    settings: ZoneSettings | None = None


class ZoneEvent(Payload):
    zone: ZoneSnapshot


class ZoneCoverageGap(ZoneEvent):
    project_id: str
    missing_roles: list[UnitRole]


class ZoneTransferDue(ZoneEvent):
    """A floating member has been away from the home branch six months or more: the
    organisational relationship should move to the branch where the member works
    (中组部《关于加强和改进流动党员管理工作的意见》: 外出六个月以上、地点相对固定的，应转移
    组织关系; under six months a 流动党员活动证 serves). Raised once per member and zone."""

    member_id: str
    name: str
    home_branch: str
    employment: Employment
    away_since: date
    due_on: date
    months_away: int = Field(ge=6)


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


class LeaveRecorded(Payload):
    """A leave (请假) accepted: recorded before the activity's start."""

    leave_id: str
    activity_id: str
    zone_id: str
    member_id: str
    activity_starts_at: AwareDatetime
    requested_at: AwareDatetime
    reason: str


class LeaveRejected(Payload):
    leave_id: str
    activity_id: str
    zone_id: str
    member_id: str
    reasons: list[LeaveRefusal] = Field(min_length=1)


class AttendanceRow(Payload):
    member_id: str
    status: AttendanceStatus
    standing: MemberStanding
    has_vote: bool


class DecisionOutcome(Payload):
    decision_id: str
    title: str
    votes_for: int = Field(ge=0)
    votes_against: int = Field(ge=0)
    abstentions: int = Field(ge=0)
    votes_needed: int = Field(ge=0)
    passed: bool


class AttendanceRecorded(Payload):
    """Who was present, on leave or absent at an activity, member by member, with the standing
    that decides each vote. For a 党员大会 (``party_members_meeting``) the quorum: more than half
    of the members with a vote present (《中国共产党支部工作条例（试行）》第十一条: 表决必须有半数
    以上有表决权的党员到会方可进行; read as 超过半数, as 《中国共产党发展党员工作细则》第二十条
    words it); ``quorum_held`` is null for other kinds. Members on the roster on the day count;
    a floating member under six months attends without a vote."""

    activity_id: str
    zone_id: str
    kind: str
    started_at: AwareDatetime
    present: int = Field(ge=0)
    on_leave: int = Field(ge=0)
    absent: int = Field(ge=0)
    voters_expected: int = Field(ge=0)
    voters_present: int = Field(ge=0)
    quorum_needed: int | None = Field(None, ge=0)
    quorum_held: bool | None = None
    members: list[AttendanceRow]
    decisions: list[DecisionOutcome] = Field(default_factory=list)


class OrganisationalLifeEvaluated(Payload):
    """One rule of 三会一课 / organisational life (``OrgLifeRule``) for a closed period of its
    cadence, on the days the zone was active: ``required`` / ``actual`` / ``met`` as in
    ``activity.compliance-evaluated``; ``article`` names the rule's source."""

    zone_id: str
    period: str = Field(pattern=PERIOD_ORG)
    cadence: Cadence
    rule: OrgLifeRule
    required: int = Field(ge=0)
    actual: int = Field(ge=0)
    met: bool
    article: str


class ReminderDue(Payload):
    """A rule still unmet a configurable number of days before its period closes, addressed
    to the zone's secretary (or secretaries; none named when the roster has none — the
    party office then sees it). One per zone, period and rule (``reminder_id``)."""

    reminder_id: str
    zone_id: str
    period: str = Field(pattern=PERIOD_ORG)
    cadence: Cadence
    rule: str
    required: int = Field(ge=0)
    actual: int = Field(ge=0)
    period_closes_on: date
    days_left: int = Field(ge=0)
    secretary_member_ids: list[str]
    secretary_names: list[str]
    article: str | None = None


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
    reason: RevisionReason | None = None
    caused_by: str | None = Field(None, description="the id of the fact or correction behind the revision")
    previous_score: float | None = None
    previous_grade: Grade | None = None


class AssessmentNoData(Payload):
    """A zone that was due an assessment for a closed period but has no data for it: no score,
    no grade, no place in the ranking — never 100 / excellent. A later fact turns it into an
    ``assessment.computed`` with the next revision."""

    zone_id: str
    period: str = Field(pattern=PERIOD_ANY)
    revision: int = Field(ge=1)
    no_data: NoDataReason
    reason: RevisionReason | None = None
    caused_by: str | None = None


class RankingEntry(Payload):
    zone_id: str
    score: float
    rank: int = Field(ge=1)


class RankingPublished(Payload):
    period: str = Field(pattern=PERIOD_ANY)
    revision: int = Field(ge=1)
    ranking: list[RankingEntry]
    reason: RevisionReason | None = None
    no_data: list[str] = Field(default_factory=list, description="zones due but without data: not ranked")


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
    ("safety.incident-reclassified", Topic.SAFETY, IncidentReclassified),
    ("quality.procedure-inspected", Topic.QUALITY, ProcedureInspected),
    ("quality.inspection-corrected", Topic.QUALITY, InspectionCorrected),
    ("zone.establish", Topic.ZONE_COMMANDS, ZoneEstablish),
    ("zone.add-unit", Topic.ZONE_COMMANDS, ZoneAddUnit),
    ("zone.add-member", Topic.ZONE_COMMANDS, ZoneAddMember),
    ("zone.remove-member", Topic.ZONE_COMMANDS, ZoneRemoveMember),
    ("zone.adopt-systems", Topic.ZONE_COMMANDS, ZoneAdoptSystems),
    ("zone.close", Topic.ZONE_COMMANDS, ZoneClose),
    ("zone.configure", Topic.ZONE_COMMANDS, ZoneConfigure),
    ("zone.record-transfer", Topic.ZONE_COMMANDS, ZoneRecordTransfer),
    ("activity.record", Topic.ACTIVITY_COMMANDS, ActivityRecord),
    ("activity.request-leave", Topic.ACTIVITY_COMMANDS, ActivityRequestLeave),
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
    ("zone.transfer-due", Topic.ZONE_EVENTS, ZoneTransferDue),
    ("zone.command-rejected", Topic.ZONE_EVENTS, ZoneCommandRejected),
    ("activity.recorded", Topic.ACTIVITY_EVENTS, ActivityRecorded),
    ("activity.rejected", Topic.ACTIVITY_EVENTS, ActivityRejected),
    ("problem.raised", Topic.ACTIVITY_EVENTS, ProblemEvent),
    ("problem.resolved", Topic.ACTIVITY_EVENTS, ProblemEvent),
    ("activity.compliance-evaluated", Topic.ACTIVITY_EVENTS, ComplianceEvaluated),
    ("activity.leave-recorded", Topic.ACTIVITY_EVENTS, LeaveRecorded),
    ("activity.leave-rejected", Topic.ACTIVITY_EVENTS, LeaveRejected),
    ("activity.attendance-recorded", Topic.ACTIVITY_EVENTS, AttendanceRecorded),
    ("activity.organisational-life-evaluated", Topic.ACTIVITY_EVENTS, OrganisationalLifeEvaluated),
    ("activity.reminder-due", Topic.ACTIVITY_EVENTS, ReminderDue),
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
    ("assessment.no-data", Topic.ASSESSMENT_EVENTS, AssessmentNoData),
    ("assessment.ranking-published", Topic.ASSESSMENT_EVENTS, RankingPublished),
    ("assessment.command-rejected", Topic.ASSESSMENT_EVENTS, AssessmentCommandRejected),
    ("dlq.recorded", Topic.DLQ, DeadLetter),
    ("dlq.redriven", Topic.DLQ, DeadLetterRedriven),
]

# Vocabularies no payload field names (reason codes carried as plain strings in ``reasons``,
# and the words of reports and roll-ups): documented in docs/events.md all the same.
DOCUMENTED_VOCABULARIES: tuple[type[StrEnum], ...] = (
    TransferRefusal,
    ZoneSettingRefusal,
    SequentialStep,
    AssessmentStatus,
    Provenance,
    RollupLevel,
)

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
