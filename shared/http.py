"""HTTP hygiene every service shares: error answers with a reason code and never an exception's
text, the statuses documented on every route, CORS closed unless origins are configured,
and ``Idempotency-Key`` so that a client's retry does not publish a second command.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import uuid
from typing import Annotated, Any

from fastapi import FastAPI, Header, Request
from fastapi.dependencies.utils import get_flat_params
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute, APIRouter
from motor.motor_asyncio import AsyncIOMotorDatabase
from pydantic import BaseModel, Field
from pymongo.errors import DuplicateKeyError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .auth import AuthError
from .events.catalog import HttpReason
from .pipeline import is_transient
from .settings import ServiceSettings

log = logging.getLogger("pbz.http")


class ProblemDetail(BaseModel):
    """An error answer: what went wrong in words, and its reason code."""

    detail: str
    reason: HttpReason


class FieldProblem(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ValidationProblem(BaseModel):
    """422: each field or parameter that breaks its schema (the input itself is not echoed)."""

    detail: list[FieldProblem]
    reason: HttpReason


class ApiProblem(Exception):
    """Raise from a route or the shared layer: answered as a :class:`ProblemDetail`."""

    def __init__(
        self, status: int, reason: HttpReason, detail: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.reason = reason
        self.detail = detail
        self.headers = headers or {}


def problem(
    status: int, reason: HttpReason, detail: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        {"detail": detail, "reason": reason.value}, status_code=status, headers=headers or None
    )


_STATUS_REASONS = {
    400: HttpReason.INVALID_BODY,
    404: HttpReason.NOT_FOUND,
    405: HttpReason.METHOD_NOT_ALLOWED,
    422: HttpReason.INVALID_REQUEST,
}


# --------------------------------------------------------------------------- documented statuses


def _doc(model: type[BaseModel], description: str) -> dict[str, Any]:
    return {"model": model, "description": description}


COMMON: dict[int | str, dict[str, Any]] = {
    401: _doc(ProblemDetail, "No valid bearer token (token_missing, token_invalid, token_expired)"),
    403: _doc(ProblemDetail, "The token is valid but may not do this (role_required, not_in_zone, ...)"),
    503: _doc(
        ProblemDetail, "A dependency does not answer (broker, store, identity provider); see Retry-After"
    ),
}


def document(router: APIRouter) -> None:
    """Add the statuses the shared layer may answer to each route of a service's router:
    400/422 where there is input to refuse. (401/403/503 come with ``include_router``.)"""
    for route in router.routes:
        if not isinstance(route, APIRoute):
            continue
        if route.body_field is not None:
            route.responses.setdefault(400, _doc(ProblemDetail, "The body is not UTF-8 JSON (invalid_body)"))
        params = get_flat_params(route.dependant)
        if route.body_field is not None or params:
            route.responses.setdefault(
                422, _doc(ValidationProblem, "A field or parameter breaks its schema (invalid_request)")
            )
        if any(p.alias == "Idempotency-Key" for p in params):
            route.responses.setdefault(
                409,
                _doc(
                    ProblemDetail, "This Idempotency-Key came with another request (idempotency_key_reused)"
                ),
            )


# --------------------------------------------------------------------------- error answers


def install(app: FastAPI, settings: ServiceSettings) -> None:
    """Error handlers, the last-resort middleware, and CORS (only for configured origins)."""
    retry_after = {"Retry-After": str(settings.retry_after_s)}

    async def on_auth(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, AuthError)
        return problem(exc.status, exc.reason, exc.detail, exc.headers)

    async def on_problem(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiProblem)
        return problem(exc.status, exc.reason, exc.detail, exc.headers)

    async def on_http(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        reason = _STATUS_REASONS.get(exc.status_code, HttpReason.INVALID_REQUEST)
        detail = exc.detail if isinstance(exc.detail, str) else reason.value
        return problem(exc.status_code, reason, detail, dict(exc.headers or {}))

    async def on_invalid(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        # Never the input: it may be a phone number or a whole roster entry.
        errors = [
            {
                "loc": [p for p in e.get("loc", ()) if isinstance(p, str | int)],
                "msg": e.get("msg", ""),
                "type": e.get("type", ""),
            }
            for e in exc.errors()
        ]
        return JSONResponse({"detail": errors, "reason": HttpReason.INVALID_REQUEST.value}, status_code=422)

    app.add_exception_handler(AuthError, on_auth)
    app.add_exception_handler(ApiProblem, on_problem)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_invalid)
    app.add_middleware(LastResort, retry_after=retry_after)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key"],
            max_age=600,
        )


class LastResort:
    """Whatever a route did not handle: 503 + Retry-After when the store is unreachable,
    else 500 — with a reason code, never the exception's text (that goes to the log)."""

    def __init__(self, app: ASGIApp, retry_after: dict[str, str]) -> None:
        self.app = app
        self.retry_after = retry_after

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as e:
            if started:
                raise
            if is_transient(e):
                log.warning(
                    "%s %s: a dependency is unreachable (%s)",
                    scope["method"],
                    scope["path"],
                    type(e).__name__,
                )
                response = problem(
                    503,
                    HttpReason.STORE_UNAVAILABLE,
                    "the store does not answer; try again",
                    self.retry_after,
                )
            else:
                log.exception("%s %s failed", scope["method"], scope["path"])
                response = problem(500, HttpReason.INTERNAL_ERROR, "internal error (logged)")
            await response(scope, receive, send)


# --------------------------------------------------------------------------- Idempotency-Key

IDEMPOTENCY = "http_idempotency"  # one document per (caller, key): the command it published
_NS = uuid.UUID("0f9b8e2a-4c61-4d1e-8f57-2b9c0a6d3e71")

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        pattern=r"^[!-~]+$",
        description="A key of the client's choosing: a retry with the same key and body publishes "
        "no second command and answers the first one's command_id",
    ),
]


class Remembered(BaseModel):
    command_id: str
    type: str
    topic: str
    fingerprint: str = Field(description="sha256 of the command type, key and data")


def fingerprint(event_type: str, data: dict[str, Any], key: str | None) -> str:
    # The standard library's encoder: a sender's extra field may hold an integer beyond 64
    # bits, which orjson refuses.
    blob = json.dumps({"type": event_type, "key": key, "data": data}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def idempotency_record_id(service: str, caller: str, key: str) -> str:
    return f"{service}|{caller}|{key}"


def command_id_for(record_id: str) -> str:
    """The command's event id for an idempotency key: a retry that does reach the broker twice
    carries the same id, which the consumer's pipeline drops as a duplicate."""
    return str(uuid.uuid5(_NS, record_id))


async def remembered(db: AsyncIOMotorDatabase[Any], record_id: str) -> Remembered | None:
    doc = await db[IDEMPOTENCY].find_one({"_id": record_id})
    return Remembered.model_validate(doc) if doc else None


async def remember(db: AsyncIOMotorDatabase[Any], record_id: str, answer: Remembered) -> None:
    # Two identical requests may race: both published the same command id, one record stays.
    with contextlib.suppress(DuplicateKeyError):
        await db[IDEMPOTENCY].insert_one({"_id": record_id, **answer.model_dump()})
