"""Origins: one custody log per archive, and this archive's mirrors of the others' logs.

Implements the "one append-only log per origin" model of issue 8 (field intake
through a blackout). Every archive (a field laptop, an intake server, the
commission's archive) keeps its own custody log, named by its checkpoint origin
line (C2SP tlog-checkpoint) and signed with its own Ed25519 note key. Evidence
moves between archives as *suffixes* of those logs: a carried bundle
(:mod:`factfinder.intake.bundles`) or a sync over HTTP. The receiving archive
mirrors each origin's entries byte for byte (:class:`OriginEntry` rows), so a
field laptop's log that reached the intake server goes on, unchanged and still
checkable against the laptop's own signature, to the commission.

Why this shape and not "copy the items": the custody record must show every hop
and must stand up later. A mirrored log keeps the origin's own signed
statements ("my log of N entries has this root"); the receiver's own log adds
one ``transfer.received`` entry per hop. Nobody has to trust a relay: the
entries it passes on are checked against the origin's key.

Accepting a suffix ``[from_size, to_size)`` of origin O (:func:`examine`):

- the offered checkpoint must verify with O's key, pinned at first sight (trust
  on first use; the report shows its fingerprint); an offer under a different
  key for a name already held is a **key conflict**: nothing is taken from that
  origin, the others go on;
- the sender's consistency proof (RFC 9162 section 2.1.4) from its tree at
  ``from_size`` (root ``from_root``, given with the offer) to the signed root
  must verify, so ``from_root`` really is the root of the signed log's prefix;
- ``from_size`` must not exceed what is held (a gap is skipped, not merged); the
  held entries ``[0, from_size)`` followed by the offered ones must hash
  (RFC 9162 leaf and node hashing) to the signed root, and the overlap with what
  is held must be equal byte for byte, so a forged or reordered suffix fails.

The sender computes the proof from its own copy of the entries, so it needs no
checkpoint at exactly ``from_size`` (it may never have seen one there); the
receiver checks that proof against the root it recomputes from what it holds.

What it costs follows the suffix, not the log: each mirror keeps its RFC 9162
compact range (``Origin.frontier``: the roots of the perfect subtrees covering
what is held, at most log2(size) hashes), updated in the transaction that
mirrors new entries, so the root after a suffix is the compact range plus the
new leaves; roots and proofs at a smaller size read only the entries that the
compact range does not cover there. ``verify`` still rebuilds every mirror's
whole tree from its entries and checks the compact range against it. Likewise
each mirrored receipt keeps the digest it names (``OriginEntry.item_sha256``),
so "does an archive that holds these origins up to these sizes hold this
item?" (:func:`held_by`) is an indexed look-up of the digests in question.

A checkpoint signed by O's key that cannot extend what is held (a different root
at the same size, or a prefix that differs) is a **fork**: the signed evidence
of it is kept (:class:`OriginFork`, both notes, and an ``origin.forked`` custody
entry), nothing more is merged from that origin, ever (it is frozen until people
sort out which history is true), and other origins go on. Damage that is not
provably a fork (an entry that does not hash to the signed root while the proof
holds, a broken proof, a receipt whose details do not match its commitment) is
an error: the whole transfer is refused and nothing is written. An origin
whose signed entries cannot be mirrored safely (a receipt without a valid
item digest, size or details commitment, or giving an item another size than
the one held) is **refused** alone: a relay must never hold a receipt whose
item it cannot send on. A transfer that finds what it examined changed when it
writes (another import of the same suffix got there first) examines again and
ends as held.

This archive's own log is an origin too (:func:`held` lists it), but it is never
written to from outside: an offer of it is only checked (a checkpoint signed by
this archive's key that is not a prefix of its log means the signing key was
copied: a fork). Its :class:`Origin` row exists only once such a fork is seen.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, and_, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from factfinder.db import engine as dbengine
from factfinder.db.models import Item, Origin, OriginEntry, OriginFork, ProtectedField, Receipt, Transfer
from factfinder.vault import custody, merkle, sealing
from factfinder.vault.blobs import StoredBlob
from factfinder.vault.case import Case, NewReceipt, Recorded
from factfinder.vault.checkpoint import Checkpoint, Verifier, open_note
from factfinder.vault.errors import CheckpointError, IntakeError, VaultError

if TYPE_CHECKING:
    from factfinder.vault.audit import AuditReport

STATE_FORMAT = "factfinder/origins-state/v1"
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
DETAILS_KEYS = frozenset({"salt", "source", "note", "original_name", "collected_by_claimed", "sealed"})
HOP_KINDS = ("bundle", "sync")
_READ_CHUNK = 1024  # mirrored entries read per query when streaming a suffix out

# What :func:`examine` decides for one offered origin.
TAKEN = "taken"  # new entries accepted
HELD = "held"  # nothing new: everything offered is already held (and consistent)
FORK = "fork"  # signed by the origin's key but inconsistent with what is held: recorded, not merged
FROZEN = "frozen"  # the origin forked earlier: nothing is taken from it any more
GAP = "gap"  # the offer starts beyond what is held: skipped (ask again with this archive's state)
KEY_CONFLICT = "key-conflict"  # offered under another key than the one pinned for its name: nothing taken
REFUSED = "refused"  # signed by the origin's key, but its entries cannot be mirrored safely: nothing taken


class OriginsError(IntakeError):
    """An origins state or an origin's held copy is unusable."""


class TransferError(OriginsError):
    """What another archive sent does not verify: refused as a whole, nothing written."""


class _Moved(TransferError):
    """What an examined origin held changed before the write (a concurrent transfer): examine again."""


class _OriginRefused(Exception):
    """One origin's offer cannot be mirrored (not the whole transfer's fault): that origin is refused."""


@dataclass(frozen=True)
class OriginState:
    """How far this archive holds one origin's log, and under which key."""

    name: str
    verifier: str
    size: int
    checkpoint: str | None
    forked: bool = False


@dataclass(frozen=True)
class ArchiveState:
    """What an archive says it holds: what a sender needs to make it a bundle or a sync.

    ``signature`` is the signature block of a C2SP signed note whose text is
    ``text`` (the canonical JSON of the state without its signature, and a
    newline), signed with the archive's own note key: :func:`check_state`.
    """

    archive: str
    recipients: list[str]
    origins: dict[str, OriginState]
    signature: str | None = None
    text: str = ""

    @property
    def have(self) -> dict[str, int]:
        return {name: o.size for name, o in self.origins.items()}


@dataclass(frozen=True)
class Offer:
    """A suffix of one origin's log as another archive sends it."""

    name: str
    verifier: str
    from_size: int
    from_root: bytes  # the sender's root at ``from_size`` (the empty-tree hash at 0)
    checkpoint: str  # signed note at ``from_size + len(entries)``
    proof: list[bytes]  # consistency proof from ``from_size`` to the checkpoint's size
    entries: list[bytes]
    details: list[bytes | None]  # per entry: canonical JSON of a receipt's committed details, else None


@dataclass(frozen=True)
class NewItemEntry:
    """A receipt entry, in an accepted suffix, naming an item."""

    origin: str
    index: int
    sha256: str
    size: int
    record: dict[str, Any]
    details: dict[str, Any]


