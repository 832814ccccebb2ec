"""The JSON API under /api/v1: the same operations as the pages, for scripts and the upload JS.

Scripts authenticate with ``Authorization: Bearer <token>`` (made on the
account page or with ``factfinder users token``). A browser session may call
it too; then state-changing calls need the ``X-CSRF-Token`` header.
Anonymous calls are only the public ones a witness's browser makes.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, BackgroundTasks, Depends, Header, HTTPException, Path, Query, Request
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from factfinder import browse, pipeline
from factfinder.intake import uploads, webform
from factfinder.media import redact
from factfinder.permissions import Permission
from factfinder.text import store as text_store
from factfinder.text.corrections import ClaimError, check_correction
from factfinder.vault import custody, keys
from factfinder.vault.case import Case, Recorded
from factfinder.vault.errors import IntakeError, VaultError
from factfinder.web import mediascan
from factfinder.web.auth import Caller, check_csrf, need
from factfinder.web.views import (
    checkpoint_status,
    claim_list,
    claim_or_404,
    claims_json,
    cluster_list,
    cluster_view,
    copy_replaces_original,
    item_view,
    masked_original,
    media_view,
    published_copy_or_404,
    receipt_check,
    text_reading,
    visible_item_or_404,
)

router = APIRouter(tags=["factfinder"])
ClaimId = Annotated[int, Path(ge=0, le=2**31 - 1)]


def _case(request: Request) -> Case:
    case: Case = request.app.state.case
    return case


async def _csrf(request: Request, who: Caller) -> None:
    if who.account is not None:  # only a signed-in browser carries ambient authority worth forging
        await check_csrf(request, who)


class ItemSummary(BaseModel):
    sha256: str
    size: int
    media_type: str
    receipts: int
    published: bool
    first_log_index: int
    received_at_vault_clock: str


class ItemList(BaseModel):
    items: list[ItemSummary]
    total: int
    page: int
    pages: int


class UploadCreate(BaseModel):
    size: int = Field(ge=0, le=1 << 50)
    filename: str | None = Field(default=None, max_length=1024)


class UploadStatus(BaseModel):
    id: str
    size: int
    offset: int
    complete: bool


class UploadComplete(BaseModel):
    sha256: str = Field(pattern=r"^[0-9a-fA-F]{64}$")


class SubmissionIn(BaseModel):
    testimony: str = Field(default="", max_length=webform.MAX_TESTIMONY_CHARS)
    language: str | None = Field(default=None, max_length=8)
    campaign: str | None = Field(default=None, max_length=200)
    name: str | None = Field(default=None, max_length=500)
    phone: str | None = Field(default=None, max_length=100)
    contact: str | None = Field(default=None, max_length=1000)
    uploads: list[str] = Field(default_factory=list, max_length=50)


class Receipt(BaseModel):
    sha256: str
    log_index: int
    new_item: bool


class SubmissionOut(BaseModel):
    receipts: list[Receipt]


# -- media: the same facts as the item and cluster pages -----------------------------------------


class MediaClaimed(BaseModel):
    """What the file's own metadata says: claims to check, not facts."""

    captured_at: str | None
    camera_make: str | None
    camera_model: str | None
    software: str | None
    width: int | None
    height: int | None
    duration: float | None = Field(description="seconds")
    video_codec: str | None
    audio_codec: str | None
    encoder: str | None
    rotation: int | None = Field(description="degrees, from the video's display matrix")
    orientation: int | None = Field(description="EXIF orientation, 1 to 8")


class MediaGps(BaseModel):
    lat: float | None
    lon: float | None
    alt: float | None = Field(description="metres")


class ContentCredentials(BaseModel):
    """C2PA: ``Valid`` = the signature checks but the signer is on no trust list held here; ``Invalid`` = altered."""

    state: str
    meaning: str
    signed_at: str | None
    signed_by: str | None
    claim_generator: str | None
    failures: list[str]


class MediaAnalysisOut(BaseModel):
    kind: str
    status: str = Field(description="ok, partial or failed")
    error: str | None
    analysed_at_vault_clock: str
    step_version: str
    claimed: MediaClaimed
    gps: MediaGps | None
    c2pa: ContentCredentials | None
    raw_metadata: dict[str, Any] | None
    withheld: list[str] = Field(description="fields never shown to this caller (the same list for every file)")


