"""Drawing review as it really runs (审图, issue 15): comments, revisions, rounds — no Kafka."""

from __future__ import annotations

import pytest

from services.permit_fasttrack.domain import Permit
from tests.unit.permit_fixtures import ROLES, R, act, at, facts, last_refusal, people, requested, types

REVIEWERS = ("host_rep", "supervision_engineer", "management_safety")


def drawing() -> Permit:
    d = Permit.for_drawing("D1", "P", "工艺管线图", "C1", at(7), R)
    d.request("pm", at(7), people())
    d.drain()
    return d


def approve_all(d: Permit, h: int) -> None:
    for role in REVIEWERS:
        d.sign(act(ROLES[role], when=at(h)), role, "approve", None, at(h), None, people())


def test_a_drawing_through_two_rounds_of_comments() -> None:
    d = drawing()
    assert d.add_comment(
        act("M-S", "drawing.comment-added", at(9)),
        "C1",
        "supervision_engineer",
        "S-03",
        "管线与电缆沟冲突",
        people(),
    )
    assert types(d) == ["permit.updated"]
    # No approval while a comment is open.
    assert not d.sign(act("M-H", when=at(9, 30)), "host_rep", "approve", None, at(9, 30), None, people())
    assert last_refusal(d) == ["open_comments"]
    assert d.drawing_revised(2, ["C1"], at(12), people())
    assert d.drawing_revision == 2 and d.open_comments() == []
    assert d.add_comment(
        act("M-M", "drawing.comment-added", at(13)),
        "C2",
        "management_safety",
        "S-05",
        "缺少防火间距标注",
        people(),
    )
    assert d.drawing_revised(3, ["C2"], at(16), people())
    approve_all(d, 17)
    d.evaluate(facts(), at(17), R)
    assert d.status == "issued" and d.rounds == 3
    assert [c.round for c in d.comments] == [1, 2] and [c.resolved_in_revision for c in d.comments] == [2, 3]


def test_a_revision_voids_approvals_given_to_the_earlier_one() -> None:
    d = drawing()
    d.sign(act("M-H", when=at(9)), "host_rep", "approve", None, at(9), None, people())
    d.add_comment(
        act("M-S", "drawing.comment-added", at(9, 10)), "C1", "supervision_engineer", "S-1", "x", people()
    )
    d.drawing_revised(2, ["C1"], at(11), people())
    assert d.signatures == [] and d.status == "pending_signatures"
    assert [c.type for c in d.drain()].count("permit.signature-requested") == 3


@pytest.mark.parametrize(
    ("who", "role", "comment_id", "expected"),
    [
        ("M-C", "construction_lead", "C9", ["role_not_required"]),
        ("M-X", "host_rep", "C9", ["signer_lacks_role"]),
        ("M-S", "supervision_engineer", "C1", ["duplicate_comment"]),
    ],
)
def test_comment_refusals(who: str, role: str, comment_id: str, expected: list[str]) -> None:
    d = drawing()
    d.add_comment(
        act("M-S", "drawing.comment-added", at(9)), "C1", "supervision_engineer", "S", "x", people()
    )
    assert not d.add_comment(
        act(who, "drawing.comment-added", at(9, 5)), comment_id, role, "S", "y", people()
    )
    assert last_refusal(d) == expected


def test_comments_belong_to_drawing_reviews_and_old_revisions_change_nothing() -> None:
    w = requested()
    assert not w.add_comment(
        act("M-S", "drawing.comment-added", at(9)), "C", "supervision_engineer", "S", "x", people()
    )
    assert last_refusal(w) == ["not_a_drawing_review"]
    d = drawing()
    assert d.drawing_revised(2, [], at(10), people())
    assert not d.drawing_revised(2, [], at(11), people()) and not w.drawing_revised(2, [], at(11), people())


def test_a_closed_review_stands_through_an_incident_and_its_zone_closing() -> None:
    d = drawing()
    approve_all(d, 9)
    d.evaluate(facts(), at(9), R)
    assert d.status == "issued"
    assert not d.incident({"incident_id": "I", "severity": "fatal", "area": "A"}, at(10))
    d.zone_closed(at(11))
    assert d.status == "issued" and not d.needs_zone()
