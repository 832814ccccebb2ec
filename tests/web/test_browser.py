"""End to end in a real browser: Debian's chromium, driven by Playwright, against the app on loopback.

A witness submits a testimony with a photo from the public page (in Russian, through the
resumable chunked upload), an analyst finds it by a word of its text, sees the witness's
pseudonym and not the name, downloads proofs that ``factfinder verify-proof`` accepts;
an investigator opens the sealed fields with the identity file and that opening shows up
in the custody log. A second test submits through the plain form with JavaScript off.

Every page must load nothing from elsewhere and log no console error (a CSP violation is
one). Screenshots of the main pages go to ``$FACTFINDER_ARTIFACTS`` or
``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Request,
    Route,
    ViewportSize,
    sync_playwright,
)

from factfinder.media import scan
from factfinder.permissions import Role
from factfinder.vault.case import Case
from tests.conftest import ROOT
from tests.web.conftest import PASSWORD, USERS
from tests.web.test_media_pages import patterned_jpeg

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WORD = "зернохранилище"  # the distinctive word the analyst searches for
CONTACT_NAME = "Placeholder Witness Zeta"  # not a real person
TIMEOUT_MS = 15_000

pytestmark = [
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing: install Debian's chromium (make install does as root)"
    ),
    # The browser drives the same routes the TestClient tests drive, and those run on PostgreSQL too; what these
    # tests add (scripts, CSP, real uploads, what a person sees) does not depend on the database.
    pytest.mark.once_on_postgres,
]


def artifacts_dir() -> Path:
    folder = Path(os.environ.get("FACTFINDER_ARTIFACTS") or ROOT / "test-artifacts" / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@dataclass
class Watch:
    """What a browser context did that it must not: console errors, requests to other origins."""

    origin: str
    errors: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)

    def attach(self, context: BrowserContext) -> None:
        context.on("request", self._request)
        context.on("page", self._page)

    def _page(self, page: Page) -> None:
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.errors.append(f"page error: {exc}"))

    def _console(self, msg: ConsoleMessage) -> None:
        if msg.type == "error":
            self.errors.append(f"console: {msg.text} at {msg.location}")

    def _request(self, request: Request) -> None:
        self.requests.append(request)
        parts = urlsplit(request.url)
        if parts.scheme in ("data", "blob"):
            return
        if f"{parts.scheme}://{parts.netloc}" != self.origin:
            self.foreign.append(request.url)

    def check(self, *expected: str) -> None:
        """No console error but one of each ``expected`` (a substring), no foreign request."""
        errors = list(self.errors)
        for text in expected:
            found = [e for e in errors if text in e]
            assert len(found) == 1, f"wanted one console error with {text!r}: {errors}"
            errors.remove(found[0])
        assert not errors, errors
        assert not self.foreign, f"requests to other origins: {self.foreign}"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


@pytest.fixture
def shots() -> Path:
    return artifacts_dir()


PHONE: ViewportSize = {"width": 360, "height": 740}
DESKTOP: ViewportSize = {"width": 1280, "height": 720}


def new_context(
    browser: Browser, origin: str, *, javascript: bool = True, phone: bool = False
) -> tuple[BrowserContext, Page, Watch]:
    context = browser.new_context(
        base_url=origin,
        java_script_enabled=javascript,
        accept_downloads=True,
        locale="ru-RU",
        viewport=PHONE if phone else DESKTOP,
        is_mobile=phone,
    )
    context.set_default_timeout(TIMEOUT_MS)
    watch = Watch(origin)
    watch.attach(context)
    return context, context.new_page(), watch


def shot(page: Page, folder: Path, name: str) -> None:
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 1000, f"empty screenshot {path}"


def assert_fits_phone(page: Page) -> None:
    """Nothing sticks out sideways on a small phone (the digests are long)."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width}px wide on a {PHONE['width']}px phone"


def sign_in(page: Page, role: Role) -> None:
    page.goto("/login")
    page.fill("#username", USERS[role])
    page.fill("#password", PASSWORD)
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    assert urlsplit(page.url).path == "/case", page.content()


def verify_proofs(*checks: tuple[Path, Path | None]) -> list[subprocess.CompletedProcess[str]]:
    """``factfinder verify-proof PROOF [--blob FILE]`` in real subprocesses, side by side."""

    def one(check: tuple[Path, Path | None]) -> subprocess.CompletedProcess[str]:
        proof, blob = check
        args = [sys.executable, "-m", "factfinder", "verify-proof", str(proof)]
        if blob is not None:
            args += ["--blob", str(blob)]
        return subprocess.run(args, capture_output=True, text=True, timeout=60)

    with ThreadPoolExecutor(len(checks)) as pool:
        return list(pool.map(one, checks))


