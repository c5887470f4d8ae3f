"""``pbz``: the operators' and integrators' command line.

    pbz publish TYPE --data '{...}'     an event, checked against the catalogue
    pbz tail TOPIC...                   follow topics, one line per event
    pbz dlq list | show N | redrive     dead letters, and their way back
    pbz replay SERVICE --from-beginning rebuild a service's store from its topics
    pbz lag / pbz status                consumer lag; health, readiness and clocks
    pbz token PERSON                    an access token for a demo person

Settings are the services' ``PBZ_`` environment variables (``.env.example``); PBZ_PORT_OFFSET
moves the local addresses as it moves the services'.
"""

from __future__ import annotations

import typer

from . import dlq, lag, publish, replay, tail, token

app = typer.Typer(
    name="pbz",
    help="Operate the party-building collaboration zones: publish, tail, dead letters, replay, lag, status, tokens.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
for module in (publish, tail, dlq, replay, lag, token):
    module.register(app)


def main() -> None:
    import logging
    import os

    # The clients' own connection errors are explained in one line by the command itself.
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if os.environ.get("PBZ_DEBUG", "") in ("", "0"):
        logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    app()


__all__ = ["app", "main"]
