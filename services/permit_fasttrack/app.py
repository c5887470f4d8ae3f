"""permit-fasttrack: the permit workflow that runs by itself (SPEC §3.3, GB 30871-2022)."""

from __future__ import annotations

from datetime import date, time, timedelta

from pydantic import Field, model_validator

from shared.events import Topic
from shared.probes import permits_waiting
from shared.service import ServiceDefinition
from shared.settings import ServiceSettings

from . import api, store
from .domain import GasLimits, Rules, laxer_than_standard
from .domain.rules import DEFAULT_HOLIDAYS
from .handlers import handlers


def _hhmm(value: str) -> time:
    try:
        return time.fromisoformat(value)
    except ValueError as e:
        raise ValueError(f"{value!r} is not a time of day HH:MM") from e


class Settings(ServiceSettings):
    """Limits of SPEC §3.3 and GB 30871-2022. Every number of the standard defaults to the
    standard's value; a laxer one is refused at start (a site may be stricter, never laxer)."""

    # SPEC §3.3
    work_permit_sla_hours: float = 4.0
    drawing_review_sla_hours: float = 48.0
    other_cap_hours: float = 24.0
    drawing_validity_days: float = 30.0
    gas_lel_max_pct: float = 10.0
    # GB 30871-2022
    gas_test_window_minutes: float = 30.0  # §5.3.1 c, §6.3 a: sample to work start
    pause_retest_high_minutes: float = 30.0  # §5.3.1 d (特级/一级 hot work)
    pause_retest_low_minutes: float = 60.0  # §5.3.1 d (二级), §6.3 f (confined space)
    monitoring_interval_hours: float = 2.0  # §6.5, §5.3.1 d
    hot_work_cap_hours: float = 8.0  # §5.1.5 特级/一级
    hot_work_second_cap_hours: float = 72.0  # §5.1.5 二级
    confined_space_cap_hours: float = 24.0  # §6.10
    height_cap_days: float = 7.0  # §8.2.11
    temporary_power_cap_days: float = 15.0  # §10.8
    temporary_power_extended_cap_days: float = 30.0  # §10.8
    gas_o2_min_pct: float = 19.5  # §6.4 a
    gas_o2_max_pct: float = 23.5  # SPEC, §5.2.7
    gas_o2_max_confined_pct: float = 21.0  # §6.4 a
    gas_o2_max_enriched_pct: float = 23.5  # §6.4 a
    gas_flammable_max_vol_pct: float = 0.5  # §5.3.2 a
    gas_flammable_max_vol_pct_low_lel: float = 0.2  # §5.3.2 b
    gas_lel_threshold_vol_pct: float = 4.0  # §5.3.2
    gas_default_lel_vol_pct: float = 5.0  # methane, when a test names no LEL
    gas_h2s_max_mg_m3: float = 10.0  # §6.4 b, GBZ 2.1
    gas_co_max_mg_m3: float = 30.0  # §6.4 b, GBZ 2.1
    hot_work_blind_plate_m: float = 30.0  # §7.6
    gas_discharge_m: float = 30.0  # §5.2.9
    liquid_discharge_m: float = 15.0  # §5.2.9
    solvent_m: float = 10.0  # §5.2.9
    wind_upgrade_force: int = 5  # §5.2.15
    height_bands_m: list[float] = Field(default_factory=lambda: [2.0, 5.0, 15.0, 30.0])  # §8.1.1
    lifting_first_t: float = 100.0  # §9.1
    lifting_second_t: float = 40.0  # §9.1
    lifting_permit_t: float = 10.0  # Appendix B note 3
    night_start: str = "22:00"  # §5.1.1 夜间
    night_end: str = "06:00"
    rest_weekdays: list[int] = Field(default_factory=lambda: [5, 6])  # §5.1.1 公休日 (Monday = 0)
    public_holidays: list[str] = Field(
        default_factory=lambda: sorted(d.isoformat() for d in DEFAULT_HOLIDAYS)
    )  # §5.1.1 节假日
    permit_retention_days: float = 365.0  # Appendix B.3
    # issue 15
    shift_changes: list[str] = Field(default_factory=lambda: ["08:00", "20:00"])
    handover_ack_minutes: float = 30.0
    # issue 13: sources whose commands carry no actor but are trusted systems, by name, are the
    # shared PBZ_TRUSTED_COMMAND_SOURCES (shared.settings), as for every service.

    def rules(self) -> Rules:
        return Rules(
            work_permit_sla=timedelta(hours=self.work_permit_sla_hours),
            drawing_review_sla=timedelta(hours=self.drawing_review_sla_hours),
            other_cap=timedelta(hours=self.other_cap_hours),
            drawing_validity=timedelta(days=self.drawing_validity_days),
            gas_test_window=timedelta(minutes=self.gas_test_window_minutes),
            pause_retest_high=timedelta(minutes=self.pause_retest_high_minutes),
            pause_retest_low=timedelta(minutes=self.pause_retest_low_minutes),
            monitoring_interval=timedelta(hours=self.monitoring_interval_hours),
            hot_work_cap=timedelta(hours=self.hot_work_cap_hours),
            hot_work_second_cap=timedelta(hours=self.hot_work_second_cap_hours),
            confined_space_cap=timedelta(hours=self.confined_space_cap_hours),
            height_cap=timedelta(days=self.height_cap_days),
            temporary_power_cap=timedelta(days=self.temporary_power_cap_days),
            temporary_power_extended_cap=timedelta(days=self.temporary_power_extended_cap_days),
            hot_work_blind_plate_m=self.hot_work_blind_plate_m,
            gas_discharge_m=self.gas_discharge_m,
            liquid_discharge_m=self.liquid_discharge_m,
            solvent_m=self.solvent_m,
            wind_upgrade_force=self.wind_upgrade_force,
            height_bands_m=tuple(self.height_bands_m),  # type: ignore[arg-type]
            lifting_first_t=self.lifting_first_t,
            lifting_second_t=self.lifting_second_t,
            lifting_permit_t=self.lifting_permit_t,
            night_start=_hhmm(self.night_start),
            night_end=_hhmm(self.night_end),
            rest_weekdays=frozenset(self.rest_weekdays),
            public_holidays=frozenset(date.fromisoformat(d) for d in self.public_holidays),
            shift_changes=tuple(_hhmm(t) for t in self.shift_changes),
            handover_ack=timedelta(minutes=self.handover_ack_minutes),
            retention=timedelta(days=self.permit_retention_days),
            timezone=self.timezone,
            gas=GasLimits(
                o2_min=self.gas_o2_min_pct,
                o2_max=self.gas_o2_max_pct,
                o2_max_confined=self.gas_o2_max_confined_pct,
                o2_max_enriched=self.gas_o2_max_enriched_pct,
                lel_max=self.gas_lel_max_pct,
                flammable_max_high_lel=self.gas_flammable_max_vol_pct,
                flammable_max_low_lel=self.gas_flammable_max_vol_pct_low_lel,
                lel_threshold=self.gas_lel_threshold_vol_pct,
                default_lel=self.gas_default_lel_vol_pct,
                h2s_max=self.gas_h2s_max_mg_m3,
                co_max=self.gas_co_max_mg_m3,
            ),
        )

    @model_validator(mode="after")
    def _never_laxer_than_the_standard(self) -> Settings:
        if len(self.height_bands_m) != 4:
            raise ValueError(
                "height_bands_m needs four heights in metres (GB 30871-2022 §8.1.1: 2, 5, 15, 30)"
            )
        try:
            rules = self.rules()
        except ValueError as e:
            raise ValueError(f"permit settings unreadable: {e}") from e
        laxer = laxer_than_standard(rules)
        if laxer:
            raise ValueError(
                "refused: a site may be stricter than GB 30871-2022, never laxer — " + "; ".join(laxer)
            )
        return self


definition = ServiceDefinition(
    name="permit_fasttrack",
    title="permit-fasttrack",
    port=8003,
    description="Permits requested, routed, checked and issued by themselves from the enterprise's own events, "
    "to GB 30871-2022.",
    consumes=[
        Topic.PROJECTS,
        Topic.SAFETY,
        Topic.ZONE_EVENTS,
        Topic.ACTIVITY_EVENTS,
        Topic.PERMIT_COMMANDS,
        Topic.PERMIT_WORK,
        Topic.CLOCK,
    ],
    emits=[Topic.PERMIT_EVENTS],
    handlers=handlers,
    work_topic=Topic.PERMIT_WORK,
    indexes=store.INDEXES,
    routers=[api.router],
    settings_cls=Settings,
    # pbz_permits_waiting{status}: the dashboard's permits waiting, sampled with the lag.
    probes=[permits_waiting],
)
