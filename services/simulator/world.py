"""The simulated oilfield: host units, contractors, supervisors, subcontractors, the
management party, key and non-key projects, and the people who will sit on each zone's
roster. Pure and seeded: the same seed gives the same world.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

CN_NUM = "一二三四五六七八九十"


def cn(n: int) -> str:
    """1..99 in Chinese numerals, for readable unit names (采油十二厂)."""
    if n <= 10:
        return CN_NUM[n - 1]
    tens, ones = divmod(n, 10)
    return (CN_NUM[tens - 1] if tens > 1 else "") + "十" + (CN_NUM[ones - 1] if ones else "")


@dataclass(frozen=True)
class Unit:
    unit_id: str
    name: str
    role: str

    def as_event(self, role: str | None = None) -> dict[str, str]:
        return {"unit_id": self.unit_id, "name": self.name, "role": role or self.role}


@dataclass(frozen=True)
class Person:
    member_id: str
    name: str
    home_branch: str
    employer_unit_id: str
    employment: str
    zone_role: str
    phone: str

    @property
    def floating(self) -> bool:
        return self.employment != "staff"


@dataclass(frozen=True)
class Approver:
    """An entry of the enterprise's authorization register (GB 30871-2022 Table B.1)."""

    member_id: str
    name: str
    unit_id: str
    roles: tuple[str, ...]
    certificate_expires: date

    def as_event(self, at: datetime) -> dict[str, object]:
        return {
            "member_id": self.member_id,
            "name": self.name,
            "unit_id": self.unit_id,
            "roles": list(self.roles),
            "certificates": [
                {
                    "certificate_id": f"CERT-{self.member_id}",
                    "kind": "special_operation",
                    "expires_on": self.certificate_expires.isoformat(),
                }
            ],
            "registered_at": at.isoformat(),
        }


@dataclass
class Project:
    project_id: str
    name: str
    category: str
    scale: str
    key_project: bool
    region: str
    host: Unit
    units: list[Unit]
    planned_start: date
    planned_end: date


@dataclass
class PlannedZone:
    """A zone as the simulator expects the zone-registry to form it from the projects."""

    key: str  # the simulator's own name for it; the service assigns the zone id
    mode: str
    host: Unit
    region: str
    projects: list[Project]
    construction: Unit
    supervision: Unit
    management: Unit
    subcontractors: list[Unit]
    people: list[Person] = field(default_factory=list)
    # Deliberate imperfections, the ground truth the report checks against.
    miss_weekly_week: tuple[int, int] | None = None
    miss_theme_day: bool = False
    minor_incident: bool = False
    near_miss: bool = False
    sunday_work: bool = False
    simops_pair: bool = False
    quality_slip: bool = False
    late_milestone: bool = False
    rejected_permit: bool = False
    missing_management_evaluation: bool = False
    supervision_joins_late: bool = False  # registered without supervision: proposed, then activated

    @property
    def project_ids(self) -> list[str]:
        return [p.project_id for p in self.projects]

    @property
    def troubled(self) -> bool:
        """Worse than a perfect record on at least one indicator, by design."""
        return any(
            (
                self.miss_weekly_week is not None,
                self.miss_theme_day,
                self.minor_incident,
                self.sunday_work,
                self.quality_slip,
                self.late_milestone,
                self.rejected_permit,
                self.supervision_joins_late,
                self.simops_pair,
            )
        )

    @property
    def perfect(self) -> bool:
        return not self.troubled and not self.near_miss and not self.missing_management_evaluation

    def holders(self, zone_role: str) -> list[Person]:
        return [p for p in self.people if p.zone_role == zone_role]

    @property
    def guardians(self) -> list[Person]:
        """The crew's two guardians (监护人): construction-unit members on the roster."""
        return [
            p
            for p in self.people
            if p.zone_role == "member" and p.employer_unit_id == self.construction.unit_id
        ][:2]

    @property
    def shift_leader(self) -> Person:
        """The host unit's operator on shift who checks the ticket: the host unit's first roster member."""
        return next(p for p in self.people if p.employer_unit_id == self.host.unit_id)


