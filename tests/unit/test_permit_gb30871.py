"""GB 30871-2022's numbers, one table per rule, against the standard's values: classes (§4.6),
grades (§5.1, §8.1.1, §9.1, Appendix B note 3), the grade upgrade (§5.1.1, §5.2.15), approvers
(Table B.1), validity caps (§5.1.5, §6.10, §8.2.11, §10.8), gas analysis (§5.3, §6.3–6.5),
monitoring and pause re-test limits, and the conflict matrix (§5.2.9, §6.7, §7.6, §7.10)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest

from services.permit_fasttrack.domain import Placed, classes_of, conflicts
from services.permit_fasttrack.domain import classes as C
from services.permit_fasttrack.domain.gas import failures, sample_counts
from tests.unit.permit_fixtures import TZ, R, at, plan, reading

# --------------------------------------------------------------------------- classes (§4.6)


@pytest.mark.parametrize(
    ("risks", "extra", "expected"),
    [
        (["hot_work", "work_at_height"], {}, ["hot_work", "work_at_height"]),
        (
            ["work_at_height", "hot_work", "confined_space"],
            {},
            ["hot_work", "confined_space", "work_at_height"],
        ),
        (["temp_electricity", "road_breaking"], {}, ["temporary_power", "road_closure"]),
        (["blind_plate", "excavation", "lifting"], {"load_t": 12}, ["blind_plate", "lifting", "excavation"]),
        (["work_at_height"], {"height_m": 1.9}, ["general"]),  # §3.8: below 2 m is not work at height
        (["work_at_height"], {"height_m": 2.0}, ["work_at_height"]),
        (["lifting"], {"load_t": 9.9}, ["general"]),  # Appendix B note 3: no lifting permit under 10 t
        (["lifting", "hot_work"], {"load_t": 5}, ["hot_work"]),
        ([], {}, ["general"]),
    ],
)
def test_one_permit_per_special_work(risks: list[str], extra: dict[str, Any], expected: list[str]) -> None:
    assert [str(c) for c in classes_of(plan(risks, **extra), R)] == expected


def test_permit_ids_name_the_work_and_the_class() -> None:
    assert C.permit_id_for("W7", "hot_work") == "WP-W7-HW"
    assert len(set(C.all_permit_ids("W7"))) == 9


# --------------------------------------------------------------------------- grades


TUESDAY = (at(9), at(17))


@pytest.mark.parametrize(
    ("extra", "window", "grade", "basis"),
    [
        ({}, TUESDAY, "second", ["elsewhere"]),
        ({"hot_work_grade": "first"}, TUESDAY, "first", ["planned"]),
        (
            {"location": {"fire_explosion_area": True, "running_equipment": True}},
            TUESDAY,
            "special",
            ["running_equipment_in_hazard_area"],
        ),  # §5.1.2
        ({"location": {"tank_farm_dike": True}}, TUESDAY, "special", ["running_equipment_in_hazard_area"]),
        (
            {"location": {"fire_explosion_area": True}},
            TUESDAY,
            "first",
            ["hazard_area_or_pipe_rack"],
        ),  # §5.1.3
        ({"location": {"pipe_rack": True}}, TUESDAY, "first", ["hazard_area_or_pipe_rack"]),
        ({}, (at(18), at(22)), "second", ["elsewhere"]),  # ends as the night starts
        ({}, (at(18), at(22, 1)), "first", ["elsewhere", "night"]),  # §5.1.1 夜间 22:00–06:00
        ({}, (at(5, 30), at(9)), "first", ["elsewhere", "night"]),
        ({}, (at(9, days=4), at(17, days=4)), "first", ["elsewhere", "rest_day"]),  # Saturday 04-11
        (
            {},
            (at(9, days=-1), at(17, days=-1)),
            "first",
            ["elsewhere", "public_holiday"],
        ),  # Monday 04-06, 清明
        ({"wind_force": 5}, TUESDAY, "first", ["elsewhere", "wind"]),  # §5.2.15
        ({"wind_force": 4}, TUESDAY, "second", ["elsewhere"]),
        ({"wind_force": 6, "location": {"outdoor": False}}, TUESDAY, "second", ["elsewhere"]),
        (
            {"hot_work_grade": "first", "wind_force": 6},
            (at(23), at(23, 30)),
            "special",
            ["planned", "night", "wind"],
        ),
        ({"hot_work_grade": "special", "wind_force": 6}, TUESDAY, "special", ["planned", "wind"]),
    ],
)
def test_hot_work_grade_and_its_upgrade(
    extra: dict[str, Any], window: tuple[datetime, datetime], grade: str, basis: list[str]
) -> None:
    g, why = C.hot_work_grade(plan(["hot_work"], start=window[0], end=window[1], **extra), R, TZ)
    assert (g, why) == (grade, basis)


@pytest.mark.parametrize(
    ("height", "grade"),
    [(2, "I"), (5, "I"), (5.01, "II"), (15, "II"), (15.5, "III"), (30, "III"), (30.1, "IV"), (None, "I")],
)
def test_work_at_height_grade(height: float | None, grade: str) -> None:
    assert C.height_grade(height, R)[0] == grade  # §8.1.1


@pytest.mark.parametrize(
    ("load", "grade"),
    [(10, "third"), (39.9, "third"), (40, "second"), (100, "second"), (100.1, "first"), (None, "third")],
)
def test_lifting_grade(load: float | None, grade: str) -> None:
    assert C.lifting_grade(load, R)[0] == grade  # §9.1


# --------------------------------------------------------------------------- approvers (Table B.1)


@pytest.mark.parametrize(
    ("cls", "grade", "approver"),
    [
        ("hot_work", "special", "enterprise_leader"),
        ("hot_work", "first", "safety_department"),
        ("hot_work", "second", "host_rep"),
        ("confined_space", None, "host_rep"),
        ("blind_plate", None, "host_rep"),
        ("work_at_height", "I", "host_rep"),
        ("work_at_height", "II", "professional_department"),
        ("work_at_height", "III", "professional_department"),
        ("work_at_height", "IV", "plant_manager"),
        ("lifting", "first", "plant_manager"),
        ("lifting", "second", "professional_department"),
        ("lifting", "third", "professional_department"),
        ("temporary_power", None, "power_supply_unit"),
        ("excavation", None, "professional_department"),
        ("road_closure", None, "professional_department"),
        ("general", None, None),
    ],
)
def test_table_b1_approvers(cls: str, grade: str | None, approver: str | None) -> None:
    assert C.approver_role(cls, grade) == approver
    roles = C.required_roles("work_permit", cls, grade)
    assert roles[:3] == ["host_rep", "construction_lead", "supervision_engineer"]
    if approver is not None:
        assert approver in roles


# --------------------------------------------------------------------------- validity caps


@pytest.mark.parametrize(
    ("cls", "grade", "extended", "served", "cap"),
    [
        ("hot_work", "special", False, (), timedelta(hours=8)),  # §5.1.5
        ("hot_work", "first", False, (), timedelta(hours=8)),
        ("hot_work", "second", False, (), timedelta(hours=72)),
        ("confined_space", None, False, (), timedelta(hours=24)),  # §6.10
        ("work_at_height", "IV", False, (), timedelta(days=7)),  # §8.2.11
        ("temporary_power", None, False, (), timedelta(days=15)),  # §10.8
        ("temporary_power", None, True, (), timedelta(days=30)),
        (
            "temporary_power",
            None,
            True,
            (("hot_work", "first"),),
            timedelta(hours=8),
        ),  # no longer than its hot work
        ("temporary_power", None, False, (("confined_space", None),), timedelta(hours=24)),
        (
            "lifting",
            "first",
            False,
            (),
            timedelta(hours=24),
        ),  # SPEC for the classes the standard does not cap
        ("general", None, False, (), timedelta(hours=24)),
    ],
)
def test_validity_caps(
    cls: str, grade: str | None, extended: bool, served: tuple[tuple[str, str | None], ...], cap: timedelta
) -> None:
    assert C.validity_cap(cls, grade, R, extended, served) == cap


# --------------------------------------------------------------------------- gas analysis


@pytest.mark.parametrize(
    ("cls", "values", "failed"),
    [
        ("hot_work", {"flammable_vol_pct": 0.5, "lel_vol_pct": 5.0}, []),  # §5.3.2 a: LEL ≥ 4 %, ≤ 0.5 % vol
        ("hot_work", {"flammable_vol_pct": 0.51, "lel_vol_pct": 5.0}, ["flammable_vol_pct"]),
        (
            "hot_work",
            {"flammable_vol_pct": 0.2, "lel_vol_pct": 2.1, "gas": "propane"},
            [],
        ),  # §5.3.2 b: ≤ 0.2 % vol
        (
            "hot_work",
            {"flammable_vol_pct": 0.21, "lel_vol_pct": 2.1, "gas": "propane"},
            ["flammable_vol_pct"],
        ),
        ("hot_work", {"flammable_vol_pct": 0.3, "lel_vol_pct": 4.0, "gas": "hydrogen"}, []),
        ("hot_work", {"lel_pct": 9.9}, []),  # methane: 0.495 % vol, and the SPEC's < 10 %LEL
        ("hot_work", {"lel_pct": 10.0}, ["lel_pct"]),
        (
            "hot_work",
            {"lel_pct": 9.0, "lel_vol_pct": 2.0},
            [],
        ),  # 0.18 % vol where the LEL < 4 %, and < 10 %LEL
        ("hot_work", {"lel_pct": 9.0, "lel_vol_pct": 3.0}, ["lel_pct"]),  # 0.27 % vol > 0.2 (§5.3.2 b)
        ("confined_space", {"o2_pct": 21.0}, []),  # §6.4 a: 19.5–21 % vol
        ("confined_space", {"o2_pct": 21.1}, ["o2_pct"]),
        ("confined_space", {"o2_pct": 23.5, "oxygen_enriched": True}, []),
        ("confined_space", {"o2_pct": 23.6, "oxygen_enriched": True}, ["o2_pct"]),
        ("hot_work", {"o2_pct": 23.5}, []),  # §5.2.7, SPEC
        ("confined_space", {"o2_pct": 19.4}, ["o2_pct"]),
        ("confined_space", {"h2s_mg_m3": 10.1}, ["h2s_mg_m3"]),  # §6.4 b, GBZ 2.1
        ("confined_space", {"co_mg_m3": 30.1}, ["co_mg_m3"]),
    ],
)
def test_gas_pass_criteria(cls: str, values: dict[str, Any], failed: list[str]) -> None:
    r = reading(at(8), **({"lel_pct": None} if "flammable_vol_pct" in values else {}), **values)
    assert [f["reading"] for f in failures(r, cls, R.gas)] == failed


@pytest.mark.parametrize(
    ("tested", "starts", "check", "counts"),
    [
        (at(8, 30), at(9), at(8, 40), True),
        (at(8, 29), at(9), at(8, 40), False),  # §5.3.1 c
        (at(6, 20), at(14), at(6, 30), False),
        (at(8, 45), at(9), at(8, 40), False),
    ],
)
def test_the_sample_at_most_thirty_minutes_before_the_work_starts(
    tested: datetime, starts: datetime, check: datetime, counts: bool
) -> None:
    assert sample_counts(reading(tested), starts, check, R.gas_test_window) is counts


@pytest.mark.parametrize(
    ("cls", "grade", "monitored", "pause"),
    [
        ("hot_work", "special", True, timedelta(minutes=30)),
        ("hot_work", "first", False, timedelta(minutes=30)),
        ("hot_work", "second", False, timedelta(minutes=60)),
        ("confined_space", None, True, timedelta(minutes=60)),
        ("work_at_height", "II", False, None),
        ("lifting", "first", False, None),
    ],
)
def test_monitoring_and_pause_retest(
    cls: str, grade: str | None, monitored: bool, pause: timedelta | None
) -> None:
    assert C.monitored(cls, grade) is monitored  # §5.3.1 d, §6.5
    assert C.pause_retest_limit(cls, grade, R) == pause  # §5.3.1 d, §6.3 f
    assert R.monitoring_interval == timedelta(hours=2)


@pytest.mark.parametrize(
    ("cls", "hazard_area", "needs"),
    [
        ("hot_work", False, True),
        ("confined_space", False, True),
        ("temporary_power", True, True),  # §10.1
        ("temporary_power", False, False),
        ("lifting", True, False),
    ],
)
def test_which_work_needs_a_gas_analysis(cls: str, hazard_area: bool, needs: bool) -> None:
    assert C.needs_gas(cls, hazard_area) is needs


# --------------------------------------------------------------------------- the conflict matrix


def pl(
    pid: str,
    cls: str,
    x: float | None = None,
    y: float | None = 0.0,
    area: str = "A",
    pipeline: str | None = None,
    side: tuple[str, ...] = (),
    work: str | None = None,
) -> Placed:
    return Placed(
        permit_id=pid,
        work_id=work or pid,
        work_class=cls,
        area=area,
        x_m=x,
        y_m=y if x is not None else None,
        pipeline_id=pipeline,
        side_activities=side,
        valid_from=at(9),
        valid_until=at(17),
    )


@pytest.mark.parametrize(
    ("me", "other", "rules"),
    [
        (
            pl("HW", "hot_work", 0),
            pl("BP", "blind_plate", 20),
            ["hot_work_near_blind_plate"],
        ),  # §7.6: within 30 m
        (pl("HW", "hot_work", 0), pl("BP", "blind_plate", 30), ["hot_work_near_blind_plate"]),
        (pl("HW", "hot_work", 0), pl("BP", "blind_plate", 40), []),
        (
            pl("HW", "hot_work", 0),
            pl("X", "excavation", 29, side=("flammable_gas_discharge",)),
            ["gas_discharge_near_hot_work"],
        ),  # §5.2.9
        (pl("HW", "hot_work", 0), pl("X", "excavation", 31, side=("flammable_gas_discharge",)), []),
        (
            pl("HW", "hot_work", 0),
            pl("X", "excavation", 14, side=("flammable_liquid_discharge",)),
            ["liquid_discharge_near_hot_work"],
        ),
        (pl("HW", "hot_work", 0), pl("X", "excavation", 16, side=("flammable_liquid_discharge",)), []),
        (
            pl("HW", "hot_work", 0),
            pl("X", "work_at_height", 9, side=("painting",)),
            ["solvent_near_hot_work"],
        ),
        (pl("HW", "hot_work", 0), pl("X", "work_at_height", 11, side=("solvent_cleaning",)), []),
        (pl("HW", "hot_work", 0), pl("X", "lifting", 5), []),  # coordinates: the matrix, not the area rule
        (
            pl("BP1", "blind_plate", pipeline="PL-1"),
            pl("BP2", "blind_plate", area="B", pipeline="PL-1"),
            ["blind_plates_on_one_pipeline"],
        ),  # §7.10
        (pl("BP1", "blind_plate", pipeline="PL-1"), pl("BP2", "blind_plate", area="B", pipeline="PL-2"), []),
        (
            pl("CS", "confined_space", side=("painting",)),
            pl("HW", "hot_work"),
            ["coating_in_confined_space_with_hot_work", "same_area_hot_work"],
        ),  # §6.7, and SPEC's area rule
        (
            pl("CS", "confined_space", side=("painting",), work="W"),
            pl("HW", "hot_work", work="W"),
            ["coating_in_confined_space_with_hot_work"],
        ),  # forbidden within one job too
        (pl("HW", "hot_work"), pl("LF", "lifting"), ["same_area_hot_work"]),  # SPEC, without coordinates
        (pl("HW", "hot_work"), pl("LF", "lifting", area="B"), []),
        (pl("HW", "hot_work", work="W"), pl("WH", "work_at_height", work="W"), []),  # one job's own permits
    ],
)
def test_conflict_matrix(me: Placed, other: Placed, rules: list[str]) -> None:
    found = conflicts(me, [other], R)
    assert [f["rule"] for f in found] == rules
    assert all(f["permit_id"] == other.permit_id for f in found)


def test_a_conflict_needs_overlapping_windows() -> None:
    later = Placed(**{**pl("BP", "blind_plate", 20).__dict__, "valid_from": at(17), "valid_until": at(20)})
    assert conflicts(pl("HW", "hot_work", 0), [later], R) == []
    assert conflicts(pl("HW", "hot_work", 0), [pl("BP", "blind_plate", 20)], R)[0]["distance_m"] == 20.0


def test_the_built_in_holidays_include_qingming_2026() -> None:
    assert date(2026, 4, 6) in R.public_holidays and date(2026, 4, 7) not in R.public_holidays
