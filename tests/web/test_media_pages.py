"""The media pages: what the media step found about an item, its matches and the clusters, per role.

One case for the module, holding real pictures and videos from the shared test
data (a bridge photo, edits of it, two clips of the same footage) and a JPEG made
here with a GPS position, a camera model and a serial number in its EXIF. Some
are published through the web, as an investigator would; the rest stay
unpublished, and the observer's pages must not betray that they exist.
"""

from __future__ import annotations

import hashlib
import io
import logging
import random
import time
from dataclasses import dataclass
from typing import Any

import httpx2
import pytest
from PIL import Image, ImageDraw
from sqlalchemy import select

from factfinder.db.models import Item, MediaAnalysis
from factfinder.intake import webform
from factfinder.media import redact, scan
from factfinder.permissions import Role
from factfinder.vault import audit
from factfinder.vault.case import Case
from factfinder.web import mediascan
from tests.web.conftest import Member, Team

FILES = {  # added in this order: the original is the first the vault receives
    "orig": "pdq/bridge-mods/aaa-orig.jpg",
    "blur": "pdq/bridge-mods/blur-a-little.jpg",
    "rot90": "pdq/dihedral/bridge-2-rotate-90.jpg",
    "sharpen": "pdq/bridge-mods/sharpen-a-little.jpg",
    "shrink": "pdq/bridge-mods/shrink-a-lot.jpg",
    "clip19": "video/chair-19-sd-bar.mp4",
    "clip20": "video/chair-20-sd-bar.mp4",
}
PUBLISHED = ("orig", "blur", "rot90", "clip19", "gps")
UNPUBLISHED = ("sharpen", "shrink", "clip20")
# What the made-up photo claims; placeholders, not anyone's real device or position.
CAMERA_MODEL = "Placeholder Cam X1"
SERIAL = "SN-PLACEHOLDER-0042"
LAT_TEXT, LON_TEXT = "43.341667", "52.860000"  # 43°20'30" N, 52°51'36" E


