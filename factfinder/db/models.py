"""The case database: SQLAlchemy 2 models.

SQLite is the embedded default (one file other tools can open); PostgreSQL is
for teams. Every table that records evidence points at the custody-log entry
that made it, so ``verify`` can compare each row with what the log says; a row
edited behind the vault's back then shows up as a mismatch.

The custody log itself is stored as C2SP tlog-tiles: entries in bundles of
256 (``log_entry_bundles``) and hashes in tiles of 256 (``log_tiles``). That
keeps a million-entry log to a few thousand rows and any proof to a handful of
reads.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Float, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class Item(Base):
    """One evidentiary original, identified by the SHA-256 of its bytes."""

    __tablename__ = "items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    size: Mapped[int] = mapped_column(BigInteger, nullable=False)
    media_type: Mapped[str] = mapped_column(String(255), nullable=False)
    first_log_index: Mapped[int] = mapped_column(BigInteger, nullable=False)
    received_at_vault_clock: Mapped[str] = mapped_column(String(40), nullable=False)

    receipts: Mapped[list[Receipt]] = relationship(back_populates="item", order_by="Receipt.log_index")


class Receipt(Base):
    """One arrival of an item: who brought it, through which channel, when.

    The same bytes arriving twice give one item and two receipts. The
    ``details_salt`` makes the custody entry's commitment to these details
    unguessable, so a proof handed to an outsider reveals no source or note.
    """

    __tablename__ = "receipts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), nullable=False, index=True)
    log_index: Mapped[int] = mapped_column(BigInteger, unique=True, nullable=False)
    action: Mapped[str] = mapped_column(String(40), nullable=False)
    actor: Mapped[str] = mapped_column(String(255), nullable=False)
    channel: Mapped[str] = mapped_column(String(64), nullable=False)
    source: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    original_name: Mapped[str | None] = mapped_column(Text)
    collected_at_claimed: Mapped[str | None] = mapped_column(String(64))
    collected_by_claimed: Mapped[str | None] = mapped_column(Text)
    received_at_vault_clock: Mapped[str] = mapped_column(String(40), nullable=False)
    details_salt: Mapped[bytes] = mapped_column(LargeBinary(16), nullable=False)

    item: Mapped[Item] = relationship(back_populates="receipts")
    protected_fields: Mapped[list[ProtectedField]] = relationship(
        back_populates="receipt", order_by="ProtectedField.field"
    )


class ProtectedField(Base):
    """A witness identity field, sealed with age to the case's recipients.

    Only ciphertext is ever stored; ``show --reveal`` opens it with an identity
    file and logs the opening.
    """

    __tablename__ = "protected_fields"
    __table_args__ = (UniqueConstraint("receipt_id", "field"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    receipt_id: Mapped[int] = mapped_column(ForeignKey("receipts.id"), nullable=False, index=True)
    field: Mapped[str] = mapped_column(String(64), nullable=False)
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)

    receipt: Mapped[Receipt] = relationship(back_populates="protected_fields")


class Opening(Base):
    """A record that someone opened protected fields: the custody of secrets."""

    __tablename__ = "openings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    receipt_id: Mapped[int] = mapped_column(ForeignKey("receipts.id"), nullable=False, index=True)
    log_index: Mapped[int] = mapped_column(BigInteger, unique=True, nullable=False)
    actor: Mapped[str] = mapped_column(String(255), nullable=False)
    fields: Mapped[str] = mapped_column(Text, nullable=False)
    opened_with: Mapped[str] = mapped_column(Text, nullable=False)
    opened_at_vault_clock: Mapped[str] = mapped_column(String(40), nullable=False)


class LogHead(Base):
    """The committed size of the custody log (one row; also the append lock on PostgreSQL)."""

    __tablename__ = "log_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger, nullable=False)


class LogEntryBundle(Base):
    """Up to 256 consecutive custody entries, each prefixed by its 2-byte length (tlog-tiles)."""

    __tablename__ = "log_entry_bundles"

    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    data: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)


class LogTile(Base):
    """Up to 256 consecutive hashes of tree level ``8 * level`` (tlog-tiles, height 8)."""

    __tablename__ = "log_tiles"

    level: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    data: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)


class CheckpointRecord(Base):
    """Every signed checkpoint the log has issued, kept so that audits can check them all."""

    __tablename__ = "checkpoints"

    size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    note: Mapped[str] = mapped_column(Text, nullable=False)
    signed_at_vault_clock: Mapped[str] = mapped_column(String(40), nullable=False)


# -- the team: accounts, sessions, tokens (not evidence, so not in the custody log) ----------


class User(Base):
    """An account on the case's web app; the role decides what it may see and do."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    password_hash: Mapped[str] = mapped_column(Text, nullable=False)
    role: Mapped[str] = mapped_column(String(20), nullable=False)
    created_at_vault_clock: Mapped[str] = mapped_column(String(40), nullable=False)
    disabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)


