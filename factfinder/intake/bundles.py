"""Carried bundles: suffixes of custody logs, with the items they name, on a USB stick or over a sync link.

Implements the "carried bundles" part of issue 8 (field intake through a
blackout). When the lines are cut, evidence leaves a town in someone's pocket;
the bundle must carry enough for the receiving archive to check everything
itself (signed checkpoints, consistency proofs, the bytes of every item) and
must be useless to whoever seizes it on the way (age encryption to the
receiving archive's recipients). What is checked and merged, per origin, is
:mod:`factfinder.intake.origins`; this module is the file format.

Format ``factfinder/bundle/v1``
-------------------------------

An uncompressed POSIX (ustar) tar stream, since media is already compressed
and tar can be written and read front to back with bounded memory. With
recipients it is encrypted as a whole with age (https://age-encryption.org/v1,
binary), which pyrage streams in 64 KiB chunks (``encrypt_io``/``decrypt_io``)
and which authenticates every chunk and the end of the stream, so an encrypted
bundle cut short or changed anywhere fails to decrypt. A bundle can be opened
by hand with ``age -d -i KEY bundle | tar t``. Without recipients (a sync over
TLS) it is the plain tar.

Members, all regular files, exactly in this order:

``manifest.json``
    ``{"format": "factfinder/bundle/v1", "from_archive", "for_archive",
    "created_vault_clock", "origins": [...], "blobs": [...]}``. Per origin:
    ``name``, ``verifier`` (its note key), ``from_size``, ``to_size``,
    ``checkpoint`` (signed note at ``to_size``), ``from_root`` (base64 root of
    the sender's copy at ``from_size``), ``proof`` (base64 hashes: RFC 9162
    consistency proof from ``from_size`` to ``to_size``, computed from the
    sender's entries, so no checkpoint at exactly ``from_size`` is needed),
    ``entries_bytes``, ``details_bytes``. Per blob: ``sha256``, ``size``.
    Every origin the sender holds is listed, even with nothing new
    (``from_size == to_size``): its checkpoint alone lets the receiver notice a
    fork.
``origins/<k>/entries``
    the ``k``-th origin's entries ``[from_size, to_size)``, each prefixed by its
    2-byte big-endian length (as the custody log stores them).
``origins/<k>/details``
    per entry, a 4-byte big-endian length and the canonical JSON that a receipt
    entry's ``details_sha256`` commits to (length 0: not a receipt).
``blobs/<sha256 hex>``
    the bytes of each item the receiver lacks, named by their digest only.
``trailer.json``
    ``{"format", "members", "sha256"}``: the number of members before it and a
    SHA-256 over each one's name, size and bytes: a plain bundle cut short or
    changed is refused too.

Which blobs are sent: the receiver says (``have``) how far it holds each
origin; it then holds every item named by a receipt entry below that point.
Every item named by a receipt in a sent suffix is sent once, whichever origins
name it, unless the sender's copy of some origin names it below what the
receiver holds of that origin (:func:`factfinder.intake.origins.held_by`: an
indexed look-up of just those digests, so the cost follows the suffixes, not
the length of the logs).

Import treats the file as hostile: member names, order, types and sizes are
checked against the manifest, sizes are enforced while streaming (never trusted
from headers), every blob is rehashed against its name, and everything is
verified before anything is written; then one database transaction takes it
all (:func:`factfinder.intake.origins.apply`). A damaged bundle raises
:class:`BundleError` and leaves the archive as it was; an interrupted import is
simply run again; the same bundle imported twice changes nothing.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
import os
import re
import secrets
import shutil
import tarfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, BinaryIO, cast

import pyrage
from pyrage import x25519
from sqlalchemy import select

from factfinder.db import engine as dbengine
from factfinder.db.models import Transfer
from factfinder.intake import origins
from factfinder.vault import custody, log, sealing
from factfinder.vault.blobs import CHUNK, StoredBlob
from factfinder.vault.case import Case, validate_claimed_time
from factfinder.vault.checkpoint import Checkpoint
from factfinder.vault.errors import IntakeError, VaultError

FORMAT = "factfinder/bundle/v1"
TRAILER_FORMAT = "factfinder/bundle-trailer/v1"
MANIFEST = "manifest.json"
TRAILER = "trailer.json"
AGE_MAGIC = b"age-encryption.org/v1\n"
MAX_MANIFEST_BYTES = 64 << 20
MAX_TRAILER_BYTES = 4096
MAX_DETAILS_BYTES = 1 << 20  # one receipt's details: a few short texts and sealed fields
_ENTRIES = re.compile(r"^origins/(0|[1-9][0-9]{0,8})/(entries|details)$")
_BLOB = re.compile(r"^blobs/([0-9a-f]{64})$")
_DIGEST = re.compile(r"^[0-9a-f]{64}$")


class BundleError(IntakeError):
    """A bundle that cannot be taken: damaged, tampered, truncated, for another archive, or hostile."""


@dataclass(frozen=True)
class BundleOrigin:
    """One origin's part of a bundle, as the manifest lists it."""

    name: str
    from_size: int
    to_size: int


