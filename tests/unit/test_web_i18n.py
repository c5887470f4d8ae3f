"""Every string of the web app is a message of its catalogue: the messages extracted from its
code and templates (Babel, as `pybabel extract -F services/web/babel.cfg -k N_` would) are
exactly the Chinese catalogue's, each translated, with the same placeholders; numbers and
dates are formatted per locale, in the zone's time zone."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.messages.extract import extract_from_dir

from services.web import i18n

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "services" / "web"
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def extracted() -> set[str]:
    method_map = [("**.py", "python"), ("templates/**.html", "jinja2")]
    keywords = {"_": None, "N_": None, "gettext": None}
    return {
        str(message)
        for _, _, message, _, _ in extract_from_dir(str(WEB), method_map, keywords=keywords)
        if isinstance(message, str) and message
    }


def test_the_chinese_catalogue_translates_every_message_and_only_those() -> None:
    messages = extracted()
    assert len(messages) > 200
    catalogue = i18n.catalogue("zh_CN")
    assert catalogue is not None
    translated = {str(m.id): str(m.string) for m in catalogue if m.id}
    assert sorted(messages - set(translated)) == [], "run pybabel extract and translate the new messages"
    assert sorted(set(translated) - messages) == [], "messages no longer used"
    for msgid, text in translated.items():
        assert text, f"untranslated: {msgid!r}"
        assert set(PLACEHOLDER.findall(msgid)) == set(PLACEHOLDER.findall(text)), msgid


def test_every_code_label_is_a_message() -> None:
    messages = extracted()
    for kind, labels in i18n.CODE_LABELS.items():
        for code, label in labels.items():
            assert label in messages, (kind, code)


def test_numbers_dates_and_durations_per_locale_in_the_zone_s_time_zone() -> None:
    tz = ZoneInfo("Asia/Shanghai")
    zh, en = i18n.Translator("zh_CN", tz), i18n.Translator("en", tz)
    when = datetime(2026, 4, 30, 23, 30, tzinfo=UTC)  # 1 May, 07:30 in Shanghai
    assert zh.datetime(when) == "2026/5/1 07:30"
    assert en.datetime(when.isoformat()) == "5/1/26, 7:30\u202fAM"
    assert zh.date(when) == "2026年5月1日" and en.date(when) == "May 1, 2026"
    assert zh.number(1234567) == en.number(1234567) == "1,234,567"
    assert en.number(2.345, 1) == "2.3" and zh.percent(0.954) == "95%"
    assert zh.duration(125) == "2小时5分" and en.duration(-30) == "0 h 30 min late"
    assert zh.code("permit_status", "issued") == "已签发" and en.code("permit_status", "issued") == "Issued"
    assert zh.code("permit_status", "a_new_status") == "a_new_status"  # a code without a label shows itself
    assert i18n.pick("fr", "zh_CN") == "zh_CN" and i18n.pick("en", "zh_CN") == "en"


def test_every_refusal_and_command_of_the_permit_service_has_a_label() -> None:
    """The card says why a step was refused in words: every CommandRefusal of the contract and
    every permit command has its label (a new code without one would show as the bare code)."""
    from shared.events.catalog import REGISTRY, CommandRefusal, Topic

    assert set(i18n.CODE_LABELS["refusal"]) == {c.value for c in CommandRefusal}
    commands = {t for t, spec in REGISTRY.items() if spec.topic == Topic.PERMIT_COMMANDS}
    assert set(i18n.CODE_LABELS["command"]) == commands
