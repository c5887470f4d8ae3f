"""Floating members brought back into organisational life, pure (issue 19).

A member away from the home branch under six months holds a 流动党员活动证 (attends and pays
dues at the zone's branch; no vote, cannot elect or be elected); at six months or more the
organisational relationship should move (中组部《关于加强和改进流动党员管理工作的意见》):
``zone.transfer-due`` is raised once per member and zone, and ``zone.record-transfer`` records
the move. Each member brought back keeps a history — when, from which home branch, the
activities attended since — which the party office counts, not only the current number.
Standing and the six-month line: ``shared.membership``.

Also the zone's own settings (``zone.configure``): the signing mode and the fixed day of its
主题党日 (《中国共产党支部工作条例（试行）》第十六条).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from shared.events.catalog import (
    Member,
    MemberStanding,
    SigningMode,
    TransferRefusal,
    ZoneSettingRefusal,
    ZoneSettings,
    ZoneStatus,
)
from shared.membership import away_since, is_floating, months_between, transfer_due_on

# --------------------------------------------------------------------------- transfer due


@dataclass(frozen=True)
class TransferDue:
    """What ``zone.transfer-due`` says of one member."""

    zone_id: str
    member_id: str
    name: str
    home_branch: str
    employment: str
    away_since: date
    due_on: date
    months_away: int


def transfers_due(
    zone_id: str, members: Iterable[Member], today: date, already_raised: Iterable[str] = ()
) -> list[TransferDue]:
    """Floating members away six months or more on ``today``, not transferred, and not yet
    raised for this zone (once per member and zone)."""
    raised = set(already_raised)
    out: list[TransferDue] = []
    for m in sorted(members, key=lambda m: m.member_id):
        due = transfer_due_on(m)
        start = away_since(m)
        if due is None or start is None or m.member_id in raised:
            continue
        moved = m.transferred_on is not None and m.transferred_on <= today
        # A 预备党员 away six months moves too: the transfer does not wait on the vote.
        if due <= today and not moved:
            out.append(
                TransferDue(
                    zone_id,
                    m.member_id,
                    m.name,
                    m.home_branch,
                    str(m.employment),
                    start,
                    due,
                    months_between(start, today),
                )
            )
    return out


def transfer_refusals(
    zone_status: str | None, member: Member | None, transferred_on: date
) -> list[TransferRefusal]:
    """Every reason ``zone.record-transfer`` is refused (empty: record it). ``zone_status``
    None: no such zone; ``member`` None: not on its roster."""
    out: list[TransferRefusal] = []
    if zone_status is None:
        return [TransferRefusal.UNKNOWN_ZONE]
    if zone_status == ZoneStatus.CLOSED:
        out.append(TransferRefusal.ZONE_CLOSED)
    if member is None:
        out.append(TransferRefusal.MEMBER_NOT_ON_ROSTER)
        return out
    if not is_floating(member):
        out.append(TransferRefusal.NOT_FLOATING)
    if member.transferred_on is not None:
        out.append(TransferRefusal.ALREADY_TRANSFERRED)
    start = away_since(member)
    if start is not None and transferred_on < start:
        out.append(TransferRefusal.TRANSFER_BEFORE_AWAY)
    return out


def transferred(member: Member, on: date, new_home_branch: str | None) -> Member:
    """The member once the organisational relationship has moved into the zone's branch."""
    return member.model_copy(
        update={"transferred_on": on, "home_branch": new_home_branch or member.home_branch}
    )


# --------------------------------------------------------------------------- history


@dataclass(frozen=True)
class BroughtBack:
    """One floating member brought back into organisational life by one zone."""

    zone_id: str
    member_id: str
    name: str
    employment: str
    from_home_branch: str
    away_since: date | None
    brought_back_on: date | None
    left_on: date | None
    transfer_due_on: date | None
    transferred_on: date | None
    activities_attended: int
    last_attended_on: date | None

    def standing_on(self, on: date) -> MemberStanding:
        if self.transferred_on is not None and self.transferred_on <= on:
            return MemberStanding.TRANSFERRED
        if self.transfer_due_on is not None and on >= self.transfer_due_on:
            return MemberStanding.TRANSFER_DUE
        return MemberStanding.CERTIFICATE

    def on_roster(self, on: date) -> bool:
        joined = self.brought_back_on is None or self.brought_back_on <= on
        return joined and (self.left_on is None or self.left_on > on)