class WebSession(Base):
    """A signed-in browser. Only the SHA-256 of the cookie's secret is stored."""

    __tablename__ = "web_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    csrf_secret: Mapped[str] = mapped_column(String(64), nullable=False)
    expires_at: Mapped[float] = mapped_column(Float, nullable=False)


class ApiToken(Base):
    """A bearer token for scripts. Only its SHA-256 is stored; it is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    label: Mapped[str] = mapped_column(String(255), nullable=False)
    created_at_vault_clock: Mapped[str] = mapped_column(String(40), nullable=False)
    revoked: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)


class Upload(Base):
    """A resumable upload in progress: bytes so far live in ``tmp/uploads/<id>``."""

    __tablename__ = "uploads"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    total_size: Mapped[int] = mapped_column(BigInteger, nullable=False)
    received: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    filename: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[float] = mapped_column(Float, nullable=False)
    sha256: Mapped[str | None] = mapped_column(String(64))  # set once complete and in the blob store


class ItemText(Base):
    """Searchable text of an item (testimony text, receipts' notes and sources).

    Derived, not evidence: it can be rebuilt from the blobs and receipts. On
    SQLite an FTS5 index mirrors it; on PostgreSQL a GIN index over its tsvector.
    """

    __tablename__ = "item_texts"

    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), primary_key=True, autoincrement=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)


class Publication(Base):
    """An item marked publishable: what observers may see. Logged as a custody entry."""

    __tablename__ = "publications"

    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), primary_key=True, autoincrement=False)
    log_index: Mapped[int] = mapped_column(BigInteger, unique=True, nullable=False)
    actor: Mapped[str] = mapped_column(String(255), nullable=False)
    at_vault_clock: Mapped[str] = mapped_column(String(40), nullable=False)


class MediaAnalysis(Base):
    """What the media step found out about one item: metadata claimed by the file, status, errors.

    Derived, not evidence: ``factfinder media scan --again`` rebuilds it from
    the originals. ``step_version`` says which analysis made the row, so a newer
    version knows what to redo. The lifted columns are claims of the file
    (see ``factfinder.media.metadata``); ``raw_metadata`` keeps all of it as JSON.
    """

    __tablename__ = "media_analyses"

    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), primary_key=True, autoincrement=False)
    step_version: Mapped[str] = mapped_column(String(40), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    error: Mapped[str | None] = mapped_column(Text)
    analysed_at_vault_clock: Mapped[str] = mapped_column(String(40), nullable=False)
    raw_metadata: Mapped[str] = mapped_column(Text, nullable=False)
    captured_at_claimed: Mapped[str | None] = mapped_column(String(64))
    camera_make: Mapped[str | None] = mapped_column(String(255))
    camera_model: Mapped[str | None] = mapped_column(String(255))
    software: Mapped[str | None] = mapped_column(String(255))
    gps_lat: Mapped[float | None] = mapped_column(Float)
    gps_lon: Mapped[float | None] = mapped_column(Float)
    gps_alt: Mapped[float | None] = mapped_column(Float)
    orientation: Mapped[int | None] = mapped_column(Integer)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    duration: Mapped[float | None] = mapped_column(Float)
    video_codec: Mapped[str | None] = mapped_column(String(64))
    audio_codec: Mapped[str | None] = mapped_column(String(64))
    encoder: Mapped[str | None] = mapped_column(String(255))
    rotation: Mapped[int | None] = mapped_column(Integer)
    c2pa_state: Mapped[str | None] = mapped_column(String(32))
    c2pa: Mapped[str | None] = mapped_column(Text)
    pdq_quality: Mapped[int | None] = mapped_column(Integer)
    content_box: Mapped[str | None] = mapped_column(String(64))


class MediaHash(Base):
    """One PDQ hash of an item: the picture, a centre crop, or a sampled video frame.

    ``id`` is the key the near-duplicate index (``media/pdq.index`` in the
    case folder) returns; the index is a cache of this table.
    """

    __tablename__ = "media_hashes"
    # Ids are never handed out twice (SQLite AUTOINCREMENT; PostgreSQL sequences never reuse),
    # so an index file saved before rows were deleted can only point at nothing, never at a stranger.
    __table_args__ = {"sqlite_autoincrement": True}  # noqa: RUF012

    # 64-bit on PostgreSQL: every ``media scan --again`` hands out new ids, and they are never reused.
    # On SQLite an INTEGER PRIMARY KEY is the 64-bit rowid already (and only that name gets AUTOINCREMENT).
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), nullable=False, index=True)
    variant: Mapped[str] = mapped_column(String(16), nullable=False)
    t: Mapped[float | None] = mapped_column(Float)
    quality: Mapped[int] = mapped_column(Integer, nullable=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32), nullable=False)


class MediaMatch(Base):
    """Two items found to show the same picture or footage, and how (derived, rebuilt by a scan)."""

    __tablename__ = "media_matches"
    __table_args__ = (UniqueConstraint("item_a", "item_b"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_a: Mapped[int] = mapped_column(ForeignKey("items.id"), nullable=False, index=True)
    item_b: Mapped[int] = mapped_column(ForeignKey("items.id"), nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    distance: Mapped[float] = mapped_column(Float, nullable=False)
    strong: Mapped[bool] = mapped_column(Boolean, nullable=False)
    detail: Mapped[str] = mapped_column(Text, nullable=False)


class MediaCluster(Base):
    """Which cluster of near-duplicates an item belongs to (the cluster's id is its smallest item id)."""

    __tablename__ = "media_clusters"

    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), primary_key=True, autoincrement=False)
    cluster_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)


