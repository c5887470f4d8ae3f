"""The contract documents: `docs/events.md` is generated from the catalogue and must be in
step with it, and every type of the base contract (`../shared/spec/EVENTS.md`) stays valid
on its topic."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from shared.events import REGISTRY
from shared.events.docs import DOC, render

BASE = Path(__file__).resolve().parents[3] / "shared" / "spec" / "EVENTS.md"


def test_docs_events_md_is_generated_from_the_catalogue() -> None:
    assert DOC.exists(), "docs/events.md is missing: run `python -m shared.events.docs`"
    assert DOC.read_text() == render(), "docs/events.md is stale: run `python -m shared.events.docs`"


def base_types() -> dict[str, str]:
    """type -> topic, read from the base contract's tables and lists."""
    text = BASE.read_text()
    found: dict[str, str] = {}
    topic = ""
    for line in text.splitlines():
        if m := re.match(r"^### `([a-z.]+)`", line):
            topic = m.group(1)
        for t in re.findall(r"`([a-z]+\.[a-z-]+)`", line):
            if t != topic and not t.startswith(("ent.", "pbz.")) and "." in t:
                found.setdefault(t, topic)
    return found


@pytest.mark.skipif(not BASE.exists(), reason="../shared/spec is not beside this checkout")
def test_every_base_contract_type_is_in_the_catalogue_on_its_topic() -> None:
    types = base_types()
    assert len(types) >= 40, types
    for event_type, topic in types.items():
        assert event_type in REGISTRY, f"{event_type} of EVENTS.md is missing from the catalogue"
        assert REGISTRY[event_type].topic.value == topic, event_type
