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

Each origin's suffix starts where the other side says it stands, also for an
origin whose copies differ (:func:`diverged`): the receiver's consistency
proof check finds such a fork and records it, and the sender need not resend
the whole history to show it. An origin the other side holds as forked takes
nothing more there, so none of it is sent.

Bundles travel gzip-compressed (:func:`pack`, level 1): their tar headers,
padding and JSON entries are a third of a bundle of small items, and the link
is what is scarce. Offsets and digests on the wire are of the compressed file;
the bundle inside is checked whole by its own trailer on import.

Each request is retried with exponential backoff on connection errors,
timeouts and 502/503/504 answers; a budget of ``retries`` consecutive failures
without progress bounds the wait, and running out of it raises
:class:`SyncError` naming the step. Nothing a peer says can keep the client at
it for ever or fill its disk: a download is refused unless the disk has room
for it (:data:`DISK_MARGIN` to spare), never grows past the size the peer
announced, counts as progress only bytes beyond the most it held, and is
fetched again at most once after a SHA-256 mismatch; the unpacked bundle stops
at its announced size; and the wait for a push's import has an overall limit.
Forks reported by either side are returned (and printed by the CLI), not
merged.

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
import shutil
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
DISK_MARGIN = 64 << 20  # a pull must leave this much free on this archive's disk
DIGEST_TRIES = 2  # whole downloads whose SHA-256 does not match before a pull gives up
IMPORT_WAIT = 3600.0  # seconds, in all, to wait for the peer to import a push before giving up


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
    forks: list[str] = field(default_factory=list)  # "pushed: origin X" / "pulled: origin Y" / "state: origin Z"

    @property
    def pulled_items(self) -> list[str]:
        """Digests of the items the pull brought that this archive did not hold: for the after-intake steps."""
        return [str(sha) for sha in (self.pulled or {}).get("new_items") or []]


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
    there. Found this way, a fork is reported to whoever runs the sync; what
    is sent still starts where the other side stands, and the receiver's
    consistency check records the fork when a suffix arrives (sending the whole
    history again on every sync would prove nothing more).
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
            if origins.root_at(case, conn, name, size) != checkpoint.root_hash:
                found.add(name)
    return found


def report_json(report: Any) -> dict[str, Any]:
    """An import report as JSON-able data (the peer sends it back as such)."""
    if dataclasses.is_dataclass(report) and not isinstance(report, type):
        data = dataclasses.asdict(report)
        for name in ("items_new", "entries_taken", "new_items"):  # what the report computes rather than stores
            if isinstance(getattr(report, name, None), int | list):
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
    import_wait: float = IMPORT_WAIT,
    say: Callable[[str], None] | None = None,
    transport: httpx.BaseTransport | None = None,
) -> SyncReport:
    """Sync this archive with the one at ``url``: state, then push, then pull.

    ``say`` receives progress lines (no tokens, no witness data in them).
    ``import_wait`` bounds, in seconds, the wait for the peer to import what
    was pushed. Raises :class:`SyncError` when a step cannot be done; what was
    imported before stays imported (each import is atomic), and running it
    again sends only what is still missing. The after-intake steps (media
    analysis, texts read) are the caller's: :attr:`SyncReport.pulled_items`
    names the new items.
    """
    say = say or (lambda line: logger.info("%s", line))
    link = _Link(url, token, retries=retries, backoff=backoff, timeout=timeout, say=say, transport=transport)
    report = SyncReport(peer=link.url)
    try:
        state = _expect("state", link.call("state", "GET", "/state"), 200)
        if not isinstance(state, dict) or not isinstance(state.get("origins"), dict):
            raise SyncError("state: the peer's answer is not an origins state")
        report.peer_archive = str(state.get("archive") or "") or None
        peer_origins: dict[str, Any] = state["origins"]
        forked = diverged(case, peer_origins)
        if push:
            _push(case, link, peer_origins, report, chunk, import_wait)
        if pull:
            _pull(case, link, peer_origins, report, actor, chunk, forked)
        named = {*forked_origins(report.pushed), *forked_origins(report.pulled)}  # the rest only the state shows
        report.forks += [f"state: origin {name}" for name in sorted(forked - named)]
    finally:
        report.retries = link.repeats
        link.close()
    return report


