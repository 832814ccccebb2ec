"""Carried bundles between real case folders: round trip, relay, damage, replay, misdelivery, hostile names, forks."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import shutil
import subprocess
import sys
import tarfile
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

import pyrage
import pytest
from pyrage import x25519
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from factfinder.db import engine as dbengine
from factfinder.db.models import Origin, OriginEntry, OriginFork, Receipt, Transfer
from factfinder.intake import origins
from factfinder.intake.bundles import BundleError, export_bundle, import_bundle
from factfinder.vault import custody, keys, merkle, sealing
from factfinder.vault.audit import AuditReport, verify_case
from factfinder.vault.case import Case
from factfinder.vault.checkpoint import Checkpoint, Signer, Verifier
from tests.conftest import NewDatabase

PHONE = "+7 701 555 0100"
Make = Callable[[str], Case]


@pytest.fixture
def make_case(tmp_path: Path, new_database: NewDatabase) -> Iterator[Make]:
    opened: list[Case] = []

    def make(name: str) -> Case:
        case, _ = Case.init(tmp_path / name, f"Archive {name}", actor="tester", database_url=new_database())
        opened.append(case)
        return case

    yield make
    for c in opened:
        c.close()


def identity(case: Case) -> x25519.Identity:
    return keys.load_identity(case.path / "keys" / "witness-identity.age")


def fill(case: Case, tag: str, n: int = 3) -> None:
    for i in range(n):
        protected = {"witness_phone": PHONE} if i == 0 else {}
        case.add_bytes(
            f"{tag} video {i}".encode(),
            actor="field",
            channel="files",
            source=f"{tag} phone {i}",
            note=f"filmed near the square ({i})",
            original_name=f"VID_{i}.mp4",
            collected_at_claimed="2011-12-16T12:0{i}:00+06:00",
            collected_by_claimed="volunteer",
            protected=protected,
        )


def send(sender: Case, receiver: Case, path: Path, *, encrypt: bool = True) -> Path:
    """Export what ``receiver`` lacks, addressed to it, as it would be for a USB stick."""
    st = origins.parse_state(origins.state(receiver))
    export_bundle(sender, path, have=st.have, recipients=st.recipients if encrypt else None, for_archive=st.archive)
    return path


def take(receiver: Case, path: Path, **kw: object):  # type: ignore[no-untyped-def]
    args: dict[str, object] = {"identity": identity(receiver), "carrier": "driver A.", "left_at": "2011-12-18"}
    args.update(kw)
    return import_bundle(receiver, path, actor="intake", **args)  # type: ignore[arg-type]


def shape(case: Case) -> tuple[int, int, int]:
    c = case.counts()
    return c["items"], c["receipts"], c["log_size"]


def entries_of(case: Case) -> dict[int, dict[str, object]]:
    with case.engine.connect() as conn:
        return {i: custody.decode_entry(e) for i, e in case.log.entries(conn)}


def unchanged_after(case: Case, fn: Callable[[], object], match: str) -> None:
    before = shape(case)
    with pytest.raises(BundleError, match=match):
        fn()
    assert shape(case) == before
    assert verify_case(case).ok
    assert not any(case.blobs.tmp.glob("*.part")), "a refused bundle left temporary files"


def test_round_trip_keeps_items_details_and_sealed_fields(make_case: Make, tmp_path: Path) -> None:
    a, b = make_case("a"), make_case("b")
    fill(a, "a")
    report = take(b, send(a, b, tmp_path / "a.bundle"))
    assert report.forks == [] and not report.nothing_new
    by_name = {o.name: o for o in report.origins}
    assert by_name[a.log.origin].status == origins.TAKEN
    assert by_name[a.log.origin].items_new == 3
    assert b.counts()["items"] == 3
    held = origins.held(b)
    assert held[a.log.origin].size == a.counts()["log_size"]
    assert held[a.log.origin].verifier == a.config.log_key
    # The receipts say where each item came from, and keep the origin's descriptive details.
    with Session(b.engine) as s:
        receipts = s.scalars(select(Receipt).order_by(Receipt.log_index)).all()
        assert {r.channel for r in receipts} == {"bundle"}
        assert all(r.source and r.source.startswith(f"origin {a.log.origin} entry ") for r in receipts)
        assert {r.original_name for r in receipts} == {"VID_0.mp4", "VID_1.mp4", "VID_2.mp4"}
        assert not any(r.protected_fields for r in receipts)  # never re-sealed; the origin's ciphertext is mirrored
        mirrored = s.scalars(select(OriginEntry).order_by(OriginEntry.idx)).all()
    sealed = [json.loads(m.details)["sealed"] for m in mirrored if m.details]
    assert len(sealed) == 3
    phone_ct = next(x["witness_phone"] for x in sealed if x)
    assert sealing.open_sealed(base64.b64decode(phone_ct), identity(a)) == PHONE
    # One hop entry, saying who carried it and when it left; the bytes of the file name it.
    hops = [e for e in entries_of(b).values() if e["action"] == custody.TRANSFER_RECEIVED]
    assert len(hops) == 1
    assert hops[0]["carrier_claimed"] == "driver A." and hops[0]["left_at_claimed"] == "2011-12-18"
    assert hops[0]["bundle_sha256"] == report.bundle_sha256
    assert hops[0]["to_size"] == a.counts()["log_size"]
    assert verify_case(a).ok and verify_case(b).ok
    audit = AuditReport()
    with Session(b.engine) as s:
        origins.check_rows(s, entries_of(b), audit)
    assert audit.problems == []

    # Replayed: nothing changes, and the report says so.
    before = shape(b)
    again = take(b, tmp_path / "a.bundle")
    assert again.nothing_new and again.seen_before
    assert shape(b) == before


def test_a_sealed_answer_travels_sealed_and_stays_masked_at_the_far_end(make_case: Make, tmp_path: Path) -> None:
    """An unencrypted ODK submission's contact: sealed where it came in, masked where the bundle takes it."""
    from factfinder import pipeline
    from factfinder.db.models import ItemText
    from factfinder.vault import masking

    a, b, c = make_case("a"), make_case("b"), make_case("c")
    xml = b"<data id='testimony'><what_happened>Shots at noon.</what_happened><contact>+7 701 555 0177</contact></data>"
    recorded = a.add_bytes(xml, actor="field", channel="openrosa", protected={"answer:contact": "+7 701 555 0177"})
    take(b, send(a, b, tmp_path / "ab.bundle"))
    take(c, send(b, c, tmp_path / "bc.bundle"))  # relayed: c mirrors a's entries through b
    for far in (b, c):
        item = far.resolve(recorded.sha256)
        with far.engine.connect() as conn:
            assert masking.sealed_questions(conn, [item.id]) == {item.id: ("contact",)}
        pipeline.index_items(far)
        with Session(far.engine) as s:
            body = s.scalars(select(ItemText.body).where(ItemText.item_id == item.id)).one()
        assert "0177" not in body and "Shots at noon." in body
        assert verify_case(far).ok