@dataclass
class Verdict:
    """The outcome of checking one offer against what this archive holds (nothing written yet)."""

    offer: Offer
    status: str
    held_size: int
    held_checkpoint: str | None
    checkpoint: Checkpoint
    reason: str = ""
    receipts: list[NewItemEntry] = field(default_factory=list)
    pinned: str | None = None  # the key this archive held for the origin before (None: first seen now)

    @property
    def new_entries(self) -> list[bytes]:
        return self.offer.entries[self.held_size - self.offer.from_size :] if self.status == TAKEN else []

    @property
    def new_details(self) -> list[bytes | None]:
        return self.offer.details[self.held_size - self.offer.from_size :] if self.status == TAKEN else []


@dataclass(frozen=True)
class Hop:
    """How the entries came: by a carried bundle or a sync, who says they carried it, from where."""

    kind: str
    bundle_sha256: str | None = None
    carrier_claimed: str | None = None
    left_at_claimed: str | None = None
    peer: str | None = None

    @property
    def via(self) -> str:
        if self.kind == "bundle":
            return f"bundle {self.bundle_sha256}" if self.bundle_sha256 else "bundle"
        return f"sync with {self.peer}" if self.peer else "sync"


@dataclass
class OriginOutcome:
    """What one origin of a transfer did to this archive."""

    name: str
    status: str
    from_size: int  # what this archive held before
    to_size: int  # the offered checkpoint's size
    entries_taken: int = 0
    items_new: int = 0
    items_held: int = 0
    reason: str = ""
    fork: bool = False  # signed by the origin's key but inconsistent with what is held
    new_items: list[str] = field(default_factory=list)  # digests of the items new to this archive
    key_fingerprint: str = ""  # of the key the origin was offered under (to compare by eye with its owner's)
    pinned_fingerprint: str = ""  # of the key pinned here before; "" when first seen in this transfer
    first_seen: bool = False  # this transfer pinned the origin's key here (trust on first use)

    def __post_init__(self) -> None:
        self.fork = self.status == FORK


# -- what this archive holds ---------------------------------------------------------------


def held(case: Case) -> dict[str, OriginState]:
    """Every origin this archive holds, its own log included, with size and latest checkpoint."""
    with dbengine.snapshot(case.engine) as conn:
        return held_in(case, conn)


def held_in(case: Case, conn: Connection) -> dict[str, OriginState]:
    """:func:`held` inside a transaction the caller already has."""
    own = case.log.origin
    out: dict[str, OriginState] = {}
    own_forked = False
    for name, verifier, size, note, forked in conn.execute(
        select(Origin.name, Origin.verifier, Origin.size, Origin.checkpoint, Origin.forked).order_by(Origin.name)
    ):
        if name == own:
            own_forked = bool(forked)
            continue
        out[name] = OriginState(name, verifier, int(size), note, bool(forked))
    note = case.log.latest_checkpoint(conn)
    size = Checkpoint.from_text(note.split("\n\n")[0] + "\n").size if note else 0
    out[own] = OriginState(own, case.config.log_key, size, note, own_forked)
    return dict(sorted(out.items()))


def state(case: Case) -> dict[str, Any]:
    """What this archive hands to whoever will bring it a bundle (JSON-able; nothing secret in it).

    Signed with the archive's note key (``signature``: see :class:`ArchiveState`)
    when the case can sign: the state names the age recipients a bundle is
    encrypted to, so whoever could alter it on the way could choose who reads
    the bundle; the sender checks it with :func:`check_state`.
    """
    body: dict[str, Any] = {
        "format": STATE_FORMAT,
        "archive": case.log.origin,
        "recipients": list(case.config.recipients),
        "origins": {
            # forked: this archive holds two histories of that origin and takes no more of it; a peer then
            # does not send it (sync), and the signature covers it like the rest.
            name: {"size": o.size, "checkpoint": o.checkpoint, "verifier": o.verifier, "forked": o.forked}
            for name, o in held(case).items()
        },
    }
    signer = case.log.signer
    if signer is not None:
        text = _state_text(body)
        body["signature"] = signer.sign(text)[len(text) + 1 :]
    return body


def _state_text(body: Mapping[str, Any]) -> str:
    """The text a state's signature signs: its canonical JSON without the signature, and a newline."""
    return custody.canonical_json({k: v for k, v in body.items() if k != "signature"}).decode("utf-8") + "\n"


@dataclass(frozen=True)
class StateTrust:
    """Why a state file may be believed: checked against a pinned key, or only self-consistent."""

    pinned: bool  # its signature verifies with the key this archive pinned for the state's archive
    archive_fingerprint: str  # of the key that signed it: the receiving archive's ``origins list`` shows it
    recipients: list[str]


def check_state(case: Case, st: ArchiveState) -> StateTrust:
    """Check a state's signature before a bundle is encrypted to the recipients it names.

    If this archive holds the state's archive as an origin, the signature must
    verify with the key pinned for it. If not, only self-consistency can be
    checked (the state is signed with the key it gives for its own log, whose
    checkpoint verifies with it): the caller must then show the key's
    fingerprint and the recipients to a person who can compare them with the
    receiving archive's (:attr:`StateTrust.pinned` is false). Raises
    :class:`OriginsError` for an unsigned, altered or conflicting state.
    """
    if st.signature is None:
        raise OriginsError("the state is not signed: its recipients cannot be checked")
    claimed = st.origins.get(st.archive)
    if claimed is None or claimed.checkpoint is None:
        raise OriginsError(f"the state does not give archive {st.archive}'s own log and signed checkpoint")
    pinned = held(case).get(st.archive)
    key = _verifier(st.archive, pinned.verifier if pinned is not None else claimed.verifier)
    if pinned is not None and pinned.verifier != claimed.verifier:
        raise OriginsError(
            f"the state gives archive {st.archive} the key {_fingerprint(claimed.verifier)}, "
            f"but this archive pinned {key.fingerprint} for it: refused"
        )
    try:
        open_note(st.text + "\n" + st.signature, key)
    except CheckpointError as exc:
        raise OriginsError(f"the state's signature does not verify ({exc}): altered on the way") from None
    return StateTrust(pinned is not None, key.fingerprint, list(st.recipients))


def _fingerprint(verifier: str) -> str:
    try:
        return Verifier.parse(verifier).fingerprint
    except CheckpointError:
        return "(malformed key)"


