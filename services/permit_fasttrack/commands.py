"""One permit command, forwarded as it is to ``pbz.permit.work``, to its domain transition. Every
command, taken or refused, ends in the permit's history with its actor (issue 13)."""

from __future__ import annotations

from typing import Any

from shared.actor import Actor
from shared.events.catalog import CommandRefusal as R

from .desk import Desk
from .domain import Act, People, Permit


async def run(
    desk: Desk,
    permit: Permit,
    command_id: str,
    command_type: str,
    command: Any,
    actor: Actor | None,
    people: People,
) -> None:
    act = Act(
        command_id=command_id,
        command_type=command_type,
        member_id=command.member_id,
        actor=actor,
        at=desk.at,
    )
    rules = desk.rules
    t = command_type
    if t == "permit.sign":
        permit.sign(
            act,
            command.role,
            command.decision,
            command.comment,
            command.signed_at,
            command.site_presence,
            people,
        )
    elif t == "permit.close":
        permit.close(act, people)
    elif t == "permit.resume":
        permit.resume(act, people, rules)
    elif t == "permit.resubmit":
        permit.resubmit(act, people)
    elif t == "permit.interrupt":
        permit.interrupt(act, command.reason, people)
    elif t == "permit.resume-work":
        permit.resume_work(act, command.site_presence, people, rules)
    elif t == "permit.extend":
        permit.extend(act, command.valid_until, command.reason, command.site_presence, people, rules)
    elif t == "permit.handover":
        permit.handover(act, command.position, command.side, people, rules)
    elif t == "permit.declare-complete":
        permit.declare_complete(act, people)
    elif t == "permit.accept-completion":
        permit.accept_completion(
            act, command.decision, command.guards_restored, command.housekeeping_done, command.reason, people
        )
    elif t == "permit.name-guardian":
        permit.name_guardian(act, command.guardian_member_id, people)
    elif t == "permit.check-in":
        permit.check_in(act, command.site_presence)
    elif t == "permit.check-out":
        permit.check_out(act)
    elif t == "permit.brief":
        permit.brief(act, command.receiver_member_id, command.site_presence, people)
    elif t == "permit.check-ticket":
        permit.check_ticket(act, command.site_presence, people)
    elif t == "drawing.comment-added":
        permit.add_comment(act, command.comment_id, command.role, command.sheet, command.issue, people)
    else:
        permit.refuse(act, [R.ROLE_NOT_ALLOWED])
