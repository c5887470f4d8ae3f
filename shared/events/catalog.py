"""Every event type of EVENTS.md as a pydantic model, and the registry ``type -> (topic, model)``.

Inbound enterprise facts are strict (a malformed fact is unreadable and goes to the DLQ).
Every readable payload is also bounded before a handler sees it (:func:`parse_data`): no
NUL characters, no field names a document store refuses (``.``, a leading ``$``), no
integers beyond 64 bits, no NaN or infinity, strings, lists and nesting of bounded size,
numbers in their physical ranges where the model knows them; fields the model does not
declare are dropped, so they can never reach a stored document (nor set its ``_id``).
Commands keep as plain strings the fields a service refuses *for a domain reason* with a
reason code (an unknown role, an unknown activity kind, a score out of range, a missing
check-in slot...): such a command is readable, and its sender gets a ``*.rejected`` answer
instead of silence in the DLQ.
"""

from __future__ import annotations

import builtins
import math
from collections.abc import Mapping
from datetime import date
from enum import StrEnum
from typing import Any

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

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
    # Each service's own work topic: follow-ups keyed by the aggregate they change (the
    # concurrency contract, R1/R4), and commands re-keyed to their aggregate. Consumed only
    # by the service that owns it.
    ZONE_WORK = "pbz.zone.work"
    ACTIVITY_WORK = "pbz.activity.work"
    PERMIT_WORK = "pbz.permit.work"
    ASSESSMENT_WORK = "pbz.assessment.work"
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
    # The offices of the old sequential sign-off (``SequentialStep``), held on the roster of a
    # zone whose ``signing`` is ``sequential``.
    CONSTRUCTION_SAFETY_OFFICER = "construction_safety_officer"
    CONTRACTOR_SAFETY_OFFICER = "contractor_safety_officer"
    CONTRACTOR_ENGINEER = "contractor_engineer"
    CONTRACTOR_MANAGER = "contractor_manager"
    SUPERVISION = "supervision"
    OWNER = "owner"


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
    """SPEC §3.3's states, and three of the permit's whole life (issue 15): ``interrupted``
    (the crew paused the work, ``permit.interrupt``), ``completing`` (the work's lead declared
    it complete; the host representative's acceptance, 完工验收, closes it) and ``lapsed``
    (never issued before its planned end)."""

    PENDING_SIGNATURES = "pending_signatures"
    APPROVED = "approved"
    BLOCKED = "blocked"
    ISSUED = "issued"
    SUSPENDED = "suspended"
    INTERRUPTED = "interrupted"
    COMPLETING = "completing"
    REJECTED = "rejected"
    EXPIRED = "expired"
    CLOSED = "closed"
    CANCELLED = "cancelled"
    LAPSED = "lapsed"


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


class WorkClass(StrEnum):
    """The special works of GB 30871-2022 §3.1, one permit each (§4.6: a job that involves two
    or more special works follows each one's rules and gets each one's permit). A work plan's
    ``risk_types`` map onto them (``temp_electricity`` → ``temporary_power``, ``road_breaking`` →
    ``road_closure``); ``general`` is the one permit of a work with no special risk (SPEC §3.3)."""

    HOT_WORK = "hot_work"
    CONFINED_SPACE = "confined_space"
    BLIND_PLATE = "blind_plate"
    WORK_AT_HEIGHT = "work_at_height"
    LIFTING = "lifting"
    TEMPORARY_POWER = "temporary_power"
    EXCAVATION = "excavation"
    ROAD_CLOSURE = "road_closure"
    GENERAL = "general"


class HotWorkGrade(StrEnum):
    """GB 30871-2022 §5.1: 特级 (``special``), 一级 (``first``), 二级 (``second``)."""

    SPECIAL = "special"
    FIRST = "first"
    SECOND = "second"


class PermitGrade(StrEnum):
    """A permit's grade: hot work 特级/一级/二级 (§5.1: ``special``/``first``/``second``); lifting
    一级/二级/三级 (§9.1: ``first`` > 100 t, ``second`` 40–100 t, ``third`` < 40 t); work at height
    Ⅰ–Ⅳ (§8.1.1: ``I`` 2–5 m, ``II`` 5–15 m, ``III`` 15–30 m, ``IV`` > 30 m)."""

    SPECIAL = "special"
    FIRST = "first"
    SECOND = "second"
    THIRD = "third"
    I = "I"  # noqa: E741
    II = "II"
    III = "III"
    IV = "IV"


class SideActivity(StrEnum):
    """What a work does besides its class that the conflict matrix must know (GB 30871-2022
    §5.2.9, §6.7): discharging flammable gas or liquid, cleaning with flammable solvent, painting
    or coating, sweeping combustible dust."""

    FLAMMABLE_GAS_DISCHARGE = "flammable_gas_discharge"
    FLAMMABLE_LIQUID_DISCHARGE = "flammable_liquid_discharge"
    SOLVENT_CLEANING = "solvent_cleaning"
    PAINTING = "painting"
    DUST_SWEEPING = "dust_sweeping"


class IsolationKind(StrEnum):
    """Energy isolation (GB 30871-2022 §4.2 b, §5.2.2, §6.1): a blind plate, a removed pipe
    section, electrical or mechanical lock-out and tag-out. ``water_seal`` and ``closed_valve``
    are readable but are not isolations: "不应以水封或仅关闭阀门代替盲板作为隔断措施" (§5.2.2,
    §6.1 a); a permit that relies on one is blocked with ``isolation_inadequate``."""

    BLIND_PLATE = "blind_plate"
    PIPE_SECTION_REMOVED = "pipe_section_removed"
    ELECTRICAL_LOCKOUT = "electrical_lockout"
    MECHANICAL_LOCKOUT = "mechanical_lockout"
    WATER_SEAL = "water_seal"
    CLOSED_VALVE = "closed_valve"


class BlockReason(StrEnum):
    """Why an approved permit is not issued yet (``permit.blocked``). The first seven are SPEC
    §3.3's; the rest are GB 30871-2022's: a named guardian who is on the roster and checked in on
    site (§4.10), the safety briefing (交底, §4.4) and the shift leader's ticket check (当班班长验票,
    Table A.1) signed, every listed isolation confirmed and none a water seal or closed valve
    (§4.2 b, §5.2.2, §6.1)."""

    NO_ACTIVE_ZONE = "no_active_zone"
    CONTRACTOR_SAFETY_NOT_ADOPTED = "contractor_safety_not_adopted"
    SUBCONTRACTOR_SAFETY_NOT_ADOPTED = "subcontractor_safety_not_adopted"
    NO_MORNING_CHECKIN = "no_morning_checkin"
    GAS_TEST_MISSING = "gas_test_missing"
    GAS_TEST_FAILED = "gas_test_failed"
    SIMOPS_CONFLICT = "simops_conflict"
    GUARDIAN_MISSING = "guardian_missing"
    GUARDIAN_NOT_ON_SITE = "guardian_not_on_site"
    BRIEFING_MISSING = "briefing_missing"
    TICKET_NOT_CHECKED = "ticket_not_checked"
    ISOLATION_INADEQUATE = "isolation_inadequate"
    ISOLATION_NOT_APPLIED = "isolation_not_applied"


