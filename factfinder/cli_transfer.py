"""``factfinder bundle ...`` and ``factfinder origins ...``: carried bundles and the origins an archive holds.

The command-line front door to :mod:`factfinder.intake.bundles` and
:mod:`factfinder.intake.origins` (issue 8, carried bundles). Kept apart from
``cli.py`` (which registers these commands) only for length; as thin as the
rest: parse, call the package, print. The round trip, as people do it:

1. at the receiving archive: ``factfinder origins state CASE -o state.json``
   (nothing secret in it: which logs it holds, how far, its public keys);
2. the file goes to the sender (on paper, by a message, on the stick itself);
3. at the sender: ``factfinder bundle export CASE --since state.json -o stick/x.bundle``;
4. at the receiving archive: ``factfinder bundle import CASE stick/x.bundle
   --identity KEY --carrier "who brought it" --left-at 2011-12-20``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from factfinder import config
from factfinder.cli import ActorOpt, CaseDir, JsonOpt, after_intake, app, fails_cleanly, out
from factfinder.vault import keys
from factfinder.vault.case import Case
from factfinder.vault.checkpoint import Checkpoint, Verifier
from factfinder.vault.errors import CheckpointError, VaultError

bundle_app = typer.Typer(
    help="Carried bundles: what another archive lacks, on a USB stick, encrypted to it; and taking one in.",
    no_args_is_help=True,
)
origins_app = typer.Typer(
    help="The custody logs this archive holds: its own, and those of the archives it received from.",
    no_args_is_help=True,
)
app.add_typer(bundle_app, name="bundle")
app.add_typer(origins_app, name="origins")


def _since(case: Case, since: str, *, trust_state: bool) -> tuple[dict[str, int], list[str], str | None]:
    """``have``, recipients and receiving archive from ``--since``: a state file, a checkpoint file, or a size.

    A state file names the age recipients the bundle is encrypted to, so its
    signature is checked first (:func:`factfinder.intake.origins.check_state`);
    for an archive this one holds no key for, a person must compare the key's
    fingerprint and the recipients with the receiving archive's.
    """
    from factfinder.intake import origins

    if since.isdigit():
        return {case.log.origin: int(since)}, [], None
    path = Path(since)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise VaultError(f"{since}: not a readable state or checkpoint file, nor a log size") from exc
    if text.lstrip().startswith("{"):
        try:
            obj = json.loads(text)
        except ValueError as exc:
            raise VaultError(f"{since}: not JSON") from exc
        st = origins.parse_state(obj)
        _trust(case, st, since, trust_state=trust_state)
        return st.have, st.recipients, st.archive
    held = origins.held(case)
    name = text.split("\n", 1)[0].strip()
    if name not in held:
        raise VaultError(f"{since}: a checkpoint of {name!r}, a log this archive does not hold")
    try:
        cp = Checkpoint.open(text if text.endswith("\n") else text + "\n", Verifier.parse(held[name].verifier))
    except CheckpointError as exc:
        raise VaultError(f"{since}: {exc}") from exc
    return {name: cp.size}, [], None


def _trust(case: Case, st: Any, since: str, *, trust_state: bool) -> None:
    """Believe a state file: its signature checked, and if its key is new here, a person's word for it."""
    from factfinder.cli import err
    from factfinder.intake import origins

    try:
        trust = origins.check_state(case, st)
    except origins.OriginsError as exc:
        raise VaultError(f"{since}: {exc}") from None
    if trust.pinned:
        return
    err.print(f"{since}: archive {st.archive} is not known here; its state is signed by the key", markup=False)
    err.print(f"  {trust.archive_fingerprint}", markup=False)
    err.print("and asks for the bundle to be encrypted to:", markup=False)
    for r in trust.recipients:
        err.print(f"  {r}", markup=False)
    err.print(
        "Compare them with the receiving archive's (factfinder origins list, and its case.json recipients) "
        "by a channel other than the one that brought the state file.",
        markup=False,
    )
    if trust_state:
        return
    if not sys.stdin.isatty():
        raise VaultError(f"{since}: an archive this one holds no key for: check the above, then give --trust-state")
    if not typer.confirm("Are they the receiving archive's?", default=False):
        raise VaultError("not exported: the state file was not confirmed")