@dataclass
class World:
    seed: int
    host_units: list[Unit]
    construction: list[Unit]
    supervision: list[Unit]
    subcontractors: list[Unit]
    management: list[Unit]
    zones: list[PlannedZone]
    non_key_projects: list[Project]
    register: list[Approver] = field(default_factory=list)
    # The old route's twin zones (``twin.py``): signing sequential, their own people.
    twins: list[PlannedZone] = field(default_factory=list)

    @property
    def units(self) -> list[Unit]:
        return [
            *self.host_units,
            *self.construction,
            *self.supervision,
            *self.subcontractors,
            *self.management,
        ]

    @property
    def key_projects(self) -> list[Project]:
        return [p for z in self.zones for p in z.projects]

    @property
    def projects(self) -> list[Project]:
        return [*self.key_projects, *self.non_key_projects]

    def zone_of_project(self, project_id: str) -> PlannedZone | None:
        return next((z for z in [*self.zones, *self.twins] if project_id in z.project_ids), None)

    @property
    def people(self) -> list[Person]:
        """Everyone on a roster, the twins' people included (the realm holds them all)."""
        return [p for z in [*self.zones, *self.twins] for p in z.people]

    def approver(self, role: str, host_unit_id: str, today: date) -> Approver | None:
        """The register's valid holder of an approver role for a host unit's work."""
        for a in self.register:
            unit_ok = a.unit_id == host_unit_id or role in ("enterprise_leader", "safety_department")
            if role in a.roles and unit_ok and a.certificate_expires >= today:
                return a
        return None

    def expired_approver(self, role: str, host_unit_id: str, today: date) -> Approver | None:
        return next(
            (
                a
                for a in self.register
                if role in a.roles and a.unit_id == host_unit_id and a.certificate_expires < today
            ),
            None,
        )


SURNAMES = "王李张刘陈杨黄赵周吴徐孙马朱胡郭何林罗高"
GIVEN = [
    "建国",
    "志强",
    "海涛",
    "永红",
    "伟",
    "磊",
    "军",
    "勇",
    "洋",
    "刚",
    "明",
    "超",
    "强",
    "平",
    "杰",
    "峰",
    "涛",
    "斌",
    "鹏",
    "辉",
]
HOMETOWNS = ["四川省达州市", "河南省周口市", "甘肃省天水市", "陕西省榆林市", "黑龙江省大庆市", "山东省东营市"]


