"""Permit-fasttrack HTTP: permits with their whole history and their printable document, the
signer's inbox, figures; the commands of the permit's life (bodies reuse the command models)."""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field, create_model

from shared import zone_copy
from shared.auth import PrincipalDep, refuse, require
from shared.events.catalog import (
    DrawingCommentAdded,
    HttpReason,
    Payload,
    PermitAcceptCompletion,
    PermitBrief,
    PermitCheckIn,
    PermitCheckOut,
    PermitCheckTicket,
    PermitClose,
    PermitDeclareComplete,
    PermitExtend,
    PermitHandover,
    PermitInterrupt,
    PermitKind,
    PermitNameGuardian,
    PermitResubmit,
    PermitResume,
    PermitResumeWork,
    PermitSign,
    PermitSnapshot,
    PermitStatus,
    WorkClass,
)
from shared.service import CommandAccepted, DbDep, IdempotencyKey, RuntimeDep, accept

from . import figures, store
from .domain import document

# A bearer token on every route (shared/auth.py), with one of the system's roles; the
# commands carry the caller as their actor, and the permit's rules decide on it.
router = APIRouter(
    tags=["permit-fasttrack"], dependencies=[Depends(require("party_office", "hse", "zone_member"))]
)


class Problem(BaseModel):
    detail: str


NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": Problem, "description": "No such permit"}}


def body_of(command: type[Payload], *path: str) -> type[BaseModel]:
    """The HTTP body of a command: the command model's own fields, less those in the path."""
    fields: dict[str, Any] = {
        name: (f.annotation, f) for name, f in command.model_fields.items() if name not in path
    }
    model: type[BaseModel] = create_model(f"{command.__name__}Body", __doc__=command.__doc__, **fields)
    return model


class HistoryEntry(BaseModel):
    event_id: str | None
    type: str
    actor: str
    at: datetime
    revision: int
    detail: dict[str, Any]


class PermitDetail(PermitSnapshot):
    title: str | None = None
    grade_basis: list[str]
    required_roles: list[str]
    waiting_on_roles: list[str]
    waiting_on_members: list[str]
    planned_start: datetime | None = None
    planned_end: datetime | None = None
    issued_at: datetime | None = None
    sla_breached: bool
    guardian_on_site: bool
    briefing: dict[str, Any] | None
    ticket_check: dict[str, Any] | None
    isolations: list[dict[str, Any]]
    gas_readings: list[dict[str, Any]]
    extensions: list[dict[str, Any]]
    handovers: list[dict[str, Any]]
    completion: dict[str, Any] | None
    comments: list[dict[str, Any]]
    drawing_revision: int
    history: list[HistoryEntry]
    document_sha256: str = Field(description="SHA-256 of GET /permits/{id}/document's bytes")


class PermitPage(BaseModel):
    items: list[PermitSnapshot]
    total: int
    page: int
    page_size: int


class InboxItem(BaseModel):
    permit_id: str
    kind: PermitKind
    work_class: WorkClass | None
    grade: str | None
    title: str | None
    project_id: str
    zone_id: str | None
    area: str | None
    status: PermitStatus
    role: str
    what: str = Field(description="signature | completion_acceptance")
    since: datetime
    deadline: datetime | None
    sla_left_minutes: float | None = Field(
        description="Minutes to the deadline by the service's clock (< 0: late)"
    )


class Inbox(BaseModel):
    items: list[InboxItem] = Field(description="Nearest deadline first")
    total: int


@router.get("/permits", response_model=PermitPage)
async def list_permits(
    db: DbDep,
    zone_id: str | None = None,
    project_id: str | None = None,
    status: PermitStatus | None = None,
    kind: PermitKind | None = None,
    work_class: WorkClass | None = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=500)] = 50,
) -> PermitPage:
    query = {
        k: str(v)
        for k, v in (
            ("zone_id", zone_id),
            ("project_id", project_id),
            ("status", status),
            ("kind", kind),
            ("work_class", work_class),
        )
        if v is not None
    }
    total, permits = await store.page_of_permits(db, query, page, page_size)
    return PermitPage(
        items=[PermitSnapshot(**p.snapshot()) for p in permits], total=total, page=page, page_size=page_size
    )


