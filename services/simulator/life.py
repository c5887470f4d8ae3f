"""Site life the month plays beyond the plain work day (issue 15, GB 30871-2022): interruptions
(one long enough to need a new gas test), extensions (one first asked beyond the cap), shift
handovers (one not acknowledged in time), a missing monitoring reading, completion refused then
accepted, re-plans (one that replaces a water seal by a blind plate), a cancellation, a conflict
measured in metres, and drawing reviews of one to three rounds. Pure; each choice goes into the
ground truth the report checks.
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from .works import Work, monitoring_times

if TYPE_CHECKING:
    from .plan import GroundTruth
    from .world import PlannedZone

TZ = ZoneInfo("Asia/Shanghai")


def at(d: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(d, time(hh, mm), TZ)


def _plain(w: Work) -> bool:
    """A one-permit work with nothing else planned for it."""
    return (
        len(w.classes) == 1
        and w.close_at is not None
        and not (
            w.scenario or w.reject_by_supervision or w.suspend_at or w.fresh_gas_after_close_of or w.handover
        )
        and w.planned_at.hour == 7
        and w.gas_fail_first is False
        and w.planned_start.weekday() < 6
    )


def assign_life(works: list[Work], truth: GroundTruth, rng: random.Random) -> None:
    """Give some plain works one piece of site life each; then plan monitoring readings."""
    plain = [w for w in works if _plain(w)]
    rng.shuffle(plain)

    def take(pred: Any, n: int) -> list[Work]:
        chosen = [w for w in plain if pred(w)][:n]
        for w in chosen:
            plain.remove(w)
        return chosen

    hot_second = lambda w: w.classes == ["hot_work"] and w.expected_grade("hot_work") == "second"  # noqa: E731
    no_gas = lambda w: not w.needs_gas and w.classes[0] in ("lifting", "work_at_height", "excavation")  # noqa: E731
    for w in take(hot_second, 1):  # a long pause: a new gas test before the work goes on (§5.3.1 d)
        w.interrupt = (at(w.planned_start.date(), 12), at(w.planned_start.date(), 13, 30))
        truth.interrupted[w.permit_id] = True
    for w in take(lambda w: not w.needs_gas, 2):  # a lunch break
        w.interrupt = (at(w.planned_start.date(), 12), at(w.planned_start.date(), 12, 25))
        truth.interrupted[w.permit_id] = False
    for w in take(lambda w: w.classes == ["blind_plate"], 1) + take(
        lambda w: w.classes == ["confined_space"], 1
    ):
        _extend(w, truth, beyond_first=w.classes == ["blind_plate"])
    for w in take(lambda w: w.classes == ["confined_space"], 1):
        w.miss_monitoring = True
        truth.suspended_permits[w.permit_id] = "gas_monitoring_lapsed"
    for w in take(lambda w: True, 2):
        w.refuse_completion = True
        truth.completion_refused.add(w.permit_id)
    for w in take(no_gas, 2):  # moved an hour later after approval: approvals void, asked again (§4.16)
        w.replan_at = w.planned_at + timedelta(minutes=110)
        truth.revised[w.permit_id] = True
    for w in take(lambda w: w.classes == ["blind_plate"], 1):
        w.water_seal_replan_at = w.planned_at + timedelta(minutes=110)
        truth.revised[w.permit_id] = True
        truth.blocked_reasons[w.permit_id] = {"isolation_inadequate"}
    for w in take(lambda w: not w.needs_gas, 1):
        w.cancel_at = w.planned_at + timedelta(minutes=30)
        truth.cancelled.add(w.permit_id)
    for w in works:
        if w.monitored and w.gas_at is not None:
            w.readings = monitoring_times(w.gas_at, w.close_at or w.planned_end)


def _extend(w: Work, truth: GroundTruth, beyond_first: bool) -> None:
    """Two more hours, asked 40 minutes before the planned end by the approver (the host unit for a
    blind plate or a confined space); first asked a day beyond the 24 h cap where ``beyond_first``."""
    asked = w.planned_end - timedelta(minutes=40)
    w.extend = (asked, w.planned_end + timedelta(hours=2))
    w.extend_beyond_cap_first = beyond_first
    w.close_at = w.planned_end + timedelta(hours=2) - timedelta(minutes=30)
    truth.extended.add(w.permit_id)
    if beyond_first:
        truth.extension_refused.add(w.permit_id)


def review_rounds(
    drawing_id: str, z: PlannedZone, d: date, rounds: int, add: Any, truth: GroundTruth, project_id: str
) -> None:
    """Drawing review (审图) in ``rounds`` rounds: each but the last brings a comment on a sheet and the
    designer's revision resolving it; the reviewers approve after the last revision."""
    pid = f"DR-{drawing_id}"
    reviewer = z.holders("management_safety")[0]
    times = [(at(d, 11, 30), at(d, 16)), (at(d + timedelta(days=1), 9), at(d + timedelta(days=1), 11))]
    truth.drawing_rounds[pid] = rounds
    truth.drawing_last_revision[pid] = at(d, 10)
    for k in range(rounds - 1):
        comment_at, revised_at = times[k]
        comment_id = f"CM-{drawing_id}-{k + 1}"
        add(
            comment_at,
            "drawing.comment-added",
            {
                "drawing_id": drawing_id,
                "comment_id": comment_id,
                "member_id": reviewer.member_id,
                "role": "management_safety",
                "sheet": f"S-{k + 2:02d}",
                "issue": ["管线与既有电缆沟冲突", "缺少防火间距标注"][k],
                "added_at": comment_at.isoformat(),
            },
            project_id,
        )
        add(
            revised_at,
            "drawing.revised",
            {
                "drawing_id": drawing_id,
                "project_id": project_id,
                "revision": k + 2,
                "resolved_comment_ids": [comment_id],
                "revised_at": revised_at.isoformat(),
            },
            project_id,
        )
        truth.drawing_last_revision[pid] = revised_at