class Derivative(Base):
    """A working copy made from an original (thumbnail, web preview, redacted copy).

    The copy's bytes are in the blob store like an original's, and a custody
    entry (``item.derived``) records which original it came from, by which step
    and which version of it; ``verify`` checks both. The original is never touched.
    """

    __tablename__ = "derivatives"
    __table_args__ = (UniqueConstraint("item_id", "step", "step_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), nullable=False, index=True)
    step: Mapped[str] = mapped_column(String(40), nullable=False)
    step_version: Mapped[str] = mapped_column(String(40), nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    size: Mapped[int] = mapped_column(BigInteger, nullable=False)
    media_type: Mapped[str] = mapped_column(String(255), nullable=False)
    log_index: Mapped[int] = mapped_column(BigInteger, unique=True, nullable=False)
    actor: Mapped[str] = mapped_column(String(255), nullable=False)
    at_vault_clock: Mapped[str] = mapped_column(String(40), nullable=False)


class TextReading(Base):
    """That an item's text has been read by a version of the text extractor (done once per version).

    Derived data: deleting it only makes the text stage read the item again."""

    __tablename__ = "text_readings"

    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), primary_key=True, autoincrement=False)
    version: Mapped[str] = mapped_column(String(16), nullable=False)
    lang: Mapped[str] = mapped_column(String(8), nullable=False)
    published: Mapped[str] = mapped_column(String(10), nullable=False)  # the date relative dates were read against
    status: Mapped[str] = mapped_column(String(16), nullable=False)  # read | empty | error
    error: Mapped[str | None] = mapped_column(Text)
    read_at_vault_clock: Mapped[str] = mapped_column(String(40), nullable=False)


class TextClaim(Base):
    """A claim read from an item's text, by the extractor or by an analyst correcting it.

    ``body`` is the claim's canonical JSON and ``digest`` its SHA-256; a review's
    custody entry names that digest, so a reviewed claim edited afterwards no
    longer verifies. Extractor claims are never edited: a correction is a new
    claim with ``author`` set and ``corrects_id`` pointing at the original."""

    __tablename__ = "text_claims"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False, index=True)
    start: Mapped[int] = mapped_column(Integer, nullable=False)
    end: Mapped[int] = mapped_column(Integer, nullable=False)
    quote: Mapped[str] = mapped_column(Text, nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    digest: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    extractor: Mapped[str] = mapped_column(String(64), nullable=False)
    version: Mapped[str] = mapped_column(String(16), nullable=False)
    author: Mapped[str | None] = mapped_column(String(255))
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("text_claims.id"))
    created_at_vault_clock: Mapped[str] = mapped_column(String(40), nullable=False)


