"""Archive-to-archive sync, the server side: the ``/sync/v1/`` HTTP protocol.

Issue 8, "archive-to-archive sync". Two factfinder archives exchange the
suffixes of the custody logs they hold, one log per origin
(:mod:`factfinder.intake.origins`), as plain bundles
(:mod:`factfinder.intake.bundles`, whose import checks signatures and
consistency proofs and reports forks). Only the transport is here; the client
is :mod:`factfinder.intake.sync` (``factfinder sync CASE_DIR URL``). The link
may drop at any moment, so both directions resume from what has arrived and
nothing is held in memory beyond one chunk. Authentication is an API bearer
token (``Authorization: Bearer fft_...``, from ``factfinder users token``);
browsers with a session may call it too, with the ``X-CSRF-Token`` header on
state-changing calls. The bundles are not age-encrypted (their import needs
no identity): serve this behind TLS, as the tokens already require. Version 1
of the protocol, all JSON except the bundles:

``GET /sync/v1/state`` (view-evidence)
    ``origins.state(case)``: ``{"format", "archive", "recipients",
    "origins": {name: {"size", "checkpoint", "verifier"}}}``.

Pull (the caller receives):

``POST /sync/v1/bundles`` (reveal-protected), body ``{"have": {origin: size}, "for_archive": name}``
    Only for a role that may open witness fields: a bundle is a replica that
    holds every original as it came, sealed answers in clear among them.
    Writes a plain bundle of every origin's suffix beyond ``have`` (and the
    blobs the caller lacks), gzip-compressed, to a spool file in the case's
    ``tmp/sync-out/`` and answers 201 ``{"id", "size", "sha256", "encoding":
    "gzip", "bundle_size"}`` (``size`` and ``sha256`` of the gzip file that
    travels, ``bundle_size`` of the bundle inside); or 200 ``{"id": null, ...}``
    when the caller lacks nothing but records of earlier hops. Asking again
    for the same ``have`` while nothing changed here answers the same spool
    file rather than writing another. Each account has at most
    :data:`MAX_SPOOLING` bundles being written at once (429 beyond) and
    :data:`MAX_SPOOLED` lying ready (a new one replaces its oldest); 507 when
    the disk lacks room for the bundle.
``GET /sync/v1/bundles/{id}`` (reveal-protected)
    The bundle, with HTTP ``Range`` support (206 and ``Content-Range``), so a
    download cut off is resumed from the bytes already received.
``DELETE /sync/v1/bundles/{id}`` (reveal-protected)
    The caller has it; the spool file goes. Unclaimed ones go after a day.

Push (the caller sends; needs add-evidence, since the import adds items):

``POST /sync/v1/uploads``, body ``{"size", "sha256", "bundle_size", "from_archive"}``
    The gzip-compressed bundle to come (``size``, ``sha256``) and the size of
    the bundle inside (unpacking stops beyond it). Answers 201 ``{"id",
    "size", "offset": 0}``; 413 if the disk lacks room for it beside the room
    the uploads already open need; 429 if the account already has
    :data:`MAX_UPLOADS` uploads open (one idle for :data:`UPLOAD_IDLE_SECONDS`
    is given up to make room).
``GET /sync/v1/uploads/{id}``
    ``{"id", "size", "offset", "imported"}``: where to resume (and ``refused``
    with the reason once an import refused it).
``PUT /sync/v1/uploads/{id}`` with header ``Upload-Offset: N`` and the bytes
    Appended only if ``N`` is the upload's length (else 409 with ``offset``);
    bytes that arrive before a cut are kept, so the caller asks the offset and
    goes on. Answers ``{"offset"}``; 507 (what arrived kept) if the disk fills.
``POST /sync/v1/uploads/{id}/import?wait=S``
    Checks the SHA-256 announced at creation (a mismatch discards the upload:
    422), unpacks and imports the bundle and answers the import report; a
    damaged bundle is 422 and changes nothing. The hop's custody entry has
    ``kind="sync"`` and ``peer`` ``client (announced archive NAME)``: the
    caller's own word for which archive it is, kept as a claim (the account
    that pushed is the entry's ``actor``; the bundle's signed checkpoints, not
    this name, are what the import checks). The import runs on the server
    whatever becomes of the request; if it takes longer than ``S`` seconds
    (default 20, at most 60) the answer is 202 and the caller asks again. The
    outcome is kept a day, so the same call after a cut answers it again
    rather than importing twice (an import is idempotent anyway); an import
    that ended without recording it answers 500, and asking again imports
    again. The new items are then analysed and their texts read
    (:mod:`factfinder.web.mediascan`), as for any other intake.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import re
import secrets
import shutil
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from factfinder.db import engine as dbengine
from factfinder.intake import bundles, origins
from factfinder.intake import sync as sync_client
from factfinder.permissions import Permission
from factfinder.vault.case import Case
from factfinder.vault.errors import IntakeError
from factfinder.web import mediascan
from factfinder.web.auth import Caller, check_csrf, need

router = APIRouter(prefix="/sync/v1", tags=["sync"])

SPOOL_TTL_SECONDS = 24 * 3600
MAX_BUNDLE_BYTES = 1 << 40
DISK_MARGIN = 256 << 20  # an upload or a spooled bundle must leave this much free on the case's disk
DISK_FLOOR = 64 << 20  # no chunk of an upload is written if it would leave less free than this
MAX_UPLOADS = 4  # uploads one account may have open at once
UPLOAD_IDLE_SECONDS = 15 * 60  # an open upload unmoved this long may be given up for the account's next one
MAX_SPOOLING = 2  # bundles being written for one account at once
MAX_SPOOLED = 4  # bundles lying ready for one account; a new one replaces the oldest
ENTRY_BYTES = 4096  # what one custody entry may take in a bundle, for estimating its size before writing it
_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
MAX_IMPORT_WAIT = 60.0  # seconds an import request may wait for the outcome before answering 202
_imports = threading.Lock()  # one push import at a time: they serialise on the database anyway
_running: dict[Path, threading.Thread] = {}  # imports under way, by upload
_running_lock = threading.Lock()
_uploads_lock = threading.Lock()  # the room check and the new upload's files, one caller at a time
_spooling: dict[tuple[Path, str | None], int] = {}  # bundles being written, by case folder and account
_spooling_lock = threading.Lock()
logger = logging.getLogger(__name__)


class BundleRequest(BaseModel):
    have: dict[Annotated[str, Field(max_length=255)], Annotated[int, Field(ge=0, le=1 << 62)]] = Field(
        default_factory=dict, max_length=100_000
    )
    for_archive: str | None = Field(default=None, max_length=255)


class UploadRequest(BaseModel):
    size: int = Field(ge=0, le=MAX_BUNDLE_BYTES)  # of the gzip file that travels
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")  # of the gzip file that travels
    bundle_size: int = Field(ge=0, le=MAX_BUNDLE_BYTES)  # of the bundle inside: unpacking stops beyond it
    from_archive: str | None = Field(default=None, max_length=255)


def _case(request: Request) -> Case:
    case: Case = request.app.state.case
    return case


async def _csrf(request: Request, who: Caller) -> None:
    if who.account is not None:
        await check_csrf(request, who)


def _actor(who: Caller) -> str:
    return who.account.username if who.account is not None else "anonymous"


def _folder(case: Case, name: str) -> Path:
    folder = case.blobs.tmp / name
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _sweep(folder: Path) -> None:
    """Remove spool files older than a day: a peer that never came back for them."""
    cutoff = time.time() - SPOOL_TTL_SECONDS
    for path in folder.iterdir():
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
        except OSError:
            continue


def _checked_id(value: str) -> str:
    if not _ID.match(value):
        raise HTTPException(404, "no such bundle or upload")
    return value


# -- state -----------------------------------------------------------------------------------


@router.get("/state")
def state(request: Request, who: Annotated[Caller, Depends(need(Permission.VIEW_EVIDENCE))]) -> dict[str, Any]:
    """The origins this archive holds, how far, and their latest signed checkpoints."""
    result: dict[str, Any] = origins.state(_case(request))
    return result


# -- pull ------------------------------------------------------------------------------------

PULL = Permission.REVEAL_PROTECTED
"""A pull is a replica of the archive: every original byte for byte, an unencrypted form's sealed answers in
clear in its submissions' XML among them. Only a role that may open witness fields may take one (investigators,
whose token a syncing archive uses); an analyst reads the same items through the masked views."""


@router.post("/bundles", status_code=201)
async def make_bundle(request: Request, body: BundleRequest, who: Annotated[Caller, Depends(need(PULL))]) -> Any:
    """Spool a bundle of what the caller lacks; it is then fetched with ``GET``, in ranges."""
    await _csrf(request, who)
    made = await run_in_threadpool(spool_bundle, _case(request), body, _actor(who))
    return made if made["id"] is not None else JSONResponse(made, 200)


def spool_bundle(case: Case, body: BundleRequest, account: str | None = None) -> dict[str, Any]:
    """Export and pack what a caller holding ``body.have`` lacks; ``id`` None when that is nothing.

    A caller may ask for the whole archive (``have={}``), and a bundle is
    written twice over (the tar, then its gzip) before the plain one goes; so
    the same request from the same account while nothing changed here gets the
    spool already made, an account writes at most :data:`MAX_SPOOLING` at
    once and keeps at most :data:`MAX_SPOOLED`, and none is written without
    room for it.
    """
    if not sync_client.news_for(case, body.have):
        return {"id": None, "size": 0, "sha256": None}
    folder = _folder(case, "sync-out")
    _sweep(folder)
    key = _spool_key(case, body, account)
    with _spooling_slot(case, account):
        ready = _spooled(folder, key)
        if ready is not None:
            return ready
        need = 2 * _estimate(case, body.have) + DISK_MARGIN
        if shutil.disk_usage(folder).free < need:
            raise HTTPException(507, "not enough free disk on this server to write that bundle: ask again later")
        _make_room(folder, account)
        bundle_id = secrets.token_urlsafe(18)
        plain, packed = folder / f"{bundle_id}.writing", folder / f"{bundle_id}.packing"
        try:
            info = bundles.export_bundle(case, plain, have=body.have, recipients=None, for_archive=body.for_archive)
            size, digest = sync_client.pack(plain, packed)
            packed.rename(outgoing_path(case, bundle_id))
        finally:
            plain.unlink(missing_ok=True)
            packed.unlink(missing_ok=True)
        made = {"id": bundle_id, "size": size, "sha256": digest, "encoding": "gzip", "bundle_size": info.size}
        _spool_meta(folder, bundle_id).write_text(json.dumps({**made, "account": account, "key": key}), "utf-8")
    return made


def _spool_key(case: Case, body: BundleRequest, account: str | None) -> str:
    """What makes two requests ask for the same bundle: the caller, its ``have``, and what this archive holds now."""
    held = {name: [o.size, o.checkpoint] for name, o in origins.held(case).items()}
    what = {"account": account, "have": body.have, "for": body.for_archive, "held": held}
    return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()


def _spool_meta(folder: Path, bundle_id: str) -> Path:
    return folder / f"{bundle_id}.json"


def _spools(folder: Path) -> Iterator[tuple[Path, dict[str, Any]]]:
    """The bundles lying ready in ``folder``, with what was recorded of each."""
    for path in folder.glob("*.json"):
        try:
            meta = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(meta, dict) and isinstance(meta.get("id"), str) and _ID.match(meta["id"]):
            yield path, meta


def _spooled(folder: Path, key: str) -> dict[str, Any] | None:
    """The answer for a bundle made earlier for the same request, if it still lies ready (kept another day)."""
    for path, meta in _spools(folder):
        packed = folder / f"{meta['id']}.gz"
        if meta.get("key") == key and packed.is_file():
            for p in (path, packed):
                with contextlib.suppress(OSError):
                    p.touch()
            return {k: meta[k] for k in ("id", "size", "sha256", "encoding", "bundle_size")}
    return None


def _make_room(folder: Path, account: str | None) -> None:
    """Drop the account's oldest ready bundles so that, with the one about to be made, it keeps :data:`MAX_SPOOLED`."""
    mine: list[tuple[float, Path, str]] = []
    for path, meta in _spools(folder):
        if meta.get("account") == account:
            with contextlib.suppress(OSError):
                mine.append((path.stat().st_mtime, path, meta["id"]))
    mine.sort()
    for _, path, bundle_id in mine[: max(0, len(mine) - MAX_SPOOLED + 1)]:
        (folder / f"{bundle_id}.gz").unlink(missing_ok=True)
        path.unlink(missing_ok=True)


