"""The tile-stored custody log gives the same tree as RFC 9162 computed in memory."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import update

from factfinder.db.models import LogEntryBundle
from factfinder.vault import merkle
from factfinder.vault.case import Case
from factfinder.vault.errors import ReadOnlyCaseError
from factfinder.vault.log import CustodyLog, LogCorruptError, decode_bundle, encode_bundle


def test_bundle_round_trip_and_truncation() -> None:
    entries = [b"", b"a", b"x" * 300, bytes(range(256))]
    assert decode_bundle(encode_bundle(entries)) == entries
    with pytest.raises(LogCorruptError):
        decode_bundle(encode_bundle(entries)[:-1])


def test_uneven_batches_across_tile_levels(case: Case) -> None:
    """70,000 entries in uneven batches cross level-0, level-1 and level-2 tiles."""
    rng = random.Random(7)
    entries = [b"entry %d" % i for i in range(70_000)]
    memory = merkle.MemoryTree([merkle.leaf_hash(b) for b in case_entries(case)])
    pos = 0
    with case.engine.begin() as conn:
        while pos < len(entries):
            n = rng.choice([1, 3, 255, 256, 257, 1000, 4096])
            batch = entries[pos : pos + n]
            case.log.append(conn, batch)
            for e in batch:
                memory.append(merkle.leaf_hash(e))
            pos += n
            size = case.log.size(conn)
            if rng.random() < 0.05 or pos >= len(entries):
                assert case.log.root(conn, size) == memory.root(size)
        size = case.log.size(conn)
        assert size == 70_001
        for size_check in (1, 255, 256, 257, 65_535, 65_536, 65_537, size):
            assert case.log.root(conn, size_check) == memory.root(size_check)
        for index in [*rng.sample(range(size), 40), 0, 255, 256, 65535, 65536, size - 1]:
            proof = case.log.inclusion_proof(conn, index, size)
            merkle.verify_inclusion(index, size, memory.node(0, index), proof, memory.root(size))
        for old in (1, 256, 65_536, 65_537, 69_999):
            proof = case.log.consistency_proof(conn, old, size)
            merkle.verify_consistency(old, size, proof, memory.root(old), memory.root(size))
        assert [e for _, e in case.log.entries(conn, 65_530, 65_540)] == entries[65_529:65_539]


def case_entries(case: Case) -> list[bytes]:
    with case.engine.connect() as conn:
        return [e for _, e in case.log.entries(conn)]


def test_read_only_log_refuses_appends(case: Case) -> None:
    log = CustodyLog(case.verifier, None)
    with case.engine.begin() as conn, pytest.raises(ReadOnlyCaseError):
        log.append(conn, [b"x"])


def test_missing_bundle_is_reported(case: Case) -> None:
    with case.engine.begin() as conn:
        case.log.append(conn, [b"e%d" % i for i in range(600)])
        conn.execute(update(LogEntryBundle).where(LogEntryBundle.idx == 1).values(idx=99))
    with case.engine.connect() as conn, pytest.raises(LogCorruptError, match="bundle 1 is missing"):
        list(case.log.entries(conn))