class ClaimReview(Base):
    """An analyst's decision on a claim (confirmed, corrected or rejected), logged as ``claim.reviewed``."""

    __tablename__ = "claim_reviews"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("text_claims.id"), nullable=False, index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), nullable=False, index=True)
    decision: Mapped[str] = mapped_column(String(16), nullable=False)
    correction_id: Mapped[int | None] = mapped_column(ForeignKey("text_claims.id"))
    reason: Mapped[str | None] = mapped_column(Text)
    log_index: Mapped[int] = mapped_column(BigInteger, unique=True, nullable=False)
    actor: Mapped[str] = mapped_column(String(255), nullable=False)
    at_vault_clock: Mapped[str] = mapped_column(String(40), nullable=False)


class IncidentDecision(Base):
    """An analyst's decision on incidents (merge, split, attach, detach), logged as ``incident.decided``.

    Incidents themselves are derived (``factfinder.findings``): grouping runs
    again whenever the claims change, and these decisions are replayed on top
    of it in order. ``body`` is canonical JSON naming claims and items by
    digest, so a decision keeps its meaning when the claims are read again;
    its custody entry names the SHA-256 of the body and of the reason."""

    __tablename__ = "incident_decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    action: Mapped[str] = mapped_column(String(16), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    reason: Mapped[str | None] = mapped_column(Text)
    log_index: Mapped[int] = mapped_column(BigInteger, unique=True, nullable=False)
    actor: Mapped[str] = mapped_column(String(255), nullable=False)
    at_vault_clock: Mapped[str] = mapped_column(String(40), nullable=False)


class PersonList(Base):
    """A named victim list (a family association's list, a morgue register...): where person records come from.

    Created with the first batch of records that names it, in that batch's
    custody entry; never renamed, so the overlap between lists stays what
    the lists said."""

    __tablename__ = "person_lists"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True, nullable=False)
    source: Mapped[str | None] = mapped_column(Text)
    source_type: Mapped[str] = mapped_column(String(32), nullable=False)


class PersonBatch(Base):
    """Records added together (one imported file, one entry in the web app, one accepted proposal).

    Its ``persons.recorded`` custody entry names the SHA-256 of the list of
    its records' digests, so ``verify`` notices a record edited, added or
    removed behind the vault's back."""

    __tablename__ = "person_batches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("person_lists.id"), nullable=False, index=True)
    origin: Mapped[str] = mapped_column(String(16), nullable=False)  # import, entry, claim
    item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id"), index=True)
    # SHA-256 of the imported file as read: the item's own digest, or, where the file was sealed whole
    # because it holds relatives' contacts, the digest of the plain file the item encrypts.
    file_sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    mapping: Mapped[str | None] = mapped_column(Text)
    records_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    count: Mapped[int] = mapped_column(Integer, nullable=False)
    reason: Mapped[str | None] = mapped_column(Text)
    log_index: Mapped[int] = mapped_column(BigInteger, unique=True, nullable=False)
    actor: Mapped[str] = mapped_column(String(255), nullable=False)
    at_vault_clock: Mapped[str] = mapped_column(String(40), nullable=False)


class PersonRecordRow(Base):
    """One list entry, exactly as the list gave it (``body`` is the record's canonical JSON).

    Never edited: a correction is a new record whose ``supersedes`` names the
    digest of the one it corrects."""

    __tablename__ = "person_records"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("person_batches.id"), nullable=False, index=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("person_lists.id"), nullable=False, index=True)
    position: Mapped[int] = mapped_column(Integer, nullable=False)  # row of the file, from 1
    sha256: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    supersedes: Mapped[str | None] = mapped_column(String(64))
    claim_id: Mapped[int | None] = mapped_column(ForeignKey("text_claims.id"))


class PersonProtected(Base):
    """A sealed field of a person record (a relative's contact): age ciphertext only, like a witness's identity."""

    __tablename__ = "person_protected"
    __table_args__ = (UniqueConstraint("record_id", "field"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("person_records.id"), nullable=False, index=True)
    field: Mapped[str] = mapped_column(String(64), nullable=False)
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)


class PersonLinkReview(Base):
    """A reviewer's decision that two records are, or are not, the same person (``persons.reviewed``).

    Records are named by digest, so the decision keeps its meaning whatever
    the linkage model says next time; the latest decision on a pair holds."""

    __tablename__ = "person_link_reviews"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_a: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    record_b: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    decision: Mapped[str] = mapped_column(String(16), nullable=False)  # same, different
    reason: Mapped[str | None] = mapped_column(Text)
    log_index: Mapped[int] = mapped_column(BigInteger, unique=True, nullable=False)
    actor: Mapped[str] = mapped_column(String(255), nullable=False)
    at_vault_clock: Mapped[str] = mapped_column(String(40), nullable=False)