@dataclass
class BundleInfo:
    """What :func:`export_bundle` wrote."""

    path: Path
    sha256: str
    size: int
    encrypted: bool
    for_archive: str | None
    origins: list[BundleOrigin] = field(default_factory=list)
    blobs: int = 0
    blob_bytes: int = 0


@dataclass
class ImportReport:
    """What :func:`import_bundle` did: per origin, and whether there was anything new at all."""

    bundle_sha256: str
    from_archive: str
    origins: list[origins.OriginOutcome] = field(default_factory=list)
    seen_before: bool = False  # a transfer from a bundle with this digest was taken in earlier
    forks: list[str] = field(default_factory=list)  # origins found forked by this bundle
    nothing_new: bool = True  # nothing was written: everything in it was held already (or skipped)

    def __post_init__(self) -> None:
        self.forks = [o.name for o in self.origins if o.fork]
        self.nothing_new = not any(o.status in (origins.TAKEN, origins.FORK) for o in self.origins)

    @property
    def items_new(self) -> int:
        return sum(o.items_new for o in self.origins)

    @property
    def new_items(self) -> list[str]:
        """Digests of the items this bundle brought that the archive did not hold: for the after-intake steps."""
        return [sha for o in self.origins for sha in o.new_items]

    @property
    def entries_taken(self) -> int:
        return sum(o.entries_taken for o in self.origins)


# -- writing ---------------------------------------------------------------------------------


class _Hashing:
    """A reader that hashes what passes through it (for the trailer, and to recheck blobs as they go out)."""

    def __init__(self, src: IO[bytes], *digests: Any) -> None:
        self.src = src
        self.digests = digests

    def read(self, n: int = -1) -> bytes:
        data = self.src.read(n)
        for d in self.digests:
            d.update(data)
        return data


def _member_header(name: str, size: int) -> bytes:
    return name.encode() + b"\n" + str(size).encode() + b"\n"


def export_bundle(
    case: Case,
    out: Path,
    *,
    have: Mapping[str, int],
    recipients: Sequence[str] | None,
    for_archive: str | None,
) -> BundleInfo:
    """Write to ``out`` what an archive holding ``have`` (origin -> size) lacks.

    ``recipients``: age public keys of the receiving archive (its state lists
    them); ``None`` writes a plain bundle, only for a link that is itself
    encrypted (a sync over TLS). Memory stays bounded: entries are spooled to
    temporary files, blobs are streamed from the store. The plain tar is
    spooled in the case's own temporary folder (a stick or a shared folder
    never holds evidence in the clear, even if the export is killed); only the
    ciphertext is written next to ``out``, as ``NAME.part``, made durable, and
    renamed when complete.
    """
    age_recipients = sealing.parse_recipients(list(recipients)) if recipients is not None else None
    if age_recipients is not None and not age_recipients:
        raise BundleError("a bundle needs at least one recipient (the receiving archive's age public key)")
    out = out.resolve()
    part = out.parent / f"{out.name}.part"
    spooled: list[Path] = []

    def spool() -> Path:  # in the case's own temporary folder, swept as blobs' are if this process dies
        case.blobs.tmp.mkdir(parents=True, exist_ok=True)
        spooled.append(case.blobs.tmp / f"{os.getpid()}-{secrets.token_hex(8)}.part")
        return spooled[-1]

    try:
        manifest, parts, blobs = _gather(case, spool, have, for_archive)
        if age_recipients is None:  # asked for in the clear (a sync over TLS): the tar is the bundle
            blob_bytes = _write_tar(case, part, manifest, parts, blobs)
        else:  # the plain tar stays on the case's disk; only ciphertext goes where the bundle goes
            plain = spool()
            blob_bytes = _write_tar(case, plain, manifest, parts, blobs)
            with open(plain, "rb") as src, open(part, "wb") as dst:
                pyrage.encrypt_io(src, dst, age_recipients)
        digest = hashlib.sha256()
        with open(part, "rb") as fh:
            while chunk := fh.read(CHUNK):
                digest.update(chunk)
            os.fsync(fh.fileno())
        size = part.stat().st_size
        part.replace(out)
        _sync_folder(out.parent)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    finally:
        for p in spooled:
            p.unlink(missing_ok=True)
    return BundleInfo(
        out,
        digest.hexdigest(),
        size,
        age_recipients is not None,
        for_archive,
        [BundleOrigin(o["name"], o["from_size"], o["to_size"]) for o in manifest["origins"]],
        len(blobs),
        blob_bytes,
    )


