"""The month's lock-step wait: done only when every group is at 0 in one look (a group that
caught up may fall behind again on what another service emitted), timed per group, and a
wait that never ends is reported with the lag. The groups' lag is scripted: no Kafka."""

from __future__ import annotations

import pytest

from services.simulator.catch_up import CatchUp, Waited


class Scripted(CatchUp):
    def __init__(
        self, looks: list[dict[str, int]], timeout_s: float = 120.0, waited: Waited | None = None
    ) -> None:
        super().__init__("127.0.0.1:1", {"zone": ["t1"], "permit": ["t1", "t2"]}, timeout_s, waited)
        self.looks = looks
        self.asked = 0

    async def lag(self) -> dict[str, int]:
        look = self.looks[min(self.asked, len(self.looks) - 1)]
        self.asked += 1
        return look


async def test_waits_until_every_group_is_at_zero_in_the_same_look() -> None:
    # zone catches up first, then is behind again (what permit emitted), then both are at 0.
    catch_up = Scripted([{"zone": 0, "permit": 3}, {"zone": 2, "permit": 0}, {"zone": 0, "permit": 0}])
    seconds = await catch_up.wait()
    assert catch_up.asked == 3
    assert seconds > 0
    assert catch_up.waited.total_s == pytest.approx(seconds)
    # Each group's time counts until the first look that found it caught up.
    assert catch_up.waited.by_group_s["zone"] < catch_up.waited.by_group_s["permit"]


async def test_the_waits_add_up_in_the_callers_figures() -> None:
    figures = Waited(total_s=1.0)  # the player's, from earlier waits
    catch_up = Scripted([{"zone": 0, "permit": 0}], waited=figures)
    first = await catch_up.wait()
    second = await catch_up.wait()
    assert catch_up.asked == 2
    assert figures.total_s == pytest.approx(1.0 + first + second)
    assert set(figures.by_group_s) == {"zone", "permit"}


async def test_a_wait_that_does_not_end_says_the_lag() -> None:
    catch_up = Scripted([{"zone": 0, "permit": 5}], timeout_s=0.02)
    with pytest.raises(TimeoutError, match="'permit': 5"):
        await catch_up.wait()
