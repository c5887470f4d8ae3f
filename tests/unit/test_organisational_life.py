"""三会一课 and organisational life by the rules: each rule's cadence, per-zone requirements,
the fixed 主题党日, the days the zone was active, the periods a clock move closes, reminders."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.activity_log.organisational_life import (
    ARTICLES,
    CADENCE,
    HeldActivity,
    OrgLifeRequirements,
    ReminderDays,
    closed_periods,
    evaluate_period,
    period_end,
    reminder_day,
    reminder_periods,
    reminders_due,
)
from shared.events.catalog import Cadence, Member, OrgLifeRule

TZ = ZoneInfo("Asia/Shanghai")
ALWAYS = [(datetime(2025, 12, 1, tzinfo=TZ), None)]  # active all along
R = OrgLifeRule


def held(kind: str, d: date, quorum: bool | None = None) -> HeldActivity:
    return HeldActivity(kind, d, quorum)


def by_rule(results: list) -> dict[OrgLifeRule, tuple[int, int, bool]]:
    return {r.rule: (r.required, r.actual, r.met) for r in results}


def test_each_rule_has_its_cadence_and_article() -> None:
    assert CADENCE[R.PARTY_MEMBERS_MEETING] is Cadence.QUARTERLY
    assert CADENCE[R.PARTY_CLASS] is Cadence.QUARTERLY
    assert CADENCE[R.BRANCH_COMMITTEE_MEETING] is Cadence.MONTHLY
    assert CADENCE[R.PARTY_GROUP_MEETING] is Cadence.MONTHLY
    assert CADENCE[R.THEME_PARTY_DAY_ON_FIXED_DAY] is Cadence.MONTHLY
    assert CADENCE[R.ORGANISATIONAL_LIFE_MEETING] is Cadence.YEARLY
    assert CADENCE[R.MEMBER_APPRAISAL] is Cadence.YEARLY
    assert "第十一条" in ARTICLES[R.PARTY_MEMBERS_MEETING]
    assert set(ARTICLES) == set(OrgLifeRule)


def test_a_month_with_its_meetings_meets_the_monthly_rules() -> None:
    acts = [
        held("branch_committee_meeting", date(2026, 4, 3)),
        held("party_group_meeting", date(2026, 4, 10)),
        held("theme_party_day", date(2026, 4, 15)),
    ]
    got = by_rule(evaluate_period("2026-04", ALWAYS, acts, TZ))
    assert got == {
        R.BRANCH_COMMITTEE_MEETING: (1, 1, True),
        R.PARTY_GROUP_MEETING: (1, 1, True),
        R.THEME_PARTY_DAY_ON_FIXED_DAY: (1, 1, True),
    }


def test_a_missed_party_class_in_a_quarter_is_unmet() -> None:
    acts = [held("party_members_meeting", date(2026, 5, 8), quorum=True)]
    got = by_rule(evaluate_period("2026-Q2", ALWAYS, acts, TZ))
    assert got == {R.PARTY_MEMBERS_MEETING: (1, 1, True), R.PARTY_CLASS: (1, 0, False)}


def test_a_party_class_in_another_quarter_does_not_count() -> None:
    acts = [held("party_class", date(2026, 3, 31)), held("party_class", date(2026, 7, 1))]
    assert by_rule(evaluate_period("2026-Q2", ALWAYS, acts, TZ))[R.PARTY_CLASS] == (1, 0, False)


def test_a_party_members_meeting_without_quorum_does_not_count() -> None:
    acts = [held("party_members_meeting", date(2026, 5, 8), quorum=False)]
    assert by_rule(evaluate_period("2026-Q2", ALWAYS, acts, TZ))[R.PARTY_MEMBERS_MEETING] == (1, 0, False)
    lenient = OrgLifeRequirements(meeting_needs_quorum=False)
    assert by_rule(evaluate_period("2026-Q2", ALWAYS, acts, TZ, lenient))[R.PARTY_MEMBERS_MEETING] == (
        1,
        1,
        True,
    )


def test_the_yearly_rules_are_judged_on_the_year() -> None:
    acts = [held("organisational_life_meeting", date(2026, 12, 10))]
    got = by_rule(evaluate_period("2026", ALWAYS, acts, TZ))
    assert got == {R.ORGANISATIONAL_LIFE_MEETING: (1, 1, True), R.MEMBER_APPRAISAL: (1, 0, False)}


def test_requirements_are_configurable_per_zone_and_a_zero_rule_is_not_evaluated() -> None:
    req = OrgLifeRequirements().with_overrides(branch_committee_meeting=2, party_group_meeting=0)
    acts = [held("branch_committee_meeting", date(2026, 4, 3)), held("theme_party_day", date(2026, 4, 9))]
    got = by_rule(evaluate_period("2026-04", ALWAYS, acts, TZ, req))
    assert got == {R.BRANCH_COMMITTEE_MEETING: (2, 1, False), R.THEME_PARTY_DAY_ON_FIXED_DAY: (1, 1, True)}
    with pytest.raises(TypeError):
        OrgLifeRequirements().with_overrides(party_dinner=1)


def test_the_theme_party_day_counts_on_the_zones_fixed_day_only() -> None:
    req = OrgLifeRequirements(theme_party_day=15)
    on_day = [held("theme_party_day", date(2026, 4, 15))]
    late = [held("theme_party_day", date(2026, 4, 16))]
    assert by_rule(evaluate_period("2026-04", ALWAYS, on_day, TZ, req))[R.THEME_PARTY_DAY_ON_FIXED_DAY][2]
    assert by_rule(evaluate_period("2026-04", ALWAYS, late, TZ, req))[R.THEME_PARTY_DAY_ON_FIXED_DAY] == (
        1,
        0,
        False,
    )
    postponed = OrgLifeRequirements(theme_party_day=15, theme_day_tolerance_days=2)
    assert by_rule(evaluate_period("2026-04", ALWAYS, late, TZ, postponed))[R.THEME_PARTY_DAY_ON_FIXED_DAY][2]


def test_a_fixed_day_past_a_short_months_end_falls_on_its_last_day() -> None:
    req = OrgLifeRequirements(theme_party_day=31)
    acts = [held("theme_party_day", date(2026, 2, 28))]
    assert by_rule(evaluate_period("2026-02", ALWAYS, acts, TZ, req))[R.THEME_PARTY_DAY_ON_FIXED_DAY][2]


def test_a_zone_activated_after_its_fixed_day_may_hold_the_theme_day_on_any_active_day() -> None:
    req = OrgLifeRequirements(theme_party_day=15)
    from_20th = [(datetime(2026, 4, 20, 9, tzinfo=TZ), None)]
    acts = [held("theme_party_day", date(2026, 4, 24))]
    got = by_rule(evaluate_period("2026-04", from_20th, acts, TZ, req))
    assert got[R.THEME_PARTY_DAY_ON_FIXED_DAY] == (1, 1, True)
    assert got[R.BRANCH_COMMITTEE_MEETING] == (1, 0, False)  # still required: active on the 20th


def test_a_zone_not_active_in_the_period_is_not_evaluated() -> None:
    closed_in_march = [(datetime(2026, 1, 1, tzinfo=TZ), datetime(2026, 4, 1, tzinfo=TZ))]
    assert evaluate_period("2026-04", closed_in_march, [], TZ) == []
    assert evaluate_period("2026-Q2", closed_in_march, [], TZ) == []


def test_min_active_days_spares_a_zone_active_only_at_the_end_of_the_year() -> None:
    from_december = [(datetime(2026, 12, 22, tzinfo=TZ), None)]
    assert len(evaluate_period("2026", from_december, [], TZ)) == 2  # default: one day is enough
    assert evaluate_period("2026", from_december, [], TZ, OrgLifeRequirements(min_active_days=30)) == []


def test_a_running_period_is_cut_at_today() -> None:
    acts = [held("branch_committee_meeting", date(2026, 4, 28))]
    running = by_rule(evaluate_period("2026-04", ALWAYS, acts, TZ, until=date(2026, 4, 20)))
    assert running[R.BRANCH_COMMITTEE_MEETING] == (1, 0, False)


def test_period_ends_of_a_month_a_quarter_and_a_year() -> None:
    assert period_end("2026-04", TZ) == datetime(2026, 5, 1, tzinfo=TZ)
    assert period_end("2026-Q4", TZ) == datetime(2027, 1, 1, tzinfo=TZ)
    assert period_end("2026", TZ) == datetime(2027, 1, 1, tzinfo=TZ)


def test_a_clock_move_over_the_new_year_closes_the_month_quarter_and_year_once_each() -> None:
    grace = timedelta(hours=24)
    got = closed_periods(
        datetime(2026, 12, 31, 23, tzinfo=TZ), datetime(2027, 1, 2, 12, tzinfo=TZ), TZ, grace
    )
    assert got == [(Cadence.MONTHLY, "2026-12"), (Cadence.QUARTERLY, "2026-Q4"), (Cadence.YEARLY, "2026")]
    assert (
        closed_periods(datetime(2027, 1, 2, 12, tzinfo=TZ), datetime(2027, 1, 3, tzinfo=TZ), TZ, grace) == []
    )


# --------------------------------------------------------------------------- reminders

SECRETARY = Member.model_validate(
    {
        "member_id": "M-S",
        "name": "王书记",
        "home_branch": "第一采油厂机关党支部",
        "employer_unit_id": "U-PLANT-1",
        "employment": "staff",
        "zone_role": "secretary",
    }
)
WORKER = SECRETARY.model_copy(update={"member_id": "M-W", "name": "李师傅", "zone_role": "member"})


def running_april(today: date) -> list:
    return evaluate_period("2026-04", ALWAYS, [held("theme_party_day", date(2026, 4, 2))], TZ, until=today)


def test_reminders_fall_due_days_before_the_period_closes_naming_the_secretary() -> None:
    assert reminder_day("2026-04", ReminderDays()) == date(2026, 4, 25)
    assert reminders_due("Z-1", running_april(date(2026, 4, 24)), [SECRETARY], date(2026, 4, 24)) == []
    due = reminders_due("Z-1", running_april(date(2026, 4, 25)), [SECRETARY, WORKER], date(2026, 4, 25))
    assert [(r.rule, r.required, r.actual, r.days_left) for r in due] == [
        ("branch_committee_meeting", 1, 0, 5),
        ("party_group_meeting", 1, 0, 5),
    ]
    r = due[0]
    assert r.secretary_member_ids == ("M-S",) and r.secretary_names == ("王书记",)
    assert r.reminder_id == "Z-1|2026-04|branch_committee_meeting"
    assert r.period_closes_on == date(2026, 4, 30) and "第十二条" in (r.article or "")


def test_the_last_day_still_reminds_and_a_met_rule_never_does() -> None:
    last = reminders_due("Z-1", running_april(date(2026, 4, 30)), [SECRETARY], date(2026, 4, 30))
    assert {r.days_left for r in last} == {0}
    assert "theme_party_day_on_fixed_day" not in {r.rule for r in last}
    assert reminders_due("Z-1", running_april(date(2026, 4, 30)), [SECRETARY], date(2026, 5, 1)) == []


def test_a_zone_without_secretary_still_gets_the_reminder_addressed_to_nobody() -> None:
    due = reminders_due("Z-1", running_april(date(2026, 4, 26)), [WORKER], date(2026, 4, 26))
    assert due and due[0].secretary_member_ids == () and due[0].secretary_names == ()


def test_reminder_days_are_configurable_per_cadence() -> None:
    days = ReminderDays(monthly=2, quarterly=10, yearly=30)
    assert reminder_day("2026-04", days) == date(2026, 4, 28)
    assert reminder_day("2026-Q2", days) == date(2026, 6, 20)
    assert reminder_day("2026", days) == date(2026, 12, 1)
    assert reminders_due("Z-1", running_april(date(2026, 4, 27)), [SECRETARY], date(2026, 4, 27), days) == []


def test_a_clock_move_names_each_period_whose_reminder_day_it_passes_once() -> None:
    days = ReminderDays()
    assert reminder_periods(date(2026, 4, 24), date(2026, 4, 25), days) == ["2026-04"]
    assert reminder_periods(date(2026, 4, 25), date(2026, 4, 26), days) == []
    assert reminder_periods(date(2026, 6, 1), date(2026, 6, 30), days) == ["2026-Q2", "2026-06"]
    assert reminder_periods(date(2026, 11, 30), date(2026, 12, 1), days) == ["2026"]
