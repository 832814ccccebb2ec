"""A real ODK client nobody on this project wrote, against a running factfinder (issue 8's required test).

ODK's own web form engine (``@getodk/xforms-engine``, from npm, run with Node by
``tests/js/fill_form.mjs``) fills in the included testimony form
(``samples/forms/testimony.xml``) and serialises the submissions itself: the
instance XML, its attachments, an edit with ``meta/deprecatedID``, and a
submission split for a server that takes little at a time. This test sends
them as ODK Collect does (an ``X-OpenRosa-Version: 1.0`` pre-flight ``HEAD``,
then multipart ``POST`` with ``xml_submission_file`` and the media parts, the
first part of a split one marked ``*isIncomplete*``) to a live server on
loopback, under an app user's token URL, and checks the case afterwards:
nothing lost, nothing counted twice, and ``verify`` passes.

What each send must do follows ODK Central: the same submission again is 201
and adds nothing; other XML under a known ``instanceID`` is 409; an edit names
the submission it replaces in ``deprecatedID`` and keeps it; an edit from the
engine re-sends only the attachments that changed, the others carried over
from the submission it edits.

Skipped only where Node or the engine is not installed (``make install`` runs
``npm ci``, which installs both).
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import struct
import subprocess
import wave
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from factfinder.db.models import Item, Receipt
from factfinder.intake import openrosa
from factfinder.vault.audit import verify_case
from factfinder.vault.case import Case

ROOT = Path(__file__).resolve().parents[2]
FILL_FORM = ROOT / "tests" / "js" / "fill_form.mjs"
ENGINE = ROOT / "node_modules" / "@getodk" / "xforms-engine"
FORM = ROOT / "samples" / "forms" / "testimony.xml"
NODE = shutil.which("node")
OPENROSA = {"X-OpenRosa-Version": "1.0"}
# Small enough that the engine puts the photo and the recording in two chunks, each with the instance XML.
SPLIT_MAX_BYTES = 4_500

pytestmark = [
    pytest.mark.skipif(
        NODE is None or not ENGINE.is_dir(),
        reason="ODK's web form engine needs Node and node_modules/@getodk/xforms-engine (make install runs npm ci)",
    ),
    # The HTTP layer it drives is the same on either database; the intake's database code runs on PostgreSQL in
    # tests/intake/test_openrosa.py.
    pytest.mark.once_on_postgres,
]


@dataclass(frozen=True)
class Filled:
    """One submission as the engine wrote it: its folder and what its submission.json says."""

    folder: Path
    summary: dict[str, Any]

    @property
    def instance_id(self) -> str:
        return str(self.summary["instance_id"])

    @property
    def chunks(self) -> list[list[dict[str, str]]]:
        return list(self.summary["chunks"])

    def read(self, path: str) -> bytes:
        return (self.folder / path).read_bytes()

    def sha256(self, path: str) -> str:
        return hashlib.sha256(self.read(path)).hexdigest()


def noise_png(side: int, seed: int) -> bytes:
    """A small, valid PNG of random pixels (so it does not compress): a photo's stand-in."""
    rng = random.Random(seed)
    rows = b"".join(b"\x00" + bytes(rng.randrange(256) for _ in range(side * 3)) for _ in range(side))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def tone_wav(path: Path, frames: int) -> None:
    """A short 8-bit mono WAV: a voice note's stand-in."""
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(1)
        w.setframerate(8000)
        w.writeframes(bytes(128 + (i % 40) for i in range(frames)))


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Filled]:
    """The engine's submissions, made once (one Node process) for the whole module.

    ``first``: a new testimony with a photo and a voice note; ``changed``: the same instance restored and one
    answer changed (same instanceID); ``edit``: the engine's edit of ``first``; ``split``: another testimony,
    chunked for a server that takes ``SPLIT_MAX_BYTES`` at a time."""
    work = tmp_path_factory.mktemp("odk-engine")
    (work / "photo.png").write_bytes(noise_png(32, seed=2011))
    tone_wav(work / "voice.wav", 2_000)
    (work / "square.png").write_bytes(noise_png(30, seed=16))
    tone_wav(work / "street.wav", 1_800)
    answers = {
        "first.json": {
            "/data/consent": "yes",
            "/data/what_happened": "Police fired on the strikers in the square.",
            "/data/when": "2011-12-16T11:30:00.000+06:00",
            "/data/where": "Zhanaozen, the central square",
            "/data/saw_heard": "Shots, then people running towards the akimat.",
            "/data/photo": {"file": "photo.png", "type": "image/png", "name": "1324013400123.png"},
            "/data/audio": {"file": "voice.wav", "type": "audio/x-wav", "name": "1324013460456.wav"},
        },
        "changed.json": {"/data/what_happened": "Police fired on the strikers; many fell."},
        "split.json": {
            "/data/consent": "yes",
            "/data/what_happened": "Men without insignia took my neighbour at night.",
            "/data/when": "2011-12-17T02:00:00.000+06:00",
            "/data/photo": {"file": "square.png", "type": "image/png", "name": "1324080000789.png"},
            "/data/audio": {"file": "street.wav", "type": "audio/x-wav", "name": "1324080060012.wav"},
        },
    }
    for name, content in answers.items():
        (work / name).write_text(json.dumps(content), encoding="utf-8")
    form = str(FORM)
    jobs = [
        {"form": form, "answers": "first.json", "out": "first"},
        {"form": form, "answers": "changed.json", "out": "changed", "restore_from": "first"},
        {"form": form, "answers": "changed.json", "out": "edit", "edit_from": "first"},
        {"form": form, "answers": "split.json", "out": "split", "max_size": SPLIT_MAX_BYTES},
    ]
    (work / "jobs.json").write_text(json.dumps(jobs), encoding="utf-8")
    assert NODE is not None
    run = subprocess.run(
        [NODE, str(FILL_FORM), "--jobs", str(work / "jobs.json")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, f"the ODK engine failed:\n{run.stderr}"
    made = {}
    for name in ("first", "changed", "edit", "split"):
        made[name] = Filled(work / name, json.loads((work / name / "submission.json").read_text(encoding="utf-8")))
    for name, sub in made.items():
        assert sub.summary["status"] == "ready", f"{name}: the engine found the form unfinished: {sub.summary}"
    return made


@dataclass
class Device:
    """A phone with an app user's link, as ODK Collect uses it after scanning the campaign's QR code."""

    client: httpx2.Client
    url: str

    def preflight(self) -> int:
        """Collect's HEAD before sending: the server says where to send and how much it takes."""
        r = self.client.head(self.url, headers=OPENROSA)
        assert r.status_code == 204, r.text
        assert r.headers["X-OpenRosa-Version"] == "1.0"
        return int(r.headers["X-OpenRosa-Accept-Content-Length"])

    def send(self, sub: Filled, chunk: int = 0, *, incomplete: bool = False) -> httpx2.Response:
        """POST one chunk of the engine's submission, its parts exactly as the engine made them."""
        files = [(p["field"], (p["filename"], sub.read(p["path"]), p["type"])) for p in sub.chunks[chunk]]
        assert files[0][0] == "xml_submission_file"
        data = {"*isIncomplete*": "yes"} if incomplete else None
        r = self.client.post(self.url, files=files, data=data, headers=OPENROSA)
        assert r.headers.get("X-OpenRosa-Version") == "1.0", r.text
        assert "OpenRosaResponse" in r.text, r.text
        return r


@pytest.fixture
def web_case(case: Case) -> Case:
    """The case the live server serves; devices need no team accounts (and making them costs seconds)."""
    return case


@pytest.fixture
def device(web_case: Case, live_server: str) -> Iterator[Device]:
    """The testimony form on the server, and a phone holding a campaign app user's link."""
    openrosa.add_form(
        web_case, FORM.read_bytes(), actor="investigator1", original_name="testimony.xml", campaign="Zhanaozen 2011"
    )
    _, token = openrosa.add_app_user(web_case, "phone-7", campaign="Zhanaozen 2011", form_ids=["testimony"])
    with httpx2.Client(base_url=live_server, timeout=30) as client:
        yield Device(client, f"/key/{token}/submission")


def counts(case: Case) -> tuple[int, int]:
    """How many items and receipts (arrivals, each a custody entry) the case holds."""
    with Session(case.engine) as s:
        items = s.scalar(select(func.count()).select_from(Item)) or 0
        receipts = s.scalar(select(func.count()).select_from(Receipt)) or 0
    return items, receipts


def held_items(case: Case) -> set[str]:
    with Session(case.engine) as s:
        return set(s.scalars(select(Item.sha256)))


def submissions(case: Case) -> dict[str, openrosa.SubmissionInfo]:
    return {s.instance_id: s for s in openrosa.list_submissions(case)}


def attachment_digests(sub: Filled, chunk: int | None = None) -> dict[str, str]:
    """The engine's attachments (name -> SHA-256), of one chunk or of all."""
    parts = [p for i, c in enumerate(sub.chunks) if chunk in (None, i) for p in c]
    return {p["filename"]: sub.sha256(p["path"]) for p in parts if p["field"] != "xml_submission_file"}


def test_engine_submission_resent_changed_and_edited(
    web_case: Case, device: Device, filled: dict[str, Filled], scans_handed: list[str]
) -> None:
    first, changed, edit = filled["first"], filled["changed"], filled["edit"]
    assert changed.instance_id == first.instance_id and changed.read("instance.xml") != first.read("instance.xml")
    assert edit.summary["deprecated_id"] == first.instance_id and edit.instance_id != first.instance_id
    device.preflight()
    before = counts(web_case)

    r = device.send(first)
    assert r.status_code == 201, r.text
    held = submissions(web_case)
    assert list(held) == [first.instance_id]
    sub = held[first.instance_id]
    media = attachment_digests(first)
    assert len(media) == 2
    assert sub.form_id == "testimony" and sub.complete and sub.deprecated_id is None
    assert sub.xml_sha256 == first.sha256("instance.xml"), "the XML is not held byte for byte as the engine sent it"
    assert dict(sub.attachments) == media
    assert {sub.xml_sha256, *media.values()} <= held_items(web_case)
    after_first = counts(web_case)
    assert after_first == (before[0] + 3, before[1] + 3)

    # The phone never got the answer (the line dropped) and sends the same submission again.
    r = device.send(first)
    assert r.status_code == 201, r.text
    assert counts(web_case) == after_first, "a re-sent submission added items or custody entries"
    assert list(submissions(web_case)) == [first.instance_id]

    # The same instanceID with other answers is not an edit: refused, nothing stored.
    r = device.send(changed)
    assert r.status_code == 409, r.text
    assert counts(web_case) == after_first
    assert submissions(web_case)[first.instance_id].xml_sha256 == first.sha256("instance.xml")

    # The engine's edit: a new instanceID naming the first in deprecatedID; both stay. The engine re-sends only
    # attachments that changed (none here), so the edit keeps the first one's, as ODK Central carries them over.
    assert edit.chunks == [[p for p in edit.chunks[0] if p["field"] == "xml_submission_file"]]
    r = device.send(edit)
    assert r.status_code == 201, r.text
    held = submissions(web_case)
    assert list(held) == [first.instance_id, edit.instance_id]
    edited = held[edit.instance_id]
    assert edited.deprecated_id == first.instance_id
    assert edited.xml_sha256 == edit.sha256("instance.xml")
    assert held[first.instance_id].xml_sha256 == first.sha256("instance.xml"), "the edited submission changed"
    assert counts(web_case) == (after_first[0] + 1, after_first[1] + 1)
    assert dict(edited.attachments) == media and edited.complete, "the edit lost the attachments it did not change"
    # The photo and the recording go to the media scan after the answer; the XML is not read as prose.
    assert set(scans_handed) == set(media.values())

    report = verify_case(web_case)
    assert report.ok, report.problems


def test_engine_submission_split_across_two_posts(web_case: Case, device: Device, filled: dict[str, Filled]) -> None:
    split = filled["split"]
    assert len(split.chunks) == 2, f"the engine did not split the submission: {split.chunks}"
    assert device.preflight() > SPLIT_MAX_BYTES  # this server takes more; the phone's own limit splits it here
    first_media, second_media = attachment_digests(split, 0), attachment_digests(split, 1)
    assert len(first_media) == len(second_media) == 1
    before = counts(web_case)

    r = device.send(split, 0, incomplete=True)
    assert r.status_code == 201, r.text
    sub = submissions(web_case)[split.instance_id]
    assert not sub.complete
    assert dict(sub.attachments) == {**first_media, **dict.fromkeys(second_media)}
    assert counts(web_case) == (before[0] + 2, before[1] + 2)

    r = device.send(split, 1)
    assert r.status_code == 201, r.text
    held = submissions(web_case)
    assert list(held) == [split.instance_id]
    sub = held[split.instance_id]
    assert sub.complete
    assert sub.xml_sha256 == split.sha256("instance.xml")
    assert dict(sub.attachments) == {**first_media, **second_media}
    assert counts(web_case) == (before[0] + 3, before[1] + 3), "the XML sent twice was recorded twice"

    report = verify_case(web_case)
    assert report.ok, report.problems