@router.get("/permits/{permit_id}", response_model=PermitDetail, responses=NOT_FOUND)
async def get_permit(permit_id: str, db: DbDep, runtime: RuntimeDep) -> PermitDetail:
    """State, signatures, gas readings, isolations, linked permits and the whole history — each
    event, who, when, which revision — and the SHA-256 of the printable document."""
    p = await store.get_permit(db, permit_id)
    if p is None:
        raise HTTPException(404, f"no permit {permit_id}")
    dump = p.model_dump(mode="json")
    return PermitDetail(
        **p.snapshot(),
        title=p.title,
        grade_basis=p.grade_basis,
        required_roles=p.required_roles,
        waiting_on_roles=p.waiting_on() if p.status in (PermitStatus.PENDING_SIGNATURES,) else [],
        waiting_on_members=p.waiting_members() if p.status == PermitStatus.PENDING_SIGNATURES else [],
        planned_start=p.planned_start,
        planned_end=p.planned_end,
        issued_at=p.issued_at,
        sla_breached=p.sla_breached,
        guardian_on_site=bool(p.guardian and p.guardian.on_site),
        **{
            k: dump[k]
            for k in (
                "briefing",
                "ticket_check",
                "isolations",
                "gas_readings",
                "extensions",
                "handovers",
                "completion",
                "comments",
                "drawing_revision",
            )
        },
        history=[HistoryEntry(**h.model_dump()) for h in p.history],
        document_sha256=document.sha256(document.render(p, runtime.clock.tz)),
    )


@router.get(
    "/permits/{permit_id}/document",
    response_class=HTMLResponse,
    responses={
        200: {"content": {"text/html": {}}, "description": "The permit as the standard's form"},
        **NOT_FOUND,
    },
)
async def permit_document(permit_id: str, db: DbDep, runtime: RuntimeDep) -> Response:
    """The permit as GB 30871-2022's form (Appendix A), printable: signatures, gas readings,
    isolations, linked permits, history. ``X-Content-SHA256`` is the SHA-256 of these bytes."""
    p = await store.get_permit(db, permit_id)
    if p is None:
        return HTMLResponse(f"<!DOCTYPE html><p>no permit {escape(permit_id)}</p>", status_code=404)
    html = document.render(p, runtime.clock.tz)
    return HTMLResponse(html, headers={"X-Content-SHA256": document.sha256(html)})


def _inbox(entries: list[dict[str, Any]], now: datetime, member_id: str | None, role: str | None) -> Inbox:
    items: list[InboxItem] = []
    for e in entries:
        for w in e.get("waiting", []):
            if (member_id is not None and member_id not in w["member_ids"]) or (
                role is not None and w["role"] != role
            ):
                continue
            deadline = w.get("deadline")
            items.append(
                InboxItem(
                    permit_id=e["_id"],
                    kind=e["kind"],
                    work_class=e.get("work_class"),
                    grade=e.get("grade"),
                    title=e.get("title"),
                    project_id=e["project_id"],
                    zone_id=e.get("zone_id"),
                    area=e.get("area"),
                    status=e["status"],
                    role=w["role"],
                    what=w.get("what", "signature"),
                    since=w["since"],
                    deadline=deadline,
                    sla_left_minutes=None
                    if deadline is None
                    else round((deadline - now).total_seconds() / 60, 1),
                )
            )
    far = datetime.max.replace(tzinfo=now.tzinfo)
    items.sort(key=lambda i: (i.deadline or far, i.since, i.permit_id))
    return Inbox(items=items, total=len(items))


@router.get("/members/{member_id}/inbox", response_model=Inbox)
async def member_inbox(member_id: str, db: DbDep, runtime: RuntimeDep, principal: PrincipalDep) -> Inbox:
    """What waits for this person: permits and drawings to sign, completions to accept — their
    role, since when, the SLA left; the nearest deadline first. A member reads their own; the
    party office and HSE anyone's."""
    if principal.subject != member_id and not principal.has("party_office", "hse"):
        raise refuse(HttpReason.NOT_OWN_RECORD, "a member reads their own inbox")
    return _inbox(await store.inbox_of_member(db, member_id), runtime.clock.now(), member_id, None)


@router.get("/zones/{zone_id}/inbox", response_model=Inbox)
async def role_inbox(
    zone_id: str,
    role: Annotated[str, Query(min_length=1)],
    db: DbDep,
    runtime: RuntimeDep,
    principal: PrincipalDep,
) -> Inbox:
    """What waits for a role in a zone (whoever holds it): for the zone's members, the party
    office and HSE."""
    if not principal.has("party_office", "hse"):
        await zone_copy.readable(db, zone_id, principal)
    return _inbox(await store.inbox_of_role(db, zone_id, role), runtime.clock.now(), None, role)


@router.get("/stats", response_model=figures.Stats)
async def stats(db: DbDep) -> figures.Stats:
    """Work permits and drawing reviews counted apart: status, class and grade, cycle time, SLA,
    block reasons, suspensions by cause, conflicts by rule; drawing review rounds and comments."""
    return figures.stats(await store.all_permits(db))


