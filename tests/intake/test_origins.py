"""Origins: what an archive holds, its state file, gaps, a stolen own key, ``verify`` of mirrored logs, and the CLI."""

from __future__ import annotations

import hashlib
import json
import random
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pyrage import x25519
from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

import factfinder.cli_transfer  # noqa: F401  (registers ``bundle`` and ``origins`` on the CLI)
from factfinder.db import engine as dbengine
from factfinder.db.models import Item, Origin, OriginEntry, Transfer
from factfinder.intake import origins
from factfinder.intake.bundles import export_bundle, import_bundle
from factfinder.vault import custody, merkle
from factfinder.vault.audit import AuditReport, verify_case
from factfinder.vault.case import Case, NewReceipt
from factfinder.vault.checkpoint import Checkpoint, Signer, Verifier
from tests.conftest import Cli, NewDatabase


@pytest.fixture
def pair(tmp_path: Path, new_database: NewDatabase) -> Iterator[tuple[Case, Case]]:
    a, _ = Case.init(tmp_path / "a", "Field laptop", actor="tester", database_url=new_database())
    b, _ = Case.init(tmp_path / "b", "Commission", actor="tester", database_url=new_database())
    yield a, b
    a.close()
    b.close()


def _transfer(sender: Case, receiver: Case, path: Path, *, have: dict[str, int] | None = None) -> Any:
    st = origins.parse_state(origins.state(receiver))
    export_bundle(
        sender, path, have=st.have if have is None else have, recipients=None, for_archive=receiver.log.origin
    )
    return import_bundle(receiver, path, identity=None, carrier=None, left_at=None, kind="sync", actor="sync")


def test_held_lists_the_archive_itself_and_state_round_trips(pair: tuple[Case, Case]) -> None:
    a, _ = pair
    a.add_bytes(b"one", actor="t")
    held = origins.held(a)
    assert list(held) == [a.log.origin]
    own = held[a.log.origin]
    assert own.size == a.counts()["log_size"] and own.verifier == a.config.log_key and not own.forked
    st = origins.state(a)
    assert st["format"] == origins.STATE_FORMAT and st["archive"] == a.log.origin
    assert st["recipients"] == a.config.recipients
    parsed = origins.parse_state(json.loads(json.dumps(st)))
    assert parsed.have == {a.log.origin: own.size}


@pytest.mark.once_on_postgres  # parsing and signatures, not database work
@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda s: s.update(format="other"), "not an origins state"),
        (lambda s: s.update(recipients=["not-a-key"]), "age public key"),
        (lambda s: next(iter(s["origins"].values())).update(size=-1), "no valid size"),
        (lambda s: next(iter(s["origins"].values())).update(size=99), "says size 99"),
        (lambda s: next(iter(s["origins"].values())).update(verifier="x+y+z"), "verifier"),
        (lambda s: next(iter(s["origins"].values())).update(checkpoint="forged\n1\nAAAA\n\n— x AAAA\n"), "origin"),
    ],
)
def test_a_bad_state_file_is_refused_with_a_reason(pair: tuple[Case, Case], damage: Any, message: str) -> None:
    st = origins.state(pair[0])
    damage(st)
    with pytest.raises(origins.OriginsError, match=message):
        origins.parse_state(st)


def test_an_offer_beyond_what_is_held_is_a_gap_and_changes_nothing(pair: tuple[Case, Case], tmp_path: Path) -> None:
    a, b = pair
    a.add_bytes(b"one", actor="t")
    a.add_bytes(b"two", actor="t")
    before = b.counts()
    report = _transfer(a, b, tmp_path / "gap.bundle", have={a.log.origin: 2})
    outcome = next(o for o in report.origins if o.name == a.log.origin)
    assert outcome.status == origins.GAP and report.nothing_new
    assert b.counts() == before and verify_case(b).ok
    report = _transfer(a, b, tmp_path / "whole.bundle")  # with the receiver's true state it goes in
    assert b.counts()["items"] == 2


