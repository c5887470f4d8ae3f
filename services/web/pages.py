"""The HTML pages: server-rendered (Jinja2), in the person's language, with their data read
through the services' APIs under their own token. A refusal by a service is shown as a
refusal (403 with its reason), never as empty data."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from starlette.exceptions import HTTPException as StarletteHTTPException

from . import domain, i18n, views
from .client import ACTIVITIES, PERMITS, ZONES, Invalid, NotFound, Refused, Services, Unavailable, at
from .signin import Identity, SignInRequired, User, csrf_ok, csrf_token, safe_next

log = logging.getLogger("pbz.web.pages")
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
LANG_COOKIE = "pbz_lang"
# A gas reading's name as the standard writes it (the same in both languages).
READINGS = {
    "o2_pct": "O₂",
    "lel_pct": "LEL",
    "flammable_vol_pct": i18n.N_("Flammable gas"),
    "h2s_mg_m3": "H₂S",
    "co_mg_m3": "CO",
}


def script_json(text: str) -> Markup:
    """JSON inside a <script> element: no "<" can close it (a zone's name is data)."""
    return Markup(text.replace("<", "\\u003c"))


templates.env.filters["script_json"] = script_json


def translator(request: Request) -> i18n.Translator:
    settings = request.app.state.settings
    locale = i18n.pick(request.cookies.get(LANG_COOKIE), settings.web_default_locale)
    return i18n.Translator(locale=locale, tz=request.app.state.tz)


def render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    t = translator(request)
    settings = request.app.state.settings
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    base = {
        "t": t,
        "_": t.gettext,
        "code": t.code,
        "locale": t.locale,
        "html_lang": i18n.HTML_LANG[t.locale],
        "languages": i18n.LANGUAGE_NAMES,
        "here": here,
        "user": request.session.get("member_id"),
        "roles": request.session.get("roles", []),
        "csrf": csrf_token(request) if request.session.get("member_id") else "",
        "refresh_ms": int(settings.web_refresh_seconds * 1000),
    }
    return templates.TemplateResponse(request, name, {**base, **context}, status_code=status)


def services(request: Request) -> Services:
    s: Services = request.app.state.services
    return s


async def signed_in(request: Request) -> User:
    identity: Identity = request.app.state.identity
    return await identity.user(request)


def refusal(request: Request, reason: str, status: int = 403) -> HTMLResponse:
    return render(request, "refused.html", status=status, reason=reason)


# --------------------------------------------------------------------------- sign-in, language


async def home(request: Request) -> Response:
    if "member_id" not in request.session:
        return render(request, "home.html")
    roles = set(request.session.get("roles", []))
    target = "/dashboard" if "party_office" in roles else "/inbox" if "zone_member" in roles else "/permits"
    return RedirectResponse(target, status_code=303)


async def login(request: Request, next: str = "/") -> Response:
    identity: Identity = request.app.state.identity
    response: Response = await identity.start(request, safe_next(next))
    return response


async def callback(request: Request) -> Response:
    identity: Identity = request.app.state.identity
    try:
        target = await identity.finish(request)
    except Exception as e:  # a replayed or forged callback, a provider error: sign in again
        log.warning("sign-in not completed (%s)", type(e).__name__)
        request.session.clear()
        return render(request, "refused.html", status=400, reason="signin_failed")
    return RedirectResponse(target, status_code=303)


async def logout(request: Request) -> Response:
    form = await request.form()
    if not csrf_ok(request, form.get("csrf_token")):
        return refusal(request, "csrf_failed")
    identity: Identity = request.app.state.identity
    id_token = request.session.get("id_token")
    request.session.clear()
    return RedirectResponse(await identity.end_session_url(id_token), status_code=303)


async def language(request: Request, locale: str, next: str = "/") -> Response:
    """Switch the language and go back to the same page."""
    response = RedirectResponse(safe_next(next), status_code=303)
    if locale in i18n.LOCALES:
        response.set_cookie(LANG_COOKIE, locale, max_age=365 * 86400, httponly=True, samesite="lax")
    return response


# --------------------------------------------------------------------------- pages


def month(period: str | None) -> str | None:
    """A month asked for in the address (YYYY-MM); anything else: the running month."""
    return period if period is not None and domain.PERIOD.match(period) else None


async def dashboard_page(request: Request, period: str | None = None) -> Response:
    user = await signed_in(request)
    if not user.has("party_office"):
        return refusal(request, "role_required")
    state = request.app.state
    data = await views.dashboard(services(request), user.token, state.tz, state.permit_details, month(period))
    t = translator(request)
    return render(request, "dashboard.html", d=data, labels=json.dumps(chart_labels(t), ensure_ascii=False))


def chart_labels(t: i18n.Translator) -> dict[str, Any]:
    """Every label the dashboard's charts show, in the person's language (the charts' script
    has no strings of its own)."""
    kinds = ("mode", "rule", "block", "severity", "grade_result")
    labels: dict[str, Any] = {k: {c: t.gettext(m) for c, m in i18n.CODE_LABELS[k].items()} for k in kinds}
    labels["funnel"] = {
        "requested": t.gettext("Requested"),
        "approved": t.gettext("Approved"),
        "issued": t.gettext("Issued"),
        "closed": t.gettext("Closed"),
    }
    labels["series"] = {
        "within": t.gettext("Fast track, within SLA"),
        "late": t.gettext("Fast track, late"),
        "sequential": t.gettext("Old sequential sign-off"),
        "hours": t.gettext("hours"),
        "days": t.gettext("days"),
        "permits": t.gettext("permits"),
        "drawings": t.gettext("drawings"),
        "covered": t.gettext("Covered"),
        "uncovered": t.gettext("Not covered"),
        "met": t.gettext("Share of the requirement met"),
    }
    return labels


async def zones_page(request: Request) -> Response:
    user = await signed_in(request)
    zones = await services(request).get(ZONES, "/zones", user.token)
    return render(request, "zones.html", zones=zones, comparison=set(domain.comparison(zones).zone_ids))


async def zone_page(request: Request, zone_id: str, period: str | None = None) -> Response:
    user = await signed_in(request)
    data = await views.zone_page(services(request), user.token, zone_id, request.app.state.tz, month(period))
    return render(request, "zone.html", **data)


STATUSES = tuple(i18n.CODE_LABELS["permit_status"])


async def permits_page(request: Request, status: str | None = None, page: int = 1) -> Response:
    """Permits, newest requests last, a page at a time (HSE's and the party office's list)."""
    user = await signed_in(request)
    chosen = status if status in STATUSES else None
    number = max(1, min(page, 100_000))
    found = await services(request).get(
        PERMITS, "/permits", user.token, status=chosen, page=number, page_size=50
    )
    pages = max(1, -(-found["total"] // 50))
    return render(
        request, "permits.html", found=found, chosen=chosen, statuses=STATUSES, page=number, pages=pages
    )


async def inbox_page(request: Request) -> Response:
    user = await signed_in(request)
    box = await views.inbox(services(request), user.token, user.member_id)
    for item in box["items"]:
        item["sla_state"] = domain.sla_state(item.get("sla_left_minutes"))
    return render(request, "inbox.html", inbox=box)


async def permit_page(request: Request, permit_id: str) -> Response:
    user = await signed_in(request)
    card = await views.permit_card(services(request), user.token, permit_id, user.member_id)
    return render(request, "permit.html", sent=request.query_params.get("sent"), readings=READINGS, **card)


async def permit_sign(request: Request, permit_id: str) -> Response:
    """Approve or reject (``permit.sign`` through the permit service, as this person)."""
    user = await signed_in(request)
    form = await request.form()
    if not csrf_ok(request, form.get("csrf_token")):
        return refusal(request, "csrf_failed")
    decision = str(form.get("decision", ""))
    if decision not in ("approve", "reject"):
        return refusal(request, "invalid_request", status=400)
    body: dict[str, Any] = {
        "member_id": user.member_id,
        "role": str(form.get("role", "")),
        "decision": decision,
        "comment": str(form.get("comment") or "") or None,
        "signed_at": (await services(request).now(PERMITS)).isoformat(),
    }
    site = str(form.get("site_presence") or "").strip()
    if site:
        body["site_presence"] = site
    await services(request).post(PERMITS, at("permits", permit_id, "sign"), user.token, body, _key(form))
    return RedirectResponse(f"{at('permits', permit_id)}?sent={decision}", status_code=303)


async def permit_checkin(request: Request, permit_id: str) -> Response:
    """The zone's morning check-in (早碰头, ``activity.record``), recorded by this person on site."""
    user = await signed_in(request)
    form = await request.form()
    if not csrf_ok(request, form.get("csrf_token")):
        return refusal(request, "csrf_failed")
    permit = await services(request).get(PERMITS, at("permits", permit_id), user.token)
    now = await services(request).now(ACTIVITIES)
    record = {
        "activity_id": f"checkin-{uuid.uuid4().hex[:12]}",
        "zone_id": permit["zone_id"],
        "kind": "daily_checkin",
        "slot": "morning",
        "started_at": now.isoformat(),
        "ended_at": (now + timedelta(minutes=15)).isoformat(),
        "location": permit.get("area") or "",
        "topic": translator(request).gettext("Morning check-in"),
        "organizer_member_id": user.member_id,
        "attendee_member_ids": [user.member_id],
    }
    await services(request).post(ACTIVITIES, "/activities", user.token, record, _key(form))
    return RedirectResponse(f"{at('permits', permit_id)}?sent=checkin", status_code=303)


# A step on site: (form, this person's member id, the permit service's now) -> the command's body.
StepBody = Callable[[Any, str, str], dict[str, Any]]


def site_step(route: str, sent: str, body: StepBody) -> Callable[[Request, str], Awaitable[Response]]:
    """The page route of one step recorded on site through the permit service's ``route``, as
    this person; the card then says ``sent`` and shows the step taken, or refused and why."""

    async def endpoint(request: Request, permit_id: str) -> Response:
        user = await signed_in(request)
        form = await request.form()
        if not csrf_ok(request, form.get("csrf_token")):
            return refusal(request, "csrf_failed")
        now = (await services(request).now(PERMITS)).isoformat()
        await services(request).post(
            PERMITS, at("permits", permit_id, route), user.token, body(form, user.member_id, now), _key(form)
        )
        return RedirectResponse(f"{at('permits', permit_id)}?sent={sent}", status_code=303)

    endpoint.__name__ = f"permit_{route.replace('-', '_')}"
    return endpoint


def _key(form: Any) -> str | None:
    """The form's idempotency key (a retried post is one command)."""
    return str(form.get("key") or "") or None


def _site(form: Any) -> str | None:
    """The work area's code from the terminal or the scanned QR/NFC tag."""
    return str(form.get("site_presence") or "").strip() or None


# GB 30871-2022's steps on site: the guardian in (监护人到岗) and out (leaving stops the work,
# §4.10 f), the safety briefing to the crew's member chosen on the form (安全交底, §4.4), the
# shift leader's ticket check (验票, Table A.1).
SITE_STEPS: dict[str, tuple[str, str, StepBody]] = {
    "guardian-checkin": (
        "check-in",
        "guardian",
        lambda form, me, now: {"member_id": me, "site_presence": _site(form), "checked_in_at": now},
    ),
    "guardian-checkout": (
        "check-out",
        "checkout",
        lambda form, me, now: {"member_id": me, "checked_out_at": now},
    ),
    "brief": (
        "brief",
        "briefing",
        lambda form, me, now: {
            "member_id": me,
            "receiver_member_id": str(form.get("receiver_member_id") or ""),
            "briefed_at": now,
            "site_presence": _site(form),
        },
    ),
    "check-ticket": (
        "check-ticket",
        "ticket",
        lambda form, me, now: {"member_id": me, "checked_at": now, "site_presence": _site(form)},
    ),
}


async def permit_accept_completion(request: Request, permit_id: str) -> Response:
    """Completion acceptance (完工验收, ``permit.accept-completion`` through the permit service, as
    this person): accept with the site restored, or refuse with the reason."""
    user = await signed_in(request)
    form = await request.form()
    if not csrf_ok(request, form.get("csrf_token")):
        return refusal(request, "csrf_failed")
    decision = str(form.get("decision", ""))
    if decision not in ("approve", "reject"):
        return refusal(request, "invalid_request", status=400)
    body: dict[str, Any] = {
        "member_id": user.member_id,
        "decision": decision,
        "guards_restored": form.get("guards_restored") == "on",
        "housekeeping_done": form.get("housekeeping_done") == "on",
        "reason": str(form.get("reason") or "") or None,
        "decided_at": (await services(request).now(PERMITS)).isoformat(),
    }
    await services(request).post(
        PERMITS,
        at("permits", permit_id, "accept-completion"),
        user.token,
        body,
        _key(form),
    )
    return RedirectResponse(f"{at('permits', permit_id)}?sent=completion", status_code=303)


async def permit_document(request: Request, permit_id: str) -> Response:
    """The printable permit as the permit service renders it (GB 30871-2022's form)."""
    user = await signed_in(request)
    html, headers = await services(request).text(PERMITS, at("permits", permit_id, "document"), user.token)
    out = {"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:"}
    if "x-content-sha256" in headers:
        out["X-Content-SHA256"] = headers["x-content-sha256"]
    return HTMLResponse(html, headers=out)


# --------------------------------------------------------------------------- errors


async def on_sign_in(request: Request, exc: Exception) -> Response:
    if request.url.path.startswith("/api/"):
        return api_problem(401, "token_missing", "sign in first")
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    back = quote(here if request.method == "GET" else "/", safe="")
    return RedirectResponse(f"/login?next={back}", status_code=303)


def api_problem(status: int, reason: str, detail: str) -> Response:
    from fastapi.responses import JSONResponse

    return JSONResponse({"detail": detail, "reason": reason}, status_code=status)


async def on_service(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Refused | NotFound | Unavailable | Invalid)
    api = request.url.path.startswith("/api/")
    if isinstance(exc, Refused):
        if exc.status == 401:
            request.session.clear()
            return await on_sign_in(request, exc)
        status = 403
    elif isinstance(exc, NotFound):
        status = 404
    elif isinstance(exc, Invalid):
        status = 400
    else:
        status = 503
    if api:
        return api_problem(status, exc.reason, f"{exc.service} answered {exc.status}")
    name = "refused.html" if status in (403, 400) else "problem.html"
    return render(request, name, status=status, reason=exc.reason, service=exc.service)


async def on_http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if request.url.path.startswith("/api/"):
        return api_problem(
            exc.status_code, "not_found" if exc.status_code == 404 else "invalid_request", str(exc.detail)
        )
    return render(request, "problem.html", status=exc.status_code, reason="not_found", service="web")


ROUTES: list[tuple[str, str, Any]] = [
    ("GET", "/", home),
    ("GET", "/login", login),
    ("GET", "/auth/callback", callback),
    ("POST", "/logout", logout),
    ("GET", "/lang/{locale}", language),
    ("GET", "/dashboard", dashboard_page),
    ("GET", "/zones", zones_page),
    ("GET", "/zones/{zone_id}", zone_page),
    ("GET", "/inbox", inbox_page),
    ("GET", "/permits", permits_page),
    ("GET", "/permits/{permit_id}", permit_page),
    ("POST", "/permits/{permit_id}/sign", permit_sign),
    ("POST", "/permits/{permit_id}/checkin", permit_checkin),
    *(("POST", f"/permits/{{permit_id}}/{path}", site_step(*step)) for path, step in SITE_STEPS.items()),
    ("POST", "/permits/{permit_id}/accept-completion", permit_accept_completion),
    ("GET", "/permits/{permit_id}/document", permit_document),
]


def install(app: FastAPI) -> None:
    """The pages (not in the OpenAPI document: HTML for people) and the error pages."""
    router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)
    for method, path, endpoint in ROUTES:
        router.add_api_route(path, endpoint, methods=[method])
    app.include_router(router)
    app.add_exception_handler(SignInRequired, on_sign_in)
    for exc in (Refused, NotFound, Unavailable, Invalid):
        app.add_exception_handler(exc, on_service)
    app.add_exception_handler(StarletteHTTPException, on_http)