class VideoSegment(BaseModel):
    this_start: float
    this_end: float
    other_start: float
    other_end: float


class MediaMatchOut(BaseModel):
    """Another item showing the same picture or footage, seen from this item's side."""

    sha256: str
    media_type: str
    kind: str = Field(description="image, video or image-in-video")
    distance: float = Field(description="PDQ bits of 256 that differ (for video: the median over matched frames)")
    strong: bool
    relation: str | None
    at_seconds: float | None
    segments: list[VideoSegment]
    share_of_this_video_matched: float | None
    share_of_other_video_matched: float | None


class PublishedCopy(BaseModel):
    sha256: str
    media_type: str
    size: int
    step_version: str


class ItemMedia(BaseModel):
    sha256: str
    analysis: MediaAnalysisOut | None = Field(description="null until the media step has analysed the item")
    thumbnail: bool
    matches: list[MediaMatchOut]
    cluster_id: int | None
    published_copy: PublishedCopy | None
    copy_replaces_original: bool = Field(description="whether this caller is served the published copy")


class ClusterMemberRef(BaseModel):
    sha256: str
    media_type: str
    thumbnail: bool


class ClusterSummary(BaseModel):
    id: int
    size: int
    members: list[ClusterMemberRef]


class ClusterList(BaseModel):
    clusters: list[ClusterSummary]
    total: int
    page: int
    pages: int


class ClusterMemberOut(BaseModel):
    sha256: str
    media_type: str
    thumbnail: bool
    summary: str
    matches: list[MediaMatchOut]


class EarliestCandidate(BaseModel):
    sha256: str
    media_type: str
    score: float
    reasons: list[str] = Field(description="each with its weight, e.g. '+4 first received by the vault (...)'")


class ClusterOut(BaseModel):
    id: int
    size: int
    members: list[ClusterMemberOut]
    candidates: list[EarliestCandidate] = Field(description="most likely earliest and most original first")


# -- claims read from texts: the same facts as the item page's claims section and /claims ----------


class ClaimReviewOut(BaseModel):
    """An analyst's decision on a claim; its custody log entry names the claim's SHA-256."""

    decision: str = Field(description="confirmed, corrected or rejected")
    actor: str
    reason: str | None
    correction_id: int | None = Field(description="the claim the analyst wrote in its place, for a correction")
    log_index: int
    at_vault_clock: str


class ClaimOut(BaseModel):
    id: int
    item_sha256: str
    kind: str = Field(description="count, place, date, actor or event")
    start: int = Field(description="character offsets of the quote in the item's text")
    end: int
    quote: str
    claim: dict[str, Any] = Field(description="the claim's JSON as stored: what `factfinder text claims` prints")
    state: str = Field(description="unreviewed, confirmed, corrected or rejected: the latest decision")
    by_analyst: bool = Field(description="a correction written by an analyst, not the extractor's reading")
    author: str | None = Field(description="who wrote a correction; null for callers who may not review claims")
    corrects_id: int | None = Field(description="the claim this one corrects")
    replaced_by: int | None = Field(description="the newest correction of a corrected claim")
    reviews: list[ClaimReviewOut] | None = Field(
        description="every decision, oldest first; null for callers who may not review claims (they see the state)"
    )


class TextReadingOut(BaseModel):
    version: str = Field(description="the extractor version that read the text")
    stale: bool = Field(description="read by another version than this server's: read again by `factfinder process`")
    lang: str
    published: str = Field(description="the day relative dates were read against")
    status: str = Field(description="read, empty or error")
    error: str | None


class ItemClaims(BaseModel):
    sha256: str
    reading: TextReadingOut | None = Field(description="null until the text step has read the item (or not a text)")
    claims: list[ClaimOut]


class ClaimList(BaseModel):
    claims: list[ClaimOut]
    total: int
    page: int
    pages: int


class ReviewIn(BaseModel):
    decision: Literal["confirmed", "corrected", "rejected"]
    reason: str | None = Field(default=None, max_length=4000)
    correction: dict[str, Any] | None = Field(
        default=None,
        max_length=50,
        description="for `corrected` only: the fields that change (those the claim's kind allows), with their new "
        "values; the correction is recorded as a new claim by the caller, the original is never edited",
    )