def test_a_copy_of_this_archives_key_signing_elsewhere_is_a_fork(tmp_path: Path, new_database: NewDatabase) -> None:
    """Someone with a copy of the intake server's key hands it back a longer 'own' log: never merged."""
    a, _ = Case.init(tmp_path / "a", "Intake server", actor="tester", database_url=new_database())
    a.close()
    if a.config.database_url is not None:
        pytest.skip("copying the folder does not copy a PostgreSQL database")
    shutil.copytree(tmp_path / "a", tmp_path / "stolen")
    a, stolen = Case.open(tmp_path / "a"), Case.open(tmp_path / "stolen")
    try:
        stolen.add_bytes(b"planted", actor="impostor")
        before = a.counts()
        report = _transfer(stolen, a, tmp_path / "back.bundle")
        assert report.forks == [a.log.origin]
        assert a.counts()["items"] == before["items"]
        assert origins.held(a)[a.log.origin].forked and verify_case(a).ok
    finally:
        a.close()
        stolen.close()


def _audit(case: Case) -> list[str]:
    report = AuditReport()

    with case.engine.connect() as conn:
        entries = {i: custody.decode_entry(e) for i, e in case.log.entries(conn)}
    with Session(case.engine) as s:
        origins.check_rows(s, entries, report)
    return [str(p) for p in report.problems]


def test_check_rows_notices_edited_mirrors_and_transfers(pair: tuple[Case, Case], tmp_path: Path) -> None:
    a, b = pair
    a.add_bytes(b"one", actor="t", note="seen at the square")
    _transfer(a, b, tmp_path / "x.bundle")
    assert _audit(b) == []
    with dbengine.write_transaction(b.engine) as conn:
        conn.execute(update(Transfer).values(carrier_claimed="someone else"))
    assert any("carrier_claimed" in p for p in _audit(b))
    with dbengine.write_transaction(b.engine) as conn:
        conn.execute(update(Transfer).values(carrier_claimed=None))
        conn.execute(update(OriginEntry).where(OriginEntry.idx == 1).values(details=None))
    assert any("entry 1" in p and "details" in p for p in _audit(b))
    with dbengine.write_transaction(b.engine) as conn:
        conn.execute(update(OriginEntry).where(OriginEntry.idx == 0).values(entry=b"{}"))
    assert any("do not hash" in p for p in _audit(b))


@pytest.mark.once_on_postgres  # the commands' wording; their database work runs on PostgreSQL in the bundle tests
def test_cli_state_export_import_and_list(cli: Cli, tmp_path: Path) -> None:
    a, b = tmp_path / "laptop", tmp_path / "commission"
    cli("init", a, "--title", "Laptop")
    cli("init", b, "--title", "Commission")
    media = tmp_path / "statement.txt"
    media.write_bytes(b"They came at night without uniforms.")
    cli("add", a, media, "--no-media")
    state = tmp_path / "state.json"
    cli("origins", "state", b, "-o", state)
    bundle = tmp_path / "stick" / "laptop.bundle"
    bundle.parent.mkdir()
    # The laptop holds no key for the commission: it shows what the state asks for and wants a person's word.
    _, _, err = cli("bundle", "export", a, "--since", state, "-o", bundle, code=2)
    with Case.open(b) as case:
        fingerprint, recipients = Verifier.parse(case.config.log_key).fingerprint, case.config.recipients
    assert "--trust-state" in err and fingerprint in err and recipients[0] in err and not bundle.exists()
    altered = json.loads(state.read_text())
    altered["recipients"] = [str(x25519.Identity.generate().to_public())]  # someone on the way picks the reader
    forged = tmp_path / "forged-state.json"
    forged.write_text(json.dumps(altered))
    _, _, err = cli("bundle", "export", a, "--since", forged, "-o", bundle, "--trust-state", code=2)
    assert "signature does not verify" in err and not bundle.exists()
    _, text, _ = cli("bundle", "export", a, "--since", state, "-o", bundle, "--trust-state")
    assert "1 item(s)" in text
    assert bundle.read_bytes().startswith(b"age-encryption.org/v1\n")
    _, _, err = cli("bundle", "import", b, bundle, code=2)  # no identity: a clear refusal
    assert "encrypted" in err
    identity = b / "keys" / "witness-identity.age"
    _, text, _ = cli(
        "bundle", "import", b, bundle, "--identity", identity, "--carrier", "a driver", "--left-at", "2011-12-20"
    )
    assert "1 new item(s)" in text
    with Case.open(a) as case:  # the new origin's key is shown, to compare by eye with the laptop's
        assert f"key {Verifier.parse(case.config.log_key).fingerprint} pinned" in text
    _, text, _ = cli("bundle", "import", b, bundle, "--identity", identity)
    assert "nothing new" in text
    _, text, _ = cli("origins", "list", b, "--json")
    listed = {o["name"]: o for o in json.loads(text)}
    assert len(listed) == 2 and sum(o["own"] for o in listed.values()) == 1
    cli("verify", b)
    with Case.open(b) as case:
        assert case.counts()["items"] == 1
    _, _, err = cli("bundle", "import", b, bundle, "--identity", a / "keys" / "witness-identity.age", code=2)
    assert "does not decrypt" in err