class CommandRefusal(StrEnum):
    """Why a permit command is refused (``permit.command-rejected``). Actor rules (issue 13):
    ``actor_unknown`` (no authcontext and not a trusted system), ``not_signer`` (the actor is not
    the member the command names), ``role_unit_mismatch`` (host_rep not employed by the host
    unit, construction_lead by the construction unit, supervision_engineer by the supervision
    unit, management_safety by the management unit), ``already_signed_other_role`` (one person
    signs at most one role of a permit), ``role_not_allowed`` (close: construction_lead or
    host_rep; resume after a major/fatal incident: management_safety). GB 30871-2022:
    ``not_on_site`` (the approver signs on site, §4.11 a), ``certificate_expired`` (§4.9,
    §4.10), ``extension_beyond_cap`` (§5.1.5, §6.10, §8.2.11, §10.8: beyond the cap a new permit
    is needed, §4.16), ``gas_retest_required`` (§5.3.1 d, §6.3 f), ``isolation_not_removed``
    (§4.14-4.15), ``site_not_restored`` (§4.14). In a zone signing ``sequential`` (the old
    route, ``SigningMode``): ``out_of_turn`` (an office signs only after the one before),
    ``outside_office_hours`` (the offices sign at their desks, in office hours)."""

    UNKNOWN_PERMIT = "unknown_permit"
    PERMIT_FINISHED = "permit_finished"
    SIGNATURES_NOT_REQUESTED = "signatures_not_requested"
    ROLE_NOT_REQUIRED = "role_not_required"
    ROLE_ALREADY_SIGNED = "role_already_signed"
    SIGNER_LACKS_ROLE = "signer_lacks_role"
    ACTOR_UNKNOWN = "actor_unknown"
    NOT_SIGNER = "not_signer"
    ROLE_UNIT_MISMATCH = "role_unit_mismatch"
    ALREADY_SIGNED_OTHER_ROLE = "already_signed_other_role"
    ROLE_NOT_ALLOWED = "role_not_allowed"
    NOT_ON_ROSTER = "not_on_roster"
    NOT_ON_SITE = "not_on_site"
    CERTIFICATE_EXPIRED = "certificate_expired"
    OPEN_COMMENTS = "open_comments"
    NOT_SUSPENDED = "not_suspended"
    NOT_ISSUED = "not_issued"
    NOT_INTERRUPTED = "not_interrupted"
    NOT_REJECTED = "not_rejected"
    NOT_COMPLETING = "not_completing"
    NOT_A_DRAWING_REVIEW = "not_a_drawing_review"
    NOT_A_SPECIAL_WORK = "not_a_special_work"
    NOT_GUARDIAN = "not_guardian"
    GUARDIAN_NOT_ON_SITE = "guardian_not_on_site"
    GAS_RETEST_REQUIRED = "gas_retest_required"
    GAS_TEST_FAILED = "gas_test_failed"
    EXTENSION_BEYOND_CAP = "extension_beyond_cap"
    EXTENSION_NOT_LATER = "extension_not_later"
    ISOLATION_NOT_REMOVED = "isolation_not_removed"
    SITE_NOT_RESTORED = "site_not_restored"
    HANDOVER_NOT_COMPLETE = "handover_not_complete"
    NO_HANDOVER_DUE = "no_handover_due"
    WAITS_FOR_NEW_ZONE = "waits_for_new_zone"
    GUARDIAN_CHANGE_NEEDS_HANDOVER = "guardian_change_needs_handover"
    DUPLICATE_COMMENT = "duplicate_comment"
    UNKNOWN_POSITION = "unknown_position"
    OUT_OF_TURN = "out_of_turn"
    OUTSIDE_OFFICE_HOURS = "outside_office_hours"


class SuspensionCause(StrEnum):
    """Why an issued permit was suspended: an incident (SPEC §3.3); a failing gas reading or a
    continuous-monitoring reading missing for longer than the interval (GB 30871-2022 §5.3.1 d,
    §6.5: 特级 hot work and confined spaces, a reading at least every 2 h); the guardian left the
    site (§4.10 f: the ticket is taken back and the work stops); the shift handover not
    acknowledged in time; the zone closed."""

    INCIDENT = "incident"
    GAS_TEST_FAILED = "gas_test_failed"
    GAS_MONITORING_LAPSED = "gas_monitoring_lapsed"
    GUARDIAN_LEFT = "guardian_left"
    HANDOVER_MISSING = "handover_missing"
    ZONE_CLOSED = "zone_closed"


class ConflictRule(StrEnum):
    """The conflict matrix (GB 30871-2022 §4.7, §5.2.9, §6.7, §7.6, §7.10), each naming the other
    permit. ``same_area_hot_work`` is SPEC §3.3's rule, used when either plan has no site
    coordinates: overlapping windows in one area where either is hot work. With coordinates:
    hot work within 30 m of blind-plate work (§7.6); flammable gas discharged within 30 m,
    flammable liquid within 15 m, solvent cleaning, painting or dust sweeping within 10 m of hot
    work (§5.2.9); and whatever the coordinates: two blind-plate jobs on one pipeline at a time
    (§7.10), painting or coating in a confined space with hot work in it (§6.7)."""

    SAME_AREA_HOT_WORK = "same_area_hot_work"
    HOT_WORK_NEAR_BLIND_PLATE = "hot_work_near_blind_plate"
    BLIND_PLATES_ON_ONE_PIPELINE = "blind_plates_on_one_pipeline"
    COATING_IN_CONFINED_SPACE_WITH_HOT_WORK = "coating_in_confined_space_with_hot_work"
    GAS_DISCHARGE_NEAR_HOT_WORK = "gas_discharge_near_hot_work"
    LIQUID_DISCHARGE_NEAR_HOT_WORK = "liquid_discharge_near_hot_work"
    SOLVENT_NEAR_HOT_WORK = "solvent_near_hot_work"


class CancelReason(StrEnum):
    PROJECT_COMPLETED = "project_completed"
    WORK_CANCELLED = "work_cancelled"
    CLASS_DROPPED = "class_dropped"


class PermitChange(StrEnum):
    """What a ``permit.updated`` records: a change that is not a change of state."""

    GUARDIAN_NAMED = "guardian_named"
    GUARDIAN_CHECKED_IN = "guardian_checked_in"
    GUARDIAN_CHECKED_OUT = "guardian_checked_out"
    BRIEFED = "briefed"
    TICKET_CHECKED = "ticket_checked"
    ISOLATION_APPLIED = "isolation_applied"
    ISOLATION_REMOVED = "isolation_removed"
    GAS_READING = "gas_reading"
    HANDOVER_ACKNOWLEDGED = "handover_acknowledged"
    HANDOVER_COMPLETED = "handover_completed"
    COMMENT_ADDED = "comment_added"
    DRAWING_REVISED = "drawing_revised"
    REROUTED = "rerouted"