def patterned_jpeg(seed: int, *, gps: bool = False) -> bytes:
    """A JPEG of random blocks (no two seeds alike to PDQ); with ``gps``, EXIF naming a place and a device."""
    rng = random.Random(seed)
    img = Image.new("RGB", (640, 480))
    draw = ImageDraw.Draw(img)
    for x in range(0, 640, 80):
        for y in range(0, 480, 80):
            draw.rectangle((x, y, x + 79, y + 79), fill=(rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    exif = Image.Exif()
    if gps:
        exif[0x010F] = "Placeholder Make"
        exif[0x0110] = CAMERA_MODEL
        details = exif.get_ifd(0x8769)
        details[0x9003] = "2011:12:16 11:45:00"  # DateTimeOriginal
        details[0xA431] = SERIAL  # BodySerialNumber
        position = exif.get_ifd(0x8825)
        position.update({1: "N", 2: (43.0, 20.0, 30.0), 3: "E", 4: (52.0, 51.0, 36.0), 5: b"\x00", 6: 210.0})
    out = io.BytesIO()
    img.save(out, "JPEG", exif=exif, quality=90)
    return out.getvalue()


@dataclass
class MediaCase:
    team: Team
    sha: dict[str, str]
    originals: dict[str, bytes]
    text_sha: str

    @property
    def case(self) -> Case:
        return self.team.case

    def member(self, role: Role) -> Member:
        return self.team.members[role]

    def item_id(self, name: str) -> int:
        return self.case.resolve(self.sha[name]).id


@pytest.fixture(scope="module")
def media(team: Team, testdata: Any) -> MediaCase:
    case = team.case
    originals = {name: (testdata / path).read_bytes() for name, path in FILES.items()}
    originals["gps"] = patterned_jpeg(0, gps=True)
    sha = {}
    for name, data in originals.items():
        sha[name] = case.add_bytes(data, actor="tester", channel="usb", original_name=f"{name}.bin").sha256
    [text] = webform.submit(case, webform.Submission("a testimony with no picture"))
    report = scan.scan_case(case, workers=1)
    assert report.analysed == len(originals) and report.failed == 0, report.errors
    investigator = team.members[Role.INVESTIGATOR]
    for name in PUBLISHED:  # through the page, as an investigator would: this makes the published copies
        r = investigator.client.post(
            f"/items/{sha[name]}/publish", data={"csrf_token": investigator.csrf}, follow_redirects=False
        )
        assert r.status_code == 303, r.text
    return MediaCase(team, sha, originals, text.sha256)


def shas_in(text: str, media: MediaCase, names: tuple[str, ...]) -> set[str]:
    """Which of the named items a page or JSON mentions (by any 12-digit prefix of their digest)."""
    return {name for name in names if media.sha[name][:12] in text}


# -- the item page ---------------------------------------------------------------------------------


def test_item_page_shows_what_the_file_claims_and_the_same_picture_elsewhere(media: MediaCase) -> None:
    analyst = media.member(Role.ANALYST).client
    page = analyst.get(f"/items/{media.sha['orig']}").text
    assert "Claimed by the file" in page
    assert "1600 × 1004 pixels" in page
    assert '<th scope="row">Software</th><td>Google</td>' in page  # what its EXIF says made it
    assert f"/items/{media.sha['orig']}/thumbnail" in page
    assert "Same picture or footage elsewhere in the case" in page
    # the analyst sees every copy, published or not, and how each one relates
    assert shas_in(page, media, ("blur", "rot90", "sharpen", "shrink")) == {"blur", "rot90", "sharpen", "shrink"}
    assert "bits of 256" in page
    assert "turned or mirrored" in page  # the rotated copy
    assert f'href="/media/clusters/{media.item_id("orig")}"' in page
    assert shas_in(page, media, ("clip19", "clip20", "gps")) == set()  # other footage is not the same picture
    rotated = analyst.get(f"/items/{media.sha['rot90']}").text
    assert "2016-08-17T11:11:38" in rotated and "1004 × 1600 pixels" in rotated  # the capture time its EXIF claims

    clip = analyst.get(f"/items/{media.sha['clip19']}").text
    assert "same footage" in clip and media.sha["clip20"][:16] in clip
    assert " here = " in clip and " there" in clip  # which seconds of each video are the same footage
    assert "Codecs" in clip and "h264" in clip and "Duration" in clip


def test_observers_hear_nothing_of_unpublished_matches(media: MediaCase) -> None:
    observer = media.member(Role.OBSERVER).client
    page = observer.get(f"/items/{media.sha['orig']}").text
    assert shas_in(page, media, ("blur", "rot90")) == {"blur", "rot90"}
    assert shas_in(page, media, UNPUBLISHED) == set()
    data = observer.get(f"/api/v1/items/{media.sha['orig']}/media").json()
    assert sorted(m["sha256"] for m in data["matches"]) == sorted([media.sha["blur"], media.sha["rot90"]])
    # its only match is unpublished: to an observer the clip matches nothing and is in no cluster
    clip = observer.get(f"/items/{media.sha['clip19']}").text
    assert shas_in(clip, media, UNPUBLISHED) == set()
    assert "/media/clusters/" not in clip and "here =" not in clip
    assert observer.get(f"/api/v1/items/{media.sha['clip19']}/media").json()["matches"] == []
    # and the unpublished items themselves are not there at all
    for name in UNPUBLISHED:
        for url in (f"/items/{media.sha[name]}/thumbnail", f"/api/v1/items/{media.sha[name]}/media"):
            assert observer.get(url).status_code == 404, url


def test_observers_never_see_where_a_photo_was_taken_or_with_what(media: MediaCase) -> None:
    sha = media.sha["gps"]
    analyst = media.member(Role.ANALYST).client
    observer = media.member(Role.OBSERVER).client
    mine = analyst.get(f"/items/{sha}").text
    assert LAT_TEXT in mine and LON_TEXT in mine and "210.0 m" in mine
    assert "No map tiles are fetched" in mine
    assert CAMERA_MODEL in mine and SERIAL in mine  # the serial is in the raw metadata
    theirs = observer.get(f"/items/{sha}").text
    api = observer.get(f"/api/v1/items/{sha}/media").text
    for text in (theirs, api):
        for secret in ("43.34", "52.86", CAMERA_MODEL, "Placeholder Make", SERIAL):
            assert secret not in text
    assert "2011-12-16T11:45:00" in theirs  # what it claims about when is not withheld
    claimed = observer.get(f"/api/v1/items/{sha}/media").json()["analysis"]
    assert claimed["gps"] is None and claimed["raw_metadata"] is None and claimed["claimed"]["camera_model"] is None
    assert "gps" in claimed["withheld"]
    assert analyst.get(f"/api/v1/items/{sha}/media").json()["analysis"]["gps"]["lat"] == pytest.approx(43.3416667)

    original = media.originals["gps"]
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825)  # the test file does carry GPS
    for url in (f"/items/{sha}/original", f"/api/v1/items/{sha}/original"):
        assert analyst.get(url).content == original  # the team gets the original, byte for byte
        copy = observer.get(url)
        assert copy.status_code == 200 and copy.headers["content-type"] == "application/octet-stream"
        assert copy.content != original
        with Image.open(io.BytesIO(copy.content)) as img:
            exif = img.getexif()
            assert not exif.get_ifd(0x8825) and 0x0110 not in exif and SERIAL.encode() not in copy.content
            assert img.size == (640, 480)
    preview = observer.get(f"/items/{sha}/preview")
    assert preview.status_code == 200 and preview.content == observer.get(f"/items/{sha}/original").content
    thumb = observer.get(f"/items/{sha}/thumbnail")
    assert thumb.status_code == 200 and not Image.open(io.BytesIO(thumb.content)).getexif()
    # the original in the vault is untouched, and the copy is in the custody log
    assert media.case.blobs.path(sha).read_bytes() == original
    assert audit.verify_case(media.case).ok


def test_a_published_photo_without_a_copy_is_not_served_to_observers(media: MediaCase, testdata: Any) -> None:
    case = media.case
    sha = case.add_bytes(
        (testdata / "pdq/bridge-mods/square-128x128.jpg").read_bytes(), actor="tester", channel="usb"
    ).sha256
    case.publish(sha, actor="tester")  # published outside the web app: no copy made
    observer = media.member(Role.OBSERVER).client
    for url in (f"/items/{sha}/original", f"/items/{sha}/preview", f"/api/v1/items/{sha}/original"):
        r = observer.get(url)
        assert r.status_code == 404, url
        assert "no published copy" in r.text, url
    assert "Download the published copy" not in observer.get(f"/items/{sha}").text
    analyst_page = media.member(Role.ANALYST).client.get(f"/items/{sha}")
    assert analyst_page.status_code == 200
    assert media.member(Role.ANALYST).client.get(f"/items/{sha}/original").status_code == 200
    # publishing again through the API makes the copy, and then observers get it
    token = media.team.bearer(Role.INVESTIGATOR).client
    answer = token.post(f"/api/v1/items/{sha}/publish").json()
    assert answer["newly_published"] is False and answer["published_copy"] and answer["published_copy_error"] is None
    r = observer.get(f"/items/{sha}/original")
    assert r.status_code == 200 and hashlib.sha256(r.content).hexdigest() == answer["published_copy"]


def test_thumbnails_are_small_jpegs_under_the_preview_sandbox(media: MediaCase) -> None:
    analyst = media.member(Role.ANALYST).client
    for name in ("orig", "clip19"):
        r = analyst.get(f"/items/{media.sha[name]}/thumbnail")
        assert r.status_code == 200, name
        assert r.headers["content-type"] == "image/jpeg"
        assert "sandbox" in r.headers["content-security-policy"]
        with Image.open(io.BytesIO(r.content)) as img:
            assert img.format == "JPEG" and max(img.size) <= 320
    r = analyst.get(f"/items/{media.text_sha}/thumbnail")
    assert r.status_code == 404 and "no thumbnail" in r.text


# -- clusters ----------------------------------------------------------------------------------------


def test_clusters_page_lists_the_bridge_with_its_members_and_ranked_candidates(media: MediaCase) -> None:
    analyst = media.member(Role.ANALYST).client
    bridge = media.item_id("orig")
    listing = analyst.get("/media/clusters").text
    assert "2 clusters" in listing  # the bridge pictures and the chair footage
    assert f'<a href="/media/clusters/{bridge}">Cluster {bridge}</a>: 5 items' in listing
    assert f"/items/{media.sha['blur']}/thumbnail" in listing
    page = analyst.get(f"/media/clusters/{bridge}").text
    assert shas_in(page, media, ("orig", "blur", "rot90", "sharpen", "shrink")) == {
        "orig",
        "blur",
        "rot90",
        "sharpen",
        "shrink",
    }
    assert "Earliest / most original candidates" in page
    candidates = page.split('<ol class="candidates">')[1].split("</ol>")[0]
    assert media.sha["orig"][:16] in candidates.split("</li>")[0]  # first received, earliest capture time claimed
    assert "+4 first received by the vault" in candidates
    assert analyst.get("/media/clusters/999999").status_code == 404

    observer = media.member(Role.OBSERVER).client
    theirs = observer.get("/media/clusters").text
    assert "1 cluster." in theirs and f"Cluster {bridge}</a>: 3 items" in theirs
    assert shas_in(theirs, media, UNPUBLISHED) == set()
    cluster = observer.get(f"/media/clusters/{bridge}").text
    assert shas_in(cluster, media, ("orig", "blur", "rot90")) == {"orig", "blur", "rot90"}
    assert shas_in(cluster, media, UNPUBLISHED) == set()
    video_cluster = media.case.resolve(media.sha["clip19"]).id
    assert analyst.get(f"/media/clusters/{min(video_cluster, media.item_id('clip20'))}").status_code == 200
    assert observer.get(f"/media/clusters/{min(video_cluster, media.item_id('clip20'))}").status_code == 404


def test_the_api_twins_say_what_the_pages_say(media: MediaCase) -> None:
    analyst = media.member(Role.ANALYST).client
    bridge = media.item_id("orig")
    item = analyst.get(f"/api/v1/items/{media.sha['orig']}/media").json()
    assert item["analysis"]["claimed"]["software"] == "Google"
    rotated = analyst.get(f"/api/v1/items/{media.sha['rot90']}/media").json()
    assert rotated["analysis"]["claimed"]["captured_at"] == "2016-08-17T11:11:38"
    assert (item["analysis"]["claimed"]["width"], item["analysis"]["claimed"]["height"]) == (1600, 1004)
    assert item["cluster_id"] == bridge and item["thumbnail"] is True
    assert item["published_copy"]["media_type"] == "image/jpeg"
    page = analyst.get(f"/items/{media.sha['orig']}").text
    assert {m["sha256"] for m in item["matches"]} == {media.sha[n] for n in ("blur", "rot90", "sharpen", "shrink")}
    for m in item["matches"]:
        assert m["sha256"][:16] in page and 0 <= m["distance"] <= 256

    clip = analyst.get(f"/api/v1/items/{media.sha['clip19']}/media").json()
    [match] = clip["matches"]
    assert match["kind"] == "video" and match["segments"]
    assert match["segments"][0]["this_end"] > match["segments"][0]["this_start"]

    clusters = analyst.get("/api/v1/media/clusters").json()
    assert clusters["total"] == 2
    sizes = {c["id"]: c["size"] for c in clusters["clusters"]}
    assert sizes[bridge] == 5
    detail = analyst.get(f"/api/v1/media/clusters/{bridge}").json()
    bridge_copies = {media.sha[n] for n in ("orig", "blur", "rot90", "sharpen", "shrink")}
    assert {m["sha256"] for m in detail["members"]} == bridge_copies
    ranked = [c["sha256"] for c in detail["candidates"]]
    assert ranked[0] == media.sha["orig"]
    html = analyst.get(f"/media/clusters/{bridge}").text
    assert [html.index(sha[:16]) for sha in ranked] == sorted(html.index(sha[:16]) for sha in ranked)
    assert any(r.startswith("+4 first received") for r in detail["candidates"][0]["reasons"])

    observer = media.member(Role.OBSERVER).client
    theirs = observer.get("/api/v1/media/clusters").json()
    assert theirs["total"] == 1 and theirs["clusters"][0]["size"] == 3
    members = {m["sha256"] for m in observer.get(f"/api/v1/media/clusters/{bridge}").json()["members"]}
    assert members == {media.sha[n] for n in ("orig", "blur", "rot90")}
    assert observer.get("/api/v1/media/clusters/999999").status_code == 404


# -- the scan after intake ---------------------------------------------------------------------------


def _analysed(case: Case, sha: str) -> bool:
    with case.engine.connect() as conn:
        found = conn.execute(
            select(MediaAnalysis.item_id).join(Item, Item.id == MediaAnalysis.item_id).where(Item.sha256 == sha)
        ).first()
    return found is not None


def test_a_web_submission_is_scanned_after_the_response(media: MediaCase, caplog: pytest.LogCaptureFixture) -> None:
    anon = media.team.anon()
    photo = patterned_jpeg(1)
    sha = hashlib.sha256(photo).hexdigest()
    with caplog.at_level(logging.INFO, logger="factfinder.web.mediascan"):
        r = anon.client.post(
            "/submit",
            data={"csrf_token": anon.csrf, "testimony": "they fired from the roof of the akimat"},
            files=[("files", ("roof-photo-placeholder.jpg", photo))],
        )
    assert r.status_code == 200 and sha in r.text
    # the test client returns after the background tasks: the photo has been analysed, with a thumbnail
    assert _analysed(media.case, sha)
    assert media.case.derivative(media.case.resolve(sha), "thumbnail") is not None
    logged = " ".join(rec.getMessage() for rec in caplog.records)
    assert "1 analysed" in logged
    assert "roof-photo" not in logged and sha[:12] not in logged and "akimat" not in logged


def test_one_scan_at_a_time_and_none_waits_for_another(media: MediaCase) -> None:
    """A scan already running takes new digests from the queue; the caller that found it busy returns at once."""
    case = media.case
    sha = case.add_bytes(patterned_jpeg(2), actor="tester", channel="usb").sha256
    assert mediascan._running.acquire(blocking=False)
    try:
        started = time.monotonic()
        mediascan.scan_digests(case, [sha])
        assert time.monotonic() - started < 1
        assert not _analysed(case, sha)
    finally:
        mediascan._running.release()
    mediascan.scan_digests(case, [])  # the next one through drains what was queued
    assert _analysed(case, sha)


def test_the_submission_answers_before_the_scan_runs(live_server: str, web_case: Case, testdata: Any) -> None:
    """Against a real server: the receipt comes back first, the analysis follows."""
    clip = (testdata / FILES["clip20"]).read_bytes()
    sha = hashlib.sha256(clip).hexdigest()
    with httpx2.Client(base_url=live_server, timeout=60) as client:
        client.get("/submit")
        token = client.cookies.get("ff_csrf")
        r = client.post("/submit", data={"csrf_token": token}, files=[("files", ("clip.mp4", clip))])
        assert r.status_code == 200 and sha in r.text
    assert not _analysed(web_case, sha)  # the scan's own process takes seconds just to start
    deadline = time.monotonic() + 120
    while not _analysed(web_case, sha):
        assert time.monotonic() < deadline, "the media scan never ran"
        time.sleep(0.25)
    assert web_case.derivative(web_case.resolve(sha), "thumbnail") is not None


def test_publishing_through_the_api_makes_the_copy_observers_get(media: MediaCase) -> None:
    case = media.case
    sha = case.add_bytes(patterned_jpeg(3, gps=True), actor="tester", channel="usb").sha256
    item = case.resolve(sha)
    assert redact.published_copy(case, item) is None
    investigator = media.member(Role.INVESTIGATOR)
    r = investigator.client.post(f"/api/v1/items/{sha}/publish", headers={"x-csrf-token": investigator.csrf or ""})
    assert r.status_code == 200
    copy = redact.published_copy(case, item)
    assert copy is not None and r.json()["published_copy"] == copy.sha256
    data = media.member(Role.OBSERVER).client.get(f"/api/v1/items/{sha}/original").content
    assert hashlib.sha256(data).hexdigest() == copy.sha256
    assert not Image.open(io.BytesIO(data)).getexif().get_ifd(0x8825)
