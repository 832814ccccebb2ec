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

``POST /sync/v1/bundles`` (view-evidence), body ``{"have": {origin: size}, "for_archive": name}``
    Writes a plain bundle of every origin's suffix beyond ``have`` (and the
    blobs the caller lacks), gzip-compressed, to a spool file in the case's
    ``tmp/sync-out/`` and answers 201 ``{"id", "size", "sha256", "encoding":
    "gzip", "bundle_size"}`` (``size`` and ``sha256`` of the gzip file that
    travels, ``bundle_size`` of the bundle inside); or 200 ``{"id": null, ...}``
    when the caller lacks nothing but records of earlier hops.
``GET /sync/v1/bundles/{id}`` (view-evidence)
    The bundle, with HTTP ``Range`` support (206 and ``Content-Range``), so a
    download cut off is resumed from the bytes already received.
``DELETE /sync/v1/bundles/{id}`` (view-evidence)
    The caller has it; the spool file goes. Unclaimed ones go after a day.

Push (the caller sends; needs add-evidence, since the import adds items):

``POST /sync/v1/uploads``, body ``{"size", "sha256", "bundle_size", "from_archive"}``
    The gzip-compressed bundle to come (``size``, ``sha256``) and the size of
    the bundle inside (unpacking stops beyond it). Answers 201 ``{"id",
    "size", "offset": 0}``; 507 if the disk lacks room.
``GET /sync/v1/uploads/{id}``
    ``{"id", "size", "offset", "imported"}``: where to resume (and ``refused``
    with the reason once an import refused it).
``PUT /sync/v1/uploads/{id}`` with header ``Upload-Offset: N`` and the bytes
    Appended only if ``N`` is the upload's length (else 409 with ``offset``);
    bytes that arrive before a cut are kept, so the caller asks the offset and
    goes on. Answers ``{"offset"}``.
``POST /sync/v1/uploads/{id}/import?wait=S``
    Checks the SHA-256 announced at creation (a mismatch discards the upload:
    422), unpacks and imports the bundle (``kind="sync"``, ``peer`` the announced
    ``from_archive``) and answers the import report; a damaged bundle is 422
    and changes nothing. The import runs on the server whatever becomes of the
    request; if it takes longer than ``S`` seconds (default 20, at most 60) the
    answer is 202 and the caller asks again. The outcome is kept a day, so the
    same call after a cut answers it again rather than importing twice (an
    import is idempotent anyway).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import secrets
import shutil
import threading
import time
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from factfinder.intake import bundles, origins
from factfinder.intake import sync as sync_client
from factfinder.permissions import Permission
from factfinder.vault.case import Case
from factfinder.vault.errors import IntakeError
from factfinder.web.auth import Caller, check_csrf, need

router = APIRouter(prefix="/sync/v1", tags=["sync"])

SPOOL_TTL_SECONDS = 24 * 3600
MAX_BUNDLE_BYTES = 1 << 40
DISK_MARGIN = 256 << 20  # an upload must leave this much free on the case's disk
_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
MAX_IMPORT_WAIT = 60.0  # seconds an import request may wait for the outcome before answering 202
_imports = threading.Lock()  # one push import at a time: they serialise on the database anyway
_running: dict[Path, threading.Thread] = {}  # imports under way, by upload
_running_lock = threading.Lock()
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


@router.post("/bundles", status_code=201)
async def make_bundle(
    request: Request, body: BundleRequest, who: Annotated[Caller, Depends(need(Permission.VIEW_EVIDENCE))]
) -> Any:
    """Spool a bundle of what the caller lacks; it is then fetched with ``GET``, in ranges."""
    await _csrf(request, who)
    made = await run_in_threadpool(spool_bundle, _case(request), body)
    return made if made["id"] is not None else JSONResponse(made, 200)


def spool_bundle(case: Case, body: BundleRequest) -> dict[str, Any]:
    """Export and pack what a caller holding ``body.have`` lacks; ``id`` None when that is nothing."""
    if not sync_client.news_for(case, body.have):
        return {"id": None, "size": 0, "sha256": None}
    folder = _folder(case, "sync-out")
    _sweep(folder)
    bundle_id = secrets.token_urlsafe(18)
    plain, packed = folder / f"{bundle_id}.writing", folder / f"{bundle_id}.packing"
    try:
        info = bundles.export_bundle(case, plain, have=body.have, recipients=None, for_archive=body.for_archive)
        size, digest = sync_client.pack(plain, packed)
        packed.rename(outgoing_path(case, bundle_id))
    finally:
        plain.unlink(missing_ok=True)
        packed.unlink(missing_ok=True)
    return {"id": bundle_id, "size": size, "sha256": digest, "encoding": "gzip", "bundle_size": info.size}


