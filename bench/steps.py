"""Where each running service's time went: its own metrics, read from ``/metrics``.

    PBZ_PORT_OFFSET=... .venv/bin/python -m bench.steps

Run while the services run (``make bench`` runs it at the end of the demo month, before it
stops them). Per service: the messages it handled, the seconds its handlers took, and the
seconds in each store and broker step of the pipeline (``pbz_pipeline_step_seconds``: read,
record, apply, publish, done, forward, commit) with how many times each ran and the mean.
Seconds are summed over the run; the steps of different partitions do not overlap (they run
one after another by default), so the sum is the service's busy time in that step.
"""

from __future__ import annotations

from collections import defaultdict

import httpx
import typer
from prometheus_client.parser import text_string_to_metric_families

from services.simulator.__main__ import PORTS
from shared.settings import ServiceSettings

STEPS = ("read", "record", "apply", "publish", "done", "forward", "commit")


def figures(text: str, service: str | None = None) -> dict[str, dict[str, float]]:
    """{"handled": {"count"}, "handlers": {"sum", "count"}, step: {"sum", "count"}} from a scrape
    (of ``service`` only, when one process holds several)."""
    out: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if service is not None and s.labels.get("service") != service:
                continue
            if s.name == "pbz_events_consumed_total":
                out["handled"]["count"] += s.value
            elif s.name in ("pbz_handler_seconds_sum", "pbz_handler_seconds_count"):
                out["handlers"][s.name.rsplit("_", 1)[1]] += s.value
            elif s.name.startswith("pbz_pipeline_step_seconds_") and s.name.endswith(("_sum", "_count")):
                out[s.labels["step"]][s.name.rsplit("_", 1)[1]] += s.value
    return out


def line(name: str, f: dict[str, dict[str, float]]) -> str:
    parts = [f"{name:<17} {f['handled']['count']:7.0f} msgs, handlers {f['handlers']['sum']:6.1f} s"]
    for step in STEPS:
        n = f[step]["count"] if step in f else 0
        if n:
            parts.append(f"{step} {f[step]['sum']:5.1f} s/{n:.0f} ({1000 * f[step]['sum'] / n:.1f} ms)")
    return "; ".join(parts)


def main() -> None:
    offset = ServiceSettings().port_offset
    for name, port in PORTS.items():
        try:
            text = httpx.get(f"http://127.0.0.1:{port + offset}/metrics", timeout=10).text
        except httpx.HTTPError as e:
            print(f"{name:<17} not reachable ({type(e).__name__})")
            continue
        print(line(name, figures(text)))


if __name__ == "__main__":
    typer.run(main)