def _record(case: Case, label: str, n: int, *, shared: int = 0) -> None:
    """``n`` small items in one transaction; the first ``shared`` are bytes other archives record too."""
    receipts = [
        NewReceipt(
            blob=case.blobs.put_bytes(f"shared {i}".encode() if i < shared else f"{label} {i}".encode()),
            source=f"{label} {i}",
            media_type="application/octet-stream",
        )
        for i in range(n)
    ]
    case.record(receipts, actor="t")


@pytest.mark.once_on_postgres  # its queries run on PostgreSQL in the relay and sync tests
def test_the_compact_range_and_what_the_receiver_holds_match_a_full_recount(
    tmp_path: Path, new_database: NewDatabase
) -> None:
    """Four archives relay each other's logs; every shortcut a transfer takes agrees with rereading the logs."""
    made = {
        name: Case.init(tmp_path / name, title, actor="t", database_url=new_database())[0]
        for name, title in [("a", "Laptop A"), ("d", "Laptop D"), ("b", "Intake server"), ("c", "Commission")]
    }
    a, d, b, c = made["a"], made["d"], made["b"], made["c"]
    try:
        _record(a, "a1", 70, shared=10)
        _record(a, "a2", 50)
        _record(d, "d1", 80, shared=20)  # 10 of these are A's bytes too: one item, named by two origins
        _transfer(a, b, tmp_path / "ab1.bundle")
        _transfer(d, b, tmp_path / "db1.bundle")
        _record(a, "a3", 60)
        _transfer(a, b, tmp_path / "ab2.bundle")
        _record(b, "b1", 40, shared=15)
        _record(c, "c1", 25, shared=5)
        _transfer(b, c, tmp_path / "bc.bundle")  # relays A's and D's logs with the server's own
        _record(a, "a4", 33)
        _transfer(a, c, tmp_path / "ac.bundle")  # A directly: C holds part of A's log already
        _record(d, "d2", 17)
        _transfer(d, c, tmp_path / "dc.bundle")
        for case in (b, c):
            assert verify_case(case).ok
        assert {a.log.origin, b.log.origin, d.log.origin} <= set(origins.held(c))

        with c.engine.connect() as conn:
            held = origins.held_in(c, conn)
            for name, o in held.items():
                if name == c.log.origin:
                    continue
                assert o.size > 90
                tree = origins.leaf_tree(c, conn, name, o.size)
                stored = conn.execute(select(Origin.frontier).where(Origin.name == name)).scalar_one()
                rebuilt: list[bytes] = []
                origins.frontier_extend(rebuilt, 0, tree.levels[0])
                assert bytes(stored) == origins.pack_frontier(rebuilt)
                assert origins.frontier_root(rebuilt) == tree.root()
                # every size of one log; of the others, sizes around the subtree boundaries and a sample
                sizes = set(range(o.size + 1)) if name == d.log.origin else set(range(0, o.size + 1, 9))
                sizes |= {s for k in range(8) for s in (2**k - 1, 2**k, 2**k + 1, o.size - 2**k) if 0 <= s <= o.size}
                for size in sorted(sizes):
                    assert origins.root_at(c, conn, name, size) == tree.root(size), (name, size)
                    if size == 0:
                        continue
                    want = (tree.root(size), merkle.consistency_proof(tree.node, size, o.size))
                    assert origins.prefix_proof(c, conn, name, size, o.size) == want, (name, size)

            def recount(case: Case, have: dict[str, int]) -> set[str]:
                out: set[str] = set()
                for name, o in origins.held_in(case, conn).items():
                    known = min(max(have.get(name, 0), 0), o.size)
                    out.update(sha for sha, _ in origins.items_named(case, conn, name, 0, known))
                return out

            every = set().union(*(set(origins.items_named(c, conn, n, 0, o.size)) for n, o in held.items()))
            digests = {sha for sha, _ in every} | {"0" * 64}
            rng = random.Random(9162)
            haves = [{}, {n: o.size for n, o in held.items()}, {n: o.size + 7 for n, o in held.items()}]
            haves += [
                {n: rng.randint(-2, o.size + 2) for n, o in held.items() if rng.random() < 0.8} for _ in range(25)
            ]
            for have in haves:
                want = recount(c, have) & digests
                assert origins.held_by(c, conn, have, digests) == want, have
            assert len(origins.held_by(c, conn, haves[1], digests)) == len(digests) - 1 > 300

        # verify checks what the shortcuts trust: the compact range and each entry's item digest.
        a_id = next(o.id for o in Session(c.engine).scalars(select(Origin).where(Origin.name == a.log.origin)))
        with dbengine.write_transaction(c.engine) as wconn:
            wconn.execute(
                update(OriginEntry)
                .where(OriginEntry.origin_id == a_id, OriginEntry.idx == 5)
                .values(item_sha256="f" * 64)
            )
        assert any("item digest" in p for p in _audit(c))
        with dbengine.write_transaction(c.engine) as wconn:
            wconn.execute(update(Origin).where(Origin.id == a_id).values(frontier=b"\0" * 32))
        assert any("compact range" in p for p in _audit(c))
        with pytest.raises(origins.OriginsError, match="compact range"):
            _transfer(a, c, tmp_path / "ac2.bundle")
    finally:
        for case in made.values():
            case.close()


