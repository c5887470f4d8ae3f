"""The partitions' lanes (``Pipeline.feed``): a fetch is queued and the next one taken while
each partition handles its queue in order. No Kafka, no store: the batch step is replaced."""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka import TopicPartition

from tests.unit.test_pipeline_rules import _pipeline, _Record


def _records(tp: tuple[str, int], offsets: range) -> list[Any]:
    out = []
    for o in offsets:
        r = _Record(b"")
        r.topic, r.partition, r.offset = tp[0], tp[1], o
        out.append(r)
    return out


class _Steps:
    """Stands in for ``_partition_task``: records what each batch held, when, and beside what."""

    def __init__(self, pause: float = 0.02) -> None:
        self.pause = pause
        self.batches: list[tuple[tuple[str, int], list[int]]] = []
        self.running: set[tuple[str, int]] = set()
        self.overlapped: set[tuple[str, int]] = set()
        self.gate = asyncio.Event()
        self.gate.set()
        self.fail_once: set[int] = set()

    async def __call__(self, tp: TopicPartition, records: list[Any], consumer: Any) -> None:
        me = (tp.topic, tp.partition)
        self.running.add(me)
        try:
            await self.gate.wait()
            await asyncio.sleep(self.pause / 2)
            if self.running - {me}:  # halfway through the batch, another lane's is in hand
                self.overlapped.add(me)
            await asyncio.sleep(self.pause / 2)
            if records[0].offset in self.fail_once:
                self.fail_once.discard(records[0].offset)
                raise RuntimeError("a defect in a step")
            self.batches.append((me, [r.offset for r in records]))
        finally:
            self.running.discard(me)


def _lanes(**settings: Any) -> tuple[Any, _Steps]:
    pipeline = _pipeline(**settings)
    steps = _Steps()
    pipeline._partition_task = steps  # type: ignore[method-assign]
    return pipeline, steps


def test_lanes_are_the_default_and_a_fetch_at_a_time_is_a_setting() -> None:
    assert _pipeline().continuous
    assert not _pipeline(partitions="topic").continuous


def test_a_fetch_is_queued_and_each_partition_handles_its_records_in_order_beside_the_others() -> None:
    async def run() -> tuple[Any, _Steps, bool]:
        pipeline, steps = _lanes()
        await pipeline.feed(_records(("a", 0), range(0, 3)) + _records(("b", 1), range(10, 12)), None)
        returned_before_handled = not steps.batches
        await asyncio.sleep(0.005)  # the lanes have their first batches in hand
        await pipeline.feed(_records(("a", 0), range(3, 5)), None)
        await asyncio.wait_for(pipeline.idle(), 2)
        return pipeline, steps, returned_before_handled

    pipeline, steps, returned_before_handled = asyncio.run(run())
    assert returned_before_handled
    a = [o for tp, offsets in steps.batches if tp == ("a", 0) for o in offsets]
    assert a == [0, 1, 2, 3, 4]
    # What arrived while a batch was in hand is the next batch, as one.
    assert [offsets for tp, offsets in steps.batches if tp == ("a", 0)] == [[0, 1, 2], [3, 4]]
    assert steps.overlapped == {("a", 0), ("b", 1)}
    assert not pipeline._inflight


def test_a_lane_takes_at_most_a_batch_and_fetching_waits_while_too_much_is_held() -> None:
    async def run() -> tuple[_Steps, bool, bool]:
        pipeline, steps = _lanes(batch_max_records=2)  # a lane's batch: 2; held at most 10
        steps.gate.clear()
        await pipeline.feed(_records(("a", 0), range(0, 10)), None)
        second = asyncio.create_task(pipeline.feed(_records(("a", 0), range(10, 12)), None))
        await asyncio.sleep(0.05)
        waited = not second.done()
        steps.gate.set()
        await asyncio.wait_for(second, 2)
        await asyncio.wait_for(pipeline.idle(), 2)
        return steps, waited, pipeline._queued == 0

    steps, waited, empty = asyncio.run(run())
    assert waited and empty
    assert all(len(offsets) <= 2 for _, offsets in steps.batches)
    assert [o for _, offsets in steps.batches for o in offsets] == list(range(12))