class HandoverPosition(StrEnum):
    WORK_LEAD = "work_lead"
    GUARDIAN = "guardian"


class HandoverSide(StrEnum):
    OUTGOING = "outgoing"
    INCOMING = "incoming"


class FactKind(StrEnum):
    """A fact from another topic, on its way to the permits it concerns (``pbz.permit.work``)."""

    GAS_TEST = "gas_test"
    CHECKIN = "checkin"
    INCIDENT = "incident"
    ISOLATION = "isolation"
    ZONE = "zone"
    PROJECT_COMPLETED = "project_completed"
    AREA_FREED = "area_freed"
    DRAWING_REVISED = "drawing_revised"


class Decision(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"


class Grade(StrEnum):
    EXCELLENT = "excellent"
    GOOD = "good"
    PASS = "pass"
    FAIL = "fail"


# Physical bounds the models know (beyond them a value is a sender's error, not a reading).
MAX_MG_M3 = 1_000_000.0  # 1 kg per m³: more than any gas at atmospheric pressure
MAX_CNY = 1e12
MAX_DAYS = 36_525.0  # a century

# Years 1900-2199: a period outside them is a typo, and year 0000 is no date at all (it
# answered 500 where it should have been refused).
PERIOD_MONTH = r"^(19|20|21)\d{2}-(0[1-9]|1[0-2])$"
PERIOD_ANY = r"^(19|20|21)\d{2}-((0[1-9]|1[0-2])|Q[1-4])$"
PERIOD_YEAR = r"^(19|20|21)\d{2}$"
# A month, a quarter or a year: the periods of organisational life and of roll-ups.
PERIOD_ORG = r"^(19|20|21)\d{2}(-((0[1-9]|1[0-2])|Q[1-4]))?$"


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
    # Who asks (the command's actor, ``shared.actor``): a member asks leave for themselves;
    # the zone's secretary, the party office or a trusted system for anyone on the roster.
    ACTOR_UNKNOWN = "actor_unknown"
    NOT_OWN_LEAVE = "not_own_leave"


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


def is_comparison_zone(zone: Mapping[str, Any] | None) -> bool:
    """A zone of the old sequential sign-off (``settings.signing`` = ``sequential``): there to
    be compared with, so it is never assessed, ranked or counted beside the collaboration
    zones. ``zone``: a zone snapshot, a service's zone copy or zone-registry's view of it; one
    without settings signs ``parallel``, the default."""
    settings = (zone or {}).get("settings") or {}
    return bool(settings.get("signing") == SigningMode.SEQUENTIAL)


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


# --------------------------------------------------------------------------- reason codes


class ActorRefusal(StrEnum):
    """Why a command is refused for who sent it (in ``reasons`` of ``*.command-rejected`` and
    ``activity.rejected``; the actor is the command's CloudEvents authcontext, ``shared.actor``)."""

    ACTOR_UNKNOWN = "actor_unknown"  # no actor, and the source is not a trusted system
    NOT_PARTY_OFFICE = "not_party_office"  # establishing, closing, units, systems, erasure
    NOT_SECRETARY = "not_secretary"  # roster changes: the zone's secretary or the party office
    SELF_ENROLMENT = "self_enrolment"  # a member cannot add themselves to a roster
    ACTOR_NOT_ON_ROSTER = "actor_not_on_roster"  # acts in a zone whose roster does not hold them
    EVALUATOR_NOT_OF_UNIT = "evaluator_not_of_unit"  # rates for a unit that does not employ them


class HttpReason(StrEnum):
    """The ``reason`` of an HTTP error answer (401, 403, 400, 404, 409, 422, 503, 500)."""

    TOKEN_MISSING = "token_missing"  # 401
    TOKEN_INVALID = "token_invalid"  # 401: not a JWT, bad signature, wrong issuer or audience
    TOKEN_EXPIRED = "token_expired"  # 401
    ROLE_REQUIRED = "role_required"  # 403: the token lacks every role the route accepts
    NOT_IN_ZONE = "not_in_zone"  # 403: the zone's roster does not hold the caller
    NOT_SECRETARY = "not_secretary"  # 403: only the zone's secretary or the party office
    NOT_OWN_RECORD = "not_own_record"  # 403: another member's record
    INVALID_BODY = "invalid_body"  # 400: the body is not UTF-8 JSON
    INVALID_REQUEST = "invalid_request"  # 422: a field or parameter breaks its schema
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"  # 409: the same key with another request
    NOT_FOUND = "not_found"  # 404
    METHOD_NOT_ALLOWED = "method_not_allowed"  # 405
    BROKER_UNAVAILABLE = "broker_unavailable"  # 503 + Retry-After: Kafka does not answer
    SERVICE_STARTING = "service_starting"  # 503 + Retry-After: its producer is not connected yet
    STORE_UNAVAILABLE = "store_unavailable"  # 503 + Retry-After: the database does not answer
    IDENTITY_PROVIDER_UNAVAILABLE = "identity_provider_unavailable"  # 503: no signing keys yet
    UPSTREAM_UNAVAILABLE = "upstream_unavailable"  # 503 + Retry-After: a service a report reads is down
    INTERNAL_ERROR = "internal_error"  # 500: a defect (the text is in the log, never the answer)


# Documented in docs/events.md beside the vocabularies the payloads use.
REASON_CODES: tuple[type[StrEnum], ...] = (ActorRefusal, HttpReason)

# --------------------------------------------------------------------------- base


class Payload(BaseModel):
    """``data`` of an event. Senders may add fields (EVENTS.md): a service's own emitted
    events keep theirs; on the way in they are dropped (:func:`parse_data`)."""

    model_config = ConfigDict(extra="allow", use_enum_values=True, allow_inf_nan=False)


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


class Location(Payload):
    """Where a work happens (GB 30871-2022 §3.2, §5.1, §5.2.9, §7.6, §7.10): the area, site
    coordinates in metres when the plan has them (the conflict matrix then measures distances),
    the pipeline a blind-plate job opens, and the place's facts that grade hot work: a fire and
    explosion hazard area (火灾爆炸危险场所, §3.2), equipment running there (§5.1.2 → 特级), the dike
    of a major-hazard tank farm (§5.1.2 → 特级), a pipe rack (管廊, §5.1.3 → 一级), outdoors
    (§5.2.15: wind of force 5 or more raises outdoor hot work one grade)."""

    area: str | None = None
    x_m: float | None = Field(default=None, allow_inf_nan=False)
    y_m: float | None = Field(default=None, allow_inf_nan=False)
    pipeline_id: str | None = None
    fire_explosion_area: bool = False
    running_equipment: bool = False
    tank_farm_dike: bool = False
    pipe_rack: bool = False
    outdoor: bool = True


class PlannedIsolation(Payload):
    """An isolation the work needs before it may start (§4.2 b, §5.2.2, §6.1), confirmed on site
    by ``isolation.applied`` and restored by ``isolation.removed`` before the permit closes."""

    isolation_id: str = Field(min_length=1)
    kind: IsolationKind
    point: str = ""


class WorkPlanned(Payload):
    """A work to be done on site. It yields one permit per special work class (GB 30871-2022
    §4.6), ``WP-<work_id>-<class>``, linked to each other; a work with no special risk yields one
    ``general`` permit. The same ``work_id`` again is a re-plan: a new revision of each permit;
    when the scope, place, time or class changed, approvals already given are void and asked
    again (§4.16-4.17); an unchanged re-send changes nothing. A class dropped from the plan
    cancels its permit.

    Optional GB 30871 facts: ``height_m`` grades work at height (§8.1.1: Ⅰ 2–5 m, Ⅱ 5–15 m, Ⅲ
    15–30 m, Ⅳ > 30 m; under 2 m it is not work at height); ``load_t`` grades lifting (§9.1: 一级 >
    100 t, 二级 40–100 t, 三级 < 40 t; under 10 t no lifting permit, Appendix B note 3);
    ``hot_work_grade`` (else derived from ``location``: running equipment in a fire/explosion
    area or a tank-farm dike → 特级, other work there or on a pipe rack → 一级, else 二级), raised
    one grade when the window touches the night, a rest day or a public holiday, or outdoors in
    wind of force ``wind_force`` ≥ 5 (§5.1.1, §5.2.15); ``guardian_member_id`` (监护人, §4.10);
    ``isolations`` (§4.2 b); ``side_activities`` for the conflict matrix (§5.2.9, §6.7);
    ``temporary_power_extended``: the special approval that lets temporary power run 30 days
    instead of 15 (§10.8)."""

    work_id: str = Field(min_length=1)
    project_id: str = Field(min_length=1)
    title: str
    area: str
    risk_types: list[RiskType] = Field(default_factory=list)
    contractor_unit_id: str
    planned_start: AwareDatetime
    planned_end: AwareDatetime
    location: Location | None = None
    height_m: float | None = Field(default=None, ge=0, le=1000, allow_inf_nan=False)
    load_t: float | None = Field(default=None, ge=0, le=100_000, allow_inf_nan=False)
    hot_work_grade: HotWorkGrade | None = None
    wind_force: int | None = Field(default=None, ge=0, le=17)
    guardian_member_id: str | None = None
    isolations: list[PlannedIsolation] = Field(default_factory=list)
    side_activities: list[SideActivity] = Field(default_factory=list)
    temporary_power_extended: bool = False


class WorkCancelled(Payload):
    """The work will not be done: every open permit of the work is cancelled (issue 15)."""

    work_id: str = Field(min_length=1)
    project_id: str = Field(min_length=1)
    reason: str | None = None
    cancelled_at: AwareDatetime


class DrawingRevised(Payload):
    """The designer's answer to a review round (审图): a new revision of the drawing, resolving the
    comments it lists. Approvals given to the earlier revision are void and asked again; the
    review closes when every comment is resolved and the three roles approve."""

    drawing_id: str = Field(min_length=1)
    project_id: str = Field(min_length=1)
    revision: int = Field(ge=2)
    resolved_comment_ids: list[str] = Field(default_factory=list)
    revised_at: AwareDatetime
    title: str | None = None


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
    cost_saved_cny: float = Field(ge=0, le=MAX_CNY)
    days_saved: float = Field(ge=0, le=MAX_DAYS)
    improvement_id: str | None = None
    method_before: str | None = None
    method_after: str | None = None
    cost_before_cny: float | None = Field(None, ge=0, le=MAX_CNY)
    cost_after_cny: float | None = Field(None, ge=0, le=MAX_CNY)
    days_before: float | None = Field(None, ge=0, le=MAX_DAYS)
    days_after: float | None = Field(None, ge=0, le=MAX_DAYS)


# --------------------------------------------------------------------------- ent.safety / ent.quality


class GasTestRecorded(Payload):
    """A gas analysis (GB 30871-2022 §5.3, §6.3-6.5). Readings must be finite and physical (a
    percentage of a volume or of the lower explosive limit within 0–100, a mass concentration
    ≥ 0 and at most ``MAX_MG_M3``): anything else is unreadable and goes to the DLQ with the
    reason, never passed. ``lel_pct`` is percent of the lower explosive limit (the base
    contract); ``flammable_vol_pct`` the flammable reading in % vol, judged against §5.3.2:
    ≤ 0.5 % vol where the gas's LEL (``lel_vol_pct``) is ≥ 4 %, ≤ 0.2 % vol where it is < 4 %
    (a test that names no LEL is judged as methane, LEL 5 % vol, the oilfield's gas; a ``lel_pct``
    reading is converted with the same LEL). Oxygen 19.5–21 % vol in a confined space, ≤ 23.5 %
    where it is ``oxygen_enriched`` (§6.4 a); toxics by the configured limits (§6.4 b, GBZ 2.1).
    At least one of ``lel_pct`` and ``flammable_vol_pct`` is given."""

    # The published schema says it too (the validator below is invisible to JSON Schema).
    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {"required": [name], "properties": {name: {"type": "number"}}}
                for name in ("lel_pct", "flammable_vol_pct")
            ]
        }
    )

    test_id: str = Field(min_length=1)
    project_id: str = Field(min_length=1)
    area: str
    tested_at: AwareDatetime
    o2_pct: float = Field(ge=0, le=100, allow_inf_nan=False)
    lel_pct: float | None = Field(default=None, ge=0, le=100, allow_inf_nan=False)
    h2s_mg_m3: float = Field(ge=0, le=MAX_MG_M3, allow_inf_nan=False)
    co_mg_m3: float | None = Field(default=None, ge=0, le=MAX_MG_M3, allow_inf_nan=False)
    tester: str | None = None
    gas: str | None = None
    lel_vol_pct: float | None = Field(default=None, gt=0, le=100, allow_inf_nan=False)
    flammable_vol_pct: float | None = Field(
        default=None, ge=0, le=100, allow_inf_nan=False, validate_default=True
    )
    oxygen_enriched: bool = False

    @field_validator("flammable_vol_pct")
    @classmethod
    def _one_flammable_reading(cls, value: float | None, info: ValidationInfo) -> float | None:
        if value is None and info.data.get("lel_pct") is None:
            raise ValueError("a flammable reading is needed: lel_pct or flammable_vol_pct")
        return value


