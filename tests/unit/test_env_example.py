"""`.env.example` is the one list of settings: every setting of every service is in it, with
its default, and nothing in it is unknown."""

from __future__ import annotations

import json
from pathlib import Path

from services.activity_log.app import definition as activity_log
from services.assessment.app import definition as assessment
from services.permit_fasttrack.app import definition as permit_fasttrack
from services.web.settings import WebSettings
from services.zone_registry.app import definition as zone_registry
from shared.cli.common import CliSettings

EXAMPLE = Path(__file__).resolve().parents[2] / ".env.example"


def listed() -> dict[str, str]:
    pairs = (line.split("=", 1) for line in EXAMPLE.read_text().splitlines() if line and line[0] != "#")
    return {k: v for k, v in pairs}


def test_every_setting_is_listed_with_its_default_and_nothing_else() -> None:
    example = listed()
    known: set[str] = set()
    owners = [(d.title, d.settings_cls) for d in (zone_registry, activity_log, permit_fasttrack, assessment)]
    for title, settings_cls in [*owners, ("web", WebSettings), ("pbz command line", CliSettings)]:
        defaults = settings_cls.model_construct()
        for name in settings_cls.model_fields:
            if name == "instance_suffix":
                continue  # tests only
            var = f"PBZ_{name.upper()}"
            known.add(var)
            assert var in example, f"{var} ({title}) missing from .env.example"
            default = getattr(defaults, name)
            shown = example[var]
            if isinstance(default, bool):
                assert shown == str(default).lower(), var  # as pydantic reads it: true/false
            elif isinstance(default, dict | list):
                assert json.loads(shown) == default, var
            elif isinstance(default, float | int) and not isinstance(default, bool):
                assert float(shown) == float(default), var
            else:
                assert shown == str(getattr(default, "value", default)), var
    assert not set(example) - known, f"unknown settings in .env.example: {sorted(set(example) - known)}"