def _sizes(peer_origins: Mapping[str, Any]) -> dict[str, int]:
    """Origin -> size, as the peer's state gives them (entries that are not well formed are left out)."""
    return {
        str(name): o["size"]
        for name, o in peer_origins.items()
        if isinstance(o, Mapping) and isinstance(o.get("size"), int) and o["size"] >= 0
    }


def _push(
    case: Case, link: _Link, peer_origins: Mapping[str, Any], report: SyncReport, chunk: int, import_wait: float
) -> None:
    have = _sizes(peer_origins)
    mine = origins.held(case)
    for name, o in peer_origins.items():  # frozen there: it takes nothing more of that origin, so send none
        if isinstance(o, Mapping) and o.get("forked") is True and name in mine:
            have[name] = max(have.get(name, 0), mine[name].size)
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
        answer = _wait_for_import(link, upload_id, import_wait)
        report.pushed = answer
        report.forks += [f"pushed: origin {name}" for name in forked_origins(answer)]
    finally:
        path.unlink(missing_ok=True)
        packed.unlink(missing_ok=True)


def _wait_for_import(link: _Link, upload_id: str, limit: float) -> dict[str, Any]:
    """Ask the peer to import the upload, and again while it answers that it is still at it (202), for ``limit`` s.

    Past the limit the sync gives up with a clear error: the import goes on at
    the peer, and the next sync finds there whatever it took in.
    """
    deadline = time.monotonic() + limit
    wait = max(1.0, min(link.timeout / 2, 60.0))  # the peer answers before our read times out
    pause = 1.0
    while True:
        left = deadline - time.monotonic()
        params = {"wait": round(max(0.0, min(wait, left)), 3)}
        response = link.call("push import", "POST", f"/uploads/{upload_id}/import", params=params)
        if response.status_code != 202:
            answer: dict[str, Any] = _expect("push import", response, 200)
            return answer
        left = deadline - time.monotonic()
        if left <= 0:
            raise SyncError(
                f"push import: the peer was still importing after {limit:,.0f} s; "
                "sync again later (what it takes in stays taken in)"
            )
        link.say("push import: the peer is still importing")
        time.sleep(min(pause, left))
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


def _pull(
    case: Case,
    link: _Link,
    peer_origins: Mapping[str, Any],
    report: SyncReport,
    actor: str,
    chunk: int,
    diverging: set[str],
) -> None:
    """Fetch and import what this archive lacks.

    ``have`` tells the peer both where each suffix starts and which items this
    archive holds (those its copies of the logs name up to there). For an
    origin whose copies differ the second is not true, so until this
    archive's import has recorded the fork (once), such an origin is asked
    for from 0: the peer then sends the items its copy names, and its
    checkpoint, which the import finds inconsistent with this copy. Once
    recorded, the origin takes nothing more, and none of it is asked for.
    """
    theirs = _sizes(peer_origins)
    have: dict[str, int] = {}
    for name, held in origins.held(case).items():
        if held.forked:
            have[name] = max(held.size, theirs.get(name, 0))
        else:
            have[name] = 0 if name in diverging else held.size
    body = {"have": have, "for_archive": case.log.origin}
    offer = _expect("pull", link.call("pull", "POST", "/bundles", json=body), 200, 201)
    if not offer or offer.get("id") is None:
        link.say("pull: this archive lacks nothing")
        return
    try:
        bundle_id, size, digest, bundle_size = (
            str(offer["id"]),
            int(offer["size"]),
            str(offer["sha256"]),
            int(offer["bundle_size"]),
        )
    except (KeyError, TypeError, ValueError):
        raise SyncError("pull: the peer's offer is not well formed") from None
    if size < 0 or bundle_size < 0:
        raise SyncError("pull: the peer's offer is not well formed")
    link.say(f"pull: bundle of {bundle_size:,} bytes, {size:,} on the wire")
    folder = _spool(case)
    # the download, then the bundle unpacked beside it, then its items staged in the store while it is checked
    need = size + 2 * bundle_size + DISK_MARGIN
    free = shutil.disk_usage(folder).free
    if free < need:
        raise SyncError(
            f"pull: not enough free disk here for a bundle of {bundle_size:,} bytes "
            f"({need:,} bytes needed with a margin, {free:,} free)"
        )
    stem = folder / f"pull-{hashlib.sha256(bundle_id.encode()).hexdigest()[:16]}"
    part, path = stem.with_suffix(".part"), stem.with_suffix(".bundle")
    claimed = report.peer_archive or "none"
    try:
        report.bytes_received += _download(link, f"/bundles/{bundle_id}", part, size, digest, chunk)
        unpack(part, path, bundle_size)
        part.unlink()
        answer = bundles.import_bundle(
            case,
            path,
            identity=None,
            carrier=None,
            left_at=None,
            kind="sync",
            peer=f"{link.url} (announced archive {claimed})",  # the address we called; the name is its claim
            actor=actor,
        )
        report.pulled = report_json(answer)
        report.forks += [f"pulled: origin {name}" for name in forked_origins(report.pulled)]
    finally:
        part.unlink(missing_ok=True)
        path.unlink(missing_ok=True)
    with contextlib.suppress(httpx.TransportError):  # the peer would drop it after a while anyway
        link.client.delete(PROTOCOL + f"/bundles/{bundle_id}")