class IsolationApplied(Payload):
    """An isolation confirmed on site (GB 30871-2022 §4.2 b, §5.2.2, §6.1): who applied it, the
    lock or tag id. A ``water_seal`` or ``closed_valve`` is not accepted as an isolation."""

    isolation_id: str = Field(min_length=1)
    project_id: str = Field(min_length=1)
    kind: IsolationKind
    point: str = ""
    lock_id: str | None = None
    applied_by: str = Field(min_length=1)
    applied_at: AwareDatetime


class IsolationRemoved(Payload):
    """An isolation restored (§4.14): a permit that listed it cannot close before this."""

    isolation_id: str = Field(min_length=1)
    project_id: str = Field(min_length=1)
    removed_by: str = Field(min_length=1)
    removed_at: AwareDatetime


class Certificate(Payload):
    certificate_id: str
    kind: str
    expires_on: date


class AuthorizationRegistered(Payload):
    """The enterprise's authorization register (HSE system): the approver roles of GB 30871-2022
    Table B.1 a person holds (``enterprise_leader`` 主管领导, ``safety_department`` 安全管理部门,
    ``plant_manager`` 主管厂长或总工程师, ``professional_department`` 所在单位专业部门,
    ``power_supply_unit`` 配送电单位) and their special-operation certificates with expiry dates
    (§4.9, §4.10); a signer with an expired certificate is refused (``certificate_expired``).
    The latest entry for a member replaces the earlier one."""

    member_id: str = Field(min_length=1)
    name: str
    unit_id: str
    roles: list[str] = Field(default_factory=list)
    certificates: list[Certificate] = Field(default_factory=list)
    registered_at: AwareDatetime


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


