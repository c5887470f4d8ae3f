"""When the consumer lag makes a service not ready: above the setting *and* still growing."""

from __future__ import annotations

import pytest

from shared.lag import falling_behind


@pytest.mark.parametrize(
    ("totals", "ready"),
    [
        ([], True),
        ([5000], True),  # one sample says nothing about a trend
        ([10, 20, 40, 80], True),  # growing, but under the limit
        ([1200, 1300, 1400, 1500], False),  # above the limit and growing at every sample
        ([900, 1100, 1300, 1500], False),  # crossed the limit while growing
        ([5000, 4000, 3000, 2000], True),  # a backlog being worked off after a restart
        ([1200, 1300, 1300, 1500], True),  # it held once: not falling behind at each sample
        ([1200, 1500], True),  # fewer samples than the setting asks for
    ],
)
def test_falling_behind(totals: list[int], ready: bool) -> None:
    assert falling_behind(totals, limit=1000, samples=3) is not ready


def test_the_setting_of_samples_is_respected() -> None:
    assert falling_behind([1001, 1002], limit=1000, samples=1)
    assert not falling_behind([1001, 1002], limit=1000, samples=2)
    assert not falling_behind([1, 2, 3], limit=0, samples=0)  # 0 samples: never
