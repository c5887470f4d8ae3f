"""Drawing review as it really runs (审图, issue 15): reviewers comment on sheets, the designer
answers with a revision that resolves comments, and the review closes (the ``drawing_review``
permit is issued) when no comment is open and the three roles approve. A revision voids the
approvals given to the earlier one. Rounds = revisions; the cycle is submission → close.
"""

from __future__ import annotations

from datetime import datetime

from shared.events.catalog import CommandRefusal as R
from shared.events.catalog import PermitStatus

from .classes import DRAWING_ROLES
from .lifecycle import Act, local_date
from .model import OPEN_UNISSUED, SYSTEM, Comment
from .operations import Operations
from .signers import People, holder_refusals


class Drawings(Operations):
    def add_comment(
        self, act: Act, comment_id: str, role: str, sheet: str, issue: str, people: People
    ) -> bool:
        reasons: list[str] = []
        if self.is_work:
            reasons.append(R.NOT_A_DRAWING_REVIEW)
        elif self.finished:
            reasons.append(R.PERMIT_FINISHED)
        elif self.status not in OPEN_UNISSUED or not self.signatures_requested:
            reasons.append(R.SIGNATURES_NOT_REQUESTED)
        if role not in DRAWING_ROLES:
            reasons.append(R.ROLE_NOT_REQUIRED)
        else:
            reasons += holder_refusals(people, act.member_id, role, local_date(act.at, people.tz))
        if any(c.comment_id == comment_id for c in self.comments):
            reasons.append(R.DUPLICATE_COMMENT)
        if not self._guard(act, reasons):
            return False
        self.comments.append(
            Comment(
                comment_id=comment_id,
                member_id=act.member_id,
                role=role,
                sheet=sheet,
                issue=issue,
                added_at=act.at,
                round=self.drawing_revision,
            )
        )
        self.record(
            "permit.updated",
            act.who,
            act.at,
            {
                "change": "comment_added",
                "actor": act.who,
                "detail": {
                    "comment_id": comment_id,
                    "sheet": sheet,
                    "issue": issue,
                    "round": self.drawing_revision,
                },
            },
        )
        return True

    @property
    def rounds(self) -> int:
        return self.drawing_revision

    def drawing_revised(self, revision: int, resolved: list[str], at: datetime, people: People) -> bool:
        """The designer's revision: the comments it lists are resolved; approvals void."""
        if self.is_work or self.finished or revision <= self.drawing_revision:
            return False
        for c in self.comments:
            if c.comment_id in resolved and c.resolved_in_revision is None:
                c.resolved_in_revision, c.resolved_at = revision, at
        self.drawing_revision = revision
        self.record(
            "permit.updated",
            SYSTEM,
            at,
            {
                "change": "drawing_revised",
                "actor": SYSTEM,
                "detail": {"revision": revision, "resolved": resolved, "open": self.open_comments()},
            },
            revise=True,
        )
        if self.signatures and self.status in (*OPEN_UNISSUED, PermitStatus.APPROVED):
            self._void(at, people)
        return True


class Permit(Drawings):
    """The permit aggregate: every transition of ``lifecycle``, ``operations`` and ``drawings``."""