class ZoneEraseMember(Payload):
    """The party office erases a person's personal data (PIPL): the zone-registry replaces
    their name, home branch and phone on the roster and says so with a snapshot
    (``zone.member-erased``), which every service's zone copy takes; the member id stays,
    so figures still count them."""

    zone_id: str = Field(min_length=1)
    member_id: str = Field(min_length=1)
    reason: str | None = None


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
    """Approve or reject, by the member named (issue 13: the command's actor), holding the role on
    the zone roster (employed by the unit of that role) or, for an approver role of GB 30871-2022
    Table B.1, in the enterprise's authorization register; at most one role per person and permit.
    ``site_presence`` is where it was signed: the work area's id from the terminal, or a scanned
    ``qr:<area>`` / ``nfc:<area>`` code; the approver must sign on site (§4.11 a)."""

    permit_id: str = Field(min_length=1)
    member_id: str = Field(min_length=1)
    role: str
    decision: Decision
    comment: str | None = None
    signed_at: AwareDatetime
    site_presence: str | None = None


class PermitClose(Payload):
    """Base contract close: from the work's ``construction_lead`` it declares the work complete;
    from the ``host_rep`` it is the completion acceptance (完工验收, §4.15) — the only way to
    ``closed``, refused while an isolation is not restored."""

    permit_id: str = Field(min_length=1)
    member_id: str = Field(min_length=1)
    closed_at: AwareDatetime


class PermitResume(Payload):
    """Bring a suspended permit back: after a ``major``/``fatal`` incident only
    ``management_safety`` (or an actor with the ``hse`` role), else ``host_rep`` or
    ``management_safety``; with a fresh passing gas test where the work needs one."""

    permit_id: str = Field(min_length=1)
    member_id: str = Field(min_length=1)


class PermitResubmit(Payload):
    """A rejected permit asked again (a new revision; the rejection stays in its history)."""

    permit_id: str = Field(min_length=1)
    member_id: str = Field(min_length=1)
    comment: str | None = None
    resubmitted_at: AwareDatetime


class PermitInterrupt(Payload):
    """The crew pauses an issued work (by the construction_lead, the host_rep or the guardian)."""

    permit_id: str = Field(min_length=1)
    member_id: str = Field(min_length=1)
    reason: str = Field(min_length=1)
    interrupted_at: AwareDatetime


class PermitResumeWork(Payload):
    """The work goes on after an interruption (construction_lead or guardian, on site). A pause
    longer than 30 min for 特级/一级 hot work, 60 min for 二级 hot work and confined spaces, or a new
    day for hot work, needs a passing gas test taken after the pause began and at most 30 min
    before (GB 30871-2022 §5.3.1 d, §6.3 f)."""

    permit_id: str = Field(min_length=1)
    member_id: str = Field(min_length=1)
    reason: str | None = None
    resumed_at: AwareDatetime
    site_presence: str | None = None


class PermitExtend(Payload):
    """A longer validity, re-checked and re-signed on site by the class's approver: within the
    class's cap (§5.1.5, §6.10, §8.2.11, §10.8) from the start of validity; beyond it a new permit
    is needed (§4.16), ``extension_beyond_cap``."""

    permit_id: str = Field(min_length=1)
    member_id: str = Field(min_length=1)
    valid_until: AwareDatetime
    reason: str = Field(min_length=1)
    extended_at: AwareDatetime
    site_presence: str | None = None


class PermitHandover(Payload):
    """One acknowledgement of a shift handover: the outgoing or incoming work lead or guardian.
    The handover of a shift change is complete with all four; the incoming guardian becomes the
    permit's guardian. Not complete within the configured time after the shift change: the
    permit is suspended (``handover_missing``)."""

    permit_id: str = Field(min_length=1)
    member_id: str = Field(min_length=1)
    position: str
    side: str
    acknowledged_at: AwareDatetime


class PermitDeclareComplete(Payload):
    """The work's lead (construction_lead) declares the work complete; the permit waits for the
    host representative's acceptance."""

    permit_id: str = Field(min_length=1)
    member_id: str = Field(min_length=1)
    declared_at: AwareDatetime
    note: str | None = None


class PermitAcceptCompletion(Payload):
    """Completion acceptance (完工验收, GB 30871-2022 §4.14-4.15) by the host_rep: accepted only
    with the site restored (guards and covers back, housekeeping done) and every isolation
    removed; refused with a reason, the work goes back to the crew."""

    permit_id: str = Field(min_length=1)
    member_id: str = Field(min_length=1)
    decision: Decision
    guards_restored: bool = False
    housekeeping_done: bool = False
    reason: str | None = None
    decided_at: AwareDatetime


class PermitNameGuardian(Payload):
    """Name the guardian (监护人, §4.10), a roster member (by the construction_lead or host_rep)."""

    permit_id: str = Field(min_length=1)
    member_id: str = Field(min_length=1)
    guardian_member_id: str = Field(min_length=1)
    named_at: AwareDatetime


class PermitCheckIn(Payload):
    """The guardian checks in on site (``site_presence``: the work area or its QR/NFC code)."""

    permit_id: str = Field(min_length=1)
    member_id: str = Field(min_length=1)
    site_presence: str | None = None
    checked_in_at: AwareDatetime


class PermitCheckOut(Payload):
    """The guardian leaves the site: the permit is withdrawn and the work stops (§4.10 f)."""

    permit_id: str = Field(min_length=1)
    member_id: str = Field(min_length=1)
    checked_out_at: AwareDatetime


class PermitBrief(Payload):
    """The safety briefing (安全交底, §4.4), signed by the giver (the host unit's or management's
    roster member, the command's actor) and naming the receiver (the crew's)."""

    permit_id: str = Field(min_length=1)
    member_id: str = Field(min_length=1)
    receiver_member_id: str = Field(min_length=1)
    briefed_at: AwareDatetime
    site_presence: str | None = None


