"""The permit as the standard's form (GB 30871-2022 Appendix A), printable HTML, and the SHA-256
of exactly those bytes: what ``GET /permits/{id}/document`` serves and ``GET /permits/{id}``
reports, so a printed or archived copy can be checked against the record (Appendix B.3: kept at
least one year). Deterministic: the same permit renders the same bytes.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from html import escape
from typing import Any

from shared.events.catalog import WorkClass

from .classes import FORM
from .model import PermitState

STYLE = (
    "body{font-family:'Noto Sans CJK SC','Microsoft YaHei',sans-serif;margin:2em;font-size:13px}"
    "table{border-collapse:collapse;width:100%;margin:.6em 0}td,th{border:1px solid #333;padding:3px 6px;"
    "text-align:left;vertical-align:top}th{background:#eee}h1{font-size:18px}h2{font-size:15px;margin-top:1.2em}"
    "@media print{body{margin:0}}"
)
GRADES = {
    "special": "特级",
    "first": "一级",
    "second": "二级",
    "third": "三级",
    "I": "Ⅰ级",
    "II": "Ⅱ级",
    "III": "Ⅲ级",
    "IV": "Ⅳ级",
}


def _t(value: Any, tz: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, datetime):
        return value.astimezone(tz).strftime("%Y-%m-%d %H:%M") if tz is not None else value.isoformat()
    return escape(str(value))


def _table(head: list[str], rows: list[list[Any]], tz: Any) -> str:
    if not rows:
        return "<p>—</p>"
    th = "".join(f"<th>{escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{_t(c, tz)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{th}</tr>{body}</table>"


def render(p: PermitState, tz: Any = None) -> str:
    form = FORM[WorkClass(p.work_class or "general")] if p.is_work else "施工图审查记录（审图）"
    parts = [
        "<!DOCTYPE html><html lang='zh-CN'><head><meta charset='utf-8'>",
        f"<title>{escape(form)} {escape(p.permit_id)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{escape(form)}</h1>",
        "<table>"
        + "".join(f"<tr><th>{escape(k)}</th><td>{_t(v, tz)}</td></tr>" for k, v in _fields(p, tz))
        + "</table>",
        *_signature_parts(p, tz),
        *_running_parts(p, tz),
        "<h2>记录 History</h2>",
        _table(
            ["时间 At", "事件 Event", "人 Who", "修订 Rev.", "说明 Detail"],
            [[h.at, h.type, h.actor, h.revision, _detail(h.detail)] for h in p.history],
            tz,
        ),
        "</body></html>",
    ]
    return "\n".join(parts)


def _fields(p: PermitState, tz: Any) -> list[list[Any]]:
    plan = p.plan
    grade = GRADES.get(p.grade or "", p.grade or "—")
    basis = f"（{'、'.join(p.grade_basis)}）" if p.grade_basis else ""
    return [
        ["编号 Permit", p.permit_id],
        ["状态 Status", p.status],
        ["修订 Revision", p.revision],
        ["作业 Work", p.title],
        ["项目 Project", p.project_id],
        ["协作区 Zone", p.zone_id],
        ["作业地点 Area", p.area],
        ["作业单位 Contractor", p.contractor_unit_id],
        ["级别 Grade", grade + basis],
        ["计划时间 Planned", f"{_t(plan.planned_start, tz)} — {_t(plan.planned_end, tz)}" if plan else "—"],
        ["有效期 Valid", f"{_t(p.valid_from, tz)} — {_t(p.valid_until, tz)}"],
        ["申请 Requested", p.requested_at],
        ["监护人 Guardian", p.guardian.member_id if p.guardian else None],
        ["关联作业票 Linked permits", "、".join(p.linked_permit_ids) or None],
    ]


def _signature_parts(p: PermitState, tz: Any) -> list[str]:
    return [
        "<h2>签字 Signatures</h2>",
        _table(
            ["角色 Role", "签字人 Member", "意见 Decision", "时间 At", "地点 On site", "说明 Comment"],
            [
                [s.role, s.member_id, s.decision, s.signed_at, s.site_presence, s.comment]
                for s in p.signatures
            ],
            tz,
        ),
        "<h2>安全交底与验票 Briefing and ticket check</h2>",
        _table(
            ["交底人 Giver", "接受交底人 Receiver", "时间 At"],
            [[p.briefing.giver_member_id, p.briefing.receiver_member_id, p.briefing.at]]
            if p.briefing
            else [],
            tz,
        ),
        _table(
            ["当班班长验票 Ticket checked by", "时间 At"],
            [[p.ticket_check.member_id, p.ticket_check.at]] if p.ticket_check else [],
            tz,
        ),
        "<h2>气体分析 Gas analysis</h2>",
        _table(
            [
                "编号 Test",
                "取样时间 Taken",
                "O₂ %vol",
                "可燃 %LEL",
                "可燃 %vol",
                "H₂S mg/m³",
                "CO mg/m³",
                "合格 Passed",
                "分析人 Tester",
            ],
            [
                [
                    r.test_id,
                    r.tested_at,
                    r.o2_pct,
                    r.lel_pct,
                    r.flammable_vol_pct,
                    r.h2s_mg_m3,
                    r.co_mg_m3,
                    "是" if r.passed else ("否" if r.passed is False else "—"),
                    r.tester,
                ]
                for r in p.gas_readings
            ],
            tz,
        ),
        "<h2>隔离 Isolations</h2>",
        _table(
            ["编号 Isolation", "方式 Kind", "部位 Point", "锁/牌 Lock", "确认 Applied", "恢复 Removed"],
            [
                [
                    i.isolation_id,
                    i.applied_kind or i.kind,
                    i.point,
                    i.lock_id,
                    f"{_t(i.applied_at, tz)} {i.applied_by or ''}",
                    f"{_t(i.removed_at, tz)} {i.removed_by or ''}",
                ]
                for i in p.isolations
            ],
            tz,
        ),
    ]


def _running_parts(p: PermitState, tz: Any) -> list[str]:
    parts = []
    if p.extensions:
        parts += [
            "<h2>延期 Extensions</h2>",
            _table(
                ["原有效期 Was", "延至 Until", "审批人 By", "时间 At", "原因 Why"],
                [[e.previous_until, e.valid_until, e.by, e.at, e.reason] for e in p.extensions],
                tz,
            ),
        ]
    if p.handovers:
        parts += [
            "<h2>交接班 Handovers</h2>",
            _table(
                ["交接时间 Shift change", "岗位 Position", "方 Side", "人 Member", "确认 At"],
                [[h.shift_change_at, h.position, h.side, h.member_id, h.at] for h in p.handovers],
                tz,
            ),
        ]
    if p.comments:
        parts += [
            "<h2>审图意见 Review comments</h2>",
            _table(
                ["编号", "图纸 Sheet", "问题 Issue", "提出 By", "轮次 Round", "解决 Resolved in"],
                [
                    [c.comment_id, c.sheet, c.issue, c.member_id, c.round, c.resolved_in_revision]
                    for c in p.comments
                ],
                tz,
            ),
        ]
    if p.completion is not None:
        c = p.completion
        rows = [["完工申请 Declared", c.declared_by, c.declared_at, ""]]
        rows += [["验收不通过 Refused", r.by, r.at, r.reason] for r in c.refusals]
        if c.accepted_by:
            rows.append(["完工验收 Accepted", c.accepted_by, c.accepted_at, ""])
        parts += [
            "<h2>完工验收 Completion acceptance</h2>",
            _table(["", "人 Who", "时间 At", "说明"], rows, tz),
        ]
    return parts


def _detail(detail: dict[str, Any]) -> str:
    return "; ".join(f"{k}={v}" for k, v in sorted(detail.items()) if v not in (None, [], {}, ""))


def sha256(html: str) -> str:
    return hashlib.sha256(html.encode("utf-8")).hexdigest()
