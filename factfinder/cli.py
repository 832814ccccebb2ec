"""The front door for people at a terminal: ``factfinder COMMAND``.

Thin by design: every command parses its arguments, calls the vault's Python
API and prints. Errors the user can act on are printed as one line and exit
with status 2; a failed verification exits with 1.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from factfinder import __version__, config
from factfinder.db.engine import masked_url
from factfinder.intake.files import IntakeOptions, add_paths
from factfinder.vault import archive, audit, keys, proof
from factfinder.vault.case import Case, validate_claimed_time
from factfinder.vault.custody import decode_entry
from factfinder.vault.errors import VaultError

app = typer.Typer(
    name="factfinder",
    help="Collect, preserve and verify evidence of a closed-off crisis.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

F = TypeVar("F", bound=Callable[..., Any])
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

CaseDir = Annotated[Path, typer.Argument(help="The case folder.", show_default=False)]
ActorOpt = Annotated[
    str | None, typer.Option("--actor", help="Who is acting, for the custody log [default: login name].")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


def fails_cleanly(fn: F) -> F:
    """Turn the vault's errors into one line on stderr and exit status 2."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except VaultError as exc:
            err.print(f"[bold red]error:[/] {escape(str(exc))}")
            raise typer.Exit(2) from None
        except OSError as exc:  # a file the user named (an output, an input) cannot be used
            where = f"{exc.filename}: " if exc.filename else ""
            err.print(f"[bold red]error:[/] {escape(where + (exc.strerror or str(exc)))}")
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("files"),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )


