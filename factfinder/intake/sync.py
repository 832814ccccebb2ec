"""Archive-to-archive sync over HTTP: the client side of ``/sync/v1/`` (see ``factfinder/web/sync.py``).

Issue 8, "archive-to-archive sync": each archive keeps one append-only log per
origin (:mod:`factfinder.intake.origins`); a sync exchanges the origins' signed
checkpoints, sends only the suffix of each log the other side lacks, as a plain
bundle (:mod:`factfinder.intake.bundles`, which checks consistency proofs and
reports forks on import), and never merges a fork. The link may be slow and
cut at any moment (the founding case: a town whose lines were cut for days),
so every step here is resumable and holds at most one chunk in memory:

1. **state**: ask the peer which origins it holds and how far (``GET /sync/v1/state``).
2. **push**: export what the peer lacks into a spool file in this case's
   ``tmp/`` folder, upload it in chunks at the offset the peer says it has
   (after a cut the client asks the offset again and goes on from there), then
   ask the peer to import it. The peer keeps the outcome, so asking again after
   a cut returns the same report instead of importing twice.
3. **pull**: ask the peer to export what this archive lacks into its spool;
   download it with HTTP ``Range`` requests into a ``.part`` file, resuming
   from the file's length after a cut; check its SHA-256; import it.

Bundles travel gzip-compressed (:func:`pack`, level 1): their tar headers,
padding and JSON entries are a third of a bundle of small items, and the link
is what is scarce. Offsets and digests on the wire are of the compressed file;
the bundle inside is checked whole by its own trailer on import.

Each request is retried with exponential backoff on connection errors,
timeouts and 502/503/504 answers; a budget of ``retries`` consecutive failures
without progress bounds the wait, and running out of it raises
:class:`SyncError` naming the step. Forks reported by either side are returned
(and printed by the CLI), not merged.

Records of the hops themselves are not a reason to sync. Importing a suffix
appends a ``transfer.received`` entry (and receipts of channel ``sync`` or
``bundle`` for the items it brought) to the importer's own log; if those alone
made the other side "lack" something, two archives would send each other their
receipts for ever. So an origin whose new entries are only such hop records is
not offered (:func:`news_for`); the records travel with the next sync that has
something else to carry. Nothing is lost by this: every item a hop record
names came from an origin the archive mirrors, and that origin's own suffix is
offered as usual.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gzip
import hashlib
import json
import logging
import os
import random
import secrets
import time
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from factfinder.db import engine as dbengine
from factfinder.db.models import Origin, OriginEntry
from factfinder.intake import bundles, origins
from factfinder.vault import custody
from factfinder.vault.case import Case
from factfinder.vault.checkpoint import Checkpoint, Verifier
from factfinder.vault.errors import CheckpointError, IntakeError

logger = logging.getLogger(__name__)

PROTOCOL = "/sync/v1"
CHUNK = 1 << 20  # bytes per upload request and per download read: the memory a transfer holds
HOP_CHANNELS = frozenset({"sync", "bundle"})
RETRYABLE_STATUS = frozenset({502, 503, 504})
TOKEN_ENV = "FACTFINDER_SYNC_TOKEN"


class SyncError(IntakeError):
    """A sync step that could not be completed; the message names the step and why."""


@dataclass
class SyncReport:
    """What one sync did, for the CLI to print and tests to check."""

    peer: str
    peer_archive: str | None = None
    pushed: dict[str, Any] | None = None  # the peer's import report of what we sent, None if nothing to send
    pulled: dict[str, Any] | None = None  # our import report of what we received, None if nothing to receive
    bytes_sent: int = 0  # bundle bytes uploaded (requests and their headers not counted)
    bytes_received: int = 0  # bundle bytes downloaded
    retries: int = 0  # requests repeated after a cut or a timeout
    forks: list[str] = field(default_factory=list)  # "pushed: origin X" / "pulled: origin Y"


# -- what the other side lacks -------------------------------------------------------------


def is_hop_record(entry: bytes) -> bool:
    """Whether a custody entry only records a hop: a transfer, or a receipt a transfer made."""
    try:
        record = json.loads(entry)
    except ValueError:
        return False
    if not isinstance(record, dict):
        return False
    action = record.get("action")
    if action == custody.TRANSFER_RECEIVED:
        return True
    return action in custody.ITEM_ACTIONS and record.get("channel") in HOP_CHANNELS


def _origin_entries(case: Case, name: str, start: int, end: int) -> Iterator[bytes]:
    """Entries ``[start, end)`` of origin ``name`` as this archive holds it (its own log or a mirror)."""
    with case.engine.connect() as conn:
        if name == case.log.origin:
            for _, entry in case.log.entries(conn, start, end):
                yield entry
            return
        origin_id = conn.execute(select(Origin.id).where(Origin.name == name)).scalar_one_or_none()
        if origin_id is None:
            return
        rows = conn.execute(
            select(OriginEntry.entry)
            .where(OriginEntry.origin_id == origin_id, OriginEntry.idx >= start, OriginEntry.idx < end)
            .order_by(OriginEntry.idx)
        )
        for (entry,) in rows:
            yield bytes(entry)


def news_for(case: Case, have: Mapping[str, int]) -> dict[str, int]:
    """Origins this archive holds beyond ``have`` with more than hop records: name -> size held here.

    Empty means the other side lacks nothing but records of earlier hops, and
    no bundle needs to be made (see the module's docstring).
    """
    news: dict[str, int] = {}
    for name, held in origins.held(case).items():
        start = max(0, int(have.get(name, 0)))
        if held.size > start and not all(is_hop_record(e) for e in _origin_entries(case, name, start, held.size)):
            news[name] = held.size
    return news


def diverged(case: Case, peer_origins: Mapping[str, Any]) -> set[str]:
    """Origins the peer holds a different history of than this archive: a fork between the two copies.

    Checked where it can be without a proof: the peer's signed checkpoint at a
    size this archive holds too must have the root this archive's copy has
    there. For such an origin neither side may assume the other holds what its
    own copy names, so the bundles for it start at 0 (the importer then records
    the fork, with both notes, and merges nothing from it).
    """
    found: set[str] = set()
    mine = origins.held(case)
    with dbengine.snapshot(case.engine) as conn:
        for name, theirs in peer_origins.items():
            held = mine.get(name)
            if held is None or not isinstance(theirs, Mapping):
                continue
            size, note = theirs.get("size"), theirs.get("checkpoint")
            if not isinstance(size, int) or not isinstance(note, str) or not 0 < size <= held.size:
                continue
            if note == held.checkpoint:
                continue
            if theirs.get("verifier") != held.verifier:
                found.add(name)
                continue
            try:
                checkpoint = Checkpoint.open(note, Verifier.parse(held.verifier))
            except CheckpointError:
                continue  # not signed by the key this archive pinned: the import refuses it anyway
            if checkpoint.size != size:
                continue
            if name == case.log.origin:
                root = case.log.root(conn, size)
            else:
                root = origins.leaf_tree(case, conn, name, size).root(size)
            if root != checkpoint.root_hash:
                found.add(name)
    return found


def report_json(report: Any) -> dict[str, Any]:
    """An import report as JSON-able data (the peer sends it back as such)."""
    if dataclasses.is_dataclass(report) and not isinstance(report, type):
        data = dataclasses.asdict(report)
        for name in ("items_new", "entries_taken"):  # totals the report computes rather than stores
            if isinstance(getattr(report, name, None), int):
                data[name] = getattr(report, name)
    elif isinstance(report, Mapping):
        data = dict(report)
    else:
        data = dict(vars(report))
    plain: dict[str, Any] = json.loads(json.dumps(data, default=str))
    return plain


def forked_origins(report: Mapping[str, Any] | None) -> list[str]:
    """Names of the origins an import report says forked."""
    if not report:
        return []
    found: list[str] = []
    per_origin = report.get("origins") or []
    if isinstance(per_origin, Mapping):
        per_origin = [{"name": name, **value} for name, value in per_origin.items() if isinstance(value, Mapping)]
    for o in per_origin:
        if isinstance(o, Mapping) and (o.get("status") == "fork" or o.get("fork") is True):
            found.append(str(o.get("name") or o.get("origin")))
    for name in report.get("forks") or []:
        if str(name) not in found:
            found.append(str(name))
    return found


def read_token(token_file: Path | None) -> str:
    """The peer's API token: from a file (never the command line, where others can read it) or the environment."""
    if token_file is not None:
        token = token_file.read_text(encoding="utf-8").strip()
        if not token:
            raise SyncError(f"{token_file}: the token file is empty")
        return token
    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        raise SyncError(f"give the peer's API token with --token-file or in ${TOKEN_ENV}")
    return token


# -- the link ------------------------------------------------------------------------------


class _Link:
    """One HTTP client to the peer, with bounded retries and backoff, counting what it moves."""

    def __init__(
        self,
        url: str,
        token: str,
        *,
        retries: int,
        backoff: float,
        timeout: float,
        say: Callable[[str], None],
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.retries = retries
        self.backoff = backoff
        self.say = say
        self.failures = 0  # consecutive failures without progress
        self.repeats = 0
        self.timeout = timeout
        self.client = httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {token}", "User-Agent": "factfinder-sync/1"},
            timeout=timeout,
            transport=transport,
            follow_redirects=False,
        )

    def close(self) -> None:
        self.client.close()

    def progressed(self) -> None:
        self.failures = 0

    def failed(self, step: str, why: str) -> None:
        """Count a failure; wait before the next try, or give up when the budget is spent."""
        self.failures += 1
        self.repeats += 1
        if self.failures > self.retries:
            raise SyncError(f"{step}: gave up after {self.retries} retries without progress ({why})")
        delay = min(self.backoff * 2 ** (self.failures - 1), 30.0) * (0.5 + random.random() / 2)
        self.say(f"{step}: {why}; retry {self.failures}/{self.retries} in {delay:.1f} s")
        time.sleep(delay)

    def call(self, step: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """A request whose answer fits in memory (JSON), retried until it gets one."""
        while True:
            try:
                response = self.client.request(method, PROTOCOL + path, **kwargs)
            except httpx.TransportError as exc:
                self.failed(step, _why(exc))
                continue
            if response.status_code in RETRYABLE_STATUS:
                self.failed(step, f"the peer answered {response.status_code}")
                continue
            self.progressed()
            return response


def _why(exc: httpx.TransportError) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    return (
        "the connection was cut" if isinstance(exc, httpx.ReadError | httpx.RemoteProtocolError) else type(exc).__name__
    )


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
        return str(body.get("detail", body)) if isinstance(body, dict) else str(body)
    except ValueError:
        return f"HTTP {response.status_code}"


def _expect(step: str, response: httpx.Response, *codes: int) -> Any:
    if response.status_code not in codes:
        raise SyncError(f"{step}: the peer refused ({response.status_code}): {_detail(response)}")
    return response.json() if response.content else None


def pack(bundle: Path, out: Path) -> tuple[int, str]:
    """Compress a bundle for the wire (gzip, level 1); return the size and SHA-256 of what travels.

    Media is already compressed, but a bundle's tar headers, padding and JSON
    entries are not: on an archive of small items they are a third of its bytes.
    Level 1 takes most of that for little CPU. The bytes on the wire are what a
    resumed transfer counts offsets in.
    """
    digest = hashlib.sha256()
    with (
        open(bundle, "rb") as src,
        open(out, "wb") as raw,
        gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=1, mtime=0) as gz,
    ):
        while data := src.read(CHUNK):
            gz.write(data)
    with open(out, "rb") as fh:
        while data := fh.read(CHUNK):
            digest.update(data)
    return out.stat().st_size, digest.hexdigest()


def unpack(packed: Path, out: Path, limit: int) -> int:
    """Decompress what came over the wire into a bundle of at most ``limit`` bytes (no gzip bomb fills the disk)."""
    written = 0
    try:
        with gzip.open(packed, "rb") as src, open(out, "wb") as dst:
            while data := src.read(CHUNK):
                written += len(data)
                if written > limit:
                    raise SyncError(f"the bundle unpacks to more than the {limit:,} bytes announced")
                dst.write(data)
    except (OSError, EOFError, zlib.error) as exc:
        raise SyncError(f"the bundle does not unpack: {exc}") from None
    return written


def _file_sha256(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _spool(case: Case) -> Path:
    """This side's scratch folder for bundles in transit; what a killed run left there a day ago goes."""
    folder = case.blobs.tmp / "sync"
    folder.mkdir(parents=True, exist_ok=True)
    cutoff = time.time() - 24 * 3600
    for path in folder.iterdir():
        with contextlib.suppress(OSError):
            if path.stat().st_mtime < cutoff:
                path.unlink()
    return folder


# -- the steps -----------------------------------------------------------------------------


def sync(
    case: Case,
    url: str,
    token: str,
    *,
    actor: str,
    push: bool = True,
    pull: bool = True,
    retries: int = 8,
    backoff: float = 1.0,
    timeout: float = 60.0,
    chunk: int = CHUNK,
    say: Callable[[str], None] | None = None,
    transport: httpx.BaseTransport | None = None,
) -> SyncReport:
    """Sync this archive with the one at ``url``: state, then push, then pull.

    ``say`` receives progress lines (no tokens, no witness data in them).
    Raises :class:`SyncError` when a step cannot be done; what was imported
    before stays imported (each import is atomic), and running it again
    sends only what is still missing.
    """
    say = say or (lambda line: logger.info("%s", line))
    link = _Link(url, token, retries=retries, backoff=backoff, timeout=timeout, say=say, transport=transport)
    report = SyncReport(peer=link.url)
    try:
        state = _expect("state", link.call("state", "GET", "/state"), 200)
        if not isinstance(state, dict) or not isinstance(state.get("origins"), dict):
            raise SyncError("state: the peer's answer is not an origins state")
        report.peer_archive = str(state.get("archive") or "") or None
        if push:
            _push(case, link, state, report, chunk)
        if pull:
            _pull(case, link, report, actor, chunk, diverged(case, state["origins"]))
    finally:
        report.retries = link.repeats
        link.close()
    return report


def _push(case: Case, link: _Link, state: dict[str, Any], report: SyncReport, chunk: int) -> None:
    have = {str(name): int(o.get("size", 0)) for name, o in state["origins"].items() if isinstance(o, Mapping)}
    forked = diverged(case, state["origins"])
    have.update(dict.fromkeys(forked, 0))  # let the peer see the whole history it holds differently
    news = news_for(case, have)
    if not news:
        link.say("push: the peer lacks nothing")
        return
    stem = _spool(case) / f"push-{secrets.token_hex(8)}"
    path, packed = stem.with_suffix(".bundle"), stem.with_suffix(".gz")
    try:
        info = bundles.export_bundle(case, path, have=have, recipients=None, for_archive=report.peer_archive)
        size, digest = pack(path, packed)
        path.unlink()
        link.say(f"push: {len(news)} origin(s), bundle of {info.size:,} bytes, {size:,} on the wire")
        body = {"size": size, "sha256": digest, "bundle_size": info.size, "from_archive": case.log.origin}
        upload = _expect("push", link.call("push", "POST", "/uploads", json=body), 201)
        upload_id = str(upload["id"])
        report.bytes_sent += _upload(link, upload_id, packed, size, chunk)
        answer = _wait_for_import(link, upload_id)
        report.pushed = answer
        report.forks += [f"pushed: origin {name}" for name in forked_origins(answer)]
    finally:
        path.unlink(missing_ok=True)
        packed.unlink(missing_ok=True)


def _wait_for_import(link: _Link, upload_id: str) -> dict[str, Any]:
    """Ask the peer to import the upload, and again while it answers that it is still at it (202)."""
    wait = max(1.0, min(link.timeout / 2, 60.0))  # the peer answers before our read times out
    pause = 1.0
    while True:
        response = link.call("push import", "POST", f"/uploads/{upload_id}/import", params={"wait": wait})
        if response.status_code != 202:
            answer: dict[str, Any] = _expect("push import", response, 200)
            return answer
        link.say("push import: the peer is still importing")
        time.sleep(pause)
        pause = min(pause * 2, 10.0)


def _upload(link: _Link, upload_id: str, path: Path, size: int, chunk: int) -> int:
    """Send the file from wherever the peer stands, chunk by chunk; return the bytes sent."""
    sent = offset = 0  # a new upload stands at 0
    where = f"/uploads/{upload_id}"
    with open(path, "rb") as fh:
        while offset < size:
            fh.seek(offset)
            data = fh.read(chunk)
            try:
                response = link.client.put(
                    PROTOCOL + where,
                    content=data,
                    headers={"Upload-Offset": str(offset), "Content-Type": "application/octet-stream"},
                )
            except httpx.TransportError as exc:
                sent += len(data)  # may have gone out in part; counted as sent
                link.failed("push upload", _why(exc))
                offset = int(_expect("push", link.call("push", "GET", where), 200)["offset"])
                continue
            sent += len(data)
            if response.status_code == 409:  # not where we thought (a cut chunk arrived in part): resume there
                link.failed("push upload", "the peer stands at another offset")
                offset = int(response.json()["offset"])
                continue
            if response.status_code in RETRYABLE_STATUS:
                link.failed("push upload", f"the peer answered {response.status_code}")
                continue
            new_offset = int(_expect("push upload", response, 200)["offset"])
            if new_offset > offset:
                link.progressed()
            offset = new_offset
    return sent


def _pull(case: Case, link: _Link, report: SyncReport, actor: str, chunk: int, forked: set[str]) -> None:
    have = {name: 0 if name in forked else held.size for name, held in origins.held(case).items()}
    body = {"have": have, "for_archive": case.log.origin}
    offer = _expect("pull", link.call("pull", "POST", "/bundles", json=body), 200, 201)
    if not offer or offer.get("id") is None:
        link.say("pull: this archive lacks nothing")
        return
    bundle_id, size, digest = str(offer["id"]), int(offer["size"]), str(offer["sha256"])
    link.say(f"pull: bundle of {int(offer['bundle_size']):,} bytes, {size:,} on the wire")
    stem = _spool(case) / f"pull-{hashlib.sha256(bundle_id.encode()).hexdigest()[:16]}"
    part, path = stem.with_suffix(".part"), stem.with_suffix(".bundle")
    try:
        report.bytes_received += _download(link, f"/bundles/{bundle_id}", part, size, digest, chunk)
        unpack(part, path, int(offer["bundle_size"]))
        part.unlink()
        answer = bundles.import_bundle(
            case, path, identity=None, carrier=None, left_at=None, kind="sync", peer=link.url, actor=actor
        )
        report.pulled = report_json(answer)
        report.forks += [f"pulled: origin {name}" for name in forked_origins(report.pulled)]
    finally:
        part.unlink(missing_ok=True)
        path.unlink(missing_ok=True)
    with contextlib.suppress(httpx.TransportError):  # the peer would drop it after a while anyway
        link.client.delete(PROTOCOL + f"/bundles/{bundle_id}")


def _download(link: _Link, where: str, part: Path, size: int, digest: str, chunk: int) -> int:
    """Fetch ``where`` into ``part``, resuming from its length after each cut; return the bytes received."""
    received = 0
    part.touch()
    while True:
        have = part.stat().st_size
        if have == size:
            if _file_sha256(part) == digest:
                return received
            part.write_bytes(b"")  # something went wrong in the bytes: fetch it again from the start
            link.failed("pull download", "the bundle's SHA-256 does not match")
            continue
        if have > size:
            part.write_bytes(b"")
            continue
        headers = {"Range": f"bytes={have}-"} if have else {}
        try:
            with link.client.stream("GET", PROTOCOL + where, headers=headers) as response:
                if response.status_code == 206:
                    start = int(response.headers.get("content-range", "bytes -1-").split()[1].split("-")[0] or -1)
                    if start != have:
                        raise SyncError(f"pull download: the peer sent bytes from {start}, not {have}")
                    mode = "ab"
                elif response.status_code == 200:
                    mode = "wb"  # the peer sent the whole file
                elif response.status_code in RETRYABLE_STATUS:
                    link.failed("pull download", f"the peer answered {response.status_code}")
                    continue
                else:
                    response.read()
                    raise SyncError(f"pull download: the peer refused ({response.status_code}): {_detail(response)}")
                with open(part, mode) as fh:
                    for data in response.iter_bytes(chunk):
                        fh.write(data)
                        received += len(data)
                        link.progressed()
        except httpx.TransportError as exc:
            link.failed("pull download", _why(exc))
