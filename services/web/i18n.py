"""Languages: Chinese (简体, the default) and English. Every string a person reads is a message
of the catalogue (``locale/<locale>/LC_MESSAGES/messages.po``, read with Babel; English is the
source language), numbers and dates are formatted by Babel for the locale, dates in the zone's
time zone. ``N_`` marks a message for extraction where it is translated later (labels of codes).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime as DateTime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent

from .domain import half_up

LOCALES = ("zh_CN", "en")
LANGUAGE_NAMES = {"zh_CN": "中文", "en": "English"}
HTML_LANG = {"zh_CN": "zh-Hans", "en": "en"}
CATALOGUES = Path(__file__).parent / "locale"


def N_(message: str) -> str:
    """Marks a message for the catalogue; translated where it is shown."""
    return message


@cache
def catalogue(locale: str) -> Catalog | None:
    path = CATALOGUES / locale / "LC_MESSAGES" / "messages.po"
    if not path.exists():
        return None
    with path.open("rb") as f:
        return read_po(f, locale=locale)


@cache
def _messages(locale: str) -> dict[str, str]:
    cat = catalogue(locale)
    if cat is None:
        return {}
    return {str(m.id): str(m.string) for m in cat if m.id and isinstance(m.string, str) and m.string}


def pick(value: str | None, default: str) -> str:
    return value if value in LOCALES else default


@dataclass(frozen=True)
class Translator:
    """One person's language and time zone: messages, numbers, dates."""

    locale: str
    tz: ZoneInfo

    def gettext(self, message: str, **values: Any) -> str:
        text = _messages(self.locale).get(message, message)
        return text % values if values else text

    def code(self, kind: str, value: str | None) -> str:
        """The label of a code (a rule, a role, a status, a reason...), or the code itself."""
        if value is None:
            return "—"
        label = CODE_LABELS.get(kind, {}).get(value)
        return self.gettext(label) if label else value

    @property
    def babel(self) -> Locale:
        return Locale.parse(self.locale)

    def number(self, value: float | int | None, digits: int = 0) -> str:
        if not isinstance(value, int | float):  # None, or a field the service left out
            return "—"
        fmt = "#,##0" + ("." + "0" * digits if digits else "")
        return format_decimal(half_up(value, digits), format=fmt, locale=self.locale)

    def percent(self, share: float | None) -> str:
        if share is None:
            return "—"
        return format_percent(half_up(share, 2), format="#,##0%", locale=self.locale)

    def datetime(self, value: DateTime | str | None) -> str:
        when = parse_time(value)
        if when is None:
            return "—"
        return format_datetime(when.astimezone(self.tz), format="short", tzinfo=self.tz, locale=self.locale)

    def date(self, value: DateTime | str | None) -> str:
        when = parse_time(value)
        if when is None:
            return "—"
        return format_date(when.astimezone(self.tz).date(), format="medium", locale=self.locale)

    def duration(self, minutes: float | None) -> str:
        """Minutes as hours and minutes ("3 h 05 min" / "3小时5分"); negative: late."""
        if minutes is None:
            return "—"
        late = minutes < 0
        m = round(abs(minutes))
        text = self.gettext("%(h)s h %(m)s min", h=self.number(m // 60), m=m % 60)
        return self.gettext("%(t)s late", t=text) if late else text


def parse_time(value: DateTime | str | None) -> DateTime | None:
    if value is None or isinstance(value, DateTime):
        return value
    if not isinstance(value, str):  # a field the service left out (a template's Undefined)
        return None
    try:
        return DateTime.fromisoformat(value)
    except ValueError:
        return None


# --------------------------------------------------------------------------- labels of codes
# The services answer with codes; a person reads their labels.

CODE_LABELS: dict[str, dict[str, str]] = {
    "mode": {"project_cobuild": N_("Project co-building"), "regional_alliance": N_("Regional alliance")},
    "zone_status": {"proposed": N_("Proposed"), "active": N_("Active"), "closed": N_("Closed")},
    "rule": {
        "theme_party_day": N_("Theme party day"),
        "joint_meeting": N_("Joint meeting"),
        "monthly_analysis": N_("Monthly analysis"),
        "weekly_meeting": N_("Weekly meetings"),
        "weekly_meetings": N_("Weekly meetings"),
        "daily_checkin": N_("Daily check-ins"),
        "daily_checkins": N_("Daily check-ins"),
    },
    "activity": {
        "theme_party_day": N_("Theme party day"),
        "joint_meeting": N_("Joint meeting"),
        "daily_checkin": N_("Daily check-in"),
        "weekly_meeting": N_("Weekly meeting"),
        "monthly_analysis": N_("Monthly analysis"),
        "party_history_class": N_("Party history class"),
        "oath_renewal": N_("Oath renewal"),
        "organisational_life": N_("Organisational life"),
        "other": N_("Other activity"),
        "party_members_meeting": N_("Party members' meeting"),
        "branch_committee_meeting": N_("Branch committee meeting"),
        "party_group_meeting": N_("Party group meeting"),
        "party_class": N_("Party class"),
        "organisational_life_meeting": N_("Organisational life meeting"),
        "member_appraisal": N_("Democratic appraisal of members"),
    },
    "slot": {"morning": N_("Morning"), "evening": N_("Evening")},
    "zone_role": {
        "secretary": N_("Secretary"),
        "member": N_("Member"),
        "host_rep": N_("Host representative"),
        "construction_lead": N_("Construction lead"),
        "supervision_engineer": N_("Supervision engineer"),
        "management_safety": N_("Management safety officer"),
    },
    "unit_role": {
        "host": N_("Host unit"),
        "construction": N_("Construction unit"),
        "supervision": N_("Supervision unit"),
        "management": N_("Management unit"),
        "subcontractor": N_("Subcontractor"),
        "design": N_("Design unit"),
    },
    "employment": {
        "staff": N_("Staff"),
        "dispatched": N_("Dispatched worker"),
        "migrant_worker": N_("Migrant worker"),
        "external_hire": N_("External hire"),
    },
    "permit_status": {
        "pending_signatures": N_("Waiting for signatures"),
        "approved": N_("Approved"),
        "blocked": N_("Blocked"),
        "issued": N_("Issued"),
        "suspended": N_("Suspended"),
        "interrupted": N_("Interrupted"),
        "completing": N_("Completing"),
        "rejected": N_("Rejected"),
        "expired": N_("Expired"),
        "closed": N_("Closed"),
        "cancelled": N_("Cancelled"),
        "lapsed": N_("Lapsed"),
    },
    "permit_kind": {"work_permit": N_("Work permit"), "drawing_review": N_("Drawing review")},
    "work_class": {
        "hot_work": N_("Hot work"),
        "confined_space": N_("Confined space entry"),
        "blind_plate": N_("Blind plate work"),
        "work_at_height": N_("Work at height"),
        "lifting": N_("Lifting"),
        "temporary_power": N_("Temporary power"),
        "excavation": N_("Excavation"),
        "road_closure": N_("Road closure"),
        "general": N_("General work"),
    },
    "grade": {
        "special": N_("Special grade"),
        "first": N_("Grade 1"),
        "second": N_("Grade 2"),
        "third": N_("Grade 3"),
        "I": N_("Grade I"),
        "II": N_("Grade II"),
        "III": N_("Grade III"),
        "IV": N_("Grade IV"),
    },
    "block": {
        "no_active_zone": N_("No active zone covers the project"),
        "contractor_safety_not_adopted": N_("The zone has not adopted contractor safety management"),
        "subcontractor_safety_not_adopted": N_("The zone has not adopted subcontractor safety management"),
        "no_morning_checkin": N_("No morning check-in recorded on the work's day"),
        "gas_test_missing": N_("No gas test in the last 30 minutes"),
        "gas_test_failed": N_("The latest gas test failed"),
        "simops_conflict": N_("Conflicts with another permit nearby"),
        "guardian_missing": N_("No guardian named"),
        "guardian_not_on_site": N_("The guardian has not checked in on site"),
        "briefing_missing": N_("No safety briefing signed"),
        "ticket_not_checked": N_("The shift leader has not checked the ticket"),
        "isolation_inadequate": N_("An isolation is a water seal or a closed valve"),
        "isolation_not_applied": N_("An isolation is not confirmed on site"),
    },
    "precondition": {
        "no_active_zone": N_("An active zone covers the project"),
        "contractor_safety_not_adopted": N_("The zone has adopted contractor safety management"),
        "subcontractor_safety_not_adopted": N_("The zone has adopted subcontractor safety management"),
        "no_morning_checkin": N_("Morning check-in held on the work's day"),
        "guardian_not_on_site": N_("Guardian named and checked in on site"),
        "briefing_missing": N_("Safety briefing signed"),
        "ticket_not_checked": N_("Ticket checked by the shift leader"),
        "isolation_not_applied": N_("Every isolation confirmed on site"),
        "gas_test_failed": N_("Gas test passed before the work starts"),
        "simops_conflict": N_("No conflicting permit nearby"),
    },
    "isolation": {
        "blind_plate": N_("Blind plate"),
        "pipe_section_removed": N_("Pipe section removed"),
        "electrical_lockout": N_("Electrical lock-out and tag-out"),
        "mechanical_lockout": N_("Mechanical lock-out and tag-out"),
        "water_seal": N_("Water seal (not an isolation)"),
        "closed_valve": N_("Closed valve (not an isolation)"),
    },
    "decision": {"approve": N_("Approved"), "reject": N_("Rejected")},
    "what": {"signature": N_("Signature"), "completion_acceptance": N_("Completion acceptance")},
    "grade_result": {
        "excellent": N_("Excellent"),
        "good": N_("Good"),
        "pass": N_("Pass"),
        "fail": N_("Fail"),
    },
    "indicator": {
        "party_building": N_("Party building"),
        "safety": N_("Safety"),
        "quality": N_("Quality"),
        "schedule": N_("Schedule"),
        "efficiency": N_("Efficiency"),
        "benefit": N_("Benefit"),
    },
    "severity": {
        "near_miss": N_("Near misses"),
        "minor": N_("Minor"),
        "major": N_("Major"),
        "fatal": N_("Fatal"),
        "environmental": N_("Environmental"),
    },
    "command": {
        "permit.sign": N_("Signature"),
        "permit.close": N_("Closing the permit"),
        "permit.resume": N_("Resuming the permit"),
        "permit.resubmit": N_("Resubmitting the permit"),
        "permit.interrupt": N_("Interrupting the work"),
        "permit.resume-work": N_("Resuming the work"),
        "permit.extend": N_("Extension"),
        "permit.handover": N_("Shift handover"),
        "permit.declare-complete": N_("Declaring the work complete"),
        "permit.accept-completion": N_("Completion acceptance"),
        "permit.name-guardian": N_("Naming the guardian"),
        "permit.check-in": N_("Guardian's check-in"),
        "permit.check-out": N_("Guardian's check-out"),
        "permit.brief": N_("Safety briefing"),
        "permit.check-ticket": N_("Ticket check"),
        "drawing.comment-added": N_("Drawing comment"),
    },
    # Why the permit service refused a command (CommandRefusal).
    "refusal": {
        "unknown_permit": N_("there is no such permit"),
        "permit_finished": N_("the permit is already finished"),
        "signatures_not_requested": N_("signatures are not being collected"),
        "role_not_required": N_("this permit needs no signature in that role"),
        "role_already_signed": N_("that role has signed already"),
        "signer_lacks_role": N_("you do not hold that role on the zone's roster"),
        "actor_unknown": N_("the command names nobody"),
        "not_signer": N_("you may act only for yourself"),
        "role_unit_mismatch": N_("that role belongs to another unit"),
        "already_signed_other_role": N_("you signed this permit in another role"),
        "role_not_allowed": N_("your unit or role may not do this"),
        "not_on_roster": N_("not on the zone's roster"),
        "not_on_site": N_("not on site: the work area's code does not match"),
        "certificate_expired": N_("the certificate has expired"),
        "open_comments": N_("drawing comments are still open"),
        "not_suspended": N_("the permit is not suspended"),
        "not_issued": N_("not at this stage of the permit"),
        "not_interrupted": N_("the work is not interrupted"),
        "not_rejected": N_("the permit was not rejected"),
        "not_completing": N_("the work has not been declared complete"),
        "not_a_drawing_review": N_("not a drawing review"),
        "not_a_special_work": N_("not a special work"),
        "not_guardian": N_("you are not the permit's guardian"),
        "guardian_not_on_site": N_("the guardian is not on site"),
        "gas_retest_required": N_("a fresh gas test is required"),
        "gas_test_failed": N_("the gas test failed"),
        "extension_beyond_cap": N_("beyond the longest extension: a new permit is needed"),
        "extension_not_later": N_("the extension does not end later"),
        "isolation_not_removed": N_("an isolation is still in place"),
        "site_not_restored": N_("the site is not restored"),
        "handover_not_complete": N_("the handover is not complete"),
        "no_handover_due": N_("no handover is due"),
        "waits_for_new_zone": N_("waiting for the project's new zone"),
        "guardian_change_needs_handover": N_("a new guardian takes over through a handover"),
        "duplicate_comment": N_("that comment exists already"),
        "unknown_position": N_("unknown position"),
        "out_of_turn": N_("not this office's turn"),
        "outside_office_hours": N_("outside office hours"),
    },
    "reason": {
        "token_missing": N_("You are not signed in."),
        "token_invalid": N_("Your sign-in is not valid."),
        "token_expired": N_("Your sign-in has expired."),
        "role_required": N_("Your role does not allow this."),
        "not_in_zone": N_("Only the party office and the zone's own members may read this."),
        "not_secretary": N_("Only the party office and the zone's secretary may read this."),
        "not_own_record": N_("This record belongs to someone else."),
        "csrf_failed": N_("The form was too old or not sent from this page; please try again."),
        "signin_failed": N_("Signing in did not complete; please sign in again."),
        "invalid_request": N_("The service refused the request as it was sent."),
        "not_found": N_("There is no such record."),
        "service_unavailable": N_("A service does not answer; try again shortly."),
        "broker_unavailable": N_("A service does not answer; try again shortly."),
    },
}