def brought_back(
    zone_id: str,
    member: Member,
    attended_on: Iterable[date],
    left_on: date | None = None,
    original_home_branch: str | None = None,
) -> BroughtBack | None:
    """The history record of a floating member (None for staff). ``attended_on``: the local
    dates of the activities the member attended (present) in this zone; only those since the
    member was brought back count. ``original_home_branch``: the branch they came from when
    a transfer has since replaced ``home_branch``."""
    if not is_floating(member):
        return None
    since = member.joined_on
    days = sorted(d for d in attended_on if since is None or d >= since)
    return BroughtBack(
        zone_id=zone_id,
        member_id=member.member_id,
        name=member.name,
        employment=str(member.employment),
        from_home_branch=original_home_branch or member.home_branch,
        away_since=away_since(member),
        brought_back_on=since,
        left_on=left_on,
        transfer_due_on=transfer_due_on(member),
        transferred_on=member.transferred_on,
        activities_attended=len(days),
        last_attended_on=days[-1] if days else None,
    )


@dataclass(frozen=True)
class BroughtBackFigures:
    """What the party office counts of the floating members brought back."""

    ever: int  # member-zone records, including those who have left
    members: int  # distinct members among them
    on_rosters: int  # still on a roster on the day
    left: int
    holding_certificate: int
    transfer_due: int
    transferred: int
    attended_any: int  # records with at least one activity attended
    attendances: int
    by_employment: dict[str, int]
    brought_back_in_period: int


def figures(
    records: Iterable[BroughtBack], on: date, period: tuple[date, date] | None = None
) -> BroughtBackFigures:
    """The figures on a day; ``period`` (first, last) also counts those brought back within it."""
    rs = list(records)
    current = [r for r in rs if r.on_roster(on)]
    by_employment: dict[str, int] = {}
    for r in rs:
        by_employment[r.employment] = by_employment.get(r.employment, 0) + 1
    in_period = [
        r
        for r in rs
        if period is not None
        and r.brought_back_on is not None
        and period[0] <= r.brought_back_on <= period[1]
    ]
    return BroughtBackFigures(
        ever=len(rs),
        members=len({r.member_id for r in rs}),
        on_rosters=len(current),
        left=sum(1 for r in rs if r.left_on is not None and r.left_on <= on),
        holding_certificate=sum(1 for r in current if r.standing_on(on) is MemberStanding.CERTIFICATE),
        transfer_due=sum(1 for r in current if r.standing_on(on) is MemberStanding.TRANSFER_DUE),
        transferred=sum(1 for r in rs if r.transferred_on is not None and r.transferred_on <= on),
        attended_any=sum(1 for r in rs if r.activities_attended > 0),
        attendances=sum(r.activities_attended for r in rs),
        by_employment=dict(sorted(by_employment.items())),
        brought_back_in_period=len(in_period),
    )


# --------------------------------------------------------------------------- zone settings

SIGNING_MODES = {m.value for m in SigningMode}


def settings_refusals(
    zone_status: str | None,
    current: ZoneSettings,
    signing: str | None,
    theme_party_day: int | None,
) -> list[ZoneSettingRefusal]:
    """Every reason ``zone.configure`` is refused (empty: apply it)."""
    if zone_status is None:
        return [ZoneSettingRefusal.UNKNOWN_ZONE]
    out: list[ZoneSettingRefusal] = []
    if zone_status == ZoneStatus.CLOSED:
        out.append(ZoneSettingRefusal.ZONE_CLOSED)
    if signing is not None and signing not in SIGNING_MODES:
        out.append(ZoneSettingRefusal.UNKNOWN_SIGNING_MODE)
    if theme_party_day is not None and not 1 <= theme_party_day <= 31:
        out.append(ZoneSettingRefusal.THEME_DAY_OUT_OF_RANGE)
    if not out:
        unchanged_signing = signing is None or signing == current.signing
        unchanged_day = theme_party_day is None or theme_party_day == current.theme_party_day
        if unchanged_signing and unchanged_day:
            out.append(ZoneSettingRefusal.NOTHING_TO_CHANGE)
    return out


def configured(current: ZoneSettings, signing: str | None, theme_party_day: int | None) -> ZoneSettings:
    update: dict[str, object] = {}
    if signing is not None:
        update["signing"] = SigningMode(signing)
    if theme_party_day is not None:
        update["theme_party_day"] = theme_party_day
    return current.model_copy(update=update)