def parse_state(obj: Any) -> ArchiveState:
    """Check and read an archive's state as :func:`state` wrote it; :class:`OriginsError` names what is wrong."""
    if not isinstance(obj, Mapping) or obj.get("format") != STATE_FORMAT:
        raise OriginsError(f"not an origins state (expected format {STATE_FORMAT})")
    archive = obj.get("archive")
    recipients = obj.get("recipients")
    origins = obj.get("origins")
    signature = obj.get("signature")
    if signature is not None and not isinstance(signature, str):
        raise OriginsError("origins state: 'signature' must be a signed note's signature lines")
    if not isinstance(archive, str) or not archive:
        raise OriginsError("origins state: 'archive' must name the archive's origin")
    if not isinstance(recipients, list) or not all(isinstance(r, str) for r in recipients):
        raise OriginsError("origins state: 'recipients' must be a list of age public keys")
    try:
        sealing.parse_recipients(recipients)
    except VaultError as exc:
        raise OriginsError(f"origins state: {exc}") from None
    if not isinstance(origins, Mapping):
        raise OriginsError("origins state: 'origins' must map origin names to what is held")
    parsed: dict[str, OriginState] = {}
    for name, o in origins.items():
        if not isinstance(name, str) or not isinstance(o, Mapping):
            raise OriginsError("origins state: each origin must be an object under its name")
        size, note, verifier = o.get("size"), o.get("checkpoint"), o.get("verifier")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise OriginsError(f"origins state: origin {name!r} has no valid size")
        if note is not None and not isinstance(note, str):
            raise OriginsError(f"origins state: origin {name!r} has a malformed checkpoint")
        if not isinstance(verifier, str):
            raise OriginsError(f"origins state: origin {name!r} has no verifier key")
        key = _verifier(name, verifier)
        if note is not None:
            try:
                cp = Checkpoint.open(note, key)
            except CheckpointError as exc:
                raise OriginsError(f"origins state: origin {name!r}: {exc}") from None
            if cp.size != size:
                raise OriginsError(f"origins state: origin {name!r} says size {size} but its checkpoint {cp.size}")
        parsed[name] = OriginState(name, verifier, size, note, o.get("forked") is True)
    return ArchiveState(archive, list(recipients), parsed, signature, _state_text(obj))


def _verifier(name: str, text: str) -> Verifier:
    try:
        key = Verifier.parse(text)
    except CheckpointError as exc:
        raise OriginsError(f"origin {name!r}: {exc}") from None
    if key.name != name:
        raise OriginsError(f"origin {name!r}: its verifier key is for {key.name!r}")
    return key


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: Any, what: str) -> bytes:
    if not isinstance(text, str):
        raise TransferError(f"{what} is not base64 text")
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error:
        raise TransferError(f"{what} is not base64") from None


def _origin_id(conn: Connection, name: str) -> int | None:
    value = conn.execute(select(Origin.id).where(Origin.name == name)).scalar_one_or_none()
    return int(value) if value is not None else None


# -- reading an origin's log, for sending it on ----------------------------------------------


def records(case: Case, conn: Connection, name: str, start: int, end: int) -> Iterator[tuple[int, bytes, bytes | None]]:
    """``(index, entry, details)`` of origin ``name`` for ``start <= index < end``, as this archive holds it.

    ``details`` is the canonical JSON that a receipt entry's ``details_sha256``
    commits to, with the salt and the sealed fields' ciphertexts in base64 (so
    the receiver can check the commitment and keep the sealed fields sealed to
    whoever the origin sealed them to); ``None`` for other entries.
    """
    if name == case.log.origin:
        yield from _own_records(case, conn, start, end)
        return
    origin_id = _origin_id(conn, name)
    if origin_id is None:
        return
    for lo in range(start, end, _READ_CHUNK):
        hi = min(end, lo + _READ_CHUNK)
        rows = conn.execute(
            select(OriginEntry.idx, OriginEntry.entry, OriginEntry.details)
            .where(OriginEntry.origin_id == origin_id, OriginEntry.idx >= lo, OriginEntry.idx < hi)
            .order_by(OriginEntry.idx)
        ).all()
        if len(rows) != hi - lo:
            raise OriginsError(f"the held copy of origin {name} lacks entries in {lo}..{hi - 1}: run verify")
        for idx, entry, details in rows:
            yield int(idx), bytes(entry), bytes(details) if details is not None else None


def _own_records(case: Case, conn: Connection, start: int, end: int) -> Iterator[tuple[int, bytes, bytes | None]]:
    for lo in range(start, end, _READ_CHUNK):
        hi = min(end, lo + _READ_CHUNK)
        receipts = {
            int(r.log_index): r
            for r in conn.execute(
                select(
                    Receipt.id,
                    Receipt.log_index,
                    Receipt.source,
                    Receipt.note,
                    Receipt.original_name,
                    Receipt.collected_by_claimed,
                    Receipt.details_salt,
                ).where(Receipt.log_index >= lo, Receipt.log_index < hi)
            )
        }
        sealed: dict[int, dict[str, str]] = {}
        if receipts:
            ids = [r.id for r in receipts.values()]
            for rid, name, ct in conn.execute(
                select(ProtectedField.receipt_id, ProtectedField.field, ProtectedField.ciphertext).where(
                    ProtectedField.receipt_id.in_(ids)
                )
            ):
                sealed.setdefault(int(rid), {})[name] = _b64(bytes(ct))
        for idx, entry in case.log.entries(conn, lo, hi):
            r = receipts.get(idx)
            details = None
            if r is not None:
                details = custody.canonical_json(
                    {
                        "salt": _b64(bytes(r.details_salt)),
                        "source": r.source,
                        "note": r.note,
                        "original_name": r.original_name,
                        "collected_by_claimed": r.collected_by_claimed,
                        "sealed": dict(sorted(sealed.get(int(r.id), {}).items())),
                    }
                )
            yield idx, entry, details


def leaf_tree(case: Case, conn: Connection, name: str, size: int) -> merkle.MemoryTree:
    """The Merkle tree of the first ``size`` entries of a mirrored origin, rebuilt from the held entries.

    Reads every entry: for the audit and for tests. Checking and sending a
    suffix use the stored compact range instead (:func:`root_at`, :func:`prefix_proof`).
    """
    return merkle.MemoryTree([merkle.leaf_hash(entry) for _, entry, _ in records(case, conn, name, 0, size)])


# -- compact ranges (RFC 9162 trees, appended to without their leaves) ---------------------------
#
# The compact range of a tree of ``size`` leaves is the list of the roots of the perfect subtrees that cover
# [0, size), largest first: one per set bit of ``size``. RFC 9162's MTH splits a tree at the largest power of
# two below its size, so the root is these subtree roots folded from the right; and appending a leaf merges
# the trailing subtrees of equal size, as binary addition carries. A mirror keeps its origin's compact range
# (``Origin.frontier``), so taking a suffix costs the suffix, not the whole log.


def frontier_nodes(size: int) -> list[tuple[int, int]]:
    """``(level, index)`` of the perfect subtrees that cover ``[0, size)``, largest first."""
    out: list[tuple[int, int]] = []
    offset = 0
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            out.append((level, offset >> level))
            offset += 1 << level
    return out


def frontier_extend(frontier: list[bytes], size: int, leaves: Iterable[bytes]) -> int:
    """Append leaf hashes to the compact range ``frontier`` of ``size`` leaves, in place; return the new size."""
    for leaf in leaves:
        carry, n = leaf, size
        while n & 1:
            carry = merkle.node_hash(frontier.pop(), carry)
            n >>= 1
        frontier.append(carry)
        size += 1
    return size


def frontier_root(frontier: Sequence[bytes]) -> bytes:
    """The RFC 9162 root of the tree whose compact range this is."""
    if not frontier:
        return merkle.EMPTY_ROOT
    root = frontier[-1]
    for h in reversed(frontier[:-1]):
        root = merkle.node_hash(h, root)
    return root


def pack_frontier(frontier: Sequence[bytes]) -> bytes:
    return b"".join(frontier)


def unpack_frontier(data: bytes | None, size: int, name: str) -> list[bytes]:
    """The stored compact range of a mirror of ``size`` entries; :class:`OriginsError` if it cannot be one."""
    raw = bytes(data or b"")
    if len(raw) != merkle.HASH_SIZE * size.bit_count():
        raise OriginsError(f"the held copy of origin {name} has a damaged compact range: run verify")
    return [raw[i : i + merkle.HASH_SIZE] for i in range(0, len(raw), merkle.HASH_SIZE)]


