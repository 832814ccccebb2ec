"""A case: the vault's Python API, which the CLI and the web app call.

Everything that changes what the case holds goes through :meth:`Case.record`
or :meth:`Case.reveal`, which write the rows and their custody entries in one
database transaction and sign a new checkpoint before committing.
"""

from __future__ import annotations

import dataclasses
import secrets
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pyrage import x25519
from sqlalchemy import Connection, Engine, insert, inspect, select, text
from sqlalchemy.exc import ArgumentError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, selectinload

from factfinder import config
from factfinder.db import engine as dbengine
from factfinder.db.models import Derivative, Item, LogHead, Opening, ProtectedField, Publication, Receipt
from factfinder.vault import custody, keys, sealing, sniff
from factfinder.vault.blobs import BlobStore, StoredBlob
from factfinder.vault.checkpoint import Checkpoint, Signer, Verifier
from factfinder.vault.errors import (
    AmbiguousItemError,
    CaseExistsError,
    DatabaseError,
    IntakeError,
    ItemNotFoundError,
    NotACaseError,
    VaultError,
)
from factfinder.vault.log import CustodyLog
from factfinder.vault.proof import encode_proof


def _split_url(url: str) -> tuple[str, str | None]:
    try:
        return dbengine.split_password(url)
    except ArgumentError:
        raise DatabaseError("the database URL is not one SQLAlchemy can read") from None


def _open_engine(url: str) -> Engine:
    """An engine for an external database that answers; :class:`DatabaseError` (password masked) if not."""
    shown = dbengine.masked_url(url)
    _, password = _split_url(url)

    def reason(exc: BaseException) -> str:
        lines = str(exc).strip().splitlines()
        first = lines[0] if lines else exc.__class__.__name__
        return first.replace(password, "***") if password else first

    try:
        engine = dbengine.make_engine(url)
    except ValueError as exc:  # our own message, already masked
        raise DatabaseError(f"cannot use the database: {reason(exc)}") from None
    except ArgumentError as exc:  # no driver for that kind of database
        raise DatabaseError(f"cannot use the database {shown}: {reason(exc)}") from None
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except (OperationalError, InterfaceError) as exc:
        engine.dispose()
        raise DatabaseError(f"cannot reach the database {shown}: {reason(exc.orig or exc)}") from None
    return engine


def _holds_tables(engine: Engine) -> bool:
    return bool(inspect(engine).get_table_names())


CHANNELS = ("files", "web", "openrosa", "sms", "bundle", "sync", "usb", "email", "other")


def validate_claimed_time(value: str | None) -> str | None:
    """Keep a claimed time as given, but only if it is ISO 8601 (a date or a date-time)."""
    if value is None or value == "":
        return None
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise VaultError(f"claimed time {value!r} is not an ISO 8601 date or date-time") from exc
    return value


@dataclass
class NewReceipt:
    """What an intake channel knows about one arrival, before it is recorded."""

    blob: StoredBlob
    channel: str = "files"
    source: str | None = None
    note: str | None = None
    original_name: str | None = None
    collected_at_claimed: str | None = None
    collected_by_claimed: str | None = None
    protected: dict[str, str] = field(default_factory=dict)
    media_type: str | None = None  # sniffed already (in an intake worker thread); else sniffed at record


@dataclass(frozen=True)
class Recorded:
    """The outcome of recording one receipt."""

    sha256: str
    log_index: int
    new_item: bool
    media_type: str


@dataclass(frozen=True)
class NewDerivative:
    """A working copy to record: which original, which bytes, made by which step and version."""

    item: Item
    blob: StoredBlob
    step: str
    step_version: str
    media_type: str


