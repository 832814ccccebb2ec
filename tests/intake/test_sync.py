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
import random
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn

import factfinder.cli_sync  # noqa: F401  (registers `factfinder sync` until cli.py imports it)
from factfinder import accounts
from factfinder.intake import bundles, origins
from factfinder.intake import sync as sync_client
from factfinder.permissions import Role
from factfinder.vault.audit import verify_case
from factfinder.vault.case import Case
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
        report = _sync(forged, b.url, b.token)
        # B refuses the forged history, and the forged copy learns that B holds another one.
        assert report.forks == [f"pushed: origin {a.case.log.origin}", f"pulled: origin {a.case.log.origin}"]
        assert not (_digests(forged) - _digests(a.case)) & _digests(b.case), "nothing of the fork is merged"
        assert _digests(b.case) == held
        assert verify_case(b.case).ok
    finally:
        forged.close()


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
