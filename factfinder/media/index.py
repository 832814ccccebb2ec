"""The near-duplicate index: exact Hamming range search over a case's 256-bit PDQ hashes.

Every picture and sampled video frame of a case has PDQ hashes (see ``pdq.py``),
stored as rows of the ``media_hashes`` table. To find the reposts of a picture
we need every stored hash within 31 bits of each of its query hashes. This
module answers that with FAISS's brute-force binary index (``IndexBinaryFlat``):
every query is compared with every stored hash, so the answer is exact (no
approximate index can promise that a copy 31 bits away is never missed, and a
missed copy is a missed earliest source).

The database is the source of truth; the index file is a cache of it that can
always be rebuilt (``HashIndex.empty()`` and ``add`` every row). ``high_water``
(the largest row id ever added) lets the pipeline add only the rows that are
newer than the file, so the cache is updated incrementally.

Design decisions, and why:

- **Radius is inclusive.** FAISS's binary ``range_search`` keeps distances
  strictly below its radius (``dis < radius``, checked in tests), while PDQ's
  threshold of 31 means "at most 31 bits". ``search`` passes ``radius + 1``.
- **Shards searched in parallel when there is CPU to spare, one FAISS thread
  each.** FAISS parallelises a range search over the *queries* only, so a
  single query runs on one core, and its OpenMP barriers make latency jump
  whenever another process holds a core (p95 37 ms instead of 4 ms at
  1,000,000 hashes, measured on a 2-vCPU VM). The hashes are therefore split
  into one ``IndexBinaryFlat`` per usable CPU; the calling thread searches one
  and worker threads the others (FAISS releases the GIL), each with OpenMP set
  to one thread, so a single query uses every core and the busy threads never
  outnumber the CPUs this process may use. When the machine is already busy
  (Linux's CPU pressure), waiting for workers to be scheduled costs more than
  it saves, so the calling thread scans the shards one after the other.
- **A parallel id array instead of ``IndexBinaryIDMap``.** FAISS's positions in
  each shard are mapped to database row ids by a NumPy array we keep beside the
  shard (``IndexBinaryFlat.remove_ids`` keeps the order of what remains, so the
  two stay aligned). With the ids in NumPy we can check for duplicates, count,
  and remove without copying FAISS's id vector out each time; on disk the file
  is still FAISS's own ``IndexBinaryIDMap`` serialisation.
- **A checked file.** The file is an 88-byte header (format name, version, hash
  size, count, high water, payload length, SHA-256) followed by the payload
  ``faiss.serialize_index_binary`` writes for an ``IndexBinaryIDMap`` around an
  ``IndexBinaryFlat(256)``, rows in id order (so equal contents give equal
  files). FAISS 1.15's reader does check the lengths it reads (bad ones raise
  ``RuntimeError`` in our trials), but it is not written as a validator of
  untrusted input, and an edited file with a recomputed checksum passes the
  checksum. So the loader never hands file bytes to FAISS: it checks the
  sizes and the checksum, parses the payload's layout itself, and builds the
  index from the validated arrays. Any damage is an ``IndexFileError`` saying
  what is wrong; the caller rebuilds from the database.
- **Atomic save.** Temp file in the same folder, fsync, rename, fsync the
  folder: a crash leaves the old file or the new one, never half of one.
"""

from __future__ import annotations

import hashlib
import math
import os
import struct
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from pathlib import Path
from typing import Any, TypeVar

import faiss
import numpy as np

from factfinder.media.pdq import HASH_BYTES, MATCH_DISTANCE

HASH_BITS = HASH_BYTES * 8

FORMAT_NAME = b"factfinder:pdq-index\n\x00\x00\x00"
"""The first 24 bytes of every index file: what it is, readable with ``head -c 24``."""
FORMAT_VERSION = 1

_HEADER = struct.Struct("<24sHHIQqQ")
"""Format name, version, hash bits, reserved (0), count, high water, payload length."""
_DIGEST_BYTES = 32
HEADER_BYTES = _HEADER.size + _DIGEST_BYTES
"""The header: its fields, then the SHA-256 of those fields and the payload together."""

