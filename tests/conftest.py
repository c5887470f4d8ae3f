from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

import tests.support as support
from tests.support import infra_up


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "/integration/" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(autouse=True)
def _needs_infra(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("integration") and not infra_up():
        pytest.fail("integration tests need the local Kafka and FerretDB: run `make infra-up` first")


@pytest.fixture(scope="session", autouse=True)
async def _signed_in_people() -> AsyncIterator[None]:
    """Close the session's sign-in cache (tests.support.identity) at the end."""
    yield
    if support._identity is not None:
        await support._identity.aclose()
        support._identity = None


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The figures the fault tests measured (events, effects, lost, doubled, copies, kills,
    seconds), whatever the verbosity."""
    from tests.procs import FIGURES

    if FIGURES:
        terminalreporter.section("fault figures")
        for line in FIGURES:
            terminalreporter.write_line(line)