@pytest.mark.once_on_postgres  # parsing and signatures, not database work
def test_a_state_is_checked_against_the_key_pinned_for_its_archive(pair: tuple[Case, Case], tmp_path: Path) -> None:
    a, b = pair
    _transfer(b, a, tmp_path / "ba.bundle")  # the laptop now holds the commission's log, under its key
    st = origins.parse_state(origins.state(b))
    assert origins.check_state(a, st).pinned
    # A whole state made with another key of the commission's name: self-consistent, but not the pinned key.
    squatter = Signer.generate(b.log.origin)
    forged: dict[str, Any] = {
        "format": origins.STATE_FORMAT,
        "archive": b.log.origin,
        "recipients": [str(x25519.Identity.generate().to_public())],
        "origins": {
            b.log.origin: {
                "size": 0,
                "checkpoint": Checkpoint(b.log.origin, 0, merkle.EMPTY_ROOT).sign(squatter),
                "verifier": squatter.verifier.encode(),
            }
        },
    }
    text = custody.canonical_json(forged).decode() + "\n"
    forged["signature"] = squatter.sign(text)[len(text) + 1 :]
    with pytest.raises(origins.OriginsError, match="pinned"):
        origins.check_state(a, origins.parse_state(forged))
    unsigned = origins.state(b)
    del unsigned["signature"]
    with pytest.raises(origins.OriginsError, match="not signed"):
        origins.check_state(a, origins.parse_state(unsigned))