class PermitCheckTicket(Payload):
    """The shift leader's ticket check before the work (动火前岗位当班班长验票, Table A.1): a roster
    member employed by the host unit, on site."""

    permit_id: str = Field(min_length=1)
    member_id: str = Field(min_length=1)
    checked_at: AwareDatetime
    site_presence: str | None = None


class DrawingCommentAdded(Payload):
    """A reviewer's comment on a drawing under review (审图): the sheet and the issue. Comments stay
    open until a ``drawing.revised`` resolves them; no approval is taken while any is open."""

    drawing_id: str = Field(min_length=1)
    comment_id: str = Field(min_length=1)
    member_id: str = Field(min_length=1)
    role: str
    sheet: str
    issue: str
    added_at: AwareDatetime


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
    erased: bool = Field(False, description="Personal data erased (name and home branch replaced)")


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


class ZoneMemberErased(ZoneEvent):
    """A member's personal data was erased: the snapshot carries the replaced roster entry."""

    member_id: str


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
    site_presence: str | None = None


class PermitSnapshot(Payload):
    """The permit as it stands. Beyond the base contract: its special work ``work_class`` and
    ``grade`` (GB 30871-2022 §5.1, §8.1, §9.1), the permits of the same work
    (``linked_permit_ids``, §4.6), ``version`` (+1 on every change) and ``revision`` (+1 on every
    re-plan, resubmission, re-routing, and every change after issue: an issued permit is never
    edited), the guardian, and why it is suspended."""

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
    work_class: WorkClass | None = None
    grade: PermitGrade | None = None
    linked_permit_ids: list[str] = Field(default_factory=list)
    version: int = Field(default=0, ge=0)
    revision: int = Field(default=1, ge=1)
    guardian_member_id: str | None = None
    suspension_cause: SuspensionCause | None = None
    signing: SigningMode = Field(
        SigningMode.PARALLEL, description="parallel (the zone's roles at once) or sequential (the old route)"
    )


class PermitEvent(Payload):
    permit: PermitSnapshot


class PermitSignatureRequested(PermitEvent):
    role: str
    member_ids: list[str]


class PermitNoSigner(PermitEvent):
    """A signature request that names nobody: no one on the roster (or in the authorization
    register) holds the role. The zone's secretary must act (``secretary_member_ids``)."""

    role: str
    zone_id: str | None = None
    secretary_member_ids: list[str] = Field(default_factory=list)


class PermitBlocked(PermitEvent):
    """Every precondition that does not hold, with ``details`` naming the reading and limit of a
    failed gas test, the other permit and the rule of a conflict, the isolation missing."""

    reasons: list[BlockReason] = Field(min_length=1)
    details: list[dict[str, Any]] = Field(default_factory=list)


class PermitIssued(PermitEvent):
    """Valid from the later of the check and the planned start until the planned end, capped by
    class and grade (GB 30871-2022 §5.1.5: 特级/一级 hot work 8 h, 二级 72 h; §6.10 confined space
    24 h; §8.2.11 height 7 days; §10.8 temporary power 15 days, 30 with the extended approval, and
    no longer than the hot work or confined space it serves; other classes 24 h, SPEC §3.3). The
    gas sample counts when taken at most 30 min before the work starts (§5.3.1 c, §6.3 a)."""

    valid_from: AwareDatetime
    valid_until: AwareDatetime


class PermitSuspended(PermitEvent):
    cause: SuspensionCause | None = None
    detail: dict[str, Any] = Field(default_factory=dict)


class PermitCancelled(PermitEvent):
    reason: CancelReason | None = None


class PermitLapsed(PermitEvent):
    """A permit is never issued after its planned end: unissued then, it lapses."""

    planned_end: AwareDatetime


class PermitRevised(PermitEvent):
    """A re-plan, a re-routing to a new zone: ``changed`` names what changed; when the scope,
    place, time or class changed, ``approvals_void`` and the signatures are asked again
    (GB 30871-2022 §4.16-4.17)."""

    revision: int = Field(ge=1)
    changed: list[str]
    approvals_void: bool


class PermitResubmitted(PermitEvent):
    revision: int = Field(ge=1)


class PermitInterrupted(PermitEvent):
    reason: str


class PermitWorkResumed(PermitEvent):
    gas_test_id: str | None = None


class PermitExtended(PermitEvent):
    previous_valid_until: AwareDatetime
    valid_until: AwareDatetime


class PermitCompletionRefused(PermitEvent):
    reason: str


class PermitUpdated(PermitEvent):
    """A change that is not a change of state (see ``PermitChange``), with who and what."""

    change: PermitChange
    actor: str
    detail: dict[str, Any] = Field(default_factory=dict)


class PermitSlaBreached(PermitEvent):
    """Past the SLA unissued: escalated once, naming the roles and the people who have not signed."""

    deadline: AwareDatetime
    waiting_on_roles: list[str]
    waiting_on_members: list[str] = Field(default_factory=list)


class PermitCommandRejected(Payload):
    command_id: str
    command_type: str
    permit_id: str
    member_id: str | None = None
    reasons: list[CommandRefusal] = Field(min_length=1)
    actor: str | None = None


# --------------------------------------------------------------------------- pbz.permit.work


class WorkPlanReceived(Payload):
    """A work plan on its way to its permits (one ``permit-work.plan-permit`` per class, one
    ``permit-work.cancel-permit`` per class dropped), keyed by project."""

    plan: WorkPlanned
    source: str


class WorkCancelReceived(Payload):
    cancel: WorkCancelled


class PlanPermit(Payload):
    """Create or revise one permit of a work plan."""

    permit_id: str
    work_class: WorkClass
    plan: WorkPlanned
    linked_permit_ids: list[str]
    source: str


class DrawingReceived(Payload):
    drawing: DrawingSubmitted
    source: str


class CancelPermit(Payload):
    permit_id: str
    reason: CancelReason


class FactReceived(Payload):
    """A fact from another topic, for the permits of one project it concerns; its handler finds
    them (on the project's partition, so in order with their own changes) and sends one
    ``permit-work.apply`` per permit."""

    fact: FactKind
    project_id: str
    data: dict[str, Any] = Field(default_factory=dict)


class ApplyFact(Payload):
    permit_id: str
    fact: FactKind
    data: dict[str, Any] = Field(default_factory=dict)


class PermitDue(Payload):
    """The clock passed a time the permit acts on (SLA, planned end, validity, monitoring
    interval, handover)."""

    permit_id: str
    now: AwareDatetime


class PermitPurge(Payload):
    """A finished permit past its retention (at least one year, GB 30871-2022 Appendix B.3)."""

    permit_id: str


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
    """The collaboration zones of a period, ranked. A comparison zone (one signing
    ``sequential``, ``SigningMode``: the old route, the demo's twins) is assessed but in neither
    ``ranking`` nor ``no_data``."""

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


# --------------------------------------------------------------------------- work topics


class ZoneCoverProject(Payload):
    """zone-registry's follow-up of a registered key project, keyed by the zone it targets:
    establish that zone (``own_zone``), found or join that alliance, or — when the id is
    taken by another zone — go on to the next free id (``n`` + 1)."""

    zone_id: str = Field(min_length=1)
    step: str
    n: int = Field(ge=1, le=1000)
    project: ProjectRegistered
    host_unit_id: str | None = None