def build_world(
    seed: int = 7,
    zones: int = 23,
    host_units: int = 14,
    units: int = 72,
    non_key: int = 4,
    start: date = date(2026, 4, 1),
) -> World:
    from .twin import build_twins  # the twin reads the world's zones

    rng = random.Random(seed)
    hosts = [Unit(f"H{i:02d}", f"采油{cn(i)}厂", "host") for i in range(1, host_units + 1)]
    management = [
        Unit("M01", "基建工程管理中心", "management"),
        Unit("M02", "油田建设工程管理部", "management"),
    ]
    rest = max(units - len(hosts) - len(management), 12)
    n_con = max(3, rest * 2 // 9)
    n_sup = max(2, rest // 9)
    n_sub = max(2, rest - n_con - n_sup)
    construction = [Unit(f"C{i:02d}", f"油建{cn(i)}公司", "construction") for i in range(1, n_con + 1)]
    supervision = [Unit(f"S{i:02d}", f"工程监理{cn(i)}公司", "supervision") for i in range(1, n_sup + 1)]
    subcontractors = [Unit(f"B{i:02d}", f"劳务分包{cn(i)}队", "subcontractor") for i in range(1, n_sub + 1)]
    contractors = (construction, supervision, subcontractors)

    n_cobuild = max(1, round(zones * 0.57))
    n_alliance = max(1, zones - n_cobuild) if zones > 1 else 0
    planned = _cobuild_zones(n_cobuild, hosts, contractors, management[0], rng, start)
    planned += _alliance_zones(n_alliance, n_cobuild, hosts, contractors, management[1], rng, start)
    non_key_projects = _non_key_projects(non_key, hosts, construction, rng, start)
    member_seq = iter(range(1, 100_000))
    for z in planned:
        z.people = _people_for(z, rng, member_seq)
    _mark_imperfections(planned, rng)
    world = World(
        seed,
        hosts,
        construction,
        supervision,
        subcontractors,
        management,
        planned,
        non_key_projects,
        register=build_register(hosts, management, rng, start),
    )
    world.twins = build_twins(world, next(member_seq))
    return world


def _people_for(z: PlannedZone, rng: random.Random, member_seq: Iterator[int]) -> list[Person]:
    def person(unit: Unit, role: str, employment: str = "staff") -> Person:
        n = next(member_seq)
        name = rng.choice(SURNAMES) + rng.choice(GIVEN)
        home = f"{unit.name}党支部" if employment == "staff" else f"{rng.choice(HOMETOWNS)}某村党支部"
        return Person(f"MB{n:04d}", name, home, unit.unit_id, employment, role, f"139{n:08d}")

    roster = [
        person(z.host, "secretary"),
        person(z.host, "host_rep"),
        person(z.construction, "construction_lead", rng.choice(["staff", "staff", "dispatched"])),
        person(z.supervision, "supervision_engineer"),
        person(z.management, "management_safety"),
        # the crew's guardians (监护人, GB 30871-2022 §4.10)
        person(z.construction, "member", rng.choice(["staff", "dispatched"])),
        person(z.construction, "member", rng.choice(["staff", "migrant_worker"])),
    ]
    for _ in range(rng.randint(4, 8)):
        employer = rng.choice([z.host, z.construction, z.construction, *z.subcontractors])
        employment = (
            rng.choice(["migrant_worker", "external_hire"])
            if employer.role == "subcontractor"
            else rng.choice(["staff", "staff", "dispatched", "migrant_worker"])
        )
        roster.append(person(employer, "member", employment))
    return roster


Contractors = tuple[list[Unit], list[Unit], list[Unit]]  # construction, supervision, subcontractors


def _cobuild_zones(
    n: int, hosts: list[Unit], contractors: Contractors, management: Unit, rng: random.Random, start: date
) -> list[PlannedZone]:
    construction, supervision, subcontractors = contractors
    end = start + timedelta(days=365)
    planned = []
    for i in range(n):
        host = hosts[i % len(hosts)]
        con = rng.choice(construction)
        sup = rng.choice(supervision)
        subs = rng.sample(subcontractors, k=min(2, len(subcontractors)))
        pid = f"P{i + 1:03d}"
        project = Project(
            pid,
            f"{host.name}{rng.choice(['联合站', '集输站', '注水站', '处理厂'])}{rng.choice(['新建', '扩建'])}工程",
            rng.choice(["new_build", "epc"]),
            "large",
            True,
            f"{host.name}作业区",
            host,
            [host, con, sup, management, *subs],
            start - timedelta(days=rng.randint(10, 90)),
            end,
        )
        planned.append(
            PlannedZone(
                f"cobuild-{pid}",
                "project_cobuild",
                host,
                project.region,
                [project],
                con,
                sup,
                management,
                subs,
            )
        )
    return planned


def _alliance_zones(
    n: int,
    after: int,
    hosts: list[Unit],
    contractors: Contractors,
    management: Unit,
    rng: random.Random,
    start: date,
) -> list[PlannedZone]:
    construction, supervision, subcontractors = contractors
    end = start + timedelta(days=365)
    planned = []
    regions_taken: set[tuple[str, str]] = set()
    for j in range(n):
        host = hosts[(after + j) % len(hosts)]
        region = f"{host.name}{'东西南北中'[j % 5]}区"
        while (host.unit_id, region) in regions_taken:
            region += "二"
        regions_taken.add((host.unit_id, region))
        con = rng.choice(construction)
        sup = rng.choice(supervision)
        subs = rng.sample(subcontractors, k=1)
        projects = []
        for k in range(rng.randint(2, 3)):
            pid = f"P{100 + j * 3 + k + 1:03d}"
            category = rng.choice(["renovation", "safety_remediation"])
            label = "老区改造" if category == "renovation" else "安全隐患治理"
            projects.append(
                Project(
                    pid,
                    f"{region}{label}{cn(k + 1)}期",
                    category,
                    "small",
                    True,
                    region,
                    host,
                    [host, con, sup, management, *subs],
                    start - timedelta(days=rng.randint(10, 200)),
                    end,
                )
            )
        planned.append(
            PlannedZone(
                f"alliance-{host.unit_id}-{j}",
                "regional_alliance",
                host,
                region,
                projects,
                con,
                sup,
                management,
                subs,
            )
        )
    return planned


def _non_key_projects(
    n: int, hosts: list[Unit], construction: list[Unit], rng: random.Random, start: date
) -> list[Project]:
    out = []
    for k in range(n):
        host = rng.choice(hosts)
        con = rng.choice(construction)
        out.append(
            Project(
                f"P9{k + 1:02d}",
                f"{host.name}道路维修{cn(k + 1)}",
                "other",
                "small",
                False,
                f"{host.name}生活区",
                host,
                [host, con],
                start,
                start + timedelta(days=365),
            )
        )
    return out


def _mark_imperfections(planned: list[PlannedZone], rng: random.Random) -> None:
    """Deliberate imperfections, spread over distinct zones so each is visible on its own."""
    order = list(range(len(planned)))
    rng.shuffle(order)
    cobuild = [z for z in planned if z.mode == "project_cobuild"]
    if len(cobuild) >= 2:
        late = cobuild[1]
        late.supervision_joins_late = True
        order.remove(planned.index(late))
    picks = iter(order)
    # About half the zones stay perfect, so the ranking has an order the ground truth knows.
    flags = [
        "miss_theme_day",
        "miss_weekly",
        "minor_incident",
        "simops_pair",
        "sunday_work",
        "quality_slip",
        "rejected_permit",
        "near_miss",
        "late_milestone",
        "missing_management_evaluation",
    ]
    for flag in flags[: max(1, (len(planned) - 1) // 2)]:
        i = next(picks, None)
        if i is None:
            break
        chosen = planned[i]
        if flag == "miss_weekly":
            chosen.miss_weekly_week = (0, 0)  # the plan fixes the week once the calendar is known
        else:
            setattr(chosen, flag, True)


def build_register(
    hosts: list[Unit], management: list[Unit], rng: random.Random, start: date
) -> list[Approver]:
    """The enterprise's authorization register: its leader in charge and safety department, and
    for each plant its manager (or chief engineer), professional department and power supply
    unit (Table B.1); the first plant's department also has an expired certificate on file."""
    valid = start + timedelta(days=400)

    def name() -> str:
        return rng.choice(SURNAMES) + rng.choice(GIVEN)

    out = [
        Approver("R-EL01", name(), management[0].unit_id, ("enterprise_leader",), valid),
        Approver("R-SD01", name(), management[0].unit_id, ("safety_department",), valid),
    ]
    for h in hosts:
        out += [
            Approver(f"R-PM-{h.unit_id}", name(), h.unit_id, ("plant_manager",), valid),
            Approver(f"R-PD-{h.unit_id}", name(), h.unit_id, ("professional_department",), valid),
            Approver(f"R-PS-{h.unit_id}", name(), h.unit_id, ("power_supply_unit",), valid),
        ]
    first = hosts[0]
    out.append(
        Approver(
            f"R-PDX-{first.unit_id}",
            name(),
            first.unit_id,
            ("professional_department",),
            start - timedelta(days=10),
        )
    )
    return out
