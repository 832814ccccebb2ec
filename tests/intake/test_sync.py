"""Archive-to-archive sync (issue 8) between two real servers on loopback, through a link that drops.

Each archive is a real case folder served by uvicorn, as ``factfinder serve``
runs it, with an investigator's API token. The client (the Python API of
``factfinder sync``) talks to the other archive through a TCP proxy that cuts
the connection after a seeded random number of bytes, several times; the sync
must still complete, leave both archives holding the same items and passing
``verify``, and a second sync must add nothing. A copy of an archive's folder
(same signing key) that grew a different history is a forged fork: reported,
never merged.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import os
import random
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import select

import factfinder.cli_sync  # noqa: F401  (registers `factfinder sync` until cli.py imports it)
from factfinder import accounts
from factfinder.db.models import Transfer
from factfinder.intake import bundles, origins
from factfinder.intake import sync as sync_client
from factfinder.permissions import Role
from factfinder.text import store as text_store
from factfinder.vault.audit import verify_case
from factfinder.vault.case import Case
from factfinder.web import sync as web_sync
from factfinder.web.app import Settings, create_app
from factfinder.web.sync import router as sync_router
from tests.conftest import Cli, NewDatabase


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Served:
    case: Case
    url: str
    token: str
    stop: Callable[[], None]


def _serve(case: Case) -> Served:
    """The case behind a real uvicorn server on a free loopback port, and an investigator's token for it."""
    account = accounts.add_user(case.engine, "investigator1", "a long test password", Role.INVESTIGATOR)
    token = accounts.create_token(case.engine, account, "sync test")
    app = create_app(case, Settings(max_upload_bytes=8 << 20))
    if not any(getattr(r, "path", "") == "/sync/v1/state" for r in app.routes):
        app.include_router(sync_router)  # until app.py includes it
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)

    def stop() -> None:
        server.should_exit = True
        thread.join(10)

    return Served(case, f"http://127.0.0.1:{port}", token, stop)


class DroppingProxy:
    """A TCP proxy to port ``target`` that cuts the live connection at random moments, in each direction.

    ``cuts[direction]`` is (how many cuts, (least, most) bytes between them) for
    the bytes going up (client to server: requests, the pushed bundle) or down
    (the answers, the pulled bundle), counted over all connections. The cut
    points come from a seeded generator, so a failing run can be replayed.
    """

    def __init__(self, target: int, seed: int, cuts: dict[str, tuple[int, tuple[int, int]]]) -> None:
        self.target = target
        self.cuts = cuts
        self.moved = {"up": 0, "down": 0}
        self.dropped = {"up": 0, "down": 0}
        self._rng = random.Random(seed)
        self._next = {way: self._rng.randint(*gap) for way, (_, gap) in cuts.items()}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self._stop.set()
        self._listener.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except (TimeoutError, OSError):
                continue
            server = socket.create_connection(("127.0.0.1", self.target))
            pair = (client, server)
            threading.Thread(target=self._pump, args=(client, server, pair, "up"), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, pair, "down"), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, pair: tuple[socket.socket, ...], way: str) -> None:
        count, gap = self.cuts.get(way, (0, (1, 1)))
        try:
            while data := src.recv(4096):
                with self._lock:
                    moved = self.moved[way]
                    cut = self.dropped[way] < count and moved + len(data) >= self._next[way]
                    if cut:
                        data = data[: self._next[way] - moved]
                        self.dropped[way] += 1
                        self._next[way] = moved + len(data) + self._rng.randint(*gap)
                    self.moved[way] += len(data)
                if data:
                    dst.sendall(data)
                if cut:
                    break
        except OSError:
            pass
        for s in pair:  # a cut, or one side closed: the other side sees the connection end
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()


def _new_case(tmp: Path, name: str, new_database: NewDatabase) -> Case:
    case, _ = Case.init(tmp / name, f"Archive {name}", actor="tester", database_url=new_database())
    return case