def test_check_rows_ties_each_mirror_to_the_custody_log(pair: tuple[Case, Case], tmp_path: Path) -> None:
    """Edits that keep a mirror self-consistent still disagree with what the receiver's own log recorded."""
    a, b = pair
    a.add_bytes(b"one", actor="t")
    _transfer(a, b, tmp_path / "1.bundle")
    first = origins.held(b)[a.log.origin]
    a.add_bytes(b"two", actor="t")
    _transfer(a, b, tmp_path / "2.bundle")
    assert _audit(b) == []
    name = a.log.origin
    with Session(b.engine) as s:
        row = s.scalars(select(Origin).where(Origin.name == name)).one()
        saved = {c: getattr(row, c) for c in ("size", "checkpoint", "frontier", "verifier", "forked")}
        kept = [
            {
                "origin_id": e.origin_id,
                "idx": e.idx,
                "entry": e.entry,
                "details": e.details,
                "item_sha256": e.item_sha256,
            }
            for e in s.scalars(select(OriginEntry).where(OriginEntry.origin_id == row.id))
        ]
        origin_id = row.id
        transfer = s.scalars(select(Transfer).order_by(Transfer.id)).first()
        assert transfer is not None
        copied = {c.name: getattr(transfer, c.name) for c in Transfer.__table__.columns if c.name != "id"}

    def edit(**values: Any) -> list[str]:
        with dbengine.write_transaction(b.engine) as conn:
            conn.execute(update(Origin).where(Origin.id == origin_id).values(**values))
        problems = _audit(b)
        with dbengine.write_transaction(b.engine) as conn:
            conn.execute(delete(OriginEntry).where(OriginEntry.origin_id == origin_id))
            conn.execute(insert(OriginEntry), kept)
            conn.execute(update(Origin).where(Origin.id == origin_id).values(**saved))
        assert _audit(b) == []
        return problems

    def frontier(entries: list[bytes]) -> bytes:
        out: list[bytes] = []
        origins.frontier_extend(out, 0, (merkle.leaf_hash(e) for e in entries))
        return origins.pack_frontier(out)

    # Rolled back to the first hop's state: entries, checkpoint and compact range all agree with each other.
    with dbengine.write_transaction(b.engine) as conn:
        conn.execute(delete(OriginEntry).where(OriginEntry.origin_id == origin_id, OriginEntry.idx >= first.size))
    older = [bytes(k["entry"]) for k in kept if k["idx"] < first.size]
    assert any(
        "custody log says" in p for p in edit(size=first.size, checkpoint=first.checkpoint, frontier=frontier(older))
    )
    assert any("forked" in p for p in edit(forked=True))
    # The whole mirror swapped for a history signed with another key of the same name.
    other = Signer.generate(name)
    swapped = [bytes(k["entry"]) for k in kept]
    swapped[1] = custody.encode_entry(1, "note.added", 0, None, text="a different history")
    with dbengine.write_transaction(b.engine) as conn:
        conn.execute(
            update(OriginEntry)
            .where(OriginEntry.origin_id == origin_id, OriginEntry.idx == 1)
            .values(entry=swapped[1], details=None, item_sha256=None)
        )
    tree = merkle.MemoryTree([merkle.leaf_hash(e) for e in swapped])
    problems = edit(
        verifier=other.verifier.encode(),
        checkpoint=Checkpoint(name, len(swapped), tree.root()).sign(other),
        frontier=frontier(swapped),
    )
    assert any("key is not the one" in p for p in problems)
    assert any("root entry" in p for p in problems)
    # An item a mirrored receipt names, held at another size than the receipt gives.
    with dbengine.write_transaction(b.engine) as conn:
        conn.execute(update(Item).where(Item.sha256 == hashlib.sha256(b"one").hexdigest()).values(size=4))
    assert any("another size" in p for p in _audit(b))
    with dbengine.write_transaction(b.engine) as conn:
        conn.execute(update(Item).where(Item.sha256 == hashlib.sha256(b"one").hexdigest()).values(size=3))
    # A second row for a transfer (at another entry: one row per entry is a database constraint).
    with dbengine.write_transaction(b.engine) as conn:
        conn.execute(insert(Transfer).values(**{**copied, "log_index": copied["log_index"] - 1}))
    assert any("differs from its custody entry" in p for p in _audit(b))
