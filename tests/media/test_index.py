"""The near-duplicate index: exact against brute force, inclusive at 31 bits, safe on disk."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import threading
from pathlib import Path
from typing import Any

import faiss
import numpy as np
import pytest

from factfinder.media import index as index_module
from factfinder.media.index import HEADER_BYTES, HashIndex, IndexFileError, spare_cpu, usable_cpus
from factfinder.media.pdq import HASH_BYTES, MATCH_DISTANCE, distance

POPCOUNT = np.unpackbits(np.arange(256, dtype=np.uint8)[:, None], axis=1).sum(axis=1)


def flip_bits(code: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """A copy of one 32-byte hash with exactly ``k`` distinct bits flipped."""
    bits = np.unpackbits(code)
    where = rng.choice(256, size=k, replace=False)
    bits[where] ^= 1
    return np.packbits(bits)


def brute_force(ids: np.ndarray, codes: np.ndarray, queries: np.ndarray, radius: int) -> list[list[tuple[int, int]]]:
    """The answer by definition: every stored hash's popcount(xor) with each query, NumPy only."""
    out = []
    for q in queries:
        d = POPCOUNT[np.bitwise_xor(codes, q)].sum(axis=1)
        hit = np.flatnonzero(d <= radius)
        out.append(sorted(((int(ids[i]), int(d[i])) for i in hit), key=lambda r: (r[1], r[0])))
    return out


@pytest.fixture(scope="module")
def corpus() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """3,000 random hashes plus, for each of 40 queries, copies at every distance 0..40 (ids shuffled)."""
    rng = np.random.default_rng(2011)
    queries = rng.integers(0, 256, (40, HASH_BYTES), dtype=np.uint8)
    planted = np.array([flip_bits(q, k, rng) for q in queries for k in range(41)])
    codes = np.concatenate((rng.integers(0, 256, (3000, HASH_BYTES), dtype=np.uint8), planted))
    ids = rng.permutation(np.arange(1, len(codes) + 1, dtype=np.int64)) * 7  # sparse, not in order
    return ids, codes, queries


def test_faiss_range_search_is_strict() -> None:
    """Why ``search`` adds one: FAISS keeps only distances *below* its radius. If this changes, fix search."""
    rng = np.random.default_rng(1)
    q = rng.integers(0, 256, (1, HASH_BYTES), dtype=np.uint8)
    flat = faiss.IndexBinaryFlat(256)
    flat.add(flip_bits(q[0], 31, rng)[None, :])
    assert len(flat.range_search(q, 31)[2]) == 0
    assert len(flat.range_search(q, 32)[2]) == 1


def test_boundary_31_in_32_out() -> None:
    rng = np.random.default_rng(5)
    q = rng.integers(0, 256, HASH_BYTES, dtype=np.uint8)
    ids = np.arange(100, 141)
    codes = np.array([flip_bits(q, k, rng) for k in range(41)])
    index = HashIndex.empty()
    index.add(ids, codes)
    (found,) = index.search([q.tobytes()])
    assert [d for _, d in found] == list(range(32))
    assert (130, 30) in found and (131, 31) in found and all(i != 132 for i, _ in found)
    assert distance(q.tobytes(), codes[31].tobytes()) == 31
    assert index.search([q.tobytes()], radius=0) == [[(100, 0)]]
    assert len(index.search([q.tobytes()], radius=40)[0]) == 41