class PersonLinkRun(Base):
    """One run of record linkage: derived, not evidence; says which records, which model, which settings.

    Kept so the register and the review queue do not re-run linkage on every
    page view; a run whose ``records_sha256`` no longer matches the case's
    records is stale and is run again."""

    __tablename__ = "person_link_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    records_sha256: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    settings: Mapped[str] = mapped_column(Text, nullable=False)
    parameters: Mapped[str] = mapped_column(Text, nullable=False)
    step_version: Mapped[str] = mapped_column(String(64), nullable=False)
    at_vault_clock: Mapped[str] = mapped_column(String(40), nullable=False)


class PersonPair(Base):
    """A scored pair of records from one linkage run (only pairs above the run's ``keep`` probability)."""

    __tablename__ = "person_pairs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("person_link_runs.id"), nullable=False, index=True)
    record_a: Mapped[int] = mapped_column(ForeignKey("person_records.id"), nullable=False)
    record_b: Mapped[int] = mapped_column(ForeignKey("person_records.id"), nullable=False)
    probability: Mapped[float] = mapped_column(Float, nullable=False)
    match_weight: Mapped[float] = mapped_column(Float, nullable=False)
    reasons: Mapped[str] = mapped_column(Text, nullable=False)


# -- field intake (issue 8): OpenRosa, SMS, carried bundles and sync ---------------------------


