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
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, delete, insert, select, update

from factfinder.db.models import CheckpointRecord, LogEntryBundle, LogHead, LogTile
from factfinder.vault import merkle
from factfinder.vault.checkpoint import Checkpoint, Signer, Verifier
from factfinder.vault.errors import ReadOnlyCaseError, VaultError

TILE_WIDTH = 256
TILE_HEIGHT = 8
HASH = merkle.HASH_SIZE
MAX_ENTRY_BYTES = 0xFFFF


class LogCorruptError(VaultError):
    """The stored log is internally inconsistent (a tile or bundle is damaged)."""


@dataclass(frozen=True)
class Head:
    """Where the log stands before an append: its size and its latest checkpoint."""

    size: int
    checkpoint_size: int
    checkpoint_root: bytes | None


def encode_bundle(entries: Sequence[bytes]) -> bytes:
    parts = []
    for entry in entries:
        parts.append(len(entry).to_bytes(2, "big"))
        parts.append(entry)
    return b"".join(parts)


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


class CustodyLog:
    """One case's custody log. Signing needs ``signer``; reading and proving do not."""

    def __init__(self, verifier: Verifier, signer: Signer | None = None) -> None:
        self.verifier = verifier
        self.signer = signer

    @property
    def origin(self) -> str:
        return self.verifier.name

    # -- reading -------------------------------------------------------------------------

    def size(self, conn: Connection) -> int:
        value = conn.execute(select(LogHead.size).where(LogHead.id == 1)).scalar_one_or_none()
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

    def node_source(self, conn: Connection) -> merkle.NodeSource:
        """A :data:`merkle.NodeSource` reading this log's tiles, caching what it reads."""
        tiles: dict[tuple[int, int], bytes] = {}
        memo: dict[tuple[int, int], bytes] = {}

        def tile(level: int, idx: int) -> bytes:
            key = (level, idx)
            if key not in tiles:
                data = conn.execute(
                    select(LogTile.data).where(LogTile.level == level, LogTile.idx == idx)
                ).scalar_one_or_none()
                if data is None:
                    raise LogCorruptError(f"hash tile {level}/{idx} is missing")
                tiles[key] = data
            return tiles[key]

        def node(level: int, index: int) -> bytes:
            key = (level, index)
            found = memo.get(key)
            if found is not None:
                return found
            tile_level, rest = divmod(level, TILE_HEIGHT)
            if rest == 0:
                data = tile(tile_level, index // TILE_WIDTH)
                offset = (index % TILE_WIDTH) * HASH
                value = data[offset : offset + HASH]
                if len(value) != HASH:
                    raise LogCorruptError(f"hash tile {tile_level}/{index // TILE_WIDTH} is too short")
            else:
                value = merkle.node_hash(node(level - 1, 2 * index), node(level - 1, 2 * index + 1))
            memo[key] = value
            return value

        return node

    def root(self, conn: Connection, size: int | None = None) -> bytes:
        return merkle.root(self.node_source(conn), self.size(conn) if size is None else size)

    def inclusion_proof(self, conn: Connection, index: int, size: int) -> list[bytes]:
        return merkle.inclusion_proof(self.node_source(conn), index, size)

    def consistency_proof(self, conn: Connection, size1: int, size2: int) -> list[bytes]:
        return merkle.consistency_proof(self.node_source(conn), size1, size2)

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
            conn.execute(update(LogHead).where(LogHead.id == 1).values(size=new_size))
        return size

    def _append_bundles(self, conn: Connection, size: int, entries: Sequence[bytes]) -> None:
        first_bundle = size // TILE_WIDTH
        pending: list[bytes] = []
        if size % TILE_WIDTH:
            data = conn.execute(
                select(LogEntryBundle.data).where(LogEntryBundle.idx == first_bundle)
            ).scalar_one_or_none()
            if data is None:
                raise LogCorruptError(f"entry bundle {first_bundle} is missing")
            pending = decode_bundle(data)
            conn.execute(delete(LogEntryBundle).where(LogEntryBundle.idx == first_bundle))
        pending.extend(entries)
        rows = [
            {"idx": first_bundle + j, "data": encode_bundle(pending[i : i + TILE_WIDTH])}
            for j, i in enumerate(range(0, len(pending), TILE_WIDTH))
        ]
        conn.execute(insert(LogEntryBundle), rows)

    def _append_hashes(self, conn: Connection, size: int, hashes: list[bytes]) -> None:
        level, count = 0, size  # count: complete nodes already stored at tree level 8*level
        while hashes:
            first_tile = count // TILE_WIDTH
            pending: list[bytes] = []
            if count % TILE_WIDTH:
                data = conn.execute(
                    select(LogTile.data).where(LogTile.level == level, LogTile.idx == first_tile)
                ).scalar_one_or_none()
                if data is None:
                    raise LogCorruptError(f"hash tile {level}/{first_tile} is missing")
                pending = split_hashes(data)
                conn.execute(delete(LogTile).where(LogTile.level == level, LogTile.idx == first_tile))
            pending.extend(hashes)
            rows, promoted = [], []
            for j, i in enumerate(range(0, len(pending), TILE_WIDTH)):
                chunk = pending[i : i + TILE_WIDTH]
                rows.append({"level": level, "idx": first_tile + j, "data": b"".join(chunk)})
                if len(chunk) == TILE_WIDTH:
                    promoted.append(merkle.perfect_root(chunk))
            conn.execute(insert(LogTile), rows)
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