@pytest.mark.parametrize(("shards", "path"), [(1, "small"), (3, "small"), (3, "busy"), (4, "parallel")])
@pytest.mark.parametrize("radius", [0, MATCH_DISTANCE, 40, 112])
def test_exact_against_brute_force(
    corpus: tuple[np.ndarray, np.ndarray, np.ndarray],
    shards: int,
    path: str,
    radius: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Same ids and distances as a NumPy popcount over everything; radius 112 returns thousands of rows."""
    if path != "small":  # take the large-index paths on a small corpus: threads, or shards one by one
        monkeypatch.setattr(index_module, "_PARALLEL_MIN", 0)
        monkeypatch.setattr(index_module, "spare_cpu", lambda: path == "parallel")
    ids, codes, queries = corpus
    index = HashIndex.empty(shards=shards)
    for part in np.array_split(np.arange(len(ids)), 5):  # several adds, as the pipeline does
        index.add(ids[part], codes[part])
    expected = brute_force(ids, codes, queries, radius)
    assert index.search(queries, radius) == expected
    assert index.search([q.tobytes() for q in queries[:3]], radius) == expected[:3]
    if radius == MATCH_DISTANCE:
        assert all(len(r) >= 32 for r in expected)  # the planted copies at 0..31 are all there


def test_results_sorted_by_distance_then_id() -> None:
    rng = np.random.default_rng(9)
    q = rng.integers(0, 256, HASH_BYTES, dtype=np.uint8)
    index = HashIndex.empty(shards=2)
    index.add([50, 10, 40, 20, 30], [q.tobytes(), flip_bits(q, 3, rng).tobytes(), q.tobytes(), q.tobytes(), b"\0" * 32])
    found = index.search([q.tobytes()], radius=5)[0]
    assert found == [(20, 0), (40, 0), (50, 0), (10, 3)]


def test_queries_keep_their_order_and_empty_cases() -> None:
    rng = np.random.default_rng(3)
    codes = rng.integers(0, 256, (10, HASH_BYTES), dtype=np.uint8)
    index = HashIndex.empty()
    assert index.search([codes[0].tobytes()]) == [[]]
    assert index.search([]) == []
    index.add(np.arange(1, 11), codes)
    got = index.search(codes[[7, 2, 7]], radius=0)
    assert got == [[(8, 0)], [(3, 0)], [(8, 0)]]


def _small_index(n: int = 20, seed: int = 0) -> tuple[HashIndex, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 256, (n, HASH_BYTES), dtype=np.uint8)
    ids = np.arange(1, n + 1) * 3
    index = HashIndex.empty(shards=2)
    index.add(ids, codes)
    return index, ids, codes


def test_save_load_round_trip(tmp_path: Path, corpus: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    ids, codes, queries = corpus
    index = HashIndex.empty(shards=3)
    index.add(ids, codes)
    path = tmp_path / "media.index"
    index.save(path)
    loaded = HashIndex.load(path)
    assert len(loaded) == len(ids)
    assert loaded.high_water == int(ids.max())
    assert np.array_equal(loaded.ids(), np.sort(ids))
    assert loaded.search(queries, 40) == index.search(queries, 40)
    # Same contents give the same bytes, however the rows were spread over shards.
    loaded_other = HashIndex.load(path, shards=1)
    loaded_other.save(tmp_path / "again.index")
    assert (tmp_path / "again.index").read_bytes() == path.read_bytes()


def test_payload_is_faiss_own_format(tmp_path: Path) -> None:
    """Anyone with FAISS can read the file after the header; and our layout check matches FAISS's writer."""
    index, ids, codes = _small_index()
    path = tmp_path / "media.index"
    index.save(path)
    payload = path.read_bytes()[HEADER_BYTES:]
    restored: Any = faiss.deserialize_index_binary(np.frombuffer(payload, dtype=np.uint8))
    assert restored.ntotal == len(ids)
    assert list(faiss.vector_to_array(restored.id_map)) == sorted(ids.tolist())
    _, _, found = restored.range_search(codes[:1], 1)
    assert found.tolist() == [ids[0]]
    assert bytes(faiss.serialize_index_binary(restored)) == payload


def test_missing_file_is_an_empty_index(tmp_path: Path) -> None:
    index = HashIndex.load(tmp_path / "nothing-here.index")
    assert len(index) == 0 and index.high_water == 0
    assert index.search([b"\0" * 32]) == [[]]


def test_empty_index_round_trip(tmp_path: Path) -> None:
    HashIndex.empty().save(tmp_path / "e.index")
    loaded = HashIndex.load(tmp_path / "e.index")
    assert len(loaded) == 0 and loaded.high_water == 0


def test_incremental_add_after_load(tmp_path: Path) -> None:
    index, _, codes = _small_index()
    path = tmp_path / "media.index"
    index.save(path)
    loaded = HashIndex.load(path)
    assert loaded.high_water == 60
    rng = np.random.default_rng(77)
    new_codes = rng.integers(0, 256, (5, HASH_BYTES), dtype=np.uint8)
    loaded.add([61, 62, 63, 64, 100], new_codes)
    assert loaded.high_water == 100 and len(loaded) == 25
    assert loaded.search([codes[4].tobytes(), new_codes[4].tobytes()], radius=0) == [[(15, 0)], [(100, 0)]]
    loaded.save(path)
    again = HashIndex.load(path)
    assert again.high_water == 100 and len(again) == 25
    assert again.search(new_codes[:2], radius=0) == [[(61, 0)], [(62, 0)]]


def test_remove(tmp_path: Path) -> None:
    index, _, codes = _small_index()
    assert index.remove([3, 60, 9999]) == 2  # an id that is not there is ignored
    assert len(index) == 18 and 3 not in index and 6 in index
    assert index.high_water == 60  # rows already seen stay seen
    assert index.search(codes[[0, 19, 1]], radius=0) == [[], [], [(6, 0)]]
    assert index.remove([]) == 0
    index.add([3], codes[:1])  # re-analysis: the row comes back
    assert index.search(codes[:1], radius=0) == [[(3, 0)]]
    path = tmp_path / "media.index"
    index.save(path)
    loaded = HashIndex.load(path)
    assert len(loaded) == 19 and 60 not in loaded
    assert loaded.search(codes[[0, 19]], radius=0) == [[(3, 0)], []]


def test_add_refuses_duplicates_and_bad_input() -> None:
    index, _, codes = _small_index()
    with pytest.raises(ValueError, match="already in the index"):
        index.add([61, 3], codes[:2])
    assert len(index) == 20 and 61 not in index  # nothing was added
    with pytest.raises(ValueError, match="given twice"):
        index.add([70, 70], codes[:2])
    with pytest.raises(ValueError, match="ids for"):
        index.add([70, 71], codes[:1])
    with pytest.raises(ValueError, match="start at 1"):
        index.add([0], codes[:1])
    with pytest.raises(TypeError):
        index.add([1.5], codes[:1])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="32 bytes"):
        index.add([70], [b"short"])
    with pytest.raises(ValueError, match="shape"):
        index.add([70], codes[:1, :16])
    with pytest.raises(TypeError, match="single hash"):
        index.search(codes[0].tobytes())
    with pytest.raises(ValueError, match="radius"):
        index.search(codes[:1], radius=-1)
    with pytest.raises(ValueError, match="radius"):
        index.search(codes[:1], radius=257)
    assert len(index) == 20 and index.high_water == 60