def _add(case: Case, *texts: str) -> None:
    for text in texts:
        case.add_bytes(text.encode(), actor="tester", source="field team", original_name=f"{text[:8]}.txt")


def _digests(case: Case) -> set[str]:
    return {item.sha256 for item, _ in case.items()}


def _log_size(case: Case) -> int:
    return case.counts()["log_size"]


def _sync(case: Case, url: str, token: str, lines: list[str] | None = None) -> sync_client.SyncReport:
    said = lines if lines is not None else []
    return sync_client.sync(
        case, url, token, actor="tester", retries=8, backoff=0.01, timeout=5.0, chunk=2048, say=said.append
    )


@pytest.fixture
def two_archives(case: Case, tmp_path: Path, new_database: NewDatabase) -> Iterator[tuple[Served, Served]]:
    other = _new_case(tmp_path, "b", new_database)
    served = (_serve(case), _serve(other))
    yield served
    for s in served:
        s.stop()
    other.close()


def test_sync_through_a_dropping_link_converges(
    two_archives: tuple[Served, Served], cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(sync_client.TOKEN_ENV, raising=False)
    a, b = two_archives
    common = ("testimony heard by both teams: the square at noon", "video description, both archives: 16 Dec")
    _add(a.case, "A only: the hospital list, morning of 17 December", "A only: photo notes from the road block")
    _add(a.case, *common)
    _add(b.case, "B only: a driver's account of the night", "B only: a list from the morgue, 18 December")
    _add(b.case, *common)
    rng = random.Random(2011)  # incompressible media, so that each bundle is several chunks on the wire
    a.case.add_bytes(rng.randbytes(24_000), actor="tester", source="field team", original_name="clip-a.mp4")
    b.case.add_bytes(rng.randbytes(24_000), actor="tester", source="field team", original_name="clip-b.mp4")
    before = _digests(a.case) | _digests(b.case)
    assert _digests(a.case) != _digests(b.case)

    # A wrong token is a clear error, and changes nothing.
    sizes = (_log_size(a.case), _log_size(b.case))
    with pytest.raises(sync_client.SyncError, match="refused \\(401\\)"):
        _sync(a.case, b.url, "fft_not-a-token")
    assert (_log_size(a.case), _log_size(b.case)) == sizes

    cuts = {"up": (4, (1500, 6000)), "down": (3, (8000, 14_000))}
    proxy = DroppingProxy(int(b.url.rsplit(":", 1)[1]), seed=8, cuts=cuts)
    lines: list[str] = []
    try:
        report = _sync(a.case, proxy.url, b.token, lines)
    finally:
        proxy.close()
    assert proxy.dropped == {"up": 4, "down": 3}, "the link was meant to drop during the sync"
    assert report.retries >= 7
    cut = {line.split(":")[0] for line in lines if "retry" in line}
    assert {"push upload", "pull download"} <= cut, lines  # both resumed mid-transfer
    assert report.pushed is not None and report.pulled is not None
    assert report.forks == []
    assert _digests(a.case) == _digests(b.case) == before
    assert verify_case(a.case).ok and verify_case(b.case).ok

    # Once converged, neither direction has anything left to send: no new custody entries on either side.
    sizes = (_log_size(a.case), _log_size(b.case))
    again = _sync(a.case, b.url, b.token)
    assert again.pushed is None and again.pulled is None
    back = _sync(b.case, a.url, a.token)  # the other server, the other way round
    assert back.pushed is None and back.pulled is None
    assert (_log_size(a.case), _log_size(b.case)) == sizes

    # New evidence on one side travels on the next sync, and only that.
    _add(b.case, "B only: a later testimony, 20 December")
    later = _sync(a.case, b.url, b.token)
    assert later.pulled is not None and later.bytes_received < report.bytes_received
    assert _digests(a.case) == _digests(b.case)
    assert verify_case(a.case).ok and verify_case(b.case).ok

    # The command line: the token from a file (never an argument), or a clear error without one.
    token_file = tmp_path / "token"
    token_file.write_text(b.token + "\n")
    _, printed, _ = cli("sync", a.case.path, b.url, "--token-file", token_file)
    assert "pushed: nothing" in printed and "pulled: nothing" in printed
    _, _, error = cli("sync", a.case.path, b.url, code=2)
    assert "--token-file" in error and "FACTFINDER_SYNC_TOKEN" in error


@pytest.mark.once_on_postgres  # the client's or the server's bounds, not database code
def test_a_dead_peer_gives_up_after_the_retries(case: Case) -> None:
    with pytest.raises(sync_client.SyncError, match="gave up after 2 retries"):
        sync_client.sync(case, f"http://127.0.0.1:{_free_port()}", "fft_x", actor="tester", retries=2, backoff=0.01)


@pytest.mark.sqlite_only  # copies the case folder, database file included
def test_a_forged_fork_is_reported_not_merged(two_archives: tuple[Served, Served], tmp_path: Path) -> None:
    a, b = two_archives
    _add(a.case, "A: first testimony", "A: second testimony")
    _sync(a.case, b.url, b.token)
    a.case.engine.dispose()  # let SQLite fold its journal in, so the copy is whole
    shutil.copytree(a.case.path, tmp_path / "forged")
    forged = Case.open(tmp_path / "forged")  # the same signing key: the same origin to anyone else
    try:
        _add(a.case, "A: a third testimony")
        _add(forged, "forged: a testimony that never was", "forged: another", "forged: and a third")
        _sync(a.case, b.url, b.token)  # B now mirrors the real history
        held = _digests(b.case)
        sizes = {name: o.size for name, o in origins.held(b.case).items()}
        report = _sync(forged, b.url, b.token)
        # B refuses the forged history, found by its consistency check on a suffix sent from where B stood;
        # the forged copy learns that B holds another one.
        assert report.forks == [f"pushed: origin {a.case.log.origin}", f"pulled: origin {a.case.log.origin}"]
        assert report.pushed is not None
        [sent] = [o for o in report.pushed["origins"] if o["name"] == a.case.log.origin]
        assert sent["from_size"] == sizes[a.case.log.origin] > 0, "not the whole history again"
        assert not (_digests(forged) - _digests(a.case)) & _digests(b.case), "nothing of the fork is merged"
        assert _digests(b.case) == held
        assert verify_case(b.case).ok
        # B now holds the origin as forked: the next sync reports it from the state alone and sends none of it.
        again = _sync(forged, b.url, b.token)
        assert again.forks == [f"state: origin {a.case.log.origin}"]
        assert again.pushed is None or all(
            o["status"] != "fork" for o in again.pushed["origins"] if o["name"] == a.case.log.origin
        )
        assert _digests(b.case) == held
    finally:
        forged.close()


@pytest.mark.once_on_postgres  # the after-intake steps and the server's refusals, not database code
def test_bad_pushes_are_refused_and_change_nothing(case: Case, tmp_path: Path) -> None:
    served = _serve(case)
    _add(case, "held before the bad pushes")
    analyst = accounts.add_user(case.engine, "analyst1", "a long test password", Role.ANALYST)
    size = _log_size(case)
    auth = {"Authorization": f"Bearer {served.token}"}
    try:
        with httpx.Client(base_url=served.url + "/sync/v1", headers=auth, timeout=10) as http:
            reader = {"Authorization": f"Bearer {accounts.create_token(case.engine, analyst, 't')}"}
            assert http.get("/state", headers=reader).status_code == 200  # an analyst may read the state...
            refused = http.post("/uploads", json={"size": 1, "sha256": "0" * 64, "bundle_size": 1}, headers=reader)
            assert refused.status_code == 403  # ...but not push evidence
            pulled = http.post("/bundles", json={"have": {}}, headers=reader)
            assert pulled.status_code == 403  # ...nor pull a replica, sealed answers in clear in its originals

            def push(packed: bytes, sha256: str, bundle_size: int, wait: float = 10) -> httpx.Response:
                body = {"size": len(packed), "sha256": sha256, "bundle_size": bundle_size}
                upload = http.post("/uploads", json=body).json()
                where = f"/uploads/{upload['id']}"
                early = http.put(where, content=packed[:10], headers={"Upload-Offset": "5"})
                assert early.status_code == 409 and early.json()["offset"] == 0  # only where it stands
                assert http.put(where, content=packed, headers={"Upload-Offset": "0"}).json()["offset"] == len(packed)
                return http.post(where + "/import", params={"wait": wait})

            garbage = b"not a bundle at all" * 50
            packed = gzip.compress(garbage)
            wrong_digest = push(packed, hashlib.sha256(b"other").hexdigest(), len(garbage))
            assert wrong_digest.status_code == 422 and "SHA-256" in wrong_digest.text
            not_a_bundle = push(packed, hashlib.sha256(packed).hexdigest(), len(garbage))
            assert not_a_bundle.status_code == 422 and "bundle refused" in not_a_bundle.text
            bomb = push(packed, hashlib.sha256(packed).hexdigest(), 100)  # unpacks past what it announced
            assert bomb.status_code == 422 and "more than the 100 bytes" in bomb.text
            assert http.get("/bundles/" + "x" * 24).status_code == 404

            # A good push: answered at once or, if the import outlasts `wait`, asked again; the same report after.
            plain, packed = tmp_path / "b.bundle", tmp_path / "b.gz"
            have = {name: o.size for name, o in origins.held(case).items()}
            info = bundles.export_bundle(case, plain, have=have, recipients=None, for_archive=case.log.origin)
            sync_client.pack(plain, packed)
            good = push(packed.read_bytes(), _sha(packed), info.size, wait=0)
            first = good if good.status_code == 200 else None
            where = str(good.url).removeprefix(served.url + "/sync/v1")
            for _ in range(50):
                if first is not None:
                    break
                assert good.status_code == 202
                good = http.post(where, params={"wait": 1})
                first = good if good.status_code == 200 else None
            assert first is not None and first.json()["nothing_new"] is True
            assert http.post(where).json() == first.json()
    finally:
        served.stop()
    assert _log_size(case) == size
    assert not list((case.blobs.tmp / "sync-in").glob("*.part")), "refused uploads are not kept"
    assert verify_case(case).ok


# -- a peer that misbehaves: the client stays bounded (the peer is played by httpx.MockTransport) -----------


class FakePeer:
    """The server side of ``/sync/v1`` as a hostile or broken peer might play it, counting what it is asked."""

    def __init__(
        self,
        wire: bytes = b"",
        *,
        announce: dict[str, object] | None = None,
        serve: Callable[[httpx.Request, bytes], httpx.Response] | None = None,
        origins_state: dict[str, object] | None = None,
    ) -> None:
        self.wire = wire
        self.offer: dict[str, object] = {
            "id": "b" * 24,
            "size": len(wire),
            "sha256": hashlib.sha256(wire).hexdigest(),
            "bundle_size": 4096,
        }
        self.offer.update(announce or {})
        self.serve = serve or (lambda request, wire: httpx.Response(200, content=wire))
        self.origins = origins_state or {}
        self.asked: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        what = f"{request.method} {request.url.path.removeprefix('/sync/v1')}"
        self.asked.append(what)
        if what == "GET /state":
            return httpx.Response(200, json={"format": 1, "archive": "peer", "origins": self.origins})
        if what == "POST /bundles":
            return httpx.Response(201, json=self.offer)
        if what.startswith("GET /bundles/"):
            return self.serve(request, self.wire)
        if what.startswith("DELETE"):
            return httpx.Response(204)
        if what == "POST /uploads":
            return httpx.Response(201, json={"id": "u" * 24, "size": 0, "offset": 0})
        if what.startswith("PUT /uploads/"):
            return httpx.Response(200, json={"offset": int(request.headers["upload-offset"]) + len(request.content)})
        if what.endswith("/import"):
            return httpx.Response(202, json={"detail": "importing: ask again"})
        return httpx.Response(404, json={"detail": "no such route"})

    def count(self, prefix: str) -> int:
        return sum(1 for what in self.asked if what.startswith(prefix))


def _sync_with(case: Case, peer: FakePeer, **kwargs: Any) -> sync_client.SyncReport:
    return sync_client.sync(
        case,
        "http://peer.invalid",
        "fft_x",
        actor="tester",
        retries=2,
        backoff=0.0,
        timeout=5.0,
        say=lambda line: None,
        transport=httpx.MockTransport(peer),
        **kwargs,
    )


def _gzip_of_bytes(n: int) -> bytes:
    return gzip.compress(b"\0" * n)


def _half_then_stop(request: httpx.Request, wire: bytes) -> httpx.Response:
    """Always the first half of the file, from 0, as if whole: no resume ever gets further."""
    return httpx.Response(200, content=wire[: len(wire) // 2])


def _nothing_from_there(request: httpx.Request, wire: bytes) -> httpx.Response:
    start = int(request.headers.get("range", "bytes=0-")[6:].rstrip("-"))
    if start == 0:
        return httpx.Response(200, content=wire[:10])
    return httpx.Response(206, content=b"", headers={"content-range": f"bytes {start}-{len(wire) - 1}/{len(wire)}"})


@pytest.mark.once_on_postgres  # the client's or the server's bounds, not database code
@pytest.mark.parametrize(
    ("peer", "error", "gets"),
    [
        # The same bytes again and again under a wrong SHA-256: fetched twice, then given up (not for ever).
        (FakePeer(b"x" * 5000, announce={"sha256": "0" * 64}), "not the one announced, 2 times", 2),
        # More bytes than announced: never written past the announced size.
        (FakePeer(b"x" * 50_000, announce={"size": 1000}), "more than the 1,000 bytes it announced", 1),
        # Answers that restart from 0, or bring nothing new, spend the retry budget although bytes flow:
        # one answer that brings bytes, then three that bring none beyond them.
        (FakePeer(b"x" * 5000, serve=_half_then_stop), "gave up after 2 retries", 4),
        (FakePeer(b"x" * 5000, serve=_nothing_from_there), "gave up after 2 retries", 4),
        # Room on this disk is checked before a byte is fetched.
        (FakePeer(b"x" * 10, announce={"bundle_size": 1 << 60}), "not enough free disk", 0),
        # What unpacks past the bundle size announced is stopped there (no gzip bomb fills the disk).
        (FakePeer(_gzip_of_bytes(1 << 20), announce={"bundle_size": 1000}), "more than the 1,000 bytes announced", 1),
    ],
    ids=["wrong-digest", "overflow", "restarts", "no-new-bytes", "no-room", "gzip-bomb"],
)
def test_a_peer_cannot_keep_a_pull_going_or_fill_the_disk(case: Case, peer: FakePeer, error: str, gets: int) -> None:
    size = _log_size(case)
    with pytest.raises(sync_client.SyncError, match=error):
        _sync_with(case, peer, push=False)
    assert peer.count("GET /bundles/") == gets
    assert _log_size(case) == size
    assert not list((case.blobs.tmp / "sync").iterdir()), "nothing of it is left on the disk"


@pytest.mark.once_on_postgres  # the client's or the server's bounds, not database code
def test_the_wait_for_a_push_import_is_bounded(case: Case) -> None:
    _add(case, "an item the peer lacks")
    peer = FakePeer()  # answers 202 to every import request, for ever
    with pytest.raises(sync_client.SyncError, match="still importing after"):
        _sync_with(case, peer, pull=False, import_wait=0.2)
    assert 1 <= peer.count("POST /uploads/") <= 3


@pytest.mark.once_on_postgres  # the client's or the server's bounds, not database code
def test_an_origin_the_peer_holds_as_forked_is_not_sent(case: Case) -> None:
    _add(case, "an item the peer would lack, were it taking this origin")
    held = origins.state(case)["origins"][case.log.origin]
    peer = FakePeer(origins_state={case.log.origin: {**held, "size": 1, "forked": True}})
    report = _sync_with(case, peer, pull=False)
    assert report.pushed is None and peer.count("POST /uploads") == 0


# -- the server's bounds, and what an import leaves behind ---------------------------------------------


@pytest.mark.once_on_postgres  # the client's or the server's bounds, not database code
def test_the_server_bounds_uploads_and_spools(case: Case, monkeypatch: pytest.MonkeyPatch) -> None:
    served = _serve(case)
    _add(case, "held here, asked for by the caller")
    auth = {"Authorization": f"Bearer {served.token}"}
    incoming = case.blobs.tmp / "sync-in"
    try:
        with httpx.Client(base_url=served.url + "/sync/v1", headers=auth, timeout=10) as http:

            def announce(size: int = 3, bundle_size: int = 3) -> httpx.Response:
                return http.post("/uploads", json={"size": size, "sha256": "0" * 64, "bundle_size": bundle_size})

            # Room is counted beside what the uploads already open still need, not afresh for each.
            free = shutil.disk_usage(case.blobs.tmp).free
            big = (free - web_sync.DISK_MARGIN) // 4
            if not 0 < big <= web_sync.MAX_BUNDLE_BYTES:
                pytest.skip("this disk is too full or too large for the room test")
            first = announce(big, big)  # needs three quarters of what there is room for
            assert first.status_code == 201, first.text
            second = announce(big, big)
            assert second.status_code == 413 and "free disk" in second.text

            # One account has at most MAX_UPLOADS open; one left idle is given up for the next.
            opened = [first.json()["id"]] + [announce().json()["id"] for _ in range(web_sync.MAX_UPLOADS - 1)]
            refused = announce()
            assert refused.status_code == 429 and "uploads open" in refused.text
            idle = incoming / f"{opened[1]}.json"
            old = idle.stat().st_mtime - web_sync.UPLOAD_IDLE_SECONDS - 60
            os.utime(idle, (old, old))
            assert announce().status_code == 201
            assert http.get(f"/uploads/{opened[1]}").status_code == 404, "the idle upload was given up"

            # A disk that fills during an upload: 507, and nothing of that chunk written.
            monkeypatch.setattr(web_sync, "DISK_FLOOR", 1 << 62)
            full = http.put(f"/uploads/{opened[2]}", content=b"abc", headers={"Upload-Offset": "0"})
            assert full.status_code == 507 and "nearly full" in full.text
            assert http.get(f"/uploads/{opened[2]}").json()["offset"] == 0
            monkeypatch.undo()

            # The same request for a bundle while nothing changed here gets the same spool file, not another.
            made = http.post("/bundles", json={"have": {}})
            assert made.status_code == 201
            assert http.post("/bundles", json={"have": {}}).json() == made.json()
            assert len(list((case.blobs.tmp / "sync-out").glob("*.gz"))) == 1
            # Room is checked before a bundle is written.
            monkeypatch.setattr(web_sync, "DISK_MARGIN", 1 << 62)
            no_room = http.post("/bundles", json={"have": {case.log.origin: 1}})
            assert no_room.status_code == 507 and "free disk" in no_room.text
            monkeypatch.undo()
            # An account writes at most MAX_SPOOLING bundles at once.
            with contextlib.ExitStack() as busy:
                for _ in range(web_sync.MAX_SPOOLING):
                    busy.enter_context(web_sync._spooling_slot(case, "investigator1"))
                crowded = http.post("/bundles", json={"have": {case.log.origin: 1}})
            assert crowded.status_code == 429 and "being written" in crowded.text
            assert http.post("/bundles", json={"have": {case.log.origin: 1}}).status_code == 201
    finally:
        served.stop()
    assert verify_case(case).ok


@pytest.mark.once_on_postgres  # the client's or the server's bounds, not database code
def test_an_import_that_cannot_keep_its_outcome_is_not_awaited_for_ever(case: Case, tmp_path: Path) -> None:
    served = _serve(case)
    auth = {"Authorization": f"Bearer {served.token}"}
    plain, packed = tmp_path / "b.bundle", tmp_path / "b.gz"
    have = {name: o.size for name, o in origins.held(case).items()}
    info = bundles.export_bundle(case, plain, have=have, recipients=None, for_archive=case.log.origin)
    size, digest = sync_client.pack(plain, packed)
    try:
        with httpx.Client(base_url=served.url + "/sync/v1", headers=auth, timeout=20) as http:
            upload = http.post("/uploads", json={"size": size, "sha256": digest, "bundle_size": info.size}).json()
            where = f"/uploads/{upload['id']}"
            assert http.put(where, content=packed.read_bytes(), headers={"Upload-Offset": "0"}).status_code == 200
            done = case.blobs.tmp / "sync-in" / f"{upload['id']}.done.json"
            done.mkdir()  # where the outcome goes cannot be written
            ended = http.post(where + "/import", params={"wait": 15})
            assert ended.status_code == 500 and "ask again" in ended.text
            assert web_sync.incoming_path(case, upload["id"]) not in web_sync._running
            done.rmdir()
            again = http.post(where + "/import", params={"wait": 15})  # imported again, and answered this time
            assert again.status_code == 200 and again.json()["nothing_new"] is True
            assert http.post(where + "/import").json() == again.json()
    finally:
        served.stop()
    assert verify_case(case).ok


def _reader_done(case: Case, sha: str) -> bool:
    return text_store.unread(case, [sha]) == []


@pytest.mark.once_on_postgres  # the after-intake steps and the server's refusals, not database code
def test_what_a_sync_brings_is_analysed_and_its_peer_kept_as_a_claim(
    two_archives: tuple[Served, Served], cli: Cli, tmp_path: Path
) -> None:
    a, b = two_archives
    pushed = a.case.add_bytes(b"Testimony sent by sync: 40 people detained", actor="tester", original_name="t.txt")
    _sync(a.case, b.url, b.token)
    for thread in list(web_sync._running.values()):  # the import's thread analyses the new items, then ends
        thread.join(120)
    assert _reader_done(b.case, pushed.sha256), "the pushed text was read at the peer"
    with b.case.engine.connect() as conn:
        [claimed] = conn.execute(select(Transfer.peer).where(Transfer.kind == "sync")).scalars().all()
    assert claimed == f"client (announced archive {a.case.log.origin})"

    token_file = tmp_path / "token"
    token_file.write_text(b.token)
    pulled = b.case.add_bytes(b"Testimony fetched by sync: the square", actor="tester", original_name="p.txt")
    cli("sync", a.case.path, b.url, "--token-file", token_file)
    assert _reader_done(a.case, pulled.sha256), "the pulled text was read here"
    skipped = b.case.add_bytes(b"Testimony fetched without the media step", actor="tester", original_name="q.txt")
    cli("sync", a.case.path, b.url, "--token-file", token_file, "--no-media")
    assert skipped.sha256 in _digests(a.case) and not _reader_done(a.case, skipped.sha256)
    with a.case.engine.connect() as conn:
        peers = set(conn.execute(select(Transfer.peer).where(Transfer.kind == "sync")).scalars())
    assert peers == {f"{b.url} (announced archive {b.case.log.origin})"}
    assert verify_case(a.case).ok and verify_case(b.case).ok