def test_new_items_only_and_a_second_hop_takes_the_rest(make_case: Make, tmp_path: Path) -> None:
    a, b = make_case("a"), make_case("b")
    fill(a, "a", 2)
    take(b, send(a, b, tmp_path / "1.bundle"))
    b.add_bytes(b"a video 0", actor="intake")  # b already holds this one: it is not sent again, nor duplicated
    fill(a, "more", 2)
    a.add_bytes(b"a video 0", actor="field")  # received again at a
    info = export_bundle(
        a,
        tmp_path / "2.bundle",
        have=origins.parse_state(origins.state(b)).have,
        recipients=b.config.recipients,
        for_archive=b.log.origin,
    )
    assert info.blobs == 2  # only the two new items: the earlier ones are known to be held
    report = take(b, info.path)
    outcome = next(o for o in report.origins if o.name == a.log.origin)
    assert outcome.status == origins.TAKEN and outcome.from_size == 3 and outcome.items_new == 2
    assert b.counts()["items"] == 4
    assert verify_case(b).ok


def test_relay_a_to_b_to_c(make_case: Make, tmp_path: Path) -> None:
    a, b, c = make_case("a"), make_case("b"), make_case("c")
    fill(a, "laptop")
    take(b, send(a, b, tmp_path / "ab.bundle"))
    fill(b, "server", 1)
    report = take(c, send(b, c, tmp_path / "bc.bundle"))
    names = {o.name: o for o in report.origins}
    assert names[a.log.origin].status == origins.TAKEN  # the laptop's own log, passed on by the server
    assert names[b.log.origin].status == origins.TAKEN
    held = origins.held(c)
    assert held[a.log.origin].size == a.counts()["log_size"]
    assert held[b.log.origin].size == b.counts()["log_size"]
    assert c.counts()["items"] == 4  # three from the laptop, one from the server, none twice
    assert verify_case(c).ok
    # And the laptop's log is checked against the laptop's key, not the relay's: it is the same as at the laptop.
    with Session(c.engine) as s:
        oid = s.scalar(select(Origin.id).where(Origin.name == a.log.origin))
        mirrored = [bytes(e) for e in s.scalars(select(OriginEntry.entry).where(OriginEntry.origin_id == oid))]
    with a.engine.connect() as conn:
        assert mirrored == [e for _, e in a.log.entries(conn)]


