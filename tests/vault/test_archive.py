"""Export and import: a faithful copy out, and nothing hostile in."""

from __future__ import annotations

import hashlib
import sqlite3
import stat
import zipfile
from pathlib import Path

import pytest

from factfinder import config
from factfinder.vault import audit, proof
from factfinder.vault.archive import ROOT, export_case, import_case
from factfinder.vault.case import Case, NewReceipt
from factfinder.vault.errors import ArchiveError, CaseExistsError, ReadOnlyCaseError
from tests.conftest import Cli


@pytest.fixture
def exported(case: Case, tmp_path: Path) -> tuple[Case, Path]:
    case.record(
        [
            NewReceipt(blob=case.blobs.put_bytes(f"statement {i}\n".encode() * 50), source="interviews")
            for i in range(30)
        ],
        actor="tester",
    )
    case.record(
        [NewReceipt(blob=case.blobs.put_bytes(b"statement 3\n" * 50), protected={"witness_name": "W-17"})],
        actor="tester",
    )
    out = tmp_path / "case.zip"
    export_case(case, out)
    return case, out


def _names(zip_path: Path) -> list[str]:
    with zipfile.ZipFile(zip_path) as zf:
        return zf.namelist()


def test_export_import_round_trip(exported: tuple[Case, Path], tmp_path: Path) -> None:
    case, out = exported
    names = _names(out)
    assert not any("keys" in n for n in names), "secrets must never leave in an export"
    assert f"{ROOT}{config.CASE_FILE}" in names
    copy = import_case(out, tmp_path / "copy")
    with copy:
        assert copy.counts() == case.counts()
        assert copy.read_only
        report = audit.verify_case(copy)
        assert report.ok, report.problems
        assert [i.sha256 for i, _ in copy.items()] == [i.sha256 for i, _ in case.items()]
        with pytest.raises(ReadOnlyCaseError):
            copy.add_bytes(b"new", actor="tester")
        # Proofs can be made from the copy and carry the original case's key.
        first = copy.items()[0][0].sha256
        assert proof.verify_proof(copy.proof(first), trusted_key=case.config.log_key).entry["item_sha256"] == first


def test_export_refuses_to_overwrite_nothing_half_written(exported: tuple[Case, Path], tmp_path: Path) -> None:
    _, out = exported
    leftovers = [p for p in out.parent.iterdir() if p.name.startswith(".export-")]
    assert leftovers == []


def test_import_into_non_empty_folder_is_refused(exported: tuple[Case, Path], tmp_path: Path) -> None:
    _, out = exported
    target = tmp_path / "busy"
    target.mkdir()
    (target / "something").write_text("mine")
    with pytest.raises(CaseExistsError):
        import_case(out, target)
    assert [p.name for p in target.iterdir()] == ["something"]


