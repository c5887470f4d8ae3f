"""The store profile's kinds of work, from pprof's ``-traces`` text (no Go, no FerretDB)."""

from __future__ import annotations

import pytest

from bench.store_profile import KINDS, REST, kinds_of

TRACES = """File: ferretdb
Type: cpu
-----------+-------------------------------------------------------
      40ms   internal/runtime/gc/scan.scanSpanPackedAVX512
             runtime.gcDrain
             runtime.gcBgMarkWorker
-----------+-------------------------------------------------------
      10ms   internal/runtime/syscall/linux.Syscall6
             syscall.Syscall
             modernc.org/sqlite/lib._unixSync
             modernc.org/sqlite.(*conn).step
-----------+-------------------------------------------------------
     1.5s   modernc.org/sqlite/lib._sqlite3BtreeInsert
             modernc.org/sqlite.(*conn).step
-----------+-------------------------------------------------------
     250us   encoding/json.(*Decoder).readValue
             github.com/FerretDB/FerretDB/internal/handler/sjson.Unmarshal
-----------+-------------------------------------------------------
      20ms   github.com/FerretDB/FerretDB/internal/wire.ReadMessage
"""


def test_each_sample_goes_to_the_first_kind_on_its_stack() -> None:
    by_kind = kinds_of(TRACES)
    syscalls, sqlite, json, gc = (name for name, _ in KINDS)
    assert by_kind[gc] == pytest.approx(0.040)
    assert by_kind[syscalls] == pytest.approx(0.010)  # an fsync under SQLite counts as a syscall
    assert by_kind[sqlite] == pytest.approx(1.5)
    assert by_kind[json] == pytest.approx(0.00025)
    assert by_kind[REST] == pytest.approx(0.020)
    assert sum(by_kind.values()) == pytest.approx(1.57025)
