"""activity-log: activities, problems and the cadence check of the six systems (SPEC §3.2)."""

from __future__ import annotations

from dataclasses import fields, replace

from pydantic import Field, field_validator

from shared.events import Topic
from shared.service import ServiceDefinition
from shared.settings import ServiceSettings

from . import api, store
from .domain import Requirements
from .handlers import handlers
from .organisational_life import OrgLifeRequirements, ReminderDays


class Settings(ServiceSettings):
    # A month is closed when the clock passes its end plus this grace.
    cadence_grace_hours: float = 24.0
    theme_party_days_per_month: int = Field(1, ge=0)
    joint_meetings_per_month: int = Field(1, ge=0)
    monthly_analyses_per_month: int = Field(1, ge=0)
    weekly_meetings_per_week: int = Field(1, ge=0)
    checkins_per_workday: int = Field(2, ge=0)
    # Per zone, a different requirement for some rules, e.g. a zone that meets twice a week:
    # PBZ_CADENCE_ZONE_OVERRIDES='{"ZC-P001": {"weekly_meetings_per_week": 2}}'
    # (keys are the fields of Requirements; a typo stops the service at start, not silently).
    cadence_zone_overrides: dict[str, dict[str, int]] = Field(default_factory=dict)

    @field_validator("cadence_zone_overrides")
    @classmethod
    def _known_requirements(cls, value: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
        known = {f.name for f in fields(Requirements)}
        for zone_id, override in value.items():
            unknown = sorted(set(override) - known)
            if unknown:
                raise ValueError(f"zone {zone_id}: unknown requirement {unknown}; known: {sorted(known)}")
            negative = sorted(k for k, v in override.items() if v < 0)
            if negative:
                raise ValueError(f"zone {zone_id}: requirement {negative} must not be negative")
        return value

    # 三会一课 and organisational life (《中国共产党支部工作条例（试行）》, issue 19): the minimum per
    # period of each rule's cadence; 0 switches a rule off (a zone without party groups).
    party_members_meetings_per_quarter: int = Field(1, ge=0)  # 党员大会, 第十一条
    branch_committee_meetings_per_month: int = Field(1, ge=0)  # 支委会, 第十二条
    party_group_meetings_per_month: int = Field(1, ge=0)  # 党小组会, 第十三条
    party_classes_per_quarter: int = Field(1, ge=0)  # 党课, 第十五条
    fixed_theme_party_days_per_month: int = Field(1, ge=0)  # 主题党日 on the zone's day, 第十六条
    organisational_life_meetings_per_year: int = Field(1, ge=0)  # 组织生活会, 第十七条
    member_appraisals_per_year: int = Field(1, ge=0)  # 民主评议党员, 第十八条
    # A 主题党日 held up to this many days after the zone's fixed day still counts (a holiday).
    theme_day_tolerance_days: int = Field(0, ge=0, le=27)
    # Only a 党员大会 whose quorum held (more than half of the members with a vote) counts.
    meeting_needs_quorum: bool = True
    # A rule is judged for a period when the zone was active on at least this many of its days.
    org_life_min_active_days: int = Field(1, ge=1)
    # Per zone, JSON: {"<zone id>": {"<field of OrgLifeRequirements>": n}}, e.g. a zone without
    # party groups: PBZ_ORG_LIFE_ZONE_OVERRIDES='{"ZC-P001": {"party_group_meeting": 0}}'
    org_life_zone_overrides: dict[str, dict[str, int]] = Field(default_factory=dict)
    # Reminders (activity.reminder-due, to the zone's secretary): this many days before a
    # month, a quarter, a year closes with a rule still unmet.
    reminder_days_monthly: int = Field(5, ge=0, le=27)
    reminder_days_quarterly: int = Field(10, ge=0, le=88)
    reminder_days_yearly: int = Field(30, ge=0, le=364)

    @field_validator("org_life_zone_overrides")
    @classmethod
    def _known_org_life_rules(cls, value: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
        known = {f.name for f in fields(OrgLifeRequirements)} - {"theme_party_day", "meeting_needs_quorum"}
        for zone_id, override in value.items():
            unknown = sorted(set(override) - known)
            if unknown:
                raise ValueError(f"zone {zone_id}: unknown rule {unknown}; known: {sorted(known)}")
            if any(v < 0 for v in override.values()):
                raise ValueError(f"zone {zone_id}: a minimum must not be negative")
        return value

    def org_life(self, zone_id: str | None = None, theme_party_day: int | None = None) -> OrgLifeRequirements:
        """The zone's rules of organisational life: the service's minimums, the zone's own
        overrides, and the fixed day its ``zone.configure`` set for the 主题党日."""
        req = OrgLifeRequirements(
            party_members_meeting=self.party_members_meetings_per_quarter,
            branch_committee_meeting=self.branch_committee_meetings_per_month,
            party_group_meeting=self.party_group_meetings_per_month,
            party_class=self.party_classes_per_quarter,
            theme_party_day_on_fixed_day=self.fixed_theme_party_days_per_month,
            organisational_life_meeting=self.organisational_life_meetings_per_year,
            member_appraisal=self.member_appraisals_per_year,
            theme_party_day=theme_party_day,
            theme_day_tolerance_days=self.theme_day_tolerance_days,
            meeting_needs_quorum=self.meeting_needs_quorum,
            min_active_days=self.org_life_min_active_days,
        )
        override = self.org_life_zone_overrides.get(zone_id or "", {})
        return req.with_overrides(**override) if override else req

    def reminder_days(self) -> ReminderDays:
        return ReminderDays(
            monthly=self.reminder_days_monthly,
            quarterly=self.reminder_days_quarterly,
            yearly=self.reminder_days_yearly,
        )

    def requirements(self, zone_id: str | None = None) -> Requirements:
        """The zone's requirements: the service-wide defaults, with its own overrides if any."""
        defaults = Requirements(
            theme_party_day=self.theme_party_days_per_month,
            joint_meeting=self.joint_meetings_per_month,
            monthly_analysis=self.monthly_analyses_per_month,
            weekly_meetings_per_week=self.weekly_meetings_per_week,
            checkins_per_workday=self.checkins_per_workday,
        )
        override = self.cadence_zone_overrides.get(zone_id or "", {})
        return replace(defaults, **override) if override else defaults


definition = ServiceDefinition(
    name="activity_log",
    title="activity-log",
    port=8002,
    description=(
        "Activities and problems of each zone, attendance and leave, the cadence of the six basic "
        "systems and of 三会一课 and organisational life, and reminders before a period closes."
    ),
    consumes=[Topic.ZONE_EVENTS, Topic.ACTIVITY_COMMANDS, Topic.CLOCK, Topic.ACTIVITY_WORK],
    emits=[Topic.ACTIVITY_EVENTS],
    work_topic=Topic.ACTIVITY_WORK,
    handlers=handlers,
    indexes=store.INDEXES,
    routers=[api.router],
    settings_cls=Settings,
)