def download_proof(page: Page, folder: Path) -> Path:
    with page.expect_download() as info:
        page.click("text=Download the proof")
    download = info.value
    assert download.failure() is None
    target = folder / download.suggested_filename
    download.save_as(target)
    assert target.suffix == ".tlog-proof"
    return target


def test_submit_find_prove_reveal(
    browser: Browser, live_server: str, testdata: Path, identity_file: Path, shots: Path, tmp_path: Path
) -> None:
    photo = testdata / "pdq" / "bridge-mods" / "aaa-orig.jpg"
    photo_sha = hashlib.sha256(photo.read_bytes()).hexdigest()
    testimony = f"Утром у {WORD} на окраине города стреляли в толпу; я видел это из окна."
    testimony_sha = hashlib.sha256(testimony.encode("utf-8")).hexdigest()

    # -- a witness, with JavaScript: the photo goes up in resumable chunks --------------------
    context, page, watch = new_context(browser, live_server)
    page.goto("/submit?lang=ru")
    assert page.locator("html").get_attribute("lang") == "ru"
    assert page.locator("h1").inner_text() == "Отправить свидетельство"
    page.fill("#testimony", testimony)
    page.set_input_files("#files", str(photo))
    page.fill("#name", CONTACT_NAME)
    shot(page, shots, "submit")
    with page.expect_navigation():
        page.click("#submission button[type=submit]")
    digests = page.locator("code.digest").all_inner_texts()
    assert digests == [testimony_sha, photo_sha]
    assert "Спасибо" in page.locator("h1").inner_text()
    entry = page.locator("table.receipt td.num").first.inner_text()
    shot(page, shots, "receipt")
    api_calls = [(r.method, urlsplit(r.url).path) for r in watch.requests if "/api/v1/uploads" in r.url]
    assert ("POST", "/api/v1/uploads") in api_calls
    assert any(m == "PATCH" for m, _ in api_calls), "the photo did not go up in chunks"
    # the witness checks the receipt on the public page
    page.goto(f"/receipt?entry={entry}&digest={testimony_sha}")
    assert "is in the signed custody log" in page.locator("p.ok").inner_text()
    shot(page, shots, "receipt-check")
    watch.check()
    context.close()

    # -- an analyst: search, pseudonym not name, proofs that verify -----------------------------
    context, page, watch = new_context(browser, live_server)
    page.goto("/login")
    shot(page, shots, "login")
    sign_in(page, Role.ANALYST)
    shot(page, shots, "dashboard")
    page.goto("/items")
    page.fill("#q", WORD)
    with page.expect_navigation():
        page.click("form.filters button[type=submit]")
    assert page.locator("main p", has_text="item").first.inner_text().startswith("1 item")
    links = page.locator("table.items tbody a")
    assert links.count() == 1
    shot(page, shots, "items")
    with page.expect_navigation():
        links.first.click()
    assert page.locator("code.digest").inner_text() == testimony_sha
    body = page.locator("main").inner_text()
    assert WORD in page.locator("pre.testimony").inner_text()
    assert re.search(r"W-\d{4}", body), "no witness pseudonym on the item page"
    assert CONTACT_NAME not in page.content()
    assert "witness_name" in body  # the analyst is told a name is sealed, not what it is
    assert page.locator("form.reveal").count() == 0
    shot(page, shots, "item")
    proof = download_proof(page, tmp_path)
    lines = proof.read_text().split("\n")
    at = next(i for i, line in enumerate(lines) if line.startswith("index ")) + 1
    lines[at] = base64.b64encode(bytes(32)).decode()  # another sibling hash on the inclusion path
    tampered = tmp_path / "tampered.tlog-proof"
    tampered.write_text("\n".join(lines))

    with page.expect_response(lambda r: urlsplit(r.url).path == f"/items/{photo_sha}/preview") as shown:
        page.goto(f"/items/{photo_sha}")
    assert shown.value.status == 200
    assert "sandbox" in shown.value.headers["content-security-policy"]  # the file's own, stricter policy
    preview = page.locator("img.preview")
    preview.wait_for()
    width = preview.evaluate("img => img.complete ? img.naturalWidth : -1")
    assert width > 0, "the photo's preview did not load"
    assert "attached to testimony" in page.locator("main").inner_text()
    shot(page, shots, "item-photo")
    photo_proof = download_proof(page, tmp_path)
    ok, ok_photo, bad, bad_photo = verify_proofs(
        (proof, None),
        (photo_proof, photo),
        (tampered, None),
        (photo_proof, testdata / "pdq" / "bridge-mods" / "blur-a-little.jpg"),
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "proof verifies" in ok.stdout and testimony_sha in ok.stdout
    assert ok_photo.returncode == 0, ok_photo.stdout + ok_photo.stderr
    assert "not checked" not in ok_photo.stdout  # --blob: the JPEG's own bytes were hashed
    assert bad.returncode != 0, "a tampered proof verified"
    assert bad_photo.returncode != 0, "a proof verified against another photo"
    page.goto("/log")
    assert "protected.opened" not in page.locator("table.log").inner_text()
    watch.check()
    context.close()

    # -- an investigator opens the sealed fields; the opening is in the custody log ------------
    context, page, watch = new_context(browser, live_server)
    sign_in(page, Role.INVESTIGATOR)
    page.goto(f"/items/{testimony_sha}")
    assert CONTACT_NAME not in page.content()
    page.set_input_files("#identity", str(identity_file))
    with page.expect_navigation():
        page.click("form.reveal button[type=submit]")
    assert CONTACT_NAME in page.locator("dd.opened").first.inner_text()
    shot(page, shots, "item-revealed")
    page.goto("/log")
    rows = page.locator("table.log tbody tr", has_text="protected.opened")
    assert rows.count() == 1
    assert USERS[Role.INVESTIGATOR] in rows.first.inner_text()
    assert testimony_sha[:16] in rows.first.inner_text()
    assert page.locator("p.ok[role=status]").count() == 1, "the custody log does not verify"
    shot(page, shots, "log")
    watch.check()
    context.close()

    # -- an admin's user list -------------------------------------------------------------------
    context, page, watch = new_context(browser, live_server)
    sign_in(page, Role.ADMIN)
    page.goto("/users")
    names = page.locator("table tbody td:first-child").all_inner_texts()
    assert sorted(names) == sorted(USERS.values())
    for role, name in USERS.items():  # no button to disable yourself: the server would refuse
        assert page.get_by_role("button", name=f"Disable {name}").count() == (role != Role.ADMIN)
    shot(page, shots, "users")
    watch.check()
    context.close()


def test_submit_without_javascript(browser: Browser, live_server: str, testdata: Path, shots: Path) -> None:
    photo = testdata / "pdq" / "bridge-mods" / "blur-a-lot.jpg"
    photo_sha = hashlib.sha256(photo.read_bytes()).hexdigest()
    testimony = "Without scripts: soldiers at the checkpoint near the depot."
    context, page, watch = new_context(browser, live_server, javascript=False, phone=True)
    page.goto("/submit?lang=kk")
    assert page.locator("html").get_attribute("lang") == "kk"
    assert_fits_phone(page)
    shot(page, shots, "submit-phone")
    page.fill("#testimony", testimony)
    page.set_input_files("#files", str(photo))
    with page.expect_navigation():
        page.click("#submission button[type=submit]")
    assert page.locator("code.digest").all_inner_texts() == [
        hashlib.sha256(testimony.encode()).hexdigest(),
        photo_sha,
    ]
    assert_fits_phone(page)
    posts = [r for r in watch.requests if r.method == "POST"]
    assert [urlsplit(r.url).path for r in posts] == ["/submit"]
    assert (posts[0].header_value("content-type") or "").startswith("multipart/form-data")
    assert not [r for r in watch.requests if "/api/" in r.url]
    shot(page, shots, "receipt-nojs")
    watch.check()
    context.close()


def test_chunked_upload_resumes_after_a_dropped_connection(browser: Browser, live_server: str, tmp_path: Path) -> None:
    """The server takes the second chunk but the answer is lost: the page asks where the
    upload stands and goes on from there, without sending that chunk again."""
    chunk = 1 << 20
    big = tmp_path / "recording.bin"
    big.write_bytes(os.urandom(2 * chunk + chunk // 2))
    context, page, watch = new_context(browser, live_server)
    dropped: list[str] = []

    def answer_lost(route: Route) -> None:
        request = route.request
        if request.method == "PATCH" and request.header_value("upload-offset") == str(chunk) and not dropped:
            dropped.append(request.url)
            route.fetch()  # the chunk reaches the server ...
            route.abort("connectionreset")  # ... and the connection drops before the answer
        else:
            route.continue_()

    page.route("**/api/v1/uploads/**", answer_lost)
    page.goto("/submit?lang=en")
    page.set_input_files("#files", str(big))
    with page.expect_navigation():
        page.click("#submission button[type=submit]")
        # the witness is told, while the page waits to retry
        assert "will resume" in page.locator("#upload-progress p.note").inner_text()
    assert page.locator("code.digest").all_inner_texts() == [hashlib.sha256(big.read_bytes()).hexdigest()]
    assert dropped, "the route never dropped a chunk"
    patches = [r.header_value("upload-offset") for r in watch.requests if r.method == "PATCH"]
    assert patches == ["0", str(chunk), str(2 * chunk)]
    asked = [r for r in watch.requests if r.method == "GET" and urlsplit(r.url).path == urlsplit(dropped[0]).path]
    assert len(asked) == 1, "the page did not ask where the upload stood"
    watch.check("ERR_CONNECTION_RESET")
    context.close()


def test_media_pages(browser: Browser, live_server: str, web_case: Case, testdata: Path, shots: Path) -> None:
    """An analyst reads an item's media facts and its matches, then the clusters and one cluster's ranking."""
    bridge = testdata / "pdq" / "bridge-mods"
    names = ["aaa-orig.jpg", "blur-a-little.jpg", "shrink-a-lot.jpg"]
    shas = [web_case.add_bytes((bridge / n).read_bytes(), actor="tester", channel="usb").sha256 for n in names]
    gps = web_case.add_bytes(patterned_jpeg(0, gps=True), actor="tester", channel="usb").sha256
    clip = web_case.add_bytes((testdata / "video" / "chair-19-sd-bar.mp4").read_bytes(), actor="tester", channel="usb")
    scan.scan_case(web_case, workers=1)

    context, page, watch = new_context(browser, live_server)
    sign_in(page, Role.ANALYST)
    page.goto(f"/items/{shas[0]}")
    media = page.locator("section.media")
    assert "Claimed by the file" in media.inner_text()
    assert "1600 × 1004 pixels" in media.locator("table.claimed").inner_text()
    thumb = media.locator("img.thumb").first
    thumb.wait_for()
    assert thumb.evaluate("img => img.complete ? img.naturalWidth : -1") > 0, "the thumbnail did not load"
    rows = media.locator("table.matches tbody tr")
    assert rows.count() == 2
    assert {shas[1][:16], shas[2][:16]} <= set(rows.locator("code").all_inner_texts())
    assert "bits of 256" in rows.first.inner_text()
    shot(page, shots, "item-media")

    page.goto("/media/clusters")
    cards = page.locator("section.cluster-card")
    assert cards.count() == 1
    assert "3 items" in cards.first.locator("h2").inner_text()
    assert cards.first.locator("img.thumb").count() == 3
    shot(page, shots, "clusters")
    with page.expect_navigation():
        cards.first.locator("h2 a").click()
    first = page.locator("ol.candidates > li").first
    assert shas[0][:16] in first.inner_text()  # received first, largest: the most likely original
    assert "first received by the vault" in first.inner_text()
    assert page.locator("section.member").count() == 3
    assert clip.sha256[:16] not in page.content()
    shot(page, shots, "cluster")

    page.goto(f"/items/{gps}")
    coordinates = page.locator("section.media table.gps tbody").inner_text()
    assert "43.341667" in coordinates and "52.860000" in coordinates
    assert "No map tiles are fetched" in page.locator("section.media").inner_text()
    shot(page, shots, "item-media-gps")
    watch.check()
    context.close()


FINDINGS = ROOT / "tests" / "data" / "findings"
FINDINGS_FILES = (  # the Zhanaozen shooting, the death in Shetpe and the Aktau protest, from four sources
    "01-prosecutor-general-2011-12-16.txt",
    "03-steppe-wire-2011-12-17.txt",
    "06-interior-ministry-2011-12-18.txt",
    "09-witness-aktau-2011-12-20.txt",
)


def test_findings_map_timeline_and_report(browser: Browser, live_server: str, web_case: Case, shots: Path) -> None:
    """An analyst opens the map, the timeline and the report: each draws what the findings hold, and no page
    asks anything of any origin but the app's own (no tiles, fonts or scripts from elsewhere)."""
    import json

    from factfinder.findings import store as findings_store
    from factfinder.text import store as text_store

    manifest = {e["file"]: e for e in json.loads((FINDINGS / "manifest.json").read_text(encoding="utf-8"))}
    for name in FINDINGS_FILES:
        web_case.add_bytes(
            (FINDINGS / name).read_bytes(),
            actor="tester",
            channel="usb",
            source=manifest[name]["source"],
            collected_at_claimed=manifest[name]["published"],
        )
    text_store.read_items(web_case)
    incidents = findings_store.findings(web_case).incidents
    located = [i for i in incidents if i.latitude is not None]
    assert len(located) >= 3, [i.label for i in incidents]

    context, page, watch = new_context(browser, live_server)
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    sign_in(page, Role.ANALYST)

    page.goto("/map")
    drawn = page.locator("figure.map svg.factfinder-map")
    assert drawn.count() == 1
    kazakhstan = drawn.locator('path.country[data-name="Kazakhstan"]')
    assert kazakhstan.count() == 1
    box = kazakhstan.bounding_box()
    assert box is not None and box["width"] > 100 and box["height"] > 100, box  # drawn, and large in this view
    markers = drawn.locator("g.marker-incident")
    assert markers.count() == len(located)
    for inc in located:
        marker = drawn.locator(f'a[href="/incidents/{inc.ref}"] g.marker-incident')
        assert marker.count() == 1 and marker.locator("circle").bounding_box() is not None
    shot(page, shots, "findings-map")
    with page.expect_navigation():
        drawn.locator(f'a[href="/incidents/{located[0].ref}"]').click()
    assert urlsplit(page.url).path == f"/incidents/{located[0].ref}"

    page.goto("/timeline")
    chart = page.locator("svg.timeline")
    assert chart.locator("a.entry-incident").count() == len(incidents)
    assert chart.locator("rect.interval").count() >= 1  # Aktau, 17-20 December: a bar, not a day
    assert chart.locator("circle.day").count() >= 1
    shot(page, shots, "findings-timeline")

    page.goto("/report")
    assert "case report" in page.title()
    assert page.locator("#map svg path.country").count() >= 1
    shot(page, shots, "findings-report")
    page.goto("/incidents")
    shot(page, shots, "findings-incidents")

    watch.check()
    foreign = [url for url in asked if not url.startswith(live_server + "/") and not url.startswith(("data:", "blob:"))]
    assert asked and not foreign, foreign
    context.close()


def test_person_register_import_compare_and_review(
    browser: Browser, live_server: str, web_case: Case, tmp_path: Path, shots: Path
) -> None:
    """An analyst imports two invented victim lists from the register's form, reads the register, and decides the
    pair the model is unsure of from the side-by-side page (no script of its own): each form posts and the browser
    is sent on, to the next pair or back to the queue."""
    from factfinder.findings.persons import store
    from tests.web.test_persons_pages import FAMILY_CSV, HOSPITAL_CSV, MAPPING

    context, page, watch = new_context(browser, live_server)
    sign_in(page, Role.ANALYST)
    for data, name, kind, mapping in (
        (FAMILY_CSV, "Семьи (invented)", "family", ""),
        (HOSPITAL_CSV, "Hospital (invented)", "hospital", MAPPING),
    ):
        path = tmp_path / f"{kind}.csv"
        path.write_bytes(data)
        page.goto("/persons/new")
        page.set_input_files("#import-file", str(path))
        page.fill("#import-list", name)
        page.select_option("#import-source-type", kind)
        page.fill("#import-mapping", mapping)
        with page.expect_navigation():
            page.click("form.person-import button[type=submit]")
        assert re.match(r"Imported [34] records", page.inner_text("#imported"))
    page.click("header nav a[href='/persons']")
    page.wait_for_url("**/persons")
    assert page.locator("table.persons tr.person").count() >= 4
    shot(page, shots, "persons-register")

    page.goto("/persons/review")
    with page.expect_navigation():
        page.locator("table.queue a", has_text="Compare").first.click()
    assert page.locator("table.side-by-side mark.diff").count() >= 2  # the given names differ
    shot(page, shots, "persons-compare")
    page.check("#decision-different")
    page.fill("#review-reason", "Placeholder: two brothers")
    with page.expect_navigation():
        page.click("form.review button[type=submit]")
    assert "Recorded:" in page.inner_text("main")
    assert list(store.decisions(web_case).values()) == ["different"]
    watch.check()
    context.close()
