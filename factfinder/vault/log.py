"""The custody log: an append-only RFC 9162 Merkle tree stored as C2SP tlog-tiles.

Layout (https://c2sp.org/tlog-tiles, tile height 8):

- entries live in *bundles* of 256, each entry prefixed by its big-endian
  2-byte length;
- hashes live in *tiles* of 256: tile level 0 holds leaf hashes, tile level
  ``k`` holds the hashes of the perfect subtrees of ``256**k`` leaves;
- the last bundle and the last tile of each level may be partial and are
  rewritten as they grow.

All methods take a SQLAlchemy ``Connection`` that is inside a transaction, so
the log commits together with the rows that describe items: a process killed
at any moment leaves either both or neither.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, bindparam, insert, select, update

from factfinder.db.models import CheckpointRecord, LogEntryBundle, LogHead, LogTile
from factfinder.vault import merkle
from factfinder.vault.checkpoint import Checkpoint, Signer, Verifier
from factfinder.vault.errors import ReadOnlyCaseError, VaultError

TILE_WIDTH = 256
TILE_HEIGHT = 8
HASH = merkle.HASH_SIZE
MAX_ENTRY_BYTES = 0xFFFF
_TILE_CACHE = 1024  # tiles whose interior nodes are kept between proofs (about 40 MB at most)

# Statements built once: building a SQLAlchemy construct costs more than running it
# on SQLite, and append and proofs run these thousands of times.
_SELECT_SIZE = select(LogHead.size).where(LogHead.id == 1)
_SELECT_BUNDLE = select(LogEntryBundle.data).where(LogEntryBundle.idx == bindparam("idx"))
_SELECT_TILE = select(LogTile.data).where(LogTile.level == bindparam("level"), LogTile.idx == bindparam("idx"))
_SELECT_TILES = select(LogTile.level, LogTile.idx, LogTile.data).where(
    LogTile.level.in_(bindparam("levels", expanding=True)), LogTile.idx.in_(bindparam("idxs", expanding=True))
)
_INSERT_BUNDLES = insert(LogEntryBundle)
_INSERT_TILES = insert(LogTile)
_UPDATE_SIZE = update(LogHead).where(LogHead.id == 1).values(size=bindparam("new_size"))
_UPDATE_BUNDLE = (
    update(LogEntryBundle).where(LogEntryBundle.idx == bindparam("at_idx")).values(data=bindparam("new_data"))
)
_UPDATE_TILE = (
    update(LogTile)
    .where(LogTile.level == bindparam("at_level"), LogTile.idx == bindparam("at_idx"))
    .values(data=bindparam("new_data"))
)


class LogCorruptError(VaultError):
    """The stored log is internally inconsistent (a tile or bundle is damaged)."""


@dataclass(frozen=True)
class Head:
    """Where the log stands before an append: its size and its latest checkpoint."""

    size: int
    checkpoint_size: int
    checkpoint_root: bytes | None


def encode_bundle(entries: Sequence[bytes]) -> bytes:
    return b"".join([part for entry in entries for part in (len(entry).to_bytes(2, "big"), entry)])


def decode_bundle(data: bytes) -> list[bytes]:
    entries, pos = [], 0
    while pos < len(data):
        if pos + 2 > len(data):
            raise LogCorruptError("entry bundle ends inside a length prefix")
        n = int.from_bytes(data[pos : pos + 2], "big")
        end = pos + 2 + n
        if end > len(data):
            raise LogCorruptError("entry bundle ends inside an entry")
        entries.append(data[pos + 2 : end])
        pos = end
    return entries


def split_hashes(data: bytes) -> list[bytes]:
    return [data[i : i + HASH] for i in range(0, len(data), HASH)]


def _proof_tiles(size: int, index: int) -> list[tuple[int, int]]:
    """The tiles a proof about leaf ``index`` in a tree of ``size`` reads: its own path and the right edge."""
    tiles = []
    level, width = 0, size
    while width > 1 or level == 0:
        tiles.append((level, (index >> (TILE_HEIGHT * level)) // TILE_WIDTH))
        tiles.append((level, (width - 1) // TILE_WIDTH))
        width //= TILE_WIDTH
        level += 1
    return tiles


class CustodyLog:
    """One case's custody log. Signing needs ``signer``; reading and proving do not."""

    def __init__(self, verifier: Verifier, signer: Signer | None = None) -> None:
        self.verifier = verifier
        self.signer = signer
        # Interior nodes hashed from tiles (full and partial), keyed by the tile's position *and* checked
        # against its bytes on every use, so a rolled-back or changed tile is never trusted.
        self._tile_cache: dict[tuple[int, int], tuple[bytes, list[list[bytes]]]] = {}

    @property
    def origin(self) -> str:
        return self.verifier.name

    # -- reading -------------------------------------------------------------------------

    def size(self, conn: Connection) -> int:
        value = conn.execute(_SELECT_SIZE).scalar_one_or_none()
        return int(value or 0)

    def head(self, conn: Connection, *, lock: bool = False) -> Head:
        """The log's size and latest checkpoint; ``lock`` serialises appenders on PostgreSQL."""
        query = select(LogHead.size).where(LogHead.id == 1)
        if lock and conn.dialect.name == "postgresql":
            query = query.with_for_update()
        size = int(conn.execute(query).scalar_one_or_none() or 0)
        latest = self.latest_checkpoint(conn)
        if latest is None:
            return Head(size, 0, None)
        cp = Checkpoint.from_text(latest.split("\n\n")[0] + "\n")
        return Head(size, cp.size, cp.root_hash)

    def entries(self, conn: Connection, start: int = 0, end: int | None = None) -> Iterator[tuple[int, bytes]]:
        """Yield ``(index, entry)`` for ``start <= index < end``, reading whole bundles."""
        if end is None:
            end = self.size(conn)
        if start >= end:
            return
        rows = conn.execute(
            select(LogEntryBundle.idx, LogEntryBundle.data)
            .where(LogEntryBundle.idx >= start // TILE_WIDTH, LogEntryBundle.idx <= (end - 1) // TILE_WIDTH)
            .order_by(LogEntryBundle.idx)
        )
        expected = start // TILE_WIDTH
        for idx, data in rows:
            if idx != expected:
                raise LogCorruptError(f"entry bundle {expected} is missing")
            expected += 1
            for offset, entry in enumerate(decode_bundle(data)):
                index = idx * TILE_WIDTH + offset
                if start <= index < end:
                    yield index, entry
        if expected <= (end - 1) // TILE_WIDTH:
            raise LogCorruptError(f"entry bundle {expected} is missing")

    def entry(self, conn: Connection, index: int) -> bytes:
        for _, entry in self.entries(conn, index, index + 1):
            return entry
        raise LogCorruptError(f"entry {index} is missing")

    def node_source(self, conn: Connection, prefetch: Iterable[tuple[int, int]] = ()) -> merkle.NodeSource:
        """A :data:`merkle.NodeSource` reading this log's tiles, caching what it reads.

        A tile holds 256 nodes of tree level ``8k``; the nodes of levels
        ``8k+1 .. 8k+7`` above them are hashed from it level by level, once per
        tile and only as high as asked, instead of node by node. ``prefetch``
        names tiles ``(level, idx)`` to read in one query up front.
        """
        trees: dict[tuple[int, int], list[list[bytes]]] = {}
        tile_cache = self._tile_cache

        def load(key: tuple[int, int], data: bytes) -> list[list[bytes]]:
            usable = data[: len(data) - len(data) % HASH]
            cached = tile_cache.get(key)
            if cached is not None and cached[0] == usable:  # the stored bytes decide, never the cache
                levels = cached[1]
            else:
                if len(tile_cache) >= _TILE_CACHE:
                    tile_cache.clear()
                levels = [split_hashes(usable)]
                while len(levels[-1]) > 1:  # built whole before it is shared between threads
                    below = levels[-1]
                    levels.append(merkle.hash_level(below[: len(below) & ~1]))
                tile_cache[key] = (usable, levels)
            trees[key] = levels
            return levels

        wanted = set(prefetch)
        if wanted:
            levels = sorted({level for level, _ in wanted})
            idxs = sorted({idx for _, idx in wanted})
            for level, idx, data in conn.execute(_SELECT_TILES, {"levels": levels, "idxs": idxs}):
                if (level, idx) in wanted:
                    load((level, idx), data)

        def tile_levels(tile_level: int, idx: int, height: int) -> list[list[bytes]]:
            key = (tile_level, idx)
            levels = trees.get(key)
            if levels is None:
                data = conn.execute(_SELECT_TILE, {"level": tile_level, "idx": idx}).scalar_one_or_none()
                if data is None:
                    raise LogCorruptError(f"hash tile {tile_level}/{idx} is missing")
                levels = load(key, data)
            while len(levels) <= height and len(levels[-1]) > 1:
                below = levels[-1]
                levels.append(merkle.hash_level(below[: len(below) & ~1]))
            return levels

        def node(level: int, index: int) -> bytes:
            tile_level, rest = divmod(level, TILE_HEIGHT)
            tile_idx, offset = divmod(index, TILE_WIDTH >> rest)
            levels = tile_levels(tile_level, tile_idx, rest)
            if rest >= len(levels) or offset >= len(levels[rest]):
                raise LogCorruptError(f"hash tile {tile_level}/{tile_idx} is too short")
            return levels[rest][offset]

        return node

    def root(self, conn: Connection, size: int | None = None) -> bytes:
        return merkle.root(self.node_source(conn), self.size(conn) if size is None else size)

    def inclusion_proof(self, conn: Connection, index: int, size: int) -> list[bytes]:
        return merkle.inclusion_proof(self.node_source(conn, _proof_tiles(size, index)), index, size)

    def consistency_proof(self, conn: Connection, size1: int, size2: int) -> list[bytes]:
        tiles = _proof_tiles(size2, size1 - 1) if 0 < size1 <= size2 else []
        return merkle.consistency_proof(self.node_source(conn, tiles), size1, size2)

    def latest_checkpoint(self, conn: Connection) -> str | None:
        return conn.execute(
            select(CheckpointRecord.note).order_by(CheckpointRecord.size.desc()).limit(1)
        ).scalar_one_or_none()

    def checkpoints(self, conn: Connection) -> list[tuple[int, str, str]]:
        rows = conn.execute(
            select(CheckpointRecord.size, CheckpointRecord.note, CheckpointRecord.signed_at_vault_clock).order_by(
                CheckpointRecord.size
            )
        )
        return [(int(s), n, t) for s, n, t in rows]

    # -- writing -------------------------------------------------------------------------

    def _require_signer(self) -> Signer:
        if self.signer is None:
            raise ReadOnlyCaseError("this case copy has no signing key: it can be verified but not appended to")
        return self.signer

    def append(self, conn: Connection, entries: Sequence[bytes]) -> int:
        """Append ``entries`` and return the index of the first. Call inside a transaction."""
        self._require_signer()
        if not entries:
            return self.size(conn)
        for entry in entries:
            if len(entry) > MAX_ENTRY_BYTES:
                raise VaultError(f"custody entry of {len(entry)} bytes exceeds {MAX_ENTRY_BYTES}")
        size = self.size(conn)
        self._append_bundles(conn, size, entries)
        sha = hashlib.sha256
        leaves = [sha(b"\x00" + e).digest() for e in entries]
        self._append_hashes(conn, size, leaves)
        new_size = size + len(entries)
        if size == 0 and conn.execute(select(LogHead.id)).first() is None:
            conn.execute(insert(LogHead).values(id=1, size=new_size))
        else:
            conn.execute(_UPDATE_SIZE, {"new_size": new_size})
        return size

    def _append_bundles(self, conn: Connection, size: int, entries: Sequence[bytes]) -> None:
        """Fill the last, partial bundle (its bytes extended, not decoded and rewritten), then add new ones."""
        first_bundle, filled = divmod(size, TILE_WIDTH)
        start = 0
        if filled:
            data = conn.execute(_SELECT_BUNDLE, {"idx": first_bundle}).scalar_one_or_none()
            if data is None:
                raise LogCorruptError(f"entry bundle {first_bundle} is missing")
            start = min(len(entries), TILE_WIDTH - filled)
            new_data = data + encode_bundle(entries[:start])
            conn.execute(_UPDATE_BUNDLE, {"at_idx": first_bundle, "new_data": new_data})
            first_bundle += 1
        rows = [
            {"idx": first_bundle + j, "data": encode_bundle(entries[i : i + TILE_WIDTH])}
            for j, i in enumerate(range(start, len(entries), TILE_WIDTH))
        ]
        if rows:
            conn.execute(_INSERT_BUNDLES, rows)

    def _append_hashes(self, conn: Connection, size: int, hashes: list[bytes]) -> None:
        """Add hashes to the tiles of each level; every tile completed sends its root one level up."""
        level, count = 0, size  # count: complete nodes already stored at tree level 8*level
        while hashes:
            first_tile, filled = divmod(count, TILE_WIDTH)
            promoted: list[bytes] = []
            start = 0
            if filled:
                data = conn.execute(_SELECT_TILE, {"level": level, "idx": first_tile}).scalar_one_or_none()
                if data is None:
                    raise LogCorruptError(f"hash tile {level}/{first_tile} is missing")
                if len(data) != filled * HASH:
                    raise LogCorruptError(f"hash tile {level}/{first_tile} has {len(data)} bytes, not {filled * HASH}")
                start = min(len(hashes), TILE_WIDTH - filled)
                new_data = data + b"".join(hashes[:start])
                conn.execute(_UPDATE_TILE, {"at_level": level, "at_idx": first_tile, "new_data": new_data})
                if filled + start == TILE_WIDTH:
                    promoted.append(merkle.perfect_root(split_hashes(new_data)))
                first_tile += 1
            rows = []
            for j, i in enumerate(range(start, len(hashes), TILE_WIDTH)):
                chunk = hashes[i : i + TILE_WIDTH]
                rows.append({"level": level, "idx": first_tile + j, "data": b"".join(chunk)})
                if len(chunk) == TILE_WIDTH:
                    promoted.append(merkle.perfect_root(chunk))
            if rows:
                conn.execute(_INSERT_TILES, rows)
            hashes = promoted
            count //= TILE_WIDTH
            level += 1

    def checkpoint(self, conn: Connection, signed_at: str) -> str:
        """Sign and store a checkpoint at the current size (no-op if one exists there)."""
        signer = self._require_signer()
        size = self.size(conn)
        existing = conn.execute(select(CheckpointRecord.note).where(CheckpointRecord.size == size)).scalar_one_or_none()
        if existing is not None:
            return existing
        note = Checkpoint(self.origin, size, self.root(conn, size)).sign(signer)
        conn.execute(insert(CheckpointRecord).values(size=size, note=note, signed_at_vault_clock=signed_at))
        return note