def _containing(size: int, at: int) -> tuple[int, int]:
    """The perfect subtree of ``size``'s compact range holding leaf ``at`` (< size): its position and start."""
    offset = 0
    for k, (level, _) in enumerate(frontier_nodes(size)):
        if at < offset + (1 << level):
            return k, offset
        offset += 1 << level
    raise ValueError(f"leaf {at} is outside a tree of size {size}")


class _Mirror:
    """One mirrored origin as held: its size, its compact range, and its entries read only where needed.

    The compact range of a smaller size ``s`` shares every subtree of the held
    one that ends at or before the subtree holding leaf ``s``; the rest is
    rehashed from the entries between that subtree's start and ``s``. So the
    roots and proofs at sizes below the held one read only entries near ``s``.
    """

    def __init__(self, case: Case, conn: Connection, name: str, size: int, frontier: list[bytes]) -> None:
        self.case, self.conn, self.name, self.size, self.frontier = case, conn, name, size, frontier

    @classmethod
    def load(cls, case: Case, conn: Connection, name: str) -> _Mirror:
        row = conn.execute(select(Origin.size, Origin.frontier).where(Origin.name == name)).first()
        if row is None:
            return cls(case, conn, name, 0, [])
        size = int(row[0])
        return cls(case, conn, name, size, unpack_frontier(row[1], size, name))

    def leaf_hashes(self, start: int, end: int) -> list[bytes]:
        return [merkle.leaf_hash(e) for _, e, _ in records(self.case, self.conn, self.name, start, end)]

    def frontier_at(self, size: int) -> list[bytes]:
        """The compact range of the first ``size`` held entries (``size <= self.size``)."""
        if not 0 <= size <= self.size:
            raise OriginsError(f"origin {self.name}: no tree of size {size} is held (held: {self.size})")
        if size == self.size:
            return list(self.frontier)
        k, start = _containing(self.size, size)
        out = list(self.frontier[:k])
        frontier_extend(out, 0, self.leaf_hashes(start, size))  # start is aligned beyond size - start
        return out

    def root_at(self, size: int) -> bytes:
        return frontier_root(self.frontier_at(size))

    def node_source(self, lo: int) -> merkle.NodeSource:
        """Nodes for proofs from ``lo`` to the held size: held subtrees, and entries from the one holding ``lo``."""
        shared = dict(zip(frontier_nodes(self.size), self.frontier, strict=True))
        start = _containing(self.size, lo)[1] if lo < self.size else self.size
        local = merkle.MemoryTree(self.leaf_hashes(start, self.size))

        def node(level: int, index: int) -> bytes:
            got = shared.get((level, index))
            if got is not None:
                return got
            first = index << level
            if first < start or start % (1 << level):
                raise OriginsError(f"origin {self.name}: node {level}/{index} is not derivable from the held range")
            return local.node(level, (first - start) >> level)

        return node


def root_at(case: Case, conn: Connection, name: str, size: int) -> bytes:
    """The root of the first ``size`` entries of origin ``name`` as held here (its own log or a mirror).

    For a mirror this reads no entries at the held size, and below it only
    those between ``size`` and the start of the held subtree that holds it.
    """
    if name == case.log.origin:
        return case.log.root(conn, size)
    return _Mirror.load(case, conn, name).root_at(size)


def prefix_proof(case: Case, conn: Connection, name: str, from_size: int, to_size: int) -> tuple[bytes, list[bytes]]:
    """The root at ``from_size`` and the consistency proof from there to ``to_size``, from the held entries."""
    if from_size == 0:
        return merkle.EMPTY_ROOT, []
    if name == case.log.origin:
        proof = case.log.consistency_proof(conn, from_size, to_size) if from_size < to_size else []
        return case.log.root(conn, from_size), proof
    mirror = _Mirror.load(case, conn, name)
    if to_size != mirror.size:  # not the held size: the old way, from the entries
        tree = leaf_tree(case, conn, name, to_size)
        proof = merkle.consistency_proof(tree.node, from_size, to_size) if from_size < to_size else []
        return tree.root(from_size), proof
    if from_size == to_size:
        return frontier_root(mirror.frontier), []
    node = mirror.node_source(from_size)
    return merkle.root(node, from_size), merkle.consistency_proof(node, from_size, to_size)


def receipt_item(record: Mapping[str, Any]) -> str | None:
    """The item a receipt entry names, or None for any other entry."""
    if record.get("action") in custody.ITEM_ACTIONS:
        sha = record.get("item_sha256")
        return sha if isinstance(sha, str) else None
    return None


def items_named(case: Case, conn: Connection, name: str, start: int, end: int) -> Iterator[tuple[str, int]]:
    """``(digest, size)`` of every item named by a receipt entry of ``name`` in ``[start, end)``."""
    if name == case.log.origin:
        rows = conn.execute(
            select(Item.sha256, Item.size)
            .join(Receipt, Receipt.item_id == Item.id)
            .where(Receipt.log_index >= start, Receipt.log_index < end)
        )
        for sha, size in rows:
            yield str(sha), int(size)
        return
    for _, entry, _ in records(case, conn, name, start, end):
        record = custody.decode_entry(entry)
        named = receipt_item(record)
        if named is not None:
            yield named, int(record.get("item_size") or 0)


_IN_CHUNK = 500  # digests per IN list: well under every database's limit on bound parameters


def held_by(case: Case, conn: Connection, have: Mapping[str, int], digests: Iterable[str]) -> set[str]:
    """Of ``digests``, those named by a receipt entry below ``have[O]`` of some origin ``O`` this archive holds.

    What an archive that says it holds ``have`` (origin -> size) must hold
    already: the same answer as reading every such origin's log from the
    start with :func:`items_named`, but found with indexed queries on the
    digests alone (the receipts of this archive's own log; the ``item_sha256``
    of mirrored entries), so it costs the digests asked about, not the logs.
    Sizes beyond what this archive holds count as what it holds.
    """
    wanted = sorted(set(digests))
    if not wanted:
        return set()
    own = case.log.origin
    ids = {str(name): int(origin_id) for origin_id, name in conn.execute(select(Origin.id, Origin.name))}
    own_known = 0
    mirrored: list[tuple[int, int]] = []  # (origin id, entries below which the other archive holds)
    for name, o in held_in(case, conn).items():
        known = min(max(int(have.get(name, 0)), 0), o.size)
        if not known:
            continue
        if name == own:
            own_known = known
        else:
            mirrored.append((ids[name], known))
    found: set[str] = set()
    for lo in range(0, len(wanted), _IN_CHUNK):
        chunk = wanted[lo : lo + _IN_CHUNK]
        if own_known:
            found.update(
                str(sha)
                for sha in conn.execute(
                    select(Item.sha256)
                    .join(Receipt, Receipt.item_id == Item.id)
                    .where(Item.sha256.in_(chunk), Receipt.log_index < own_known)
                ).scalars()
            )
        if mirrored:
            found.update(
                str(sha)
                for sha in conn.execute(
                    select(OriginEntry.item_sha256).where(
                        OriginEntry.item_sha256.in_(chunk),
                        or_(*(and_(OriginEntry.origin_id == oid, OriginEntry.idx < known) for oid, known in mirrored)),
                    )
                ).scalars()
            )
    return found