@router.get("/bundles/{bundle_id}", response_class=FileResponse)
def fetch_bundle(
    request: Request, bundle_id: str, who: Annotated[Caller, Depends(need(Permission.VIEW_EVIDENCE))]
) -> FileResponse:
    """The spooled bundle; ``Range: bytes=N-`` resumes a download cut off at byte N."""
    path = outgoing_path(_case(request), bundle_id)
    if not path.is_file():
        raise HTTPException(404, "no such bundle (it may have expired: ask for a new one)")
    return FileResponse(path, media_type="application/gzip", filename=f"{bundle_id}.gz")


@router.delete("/bundles/{bundle_id}", status_code=204)
async def drop_bundle(
    request: Request, bundle_id: str, who: Annotated[Caller, Depends(need(Permission.VIEW_EVIDENCE))]
) -> None:
    await _csrf(request, who)
    outgoing_path(_case(request), bundle_id).unlink(missing_ok=True)


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
    return {"id": new_upload(_case(request), body), "size": body.size, "offset": 0}


def new_upload(case: Case, announced: UploadRequest) -> str:
    """Make room for a pushed bundle (its bytes then go to :func:`incoming_path`); return its id."""
    folder = _folder(case, "sync-in")
    _sweep(folder)
    if shutil.disk_usage(folder).free < announced.size + announced.bundle_size + DISK_MARGIN:
        raise HTTPException(507, "not enough free disk on this server for a bundle of that size")
    upload = _Upload(case, secrets.token_urlsafe(18))
    upload.part.touch(exist_ok=False)
    upload.meta_path.write_text(json.dumps(announced.model_dump()), encoding="utf-8")
    return upload.id


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
    bad link: the caller asks again on 202 until the outcome is there.
    """
    with _running_lock:
        thread = _running.get(upload.part)
        if thread is None:
            outcome = _outcome(upload)
            if outcome is not None:
                return outcome
            meta = upload.meta()
            offset = upload.offset()
            if offset != meta["size"]:
                return JSONResponse({"detail": "the upload is not complete", "offset": offset}, 409)
            thread = threading.Thread(target=_take_in, args=(case, upload, meta, actor), daemon=True)
            _running[upload.part] = thread
            thread.start()
    thread.join(wait)
    outcome = _outcome(upload)
    return outcome if outcome is not None else JSONResponse({"detail": "importing: ask again"}, 202)


def _outcome(upload: _Upload) -> Any:
    """The import's report, its refusal as an error response, or None while there is neither."""
    done = upload.done()
    if done is None:
        return None
    if "report" in done:
        return done["report"]
    return JSONResponse({"detail": done["refused"]}, int(done["status"]))


def _take_in(case: Case, upload: _Upload, meta: dict[str, Any], actor: str) -> None:
    """Check the digest, unpack, import; record the outcome next to the upload (kept a day, then swept)."""
    outcome: dict[str, Any]
    bundle = upload.part.with_suffix(".bundle")
    try:
        with _imports:
            with open(upload.part, "rb") as fh:
                digest = hashlib.file_digest(fh, "sha256").hexdigest()
            if not secrets.compare_digest(digest, meta["sha256"]):
                outcome = {"status": 422, "refused": "the bundle's SHA-256 is not the one announced: send it again"}
            else:
                peer = meta.get("from_archive") or "an archive that did not name itself"
                try:
                    sync_client.unpack(upload.part, bundle, int(meta["bundle_size"]))
                    report = bundles.import_bundle(
                        case, bundle, identity=None, carrier=None, left_at=None, kind="sync", peer=peer, actor=actor
                    )
                    outcome = {"report": sync_client.report_json(report)}
                except IntakeError as exc:
                    outcome = {"status": 422, "refused": f"bundle refused: {exc}"}
    except Exception as exc:  # whatever it was, the caller must learn that the import ended; the detail stays here
        logger.error("sync import failed: %s", type(exc).__name__)
        outcome = {"status": 500, "refused": "the import failed on the server: send it again"}
    finally:
        bundle.unlink(missing_ok=True)
    upload.done_path.write_text(json.dumps({"size": meta["size"], **outcome}), encoding="utf-8")
    _discard(upload)
    with _running_lock:
        _running.pop(upload.part, None)


def _discard(upload: _Upload) -> None:
    for path in (upload.part, upload.meta_path):
        path.unlink(missing_ok=True)