# --- damaged files -------------------------------------------------------------------------------------------


@pytest.fixture
def saved(tmp_path: Path) -> tuple[Path, bytes]:
    index, _, _ = _small_index(8)
    path = tmp_path / "media.index"
    index.save(path)
    return path, path.read_bytes()


def test_empty_file(saved: tuple[Path, bytes]) -> None:
    path, _ = saved
    path.write_bytes(b"")
    with pytest.raises(IndexFileError, match="empty") as e:
        HashIndex.load(path)
    assert e.value.path == path and "rebuild it from the database" in str(e.value)


def test_every_truncation_is_detected(saved: tuple[Path, bytes]) -> None:
    path, good = saved
    for cut in range(1, len(good)):
        path.write_bytes(good[:cut])
        with pytest.raises(IndexFileError, match="truncated"):
            HashIndex.load(path)


def test_every_flipped_byte_is_detected(saved: tuple[Path, bytes]) -> None:
    """One byte changed anywhere (header, checksum, FAISS fields, hashes, ids) is an error, never a result."""
    path, good = saved
    for pos in range(len(good)):
        bad = bytearray(good)
        bad[pos] ^= 0x10
        path.write_bytes(bytes(bad))
        with pytest.raises(IndexFileError):
            HashIndex.load(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 200, "not a factfinder hash index"),
        (b"hello", "not a factfinder hash index"),
        (b"factfinder:pdq-index\n\x00\x00\x00\x02\x00", "truncated"),
    ],
)
def test_wrong_header(saved: tuple[Path, bytes], content: bytes, message: str) -> None:
    path, _ = saved
    path.write_bytes(content)
    with pytest.raises(IndexFileError, match=message):
        HashIndex.load(path)


def test_newer_version_and_trailing_bytes(saved: tuple[Path, bytes]) -> None:
    path, good = saved
    path.write_bytes(good[:24] + b"\x02\x00" + good[26:])
    with pytest.raises(IndexFileError, match="version 2"):
        HashIndex.load(path)
    path.write_bytes(good + b"\0")
    with pytest.raises(IndexFileError, match="unexpected bytes"):
        HashIndex.load(path)


def _reseal(fields_and_payload: bytes) -> bytes:
    """A file whose checksum matches its (edited) contents: what a deliberate edit would look like."""
    fields, payload = fields_and_payload[: HEADER_BYTES - 32], fields_and_payload[HEADER_BYTES:]
    return fields + hashlib.sha256(fields + payload).digest() + payload