def entry_item(entry: bytes) -> str | None:
    """What :attr:`OriginEntry.item_sha256` holds for a mirrored entry: the item its receipt names, if any."""
    try:
        record = custody.decode_entry(entry)
    except (ValueError, UnicodeDecodeError):
        return None
    sha = receipt_item(record) if isinstance(record, dict) else None
    return sha if sha is not None and len(sha) <= 64 else None


# -- checking what another archive offers ------------------------------------------------------


def examine(case: Case, offers: Sequence[Offer]) -> list[Verdict]:
    """Check every offer against what this archive holds; write nothing.

    Raises :class:`TransferError` for anything that is damage rather than a
    provable fork, so that a transfer is taken whole or not at all.
    """
    names = [o.name for o in offers]
    if len(set(names)) != len(names):
        raise TransferError("an origin is offered twice")
    with dbengine.snapshot(case.engine) as conn:
        holding = held_in(case, conn)
        verdicts = [_examine_one(case, conn, offer, holding.get(offer.name)) for offer in offers]
        _check_item_sizes(conn, verdicts)
    return verdicts


def item_sizes(conn: Connection | Session, digests: Iterable[str]) -> dict[str, int]:
    """The recorded size of each of ``digests`` that this archive holds as an item."""
    wanted = sorted(set(digests))
    sizes: dict[str, int] = {}
    for lo in range(0, len(wanted), _IN_CHUNK):
        chunk = wanted[lo : lo + _IN_CHUNK]
        sizes.update(
            (str(sha), int(n)) for sha, n in conn.execute(select(Item.sha256, Item.size).where(Item.sha256.in_(chunk)))
        )
    return sizes


def _check_item_sizes(conn: Connection, verdicts: Sequence[Verdict]) -> None:
    """Refuse an origin whose receipts give an item another size than this archive (or an earlier origin) has.

    Mirrored entries are what a relay later answers "which items, how big"
    from, so a size that is not the item's would make its exports fail.
    """
    sizes = item_sizes(conn, (r.sha256 for v in verdicts for r in v.receipts))
    for v in verdicts:
        if v.status != TAKEN:
            continue
        mine: dict[str, int] = {}
        for r in v.receipts:
            known = sizes.get(r.sha256, mine.get(r.sha256))
            if known is not None and known != r.size:
                v.status, v.receipts = REFUSED, []
                v.reason = f"entry {r.index} gives item {r.sha256[:12]} {r.size} bytes; it is {known} bytes"
                break
            mine[r.sha256] = r.size
        else:
            for sha, size in mine.items():
                sizes.setdefault(sha, size)


def _examine_one(case: Case, conn: Connection, offer: Offer, have: OriginState | None) -> Verdict:
    name = offer.name
    key = _verifier(name, offer.verifier)
    try:
        cp = Checkpoint.open(offer.checkpoint, key)
    except CheckpointError as exc:
        raise TransferError(f"origin {name}: the offered checkpoint does not verify: {exc}") from None
    f, n = offer.from_size, cp.size
    if f < 0 or len(offer.entries) != n - f or len(offer.details) != len(offer.entries):
        raise TransferError(f"origin {name}: {len(offer.entries)} entries do not fill {f}..{n}")
    _check_proof(offer, cp)
    h = have.size if have is not None else 0
    held_note = have.checkpoint if have is not None else None
    verdict = Verdict(offer, HELD, h, held_note, cp, pinned=have.verifier if have is not None else None)
    own = name == case.log.origin
    if have is not None and have.verifier != offer.verifier:
        verdict.status = KEY_CONFLICT
        verdict.reason = (
            f"offered under the key {key.fingerprint}, but this archive pinned {_fingerprint(have.verifier)} "
            "for that name: nothing taken from it (ask its owner which key is theirs)"
        )
        return verdict
    if have is not None and have.forked:
        verdict.status, verdict.reason = FROZEN, "this origin forked earlier: nothing more is taken from it"
        return verdict
    if f > h:
        verdict.status, verdict.reason = GAP, f"the offer starts at entry {f} but this archive holds only {h}"
        return verdict
    # The roots this archive holds, at the sizes the offer needs: from the log's hash tiles, or from the
    # mirror's compact range (plus, below the held size, the few entries it does not cover).
    mirror: _Mirror | None = None
    if not own:
        mirror = _Mirror.load(case, conn, name)
        if mirror.size != h:
            raise OriginsError(f"the held copy of origin {name} changed while it was read: try again")
        if held_note is not None and frontier_root(mirror.frontier) != Checkpoint.open(held_note, key).root_hash:
            raise OriginsError(f"the held copy of origin {name} does not match its checkpoint: run verify")

    def frontier_at(size: int) -> list[bytes]:
        if mirror is not None:
            return mirror.frontier_at(size)
        node = case.log.node_source(conn)
        return [node(level, index) for level, index in frontier_nodes(size)]

    def root_at(size: int) -> bytes:
        return case.log.root(conn, size) if mirror is None else mirror.root_at(size)

    def held_entries(lo: int, hi: int) -> list[bytes]:
        if own:
            return [e for _, e in case.log.entries(conn, lo, hi)]
        return [e for _, e, _ in records(case, conn, name, lo, hi)]

    if n <= h:
        if root_at(n) != cp.root_hash:
            if have is None:  # nothing held to fork from: a size-0 checkpoint with a root is not a log at all
                verdict.status, verdict.reason = REFUSED, "its checkpoint of an empty log has a non-empty root"
                return verdict
            verdict.status = FORK
            verdict.reason = f"its checkpoint at size {n} has another root than the log held"
        return verdict
    if f > 0 and offer.from_root != root_at(f):
        verdict.status = FORK
        verdict.reason = f"its log's first {f} entries differ from the ones held (proven by its consistency proof)"
        return verdict
    combined = frontier_at(f)
    frontier_extend(combined, f, (merkle.leaf_hash(e) for e in offer.entries))
    if frontier_root(combined) != cp.root_hash:
        raise TransferError(f"origin {name}: entries {f}..{n - 1} do not hash to the signed root (altered)")
    if held_entries(f, h) != offer.entries[: h - f]:
        verdict.status = FORK
        verdict.reason = f"its signed log differs from the one held within entries {f}..{h - 1}"
        return verdict
    if own:  # a longer log signed with this archive's own key: the key is in someone else's hands
        verdict.status = FORK
        verdict.reason = f"a checkpoint signed with this archive's own key at size {n}, beyond its log ({h})"
        return verdict
    try:
        verdict.receipts = _check_entries(offer, h)
    except _OriginRefused as exc:
        verdict.status, verdict.reason = REFUSED, str(exc)
        return verdict
    verdict.status = TAKEN
    return verdict


def _check_proof(offer: Offer, cp: Checkpoint) -> None:
    """The sender's ``from_root`` must be the root of the signed log's prefix (RFC 9162 2.1.4.2)."""
    f, n = offer.from_size, cp.size
    if f == 0:
        if offer.from_root != merkle.EMPTY_ROOT or offer.proof:
            raise TransferError(f"origin {offer.name}: an offer from entry 0 needs no proof")
        return
    if f > n:
        raise TransferError(f"origin {offer.name}: the offer starts at {f}, beyond its checkpoint ({n})")
    try:
        merkle.verify_consistency(f, n, offer.proof, offer.from_root, cp.root_hash)
    except merkle.ProofError as exc:
        raise TransferError(
            f"origin {offer.name}: the consistency proof from size {f} does not verify: {exc}"
        ) from None


