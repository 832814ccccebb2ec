"""``factfinder sync CASE_DIR URL``: archive-to-archive sync over HTTP (issue 8), from the terminal.

Kept apart from ``cli.py`` (which registers it) only for length; as thin as
the rest: read the token, call :func:`factfinder.intake.sync.sync`, run the
after-intake steps on what the pull brought (as ``bundle import`` does: media
analysis, texts read for claims), print what moved and any fork. The token is
read from a file or the environment, never from the command line, where other
users of the machine could see it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from factfinder import config
from factfinder.cli import ActorOpt, CaseDir, JsonOpt, after_intake, app, err, fails_cleanly, out
from factfinder.intake import sync as sync_client
from factfinder.vault.case import Case


@app.command("sync")
@fails_cleanly
def sync_command(
    case_dir: CaseDir,
    url: Annotated[str, typer.Argument(help="The other archive's address, e.g. https://archive.example/.")],
    token_file: Annotated[
        Path | None,
        typer.Option(
            "--token-file",
            help=f"A file holding an API token of the other archive [default: ${sync_client.TOKEN_ENV}].",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    push: Annotated[bool, typer.Option("--push/--no-push", help="Send what the other archive lacks.")] = True,
    pull: Annotated[bool, typer.Option("--pull/--no-pull", help="Fetch what this archive lacks.")] = True,
    retries: Annotated[int, typer.Option(min=0, help="Tries per step without progress before giving up.")] = 8,
    timeout: Annotated[float, typer.Option(min=1.0, help="Seconds to wait for the other archive per request.")] = 60.0,
    actor: ActorOpt = None,
    as_json: JsonOpt = False,
    media: Annotated[
        bool, typer.Option("--media/--no-media", help="Analyse the new images and videos, read the new texts.")
    ] = True,
) -> None:
    """Sync with another archive: send what it lacks, fetch what this one lacks; forks are reported, not merged."""
    if not url.startswith(("https://", "http://")):
        raise typer.BadParameter("give the other archive's address as https://...", param_hint="URL")
    token = sync_client.read_token(token_file)
    if url.startswith("http://") and not url.startswith(("http://127.", "http://localhost", "http://[::1]")):
        err.print("[yellow]warning:[/] plain http: the token and the bundles travel unencrypted")
    with Case.open(case_dir) as case:
        report = sync_client.sync(
            case,
            url,
            token,
            actor=actor or config.default_actor(),
            push=push,
            pull=pull,
            retries=retries,
            timeout=timeout,
            say=lambda line: err.print(escape(line)),
        )
        if media and report.pulled_items:
            after_intake(case, report.pulled_items)
    if as_json:
        import json
        from dataclasses import asdict

        out.print_json(json.dumps(asdict(report)))
    else:
        peer = escape(report.peer + (f" (archive {report.peer_archive})" if report.peer_archive else ""))
        out.print(f"synced with {peer}: sent {report.bytes_sent:,} bytes, received {report.bytes_received:,} bytes")
        for name, moved in (("pushed", report.pushed), ("pulled", report.pulled)):
            out.print(f"  {name}: {'nothing' if moved is None else escape(_summary(moved))}")
        if report.retries:
            out.print(f"  {report.retries} request(s) repeated after a cut or a timeout")
    for fork in report.forks:  # "pushed: origin X" (found there), "pulled: ..." (found here), "state: ..." (either)
        err.print(f"[bold red]fork:[/] {escape(fork)}: the two archives hold different histories of it; not merged")
    if report.forks:
        raise typer.Exit(3)


def _summary(report: dict[str, object]) -> str:
    """One line from an import report (``bundles.ImportReport`` as JSON)."""
    if report.get("nothing_new"):
        return "nothing new (all of it was held already)"
    return f"{report.get('items_new', 0)} new item(s), {report.get('entries_taken', 0)} custody entries mirrored"