@pytest.mark.once_on_postgres  # refused while reading the file, before any database work
def test_truncated_bundle_is_refused(make_case: Make, tmp_path: Path) -> None:
    a, b = make_case("a"), make_case("b")
    fill(a, "a")
    for encrypt in (True, False):
        path = send(a, b, tmp_path / f"{encrypt}.bundle", encrypt=encrypt)
        data = path.read_bytes()
        cut = tmp_path / f"{encrypt}.cut"
        if encrypt:
            ends = [len(data) // 2, len(data) - 1500]
        else:  # inside a blob, inside the trailer (the zero blocks after the trailer are only padding)
            where = _member_offsets(path)
            blob = next(n for n in where if n.startswith("blobs/"))
            ends = [where[blob][0] + 1, where["trailer.json"][0] + 10]
        for keep in ends:
            cut.write_bytes(data[:keep])
            unchanged_after(b, lambda cut=cut: take(b, cut), "truncated|does not decrypt|ends")  # type: ignore[misc]
    take(b, tmp_path / "True.bundle")  # re-sent whole, it goes in
    assert b.counts()["items"] == 3


def _member_offsets(path: Path) -> dict[str, tuple[int, int]]:
    with tarfile.open(path) as tar:
        return {m.name: (m.offset_data, m.size) for m in tar.getmembers()}


def _flip(src: Path, dst: Path, at: int) -> Path:
    data = bytearray(src.read_bytes())
    data[at] ^= 0x01
    dst.write_bytes(bytes(data))
    return dst


@pytest.mark.once_on_postgres  # refused while reading the file, before any database work
def test_one_flipped_byte_is_refused(make_case: Make, tmp_path: Path) -> None:
    a, b = make_case("a"), make_case("b")
    fill(a, "a")
    sealed = send(a, b, tmp_path / "sealed.bundle")
    flipped = _flip(sealed, tmp_path / "x1", sealed.stat().st_size // 2)
    unchanged_after(b, lambda: take(b, flipped), "does not decrypt")
    plain = send(a, b, tmp_path / "plain.bundle", encrypt=False)
    where = _member_offsets(plain)
    blob = next(n for n in where if n.startswith("blobs/"))
    at_blob = where[blob][0] + where[blob][1] // 2
    unchanged_after(b, lambda: take(b, _flip(plain, tmp_path / "x2", at_blob)), "does not match its name")
    # Inside an entry (of the origin with the most entries: the sender's own log).
    name = max((n for n in where if n.endswith("/entries")), key=lambda n: where[n][1])
    at_entry = where[name][0] + where[name][1] - 40
    unchanged_after(b, lambda: take(b, _flip(plain, tmp_path / "x3", at_entry)), "altered|not a custody entry")
    take(b, plain)
    assert b.counts()["items"] == 3 and verify_case(b).ok


@pytest.mark.once_on_postgres  # refused while reading the file, before any database work
def test_bundle_for_another_archive_is_refused(make_case: Make, tmp_path: Path) -> None:
    a, b, c = make_case("a"), make_case("b"), make_case("c")
    fill(a, "a")
    path = send(a, c, tmp_path / "for-c.bundle", encrypt=False)
    unchanged_after(b, lambda: take(b, path), "for another archive")
    sealed = send(a, c, tmp_path / "for-c.sealed")
    unchanged_after(b, lambda: take(b, sealed), "does not decrypt")  # and b's key cannot open it anyway


def _retar(src: Path, dst: Path, rename: dict[str, str]) -> Path:
    """A copy of a plain bundle with some members renamed (as a hostile sender would craft it)."""
    with tarfile.open(src) as tin, tarfile.open(dst, "w", format=tarfile.GNU_FORMAT) as tout:
        for m in tin.getmembers():
            data = tin.extractfile(m).read()  # type: ignore[union-attr]
            m.name = rename.get(m.name, m.name)
            tout.addfile(m, io.BytesIO(data))
    return dst


@pytest.mark.once_on_postgres  # refused while reading the file, before any database work
def test_path_traversal_and_odd_names_are_refused(make_case: Make, tmp_path: Path) -> None:
    a, b = make_case("a"), make_case("b")
    fill(a, "a")
    plain = send(a, b, tmp_path / "plain.bundle", encrypt=False)
    blob = next(n for n in _member_offsets(plain) if n.startswith("blobs/"))
    for i, bad in enumerate(["../../escaped", "/tmp/escaped", f"blobs/../{blob[6:]}", f"./{blob}", "blobs/ABC"]):
        crafted = _retar(plain, tmp_path / f"crafted{i}.tar", {blob: bad})
        unchanged_after(b, lambda crafted=crafted: take(b, crafted), "unexpected member")  # type: ignore[misc]
    assert not (tmp_path / "escaped").exists() and not Path("/tmp/escaped").exists()
    # A symbolic link under a valid name is refused too.
    link = tmp_path / "link.tar"
    with tarfile.open(plain) as tin, tarfile.open(link, "w") as tout:
        for m in tin.getmembers():
            if m.name == blob:
                m.type, m.linkname, m.size = tarfile.SYMTYPE, "/etc/passwd", 0
                tout.addfile(m)
            else:
                tout.addfile(m, tin.extractfile(m))
    unchanged_after(b, lambda: take(b, link), "not a regular file")


def test_forged_fork_is_recorded_not_merged(make_case: Make, tmp_path: Path) -> None:
    a, c = make_case("a"), make_case("c")
    fill(a, "shared", 1)
    a.close()
    if a.config.database_url is not None:
        pytest.skip("copying the folder does not copy a PostgreSQL database")
    shutil.copytree(a.path, tmp_path / "a-copy")  # both copies now hold the same signing key
    a, twin = Case.open(a.path), Case.open(tmp_path / "a-copy")
    try:
        fill(a, "true", 2)
        fill(twin, "forged", 2)
        take(c, send(a, c, tmp_path / "a.bundle"))
        before = shape(c)
        report = take(c, send(twin, c, tmp_path / "twin.bundle"))
        assert report.forks == [a.log.origin]
        outcome = next(o for o in report.origins if o.name == a.log.origin)
        assert outcome.fork and outcome.entries_taken == 0 and outcome.items_new == 0
        items, receipts, log_size = shape(c)
        assert (items, receipts, log_size) == (before[0], before[1], before[2] + 1)  # only the fork entry
        forked = [e for e in entries_of(c).values() if e["action"] == custody.ORIGIN_FORKED]
        assert len(forked) == 1 and forked[0]["origin"] == a.log.origin
        with Session(c.engine) as s:
            assert len(s.scalars(select(OriginFork)).all()) == 1
            assert s.scalar(select(Origin.forked).where(Origin.name == a.log.origin)) is True
        assert origins.held(c)[a.log.origin].forked
        assert verify_case(c).ok
        # Offered again (or the true history growing): the origin stays frozen, nothing more is written.
        before = shape(c)
        again = take(c, tmp_path / "twin.bundle")
        assert again.nothing_new and shape(c) == before
        with Session(c.engine) as s:
            assert len(s.scalars(select(Transfer)).all()) == 1
        # A second row for the one fork entry is noticed by verify.
        with Session(c.engine) as s:
            fork = s.scalars(select(OriginFork)).one()
            row = {col.name: getattr(fork, col.name) for col in OriginFork.__table__.columns if col.name != "id"}
        with dbengine.write_transaction(c.engine) as conn:
            conn.execute(insert(OriginFork).values(**row))
        audit = AuditReport()
        with Session(c.engine) as s:
            origins.check_rows(s, entries_of(c), audit)
        assert any("no origin.forked custody entry" in str(p) for p in audit.problems)
    finally:
        a.close()
        twin.close()


def test_an_interrupted_import_leaves_nothing_and_runs_again(
    make_case: Make, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = make_case("a"), make_case("b")
    fill(a, "a")
    path = send(a, b, tmp_path / "a.bundle")
    before = shape(b)

    # The process stops inside the transaction, after the items' rows and receipts, at the hop's entry.
    monkeypatch.setattr(custody, "encode_entry", _fail_on(custody.TRANSFER_RECEIVED, custody.encode_entry))
    with pytest.raises(KeyboardInterrupt):
        take(b, path)
    monkeypatch.undo()
    assert shape(b) == before and verify_case(b).ok
    take(b, path)
    assert b.counts()["items"] == 3 and verify_case(b).ok


def _fail_on(action: str, real: Callable[..., bytes]) -> Callable[..., bytes]:
    def encode(seq: int, act: str, *args: object, **kw: object) -> bytes:
        if act == action:
            raise KeyboardInterrupt
        return real(seq, act, *args, **kw)

    return encode


def _append_own(case: Case, action: str, **fields: object) -> None:
    """An entry signed into ``case``'s own log as its key holder could, whatever the software would write."""
    with dbengine.write_transaction(case.engine) as conn:
        head = case.log.head(conn, lock=True)
        entry = custody.encode_entry(head.size, action, head.checkpoint_size, head.checkpoint_root, **fields)
        case.log.append(conn, [entry])
        case.log.checkpoint(conn, custody.vault_clock())


def _signed_log(signer: Signer, entries: list[bytes], details: list[bytes | None] | None = None) -> origins.Offer:
    """An offer of a whole log made and signed outside any case (by a hostile or squatting key holder)."""
    root = merkle.MemoryTree([merkle.leaf_hash(e) for e in entries]).root()
    note = Checkpoint(signer.name, len(entries), root).sign(signer)
    return origins.Offer(
        signer.name, signer.verifier.encode(), 0, merkle.EMPTY_ROOT, note, [], entries, details or [None] * len(entries)
    )


@pytest.mark.once_on_postgres  # refused while examining the offer; relays run on PostgreSQL in test_relay_a_to_b_to_c
def test_a_hostile_origins_unbacked_receipt_is_refused_and_the_relay_goes_on(make_case: Make, tmp_path: Path) -> None:
    """An origin's key holder signs receipts naming items it never sends: that origin is refused, nothing else."""
    a, h, b, c = make_case("a"), make_case("h"), make_case("b"), make_case("c")
    fill(a, "laptop", 1)
    take(b, send(a, b, tmp_path / "ab.bundle"))
    fill(h, "hostile", 1)
    _append_own(h, custody.ITEM_ADDED, item_sha256=hashlib.sha256(b"ghost").hexdigest(), item_size=5)
    before = shape(b)
    report = take(b, send(h, b, tmp_path / "hb.bundle"))
    outcome = next(o for o in report.origins if o.name == h.log.origin)
    assert outcome.status == origins.REFUSED and "commits to no details" in outcome.reason
    assert report.nothing_new and shape(b) == before and h.log.origin not in origins.held(b)
    # A receipt with a valid commitment but another size for an item the receiver holds: refused too.
    held_sha = hashlib.sha256(b"laptop video 0").hexdigest()
    salt = b"\0" * 16
    details = custody.canonical_json(
        {
            "salt": base64.b64encode(salt).decode(),
            "source": "x",
            "note": None,
            "original_name": None,
            "collected_by_claimed": None,
            "sealed": {},
        }
    )
    commitment = custody.details_commitment(
        salt, custody.receipt_details(source="x", note=None, original_name=None, collected_by_claimed=None, sealed={})
    )
    hostile = Signer.generate("factfinder/hostile")
    entries = [
        custody.encode_entry(0, custody.CASE_CREATED, 0, None, log_key=hostile.verifier.encode()),
        custody.encode_entry(
            1, custody.ITEM_ADDED, 0, None, item_sha256=held_sha, item_size=999, details_sha256=commitment
        ),
    ]
    (verdict,) = origins.examine(b, [_signed_log(hostile, entries, [None, details])])
    assert verdict.status == origins.REFUSED and "999" in verdict.reason
    # The relay passes on what it took, and what it passes on exports and verifies downstream.
    report = take(c, send(b, c, tmp_path / "bc.bundle"))
    assert {o.name: o.status for o in report.origins}[a.log.origin] == origins.TAKEN
    assert c.counts()["items"] == 1 and verify_case(b).ok and verify_case(c).ok


@pytest.mark.once_on_postgres  # refused while examining the offer; relays run on PostgreSQL in test_relay_a_to_b_to_c
def test_a_key_conflict_refuses_that_origin_only(make_case: Make, tmp_path: Path) -> None:
    """A squatter pins origin Y's name first; the real Y, relayed by Z, is refused; Z's own entries go in."""
    y, z, c = make_case("y"), make_case("z"), make_case("c")
    squatter = Signer.generate(y.log.origin)
    squat = _signed_log(
        squatter, [custody.encode_entry(0, custody.CASE_CREATED, 0, None, log_key=squatter.verifier.encode())]
    )
    origins.apply(c, origins.examine(c, [squat]), {}, origins.Hop("sync"), actor="sync")
    assert origins.held(c)[y.log.origin].verifier == squatter.verifier.encode()
    fill(y, "y", 1)
    take(z, send(y, z, tmp_path / "yz.bundle"))
    fill(z, "z", 2)
    report = take(c, send(z, c, tmp_path / "zc.bundle"))
    by_name = {o.name: o for o in report.origins}
    conflict = by_name[y.log.origin]
    real = Verifier.parse(y.config.log_key).fingerprint
    assert conflict.status == origins.KEY_CONFLICT and conflict.entries_taken == 0
    assert conflict.key_fingerprint == real and conflict.pinned_fingerprint == squatter.verifier.fingerprint
    assert real in conflict.reason and squatter.verifier.fingerprint in conflict.reason
    assert by_name[z.log.origin].status == origins.TAKEN and by_name[z.log.origin].first_seen
    assert c.counts()["items"] == 3 and verify_case(c).ok  # Z's two, and Y's one as Z itself recorded it
    # Trust on first use pins nothing for a checkpoint that cannot be a log: size 0 with a non-empty root.
    empty = Signer.generate("factfinder/empty")
    note = Checkpoint(empty.name, 0, b"\1" * 32).sign(empty)
    offer = origins.Offer(empty.name, empty.verifier.encode(), 0, merkle.EMPTY_ROOT, note, [], [], [])
    (verdict,) = origins.examine(c, [offer])
    assert verdict.status == origins.REFUSED
    origins.apply(c, [verdict], {}, origins.Hop("sync"), actor="sync")
    assert empty.name not in origins.held(c)


@pytest.mark.once_on_postgres  # what the export leaves on disk, not database work
def test_a_killed_export_leaves_no_plaintext_where_the_bundle_goes(make_case: Make, tmp_path: Path) -> None:
    a, b = make_case("a"), make_case("b")
    fill(a, "a", 1)
    stick = tmp_path / "stick"
    stick.mkdir()
    script = tmp_path / "die.py"
    script.write_text(
        "import os, sys, pathlib\n"
        "from factfinder.intake import bundles\n"
        "from factfinder.vault.case import Case\n"
        "bundles.pyrage.encrypt_io = lambda *a, **k: os._exit(3)\n"
        "with Case.open(pathlib.Path(sys.argv[1])) as case:\n"
        "    out = pathlib.Path(sys.argv[2])\n"
        "    bundles.export_bundle(case, out, have={}, recipients=sys.argv[3:], for_archive=None)\n"
    )
    died = subprocess.run(
        [sys.executable, str(script), str(a.path), str(stick / "x.bundle"), *b.config.recipients],
        capture_output=True,
        cwd=Path(__file__).parents[2],
    )
    assert died.returncode == 3, died.stderr
    for f in stick.rglob("*"):
        assert f.is_dir() or b"ustar" not in f.read_bytes(), f
    assert a.blobs.remove_stale_temporaries() >= 1  # the plain spool was in the case's own folder, swept later
    # A finished export: while encrypting, only the ciphertext's NAME.part is there; then only the bundle.
    seen: list[list[str]] = []
    real = pyrage.encrypt_io

    def watching(src: object, dst: object, recipients: object) -> None:
        seen.append(sorted(p.name for p in stick.iterdir()))
        real(src, dst, recipients)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pyrage, "encrypt_io", watching)
        send(a, b, stick / "x.bundle")
    assert seen == [["x.bundle.part"]] and sorted(p.name for p in stick.iterdir()) == ["x.bundle"]
    assert take(b, stick / "x.bundle").items_new == 1


def test_two_imports_of_one_bundle_at_once_end_as_held(
    make_case: Make, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = make_case("a"), make_case("b")
    fill(a, "a", 2)
    path = send(a, b, tmp_path / "a.bundle")
    real = origins.apply
    inner: list[object] = []

    def racing(*args: object, **kw: object) -> object:
        if not inner:  # the other import finishes between this one's checks and its write
            inner.append(None)
            inner.append(take(b, path))
        return real(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(origins, "apply", racing)
    report = take(b, path)
    assert not inner[1].nothing_new  # type: ignore[attr-defined]
    assert report.nothing_new and {o.status for o in report.origins} == {origins.HELD}
    assert b.counts()["items"] == 2 and verify_case(b).ok
    with Session(b.engine) as s:
        assert len(s.scalars(select(Transfer)).all()) == 1


@pytest.mark.once_on_postgres  # refused while reading the file, before any database work
def test_an_extended_header_is_refused_before_it_is_read(make_case: Make, tmp_path: Path) -> None:
    """A 200 MB pax header opening a bundle is refused from its 512-byte header block, not read into memory."""
    b = make_case("b")
    info = tarfile.TarInfo("././@PaxHeader")
    info.type, info.size = tarfile.XHDTYPE, 200 << 20
    path = tmp_path / "pax.bundle"
    with open(path, "wb") as fh:
        fh.write(info.tobuf(format=tarfile.USTAR_FORMAT))
        fh.truncate(512 + (200 << 20) + 1024)  # the header's body: sparse zeros, costing no disk
    tracemalloc.start()
    try:
        unchanged_after(b, lambda: take(b, path, identity=None), "not a regular file")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 << 20