# --------------------------------------------------------------------------- commands

# Who may send a command over HTTP: a person on site (``zone_member``: the demo's members and
# the register's approvers), and for ``resume`` HSE too (after an incident). The token only
# opens the door; the permit's rules decide on the actor the command carries (issue 13).
ON_SITE = ("zone_member",)
_COMMANDS: list[tuple[str, str, type[Payload], str, tuple[str, ...]]] = [
    ("sign", "permit.sign", PermitSign, "Approve or reject on site.", ON_SITE),
    (
        "close",
        "permit.close",
        PermitClose,
        "Base contract close: the lead declares, the host rep accepts.",
        ON_SITE,
    ),
    (
        "resume",
        "permit.resume",
        PermitResume,
        "Bring a suspended permit back (named roles, fresh gas test).",
        ("zone_member", "hse"),
    ),
    ("resubmit", "permit.resubmit", PermitResubmit, "Ask a rejected permit again (a new revision).", ON_SITE),
    ("interrupt", "permit.interrupt", PermitInterrupt, "Pause the work.", ON_SITE),
    (
        "resume-work",
        "permit.resume-work",
        PermitResumeWork,
        "Go on after a pause (a new gas test after a long one).",
        ON_SITE,
    ),
    (
        "extend",
        "permit.extend",
        PermitExtend,
        "A longer validity within the class's cap, by the approver.",
        ON_SITE,
    ),
    (
        "handover",
        "permit.handover",
        PermitHandover,
        "Acknowledge a shift handover (outgoing or incoming).",
        ON_SITE,
    ),
    (
        "complete",
        "permit.declare-complete",
        PermitDeclareComplete,
        "The work's lead declares it complete.",
        ON_SITE,
    ),
    (
        "accept-completion",
        "permit.accept-completion",
        PermitAcceptCompletion,
        "完工验收: accept or refuse.",
        ON_SITE,
    ),
    ("guardian", "permit.name-guardian", PermitNameGuardian, "Name the guardian (监护人).", ON_SITE),
    ("check-in", "permit.check-in", PermitCheckIn, "The guardian checks in on site.", ON_SITE),
    ("check-out", "permit.check-out", PermitCheckOut, "The guardian leaves: the work stops.", ON_SITE),
    ("brief", "permit.brief", PermitBrief, "The safety briefing (交底), giver and receiver.", ON_SITE),
    ("check-ticket", "permit.check-ticket", PermitCheckTicket, "The shift leader's ticket check.", ON_SITE),
]


def _route(path: str, event_type: str, model: type[Payload], summary: str, roles: tuple[str, ...]) -> None:
    body_model = body_of(model, "permit_id")

    async def endpoint(
        permit_id: str,
        body: BaseModel,
        runtime: RuntimeDep,
        principal: PrincipalDep,
        idempotency: IdempotencyKey = None,
    ) -> CommandAccepted:
        data = model(permit_id=permit_id, **body.model_dump())
        return await accept(runtime, event_type, data, permit_id, principal.actor(), idempotency)

    # The body's model is made at import time; FastAPI reads it from the annotations.
    endpoint.__annotations__ = {
        "permit_id": str,
        "body": body_model,
        "runtime": RuntimeDep,
        "principal": PrincipalDep,
        "idempotency": IdempotencyKey,
        "return": CommandAccepted,
    }
    endpoint.__name__ = f"post_{path.replace('-', '_')}"
    router.post(
        f"/permits/{{permit_id}}/{path}",
        response_model=CommandAccepted,
        status_code=202,
        summary=summary,
        description=model.__doc__ or summary,
        dependencies=[Depends(require(*roles))],
    )(endpoint)


for _path, _type, _model, _summary, _roles in _COMMANDS:
    _route(_path, _type, _model, _summary, _roles)

CommentBody = body_of(DrawingCommentAdded, "drawing_id")


@router.post(
    "/drawings/{drawing_id}/comments",
    response_model=CommandAccepted,
    status_code=202,
    dependencies=[Depends(require(*ON_SITE))],
)
async def add_comment(
    drawing_id: str,
    body: CommentBody,  # type: ignore[valid-type]
    runtime: RuntimeDep,
    principal: PrincipalDep,
    idempotency: IdempotencyKey = None,
) -> CommandAccepted:
    """A reviewer's comment on a drawing under review (``drawing.comment-added``)."""
    data = DrawingCommentAdded(drawing_id=drawing_id, **body.model_dump())  # type: ignore[attr-defined]
    return await accept(runtime, "drawing.comment-added", data, drawing_id, principal.actor(), idempotency)