class Case:
    """An open case folder."""

    def __init__(self, path: Path, cfg: config.CaseConfig, engine: Engine, signer: Signer | None) -> None:
        self.path = path
        self.config = cfg
        self.engine = engine
        self.verifier = Verifier.parse(cfg.log_key)
        if signer is not None and signer.verifier != self.verifier:
            raise NotACaseError(f"{path}: the signing key does not belong to this case's log")
        self.log = CustodyLog(self.verifier, signer)
        self.blobs = BlobStore(path / config.BLOB_DIR, path / config.TMP_DIR)
        self.recipients = sealing.parse_recipients(cfg.recipients)

    # -- creating and opening ------------------------------------------------------------

    @classmethod
    def init(
        cls,
        path: Path,
        title: str,
        *,
        actor: str,
        identity_out: Path | None = None,
        extra_recipients: Sequence[str] = (),
        database_url: str | None = None,
    ) -> tuple[Case, Path]:
        """Create a case folder; return the case and where the witness identity was written."""
        if path.exists() and (not path.is_dir() or any(path.iterdir())):
            raise CaseExistsError(f"{path}: exists and is not an empty folder")
        public_url, db_password = None, None
        engine: Engine | None = None
        if database_url is not None:  # checked before anything is written: a bad URL leaves no half-made case
            public_url, db_password = _split_url(database_url)
            engine = _open_engine(database_url)
            if _holds_tables(engine):
                engine.dispose()
                raise CaseExistsError(
                    f"the database {dbengine.masked_url(database_url)} already holds tables: give an empty one"
                )
        path.mkdir(parents=True, exist_ok=True)
        case_id = str(uuid.uuid4())
        signer = Signer.generate(f"factfinder/{case_id}")
        identity = keys.generate_identity()
        recipients = [str(identity.to_public()), *extra_recipients]
        sealing.parse_recipients(recipients)
        identity_path = identity_out or path / config.KEYS_DIR / config.IDENTITY_FILE
        keys.write_secret(path / config.KEYS_DIR / config.SIGNING_KEY_FILE, signer.encode() + "\n")
        keys.write_secret(identity_path, keys.identity_file_text(identity))
        if db_password is not None:
            keys.write_secret(path / config.KEYS_DIR / config.DB_PASSWORD_FILE, db_password)
        cfg = config.CaseConfig(
            case_id=case_id,
            title=title,
            created_at=custody.vault_clock(),
            log_key=signer.verifier.encode(),
            recipients=recipients,
            database_url=public_url,
        )
        for sub in (config.BLOB_DIR, config.TMP_DIR):
            (path / sub).mkdir(exist_ok=True)
        if engine is None:
            engine = dbengine.make_engine(dbengine.sqlite_url(path / config.DB_FILE))
        dbengine.upgrade(engine)
        case = cls(path, cfg, engine, signer)
        with dbengine.write_transaction(engine) as conn:
            conn.execute(insert(LogHead).values(id=1, size=0))
            entry = custody.encode_entry(
                0,
                custody.CASE_CREATED,
                0,
                None,
                actor=actor,
                case_id=case_id,
                title=title,
                log_key=cfg.log_key,
                recipients=recipients,
                at_vault_clock=cfg.created_at,
            )
            case.log.append(conn, [entry])
            case.log.checkpoint(conn, cfg.created_at)
        cfg.save(path)  # written last: a folder without case.json is not a case
        return case, identity_path

    @classmethod
    def open(cls, path: Path) -> Case:
        cfg = config.CaseConfig.load(path)
        signer = keys.load_signer(path / config.KEYS_DIR / config.SIGNING_KEY_FILE)
        if cfg.database_url is None:
            if not (path / config.DB_FILE).is_file():
                raise NotACaseError(f"{path}: the case database {config.DB_FILE} is missing")
            engine = dbengine.make_engine(dbengine.sqlite_url(path / config.DB_FILE))
        else:
            password_file = path / config.KEYS_DIR / config.DB_PASSWORD_FILE
            password = password_file.read_text(encoding="utf-8") if password_file.is_file() else None
            engine = _open_engine(dbengine.with_password(cfg.database_url, password))
        state = dbengine.schema_state(engine)
        if state == "behind" and signer is not None:
            dbengine.upgrade(engine)  # an older factfinder's case: migrations only add
        elif state != "current":
            engine.dispose()
            raise NotACaseError(f"{path}: the case database was made by another factfinder version")
        return cls(path, cfg, engine, signer)

    @property
    def read_only(self) -> bool:
        return self.log.signer is None

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Case:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- intake --------------------------------------------------------------------------

    def record(
        self,
        receipts: Sequence[NewReceipt],
        *,
        actor: str,
        extra: Callable[[Connection, list[Recorded]], None] | None = None,
    ) -> list[Recorded]:
        """Record arrivals of stored blobs: items, receipts, sealed fields, custody entries.

        One transaction for the whole batch, ending with a signed checkpoint:
        either every receipt in it is in the case, or none is. ``extra`` lets an
        intake channel write its own rows (an OpenRosa submission, an SMS id) in
        that same transaction, after the entries are appended, so a process
        killed midway leaves neither the items nor the channel's rows.
        """
        if not receipts:
            return []
        self.log._require_signer()
        now = custody.vault_clock()
        sealed_by_receipt = [
            {name: sealing.seal(value, self.recipients) for name, value in sorted(r.protected.items()) if value}
            for r in receipts
        ]
        for r in receipts:
            unknown = {name for name in r.protected if not sealing.is_protected_field(name)}
            if unknown:
                raise VaultError(f"unknown protected field(s): {', '.join(sorted(unknown))}")
        # Bytes and names must be durable before the database says the blobs exist.
        settled = self.blobs.settle([r.blob for r in receipts])
        receipts = [dataclasses.replace(r, blob=b) for r, b in zip(receipts, settled, strict=True)]
        for r in receipts:
            if not self.blobs.exists(r.blob.sha256):
                raise IntakeError(f"blob {r.blob.sha256[:12]} is not in the store")
        out: list[Recorded] = []
        with dbengine.write_transaction(self.engine) as conn:
            head = self.log.head(conn, lock=True)
            digests = sorted({r.blob.sha256 for r in receipts})
            known = {
                sha: (item_id, mtype)
                for sha, item_id, mtype in conn.execute(
                    select(Item.sha256, Item.id, Item.media_type).where(Item.sha256.in_(digests))
                )
            }
            entries: list[bytes] = []
            receipt_rows: list[dict[str, Any]] = []
            new_items: list[dict[str, Any]] = []
            for offset, (r, sealed) in enumerate(zip(receipts, sealed_by_receipt, strict=True)):
                seq = head.size + offset
                new_item = r.blob.sha256 not in known
                if new_item:
                    mtype = r.media_type or sniff.media_type(r.blob.head)
                    known[r.blob.sha256] = (None, mtype)  # type: ignore[assignment]
                    new_items.append(
                        {
                            "sha256": r.blob.sha256,
                            "size": r.blob.size,
                            "media_type": mtype,
                            "first_log_index": seq,
                            "received_at_vault_clock": now,
                        }
                    )
                action = custody.ITEM_ADDED if new_item else custody.ITEM_RECEIVED
                salt = secrets.token_bytes(16)
                details = custody.receipt_details(
                    source=r.source,
                    note=r.note,
                    original_name=r.original_name,
                    collected_by_claimed=r.collected_by_claimed,
                    sealed=sealed,
                )
                entries.append(
                    custody.encode_entry(
                        seq,
                        action,
                        head.checkpoint_size,
                        head.checkpoint_root,
                        item_sha256=r.blob.sha256,
                        item_size=r.blob.size,
                        actor=actor,
                        channel=r.channel,
                        collected_at_claimed=r.collected_at_claimed,
                        received_at_vault_clock=now,
                        details_sha256=custody.details_commitment(salt, details),
                    )
                )
                receipt_rows.append(
                    {
                        "sha256": r.blob.sha256,
                        "log_index": seq,
                        "action": action,
                        "actor": actor,
                        "channel": r.channel,
                        "source": r.source,
                        "note": r.note,
                        "original_name": r.original_name,
                        "collected_at_claimed": r.collected_at_claimed,
                        "collected_by_claimed": r.collected_by_claimed,
                        "received_at_vault_clock": now,
                        "details_salt": salt,
                    }
                )
                out.append(Recorded(r.blob.sha256, seq, new_item, known[r.blob.sha256][1]))
            if new_items:
                conn.execute(insert(Item), new_items)
            ids = dict(conn.execute(select(Item.sha256, Item.id).where(Item.sha256.in_(digests))).all())
            for row in receipt_rows:
                row["item_id"] = ids[row.pop("sha256")]
            conn.execute(insert(Receipt), receipt_rows)
            sealed_rows = [
                (head.size + i, name, ct) for i, sealed in enumerate(sealed_by_receipt) for name, ct in sealed.items()
            ]
            if sealed_rows:
                rids = dict(
                    conn.execute(
                        select(Receipt.log_index, Receipt.id).where(
                            Receipt.log_index.in_(sorted({s for s, _, _ in sealed_rows}))
                        )
                    ).all()
                )
                conn.execute(
                    insert(ProtectedField),
                    [{"receipt_id": rids[s], "field": name, "ciphertext": ct} for s, name, ct in sealed_rows],
                )
            self.log.append(conn, entries)
            if extra is not None:
                extra(conn, out)
            self.log.checkpoint(conn, now)
        return out

    def record_derivatives(self, copies: Sequence[NewDerivative], *, actor: str) -> int:
        """Record working copies made from originals (their bytes already in the blob store).

        One custody entry (``item.derived``) per copy ties its digest to the
        original's, the step and its version, so anyone can check later that a
        thumbnail or a redacted copy came from this original and how; one
        checkpoint for the lot. A step and version already recorded for an item
        is skipped, so re-running a step changes nothing. Returns how many were new.
        """
        if not copies:
            return 0
        self.log._require_signer()
        now = custody.vault_clock()
        added = 0
        with dbengine.write_transaction(self.engine) as conn:
            head = self.log.head(conn, lock=True)
            item_ids = sorted({c.item.id for c in copies})
            done = {
                tuple(row)
                for row in conn.execute(
                    select(Derivative.item_id, Derivative.step, Derivative.step_version).where(
                        Derivative.item_id.in_(item_ids)
                    )
                )
            }
            entries: list[bytes] = []
            rows: list[dict[str, Any]] = []
            for c in copies:
                key = (c.item.id, c.step, c.step_version)
                if key in done:
                    continue
                done.add(key)
                seq = head.size + len(entries)
                entries.append(
                    custody.encode_entry(
                        seq,
                        custody.ITEM_DERIVED,
                        head.checkpoint_size,
                        head.checkpoint_root,
                        item_sha256=c.item.sha256,
                        derived_sha256=c.blob.sha256,
                        derived_size=c.blob.size,
                        media_type=c.media_type,
                        step=c.step,
                        step_version=c.step_version,
                        actor=actor,
                        at_vault_clock=now,
                    )
                )
                rows.append(
                    {
                        "item_id": c.item.id,
                        "step": c.step,
                        "step_version": c.step_version,
                        "sha256": c.blob.sha256,
                        "size": c.blob.size,
                        "media_type": c.media_type,
                        "log_index": seq,
                        "actor": actor,
                        "at_vault_clock": now,
                    }
                )
            if entries:
                conn.execute(insert(Derivative), rows)
                self.log.append(conn, entries)
                self.log.checkpoint(conn, now)
                added = len(entries)
        return added

    def derivative(self, item: Item, step: str, *, step_version: str | None = None) -> Derivative | None:
        """The newest working copy of ``item`` made by ``step`` (of ``step_version`` if given), if any."""
        with Session(self.engine) as s:
            q = select(Derivative).where(Derivative.item_id == item.id, Derivative.step == step)
            if step_version is not None:
                q = q.where(Derivative.step_version == step_version)
            row = s.scalars(q.order_by(Derivative.id.desc()).limit(1)).first()
            if row is not None:
                s.expunge(row)
            return row

    def add_bytes(self, data: bytes, *, actor: str, **details: Any) -> Recorded:
        """Store and record one item given in memory (for small items and tests)."""
        blob = self.blobs.put_bytes(data)
        return self.record([NewReceipt(blob=blob, **details)], actor=actor)[0]

    # -- reading -------------------------------------------------------------------------

    def resolve(self, ref: str) -> Item:
        """The item whose digest is ``ref`` or starts with it (at least 4 hex digits)."""
        prefix = ref.lower().removeprefix("sha256:")
        if len(prefix) < 4 or any(c not in "0123456789abcdef" for c in prefix):
            raise ItemNotFoundError(f"{ref!r}: give at least 4 hex digits of the item's SHA-256")
        with Session(self.engine) as s:
            found = s.scalars(select(Item).where(Item.sha256 >= prefix, Item.sha256 < prefix + "g").limit(2)).all()
            if not found:
                raise ItemNotFoundError(f"no item with a digest starting {prefix}")
            if len(found) > 1:
                raise AmbiguousItemError(f"{prefix} matches more than one item: give more digits")
            s.expunge(found[0])
            return found[0]

    def items(self, *, limit: int | None = None, offset: int = 0) -> list[tuple[Item, int]]:
        """Items in order of first arrival, each with its number of receipts."""
        from sqlalchemy import func

        with Session(self.engine) as s:
            q = (
                select(Item, func.count(Receipt.id))
                .join(Receipt, Receipt.item_id == Item.id)
                .group_by(Item.id)
                .order_by(Item.first_log_index)
                .offset(offset)
            )
            if limit is not None:
                q = q.limit(limit)
            rows = [(item, int(n)) for item, n in s.execute(q)]
            s.expunge_all()
            return rows

    def item_detail(self, ref: str) -> tuple[Item, list[Receipt], list[Opening], list[dict[str, Any]]]:
        """An item with its receipts, openings of its sealed fields and custody entries."""
        item = self.resolve(ref)
        with Session(self.engine) as s:
            receipts = list(
                s.scalars(
                    select(Receipt)
                    .where(Receipt.item_id == item.id)
                    .options(selectinload(Receipt.protected_fields))
                    .order_by(Receipt.log_index)
                )
            )
            openings = list(
                s.scalars(
                    select(Opening).where(Opening.receipt_id.in_([r.id for r in receipts])).order_by(Opening.log_index)
                )
            )
            s.expunge_all()
        indexes = sorted([r.log_index for r in receipts] + [o.log_index for o in openings])
        with self.engine.connect() as conn:
            entries = [custody.decode_entry(self.log.entry(conn, i)) for i in indexes]
        return item, receipts, openings, entries

    def counts(self) -> dict[str, int]:
        from sqlalchemy import func

        with self.engine.connect() as conn:
            return {
                "items": int(conn.execute(select(func.count(Item.id))).scalar_one()),
                "receipts": int(conn.execute(select(func.count(Receipt.id))).scalar_one()),
                "bytes": int(conn.execute(select(func.coalesce(func.sum(Item.size), 0))).scalar_one()),
                "log_size": self.log.size(conn),
            }

    def proof(self, ref: str) -> str:
        """An offline-verifiable proof file for the item's first arrival, at the latest checkpoint."""
        return self.entry_proof(self.resolve(ref).first_log_index)

    def entry_proof(self, index: int) -> str:
        """A proof file for custody entry ``index`` at the latest checkpoint."""
        with self.engine.connect() as conn:
            note = self.log.latest_checkpoint(conn)
            if note is None:
                raise VaultError("the case has no signed checkpoint yet")
            checkpoint = Checkpoint.open(note, self.verifier)
            if not 0 <= index < checkpoint.size:
                raise ItemNotFoundError(f"no custody entry {index} under the latest checkpoint")
            hashes = self.log.inclusion_proof(conn, index, checkpoint.size)
            entry = self.log.entry(conn, index)
        return encode_proof(index, hashes, note, entry, self.config.log_key)

    # -- protected fields ----------------------------------------------------------------

    def reveal(self, ref: str, identity: x25519.Identity, *, actor: str) -> list[tuple[Receipt, dict[str, str]]]:
        """Open an item's sealed witness fields; each opening becomes a custody entry first."""
        item, receipts, _, _ = self.item_detail(ref)
        opened: list[tuple[Receipt, dict[str, str]]] = []
        for r in receipts:
            if r.protected_fields:
                opened.append((r, {p.field: sealing.open_sealed(p.ciphertext, identity) for p in r.protected_fields}))
        if not opened:
            return []
        self.log._require_signer()
        now = custody.vault_clock()
        opened_with = str(identity.to_public())
        with dbengine.write_transaction(self.engine) as conn:
            head = self.log.head(conn, lock=True)
            entries, rows = [], []
            for i, (r, values) in enumerate(opened):
                seq = head.size + i
                names = sorted(values)
                entries.append(
                    custody.encode_entry(
                        seq,
                        custody.PROTECTED_OPENED,
                        head.checkpoint_size,
                        head.checkpoint_root,
                        item_sha256=item.sha256,
                        receipt_log_index=r.log_index,
                        fields=names,
                        actor=actor,
                        opened_with=opened_with,
                        at_vault_clock=now,
                    )
                )
                rows.append(
                    {
                        "receipt_id": r.id,
                        "log_index": seq,
                        "actor": actor,
                        "fields": ",".join(names),
                        "opened_with": opened_with,
                        "opened_at_vault_clock": now,
                    }
                )
            conn.execute(insert(Opening), rows)
            self.log.append(conn, entries)
            self.log.checkpoint(conn, now)
        return opened

    # -- publication ---------------------------------------------------------------------

    def publish(self, ref: str, *, actor: str) -> bool:
        """Mark an item publishable (observers may then see it); False if it already was."""
        item = self.resolve(ref)
        self.log._require_signer()
        now = custody.vault_clock()
        with dbengine.write_transaction(self.engine) as conn:
            if conn.execute(select(Publication.item_id).where(Publication.item_id == item.id)).first():
                return False
            head = self.log.head(conn, lock=True)
            entry = custody.encode_entry(
                head.size,
                custody.ITEM_PUBLISHED,
                head.checkpoint_size,
                head.checkpoint_root,
                item_sha256=item.sha256,
                actor=actor,
                at_vault_clock=now,
            )
            conn.execute(
                insert(Publication).values(item_id=item.id, log_index=head.size, actor=actor, at_vault_clock=now)
            )
            self.log.append(conn, [entry])
            self.log.checkpoint(conn, now)
        return True