def _rewrite(src: Path, dst: Path, change: dict[str, bytes | None], add: dict[str, bytes] | None = None) -> None:
    """Copy an archive, replacing (or with None, dropping) members and adding others."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            if info.filename in change:
                data = change[info.filename]
                if data is not None:
                    zout.writestr(info.filename, data)
            else:
                zout.writestr(info, zin.read(info))
        for name, data in (add or {}).items():
            zout.writestr(name, data)


def _assert_refused(archive: Path, target: Path, match: str) -> None:
    with pytest.raises(ArchiveError, match=match):
        import_case(archive, target)
    assert not target.exists()
    assert not [p for p in target.parent.iterdir() if p.name.startswith(".import-")]


def test_path_traversal_members_are_refused(exported: tuple[Case, Path], tmp_path: Path) -> None:
    _, out = exported
    for i, evil in enumerate(["factfinder-case/../../evil.txt", "/etc/evil", "factfinder-case/blobs/../../x"]):
        bad = tmp_path / f"bad{i}.zip"
        _rewrite(out, bad, {}, {evil: b"owned"})
        _assert_refused(bad, tmp_path / f"t{i}", "unexpected member")
    assert not (tmp_path.parent / "evil.txt").exists()


def test_symlink_member_is_refused(exported: tuple[Case, Path], tmp_path: Path) -> None:
    case, out = exported
    sha = case.items()[0][0].sha256
    name = f"{ROOT}blobs/sha256/{sha[:2]}/{sha}"
    bad = tmp_path / "link.zip"
    with zipfile.ZipFile(out) as zin, zipfile.ZipFile(bad, "w") as zout:
        for info in zin.infolist():
            if info.filename == name:
                link = zipfile.ZipInfo(name)
                link.external_attr = (stat.S_IFLNK | 0o777) << 16
                zout.writestr(link, "/etc/passwd")
            else:
                zout.writestr(info, zin.read(info))
    _assert_refused(bad, tmp_path / "t", "symbolic link")


def test_zip_bomb_is_refused_without_unpacking_it(exported: tuple[Case, Path], tmp_path: Path) -> None:
    _, out = exported
    zeros = b"\0" * (64 << 20)
    sha = hashlib.sha256(zeros).hexdigest()
    bad = tmp_path / "bomb.zip"
    with zipfile.ZipFile(out) as zin, zipfile.ZipFile(bad, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(info, zin.read(info))
        zout.writestr(f"{ROOT}blobs/sha256/{sha[:2]}/{sha}", zeros)
    assert bad.stat().st_size < 1 << 20
    _assert_refused(bad, tmp_path / "t", "expands")


def test_member_larger_than_it_declares_is_refused(exported: tuple[Case, Path], tmp_path: Path) -> None:
    """A header that lies about the size must not let more bytes through."""
    case, out = exported
    sha = case.items()[0][0].sha256
    name = f"{ROOT}blobs/sha256/{sha[:2]}/{sha}"
    bad = tmp_path / "liar.zip"
    _rewrite(out, bad, {})
    data = bytearray(bad.read_bytes())
    with zipfile.ZipFile(bad) as zf:
        real = zf.getinfo(name).file_size
    # Patch the member's uncompressed size in the central directory (offset 24 of its 46-byte header).
    header = -1
    pos = data.find(b"PK\x01\x02")
    while pos != -1:
        name_len = int.from_bytes(data[pos + 28 : pos + 30], "little")
        if data[pos + 46 : pos + 46 + name_len] == name.encode():
            header = pos
            break
        pos = data.find(b"PK\x01\x02", pos + 4)
    assert header != -1
    data[header + 24 : header + 28] = (10).to_bytes(4, "little")
    bad.write_bytes(bytes(data))
    assert real > 10
    with pytest.raises(ArchiveError):
        import_case(bad, tmp_path / "t")
    assert not (tmp_path / "t").exists()


def test_blob_not_matching_its_name_is_refused(exported: tuple[Case, Path], tmp_path: Path) -> None:
    case, out = exported
    sha = case.items()[0][0].sha256
    bad = tmp_path / "swap.zip"
    _rewrite(out, bad, {f"{ROOT}blobs/sha256/{sha[:2]}/{sha}": b"not the original"})
    _assert_refused(bad, tmp_path / "t", "does not match its name")


def test_archive_with_a_missing_blob_does_not_verify(exported: tuple[Case, Path], tmp_path: Path) -> None:
    case, out = exported
    sha = case.items()[5][0].sha256
    bad = tmp_path / "missing.zip"
    _rewrite(out, bad, {f"{ROOT}blobs/sha256/{sha[:2]}/{sha}": None})
    _assert_refused(bad, tmp_path / "t", "blob missing")


def test_archive_with_an_edited_database_does_not_verify(exported: tuple[Case, Path], tmp_path: Path) -> None:
    _, out = exported
    work = tmp_path / "edit"
    work.mkdir()
    with zipfile.ZipFile(out) as zf:
        zf.extract(f"{ROOT}{config.DB_FILE}", work)
    db_path = work / ROOT / config.DB_FILE
    db = sqlite3.connect(db_path)
    with db:
        db.execute("UPDATE receipts SET channel = 'usb' WHERE id = 3")
    db.close()  # folds the write-ahead log back into the file
    bad = tmp_path / "edited.zip"
    _rewrite(out, bad, {f"{ROOT}{config.DB_FILE}": db_path.read_bytes()})
    _assert_refused(bad, tmp_path / "t", "database row altered")


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04 truncated", b"just text"])
def test_not_a_zip_is_refused(tmp_path: Path, content: bytes) -> None:
    bad = tmp_path / "x.zip"
    bad.write_bytes(content)
    _assert_refused(bad, tmp_path / "t", "not a readable ZIP")


def test_truncated_export_is_refused(exported: tuple[Case, Path], tmp_path: Path) -> None:
    _, out = exported
    bad = tmp_path / "cut.zip"
    bad.write_bytes(out.read_bytes()[: out.stat().st_size // 2])
    _assert_refused(bad, tmp_path / "t", r"cut\.zip")


def test_cli_export_import_verify(exported: tuple[Case, Path], tmp_path: Path, cli: Cli) -> None:
    case, _ = exported
    out = tmp_path / "cli.zip"
    cli("export", case.path, out)
    cli("import", out, tmp_path / "imported")
    _, text, _ = cli("verify", tmp_path / "imported")
    assert "intact" in text and "NOT" not in text