def _version(value: bool) -> None:
    if value:
        out.print(f"factfinder {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """factfinder: an evidence vault with a signed, verifiable custody log."""


@app.command()
@fails_cleanly
def init(
    case_dir: CaseDir,
    title: Annotated[str, typer.Option("--title", help="The case's title.")],
    identity_out: Annotated[
        Path | None,
        typer.Option(
            "--identity-out", help="Where to write the witness identity [default: CASE_DIR/keys/].", dir_okay=False
        ),
    ] = None,
    recipient: Annotated[
        list[str] | None, typer.Option("--recipient", help="Another investigator's age public key to seal to.")
    ] = None,
    actor: ActorOpt = None,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            help="An empty PostgreSQL database for the case, postgresql://USER[:PASSWORD]@HOST[:PORT]/NAME "
            "[default: $FACTFINDER_DATABASE_URL if set, else SQLite in the case folder].",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Create a case folder with its database, blob store, log key and witness identity."""
    database_url = db or os.environ.get("FACTFINDER_DATABASE_URL") or None
    case, identity_path = Case.init(
        case_dir,
        title,
        actor=actor or config.default_actor(),
        identity_out=identity_out,
        extra_recipients=recipient or [],
        database_url=database_url,
    )
    with case:
        out.print(f"Created case [bold]{escape(title)}[/] in {escape(str(case_dir))}")
        if database_url:
            out.print(f"  database:    {escape(masked_url(database_url))}")
        out.print(f"  log key:     {case.verifier.encode()}")
        out.print(f"  fingerprint: {case.verifier.fingerprint}")
        out.print(f"  witness identity written to {escape(str(identity_path))} (mode 0600).")
        out.print("  Keep a copy of the identity off this machine: without it sealed witness fields cannot be opened.")


@app.command()
@fails_cleanly
def add(
    case_dir: CaseDir,
    paths: Annotated[list[Path], typer.Argument(help="Files or folders (recursively).", show_default=False)],
    source: Annotated[str | None, typer.Option(help="Where the material came from.")] = None,
    channel: Annotated[str, typer.Option(help="How it arrived: files, usb, email, ...")] = "files",
    note: Annotated[str | None, typer.Option(help="A note for every file added.")] = None,
    collected_at: Annotated[
        str | None, typer.Option("--collected-at", help="When it was collected, ISO 8601 (a claim).")
    ] = None,
    collected_by: Annotated[str | None, typer.Option("--collected-by", help="Who collected it (a claim).")] = None,
    witness_name: Annotated[
        str | None, typer.Option("--witness-name", help="Sealed at once; never stored in clear.")
    ] = None,
    witness_phone: Annotated[str | None, typer.Option("--witness-phone", help="Sealed at once.")] = None,
    witness_contact: Annotated[str | None, typer.Option("--witness-contact", help="Sealed at once.")] = None,
    list_added: Annotated[bool, typer.Option("--list", help="Print one line per file as it is committed.")] = False,
    media: Annotated[
        bool, typer.Option("--media/--no-media", help="Analyse new images and videos (or later: media scan).")
    ] = True,
    actor: ActorOpt = None,
) -> None:
    """Add files to the vault: hashed, stored once by content, logged and checkpointed.

    New images and videos are then analysed (metadata, hashes, matches); an
    interrupted analysis is finished by ``factfinder media scan``.
    """
    options = IntakeOptions(
        actor=actor or config.default_actor(),
        channel=channel,
        source=source,
        note=note,
        collected_at_claimed=validate_claimed_time(collected_at),
        collected_by_claimed=collected_by,
        protected={
            k: v
            for k, v in {
                "witness_name": witness_name,
                "witness_phone": witness_phone,
                "witness_contact": witness_contact,
            }.items()
            if v
        },
    )
    with Case.open(case_dir) as case:
        with _progress() as progress:
            task = progress.add_task("adding", total=None)

            def on_start(files: int, nbytes: int) -> None:
                progress.update(task, total=nbytes)
                progress.update(task, description=f"adding {files} files")

            def on_recorded(path: Path, rec: Any) -> None:
                # Called only once the batch holding this file has committed; Console.print flushes
                # each line, so a line a script has read names a file that survives any crash.
                if list_added:
                    kind = "added" if rec.new_item else "received again"
                    out.print(f"{kind} {rec.sha256} {path}", markup=False)
                if rec.sha256 == EMPTY_SHA256:
                    err.print(f"note: {path} is empty (0 bytes); recorded as the empty item", markup=False)

            report = add_paths(
                case,
                paths,
                options,
                on_start=on_start,
                on_bytes=lambda n: progress.advance(task, n),
                on_recorded=on_recorded,
            )
        counts = case.counts()
        for path, reason in report.failed:
            err.print(f"error: {path}: {reason}", markup=False)
        again = len(report.added) - report.new_items
        out.print(
            f"{report.new_items} new items, {again} received again, {len(report.failed)} failed; "
            f"the case holds {counts['items']} items, custody log size {counts['log_size']}."
        )
        if media and report.new_items and not report.interrupted:
            after_intake(case, [r.sha256 for _, r in report.added], progress=True)
    if report.interrupted:
        err.print("interrupted: the files listed above as committed are in the case; nothing else was written.")
        raise typer.Exit(130)
    if report.failed:
        raise typer.Exit(1)


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


@app.command()
@fails_cleanly
def items(
    case_dir: CaseDir, as_json: JsonOpt = False, full: Annotated[bool, typer.Option(help="Full digests.")] = False
) -> None:
    """List the items, in order of first arrival."""
    with Case.open(case_dir) as case:
        rows = case.items()
    if as_json:
        data = [
            {
                "sha256": i.sha256,
                "size": i.size,
                "media_type": i.media_type,
                "receipts": n,
                "first_log_index": i.first_log_index,
                "received_at_vault_clock": i.received_at_vault_clock,
            }
            for i, n in rows
        ]
        out.print_json(json.dumps(data))
        return
    table = Table("sha256", "size", "media type", "receipts", "first received (vault clock)")
    for item, n in rows:
        table.add_row(
            item.sha256 if full else item.sha256[:16],
            _size(item.size),
            item.media_type,
            str(n),
            item.received_at_vault_clock,
        )
    out.print(table)
    out.print(f"{len(rows)} items")


@app.command()
@fails_cleanly
def show(
    case_dir: CaseDir,
    item: Annotated[str, typer.Argument(help="Item digest or a unique prefix of it.")],
    reveal: Annotated[bool, typer.Option("--reveal", help="Open sealed witness fields (logged).")] = False,
    identity: Annotated[
        Path | None, typer.Option("--identity", "-i", help="Age identity file for --reveal.", dir_okay=False)
    ] = None,
    as_json: JsonOpt = False,
    actor: ActorOpt = None,
) -> None:
    """Show an item: digest, size, type, receipts and custody entries."""
    with Case.open(case_dir) as case:
        opened: dict[int, dict[str, str]] = {}
        if reveal:
            if identity is None:
                raise VaultError("--reveal needs --identity FILE (the case's witness identity)")
            ident = keys.load_identity(identity)
            for receipt, values in case.reveal(item, ident, actor=actor or config.default_actor()):
                opened[receipt.id] = values
        it, receipts, openings, entries = case.item_detail(item)
        blob_path = case.blobs.path(it.sha256)
    data: dict[str, Any] = {
        "sha256": it.sha256,
        "size": it.size,
        "media_type": it.media_type,
        "blob": str(blob_path),
        "receipts": [
            {
                "log_index": r.log_index,
                "action": r.action,
                "channel": r.channel,
                "source": r.source,
                "note": r.note,
                "original_name": r.original_name,
                "collected_at_claimed": r.collected_at_claimed,
                "collected_by_claimed": r.collected_by_claimed,
                "received_at_vault_clock": r.received_at_vault_clock,
                "actor": r.actor,
                "sealed_fields": [p.field for p in r.protected_fields],
                **({"opened": opened[r.id]} if r.id in opened else {}),
            }
            for r in receipts
        ],
        "openings": [
            {"log_index": o.log_index, "actor": o.actor, "fields": o.fields.split(","), "at": o.opened_at_vault_clock}
            for o in openings
        ],
        "custody_entries": entries,
    }
    if as_json:
        out.print_json(json.dumps(data, ensure_ascii=False))
        return
    out.print(f"[bold]item[/] sha256:{it.sha256}")
    out.print(f"  size {it.size} bytes ({_size(it.size)}), media type {it.media_type} (read from content)")
    out.print(f"  original stored at {blob_path}")
    for r in data["receipts"]:
        out.print(f"[bold]receipt[/] (custody entry {r['log_index']}, {r['action']})")
        for key in (
            "channel",
            "source",
            "note",
            "original_name",
            "collected_at_claimed",
            "collected_by_claimed",
            "received_at_vault_clock",
            "actor",
        ):
            if r[key] is not None:
                out.print(f"  {key}: {r[key]}", markup=False)
        if r["sealed_fields"]:
            if "opened" in r:
                for k, v in r["opened"].items():
                    out.print(f"  {k}: {escape(v)}  [dim](opened; logged)[/]")
            else:
                out.print(f"  sealed: {', '.join(r['sealed_fields'])} (use --reveal --identity FILE)")
    for o in data["openings"]:
        who = escape(o["actor"])
        out.print(f"[bold]opened[/] {', '.join(o['fields'])} by {who} at {o['at']} (entry {o['log_index']})")


@app.command("log")
@fails_cleanly
def log_cmd(
    case_dir: CaseDir,
    tail: Annotated[int | None, typer.Option(help="Only the last N entries.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """The custody log, newest last, with the latest signed checkpoint."""
    with Case.open(case_dir) as case, case.engine.connect() as conn:
        size = case.log.size(conn)
        start = max(0, size - tail) if tail else 0
        entries = [(i, decode_entry(e)) for i, e in case.log.entries(conn, start, size)]
        note = case.log.latest_checkpoint(conn)
    if as_json:
        out.print_json(json.dumps({"entries": [e for _, e in entries], "checkpoint": note}, ensure_ascii=False))
        return
    table = Table("#", "action", "item", "actor", "channel", "vault clock")
    for i, e in entries:
        sha = e.get("item_sha256") or ""
        when = e.get("received_at_vault_clock") or e.get("at_vault_clock") or ""
        table.add_row(
            str(i),
            escape(str(e["action"])),
            sha[:16],
            escape(str(e.get("actor", ""))),
            escape(str(e.get("channel") or "")),
            when,
        )
    out.print(table)
    out.print("[bold]latest checkpoint[/]")
    out.print(note or "(none)", markup=False)


@app.command("proof")
@fails_cleanly
def proof_cmd(
    case_dir: CaseDir,
    item: Annotated[str, typer.Argument(help="Item digest or a unique prefix of it.")],
    output: Annotated[
        Path, typer.Option("-o", "--output", help="Where to write the proof (.tlog-proof).", dir_okay=False)
    ],
) -> None:
    """Write an offline-verifiable proof that an item is in the custody log."""
    with Case.open(case_dir) as case:
        text = case.proof(item)
        sha = case.resolve(item).sha256
    output.write_text(text, encoding="utf-8")
    out.print(
        f"proof for {sha} written to {output}; check it anywhere with: factfinder verify-proof {output}", markup=False
    )


@app.command()
@fails_cleanly
def verify(
    case_dir: CaseDir,
    key: Annotated[str | None, typer.Option("--key", help="The log key you trust (vkey); refuse any other.")] = None,
    quick: Annotated[bool, typer.Option("--quick", help="Check blob sizes only; do not rehash.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Full audit: rehash every blob, rebuild the tree, check every checkpoint and row."""
    with Case.open(case_dir) as case:
        if key and key.strip() != case.config.log_key:
            raise VaultError("this case's log key is not the key you trust: it may have been re-signed")
        counts = case.counts()
        with _progress() as progress:
            task = progress.add_task("verifying", total=counts["bytes"])
            report = audit.verify_case(case, rehash_blobs=not quick, progress=lambda n: progress.advance(task, n))
    if as_json:
        out.print_json(
            json.dumps(
                {
                    "ok": report.ok,
                    "log_size": report.log_size,
                    "checkpoints": report.checkpoints,
                    "items": report.items,
                    "receipts": report.receipts,
                    "problems": [
                        {"kind": p.kind, "subject": p.subject, "detail": p.detail, "fatal": p.fatal}
                        for p in report.problems
                    ],
                }
            )
        )
    else:
        for p in report.problems:
            style = "red" if p.fatal else "yellow"
            out.print(f"[{style}]{'DAMAGED' if p.fatal else 'note'}[/] {escape(str(p))}")
        verdict = "[bold green]intact[/]" if report.ok else "[bold red]NOT intact[/]"
        out.print(
            f"{verdict}: {report.items} items ({_size(report.blob_bytes)} rehashed{' (sizes only)' if quick else ''}), "
            f"{report.receipts} receipts, custody log of {report.log_size} entries, "
            f"{report.checkpoints} checkpoints checked."
        )
    if not report.ok:
        raise typer.Exit(1)


@app.command("verify-proof")
@fails_cleanly
def verify_proof_cmd(
    proof_file: Annotated[Path, typer.Argument(help="A .tlog-proof file from 'factfinder proof'.", dir_okay=False)],
    blob: Annotated[
        Path | None, typer.Option("--blob", help="The file the proof is about: check its hash too.")
    ] = None,
    key: Annotated[str | None, typer.Option("--key", help="The log key you trust (vkey).")] = None,
) -> None:
    """Verify a proof file alone: no case folder, no server, no trust in either."""
    try:
        text = proof_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise VaultError(f"{proof_file}: cannot read proof file") from exc
    try:
        result = proof.verify_proof(text, blob=blob, trusted_key=key)
    except VaultError as exc:
        out.print(f"[bold red]proof does NOT verify:[/] {escape(str(exc))}")
        raise typer.Exit(1) from None
    e = result.entry
    out.print("[bold green]proof verifies[/]")
    out.print(
        f"  item sha256:{e['item_sha256']} ({e['item_size']} bytes), {e['action']} as custody entry {result.index}"
    )
    out.print(
        f"  received (vault clock) {e['received_at_vault_clock']}, channel {e['channel']}, by {e['actor']}",
        markup=False,
    )
    out.print(f"  in log {result.checkpoint.origin} at checkpoint size {result.checkpoint.size}", markup=False)
    out.print(
        f"  log key fingerprint {result.key_fingerprint}{'' if key else ' (compare it with one you got elsewhere)'}"
    )
    out.print(
        f"  the file's bytes {'match the item' if result.blob_checked else 'were not checked (give --blob FILE)'}"
    )


@app.command("export")
@fails_cleanly
def export_cmd(
    case_dir: CaseDir, output: Annotated[Path, typer.Argument(help="The .zip to write.", dir_okay=False)]
) -> None:
    """Write a self-contained, verifiable copy of the case (no secret keys)."""
    with Case.open(case_dir) as case:
        counts = case.counts()
        with _progress() as progress:
            task = progress.add_task("exporting", total=counts["bytes"])
            result = archive.export_case(case, output, progress=lambda n: progress.advance(task, n))
    out.print(
        f"exported {result['items']} items ({_size(result['bytes'])}) to {output}; it carries no secret keys.",
        markup=False,
    )


@app.command("import")
@fails_cleanly
def import_cmd(
    archive_file: Annotated[Path, typer.Argument(help="A .zip from 'factfinder export'.", dir_okay=False)],
    case_dir: CaseDir,
) -> None:
    """Unpack and fully verify a case archive into a new, read-only case folder."""
    with archive.import_case(archive_file, case_dir) as case:
        counts = case.counts()
    out.print(
        f"imported and verified {counts['items']} items, custody log of {counts['log_size']} entries, into {case_dir} "
        "(read-only copy: no signing key)."
    )


users_app = typer.Typer(help="Accounts of the case team (for the web app).", no_args_is_help=True)
app.add_typer(users_app, name="users")


@users_app.command("add")
@fails_cleanly
def users_add(
    case_dir: CaseDir,
    username: Annotated[str, typer.Argument(help="Lowercase letters, digits, '.', '_' or '-'.")],
    role: Annotated[str, typer.Option(help="admin, investigator, analyst or observer.")] = "investigator",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input (for scripts).")
    ] = False,
) -> None:
    """Create an account. The password is asked for (never given on the command line)."""
    from factfinder import accounts

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    with Case.open(case_dir) as case:
        account = accounts.add_user(case.engine, username, password, role)
    out.print(f"created {account.username} ({account.role.value})", markup=False)


@users_app.command("list")
@fails_cleanly
def users_list(case_dir: CaseDir) -> None:
    """List accounts."""
    from factfinder import accounts

    with Case.open(case_dir) as case:
        rows = accounts.list_users(case.engine)
    table = Table("username", "role", "created (vault clock)", "state")
    for u in rows:
        table.add_row(escape(u.username), u.role, u.created_at_vault_clock, "disabled" if u.disabled else "active")
    out.print(table)


@users_app.command("token")
@fails_cleanly
def users_token(
    case_dir: CaseDir,
    username: Annotated[str, typer.Argument(help="Whose token.")],
    label: Annotated[str, typer.Option(help="What the token is for.")] = "script",
) -> None:
    """Make an API token for an account; it is printed once and stored only as a digest."""
    from factfinder import accounts
    from factfinder.permissions import Role

    with Case.open(case_dir) as case:
        match = [u for u in accounts.list_users(case.engine) if u.username == username.lower()]
        if not match:
            raise VaultError(f"no user {username}")
        u = match[0]
        token = accounts.create_token(case.engine, accounts.Account(u.id, u.username, Role(u.role)), label)
    out.print(token, markup=False)


media_app = typer.Typer(
    help="Media forensics: metadata, perceptual hashes, near-duplicates, earliest copy.", no_args_is_help=True
)
app.add_typer(media_app, name="media")


def _media_progress() -> tuple[Progress, Callable[[int, int], None]]:
    progress = Progress(
        TextColumn("analysing media"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("items"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )
    task = progress.add_task("media", total=None)

    def step(done: int, total: int) -> None:
        progress.update(task, completed=done, total=total)

    return progress, step


def _scan_summary(report: Any) -> str:
    return (
        f"media: {report.analysed} analysed ({report.partial} in part, {report.failed} failed), "
        f"{report.matches} new matches, {report.clusters} clusters, {report.copies} working copies recorded"
    )


def _scan(case: Case, digests: list[str] | None = None, *, again: bool = False, workers: int | None = None) -> Any:
    from factfinder.media import scan

    progress, step = _media_progress()
    with progress:
        report = scan.scan_case(case, again=again, digests=digests, progress=step, workers=workers)
    _print_media_errors(report)
    return report


def _print_media_errors(report: Any) -> None:
    for sha, problem in report.errors:
        err.print(f"media: {sha[:12]}: {problem}", markup=False)


def after_intake(case: Case, digests: list[str], *, progress: bool = False) -> None:
    """The steps run on new items however they came (``add``, a bundle, a sync): media analysed, texts read
    for claims; what they could not finish, ``factfinder media scan`` finishes later."""
    from factfinder import pipeline

    if progress:
        bar, step = _media_progress()
        with bar:
            scanned = pipeline.process(case, digests, media_progress=step)
    else:
        scanned = pipeline.process(case, digests)
    _print_media_errors(scanned)
    if scanned.analysed:  # on stderr: stdout stays the report that scripts read
        err.print(_scan_summary(scanned), markup=False)


@media_app.command("scan")
@fails_cleanly
def media_scan(
    case_dir: CaseDir,
    again: Annotated[bool, typer.Option("--again", help="Analyse every media item again, not only new ones.")] = False,
    workers: Annotated[int | None, typer.Option(help="Worker processes [default: one per core].")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Analyse the case's images and videos: metadata, hashes, matches and clusters.

    Resumable and idempotent: items already analysed are skipped, and an
    interrupted scan goes on where it stopped.
    """
    with Case.open(case_dir) as case:
        report = _scan(case, again=again, workers=workers)
    if as_json:
        out.print_json(data=dataclasses.asdict(report))
    else:
        out.print(_scan_summary(report), markup=False)


def _hash_json(path: Path, result: Any) -> dict[str, Any]:
    meta = result.meta
    data: dict[str, Any] = {
        "file": str(path),
        "kind": result.kind,
        "status": result.status,
        "errors": result.errors,
        "claimed_by_the_file": meta.columns() if meta else {},
        "c2pa": meta.c2pa if meta else None,
        "pdq_quality": result.pdq_quality,
    }
    if result.kind == "image" and result.hashes:
        data["pdq"] = {h.variant: {"hash": h.hash.hex(), "quality": h.quality} for h in result.hashes}
        data["pdq_rotations_and_flips"] = {n: h.hex() for n, h in result.queries if not n.startswith("crop")}
    elif result.hashes:
        data["content_box"] = result.content_box
        for variant in ("keyframe", "second"):
            data[f"pdq_{variant}s"] = [
                {"t": h.t, "hash": h.hash.hex(), "quality": h.quality} for h in result.hashes if h.variant == variant
            ]
    return data


def _sniffed(path: Path) -> tuple[str, str]:
    """A file's SHA-256 and its media type read from its content, as the vault would record them."""
    from factfinder.vault import sniff
    from factfinder.vault.blobs import hash_file

    with open(path, "rb") as fh:
        head = fh.read(65536)
    return hash_file(path)[0], sniff.media_type(head)


@media_app.command("hash")
@fails_cleanly
def media_hash(
    file: Annotated[Path, typer.Argument(help="An image or video file.", dir_okay=False, exists=True)],
) -> None:
    """Print a file's metadata and perceptual hashes as JSON (nothing is recorded)."""
    from factfinder.media import analyse

    sha, media_type = _sniffed(file)
    result = analyse.analyse_file(file, media_type, copies=False)
    out.print_json(data={"sha256": sha, "media_type": media_type, **_hash_json(file, result)})
    if result.status == "failed":
        raise typer.Exit(1)


@media_app.command("similar")
@fails_cleanly
def media_similar(
    case_dir: CaseDir,
    file: Annotated[Path, typer.Argument(help="An image or video file.", dir_okay=False, exists=True)],
) -> None:
    """Print, as JSON, the case's items that show the same picture or footage as FILE."""
    from factfinder.media import scan

    sha, media_type = _sniffed(file)
    with Case.open(case_dir) as case:
        result, found = scan.similar(case, file, media_type)
    matches = [
        {
            "sha256": item.sha256,
            "media_type": item.media_type,
            "kind": f.kind,
            "distance": f.distance,
            "strong": f.strong,
            **f.detail,
        }
        for item, f in found
    ]
    out.print_json(
        data={
            "file": str(file),
            "sha256": sha,
            "media_type": media_type,
            "status": result.status,
            "errors": result.errors,
            "matches": matches,
        }
    )


@media_app.command("clusters")
@fails_cleanly
def media_clusters(case_dir: CaseDir, as_json: JsonOpt = False) -> None:
    """List the clusters of near-duplicates, each with its earliest / most original candidates."""
    from factfinder.media import earliest

    with Case.open(case_dir) as case, case.engine.connect() as conn:
        data: list[dict[str, Any]] = []
        for cid, _ in earliest.cluster_ids(conn):
            group = earliest.members(conn, cid)
            ranked = earliest.rank(conn, group)
            data.append(
                {
                    "cluster": cid,
                    "members": [{"sha256": m.sha256, "media_type": m.media_type, "matches": m.matches} for m in group],
                    "earliest_candidates": [
                        {"sha256": c.sha256, "score": c.score, "reasons": c.reasons} for c in ranked
                    ],
                }
            )
    if as_json:
        out.print_json(data=data)
        return
    if not data:
        out.print("no clusters: no two items in the case show the same picture or footage (run media scan?)")
    for cluster in data:
        out.print(f"cluster {cluster['cluster']}: {len(cluster['members'])} items", markup=False)
        for rank, c in enumerate(cluster["earliest_candidates"], 1):
            out.print(f"  {rank}. {c['sha256']}  score {c['score']:g}", markup=False)
            for reason in c["reasons"]:
                out.print(f"       {reason}", markup=False)


text_app = typer.Typer(
    help="Claims from text: counts, places, dates, actors and events, in English, Russian and Kazakh.",
    no_args_is_help=True,
)
app.add_typer(text_app, name="text")

PublishedOpt = Annotated[
    str | None,
    typer.Option("--published", help="Publication (or receipt) date YYYY-MM-DD, for relative dates [default: today]."),
]
LangOpt = Annotated[str, typer.Option("--lang", help="auto, en, ru or kk.")]


def _published(value: str | None) -> Any:
    from datetime import UTC, date, datetime

    if value is None:
        return datetime.now(UTC).date()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date YYYY-MM-DD", param_hint="--published") from None


def _lang(text: str, lang: str) -> str:
    from factfinder.text import language

    try:
        return language.resolve(text, lang)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--lang") from None


def _read_text(path: Path) -> str:
    data = sys.stdin.buffer.read() if str(path) == "-" else path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise typer.BadParameter(f"{path}: not UTF-8 text (byte {exc.start})") from None


def _jsonl_documents(path: Path, default_published: Any) -> Any:
    from datetime import date

    text = _read_text(path)
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
                raise ValueError('each line needs {"id", "text", "published"}')
            published = date.fromisoformat(obj["published"]) if obj.get("published") else default_published
        except (ValueError, TypeError) as exc:
            raise typer.BadParameter(f"{path}:{n}: {exc}") from None
        yield str(obj.get("id", n)), obj["text"], published


@text_app.command("claims")
@fails_cleanly
def text_claims(
    file: Annotated[Path, typer.Argument(help="A UTF-8 text file ('-' reads standard input).", show_default=False)],
    published: PublishedOpt = None,
    lang: LangOpt = "auto",
) -> None:
    """Print the claims of a text as JSON lines: kind, span, sentence, stance and what it says."""
    from factfinder.text import claims

    text = _read_text(file)
    found = claims.extract(text, _published(published), _lang(text, lang))
    for c in found:
        sys.stdout.write(json.dumps(c.to_json(), ensure_ascii=False) + "\n")


@text_app.command("code")
@fails_cleanly
def text_code(
    file: Annotated[Path, typer.Argument(help="A UTF-8 text file, or JSON lines with --jsonl.", show_default=False)],
    published: PublishedOpt = None,
    lang: LangOpt = "auto",
    jsonl: Annotated[bool, typer.Option("--jsonl", help='One document per line: {"id","text","published"}.')] = False,
) -> None:
    """Code each document as one ACLED event row (JSON, one object per document), with spans."""
    from factfinder.text import coding

    default = _published(published)
    docs = _jsonl_documents(file, default) if jsonl else [("", _read_text(file), default)]
    for doc_id, text, day in docs:
        row = coding.code_text(text, day, _lang(text, lang), doc_id)
        if jsonl:
            row = {"id": doc_id, **row}
        sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")


@text_app.command("evaluate")
@fails_cleanly
def text_evaluate(
    gold: Annotated[list[Path], typer.Argument(help="Annotated gold files (JSON lines).", show_default=False)],
    as_json: JsonOpt = False,
    misses: Annotated[
        bool, typer.Option("--misses", help="Also list the ACLED fields each document got wrong.")
    ] = False,
) -> None:
    """Precision and recall per claim kind and field, and ACLED row accuracy, against gold files."""
    from factfinder.text import evaluate

    docs: list[dict[str, Any]] = []
    try:
        for path in gold:
            docs += evaluate.load_gold(path)
    except evaluate.GoldError as exc:
        raise typer.BadParameter(str(exc)) from None
    report = evaluate.evaluate(docs)
    if as_json:
        out.print_json(data={**report.to_json(), **({"misses": report.misses} if misses else {})})
        return
    out.print(evaluate.render(report), markup=False)
    if misses:
        for m in report.misses:
            out.print(json.dumps(m, ensure_ascii=False), markup=False)


@text_app.command("read")
@fails_cleanly
def text_read(
    case_dir: CaseDir,
    again: Annotated[bool, typer.Option("--again", help="Read every text item again, not only new ones.")] = False,
) -> None:
    """Extract the claims of the case's text items (those not yet read by this version)."""
    from factfinder.text import store

    with Case.open(case_dir) as case:
        report = store.read_items(case, again=again)
    for sha, problem in report.errors:
        err.print(f"text: {sha[:12]}: {problem}", markup=False)
    out.print(f"text: {report.read} items read, {report.claims} claims", markup=False)


@text_app.command("list")
@fails_cleanly
def text_list(
    case_dir: CaseDir,
    kind: Annotated[str | None, typer.Option("--kind", help="count, place, date, actor or event.")] = None,
    item: Annotated[str | None, typer.Option("--item", help="Only this item (digest prefix).")] = None,
    decision: Annotated[
        str | None, typer.Option("--decision", help="confirmed, corrected, rejected or unreviewed.")
    ] = None,
    limit: Annotated[int, typer.Option(help="At most this many.")] = 200,
) -> None:
    """Print the case's claims as JSON lines, with the item they came from and their review."""
    from factfinder.text import store

    with Case.open(case_dir) as case:
        it = case.resolve(item) if item else None
        found = store.list_claims(case, item=it, kind=kind, decision=decision, limit=limit)
    for c in found:
        line = {"id": c.id, "item": c.item_sha256, **c.body, "decision": c.decision, "author": c.author}
        sys.stdout.write(json.dumps(line, ensure_ascii=False) + "\n")


@text_app.command("review")
@fails_cleanly
def text_review(
    case_dir: CaseDir,
    claim_id: Annotated[int, typer.Argument(help="The claim's id (from `text list`).", show_default=False)],
    decision: Annotated[str, typer.Argument(help="confirmed, corrected or rejected.", show_default=False)],
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why (kept in the case; its digest is logged).")
    ] = None,
    correct: Annotated[
        list[str] | None, typer.Option("--set", help="FIELD=VALUE (JSON value) of a correction; repeatable.")
    ] = None,
    actor: ActorOpt = None,
) -> None:
    """Confirm, correct or reject a claim; the decision is a custody entry."""
    from factfinder.text import store

    correction: dict[str, Any] | None = None
    if correct:
        correction = {}
        for pair in correct:
            name, sep, value = pair.partition("=")
            if not sep:
                raise typer.BadParameter(f"{pair!r}: give FIELD=VALUE", param_hint="--set")
            try:
                correction[name] = json.loads(value)
            except ValueError:
                correction[name] = value
    with Case.open(case_dir) as case:
        rid = store.review(
            case, claim_id, decision, actor=actor or config.default_actor(), reason=reason, correction=correction
        )
    out.print(f"review {rid} recorded: claim {claim_id} {decision}", markup=False)


incidents_app = typer.Typer(
    help="Incidents: reports grouped by place, time and type; merge, split, attach evidence.",
    no_args_is_help=True,
)
app.add_typer(incidents_app, name="incidents")
ReasonOpt = Annotated[str | None, typer.Option("--reason", help="Why (kept in the case; its digest is logged).")]


def _interval(first: Any, last: Any) -> str:
    return first.isoformat() if first == last else f"{first.isoformat()}/{last.isoformat()}"


@incidents_app.command("list")
@fails_cleanly
def incidents_list(case_dir: CaseDir, as_json: JsonOpt = False) -> None:
    """The case's incidents in time order: when, where, type, deaths (the conservative figure), corroboration."""
    from factfinder.findings import store
    from factfinder.reports import exports

    with Case.open(case_dir) as case:
        found = store.findings(case)
    if as_json:
        sys.stdout.write(json.dumps(exports.to_json(found)["incidents"], ensure_ascii=False, indent=1) + "\n")
        return
    table = Table("incident", "when", "where", "type", "killed", "corroboration", box=None)
    for inc in found.incidents:
        where = (f"{inc.place}" + (" (region)" if (inc.geo_precision or 1) > 2 else "")) if inc.place else "unknown"
        killed = "" if inc.fatalities is None else str(inc.fatalities)
        table.add_row(
            inc.ref,
            _interval(inc.earliest, inc.latest),
            escape(where),
            escape(inc.kind),
            killed,
            inc.corroboration.label,
        )
    # Piped into a file or a pager: whole lines, not a grid wrapped to 80 columns.
    (out if out.is_terminal else Console(width=160, highlight=False)).print(table)
    out.print(f"{len(found.incidents)} incidents from {found.claims} claims, at checkpoint {found.checkpoint_size}")


def _print_table(t: Any) -> None:
    from factfinder.findings.model import SOURCE_TYPE_LABELS

    out.print(f"[bold]{t.what}[/]: conservative figure {t.conservative} ({escape(t.conservative_reason)})")
    if t.official_history:
        history = " -> ".join(f"{f.text} ({f.reported_on.isoformat()})" for f in t.official_history)
        out.print(f"  official history: {escape(history)}")
    if t.independent_low is not None:
        out.print(
            f"  independent sources ({t.independent_sources}): {t.independent_low} to {t.independent_high}",
            markup=False,
        )
    for f in t.figures:
        repeat = f"  (repeats claim {f.repeats})" if f.repeats is not None else ""
        hedged = "  (hedged)" if f.hedged else ""
        out.print(
            f"  {f.reported_on.isoformat()}  {f.text:>14}  {f.source.name} [{SOURCE_TYPE_LABELS[f.source.type]}]"
            f"  source {f.group}  \u201c{f.quote}\u201d  item {f.item_sha256[:12]}{repeat}{hedged}",
            markup=False,
        )
    for d in t.disputes:
        out.print(f"  dispute: {d}", markup=False)


@incidents_app.command("show")
@fails_cleanly
def incidents_show(case_dir: CaseDir, ref: Annotated[str, typer.Argument(help="The incident (I-...).")]) -> None:
    """One incident: its reports, reconciled counts, corroboration and the decisions that shaped it."""
    from factfinder.findings import store

    with Case.open(case_dir) as case:
        inc = store.resolve_ref(case, ref)
    out.print(f"[bold]{escape(inc.ref)}[/] {escape(inc.label)}")
    out.print(f"  when: {_interval(inc.earliest, inc.latest)} (time precision {inc.time_precision})", markup=False)
    if inc.dates_disagree:
        out.print("  the reports' dates disagree: see the reports below", markup=False)
    where = f"{inc.place}, {inc.admin1}, {inc.country}" if inc.place else "place unknown"
    out.print(f"  where: {where} (geo precision {inc.geo_precision}, reports within {inc.radius_km} km)", markup=False)
    out.print(f"  types: {', '.join(f'{k} ({v})' for k, v in inc.types.items()) or '-'}", markup=False)
    out.print(f"  corroboration: {inc.corroboration.label}", markup=False)
    for reason in inc.corroboration.reasons:
        out.print(f"    - {reason}", markup=False)
    out.print("  reports:", markup=False)
    for r in inc.records:
        out.print(
            f"    claim {r.claim_id}  {r.reported_on.isoformat()}  {r.event_type or '-'}  {r.place or '-'}  "
            f"{_interval(r.earliest, r.latest)}  {r.source.name}  \u201c{r.quote}\u201d"
            + ("  (denied)" if r.negated else ""),
            markup=False,
        )
    for a in inc.attached:
        out.print(f"  attached: {a.item_sha256[:12]} {a.media_type} (by {a.via})", markup=False)
    for t in inc.counts.values():
        _print_table(t)


@incidents_app.command("merge")
@fails_cleanly
def incidents_merge(
    case_dir: CaseDir,
    into: Annotated[str, typer.Argument(help="The incident that stays.")],
    other: Annotated[str, typer.Argument(help="The incident merged into it.")],
    reason: ReasonOpt = None,
    actor: ActorOpt = None,
) -> None:
    """Merge two incidents (a custody entry)."""
    from factfinder.findings import store

    with Case.open(case_dir) as case:
        did = store.merge(case, into, other, actor=actor or config.default_actor(), reason=reason)
    out.print(f"decision {did} recorded: {other} merged into {into}", markup=False)


@incidents_app.command("split")
@fails_cleanly
def incidents_split(
    case_dir: CaseDir,
    ref: Annotated[str, typer.Argument(help="The incident.")],
    claims: Annotated[list[int], typer.Argument(help="Claim ids of the reports to move into a new incident.")],
    reason: ReasonOpt = None,
    actor: ActorOpt = None,
) -> None:
    """Move some reports of an incident into a new incident of their own (a custody entry)."""
    from factfinder.findings import store

    with Case.open(case_dir) as case:
        did = store.split(case, ref, claims, actor=actor or config.default_actor(), reason=reason)
        new = next((i.ref for i in store.findings(case).incidents if did in i.decisions and i.ref != ref), "?")
    out.print(f"decision {did} recorded: reports {claims} of {ref} are now incident {new}", markup=False)


@incidents_app.command("attach")
@fails_cleanly
def incidents_attach(
    case_dir: CaseDir,
    ref: Annotated[str, typer.Argument(help="The incident.")],
    item: Annotated[str, typer.Argument(help="The item (digest or unique prefix).")],
    cluster: Annotated[bool, typer.Option("--cluster", help="Attach the item's whole media cluster.")] = False,
    reason: ReasonOpt = None,
    actor: ActorOpt = None,
) -> None:
    """Attach an item (or its media cluster) to an incident as evidence of it (a custody entry)."""
    from factfinder.findings import store

    with Case.open(case_dir) as case:
        did = store.attach(case, ref, item, cluster=cluster, actor=actor or config.default_actor(), reason=reason)
    out.print(f"decision {did} recorded: {item} attached to {ref}", markup=False)


@incidents_app.command("detach")
@fails_cleanly
def incidents_detach(
    case_dir: CaseDir,
    ref: Annotated[str, typer.Argument(help="The incident.")],
    item: Annotated[str, typer.Argument(help="The item (digest or unique prefix).")],
    reason: ReasonOpt = None,
    actor: ActorOpt = None,
) -> None:
    """Take an attached item off an incident (a custody entry)."""
    from factfinder.findings import store

    with Case.open(case_dir) as case:
        did = store.detach(case, ref, item, actor=actor or config.default_actor(), reason=reason)
    out.print(f"decision {did} recorded: {item} detached from {ref}", markup=False)


@app.command("counts")
@fails_cleanly
def counts_cmd(case_dir: CaseDir, incident: Annotated[str | None, typer.Option(help="One incident.")] = None) -> None:
    """Reconciled counts: every figure with its source and date, the official history, the conservative
    figure, the range across independent sources, and the disputes."""
    from factfinder.findings import store

    with Case.open(case_dir) as case:
        tables = store.resolve_ref(case, incident).counts if incident else store.findings(case).counts
    if not tables:
        out.print("no figures in the case's claims", markup=False)
    for t in tables.values():
        _print_table(t)


@app.command("report")
@fails_cleanly
def report_cmd(
    case_dir: CaseDir,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write the HTML report here.")] = None,
    pdf: Annotated[Path | None, typer.Option("--pdf", help="Write the PDF report here.")] = None,
    redacted: Annotated[
        bool, typer.Option("--redacted", help="The variant for publication: no witness names, GPS or reasons.")
    ] = False,
    exports_dir: Annotated[
        Path | None,
        typer.Option("--exports", help="Also write CSV, JSON, GeoJSON, ACLED CSV and SQLite (Datasette) here."),
    ] = None,
) -> None:
    """The case report: summary, incidents, count tables with sources, timeline, map and the evidence with
    digests, at the latest signed checkpoint."""
    from factfinder.findings import store
    from factfinder.reports import exports, redaction, report

    if output is None and pdf is None and exports_dir is None:
        raise typer.BadParameter("give -o report.html, --pdf report.pdf or --exports DIR")
    with Case.open(case_dir) as case:
        found = store.findings(case)
    shown = redaction.redact(found) if redacted else found
    for path in (output, pdf):
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
    if output is not None:
        report.write_html(found, output, redacted=redacted)
        out.print(f"report: {output}", markup=False)
    if pdf is not None:
        report.write_pdf(found, pdf, redacted=redacted)
        out.print(f"report: {pdf}", markup=False)
    if exports_dir is not None:
        for path in exports.export_all(shown, exports_dir):
            out.print(f"export: {path}", markup=False)
    out.print(
        f"{len(found.incidents)} incidents, {len(found.items)} items cited, at checkpoint {found.checkpoint_size}"
        f" ({found.checkpoint_root[:16]}...)",
        markup=False,
    )


@app.command()
@fails_cleanly
def serve(
    case_dir: CaseDir,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    max_upload_mb: Annotated[int, typer.Option(help="Largest upload accepted, in MiB.")] = 512,
    identity: Annotated[
        Path | None,
        typer.Option(
            "--identity", "-i", help="Witness identity: investigators may then reveal without it.", dir_okay=False
        ),
    ] = None,
    secure_cookies: Annotated[bool, typer.Option(help="Mark cookies Secure (set when served behind TLS).")] = False,
    twilio_auth_token: Annotated[
        str | None,
        typer.Option(
            envvar="FACTFINDER_TWILIO_AUTH_TOKEN",
            help="Twilio auth token (enables POST /sms/twilio); prefer the environment variable.",
        ),
    ] = None,
    rapidpro_secret: Annotated[
        str | None,
        typer.Option(
            envvar="FACTFINDER_RAPIDPRO_SECRET", help="Secret in the RapidPro receive URL /sms/rapidpro/SECRET (16+)."
        ),
    ] = None,
    public_url: Annotated[
        str | None, typer.Option(help="Base URL as SMS gateways reach it (behind a proxy): webhook signatures.")
    ] = None,
    twilio_webhook_key: Annotated[
        str | None,
        typer.Option(
            envvar="FACTFINDER_TWILIO_WEBHOOK_KEY",
            help="Twilio SharedKey secret, where webhooks are signed with one; prefer the environment variable.",
        ),
    ] = None,
    sms_media_deadline: Annotated[
        float, typer.Option(help="Seconds to fetch one SMS's media (MMS) before noting them missing.")
    ] = 10.0,
) -> None:
    """Serve the web app: the submission page, the team's case pages and the JSON API."""
    import uvicorn

    from factfinder import pipeline
    from factfinder.web.app import Settings, create_app

    case = Case.open(case_dir)
    if identity is not None:
        keys.load_identity(identity)  # fail now, not at the first reveal
    if not case.read_only:
        pipeline.index_items(case)  # catch up on items added from the terminal since the last run
    settings = Settings(
        max_upload_bytes=max_upload_mb << 20,
        secure_cookies=secure_cookies,
        identity_file=identity,
        twilio_auth_token=twilio_auth_token,
        rapidpro_secret=rapidpro_secret,
        public_url=public_url,
        twilio_webhook_key=twilio_webhook_key,
        sms_media_deadline_s=sms_media_deadline,
    )
    web = create_app(case, settings)
    out.print(f"serving {escape(case.config.title)} on http://{host}:{port}  (Ctrl-C stops)")
    try:
        uvicorn.run(web, host=host, port=port, log_level="warning", access_log=False)
    finally:
        case.close()


# The register and estimation commands, and the field-intake ones (bundles, origins, OpenRosa, SMS, sync),
# live in modules of their own; importing them adds them to ``app``.
from factfinder import cli_odk, cli_persons, cli_sms, cli_sync, cli_transfer  # noqa: E402,F401


def run() -> None:
    """Console entry point."""
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    run()