class ReviewOut(BaseModel):
    review_id: int
    log_index: int
    claim: ClaimOut = Field(description="the claim reviewed, with its new state")
    correction: ClaimOut | None = Field(description="the claim written in its place, for a correction")


@router.get("/case")
def case_summary(request: Request, who: Annotated[Caller, Depends(need(Permission.VIEW_PUBLISHED))]) -> dict[str, Any]:
    case = _case(request)
    published = browse.list_items(case, browse.Filters(only_published=True)).total
    out: dict[str, Any] = {"title": case.config.title, "log_key": case.config.log_key, "published_items": published}
    if not who.only_published:
        out |= {"counts": case.counts(), "checkpoint": checkpoint_status(case)}
    return out


@router.get("/items")
def list_items(
    request: Request,
    who: Annotated[Caller, Depends(need(Permission.VIEW_PUBLISHED))],
    q: Annotated[str | None, Query(max_length=500)] = None,
    channel: Annotated[str | None, Query(max_length=64)] = None,
    source: Annotated[str | None, Query(max_length=500)] = None,
    media_type: Annotated[str | None, Query(max_length=255)] = None,
    received_from: Annotated[str | None, Query(max_length=40)] = None,
    received_to: Annotated[str | None, Query(max_length=40)] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> ItemList:
    f = browse.Filters(q, channel, source, media_type, received_from, received_to, page, who.only_published)
    listing = browse.list_items(_case(request), f)
    return ItemList(
        items=[
            ItemSummary(
                sha256=i.sha256,
                size=i.size,
                media_type=i.media_type,
                receipts=n,
                published=pub,
                first_log_index=i.first_log_index,
                received_at_vault_clock=i.received_at_vault_clock,
            )
            for i, n, pub in listing.items
        ],
        total=listing.total,
        page=listing.page,
        pages=listing.pages,
    )


@router.get("/items/{ref}")
def get_item(
    request: Request, ref: str, who: Annotated[Caller, Depends(need(Permission.VIEW_PUBLISHED))]
) -> dict[str, Any]:
    v = item_view(_case(request), ref, who)
    item = v.pop("item")
    v["openings"] = [
        {"log_index": o.log_index, "actor": o.actor, "fields": o.fields.split(","), "at": o.opened_at_vault_clock}
        for o in v["openings"]
    ]
    return {
        "sha256": item.sha256,
        "size": item.size,
        "media_type": item.media_type,
        "first_log_index": item.first_log_index,
        **{k: v[k] for k in ("receipts", "openings", "entries", "published")},
    }


@router.get("/items/{ref}/original", response_class=FileResponse)
def get_original(
    request: Request, ref: str, who: Annotated[Caller, Depends(need(Permission.VIEW_PUBLISHED))]
) -> Response:
    """The original; for an observer, a photo's or video's published copy (without GPS or device identifiers)."""
    case = _case(request)
    item = visible_item_or_404(case, ref, who)
    if copy_replaces_original(item, who):
        copy = published_copy_or_404(case, item)
        return FileResponse(
            case.blobs.path(copy.sha256), media_type="application/octet-stream", filename=f"{item.sha256}-published"
        )
    masked = masked_original(case, item, who)  # sealed answers: only for those who may open them
    if masked is not None:
        return masked
    return FileResponse(case.blobs.path(item.sha256), media_type="application/octet-stream", filename=item.sha256)


@router.get("/items/{ref}/media")
def get_item_media(
    request: Request, ref: str, who: Annotated[Caller, Depends(need(Permission.VIEW_PUBLISHED))]
) -> ItemMedia:
    """What the media step found: metadata claimed by the file, content credentials, matches, cluster.

    Observers get no GPS, camera, software, raw metadata or signer, and matches with published items only.
    """
    case = _case(request)
    return ItemMedia.model_validate(media_view(case, visible_item_or_404(case, ref, who), who))


@router.get("/media/clusters")
def list_clusters(
    request: Request,
    who: Annotated[Caller, Depends(need(Permission.VIEW_PUBLISHED))],
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> ClusterList:
    """Groups of items showing the same picture or footage, largest first (observers: published items only)."""
    return ClusterList.model_validate(cluster_list(_case(request), who, page))


@router.get("/media/clusters/{cluster_id}")
def get_cluster(
    request: Request,
    cluster_id: Annotated[int, Path(ge=0, le=2**31 - 1)],
    who: Annotated[Caller, Depends(need(Permission.VIEW_PUBLISHED))],
) -> ClusterOut:
    """A cluster's members, how each matched the others, and the ranked earliest/most original candidates."""
    return ClusterOut.model_validate(cluster_view(_case(request), cluster_id, who))


@router.get("/items/{ref}/claims")
def get_item_claims(
    request: Request, ref: str, who: Annotated[Caller, Depends(need(Permission.VIEW_PUBLISHED))]
) -> ItemClaims:
    """The claims read from an item's text, in text order; who reviewed them only for those who review claims."""
    case = _case(request)
    item = visible_item_or_404(case, ref, who)
    found = text_store.list_claims(case, item=item, limit=1 << 31) if text_store.is_text(item) else []
    return ItemClaims.model_validate(
        {"sha256": item.sha256, "reading": text_reading(case, item, who), "claims": claims_json(case, found, who)}
    )


@router.get("/claims")
def list_claims(
    request: Request,
    who: Annotated[Caller, Depends(need(Permission.VIEW_PUBLISHED))],
    kind: Literal["count", "place", "date", "actor", "event"] | None = None,
    decision: Literal["unreviewed", "confirmed", "corrected", "rejected"] | None = None,
    event_type: Annotated[str | None, Query(max_length=100)] = None,
    what: Annotated[str | None, Query(max_length=32, description="what a count counts: killed, injured, ...")] = None,
    q: Annotated[str | None, Query(max_length=500, description="words the quote contains")] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> ClaimList:
    """The claims read from the case's texts, 50 a page (observers: of published items only)."""
    case = _case(request)
    try:
        found, total, page, pages = claim_list(
            case, who, kind=kind, decision=decision, event_type=event_type, what=what, q=q or None, page=page
        )
    except ClaimError as exc:
        raise HTTPException(400, str(exc)) from exc
    return ClaimList.model_validate(
        {"claims": claims_json(case, found, who), "total": total, "page": page, "pages": pages}
    )


@router.post("/claims/{claim_id}/review", status_code=201)
async def review_claim(
    request: Request,
    claim_id: ClaimId,
    body: ReviewIn,
    who: Annotated[Caller, Depends(need(Permission.REVIEW_CLAIMS))],
) -> ReviewOut:
    """Confirm, correct or reject a claim: one custody entry naming the claim (and its correction) by SHA-256."""
    await _csrf(request, who)
    assert who.account is not None
    case = _case(request)
    claim = claim_or_404(case, claim_id, who)
    try:
        correction = check_correction(claim.kind, claim.body, body.correction) if body.correction is not None else None
        review_id = await run_in_threadpool(  # the review waits for the custody log's lock: not on the event loop
            text_store.review,
            case,
            claim.id,
            body.decision,
            actor=who.account.username,
            reason=body.reason,
            correction=correction,
        )
    except ClaimError as exc:
        raise HTTPException(400, str(exc)) from exc
    [rv] = [r for r in text_store.reviews_of(case, claim.id) if r.id == review_id]
    ids = [claim.id] + ([rv.correction_id] if rv.correction_id is not None else [])
    out = claims_json(case, [text_store.get_claim(case, i) for i in ids], who)
    return ReviewOut.model_validate(
        {
            "review_id": review_id,
            "log_index": rv.log_index,
            "claim": out[0],
            "correction": out[1] if len(out) > 1 else None,
        }
    )


@router.get("/items/{ref}/proof", response_class=PlainTextResponse)
def get_proof(request: Request, ref: str, who: Annotated[Caller, Depends(need(Permission.VIEW_PUBLISHED))]) -> Response:
    case = _case(request)
    item = visible_item_or_404(case, ref, who)
    return PlainTextResponse(case.proof(item.sha256))


@router.post("/items/{ref}/publish")
async def publish_item(
    request: Request, ref: str, who: Annotated[Caller, Depends(need(Permission.PUBLISH))]
) -> dict[str, Any]:
    await _csrf(request, who)
    assert who.account is not None
    case = _case(request)
    try:
        item = case.resolve(ref)
    except VaultError as exc:
        raise HTTPException(404, str(exc)) from exc
    newly = case.publish(item.sha256, actor=who.account.username)
    copy, problem = None, None
    try:  # the copy observers get of a photo or video; publishing again retries a failed one
        # In a worker thread: a remux or re-encode takes seconds and must not hold up the event loop.
        copy = await run_in_threadpool(redact.make_redacted_copy, case, item, actor=who.account.username)
    except redact.RedactionError as exc:
        problem = str(exc)
    return {
        "sha256": item.sha256,
        "newly_published": newly,
        "published_copy": copy.sha256 if copy is not None else None,
        "published_copy_error": problem,
    }


class EvidenceIn(BaseModel):
    """Files already sent through /uploads, and what is known of where they came from."""

    uploads: list[str] = Field(min_length=1, max_length=500)
    channel: str = Field(default="api", min_length=1, max_length=64)
    source: str | None = Field(default=None, max_length=2000)
    note: str | None = Field(default=None, max_length=20000)
    collected_at_claimed: str | None = Field(default=None, max_length=64)
    collected_by_claimed: str | None = Field(default=None, max_length=500)
    witness_name: str | None = Field(default=None, max_length=500)
    witness_phone: str | None = Field(default=None, max_length=100)
    witness_contact: str | None = Field(default=None, max_length=1000)


@router.post("/items", status_code=201)
async def add_items(
    request: Request,
    body: EvidenceIn,
    tasks: BackgroundTasks,
    who: Annotated[Caller, Depends(need(Permission.ADD_EVIDENCE))],
) -> SubmissionOut:
    """Record completed uploads as evidence, under the caller's account (one custody transaction)."""
    await _csrf(request, who)
    assert who.account is not None
    case = _case(request)
    try:
        files = uploads.take_completed(case, body.uploads)
        recorded = webform.add_evidence(
            case,
            webform.Evidence(
                files=files,
                channel=body.channel,
                source=body.source,
                note=body.note,
                collected_at_claimed=body.collected_at_claimed,
                collected_by_claimed=body.collected_by_claimed,
                contact=webform.contact_fields(body.witness_name, body.witness_phone, body.witness_contact),
            ),
            actor=who.account.username,
        )
        uploads.forget(case, body.uploads)
    except VaultError as exc:
        raise HTTPException(400, str(exc)) from exc
    pipeline.index_items(case, digests=[r.sha256 for r in recorded])
    mediascan.schedule(tasks, case, recorded)  # analysed, and texts read for claims, after the response
    return _receipts(recorded)


class RevealIn(BaseModel):
    identity: str | None = Field(
        default=None,
        max_length=4096,
        description="The witness identity (age secret key); optional if the server has one",
    )


@router.post("/items/{ref}/reveal")
async def reveal_item(
    request: Request, ref: str, body: RevealIn, who: Annotated[Caller, Depends(need(Permission.REVEAL_PROTECTED))]
) -> dict[str, Any]:
    """Open an item's sealed witness fields; each opening is a custody entry before anything is returned."""
    await _csrf(request, who)
    assert who.account is not None
    case = _case(request)
    identity_file = request.app.state.settings.identity_file
    try:
        case.resolve(ref)
    except VaultError as exc:
        raise HTTPException(404, str(exc)) from exc
    try:
        if body.identity:
            identity = keys.parse_identity(body.identity)
        elif identity_file is not None:
            identity = keys.load_identity(identity_file)
        else:
            raise VaultError("send the witness identity: this server holds none")
        opened = case.reveal(ref, identity, actor=who.account.username)
    except VaultError as exc:
        raise HTTPException(400, str(exc)) from exc
    return {"opened": [{"log_index": r.log_index, "fields": values} for r, values in opened]}


@router.get("/log")
def get_log(
    request: Request,
    who: Annotated[Caller, Depends(need(Permission.VIEW_EVIDENCE))],
    start: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    case = _case(request)
    with case.engine.connect() as conn:
        size = case.log.size(conn)
        entries = [
            custody.decode_entry(e) for _, e in case.log.entries(conn, min(start, size), min(size, start + limit))
        ]
    return {"size": size, "entries": entries, "checkpoint": checkpoint_status(case)}


# -- public: what a witness's browser calls ---------------------------------------------


@router.post("/uploads", status_code=201)
async def create_upload(
    request: Request, body: UploadCreate, who: Annotated[Caller, Depends(need(Permission.PUBLIC))]
) -> UploadStatus:
    await _csrf(request, who)
    try:
        s = uploads.create(
            _case(request),
            body.size,
            webform.clean_filename(body.filename),
            request.app.state.settings.max_upload_bytes,
        )
    except IntakeError as exc:
        raise HTTPException(413, str(exc)) from exc
    return UploadStatus(id=s.id, size=s.size, offset=s.offset, complete=False)


@router.get("/uploads/{upload_id}")
def upload_status(
    request: Request, upload_id: str, who: Annotated[Caller, Depends(need(Permission.PUBLIC))]
) -> UploadStatus:
    try:
        s = uploads.state(_case(request), upload_id)
    except uploads.UploadNotFound as exc:
        raise HTTPException(404, str(exc)) from exc
    return UploadStatus(id=s.id, size=s.size, offset=s.offset, complete=s.sha256 is not None)


@router.patch(
    "/uploads/{upload_id}",
    responses={409: {"description": "the chunk does not start where the upload stands; resume from `offset`"}},
)
async def upload_chunk(
    request: Request,
    upload_id: str,
    who: Annotated[Caller, Depends(need(Permission.PUBLIC))],
    upload_offset: Annotated[int, Header(ge=0)],
) -> UploadStatus:
    await _csrf(request, who)
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > uploads.MAX_CHUNK:
            raise HTTPException(413, f"chunks are at most {uploads.MAX_CHUNK} bytes")
    try:
        s = uploads.append(_case(request), upload_id, upload_offset, bytes(data))
    except uploads.OffsetMismatch as exc:
        return JSONResponse({"detail": str(exc), "offset": exc.offset}, 409)  # type: ignore[return-value]
    except uploads.UploadNotFound as exc:
        raise HTTPException(404, str(exc)) from exc
    except IntakeError as exc:
        raise HTTPException(400, str(exc)) from exc
    return UploadStatus(id=s.id, size=s.size, offset=s.offset, complete=False)


@router.post("/uploads/{upload_id}/complete")
async def complete_upload(
    request: Request, upload_id: str, body: UploadComplete, who: Annotated[Caller, Depends(need(Permission.PUBLIC))]
) -> UploadStatus:
    await _csrf(request, who)
    case = _case(request)
    try:
        done = uploads.complete(case, upload_id, body.sha256)
    except uploads.UploadNotFound as exc:
        raise HTTPException(404, str(exc)) from exc
    except uploads.OffsetMismatch as exc:
        return JSONResponse({"detail": "upload is not finished", "offset": exc.offset}, 409)  # type: ignore[return-value]
    except IntakeError as exc:
        raise HTTPException(422, str(exc)) from exc
    return UploadStatus(id=upload_id, size=done.size, offset=done.offset, complete=True)


@router.post("/submissions", status_code=201)
async def submit(
    request: Request,
    body: SubmissionIn,
    tasks: BackgroundTasks,
    who: Annotated[Caller, Depends(need(Permission.PUBLIC))],
) -> SubmissionOut:
    await _csrf(request, who)
    case = _case(request)
    try:
        files = uploads.take_completed(case, body.uploads)
        recorded = webform.submit(
            case,
            webform.Submission(
                testimony=body.testimony,
                language=body.language,
                campaign=body.campaign,
                contact=webform.contact_fields(body.name, body.phone, body.contact),
                files=files,
            ),
        )
        uploads.forget(case, body.uploads)
    except IntakeError as exc:
        raise HTTPException(400, str(exc)) from exc
    pipeline.index_items(case, digests=[r.sha256 for r in recorded])
    mediascan.schedule(tasks, case, recorded)  # analysed, and texts read for claims, after the response
    return _receipts(recorded)


@router.get("/receipts")
def check_receipt(
    request: Request,
    who: Annotated[Caller, Depends(need(Permission.PUBLIC))],
    entry: Annotated[int, Query(ge=0)],
    digest: Annotated[str, Query(min_length=64, max_length=64)],
) -> dict[str, Any]:
    result = receipt_check(_case(request), entry, digest)
    return result or {"found": False}


def _receipts(recorded: list[Recorded]) -> SubmissionOut:
    return SubmissionOut(
        receipts=[Receipt(sha256=r.sha256, log_index=r.log_index, new_item=r.new_item) for r in recorded]
    )