def _sync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (where the platform allows opening a folder)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _gather(
    case: Case, spool: Callable[[], Path], have: Mapping[str, int], for_archive: str | None
) -> tuple[dict[str, Any], list[tuple[Path, Path]], list[tuple[str, int]]]:
    """Spool each origin's suffix to temporary files; list the blobs the receiver lacks, at their held sizes."""
    listed: list[dict[str, Any]] = []
    parts: list[tuple[Path, Path]] = []
    with dbengine.snapshot(case.engine) as conn:  # one consistent state of every origin
        holding = origins.held_in(case, conn)
        named: dict[str, int] = {}  # every item named in a suffix sent, in order: digest -> size
        for name, o in holding.items():
            if o.checkpoint is None:
                continue
            start = min(max(int(have.get(name, 0)), 0), o.size)
            entries_path, details_path = spool(), spool()
            with open(entries_path, "wb") as ef, open(details_path, "wb") as df:
                for _, entry, details in origins.records(case, conn, name, start, o.size):
                    ef.write(len(entry).to_bytes(2, "big") + entry)
                    d = details or b""
                    df.write(len(d).to_bytes(4, "big") + d)
            for sha, size in origins.items_named(case, conn, name, start, o.size):
                named.setdefault(sha, size)
            from_root, proof = origins.prefix_proof(case, conn, name, start, o.size)
            if start == o.size:
                from_root = Checkpoint.from_text(o.checkpoint.split("\n\n")[0] + "\n").root_hash
            listed.append(
                {
                    "name": name,
                    "verifier": o.verifier,
                    "from_size": start,
                    "to_size": o.size,
                    "checkpoint": o.checkpoint,
                    "from_root": base64.b64encode(from_root).decode(),
                    "proof": [base64.b64encode(h).decode() for h in proof],
                    "entries_bytes": entries_path.stat().st_size,
                    "details_bytes": details_path.stat().st_size,
                }
            )
            parts.append((entries_path, details_path))
        receiver_holds = origins.held_by(case, conn, have, named)
        wanted = [sha for sha in named if sha not in receiver_holds]
        sizes = origins.item_sizes(conn, wanted)  # the item's size as recorded here, not as an entry says
    sending = {}
    for sha in wanted:
        if sha not in sizes or not case.blobs.exists(sha):
            raise BundleError(f"item {sha} is not in this archive's blob store: run verify")
        sending[sha] = sizes[sha]
    manifest = {
        "format": FORMAT,
        "from_archive": case.log.origin,
        "for_archive": for_archive,
        "created_vault_clock": custody.vault_clock(),
        "origins": listed,
        "blobs": [{"sha256": sha, "size": size} for sha, size in sending.items()],
    }
    return manifest, parts, list(sending.items())