def _check_entries(offer: Offer, start: int) -> list[NewItemEntry]:
    """Every new entry must be a canonical custody entry at its index; receipts must match their details.

    A receipt (an ``item.added`` or ``item.received`` entry) must name its item
    by a SHA-256 hex digest and a size and commit to its details: a mirrored
    receipt is what this archive later sends the item's bytes for, so one it
    cannot check would make every later export fail. Raises :class:`_OriginRefused`.
    """
    try:
        return _check_entries_or_raise(offer, start)
    except TransferError as exc:
        raise _OriginRefused(str(exc)) from None


def _check_entries_or_raise(offer: Offer, start: int) -> list[NewItemEntry]:
    found: list[NewItemEntry] = []
    skip = start - offer.from_size
    for offset, (entry, details) in enumerate(zip(offer.entries[skip:], offer.details[skip:], strict=True)):
        index = start + offset
        where = f"origin {offer.name} entry {index}"
        try:
            record = custody.decode_entry(entry)
        except (ValueError, UnicodeDecodeError):
            raise TransferError(f"{where} is not a custody entry") from None
        if record.get("seq") != index:
            raise TransferError(f"{where} says it is entry {record.get('seq')}")
        receipt = record.get("action") in custody.ITEM_ACTIONS
        commitment = record.get("details_sha256")
        if commitment is None:
            if receipt:
                raise TransferError(f"{where} records an item but commits to no details")
            if details is not None:
                raise TransferError(f"{where} commits to no details but details came with it")
            continue
        parsed = _parse_details(details, where)
        sealed = {k: _unb64(v, f"{where}: sealed field {k}") for k, v in parsed["sealed"].items()}
        salt = _unb64(parsed["salt"], f"{where}: salt")
        want = custody.details_commitment(
            salt,
            custody.receipt_details(
                source=parsed["source"],
                note=parsed["note"],
                original_name=parsed["original_name"],
                collected_by_claimed=parsed["collected_by_claimed"],
                sealed=sealed,
            ),
        )
        if want != commitment:
            raise TransferError(f"{where}: its details do not match the commitment in the entry (altered)")
        if not receipt:
            continue
        sha, size = record.get("item_sha256"), record.get("item_size")
        if not isinstance(sha, str) or not _HEX64.match(sha):
            raise TransferError(f"{where} names no valid item digest")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise TransferError(f"{where} gives no valid item size")
        found.append(NewItemEntry(offer.name, index, sha, size, record, parsed))
    return found