@contextlib.contextmanager
def _spooling_slot(case: Case, account: str | None) -> Iterator[None]:
    """Hold one of the account's :data:`MAX_SPOOLING` places for writing a bundle, or answer 429."""
    key = (case.path, account)
    with _spooling_lock:
        if _spooling.get(key, 0) >= MAX_SPOOLING:
            raise HTTPException(
                429, f"this account already has {MAX_SPOOLING} bundles being written: wait for them, then ask again"
            )
        _spooling[key] = _spooling.get(key, 0) + 1
    try:
        yield
    finally:
        with _spooling_lock:
            _spooling[key] -= 1
            if not _spooling[key]:
                del _spooling[key]


def _estimate(case: Case, have: Mapping[str, int]) -> int:
    """At most how many bytes a bundle for ``have`` holds: the items its suffixes name, and their entries."""
    total = 0
    items: dict[str, int] = {}
    with dbengine.snapshot(case.engine) as conn:
        for name, o in origins.held_in(case, conn).items():
            start = min(max(int(have.get(name, 0)), 0), o.size)
            total += (o.size - start) * ENTRY_BYTES
            items.update(origins.items_named(case, conn, name, start, o.size))
    return total + sum(items.values())


@router.get("/bundles/{bundle_id}", response_class=FileResponse)
def fetch_bundle(request: Request, bundle_id: str, who: Annotated[Caller, Depends(need(PULL))]) -> FileResponse:
    """The spooled bundle; ``Range: bytes=N-`` resumes a download cut off at byte N."""
    path = outgoing_path(_case(request), bundle_id)
    if not path.is_file():
        raise HTTPException(404, "no such bundle (it may have expired: ask for a new one)")
    return FileResponse(path, media_type="application/gzip", filename=f"{bundle_id}.gz")


