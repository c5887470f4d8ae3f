"""Every number of GB 30871-2022 is a setting with the standard's value as default; a site may be
stricter, a laxer value is refused at start with the clause it would break."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from services.permit_fasttrack.app import Settings
from services.permit_fasttrack.domain import STANDARD, laxer_than_standard


def test_the_defaults_are_the_standard() -> None:
    rules = Settings().rules()
    assert rules == STANDARD and laxer_than_standard(rules) == []


@pytest.mark.parametrize(
    ("setting", "value", "clause"),
    [
        ("gas_test_window_minutes", 31, "§5.3.1 c"),
        ("pause_retest_high_minutes", 45, "§5.3.1 d"),
        ("pause_retest_low_minutes", 61, "§6.3 f"),
        ("monitoring_interval_hours", 3, "§6.5"),
        ("hot_work_cap_hours", 9, "§5.1.5"),
        ("hot_work_second_cap_hours", 96, "§5.1.5"),
        ("confined_space_cap_hours", 25, "§6.10"),
        ("height_cap_days", 8, "§8.2.11"),
        ("temporary_power_cap_days", 16, "§10.8"),
        ("temporary_power_extended_cap_days", 31, "§10.8"),
        ("hot_work_blind_plate_m", 25, "§7.6"),
        ("gas_discharge_m", 20, "§5.2.9"),
        ("liquid_discharge_m", 10, "§5.2.9"),
        ("solvent_m", 5, "§5.2.9"),
        ("wind_upgrade_force", 6, "§5.2.15"),
        ("lifting_first_t", 120, "§9.1"),
        ("lifting_second_t", 50, "§9.1"),
        ("lifting_permit_t", 12, "Appendix B note 3"),
        ("permit_retention_days", 180, "Appendix B.3"),
        ("gas_o2_min_pct", 19.0, "§6.4 a"),
        ("gas_o2_max_confined_pct", 22, "§6.4 a"),
        ("gas_o2_max_enriched_pct", 24, "§6.4 a"),
        ("gas_o2_max_pct", 24, "§5.2.7"),
        ("gas_flammable_max_vol_pct", 0.6, "§5.3.2 a"),
        ("gas_flammable_max_vol_pct_low_lel", 0.3, "§5.3.2 b"),
        ("gas_lel_threshold_vol_pct", 3, "§5.3.2"),
        ("gas_h2s_max_mg_m3", 15, "§6.4 b"),
        ("gas_co_max_mg_m3", 40, "§6.4 b"),
        ("height_bands_m", [2.5, 5, 15, 30], "§8.1.1"),
        ("night_start", "23:00", "§5.1.1"),
        ("night_end", "05:00", "§5.1.1"),
        ("rest_weekdays", [6], "§5.1.1"),
        ("public_holidays", ["2026-01-01"], "§5.1.1"),
    ],
)
def test_a_laxer_setting_is_refused_at_start_naming_the_clause(setting: str, value: Any, clause: str) -> None:
    with pytest.raises(ValidationError) as err:
        Settings(**{setting: value})
    text = str(err.value)
    assert "never laxer" in text and clause in text, text


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("gas_test_window_minutes", 20),
        ("hot_work_cap_hours", 4),
        ("confined_space_cap_hours", 8),
        ("hot_work_blind_plate_m", 50),
        ("wind_upgrade_force", 4),
        ("permit_retention_days", 3650),
        ("night_start", "18:00"),
        ("night_end", "08:00"),
        ("rest_weekdays", [4, 5, 6]),
        ("gas_o2_max_confined_pct", 20.9),
        ("public_holidays", [*Settings().public_holidays, "2026-12-31"]),
        ("public_holidays", ["2027-01-01"]),  # another year's calendar: the site's own list
    ],
)
def test_a_stricter_setting_is_accepted(setting: str, value: Any) -> None:
    Settings(**{setting: value})


def test_an_unreadable_time_is_refused_clearly() -> None:
    with pytest.raises(ValidationError, match="HH:MM"):
        Settings(night_start="late")
    with pytest.raises(ValidationError, match="four heights"):
        Settings(height_bands_m=[2, 5])