@bundle_app.command("export")
@fails_cleanly
def bundle_export(
    case_dir: CaseDir,
    since: Annotated[
        str,
        typer.Option(
            "--since",
            help="What the receiving archive holds: its state file (factfinder origins state), "
            "a checkpoint file of a log held here, or a size of this archive's own log.",
        ),
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="The bundle file to write.", dir_okay=False)],
    to: Annotated[
        list[str] | None,
        typer.Option("--to", help="An age public key to encrypt to (repeat) [default: the state file's recipients]."),
    ] = None,
    trust_state: Annotated[
        bool,
        typer.Option(
            "--trust-state",
            help="The state file is of an archive this one holds no key for, and its key fingerprint and "
            "recipients (printed) were checked with that archive: go on without asking.",
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Write what the receiving archive lacks: log suffixes, signed checkpoints, proofs and items, encrypted."""
    from factfinder.intake import bundles

    with Case.open(case_dir) as case:
        have, recipients, archive = _since(case, since, trust_state=trust_state)
        recipients = [*recipients, *(to or [])]
        if not recipients:
            raise VaultError("give --to age1... (the receiving archive's public key), or a state file with --since")
        info = bundles.export_bundle(case, output, have=have, recipients=recipients, for_archive=archive)
    if as_json:
        out.print_json(
            data={
                "path": str(info.path),
                "sha256": info.sha256,
                "size": info.size,
                "for_archive": info.for_archive,
                "origins": [o.__dict__ for o in info.origins],
                "blobs": info.blobs,
                "blob_bytes": info.blob_bytes,
            }
        )
        return
    out.print(f"wrote {escape(str(info.path))}: {info.size:,} bytes, sha256 {info.sha256}")
    for o in info.origins:
        if o.to_size > o.from_size:
            out.print(f"  {escape(o.name)}: entries {o.from_size}..{o.to_size - 1}")
    out.print(f"  {info.blobs} item(s), {info.blob_bytes:,} bytes; encrypted to {len(recipients)} recipient(s)")


@bundle_app.command("import")
@fails_cleanly
def bundle_import(
    case_dir: CaseDir,
    file: Annotated[Path, typer.Argument(help="The bundle file.", exists=True, dir_okay=False)],
    identity: Annotated[
        Path | None,
        typer.Option("--identity", "-i", help="This case's age identity file, to open the bundle.", dir_okay=False),
    ] = None,
    carrier: Annotated[
        str | None, typer.Option("--carrier", help="Who says they carried it (kept as a claim).")
    ] = None,
    left_at: Annotated[
        str | None, typer.Option("--left-at", help="When it left, as the carrier says (ISO 8601).")
    ] = None,
    actor: ActorOpt = None,
    as_json: JsonOpt = False,
    media: Annotated[
        bool, typer.Option("--media/--no-media", help="Analyse the new images and videos, read the new texts.")
    ] = True,
) -> None:
    """Verify a bundle whole, then take in what this archive lacks (one custody entry per origin for the hop)."""
    from factfinder.intake import bundles

    ident = keys.load_identity(identity) if identity is not None else None
    with Case.open(case_dir) as case:
        report = bundles.import_bundle(
            case,
            file,
            identity=ident,
            carrier=carrier,
            left_at=left_at,
            actor=actor or config.default_actor(),
        )
        if media and report.new_items:
            after_intake(case, report.new_items)
    if as_json:
        out.print_json(data=_report_data(report))
        return
    if report.nothing_new:
        out.print(
            "nothing new: everything in this bundle is already held" + (" (seen before)" if report.seen_before else "")
        )
    for o in report.origins:
        if o.status == "taken":
            out.print(
                f"{escape(o.name)}: took entries {o.from_size}..{o.to_size - 1}, "
                f"{o.items_new} new item(s), {o.items_held} already held"
            )
        elif o.status != "held":
            out.print(f"[bold yellow]{escape(o.name)}: {o.status}[/]: {escape(o.reason)}")
        if o.first_seen:
            out.print(f"  new origin {escape(o.name)}: key {o.key_fingerprint} pinned (compare it with its owner's)")
    for name in report.forks:
        out.print(f"[bold red]fork:[/] origin {escape(name)} signed two histories; kept as evidence, nothing merged")


def _report_data(report: Any) -> dict[str, Any]:
    return {
        "bundle_sha256": report.bundle_sha256,
        "from_archive": report.from_archive,
        "nothing_new": report.nothing_new,
        "seen_before": report.seen_before,
        "forks": report.forks,
        "origins": [o.__dict__ for o in report.origins],
    }


@origins_app.command("list")
@fails_cleanly
def origins_list(case_dir: CaseDir, as_json: JsonOpt = False) -> None:
    """The logs this archive holds: its own and the mirrored ones, how far, under which key, forked or not."""
    from factfinder.intake import origins

    with Case.open(case_dir) as case:
        held = origins.held(case)
        own = case.log.origin
    if as_json:
        out.print_json(data=[{**o.__dict__, "own": name == own} for name, o in held.items()])
        return
    table = Table("origin", "entries", "key fingerprint", "")
    for name, o in held.items():
        note = "this archive" if name == own else ""
        if o.forked:
            note = (note + " " if note else "") + "[bold red]FORKED[/]"
        table.add_row(escape(name), str(o.size), Verifier.parse(o.verifier).fingerprint, note)
    out.print(table)


@origins_app.command("state")
@fails_cleanly
def origins_state(
    case_dir: CaseDir,
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write the state (JSON).", dir_okay=False)],
) -> None:
    """Write what this archive holds, for whoever will bring it a bundle (nothing secret in it)."""
    from factfinder.intake import origins

    with Case.open(case_dir) as case:
        data = origins.state(case)
    output.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    out.print(f"wrote {escape(str(output))}: {len(data['origins'])} origin(s)")