def _write_tar(
    case: Case, path: Path, manifest: dict[str, Any], parts: list[tuple[Path, Path]], blobs: list[tuple[str, int]]
) -> int:
    running = hashlib.sha256()
    members = 0
    blob_bytes = 0
    with open(path, "wb") as fh, tarfile.open(fileobj=fh, mode="w|", format=tarfile.USTAR_FORMAT) as tar:

        def add(name: str, size: int, src: IO[bytes], *digests: Any) -> None:
            nonlocal members
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = size, 0o644, 0
            running.update(_member_header(name, size))
            tar.addfile(info, _Hashing(src, running, *digests))
            members += 1

        data = custody.canonical_json(manifest)
        add(MANIFEST, len(data), _bytes_io(data))
        for k, (entries_path, details_path) in enumerate(parts):
            with open(entries_path, "rb") as ef:
                add(f"origins/{k}/entries", entries_path.stat().st_size, ef)
            with open(details_path, "rb") as df:
                add(f"origins/{k}/details", details_path.stat().st_size, df)
        for sha, size in blobs:
            check = hashlib.sha256()
            with case.blobs.open(sha) as src:
                if os.fstat(src.fileno()).st_size != size:
                    raise BundleError(f"item {sha} in this archive's store is not its recorded size: run verify")
                add(f"blobs/{sha}", size, src, check)
            if check.hexdigest() != sha:
                raise BundleError(f"item {sha} in this archive's store no longer matches its digest: run verify")
            blob_bytes += size
        trailer = custody.canonical_json({"format": TRAILER_FORMAT, "members": members, "sha256": running.hexdigest()})
        info = tarfile.TarInfo(TRAILER)
        info.size, info.mode, info.mtime = len(trailer), 0o644, 0
        tar.addfile(info, _bytes_io(trailer))
    return blob_bytes


def _bytes_io(data: bytes) -> BinaryIO:
    import io

    return io.BytesIO(data)


# -- reading ---------------------------------------------------------------------------------


class _Bounded:
    """A member's bytes, refusing to yield more than the manifest declared for it."""

    def __init__(self, src: IO[bytes], limit: int, name: str, running: Any) -> None:
        self.src, self.left, self.name, self.running = src, limit, name, running

    def read(self, n: int = -1) -> bytes:
        want = self.left if n is None or n < 0 else min(n, self.left)
        try:
            data = self.src.read(want) if want > 0 else b""
        except (tarfile.TarError, EOFError) as exc:
            raise BundleError(
                f"member {self.name} cannot be read ({exc}): the bundle is truncated or damaged"
            ) from None
        if want > 0 and not data:
            raise BundleError(f"member {self.name} ends early: the bundle is truncated")
        self.left -= len(data)
        self.running.update(data)
        return data

    def read_all(self) -> bytes:
        chunks = []
        while self.left > 0:
            chunks.append(self.read(CHUNK))
        return b"".join(chunks)


class _UstarOnly:
    """A tar stream passed on only while every member header is a plain USTAR regular file.

    The writer uses plain USTAR (``_write_tar``), so pax and GNU extended
    headers, links and devices never belong in a bundle; ``tarfile`` would read
    an extended header's body whole into memory before any member is seen, so
    each 512-byte header block is checked here, before ``tarfile`` sees it.
    """

    def __init__(self, src: IO[bytes]) -> None:
        self.src = src
        self.body = 0  # bytes of the current member's data and padding still to pass through
        self.ended = False  # past the first zero block: the end-of-archive blocks and padding
        self.pending = b""

    def read(self, n: int = -1) -> bytes:
        want = CHUNK if n is None or n < 0 else n
        while len(self.pending) < want:
            if self.ended or self.body:
                data = self.src.read(want - len(self.pending) if self.ended else min(self.body, CHUNK))
                if not data:
                    break
                if not self.ended:
                    self.body -= len(data)
                self.pending += data
                continue
            header = self.src.read(512)
            while header and len(header) < 512:
                more = self.src.read(512 - len(header))
                if not more:
                    break
                header += more
            if len(header) == 512:
                if header == bytes(512):
                    self.ended = True
                else:
                    self.body = _ustar_body(header)
            self.pending += header
            if len(header) < 512:
                break
        out, self.pending = self.pending[:want], self.pending[want:]
        return out