class ZoneReleaseProject(Payload):
    """zone-registry's follow-up of a completed project, one per zone that lists it."""

    zone_id: str = Field(min_length=1)
    project_id: str = Field(min_length=1)


class ZonePeriodWork(Payload):
    """A period close (or revision, or reminder check) of one zone: one follow-up per (zone,
    period), keyed by the zone, so a tick's work stays bounded whatever the number of zones.
    ``period``: a month, a quarter or (organisational life) a year. ``cause``: the type of the
    event that made the work due; ``caused_by``: the fact or correction behind a revision;
    ``on``: the clock's local day when the work fell due (a reminder is judged on it)."""

    zone_id: str = Field(min_length=1)
    period: str = Field(pattern=PERIOD_ORG)
    cause: str | None = None
    caused_by: str | None = None
    on: date | None = None


class ZoneCheckTransfers(Payload):
    """zone-registry's follow-up when a day begins on which a zone has a floating member's
    transfer falling due (six months away): raise ``zone.transfer-due`` once per member."""

    zone_id: str = Field(min_length=1)
    on: date


class AssessmentClosePeriod(ZonePeriodWork):
    """``assessed``: how many zones the same close assesses; the period's ranking is
    published once that many have their result."""

    assessed: int = Field(ge=1)


class AssessmentRankPeriod(Payload):
    """Rank a period, keyed by the period. ``assessed``: the zones its close assesses (the
    ranking waits for all of them); 0 after a revision (re-rank a published ranking), with
    the revision's ``reason``."""

    period: str = Field(pattern=PERIOD_ANY)
    assessed: int = Field(ge=0)
    reason: RevisionReason | None = None


# --------------------------------------------------------------------------- pbz.dlq


class DeadLetter(Payload):
    """What could not be processed. ``original`` is the message's value in base64, cut to
    a bounded length (``PBZ_DLQ_ORIGINAL_MAX_BYTES``) so that a letter always fits on the
    broker; ``original_bytes`` and ``original_sha256`` are those of the whole value, and
    ``original_truncated`` says whether it was cut."""

    service: str
    topic: str
    partition: int
    offset: int
    key: str | None
    reason: str
    original: str  # base64 of the original bytes (their first original_max_bytes)
    original_bytes: int | None = Field(default=None, ge=0)
    original_sha256: str | None = None
    original_truncated: bool = False


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
    ("work.cancelled", Topic.PROJECTS, WorkCancelled),
    ("drawing.submitted", Topic.PROJECTS, DrawingSubmitted),
    ("drawing.revised", Topic.PROJECTS, DrawingRevised),
    ("improvement.recorded", Topic.PROJECTS, ImprovementRecorded),
    ("safety.gas-test-recorded", Topic.SAFETY, GasTestRecorded),
    ("safety.incident-reported", Topic.SAFETY, IncidentReported),
    ("safety.incident-reclassified", Topic.SAFETY, IncidentReclassified),
    ("isolation.applied", Topic.SAFETY, IsolationApplied),
    ("isolation.removed", Topic.SAFETY, IsolationRemoved),
    ("authorization.registered", Topic.SAFETY, AuthorizationRegistered),
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
    ("zone.erase-member", Topic.ZONE_COMMANDS, ZoneEraseMember),
    ("activity.record", Topic.ACTIVITY_COMMANDS, ActivityRecord),
    ("activity.request-leave", Topic.ACTIVITY_COMMANDS, ActivityRequestLeave),
    ("permit.sign", Topic.PERMIT_COMMANDS, PermitSign),
    ("permit.close", Topic.PERMIT_COMMANDS, PermitClose),
    ("permit.resume", Topic.PERMIT_COMMANDS, PermitResume),
    ("permit.resubmit", Topic.PERMIT_COMMANDS, PermitResubmit),
    ("permit.interrupt", Topic.PERMIT_COMMANDS, PermitInterrupt),
    ("permit.resume-work", Topic.PERMIT_COMMANDS, PermitResumeWork),
    ("permit.extend", Topic.PERMIT_COMMANDS, PermitExtend),
    ("permit.handover", Topic.PERMIT_COMMANDS, PermitHandover),
    ("permit.declare-complete", Topic.PERMIT_COMMANDS, PermitDeclareComplete),
    ("permit.accept-completion", Topic.PERMIT_COMMANDS, PermitAcceptCompletion),
    ("permit.name-guardian", Topic.PERMIT_COMMANDS, PermitNameGuardian),
    ("permit.check-in", Topic.PERMIT_COMMANDS, PermitCheckIn),
    ("permit.check-out", Topic.PERMIT_COMMANDS, PermitCheckOut),
    ("permit.brief", Topic.PERMIT_COMMANDS, PermitBrief),
    ("permit.check-ticket", Topic.PERMIT_COMMANDS, PermitCheckTicket),
    ("drawing.comment-added", Topic.PERMIT_COMMANDS, DrawingCommentAdded),
    ("evaluation.submit", Topic.ASSESSMENT_COMMANDS, EvaluationSubmit),
    ("clock.ticked", Topic.CLOCK, ClockTicked),
    ("zone.established", Topic.ZONE_EVENTS, ZoneEvent),
    ("zone.updated", Topic.ZONE_EVENTS, ZoneEvent),
    ("zone.member-joined", Topic.ZONE_EVENTS, ZoneEvent),
    ("zone.member-left", Topic.ZONE_EVENTS, ZoneEvent),
    ("zone.closed", Topic.ZONE_EVENTS, ZoneEvent),
    ("zone.member-erased", Topic.ZONE_EVENTS, ZoneMemberErased),
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
    ("permit.no-signer", Topic.PERMIT_EVENTS, PermitNoSigner),
    ("permit.signed", Topic.PERMIT_EVENTS, PermitEvent),
    ("permit.approved", Topic.PERMIT_EVENTS, PermitEvent),
    ("permit.rejected", Topic.PERMIT_EVENTS, PermitEvent),
    ("permit.resubmitted", Topic.PERMIT_EVENTS, PermitResubmitted),
    ("permit.revised", Topic.PERMIT_EVENTS, PermitRevised),
    ("permit.blocked", Topic.PERMIT_EVENTS, PermitBlocked),
    ("permit.issued", Topic.PERMIT_EVENTS, PermitIssued),
    ("permit.suspended", Topic.PERMIT_EVENTS, PermitSuspended),
    ("permit.resumed", Topic.PERMIT_EVENTS, PermitEvent),
    ("permit.interrupted", Topic.PERMIT_EVENTS, PermitInterrupted),
    ("permit.work-resumed", Topic.PERMIT_EVENTS, PermitWorkResumed),
    ("permit.extended", Topic.PERMIT_EVENTS, PermitExtended),
    ("permit.completion-declared", Topic.PERMIT_EVENTS, PermitEvent),
    ("permit.completion-refused", Topic.PERMIT_EVENTS, PermitCompletionRefused),
    ("permit.updated", Topic.PERMIT_EVENTS, PermitUpdated),
    ("permit.expired", Topic.PERMIT_EVENTS, PermitEvent),
    ("permit.lapsed", Topic.PERMIT_EVENTS, PermitLapsed),
    ("permit.closed", Topic.PERMIT_EVENTS, PermitEvent),
    ("permit.cancelled", Topic.PERMIT_EVENTS, PermitCancelled),
    ("permit.sla-breached", Topic.PERMIT_EVENTS, PermitSlaBreached),
    ("permit.command-rejected", Topic.PERMIT_EVENTS, PermitCommandRejected),
    ("permit-work.work-planned", Topic.PERMIT_WORK, WorkPlanReceived),
    ("permit-work.work-cancelled", Topic.PERMIT_WORK, WorkCancelReceived),
    ("permit-work.plan-permit", Topic.PERMIT_WORK, PlanPermit),
    ("permit-work.drawing", Topic.PERMIT_WORK, DrawingReceived),
    ("permit-work.cancel-permit", Topic.PERMIT_WORK, CancelPermit),
    ("permit-work.fact", Topic.PERMIT_WORK, FactReceived),
    ("permit-work.apply", Topic.PERMIT_WORK, ApplyFact),
    ("permit-work.due", Topic.PERMIT_WORK, PermitDue),
    ("permit-work.purge", Topic.PERMIT_WORK, PermitPurge),
    ("assessment.computed", Topic.ASSESSMENT_EVENTS, AssessmentComputed),
    ("assessment.no-data", Topic.ASSESSMENT_EVENTS, AssessmentNoData),
    ("assessment.ranking-published", Topic.ASSESSMENT_EVENTS, RankingPublished),
    ("assessment.command-rejected", Topic.ASSESSMENT_EVENTS, AssessmentCommandRejected),
    ("zone.cover-project", Topic.ZONE_WORK, ZoneCoverProject),
    ("zone.release-project", Topic.ZONE_WORK, ZoneReleaseProject),
    ("zone.check-transfers", Topic.ZONE_WORK, ZoneCheckTransfers),
    ("activity.close-period", Topic.ACTIVITY_WORK, ZonePeriodWork),
    ("activity.check-reminders", Topic.ACTIVITY_WORK, ZonePeriodWork),
    ("assessment.close-period", Topic.ASSESSMENT_WORK, AssessmentClosePeriod),
    ("assessment.revise-period", Topic.ASSESSMENT_WORK, ZonePeriodWork),
    ("assessment.rank-period", Topic.ASSESSMENT_WORK, AssessmentRankPeriod),
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