# FAISS's layout for an IndexBinaryIDMap around an IndexBinaryFlat (faiss/impl/index_write.cpp):
#   "IBMp" header, "IBxF" header, u64 len + codes, u64 len + int64 ids
# where each header is: int32 d, int32 code_size, int64 ntotal, uint8 is_trained, int32 metric_type.
_FAISS_HEADER = struct.Struct("<4siiqBi")
_FAISS_VECTOR_LEN = struct.Struct("<Q")
_FAISS_METRIC = 1  # the metric_type FAISS writes for binary indexes (METRIC_L2, unused for Hamming)

_MAX_SHARDS = 8
"""A cap on shards and worker threads: a flat scan soon becomes limited by memory bandwidth rather than
cores, so more threads mostly add overhead. Measured only on 2 cores so far; revisit on a bigger machine."""

_PARALLEL_MIN = 50_000
"""Below this many hashes a search takes well under a millisecond and threads would only add overhead."""

_T = TypeVar("_T")


class IndexFileError(Exception):
    """The index file is damaged, truncated or not an index file; rebuild it from the database."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"hash index file {path} is unusable: {reason}; rebuild it from the database")
        self.path = path
        self.reason = reason


def usable_cpus() -> int:
    """The CPUs this process may actually run on: affinity mask and cgroup CPU quota (containers).

    ``os.cpu_count()`` reports the host's CPUs even when a container is limited
    to two, and starting more busy threads than that only makes them wait.
    """
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 1
    with suppress(OSError, ValueError):
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            cpus = min(cpus, max(1, math.ceil(int(quota) / int(period))))
    return max(1, cpus)


_BUSY_PRESSURE = 20.0
"""Above this CPU pressure (percent of the last 10 s in which some runnable task waited for a CPU),
searches stay in the calling thread. Measured at 1,000,000 hashes on 2 vCPUs: on a quiet machine two
threads halve the latency (p50 2.1 ms against 4 ms); at pressure 40-90 % they lose 10-40 % to one."""

_pressure_lock = threading.Lock()
_pressure_checked = (-math.inf, True)


def spare_cpu() -> bool:
    """Whether the machine has CPU to spare for a parallel search, from Linux's pressure stall
    information (``/proc/pressure/cpu``), read at most once a second. True where PSI is not available."""
    global _pressure_checked
    now = time.monotonic()
    with _pressure_lock:
        checked, spare = _pressure_checked
        if now - checked < 1.0:
            return spare
        try:
            some = Path("/proc/pressure/cpu").read_text().split("\n", 1)[0]
            avg10 = float(some.split("avg10=", 1)[1].split()[0])
        except (OSError, IndexError, ValueError):
            avg10 = 0.0
        spare = avg10 < _BUSY_PRESSURE
        _pressure_checked = (now, spare)
        return spare


def _one_faiss_thread() -> None:
    """Make FAISS single-threaded in the calling thread (OpenMP's thread count is per thread, so this
    touches no other thread; the only FAISS calls in factfinder are this module's)."""
    faiss.omp_set_num_threads(1)


_pool_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None


def _search_pool() -> ThreadPoolExecutor:
    """The worker threads every index in the process shares: one per usable CPU (at most 8) but one,
    since the calling thread searches a shard itself."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(
                max_workers=max(1, min(usable_cpus(), _MAX_SHARDS) - 1),
                thread_name_prefix="hash-index",
                initializer=_one_faiss_thread,
            )
        return _pool


def _forget_pool() -> None:
    # A forked child has the parent's pool object but none of its threads: work sent to it would wait forever.
    global _pool
    _pool = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


class _Shard:
    """One ``IndexBinaryFlat`` and the database row id of each of its positions."""

    def __init__(self) -> None:
        self.flat: Any = faiss.IndexBinaryFlat(HASH_BITS)
        self.ids = np.empty(0, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.ids)

    def add(self, ids: np.ndarray, codes: np.ndarray) -> None:
        self.flat.add(codes)
        self.ids = np.concatenate((self.ids, ids))

    def remove(self, sorted_ids: np.ndarray) -> int:
        mask = _isin_sorted(self.ids, sorted_ids)
        positions = np.flatnonzero(mask).astype(np.int64)
        if len(positions):
            self.flat.remove_ids(positions)  # keeps the order of the rest, so ``ids`` stays aligned
            self.ids = self.ids[~mask]
        return len(positions)

    def codes(self) -> np.ndarray:
        codes: np.ndarray = self.flat.reconstruct_n(0, self.flat.ntotal)
        return codes

    def range_search(self, queries: np.ndarray, below: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(query number, distance, row id) of every hash strictly ``below`` bits from a query."""
        lims, dist, pos = self.flat.range_search(queries, below)
        query = np.repeat(np.arange(len(queries), dtype=np.int64), np.diff(lims).astype(np.int64))
        return query, dist.astype(np.int64), self.ids[pos]


class HashIndex:
    """Exact Hamming range search over 256-bit PDQ hashes, mapped to ``media_hashes`` row ids.

    Not a store of record: the database is; this is a cache that ``load``,
    ``add`` and ``save`` keep up to date and that can be rebuilt at any time.
    One lock serialises every operation, so the web server may search while the
    pipeline adds (a search already uses every core; waiting costs little).
    """

    def __init__(self, shards: int | None = None) -> None:
        """An empty index split into ``shards`` parts (default: one per usable CPU, at most 8)."""
        count = shards if shards is not None else min(usable_cpus(), _MAX_SHARDS)
        if count < 1:
            raise ValueError(f"an index needs at least one shard, not {count}")
        self._shards = [_Shard() for _ in range(count)]
        self._sorted_ids = np.empty(0, dtype=np.int64)  # every id present, for duplicate checks
        self._high_water = 0
        self._lock = threading.Lock()

    @classmethod
    def empty(cls, *, shards: int | None = None) -> HashIndex:
        return cls(shards)

    @classmethod
    def load(cls, path: Path, *, shards: int | None = None) -> HashIndex:
        """The index saved at ``path``; an empty one if there is no file yet.

        Raises ``IndexFileError`` if the file is there but damaged in any way;
        other ``OSError``s (no permission, a folder in the way) pass through,
        since rebuilding would not cure them.
        """
        try:
            data = Path(path).read_bytes()
        except FileNotFoundError:
            return cls(shards)
        ids, codes, high_water = _parse_file(Path(path), data)
        index = cls(shards)
        index._add_unchecked(ids, codes)
        index._high_water = high_water
        return index

    @property
    def high_water(self) -> int:
        """The largest row id ever added (0 if none), removed ones included: add rows above it."""
        return self._high_water

    def __len__(self) -> int:
        return len(self._sorted_ids)

    def __contains__(self, row_id: object) -> bool:
        if not isinstance(row_id, int | np.integer):
            return False
        pos = int(np.searchsorted(self._sorted_ids, row_id))
        return pos < len(self._sorted_ids) and int(self._sorted_ids[pos]) == row_id

    def ids(self) -> np.ndarray:
        """Every row id in the index, ascending (a copy): to compare the cache with the database."""
        return self._sorted_ids.copy()

    def add(self, ids: Sequence[int] | np.ndarray, hashes: Sequence[bytes] | np.ndarray) -> None:
        """Index ``hashes[i]`` under row id ``ids[i]``.

        Ids must be positive and not already in the index (a second copy of a
        row would make every search report it twice); ``ValueError`` otherwise,
        and then nothing is added.
        """
        id_array = _as_ids(ids)
        codes = _as_codes(hashes)
        if len(id_array) != len(codes):
            raise ValueError(f"{len(id_array)} ids for {len(codes)} hashes")
        if not len(id_array):
            return
        new_sorted = np.sort(id_array)
        if (dup := new_sorted[1:][new_sorted[1:] == new_sorted[:-1]]).size:
            raise ValueError(f"row ids given twice: {_some(dup)}")
        with self._lock:
            if (present := new_sorted[_isin_sorted(new_sorted, self._sorted_ids)]).size:
                raise ValueError(f"row ids already in the index (remove them first): {_some(present)}")
            self._add_unchecked(id_array, codes, new_sorted)
            self._high_water = max(self._high_water, int(new_sorted[-1]))

    def _add_unchecked(self, ids: np.ndarray, codes: np.ndarray, sorted_ids: np.ndarray | None = None) -> None:
        """Spread the rows over the shards so that they stay the same size (the slowest one sets latency)."""
        sizes = [len(s) for s in self._shards]
        target = -(-(sum(sizes) + len(ids)) // len(self._shards))
        start = 0
        for shard, size in zip(self._shards, sizes, strict=True):
            take = min(max(0, target - size), len(ids) - start)
            if take:
                shard.add(ids[start : start + take], codes[start : start + take])
                start += take
        if sorted_ids is None:
            sorted_ids = np.sort(ids)
        merged = np.concatenate((self._sorted_ids, sorted_ids))
        if len(self._sorted_ids) and len(sorted_ids) and sorted_ids[0] < self._sorted_ids[-1]:
            merged.sort()  # only when ids arrive out of order; the usual append needs no sort
        self._sorted_ids = merged

    def remove(self, ids: Sequence[int] | np.ndarray) -> int:
        """Take these row ids out (an item being re-analysed); returns how many were there.

        Ids not in the index are ignored. ``high_water`` does not go down: it
        says which rows were already seen, not which are present.
        """
        gone = np.unique(_as_ids(ids))
        if not len(gone):
            return 0
        with self._lock:
            removed = sum(shard.remove(gone) for shard in self._shards)
            if removed:
                self._sorted_ids = self._sorted_ids[~_isin_sorted(self._sorted_ids, gone)]
            return removed

    def search(self, hashes: Sequence[bytes] | np.ndarray, radius: int = MATCH_DISTANCE) -> list[list[tuple[int, int]]]:
        """For each query hash, ``(row id, distance)`` of every indexed hash at most ``radius`` bits away.

        Exact (every stored hash is compared), inclusive (a hash exactly
        ``radius`` bits away is found), each list sorted by distance then row
        id. Pass many queries at once where you can: each shard answers them
        all in one FAISS call.
        """
        if isinstance(radius, bool) or not isinstance(radius, int | np.integer):
            raise TypeError(f"radius must be an int, not {type(radius).__name__}")
        if not 0 <= radius <= HASH_BITS:
            raise ValueError(f"radius must be between 0 and {HASH_BITS} bits, not {radius}")
        queries = _as_codes(hashes)
        if not len(queries):
            return []
        below = int(radius) + 1  # FAISS keeps distances strictly below its radius
        with self._lock:
            parts = self._map_shards(lambda shard: shard.range_search(queries, below))
        query = np.concatenate([p[0] for p in parts])
        dist = np.concatenate([p[1] for p in parts])
        row = np.concatenate([p[2] for p in parts])
        order = np.lexsort((row, dist, query))
        ends = np.cumsum(np.bincount(query, minlength=len(queries)))
        rows, dists = row[order].tolist(), dist[order].tolist()
        results: list[list[tuple[int, int]]] = []
        start = 0
        for end in ends.tolist():
            results.append(list(zip(rows[start:end], dists[start:end], strict=True)))
            start = end
        return results

    def _map_shards(self, fn: Callable[[_Shard], _T]) -> list[_T]:
        """``fn`` on every shard: the first in the calling thread, the others in the worker threads.

        FAISS runs single-threaded in both (OpenMP's thread count is set per
        thread), so the busy threads never outnumber the shards. The caller
        works on a shard instead of waiting, which saves one thread hand-off.
        """
        _one_faiss_thread()
        if len(self._shards) == 1 or len(self) < _PARALLEL_MIN or not spare_cpu():
            # Too small to be worth splitting across threads, or no CPU to spare: then waiting for a
            # worker to be scheduled costs more than scanning every shard here, one after the other.
            return [fn(s) for s in self._shards]
        pool = _search_pool()
        futures = [pool.submit(fn, s) for s in self._shards[1:]]
        first = fn(self._shards[0])
        return [first, *(f.result() for f in futures)]

    def save(self, path: Path) -> None:
        """Write the index to ``path`` atomically (temp file, fsync, rename, fsync folder)."""
        path = Path(path)
        with self._lock:
            header, payload = self._serialise()
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(header)
                f.write(payload)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            with suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        _fsync_folder(path.parent)

    def _serialise(self) -> tuple[bytes, bytes]:
        ids = np.concatenate([s.ids for s in self._shards])
        codes = np.concatenate([s.codes() for s in self._shards])
        order = np.argsort(ids, kind="stable")
        idmap: Any = faiss.IndexBinaryIDMap(faiss.IndexBinaryFlat(HASH_BITS))
        idmap.add_with_ids(codes[order], ids[order])
        payload = faiss.serialize_index_binary(idmap).tobytes()
        try:
            _parse_payload(payload, len(ids))
        except _Malformed as e:  # a FAISS upgrade changed its layout: fail now, not at the next load
            raise RuntimeError(f"FAISS wrote an index layout this module cannot read back ({e})") from e
        fields = _HEADER.pack(FORMAT_NAME, FORMAT_VERSION, HASH_BITS, 0, len(ids), self._high_water, len(payload))
        digest = hashlib.sha256(fields)
        digest.update(payload)
        return fields + digest.digest(), payload


class _Malformed(Exception):
    """The payload is not the FAISS layout this module writes (carries the reason)."""


def _parse_file(path: Path, data: bytes) -> tuple[np.ndarray, np.ndarray, int]:
    """Ids, codes and high water from a whole index file, or ``IndexFileError`` saying what is wrong."""
    if not data:
        raise IndexFileError(path, "the file is empty (0 bytes)")
    if len(data) < HEADER_BYTES:
        if FORMAT_NAME.startswith(data[: len(FORMAT_NAME)]):
            raise IndexFileError(path, f"truncated to {len(data)} bytes, shorter than the {HEADER_BYTES}-byte header")
        raise IndexFileError(path, "not a factfinder hash index (wrong header)")
    name, version, bits, _reserved, count, high_water, length = _HEADER.unpack_from(data)
    if name != FORMAT_NAME:
        raise IndexFileError(path, "not a factfinder hash index (wrong header)")
    if version != FORMAT_VERSION:
        raise IndexFileError(path, f"index format version {version}; this factfinder reads version {FORMAT_VERSION}")
    if bits != HASH_BITS:
        raise IndexFileError(path, f"holds {bits}-bit hashes, expected {HASH_BITS}")
    actual = len(data) - HEADER_BYTES
    if actual < length:
        raise IndexFileError(path, f"truncated: the header promises {length:,} bytes of index, the file has {actual:,}")
    if actual > length:
        raise IndexFileError(path, f"{actual - length:,} unexpected bytes after the end of the index")
    digest = hashlib.sha256(memoryview(data)[: _HEADER.size])
    digest.update(memoryview(data)[HEADER_BYTES:])
    if digest.digest() != data[_HEADER.size : HEADER_BYTES]:
        raise IndexFileError(path, "SHA-256 checksum mismatch: the file was damaged or edited")
    try:
        ids, codes = _parse_payload(memoryview(data)[HEADER_BYTES:], count)
    except _Malformed as e:
        raise IndexFileError(path, f"malformed index payload: {e}") from e
    if high_water < 0 or (len(ids) and int(ids.max()) > high_water):
        raise IndexFileError(path, f"high water {high_water} is impossible for the row ids in the file")
    return ids, codes, high_water


def _parse_payload(payload: bytes | memoryview, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Check every field of FAISS's ``IndexBinaryIDMap`` layout and return (ids, codes) as NumPy views.

    Every length is checked against ``count`` before anything is read, so a
    bad field can only be reported, never followed.
    """
    expected = 2 * _FAISS_HEADER.size + 2 * _FAISS_VECTOR_LEN.size + count * (HASH_BYTES + 8)
    if len(payload) != expected:
        raise _Malformed(f"{len(payload):,} bytes, expected {expected:,} for {count:,} hashes")
    offset = 0
    for fourcc in (b"IBMp", b"IBxF"):
        fields = _FAISS_HEADER.unpack_from(payload, offset)
        if fields != (fourcc, HASH_BITS, HASH_BYTES, count, 1, _FAISS_METRIC):
            raise _Malformed(f"unexpected {fourcc.decode()} header {fields}")
        offset += _FAISS_HEADER.size
    (length,) = _FAISS_VECTOR_LEN.unpack_from(payload, offset)
    if length != count * HASH_BYTES:
        raise _Malformed(f"codes vector of {length:,} bytes, expected {count * HASH_BYTES:,}")
    offset += _FAISS_VECTOR_LEN.size
    codes = np.frombuffer(payload, dtype=np.uint8, count=count * HASH_BYTES, offset=offset).reshape(count, HASH_BYTES)
    offset += count * HASH_BYTES
    (length,) = _FAISS_VECTOR_LEN.unpack_from(payload, offset)
    if length != count:
        raise _Malformed(f"id vector of {length:,} entries, expected {count:,}")
    offset += _FAISS_VECTOR_LEN.size
    ids = np.frombuffer(payload, dtype="<i8", count=count, offset=offset).astype(np.int64)
    if count:
        if int(ids.min()) < 1:
            raise _Malformed(f"row id {int(ids.min())} is not positive")
        if (np.diff(ids) <= 0).any():
            raise _Malformed("row ids are not strictly ascending (duplicates or out of order)")
    return ids, codes


def _as_ids(ids: Sequence[int] | np.ndarray) -> np.ndarray:
    """Row ids as a 1-D int64 array; they must be whole numbers from 1 up (FAISS uses -1 for "none")."""
    if isinstance(ids, bytes | bytearray | str):
        raise TypeError("ids must be a sequence of integers")
    arr = np.asarray(ids)
    if arr.size == 0:
        return np.empty(0, dtype=np.int64)
    if arr.ndim != 1 or arr.dtype.kind not in "iu":
        raise TypeError(f"ids must be a flat sequence of integers, not {arr.dtype} of shape {arr.shape}")
    if arr.dtype == np.uint64 and int(arr.max()) > np.iinfo(np.int64).max:
        raise ValueError(f"row id {int(arr.max())} does not fit in 64 signed bits")
    arr = arr.astype(np.int64)
    if int(arr.min()) < 1:
        raise ValueError(f"row ids start at 1, got {int(arr.min())}")
    return arr


def _as_codes(hashes: Sequence[bytes] | np.ndarray) -> np.ndarray:
    """Hashes as a C-contiguous (n, 32) uint8 array, from 32-byte strings or such an array."""
    if isinstance(hashes, bytes | bytearray | memoryview | str):
        raise TypeError("pass a sequence of hashes (e.g. [h]), not a single hash")
    if isinstance(hashes, np.ndarray):
        if hashes.dtype != np.uint8 or hashes.ndim != 2 or hashes.shape[1] != HASH_BYTES:
            raise ValueError(
                f"a hash array must be uint8 of shape (n, {HASH_BYTES}), not {hashes.dtype} {hashes.shape}"
            )
        return np.ascontiguousarray(hashes)
    items = list(hashes)
    for i, h in enumerate(items):
        if not isinstance(h, bytes | bytearray | memoryview) or len(h) != HASH_BYTES:
            what = f"{len(h)} bytes" if isinstance(h, bytes | bytearray | memoryview) else type(h).__name__
            raise ValueError(f"hash {i} is {what}; a PDQ hash is {HASH_BYTES} bytes")
    if not items:
        return np.empty((0, HASH_BYTES), dtype=np.uint8)
    return np.frombuffer(b"".join(items), dtype=np.uint8).reshape(len(items), HASH_BYTES)


def _isin_sorted(values: np.ndarray, sorted_set: np.ndarray) -> np.ndarray:
    """``values`` found in ``sorted_set`` (ascending): O(n log m), unlike ``np.isin``'s sort of both."""
    if not len(sorted_set) or not len(values):
        return np.zeros(len(values), dtype=bool)
    pos = np.searchsorted(sorted_set, values).clip(max=len(sorted_set) - 1)
    found: np.ndarray = sorted_set[pos] == values
    return found


def _some(ids: np.ndarray, limit: int = 5) -> str:
    shown = ", ".join(str(i) for i in ids[:limit].tolist())
    return shown + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX; Windows cannot open a folder for fsync)."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