def _ustar_body(header: bytes) -> int:
    """How many bytes follow a USTAR regular file's header (its size, padded to blocks); anything else is refused."""
    name = header[:100].split(b"\0", 1)[0].decode("utf-8", "replace")
    if header[257:263] not in (b"ustar\0", b"ustar "):  # POSIX, or the GNU variant (same layout for a file)
        raise BundleError(f"member {name!r} is not a USTAR header (only those are accepted)")
    if header[156:157] not in (b"0", b"\0"):
        raise BundleError(f"member {name!r} is not a regular file (type {header[156:157]!r})")
    field = header[124:136].replace(b"\0", b" ").strip()
    if not field or any(c not in b"01234567" for c in field):
        raise BundleError(f"member {name!r} has a malformed size")
    return -(-int(field, 8) // 512) * 512


def _tar_members(tar: tarfile.TarFile) -> Iterator[tarfile.TarInfo]:
    try:
        yield from tar
    except (tarfile.TarError, EOFError) as exc:
        raise BundleError(f"the bundle is truncated or damaged ({exc})") from None


def import_bundle(
    case: Case,
    path: Path,
    *,
    identity: x25519.Identity | None,
    carrier: str | None,
    left_at: str | None,
    kind: str = "bundle",
    peer: str | None = None,
    actor: str,
) -> ImportReport:
    """Verify a bundle whole, then take in what this archive lacks, in one transaction.

    ``identity`` opens an encrypted bundle (one of the case's recipients'
    identities); ``carrier`` and ``left_at`` are what the person who brought it
    says (who carried it, when it left), kept as claims in the hop's custody
    entry. Raises :class:`BundleError` naming what failed; nothing is written then.
    """
    try:
        left_at = validate_claimed_time(left_at)
    except VaultError as exc:
        raise BundleError(f"--left-at: {exc}") from None
    case.log._require_signer()
    case.blobs.tmp.mkdir(parents=True, exist_ok=True)
    bundle_digest = hashlib.sha256()
    pending: list[StoredBlob] = []
    try:
        with contextlib.ExitStack() as stack:
            source = _plain_stream(stack, path, identity, case.blobs.tmp, bundle_digest)
            manifest, verdicts, blobs = _read(case, source, pending)
            while source.read(CHUNK):  # the tar's end blocks: the digest names the whole file as carried
                pass
        digest = bundle_digest.hexdigest()
        hop = origins.Hop(kind, digest, carrier, left_at, peer)
        with case.engine.connect() as conn:
            seen = conn.execute(select(Transfer.id).where(Transfer.bundle_sha256 == digest).limit(1)).first()
        try:
            outcomes = origins.apply(case, verdicts, blobs, hop, actor=actor)
        except origins.TransferError as exc:
            raise BundleError(str(exc)) from None
        return ImportReport(digest, manifest["from_archive"], outcomes, seen_before=seen is not None)
    finally:
        for b in pending:
            if b.pending is not None:
                b.pending.unlink(missing_ok=True)


def _plain_stream(
    stack: contextlib.ExitStack, path: Path, identity: x25519.Identity | None, tmp: Path, digest: Any
) -> IO[bytes]:
    """The bundle's tar stream, decrypted first (into ``tmp``) if it is encrypted; ``digest`` sees the file."""
    with open(path, "rb") as fh:
        encrypted = fh.read(len(AGE_MAGIC)) == AGE_MAGIC
    if not encrypted:
        return _Hashing(stack.enter_context(open(path, "rb")), digest)  # type: ignore[return-value]
    if identity is None:
        raise BundleError("the bundle is encrypted: give the identity of one of this case's recipients")
    plain = tmp / f"{os.getpid()}-{secrets.token_hex(8)}.part"  # a dead process's leftover is swept as blobs' are
    stack.callback(plain.unlink, missing_ok=True)
    with open(path, "rb") as src, open(plain, "wb") as dst:
        try:
            pyrage.decrypt_io(_Hashing(src, digest), dst, [identity])
        except (pyrage.DecryptError, OSError, ValueError) as exc:
            raise BundleError(
                f"the bundle does not decrypt ({exc}): truncated, altered, or not for this case's recipients"
            ) from None
    return stack.enter_context(open(plain, "rb"))


def _read(
    case: Case, source: IO[bytes], pending: list[StoredBlob]
) -> tuple[dict[str, Any], list[origins.Verdict], dict[str, StoredBlob]]:
    """Read and check every member in order; return the manifest, the verdicts and the blobs taken."""
    running = hashlib.sha256()
    try:
        tar = tarfile.open(fileobj=cast(IO[bytes], _UstarOnly(source)), mode="r|")  # noqa: SIM115
    except (tarfile.TarError, EOFError) as exc:
        raise BundleError(f"not a bundle: {exc}") from None
    members = _tar_members(tar)
    count = 0

    def next_member(expected: str) -> tuple[tarfile.TarInfo, _Bounded]:
        nonlocal count
        member = next(members, None)
        if member is None:
            raise BundleError(f"the bundle ends before {expected}: it is truncated")
        _check_member(member)
        src = tar.extractfile(member)
        if src is None:
            raise BundleError(f"member {member.name!r} is not a regular file")
        running.update(_member_header(member.name, member.size))
        count += 1
        return member, _Bounded(src, member.size, member.name, running)

    member, body = next_member(MANIFEST)
    if member.name != MANIFEST:
        raise BundleError(f"the bundle opens with {member.name!r}, not {MANIFEST}")
    if member.size > MAX_MANIFEST_BYTES:
        raise BundleError(f"the manifest declares {member.size} bytes: refused")
    manifest = _parse_manifest(body.read_all())
    for_archive = manifest["for_archive"]
    if for_archive is not None and for_archive != case.log.origin:
        raise BundleError(f"the bundle is for another archive ({for_archive}), not this case ({case.log.origin})")
    offers = []
    for k, o in enumerate(manifest["origins"]):
        member, body = next_member(f"origins/{k}/entries")
        _expect(member, f"origins/{k}/entries", o["entries_bytes"])
        entries = _split(body, 2, o["to_size"] - o["from_size"], log.MAX_ENTRY_BYTES, member.name)
        member, body = next_member(f"origins/{k}/details")
        _expect(member, f"origins/{k}/details", o["details_bytes"])
        details = _split(body, 4, len(entries), MAX_DETAILS_BYTES, member.name)
        offers.append(
            origins.Offer(
                o["name"],
                o["verifier"],
                o["from_size"],
                o["from_root"],
                o["checkpoint"],
                o["proof"],
                entries,
                [d or None for d in details],
            )
        )
    try:
        verdicts = origins.examine(case, offers)
    except origins.TransferError as exc:
        raise BundleError(str(exc)) from None
    needed = origins.needed_items(case, verdicts)
    declared = sum(b["size"] for b in manifest["blobs"] if b["sha256"] in needed)
    free = shutil.disk_usage(case.blobs.tmp).free
    if declared > free:
        raise BundleError(f"the bundle's new items need {declared} bytes; the case's disk has {free} free")
    blobs: dict[str, StoredBlob] = {}
    for b in manifest["blobs"]:
        name = f"blobs/{b['sha256']}"
        member, body = next_member(name)
        _expect(member, name, b["size"])
        if b["sha256"] in needed:
            stored = case.blobs.put_file(body, defer_sync=True)  # type: ignore[arg-type]
            pending.append(stored)
            if stored.sha256 != b["sha256"] or stored.size != b["size"]:
                raise BundleError(f"blob {b['sha256'][:12]} does not match its name (damaged or altered)")
            blobs[stored.sha256] = stored
        else:  # already held here: still checked, then dropped
            check = hashlib.sha256()
            while data := body.read(CHUNK):
                check.update(data)
            if check.hexdigest() != b["sha256"]:
                raise BundleError(f"blob {b['sha256'][:12]} does not match its name (damaged or altered)")
    before = running.hexdigest()
    member, body = next_member(TRAILER)
    if member.name != TRAILER or member.size > MAX_TRAILER_BYTES:
        raise BundleError(f"unexpected member {member.name!r} where the trailer should be")
    try:
        trailer = json.loads(body.read_all())
    except ValueError:
        raise BundleError("the bundle's trailer is not JSON") from None
    if (
        not isinstance(trailer, dict)
        or trailer.get("format") != TRAILER_FORMAT
        or trailer.get("members") != count - 1
        or trailer.get("sha256") != before
    ):
        raise BundleError("the bundle's trailer does not match its contents (damaged or altered)")
    extra = next(members, None)
    if extra is not None:
        raise BundleError(f"unexpected member {extra.name!r} after the trailer")
    return manifest, verdicts, blobs


def _check_member(member: tarfile.TarInfo) -> None:
    name = member.name
    if not (name in (MANIFEST, TRAILER) or _ENTRIES.match(name) or _BLOB.match(name)):
        raise BundleError(f"unexpected member name {name!r} in a bundle (only known names are accepted)")
    if not member.isreg():
        raise BundleError(f"member {name!r} is not a regular file")


def _expect(member: tarfile.TarInfo, name: str, size: int) -> None:
    if member.name != name:
        raise BundleError(f"member {member.name!r} where the manifest says {name!r} comes")
    if member.size != size:
        raise BundleError(f"member {name} is {member.size} bytes; the manifest says {size}")


def _split(body: _Bounded, prefix: int, count: int, limit: int, name: str) -> list[bytes]:
    """``count`` length-prefixed records from ``body``, each at most ``limit`` bytes, filling it exactly."""
    out = []
    for _ in range(count):
        n = int.from_bytes(_exactly(body, prefix, name), "big")
        if n > limit:
            raise BundleError(f"{name}: a record of {n} bytes exceeds {limit}")
        out.append(_exactly(body, n, name))
    if body.left:
        raise BundleError(f"{name}: {body.left} bytes left after its {count} records")
    return out


def _exactly(body: _Bounded, n: int, name: str) -> bytes:
    data = b""
    while len(data) < n:
        if body.left <= 0:
            raise BundleError(f"{name}: a record runs past the member's end")
        data += body.read(n - len(data))
    return data


def _parse_manifest(data: bytes) -> dict[str, Any]:
    """The manifest, every field checked for type and range."""
    try:
        m = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise BundleError("the bundle's manifest is not JSON") from None
    if not isinstance(m, dict) or m.get("format") != FORMAT:
        raise BundleError(f"not a bundle this version reads (expected format {FORMAT})")
    if not isinstance(m.get("from_archive"), str) or not (
        m.get("for_archive") is None or isinstance(m["for_archive"], str)
    ):
        raise BundleError("the manifest does not say which archive made it and for whom")
    if not isinstance(m.get("origins"), list) or not isinstance(m.get("blobs"), list):
        raise BundleError("the manifest lists no origins or blobs")
    parsed = []
    for o in m["origins"]:
        if not isinstance(o, dict):
            raise BundleError("the manifest lists a malformed origin")
        for key in ("name", "verifier", "checkpoint", "from_root"):
            if not isinstance(o.get(key), str):
                raise BundleError(f"the manifest's origin entry lacks {key}")
        for key in ("from_size", "to_size", "entries_bytes", "details_bytes"):
            if not _count(o.get(key)):
                raise BundleError(f"origin {o['name']}: {key} is not a count")
        if o["to_size"] < o["from_size"] or not isinstance(o.get("proof"), list):
            raise BundleError(f"origin {o['name']}: malformed sizes or proof")
        n = o["to_size"] - o["from_size"]
        if o["entries_bytes"] > n * (2 + log.MAX_ENTRY_BYTES) or o["details_bytes"] > n * (4 + MAX_DETAILS_BYTES):
            raise BundleError(f"origin {o['name']}: declares more bytes than {n} entries can hold")
        parsed.append(
            {
                **o,
                "from_root": _b64(o["from_root"], f"origin {o['name']}: from_root"),
                "proof": [_b64(h, f"origin {o['name']}: proof") for h in o["proof"]],
            }
        )
    seen: set[str] = set()
    for b in m["blobs"]:
        if not isinstance(b, dict) or not isinstance(b.get("sha256"), str) or not _DIGEST.match(b["sha256"]):
            raise BundleError("the manifest lists a blob without a SHA-256 hex digest")
        if not _count(b.get("size")) or b["sha256"] in seen:
            raise BundleError(f"blob {b['sha256'][:12]}: bad size or listed twice")
        seen.add(b["sha256"])
    return {**m, "origins": parsed}


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _b64(text: Any, what: str) -> bytes:
    if not isinstance(text, str):
        raise BundleError(f"{what} is not base64 text")
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error:
        raise BundleError(f"{what} is not base64") from None