def test_a_batch_whose_step_fails_is_handled_again_never_skipped() -> None:
    async def run() -> _Steps:
        pipeline, steps = _lanes()
        steps.fail_once = {0}
        await pipeline.feed(_records(("a", 0), range(0, 2)), None)
        await asyncio.wait_for(pipeline.idle(), 2)
        return steps

    steps = asyncio.run(run())
    assert steps.batches == [(("a", 0), [0, 1])]


def test_a_revoked_partition_drops_what_is_queued_and_lets_the_batch_in_hand_finish() -> None:
    async def run() -> tuple[_Steps, Any]:
        pipeline, steps = _lanes(batch_max_records=2)
        steps.gate.clear()
        await pipeline.feed(_records(("a", 0), range(0, 6)) + _records(("b", 0), range(0, 2)), None)
        await asyncio.sleep(0.01)  # both lanes have their first batch in hand
        steps.gate.set()
        await pipeline.partitions_revoked({TopicPartition("a", 0)}, 2)
        await asyncio.wait_for(pipeline.idle(), 2)
        return steps, pipeline

    steps, pipeline = asyncio.run(run())
    # Offsets 2..5 of a/0 were never handled here: uncommitted, the partition's next owner reads them.
    assert [offsets for tp, offsets in steps.batches if tp == ("a", 0)] == [[0, 1]]
    assert [offsets for tp, offsets in steps.batches if tp == ("b", 0)] == [[0, 1]]
    assert pipeline._queued == 0 and not pipeline._inflight


def test_a_stopping_pipeline_takes_no_more_and_cancels_what_outlasts_the_budget() -> None:
    async def run() -> tuple[_Steps, Any]:
        pipeline, steps = _lanes()
        steps.gate.clear()  # the batch in hand never finishes by itself
        await pipeline.feed(_records(("a", 0), range(0, 3)), None)
        await asyncio.sleep(0.01)
        stopping = asyncio.create_task(pipeline.stop())
        await asyncio.sleep(0.01)
        await pipeline.feed(_records(("a", 0), range(3, 5)), None)  # after the stop began
        lane = pipeline._lanes[TopicPartition("a", 0)]
        assert not lane.records and lane.in_hand == 3  # nothing taken, the batch in hand waits
        await asyncio.wait_for(stopping, 10)
        return steps, pipeline

    steps, pipeline = asyncio.run(run())
    assert steps.batches == []
    assert pipeline._queued == 0 and not pipeline._inflight
    assert pipeline._idle.is_set()


def test_two_lanes_with_copies_of_one_event_take_it_in_turn_and_a_lane_never_waits_for_itself() -> None:
    """A copy of an event on another partition (R6) waits while a lane of this process stores
    and finishes the same record, so its events go out once."""

    async def run() -> list[str]:
        pipeline = _pipeline()
        order: list[str] = []

        async def lane(name: str) -> None:
            async with pipeline._holding("test/e1"):
                order.append(f"{name} in")
                async with pipeline._holding("test/e1"):  # the same lane again: no wait
                    assert not await pipeline._held_elsewhere("test/e1")
                await asyncio.sleep(0.02)
                order.append(f"{name} out")

        async def reader() -> None:
            await asyncio.sleep(0.005)
            assert await pipeline._held_elsewhere("test/e1")  # waited for the holder
            order.append("reader")

        await asyncio.gather(lane("a"), lane("b"), reader())
        assert not pipeline._in_hand
        return order

    order = asyncio.run(run())
    assert order[0] == "a in"
    assert order.index("a out") < order.index("b in")
    assert order.index("a out") < order.index("reader")