def _parse_details(details: bytes | None, where: str) -> dict[str, Any]:
    if details is None:
        raise TransferError(f"{where} commits to details that did not come with it")
    try:
        parsed = json.loads(details.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise TransferError(f"{where}: its details are not JSON") from None
    if not isinstance(parsed, dict) or set(parsed) != DETAILS_KEYS:
        raise TransferError(f"{where}: its details do not have the expected fields")
    if custody.canonical_json(parsed) != details:
        raise TransferError(f"{where}: its details are not in canonical form")
    for key in ("source", "note", "original_name", "collected_by_claimed"):
        if parsed[key] is not None and not isinstance(parsed[key], str):
            raise TransferError(f"{where}: detail {key} is not text")
    if not isinstance(parsed["sealed"], dict) or not all(map(sealing.is_protected_field, parsed["sealed"])):
        raise TransferError(f"{where}: its sealed fields are not the known protected fields")
    return parsed


def needed_items(case: Case, verdicts: Sequence[Verdict]) -> dict[str, NewItemEntry]:
    """Items named by accepted receipt entries that this archive lacks: digest -> first entry naming it."""
    wanted: dict[str, NewItemEntry] = {}
    for v in verdicts:
        for r in v.receipts:
            wanted.setdefault(r.sha256, r)
    if not wanted:
        return {}
    with case.engine.connect() as conn:
        known = set(conn.execute(select(Item.sha256).where(Item.sha256.in_(sorted(wanted)))).scalars())
    return {sha: r for sha, r in wanted.items() if sha not in known}


# -- taking it in --------------------------------------------------------------------------------


def apply(
    case: Case,
    verdicts: Sequence[Verdict],
    blobs: Mapping[str, StoredBlob],
    hop: Hop,
    *,
    actor: str,
) -> list[OriginOutcome]:
    """Write what :func:`examine` accepted, all in one database transaction with one checkpoint.

    New items (``blobs``: every digest :func:`needed_items` returned, already in
    the store) are recorded as receipts of channel ``hop.kind``; then, per origin,
    its new entries are mirrored and one ``transfer.received`` entry (with its
    :class:`Transfer` row) records the hop, or for a fork an ``origin.forked``
    entry and :class:`OriginFork` row. A process killed midway leaves the archive
    as it was; a transfer already taken in changes nothing.
    """
    if hop.kind not in HOP_KINDS:
        raise OriginsError(f"a hop is a {' or a '.join(HOP_KINDS)}, not {hop.kind!r}")
    if any(b.pending is not None for b in blobs.values()):  # durable and named once, so a retry can use them
        blobs = dict(zip(blobs, case.blobs.settle(list(blobs.values())), strict=True))
    try:
        return _apply_once(case, verdicts, blobs, hop, actor)
    except (_Moved, IntegrityError):
        # Another transfer took some of the same origins in between (two imports of one bundle, a sync
        # and a bundle): examine again against what is held now, so this one ends as held or takes the rest.
        return _apply_once(case, examine(case, [v.offer for v in verdicts]), blobs, hop, actor)


def _outcome(v: Verdict) -> OriginOutcome:
    out = OriginOutcome(v.offer.name, v.status, v.held_size, v.checkpoint.size, reason=v.reason)
    out.key_fingerprint = _fingerprint(v.offer.verifier)
    out.pinned_fingerprint = _fingerprint(v.pinned) if v.pinned is not None else ""
    out.first_seen = v.pinned is None and v.status == TAKEN
    return out


def _apply_once(
    case: Case, verdicts: Sequence[Verdict], blobs: Mapping[str, StoredBlob], hop: Hop, actor: str
) -> list[OriginOutcome]:
    outcomes = [_outcome(v) for v in verdicts]
    needed = needed_items(case, verdicts)
    missing = sorted(set(needed) - set(blobs))
    if missing:
        raise TransferError(f"the item {missing[0]} is named by a new entry but its bytes did not come")
    receipts: list[NewReceipt] = []
    for sha, r in needed.items():
        blob = blobs[sha]
        if blob.size != r.size:
            raise TransferError(f"item {sha[:12]} is {blob.size} bytes, its entry says {r.size}")
        receipts.append(
            NewReceipt(
                blob=blob,
                channel=hop.kind,
                source=f"origin {r.origin} entry {r.index}",
                note=r.details.get("note"),
                original_name=r.details.get("original_name"),
                collected_at_claimed=r.record.get("collected_at_claimed"),
                collected_by_claimed=r.details.get("collected_by_claimed"),
            )
        )
    for v, out in zip(verdicts, outcomes, strict=True):
        out.entries_taken = len(v.new_entries)
        shas = {r.sha256 for r in v.receipts}
        out.new_items = sorted(s for s in shas if needed.get(s) is not None and needed[s].origin == v.offer.name)
        out.items_new = len(out.new_items)
        out.items_held = len(shas) - sum(1 for s in shas if s in needed)
    if not any(v.status in (TAKEN, FORK) for v in verdicts):
        return outcomes
    now = custody.vault_clock()

    def write(conn: Connection, _recorded: list[Recorded]) -> None:
        _write_rows(case, conn, verdicts, hop, actor, now)

    if receipts:
        case.record(receipts, actor=actor, extra=write)
    else:
        case.log._require_signer()
        with dbengine.write_transaction(case.engine) as conn:
            case.log.head(conn, lock=True)
            _write_rows(case, conn, verdicts, hop, actor, now)
            case.log.checkpoint(conn, now)
    return outcomes


def _write_rows(case: Case, conn: Connection, verdicts: Sequence[Verdict], hop: Hop, actor: str, now: str) -> None:
    head = case.log.head(conn)
    entries: list[bytes] = []
    now_held = held_in(case, conn)
    for v in verdicts:
        if v.status not in (TAKEN, FORK):
            continue
        name = v.offer.name
        current = now_held.get(name)
        moved = name != case.log.origin and (current.size if current else 0) != v.held_size
        if (
            moved
            or (current is not None and (current.forked or current.verifier != v.offer.verifier))
            or (current is not None) != (v.pinned is not None)
        ):
            raise _Moved(f"origin {name} changed while this was being taken in: take it in again")
        origin_id = _origin_id(conn, name)
        if origin_id is None:
            origin_id = conn.execute(
                insert(Origin)
                .values(
                    name=name,
                    verifier=v.offer.verifier,
                    size=0,
                    checkpoint=None,
                    forked=False,
                    frontier=b"",
                    first_seen_vault_clock=now,
                    updated_at_vault_clock=now,
                )
                .returning(Origin.id)
            ).scalar_one()
        seq = head.size + len(entries)
        if v.status == FORK:
            held_note = v.held_checkpoint or ""
            entries.append(
                custody.encode_entry(
                    seq,
                    custody.ORIGIN_FORKED,
                    head.checkpoint_size,
                    head.checkpoint_root,
                    origin=name,
                    held_checkpoint_sha256=_note_digest(held_note),
                    offered_checkpoint_sha256=_note_digest(v.offer.checkpoint),
                    verifier=v.offer.verifier,
                    via=hop.via,
                    actor=actor,
                    at_vault_clock=now,
                )
            )
            conn.execute(
                insert(OriginFork).values(
                    origin_id=origin_id,
                    held_checkpoint=held_note,
                    offered_checkpoint=v.offer.checkpoint,
                    via=hop.via,
                    at_vault_clock=now,
                )
            )
            conn.execute(update(Origin).where(Origin.id == origin_id).values(forked=True, updated_at_vault_clock=now))
            continue
        new = v.new_entries
        stored = conn.execute(select(Origin.frontier).where(Origin.id == origin_id)).scalar_one()
        frontier = unpack_frontier(stored, v.held_size, name)
        frontier_extend(frontier, v.held_size, (merkle.leaf_hash(e) for e in new))
        if frontier_root(frontier) != v.checkpoint.root_hash:  # examine checked it; this is the row it checked
            raise _Moved(f"origin {name} changed while this was being taken in: take it in again")
        conn.execute(
            insert(OriginEntry),
            [
                {"origin_id": origin_id, "idx": v.held_size + i, "entry": e, "details": d, "item_sha256": entry_item(e)}
                for i, (e, d) in enumerate(zip(new, v.new_details, strict=True))
            ],
        )
        conn.execute(
            update(Origin)
            .where(Origin.id == origin_id)
            .values(
                size=v.checkpoint.size,
                checkpoint=v.offer.checkpoint,
                frontier=pack_frontier(frontier),
                updated_at_vault_clock=now,
            )
        )
        entries.append(
            custody.encode_entry(
                seq,
                custody.TRANSFER_RECEIVED,
                head.checkpoint_size,
                head.checkpoint_root,
                kind=hop.kind,
                origin=name,
                from_size=v.held_size,
                to_size=v.checkpoint.size,
                root=_b64(v.checkpoint.root_hash),
                verifier=v.offer.verifier,
                bundle_sha256=hop.bundle_sha256,
                carrier_claimed=hop.carrier_claimed,
                left_at_claimed=hop.left_at_claimed,
                peer=hop.peer,
                actor=actor,
                at_vault_clock=now,
            )
        )
        conn.execute(
            insert(Transfer).values(
                kind=hop.kind,
                bundle_sha256=hop.bundle_sha256,
                origin_id=origin_id,
                from_size=v.held_size,
                to_size=v.checkpoint.size,
                carrier_claimed=hop.carrier_claimed,
                left_at_claimed=hop.left_at_claimed,
                peer=hop.peer,
                log_index=seq,
                at_vault_clock=now,
            )
        )
    case.log.append(conn, entries)


def _note_digest(note: str) -> str:
    return hashlib.sha256(note.encode("utf-8")).hexdigest()


# -- verify ----------------------------------------------------------------------------------------


def check_rows(session: Session, entries: dict[int, dict[str, Any]], report: AuditReport) -> None:
    """Origins, their mirrored entries, forks and transfers against the custody entries (for ``verify``).

    - each :class:`Transfer` row says what its ``transfer.received`` entry says, and every such entry has
      exactly one row; each :class:`OriginFork` row matches one ``origin.forked`` entry (origin and both
      notes' digests), one row per entry;
    - each :class:`Origin` is what the custody log says of it: its key is the one every entry about it
      records, it is forked exactly when an ``origin.forked`` entry names it, and its size is the largest
      ``to_size`` a ``transfer.received`` entry gave it (so a mirror cannot be rolled back or its key swapped
      with entries re-signed by another key without the log disagreeing);
    - each mirrored origin's entries are all there, hash to the root of its held checkpoint, which its pinned
      key signed, and to the root each ``transfer.received`` entry recorded at its ``to_size``; every receipt's
      details still match the commitment in its entry, and the item it names is held here at the size it gives;
    - the stored compact range and each entry's ``item_sha256`` are what the entries make (both are what a
      transfer trusts instead of rereading the log).
    """
    from factfinder.vault import audit

    names = {int(i): str(n) for i, n in session.execute(select(Origin.id, Origin.name))}
    seen: set[int] = set()
    for t in session.scalars(select(Transfer)):
        subject = f"transfer {t.id} (entry {t.log_index})"
        if t.log_index in seen:
            report.add(audit.ROW_ALTERED, subject, "a second row for one transfer.received entry")
        seen.add(t.log_index)
        entry = entries.get(t.log_index)
        if entry is None:
            report.add(audit.LOG_TRUNCATED, subject, "its custody entry is not in the log")
            continue
        want = {
            "action": custody.TRANSFER_RECEIVED,
            "kind": t.kind,
            "origin": names.get(t.origin_id),
            "from_size": t.from_size,
            "to_size": t.to_size,
            "bundle_sha256": t.bundle_sha256,
            "carrier_claimed": t.carrier_claimed,
            "left_at_claimed": t.left_at_claimed,
            "peer": t.peer,
            "at_vault_clock": t.at_vault_clock,
        }
        wrong = sorted(k for k, value in want.items() if entry.get(k) != value)
        if wrong:
            report.add(audit.ROW_ALTERED, subject, f"differs from its custody entry in: {', '.join(wrong)}")
    forks: dict[tuple[Any, Any, Any], list[int]] = {}
    for f in session.scalars(select(OriginFork).order_by(OriginFork.id)):
        key = (names.get(f.origin_id), _note_digest(f.held_checkpoint), _note_digest(f.offered_checkpoint))
        forks.setdefault(key, []).append(f.id)
    said: dict[str, _Said] = {}  # what the custody log says of each origin
    for index, entry in entries.items():
        action = entry.get("action")
        if action not in (custody.TRANSFER_RECEIVED, custody.ORIGIN_FORKED) or not isinstance(entry.get("origin"), str):
            continue
        about = said.setdefault(entry["origin"], _Said())
        if isinstance(entry.get("verifier"), str):
            about.verifiers.add(entry["verifier"])
        else:
            about.unkeyed.append(index)
        if action == custody.TRANSFER_RECEIVED:
            if index not in seen:
                report.add(audit.ROW_MISSING, f"entry {index}", "records a transfer but its database row is gone")
            to_size = entry.get("to_size")
            if isinstance(to_size, int):
                about.size = max(about.size, to_size)
                about.roots.append((index, to_size, str(entry.get("root"))))
        else:
            about.forked = True
            said_fork = (entry["origin"], entry.get("held_checkpoint_sha256"), entry.get("offered_checkpoint_sha256"))
            rows = forks.get(said_fork)
            if not rows:
                report.add(audit.ROW_MISSING, f"entry {index}", "records a fork but its database row is gone")
            else:
                rows.pop(0)
    for fork_ids in forks.values():
        for fork_id in fork_ids:
            report.add(audit.ROW_ALTERED, f"origin fork {fork_id}", "no origin.forked custody entry records it")
    own = _own_origin_name(entries)
    for origin in session.scalars(select(Origin)):
        told = said.pop(origin.name, None)
        if told is None:
            report.add(audit.ROW_ALTERED, f"origin {origin.name}", "no custody entry records this origin")
            continue
        _check_origin_said(origin, told, report)
        if origin.name != own:
            _check_mirror(session, origin, told, report)
    for name in said:
        report.add(audit.ROW_MISSING, f"origin {name}", "the custody log records it but its database row is gone")


@dataclass
class _Said:
    """What the custody log's ``transfer.received`` and ``origin.forked`` entries say of one origin."""

    verifiers: set[str] = field(default_factory=set)
    unkeyed: list[int] = field(default_factory=list)  # entries that record no key
    size: int = 0
    forked: bool = False
    roots: list[tuple[int, int, str]] = field(default_factory=list)  # (entry, to_size, base64 root)


def _check_origin_said(origin: Origin, about: _Said, report: AuditReport) -> None:
    from factfinder.vault import audit

    subject = f"origin {origin.name}"
    if about.unkeyed:
        report.add(audit.ENTRY_ALTERED, subject, f"entry {about.unkeyed[0]} records no key for it")
    if about.verifiers != {origin.verifier}:
        report.add(audit.ROW_ALTERED, subject, "its key is not the one the custody log records for it")
    if bool(origin.forked) != about.forked:
        report.add(
            audit.ROW_ALTERED, subject, f"marked {'' if origin.forked else 'not '}forked; the log says otherwise"
        )
    if int(origin.size) != about.size:
        report.add(audit.ROW_ALTERED, subject, f"holds {origin.size} entries; the custody log says {about.size} came")


def _own_origin_name(entries: dict[int, dict[str, Any]]) -> str | None:
    first = entries.get(0)
    if not first or not isinstance(first.get("log_key"), str):
        return None
    try:
        return Verifier.parse(first["log_key"]).name
    except CheckpointError:
        return None


def _check_mirror(session: Session, origin: Origin, about: _Said, report: AuditReport) -> None:
    from factfinder.vault import audit

    subject = f"origin {origin.name}"
    rows = session.execute(
        select(OriginEntry.idx, OriginEntry.entry, OriginEntry.details, OriginEntry.item_sha256)
        .where(OriginEntry.origin_id == origin.id)
        .order_by(OriginEntry.idx)
    ).all()
    if [int(r[0]) for r in rows] != list(range(origin.size)):
        report.add(audit.LOG_TRUNCATED, subject, f"holds {len(rows)} of its {origin.size} mirrored entries")
        return
    if origin.checkpoint is None:
        if origin.size:
            report.add(audit.CHECKPOINT_FORGED, subject, "holds entries under no checkpoint")
        return
    try:
        cp = Checkpoint.open(origin.checkpoint, Verifier.parse(origin.verifier))
    except CheckpointError as exc:
        report.add(audit.CHECKPOINT_FORGED, subject, str(exc))
        return
    if cp.size != origin.size:
        report.add(audit.CHECKPOINT_MISMATCH, subject, f"its checkpoint is for size {cp.size}, it holds {origin.size}")
        return
    leaves = [merkle.leaf_hash(bytes(r[1])) for r in rows]
    rebuilt: list[bytes] = []
    size = 0
    for index, to_size, root in sorted(about.roots, key=lambda r: r[1]):  # the roots each hop recorded
        if to_size > len(leaves):
            continue  # more than is held: reported above as a size the log disagrees with
        size = frontier_extend(rebuilt, size, leaves[size:to_size])
        if _b64(frontier_root(rebuilt)) != root:
            report.add(
                audit.ENTRY_ALTERED,
                subject,
                f"its entries up to {to_size} do not hash to the root entry {index} recorded",
            )
    frontier_extend(rebuilt, size, leaves[size:])
    if frontier_root(rebuilt) != cp.root_hash:
        report.add(audit.ENTRY_ALTERED, subject, "its mirrored entries do not hash to its checkpoint's root")
    if bytes(origin.frontier or b"") != pack_frontier(rebuilt):
        report.add(audit.ROW_ALTERED, subject, "its stored compact range is not the one its mirrored entries make")
    named = {idx: entry_item(bytes(entry)) for idx, entry, _, _ in rows}
    held_sizes = item_sizes(session, {sha for sha in named.values() if sha is not None})
    for idx, entry, details, item_sha256 in rows:
        sha = named[idx]
        if sha is not None:
            if sha not in held_sizes:
                report.add(audit.ROW_MISSING, f"{subject} entry {idx}", f"names item {sha[:12]}, not held here")
            elif held_sizes[sha] != custody.decode_entry(bytes(entry)).get("item_size"):
                report.add(audit.ROW_ALTERED, f"{subject} entry {idx}", f"gives item {sha[:12]} another size")
        if item_sha256 != sha:
            report.add(audit.ROW_ALTERED, f"{subject} entry {idx}", "its item digest column differs from its entry")
        try:
            _check_entries(
                Offer(
                    origin.name,
                    origin.verifier,
                    int(idx),
                    b"",
                    "",
                    [],
                    [bytes(entry)],
                    [bytes(details) if details is not None else None],
                ),
                int(idx),
            )
        except _OriginRefused as exc:
            report.add(audit.ROW_ALTERED, f"{subject} entry {idx}", str(exc))