def test_consistent_checksum_but_bad_faiss_layout(saved: tuple[Path, bytes]) -> None:
    """Even with a valid checksum, lengths FAISS would follow are checked first (no crash, no wild allocation)."""
    path, good = saved
    faiss_start = HEADER_BYTES
    codes_len_at = faiss_start + 2 * 25
    cases = {
        "codes vector": bytearray(good),
        "IBxF header": bytearray(good),
        "not positive": bytearray(good),
    }
    cases["codes vector"][codes_len_at : codes_len_at + 8] = (2**62).to_bytes(8, "little")
    cases["IBxF header"][faiss_start + 25 + 12 : faiss_start + 25 + 20] = (10**12).to_bytes(8, "little")
    ids_at = len(good) - 8 * 8
    cases["not positive"][ids_at : ids_at + 8] = (-1).to_bytes(8, "little", signed=True)
    for message, bad in cases.items():
        path.write_bytes(_reseal(bytes(bad)))
        with pytest.raises(IndexFileError, match=message):
            HashIndex.load(path)


def test_unreadable_is_not_damage(tmp_path: Path) -> None:
    """A folder where the file should be is an OSError, not "damaged, rebuild" (rebuilding would not help)."""
    (tmp_path / "media.index").mkdir()
    with pytest.raises(OSError):
        HashIndex.load(tmp_path / "media.index")


# --- atomic save ---------------------------------------------------------------------------------------------


def test_save_leaves_no_temp_files(tmp_path: Path) -> None:
    index, _, _ = _small_index()
    index.save(tmp_path / "media.index")
    index.save(tmp_path / "media.index")  # replacing an existing file
    assert os.listdir(tmp_path) == ["media.index"]


def test_failed_save_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    index, _, codes = _small_index()
    path = tmp_path / "media.index"
    index.save(path)
    good = path.read_bytes()
    index.add([999], codes[:1] ^ 0xFF)

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space"):
        index.save(path)
    monkeypatch.undo()
    assert path.read_bytes() == good
    assert os.listdir(tmp_path) == ["media.index"]
    assert len(HashIndex.load(path)) == 20


def test_save_into_missing_folder_fails_cleanly(tmp_path: Path) -> None:
    index, _, _ = _small_index()
    with pytest.raises(FileNotFoundError):
        index.save(tmp_path / "no-such-folder" / "media.index")
    assert os.listdir(tmp_path) == []


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root writes into read-only folders")
def test_save_into_read_only_folder_keeps_the_old_file(tmp_path: Path) -> None:
    index, _, codes = _small_index()
    path = tmp_path / "media.index"
    index.save(path)
    good = path.read_bytes()
    index.add([999], codes[:1] ^ 0xFF)
    tmp_path.chmod(0o555)
    try:
        with pytest.raises(PermissionError):
            index.save(path)
    finally:
        tmp_path.chmod(0o755)
    assert path.read_bytes() == good and os.listdir(tmp_path) == ["media.index"]


# --- threads -------------------------------------------------------------------------------------------------


def test_usable_cpus() -> None:
    assert 1 <= usable_cpus() <= (os.cpu_count() or 1)
    assert isinstance(spare_cpu(), bool)


def test_search_while_adding(monkeypatch: pytest.MonkeyPatch) -> None:
    """The web server searches while the pipeline adds: answers stay right and nothing crashes."""
    monkeypatch.setattr(index_module, "_PARALLEL_MIN", 0)
    monkeypatch.setattr(index_module, "spare_cpu", lambda: True)
    rng = np.random.default_rng(12)
    codes = rng.integers(0, 256, (4000, HASH_BYTES), dtype=np.uint8)
    index = HashIndex.empty(shards=3)
    index.add([1], codes[:1])
    errors: list[str] = []
    stop = threading.Event()

    def searcher() -> None:
        while not stop.is_set():
            if index.search(codes[:1], radius=0) != [[(1, 0)]]:
                errors.append("first hash lost")

    threads = [threading.Thread(target=searcher) for _ in range(3)]
    for t in threads:
        t.start()
    for start in range(1, 4000, 100):
        index.add(np.arange(start + 1, start + 101)[: 4000 - start], codes[start : start + 100])
    stop.set()
    for t in threads:
        t.join()
    assert not errors
    assert len(index) == 4000
    assert index.search(codes[3999:], radius=0) == [[(4000, 0)]]


def _search_in_child(index: HashIndex, code: bytes) -> None:
    os._exit(0 if index.search([code], radius=0) == [[(3, 0)]] else 1)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_search_after_fork() -> None:
    """A worker process forked after the index was used (uvicorn, multiprocessing) can still search."""
    index, _, codes = _small_index()
    assert index.search(codes[:1], radius=0) == [[(3, 0)]]  # the parent's worker threads now exist
    child = multiprocessing.get_context("fork").Process(target=_search_in_child, args=(index, codes[0].tobytes()))
    child.start()
    child.join(timeout=30)
    if child.exitcode is None:
        child.kill()
    assert child.exitcode == 0