# --------------------------------------------------------------------------- bounds

# Every readable payload, whatever its type, stays inside these (the whole ``data``, the
# fields a model does not declare included: they are dropped, but a sender who puts a NUL
# or a ``$`` key in them is told so rather than silently accepted).
MAX_STRING = 10_000  # characters in any string
MAX_KEY = 200  # characters in a field name
MAX_LIST = 1_000  # items in any list, keys in any object
MAX_DEPTH = 12  # nesting of objects and lists
INT64 = 2**63


def unsafe_value(value: Any, path: str = "data", depth: int = 0, bounded: bool = True) -> str | None:
    """Why ``value`` (JSON-like) cannot be stored or forwarded safely, or None.

    NUL characters, field names a document store refuses (``.``, a leading ``$``, NUL),
    integers beyond 64 bits, NaN/infinity, and (``bounded``: input) sizes beyond the bounds
    above; for a document about to be stored, only BSON's nesting limit."""
    if depth > (MAX_DEPTH if bounded else 90):
        return f"{path}: nested deeper than {MAX_DEPTH if bounded else 90} levels"
    if isinstance(value, str):
        if bounded and len(value) > MAX_STRING:
            return f"{path}: a string of {len(value)} characters (at most {MAX_STRING})"
        if "\x00" in value:
            return f"{path}: contains a NUL character"
        if not value.isascii():
            try:
                value.encode()
            except UnicodeEncodeError:
                return f"{path}: is not valid Unicode text (a lone surrogate)"
    elif isinstance(value, bool) or value is None:
        return None
    elif isinstance(value, int):
        if not -INT64 <= value < INT64:
            return f"{path}: an integer beyond 64 bits"
    elif isinstance(value, float):
        if not math.isfinite(value):
            return f"{path}: {value} is not a finite number"
    elif isinstance(value, dict):
        if bounded and len(value) > MAX_LIST:
            return f"{path}: an object with {len(value)} fields (at most {MAX_LIST})"
        for k, v in value.items():
            if not isinstance(k, str):
                return f"{path}: a field name that is not a string"
            if problem := unsafe_key(k, bounded):
                return f"{path}: field name {k[:40]!r} {problem}"
            if problem := unsafe_value(v, f"{path}.{k}", depth + 1, bounded):
                return problem
    elif isinstance(value, list | tuple):
        if bounded and len(value) > MAX_LIST:
            return f"{path}: a list of {len(value)} items (at most {MAX_LIST})"
        for i, v in enumerate(value):
            if problem := unsafe_value(v, f"{path}[{i}]", depth + 1, bounded):
                return problem
    return None


def unsafe_key(key: str, bounded: bool = True) -> str | None:
    if not key:
        return "is empty"
    if bounded and len(key) > MAX_KEY:
        return f"is longer than {MAX_KEY} characters"
    if "\x00" in key:
        return "contains a NUL character"
    if not key.isascii():
        try:
            key.encode()
        except UnicodeEncodeError:
            return "is not valid Unicode text (a lone surrogate)"
    if key.startswith("$"):
        return "starts with '$'"
    if "." in key:
        return "contains '.'"
    return None


def _drop_extras(value: Any) -> None:
    """Forget, in place, every field the models do not declare (nested models too)."""
    if isinstance(value, BaseModel):
        if value.__pydantic_extra__:
            value.__pydantic_extra__ = {}
        for name in type(value).model_fields:
            _drop_extras(getattr(value, name))
    elif isinstance(value, list):
        for v in value:
            _drop_extras(v)


def parse_data(event: CloudEvent, expected_topic: str | None = None) -> Payload:
    """Type ``event.data`` by ``event.type``, bounded (see the module's docstring), with
    only the declared fields. Raises :class:`UnreadableEvent` with the reason."""
    spec = spec_for(event.type)
    if expected_topic is not None and spec.topic.value != expected_topic:
        raise UnreadableEvent(
            "wrong_topic", f"{event.type!r} belongs on {spec.topic.value!r}, not on {expected_topic!r}"
        )
    if problem := unsafe_value(event.data):
        raise UnreadableEvent("invalid_payload", problem)
    try:
        payload = spec.model.model_validate(event.data)
    except ValidationError as e:
        raise UnreadableEvent("invalid_payload", format_validation_error(e, prefix="data.")) from None
    _drop_extras(payload)
    return payload