@router.delete("/bundles/{bundle_id}", status_code=204)
async def drop_bundle(request: Request, bundle_id: str, who: Annotated[Caller, Depends(need(PULL))]) -> None:
    await _csrf(request, who)
    outgoing_path(_case(request), bundle_id).unlink(missing_ok=True)
    _spool_meta(_folder(_case(request), "sync-out"), bundle_id).unlink(missing_ok=True)


# -- push ------------------------------------------------------------------------------------


class _Upload:
    """An incoming bundle in ``tmp/sync-in/``: ``ID.part`` (the bytes), ``ID.json`` (what was announced),
    ``ID.done.json`` (the import report, once imported)."""

    def __init__(self, case: Case, upload_id: str) -> None:
        folder = _folder(case, "sync-in")
        self.id = _checked_id(upload_id)
        self.part = folder / f"{upload_id}.part"
        self.meta_path = folder / f"{upload_id}.json"
        self.done_path = folder / f"{upload_id}.done.json"

    def meta(self) -> dict[str, Any]:
        try:
            meta: dict[str, Any] = json.loads(self.meta_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise HTTPException(404, "no such upload (it may have expired: start again)") from None
        return meta

    def offset(self) -> int:
        return self.part.stat().st_size if self.part.exists() else 0

    def done(self) -> dict[str, Any] | None:
        try:
            report: dict[str, Any] = json.loads(self.done_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return report


@router.post("/uploads", status_code=201)
async def start_upload(
    request: Request, body: UploadRequest, who: Annotated[Caller, Depends(need(Permission.ADD_EVIDENCE))]
) -> dict[str, Any]:
    await _csrf(request, who)
    return {"id": new_upload(_case(request), body, _actor(who)), "size": body.size, "offset": 0}


def new_upload(case: Case, announced: UploadRequest, account: str | None = None) -> str:
    """Make room for a pushed bundle (its bytes then go to :func:`incoming_path`); return its id.

    The room is what the upload, its unpacked bundle and the items staged from
    it need, beside what the uploads already open still need (the ledger is
    their files in ``tmp/sync-in/``, so it survives a restart). ``account``
    None (a caller inside this process, not the HTTP route) is not held to
    :data:`MAX_UPLOADS`.
    """
    folder = _folder(case, "sync-in")
    _sweep(folder)
    with _uploads_lock:
        open_now = _open_uploads(case, folder)
        if account is not None:
            _give_up_idle(account, open_now)
        reserved = sum(u.still_needs for u in open_now if u.upload.meta_path.exists())
        need = _room(announced.size, announced.bundle_size) + DISK_MARGIN
        if shutil.disk_usage(folder).free - reserved < need:
            # The request is too big for this server as it stands (413), not a fault of the server (5xx).
            raise HTTPException(413, "not enough free disk on this server for a bundle of that size")
        upload = _Upload(case, secrets.token_urlsafe(18))
        upload.part.touch(exist_ok=False)
        upload.meta_path.write_text(json.dumps({**announced.model_dump(), "account": account}), encoding="utf-8")
    return upload.id


def _room(size: int, bundle_size: int) -> int:
    """Disk an upload needs: its bytes, the bundle unpacked from them, the items staged from that."""
    return size + 2 * bundle_size


@dataclass
class _Open:
    """An upload not yet imported, as its files show it."""

    upload: _Upload
    account: str | None
    moved_at: float  # when its bytes last moved (the announcement file is touched on each PUT)
    still_needs: int  # disk it needs beyond what its bytes so far already take


def _open_uploads(case: Case, folder: Path) -> list[_Open]:
    found: list[_Open] = []
    for path in folder.glob("*.json"):
        if path.name.endswith(".done.json"):
            continue
        try:
            upload = _Upload(case, path.stem)
            meta = json.loads(path.read_text(encoding="utf-8"))
            moved_at = path.stat().st_mtime
            size, bundle_size = int(meta["size"]), int(meta["bundle_size"])
        except (HTTPException, OSError, ValueError, KeyError, TypeError):
            continue
        still = _room(size, bundle_size) - min(upload.offset(), size)
        found.append(_Open(upload, meta.get("account"), moved_at, still))
    return found


def _give_up_idle(account: str, open_now: list[_Open]) -> None:
    """Keep the account under :data:`MAX_UPLOADS` open uploads by giving up idle ones; else answer 429.

    A sync cut off for good leaves its upload behind, and the next sync starts
    another: without this, a few bad days would lock a field team out until
    the sweep a day later.
    """
    mine = sorted((u for u in open_now if u.account == account), key=lambda u: u.moved_at)
    excess = len(mine) - MAX_UPLOADS + 1
    if excess <= 0:
        return
    cutoff = time.time() - UPLOAD_IDLE_SECONDS
    with _running_lock:
        idle = [u for u in mine if u.moved_at < cutoff and u.upload.part not in _running]
    if len(idle) < excess:
        raise HTTPException(
            429,
            f"this account already has {MAX_UPLOADS} uploads open: finish one, or wait until one has been idle "
            f"{UPLOAD_IDLE_SECONDS // 60} minutes",
        )
    for u in idle[:excess]:
        _discard(u.upload)


def incoming_path(case: Case, upload_id: str) -> Path:
    """Where the bytes of a pushed bundle gather (gzip, as they travel)."""
    return _Upload(case, upload_id).part


def outgoing_path(case: Case, bundle_id: str) -> Path:
    """Where a bundle spooled for a caller to fetch lies (gzip, as it travels)."""
    return _folder(case, "sync-out") / f"{_checked_id(bundle_id)}.gz"


@router.get("/uploads/{upload_id}")
def upload_status(
    request: Request, upload_id: str, who: Annotated[Caller, Depends(need(Permission.ADD_EVIDENCE))]
) -> dict[str, Any]:
    upload = _Upload(_case(request), upload_id)
    done = upload.done()
    if done is not None:
        refused = {} if "report" in done else {"refused": done["refused"]}
        return {"id": upload.id, "size": done["size"], "offset": done["size"], "imported": not refused, **refused}
    meta = upload.meta()
    return {"id": upload.id, "size": meta["size"], "offset": upload.offset(), "imported": False}


@router.put(
    "/uploads/{upload_id}",
    responses={409: {"description": "the bytes do not start where the upload stands; resume from `offset`"}},
)
async def upload_bytes(
    request: Request,
    upload_id: str,
    upload_offset: Annotated[int, Header(ge=0)],
    who: Annotated[Caller, Depends(need(Permission.ADD_EVIDENCE))],
) -> Any:
    """Append the body at ``Upload-Offset``, keeping whatever arrives before a cut."""
    await _csrf(request, who)
    upload = _Upload(_case(request), upload_id)
    done = upload.done()
    if done is not None:
        return JSONResponse({"detail": "already imported", "offset": done["size"]}, 409)
    size = int(upload.meta()["size"])
    locks: dict[str, asyncio.Lock] | None = getattr(request.app.state, "sync_upload_locks", None)
    if locks is None:
        locks = request.app.state.sync_upload_locks = {}
    lock = locks.setdefault(upload.id, asyncio.Lock())
    if lock.locked():  # an earlier request for this upload is still draining a dead connection
        return JSONResponse({"detail": "another transfer to this upload is running", "offset": upload.offset()}, 409)
    try:
        async with lock:
            offset = upload.offset()
            if upload_offset != offset:
                return JSONResponse({"detail": f"upload is at offset {offset}", "offset": offset}, 409)
            with open(upload.part, "ab") as fh:
                try:
                    async for data in request.stream():
                        if shutil.disk_usage(upload.part.parent).free - len(data) < DISK_FLOOR:
                            raise HTTPException(
                                507, "this server's disk is nearly full: what arrived is kept, send the rest later"
                            )
                        if offset + len(data) > size:
                            fh.write(data[: size - offset])
                            raise HTTPException(413, "the bytes go past the announced size")
                        fh.write(data)
                        offset += len(data)
                except ClientDisconnect:
                    pass  # what arrived is kept: the client asks the offset and goes on from there
            upload.meta_path.touch()  # a slow upload that still moves is not swept as abandoned
    finally:
        locks.pop(upload.id, None)
    return {"offset": offset}


@router.post("/uploads/{upload_id}/import")
async def import_upload(
    request: Request,
    upload_id: str,
    who: Annotated[Caller, Depends(need(Permission.ADD_EVIDENCE))],
    wait: Annotated[float, Query(ge=0, le=MAX_IMPORT_WAIT)] = 20.0,
) -> Any:
    """Check and import a fully uploaded bundle; 202 while it runs, and the same report every time after."""
    await _csrf(request, who)
    return await run_in_threadpool(_import, _case(request), _Upload(_case(request), upload_id), _actor(who), wait)


def _import(case: Case, upload: _Upload, actor: str, wait: float) -> Any:
    """Start the import once (in its own thread, so a link that drops cannot stop it) and wait a while for it.

    A large bundle takes longer to import than a request should stay open on a
    bad link: the caller asks again on 202 until the outcome is there. An
    import that ended without recording its outcome (a thread that died, a
    disk that filled) is never waited on again: the caller hears so, and the
    next call imports again.
    """
    with _running_lock:
        outcome = _outcome(upload)
        if outcome is not None:
            return outcome
        thread = _running.get(upload.part)
        if thread is not None and not thread.is_alive():
            del _running[upload.part]
            thread = None
        if thread is None:
            meta = upload.meta()
            offset = upload.offset()
            if offset != meta["size"]:
                return JSONResponse({"detail": "the upload is not complete", "offset": offset}, 409)
            thread = threading.Thread(target=_take_in, args=(case, upload, meta, actor), daemon=True)
            _running[upload.part] = thread
            thread.start()
    thread.join(wait)
    outcome = _outcome(upload)
    if outcome is not None:
        return outcome
    if not thread.is_alive():
        return JSONResponse({"detail": "the import ended without recording its outcome: ask again"}, 500)
    return JSONResponse({"detail": "importing: ask again"}, 202)


def _outcome(upload: _Upload) -> Any:
    """The import's report, its refusal as an error response, or None while there is neither."""
    done = upload.done()
    if done is None:
        return None
    if "report" in done:
        return done["report"]
    return JSONResponse({"detail": done["refused"]}, int(done["status"]))


def _take_in(case: Case, upload: _Upload, meta: dict[str, Any], actor: str) -> None:
    """Import, record the outcome next to the upload (kept a day, then swept), then analyse the new items.

    Whatever fails, the thread leaves :data:`_running`, so a later call is not
    told 202 for ever by an import that is no longer running.
    """
    try:
        outcome = _check_and_import(case, upload, meta, actor)
        _record(upload, meta, outcome)
        new_items = [str(sha) for sha in outcome.get("report", {}).get("new_items") or []]
        if new_items and not case.read_only:
            _after_intake(case, new_items)
    finally:
        with _running_lock:
            _running.pop(upload.part, None)


def _check_and_import(case: Case, upload: _Upload, meta: dict[str, Any], actor: str) -> dict[str, Any]:
    """Check the digest, unpack, import: ``{"report": ...}``, or ``{"status", "refused"}`` saying why not."""
    bundle = upload.part.with_suffix(".bundle")
    claimed = meta.get("from_archive") or "none"
    try:
        with _imports:
            with open(upload.part, "rb") as fh:
                digest = hashlib.file_digest(fh, "sha256").hexdigest()
            if not secrets.compare_digest(digest, meta["sha256"]):
                return {"status": 422, "refused": "the bundle's SHA-256 is not the one announced: send it again"}
            try:
                sync_client.unpack(upload.part, bundle, int(meta["bundle_size"]))
                report = bundles.import_bundle(
                    case,
                    bundle,
                    identity=None,
                    carrier=None,
                    left_at=None,
                    kind="sync",
                    peer=f"client (announced archive {claimed})",  # its word; the checkpoints are checked
                    actor=actor,
                )
                return {"report": sync_client.report_json(report)}
            except IntakeError as exc:
                return {"status": 422, "refused": f"bundle refused: {exc}"}
    except Exception as exc:  # whatever it was, the caller must learn that the import ended; the detail stays here
        logger.error("sync import failed: %s", type(exc).__name__)
        return {"status": 500, "refused": "the import failed on the server: send it again"}
    finally:
        bundle.unlink(missing_ok=True)


def _record(upload: _Upload, meta: dict[str, Any], outcome: dict[str, Any]) -> None:
    """Keep the outcome for the caller and let the upload go; if it cannot be kept, the upload stays for another try."""
    try:
        upload.done_path.write_text(json.dumps({"size": meta["size"], **outcome}), encoding="utf-8")
    except Exception as exc:
        logger.error("sync import: its outcome could not be recorded: %s", type(exc).__name__)
        return
    _discard(upload)


def _after_intake(case: Case, digests: list[str]) -> None:
    """Analyse the media among the new items and read the texts, as every other intake does (after the answer)."""
    try:
        mediascan.scan_digests(case, digests)
    except Exception as exc:  # the items are in; what was not analysed, `factfinder media scan` does later
        logger.error("media scan after a sync import failed: %s", type(exc).__name__)


def _discard(upload: _Upload) -> None:
    for path in (upload.part, upload.meta_path):
        path.unlink(missing_ok=True)