def _download(link: _Link, where: str, part: Path, size: int, digest: str, chunk: int) -> int:
    """Fetch ``where`` into ``part``, resuming from its length after each cut; return the bytes received.

    Bounded whatever the peer does: ``part`` never grows past ``size`` (more is
    an error), only bytes beyond the most held so far count as progress (a peer
    that restarts from 0, or answers with nothing, spends the retry budget),
    and a whole file whose SHA-256 does not match is fetched again only
    :data:`DIGEST_TRIES` - 1 times.
    """
    received = 0
    best = 0  # the longest this copy has been: growth beyond it is progress
    mismatches = 0
    part.write_bytes(b"")
    while True:
        have = part.stat().st_size
        if have == size:
            if _file_sha256(part) == digest:
                return received
            mismatches += 1
            if mismatches >= DIGEST_TRIES:
                raise SyncError(
                    f"pull download: the bundle's SHA-256 was not the one announced, {mismatches} times; giving up"
                )
            link.say("pull download: the bundle's SHA-256 is not the one announced; fetching it again")
            part.write_bytes(b"")
            best = 0
            continue
        before = best
        headers = {"Range": f"bytes={have}-"} if have else {}
        try:
            with link.client.stream("GET", PROTOCOL + where, headers=headers) as response:
                if response.status_code == 206:
                    start = int(response.headers.get("content-range", "bytes -1-").split()[1].split("-")[0] or -1)
                    if start != have:
                        raise SyncError(f"pull download: the peer sent bytes from {start}, not {have}")
                    mode = "ab"
                elif response.status_code == 200:
                    mode, have = "wb", 0  # the peer sent the whole file
                elif response.status_code in RETRYABLE_STATUS:
                    link.failed("pull download", f"the peer answered {response.status_code}")
                    continue
                else:
                    response.read()
                    raise SyncError(f"pull download: the peer refused ({response.status_code}): {_detail(response)}")
                with open(part, mode) as fh:
                    for data in response.iter_bytes(chunk):
                        if have + len(data) > size:
                            raise SyncError(f"pull download: the peer sent more than the {size:,} bytes it announced")
                        fh.write(data)
                        have += len(data)
                        received += len(data)
                        if have > best:
                            best = have
                            link.progressed()
        except httpx.TransportError as exc:
            link.failed("pull download", _why(exc))
            continue
        if have < size and best == before:
            link.failed("pull download", "the peer's answer ended without new bytes")
