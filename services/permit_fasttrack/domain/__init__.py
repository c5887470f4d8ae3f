"""Permit fast-track rules, pure (no I/O): the ``Permit`` state machine and the rules of SPEC
§3.3 and GB 30871-2022, by concern:

- ``model``: the aggregate's state, its parts, and how a change is recorded (version, revision,
  history, the events it causes);
- ``lifecycle``: request, routing, signatures, preconditions, issue, lapse, expiry, cancel,
  re-plan, resubmission, SLA, zones;
- ``operations``: suspension, resumption, interruption, extension, handover, completion
  acceptance, guardian, briefing, ticket check, isolations, gas readings;
- ``drawings``: drawing review rounds;
- ``classes`` (classes, grades, approvers, validity), ``gas`` (analysis), ``conflicts`` (the
  matrix), ``signers`` (who may sign), ``rules`` (every number, and the laxer-than-standard check),
  ``document`` (the printable permit and its SHA-256).
"""

from .classes import (
    all_permit_ids,
    approver_role,
    classes_of,
    drawing_permit_id,
    permit_id_for,
    required_roles,
)
from .conflicts import Placed, conflicts
from .drawings import Permit
from .gas import GasReading
from .lifecycle import Act, Facts
from .model import FINISHED, OPEN_UNISSUED, RUNNING, SYSTEM, Change, HistoryEntry
from .rules import STANDARD, GasLimits, Rules, laxer_than_standard
from .signers import People

__all__ = [
    "FINISHED",
    "OPEN_UNISSUED",
    "RUNNING",
    "STANDARD",
    "SYSTEM",
    "Act",
    "Change",
    "Facts",
    "GasLimits",
    "GasReading",
    "HistoryEntry",
    "People",
    "Permit",
    "Placed",
    "Rules",
    "all_permit_ids",
    "approver_role",
    "classes_of",
    "conflicts",
    "drawing_permit_id",
    "laxer_than_standard",
    "permit_id_for",
    "required_roles",
]
