"""Bad input: each refusal is one clear line, a fitting exit status, and nothing half-written.

"Nothing half-written" is checked the same way every time: the case still
verifies with no problem at all (not even an unreferenced blob), ``tmp/`` is
empty, and the item, receipt and log counts are what they were (plus whatever
the command legitimately added).
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from factfinder.cli import app
from factfinder.vault import audit
from factfinder.vault.case import Case

ENV = {"FACTFINDER_ACTOR": "tester"}
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


@dataclass
class Outcome:
    code: int
    stdout: str
    stderr: str

    @property
    def errors(self) -> list[str]:
        return [ln for ln in self.stderr.splitlines() if ln.strip()]


def ff(*args: str | Path) -> Outcome:
    """Run the CLI in-process; any exception other than a clean exit fails the test (it would be a traceback)."""
    result = CliRunner().invoke(app, [str(a) for a in args], env=ENV)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"factfinder {' '.join(map(str, args))} crashed") from result.exception
    return Outcome(result.exit_code, result.stdout, result.stderr)


def one_error(outcome: Outcome, *needles: str) -> str:
    """The single ``error:`` line the command printed, which must mention every needle."""
    assert len(outcome.errors) == 1, outcome.errors
    line = outcome.errors[0]
    assert line.startswith("error: "), line
    for needle in needles:
        assert needle in line, line
    return line


def snapshot(case_dir: Path) -> dict[str, int]:
    """Counts of a case that must be intact and hold no leftovers of an unfinished write."""
    with Case.open(case_dir) as case:
        report = audit.verify_case(case)
        assert report.ok and not report.problems, [str(p) for p in report.problems]
        counts = case.counts()
        counts["blobs"] = len(list(case.blobs.digests()))
    tmp = case_dir / "tmp"
    assert not tmp.exists() or not any(tmp.iterdir()), sorted(p.name for p in tmp.iterdir())
    return counts


def folder_listing(path: Path) -> list[tuple[str, int]]:
    return sorted((str(p.relative_to(path)), p.lstat().st_size) for p in path.rglob("*"))


@pytest.fixture
def evidence(tmp_path: Path) -> Path:
    folder = tmp_path / "evidence"
    folder.mkdir()
    (folder / "a.txt").write_text("a testimony\n")
    (folder / "b.txt").write_text("another testimony\n")
    return folder


# -- files that cannot be read -------------------------------------------------------------


@pytest.mark.skipif(AS_ROOT, reason="running as root: chmod 000 does not stop root from reading")
def test_unreadable_file_is_refused_and_the_rest_added(case: Case, evidence: Path) -> None:
    locked = evidence / "locked.txt"
    locked.write_text("cannot read me\n")
    locked.chmod(0)
    try:
        out = ff("add", case.path, evidence)
    finally:
        locked.chmod(0o600)
    assert out.code == 1
    one_error(out, str(locked), "permission denied")
    assert snapshot(case.path)["items"] == 2


@pytest.mark.skipif(AS_ROOT, reason="running as root: chmod 000 does not stop root from listing a folder")
def test_unreadable_folder_is_refused_and_the_rest_added(case: Case, evidence: Path) -> None:
    locked = evidence / "locked"
    locked.mkdir()
    (locked / "c.txt").write_text("inside\n")
    locked.chmod(0)
    try:
        out = ff("add", case.path, evidence)
    finally:
        locked.chmod(0o700)
    assert out.code == 1
    one_error(out, str(locked), "permission denied")
    assert snapshot(case.path)["items"] == 2


@pytest.mark.skipif(not Path("/proc/self/mem").exists(), reason="needs Linux /proc")
def test_file_whose_read_fails_is_refused_even_as_root(case: Case, evidence: Path) -> None:
    """``/proc/self/mem`` stats as a regular file but reading it fails with EIO, whoever you are."""
    broken = evidence / "broken-disk.bin"
    broken.symlink_to("/proc/self/mem")
    before = snapshot(case.path)
    out = ff("add", case.path, evidence)
    assert out.code == 1
    one_error(out, str(broken), "read failed")
    after = snapshot(case.path)
    assert after["items"] == before["items"] + 2
    assert after["blobs"] == before["blobs"] + 2  # no partial blob of the unreadable file


def test_directory_loop_ends_and_adds_each_file_once(case: Case, evidence: Path) -> None:
    sub = evidence / "sub"
    sub.mkdir()
    (sub / "c.txt").write_text("a third testimony\n")
    (sub / "up").symlink_to("..")  # evidence/sub/up/sub/up/... for ever
    (evidence / "self").symlink_to("self")  # a link to itself: ELOOP
    out = ff("add", case.path, evidence, "--list")
    assert out.code == 1
    assert len(out.errors) == 2, out.errors
    assert any(str(sub / "up") in ln and "link loop" in ln for ln in out.errors), out.errors
    assert any(str(evidence / "self") in ln and "symbolic links" in ln for ln in out.errors), out.errors
    assert all(ln.startswith("error: ") for ln in out.errors)
    listed = [ln for ln in out.stdout.splitlines() if ln.startswith("added ")]
    assert len(listed) == 3, out.stdout
    counts = snapshot(case.path)
    assert (counts["items"], counts["receipts"]) == (3, 3)


def test_broken_link_and_missing_path_are_named_for_what_they_are(case: Case, evidence: Path) -> None:
    (evidence / "gone.jpg").symlink_to(evidence / "deleted-long-ago.jpg")
    out = ff("add", case.path, evidence, evidence.parent / "no-such-file.txt")
    assert out.code == 1
    assert len(out.errors) == 2, out.errors
    assert "gone.jpg: broken symbolic link" in out.errors[0] + out.errors[1]
    assert "no-such-file.txt: no such file or folder" in out.errors[0] + out.errors[1]
    assert snapshot(case.path)["items"] == 2


def test_fifo_and_device_are_skipped_without_blocking(case: Case, evidence: Path) -> None:
    fifo = evidence / "pipe"
    os.mkfifo(fifo)  # opening it for reading would wait for a writer for ever
    out = ff("add", case.path, evidence, fifo, "/dev/null")
    assert out.code == 1
    assert len(out.errors) == 3, out.errors  # the FIFO found in the folder, the FIFO named, /dev/null
    assert all("not a regular file" in ln for ln in out.errors), out.errors
    assert snapshot(case.path)["items"] == 2


# -- sizes: empty, and files that change while they are read ------------------------------


def test_empty_file_is_evidence_recorded_with_a_note(case: Case, tmp_path: Path) -> None:
    folder = tmp_path / "upload"
    folder.mkdir()
    (folder / "truncated-upload.mp4").write_bytes(b"")
    (folder / "empty-note.txt").write_bytes(b"")
    out = ff("add", case.path, folder, "--list")
    assert out.code == 0, out.stderr
    assert out.stdout.count(EMPTY_SHA256) == 2  # one item, received twice
    notes = [ln for ln in out.errors if ln.startswith("note:")]
    assert len(notes) == 2 and all("empty (0 bytes)" in ln for ln in notes), out.errors
    counts = snapshot(case.path)
    assert (counts["items"], counts["receipts"]) == (1, 2)
    item = case.resolve(EMPTY_SHA256)
    assert (item.size, item.media_type) == (0, "application/x-empty")
    assert case.blobs.path(EMPTY_SHA256).stat().st_size == 0


def test_file_that_changes_size_while_read_is_refused(case: Case, evidence: Path) -> None:
    """``/proc/self/status`` says 0 bytes but reads as more: the size read must match the size seen."""
    if not Path("/proc/self/status").exists():
        pytest.skip("needs Linux /proc")
    (evidence / "growing.log").symlink_to("/proc/self/status")
    out = ff("add", case.path, evidence)
    assert out.code == 1
    one_error(out, "growing.log", "changed size while being read")
    assert snapshot(case.path)["blobs"] == 2


def test_file_truncated_while_being_read_is_refused_in_a_real_process(case: Case, tmp_path: Path) -> None:
    """A large file is cut short while ``factfinder add`` streams it: refused, and no partial blob."""
    big = tmp_path / "video.mp4"
    with open(big, "wb") as fh:  # sparse: cheap to make, slow enough to read
        fh.truncate(1 << 30)
    before = snapshot(case.path)
    proc = subprocess.Popen(
        [sys.executable, "-m", "factfinder", "add", str(case.path), str(big)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **ENV},
    )
    truncated = False
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:
        if any((case.path / "tmp").glob("*.part")):  # it has started copying
            os.truncate(big, 4096)
            truncated = True
            break
        time.sleep(0.001)
    stdout, stderr = proc.communicate(timeout=120)
    assert truncated, f"the file was read before it could be truncated: {stdout} {stderr}"
    assert proc.returncode == 1, stderr
    assert "Traceback" not in stderr
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "changed size while being read" in lines[0] and str(big) in lines[0], lines
    assert snapshot(case.path) == before


# -- the wrong folder, the wrong key, malformed claims ----------------------------------------


def test_every_command_refuses_a_folder_that_is_not_a_case(case: Case, tmp_path: Path, evidence: Path) -> None:
    item = case.add_bytes(b"evidence", actor="tester").sha256
    proof_file = tmp_path / "p.tlog-proof"
    ff("proof", case.path, item, "-o", proof_file)
    plain = tmp_path / "holiday-photos"
    plain.mkdir()
    (plain / "IMG_0001.jpg").write_bytes(b"\xff\xd8\xff")
    missing = tmp_path / "nowhere"
    for folder in (plain, missing):
        before = folder_listing(plain)
        commands: list[list[str | Path]] = [
            ["add", folder, evidence],
            ["items", folder],
            ["show", folder, item[:8]],
            ["log", folder],
            ["proof", folder, item[:8], "-o", tmp_path / "out.tlog-proof"],
            ["verify", folder],
            ["export", folder, tmp_path / "out.zip"],
        ]
        for args in commands:
            out = ff(*args)
            assert out.code == 2, (args, out)
            one_error(out, str(folder), "no such folder" if folder == missing else "not a factfinder case")
        assert folder_listing(plain) == before, "a refused command wrote into the folder"
        assert not missing.exists()
        assert not (tmp_path / "out.zip").exists() and not (tmp_path / "out.tlog-proof").exists()


def test_wrong_identity_file_opens_nothing_and_logs_nothing(case: Case, evidence: Path, tmp_path: Path) -> None:
    ff("add", case.path, evidence / "a.txt", "--witness-name", "Aigul Serikbayeva", "--witness-phone", "+7 700 1")
    item = case.items()[0][0].sha256
    other, other_identity = Case.init(tmp_path / "other-case", "Other", actor="tester")
    other.close()
    garbage = tmp_path / "notes.txt"
    garbage.write_text("AGE-SECRET-KEY-1NOTAKEY\n")
    before = snapshot(case.path)
    for identity, needle in (
        (other_identity, "wrong identity file"),
        (garbage, "identity"),
        (tmp_path / "lost.age", "cannot read identity file"),
        (evidence / "a.txt", "not an age identity file"),
    ):
        out = ff("show", case.path, item[:10], "--reveal", "--identity", identity)
        assert out.code == 2, out
        one_error(out, needle)
        assert "Aigul" not in out.stdout + out.stderr and "+7 700" not in out.stdout + out.stderr
    assert snapshot(case.path) == before, "a failed opening left a custody entry or row"
    out = ff("show", case.path, item[:10], "--reveal", "--identity", case.path / "keys" / "witness-identity.age")
    assert out.code == 0 and "Aigul Serikbayeva" in out.stdout
    assert snapshot(case.path)["log_size"] == before["log_size"] + 1


@pytest.mark.parametrize("claim", ["yesterday", "2011-12-16T25:00", "16/12/2011", "2011-13-01"])
def test_malformed_collected_at_refuses_the_whole_command(case: Case, evidence: Path, claim: str) -> None:
    before = snapshot(case.path)
    out = ff("add", case.path, evidence, "--collected-at", claim)
    assert out.code == 2
    one_error(out, repr(claim), "ISO 8601")
    assert snapshot(case.path) == before


@pytest.mark.parametrize(
    ("sidecar", "needle"),
    [
        ("{not json", "not valid JSON"),
        ('["a", "list"]', "unknown keys"),
        ('{"password": "x"}', "unknown keys"),
        ('{"witness": "Aigul"}', "'witness' must be an object"),
        ('{"source": 12}', "'source' must be a string"),
        ('{"collected_at": "last Tuesday"}', "ISO 8601"),
    ],
)
def test_malformed_sidecar_refuses_its_file_before_storing_it(
    case: Case, evidence: Path, sidecar: str, needle: str
) -> None:
    (evidence / "a.txt.factfinder.json").write_text(sidecar, encoding="utf-8")
    out = ff("add", case.path, evidence)
    assert out.code == 1
    line = one_error(out, str(evidence / "a.txt"), needle)
    assert "Aigul" not in line
    counts = snapshot(case.path)  # no unreferenced blob of a.txt
    assert (counts["items"], counts["blobs"]) == (1, 1)


# -- creating cases, and cases that may not be written -------------------------------------------


def test_init_refuses_a_folder_with_contents(tmp_path: Path) -> None:
    folder = tmp_path / "my-documents"
    folder.mkdir()
    (folder / "report.docx").write_bytes(b"PK\x03\x04")
    before = folder_listing(folder)
    out = ff("init", folder, "--title", "Oops")
    assert out.code == 2
    one_error(out, str(folder), "not an empty folder")
    assert folder_listing(folder) == before

    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    out = ff("init", a_file, "--title", "Oops")
    assert out.code == 2
    one_error(out, str(a_file))
    assert a_file.read_text() == "x"


def test_init_refuses_an_existing_case(case: Case) -> None:
    before = snapshot(case.path)
    key = (case.path / "keys" / "log-signing.key").read_bytes()
    out = ff("init", case.path, "--title", "Again")
    assert out.code == 2
    one_error(out, "not an empty folder")
    assert (case.path / "keys" / "log-signing.key").read_bytes() == key
    assert snapshot(case.path) == before


def test_read_only_case_refuses_every_write(case: Case, evidence: Path) -> None:
    ff("add", case.path, evidence / "a.txt", "--witness-name", "Aigul Serikbayeva")
    (case.path / "keys" / "log-signing.key").unlink()  # as in a copy made with 'export' and 'import'
    before = snapshot(case.path)
    out = ff("add", case.path, evidence)
    assert out.code == 2
    one_error(out, "no signing key")
    item = case.items()[0][0].sha256
    out = ff("show", case.path, item[:10], "--reveal", "--identity", case.path / "keys" / "witness-identity.age")
    assert out.code == 2, "an opening that cannot be logged must not happen"
    one_error(out, "no signing key")
    assert "Aigul" not in out.stdout + out.stderr
    assert snapshot(case.path) == before
    assert ff("verify", case.path).code == 0  # reading still works


def test_output_file_that_cannot_be_written_is_one_line(case: Case, tmp_path: Path) -> None:
    item = case.add_bytes(b"evidence", actor="tester").sha256
    target = tmp_path / "no-such-folder" / "item.tlog-proof"
    out = ff("proof", case.path, item[:8], "-o", target)
    assert out.code == 2
    one_error(out, str(target), "No such file or directory")
    assert not target.exists()
    if not AS_ROOT:
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(stat.S_IRUSR | stat.S_IXUSR)
        out = ff("proof", case.path, item[:8], "-o", locked / "p.tlog-proof")
        assert out.code == 2
        one_error(out, "Permission denied")