class OdkForm(Base):
    """An XForm the case serves to ODK Collect and its kin; the form's XML is itself an item of the case.

    A submission is only as readable as the form it answered, so the exact
    form definition is kept as evidence (its digest here, its bytes in the
    vault); a new version is a new row, never an edit."""

    __tablename__ = "odk_forms"
    __table_args__ = (UniqueConstraint("form_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    form_id: Mapped[str] = mapped_column(String(255), nullable=False, index=True)
    version: Mapped[str] = mapped_column(String(255), nullable=False)
    title: Mapped[str] = mapped_column(Text, nullable=False)
    item_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    encrypted: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    public_key: Mapped[str | None] = mapped_column(Text)  # base64 RSA public key the form carries
    # open; closing (not listed, still takes what devices queued); closed (refuses submissions)
    state: Mapped[str] = mapped_column(String(16), nullable=False, default="open")
    campaign: Mapped[str | None] = mapped_column(String(255))  # None: only app users without a campaign see it
    actor: Mapped[str] = mapped_column(String(255), nullable=False)
    at_vault_clock: Mapped[str] = mapped_column(String(40), nullable=False)


class OdkAppUser(Base):
    """A field device's credential for one campaign: a random token in the URL (stored as a digest).

    ``digest_ha1`` is MD5(name:realm:token), kept only so the same device can
    use HTTP Digest instead of a token URL, as OpenRosa 1.0 specifies."""

    __tablename__ = "odk_app_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True, nullable=False)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    digest_ha1: Mapped[str | None] = mapped_column(String(32))
    campaign: Mapped[str | None] = mapped_column(String(255))
    form_ids: Mapped[str | None] = mapped_column(Text)  # JSON list; None: every open form
    revoked: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_at_vault_clock: Mapped[str] = mapped_column(String(40), nullable=False)


class OdkSubmission(Base):
    """One OpenRosa submission (by its ``instanceID``): its XML is an item, its attachments are items.

    ``complete`` turns true when every attachment the XML names has arrived
    (a split submission comes in several POSTs); ``deprecated_id`` names the
    submission an edit replaces, which stays in the case."""

    __tablename__ = "odk_submissions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[str] = mapped_column(String(255), unique=True, nullable=False)
    form_id: Mapped[str] = mapped_column(String(255), nullable=False, index=True)
    form_version: Mapped[str | None] = mapped_column(String(255))
    xml_sha256: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    # unique: a submission is replaced by at most one edit (an edit of an edit names the edit)
    deprecated_id: Mapped[str | None] = mapped_column(String(255), index=True, unique=True)
    encrypted: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    complete: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    submitter: Mapped[str] = mapped_column(String(255), nullable=False)
    log_index: Mapped[int] = mapped_column(BigInteger, nullable=False)
    at_vault_clock: Mapped[str] = mapped_column(String(40), nullable=False)


class OdkAttachment(Base):
    """A file a submission names; ``sha256`` stays empty until the file arrives."""

    __tablename__ = "odk_attachments"
    __table_args__ = (UniqueConstraint("submission_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("odk_submissions.id"), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    sha256: Mapped[str | None] = mapped_column(String(64))
    log_index: Mapped[int | None] = mapped_column(BigInteger)


class SmsMessage(Base):
    """An SMS as an SMS gateway delivered it: the provider's message id, so a retried webhook adds nothing."""

    __tablename__ = "sms_messages"
    __table_args__ = (UniqueConstraint("provider", "message_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    provider: Mapped[str] = mapped_column(String(32), nullable=False)
    message_id: Mapped[str] = mapped_column(String(255), nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    log_index: Mapped[int] = mapped_column(BigInteger, nullable=False)
    at_vault_clock: Mapped[str] = mapped_column(String(40), nullable=False)


class SmsAnchor(Base):
    """A digest announced by SMS ("hash first, media later"): evidence kept on a phone, anchored in time.

    When an item with that digest arrives, by any channel, it can show that
    its bytes existed no later than the message's custody entry."""

    __tablename__ = "sms_anchors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    claimed_sha256: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    message_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    log_index: Mapped[int] = mapped_column(BigInteger, nullable=False)
    at_vault_clock: Mapped[str] = mapped_column(String(40), nullable=False)


class Origin(Base):
    """Another archive's custody log (a field laptop, an intake server) as this archive holds it.

    Each origin is mirrored as an append-only copy of its entries, up to the
    last signed checkpoint that verified with the key first seen for it; a
    later checkpoint that is not consistent with it is a fork, recorded and
    never merged."""

    __tablename__ = "origins"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True, nullable=False)
    verifier: Mapped[str] = mapped_column(Text, nullable=False)  # the origin's note verifier key
    size: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    checkpoint: Mapped[str | None] = mapped_column(Text)  # the latest signed note held
    forked: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    # RFC 9162 compact range of the held entries: the roots of the perfect subtrees covering [0, size), largest
    # first, 32 bytes each (one per set bit of size). A new suffix is checked and appended from it alone,
    # without reading the held entries again; verify rebuilds it from the entries and compares.
    frontier: Mapped[bytes] = mapped_column(LargeBinary, nullable=False, default=b"")
    first_seen_vault_clock: Mapped[str] = mapped_column(String(40), nullable=False)
    updated_at_vault_clock: Mapped[str] = mapped_column(String(40), nullable=False)


class OriginEntry(Base):
    """One custody entry of another origin's log, exactly as that log holds it."""

    __tablename__ = "origin_entries"

    origin_id: Mapped[int] = mapped_column(ForeignKey("origins.id"), primary_key=True)
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    entry: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    # For a receipt: the details its entry commits to (salt, source, note, sealed fields' ciphertexts),
    # as canonical JSON, so the receiving archive can check the commitment and keep the sealed fields.
    details: Mapped[bytes | None] = mapped_column(LargeBinary)
    # For a receipt: the digest of the item it names (what its entry says), so that "does the archive that
    # holds this origin up to N hold this item?" is one indexed query, not a read of the log.
    item_sha256: Mapped[str | None] = mapped_column(String(64), index=True)


class OriginFork(Base):
    """Two signed checkpoints of one origin that cannot both be true: kept as the proof of the fork."""

    __tablename__ = "origin_forks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    origin_id: Mapped[int] = mapped_column(ForeignKey("origins.id"), nullable=False, index=True)
    held_checkpoint: Mapped[str] = mapped_column(Text, nullable=False)
    offered_checkpoint: Mapped[str] = mapped_column(Text, nullable=False)
    via: Mapped[str] = mapped_column(String(255), nullable=False)
    at_vault_clock: Mapped[str] = mapped_column(String(40), nullable=False)


class Transfer(Base):
    """One hop: a bundle carried in, or a sync with another archive; its custody entry says who and when."""

    __tablename__ = "transfers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)  # bundle, sync
    bundle_sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    origin_id: Mapped[int] = mapped_column(ForeignKey("origins.id"), nullable=False, index=True)
    from_size: Mapped[int] = mapped_column(BigInteger, nullable=False)
    to_size: Mapped[int] = mapped_column(BigInteger, nullable=False)
    carrier_claimed: Mapped[str | None] = mapped_column(Text)
    left_at_claimed: Mapped[str | None] = mapped_column(String(40))
    peer: Mapped[str | None] = mapped_column(Text)
    log_index: Mapped[int] = mapped_column(BigInteger, unique=True, nullable=False)
    at_vault_clock: Mapped[str] = mapped_column(String(40), nullable=False)
