"""``factfinder sms ...``: what the SMS channel (issue 8) has anchored, read from the terminal.

Kept apart from ``cli.py`` (which registers these commands) only for length;
as thin as the rest: open the case, call :mod:`factfinder.intake.sms`, print.
"""

from __future__ import annotations

import json
import sys

import typer
from rich.console import Console
from rich.table import Table

from factfinder.cli import CaseDir, JsonOpt, app, fails_cleanly, out
from factfinder.intake import sms
from factfinder.vault.case import Case

sms_app = typer.Typer(
    help="The SMS channel: digests announced by SMS ('hash first, media later').", no_args_is_help=True
)
app.add_typer(sms_app, name="sms")


@sms_app.command("anchors")
@fails_cleanly
def sms_anchors(case_dir: CaseDir, as_json: JsonOpt = False) -> None:
    """Digests announced by SMS, and whether bytes with each digest have arrived since (by any channel).

    An item that arrived after its anchor existed no later than the SMS's
    custody entry: both entries and times are shown, for the report.
    """
    with Case.open(case_dir) as case:
        found = sms.anchors(case)
    if as_json:
        sys.stdout.write(json.dumps([a.to_json() for a in found], indent=1) + "\n")
        return
    if not found:
        out.print("no digest has been anchored by SMS")
        return
    table = Table(
        "digest", "SMS entry", "anchored at (vault clock)", "item entry", "arrived at (vault clock)", "", box=None
    )
    for a in found:
        if not a.arrived:
            state = "not arrived"
        elif a.arrived_after:
            state = "arrived after the SMS"
        else:
            state = "was already in the case"
        table.add_row(
            a.claimed_sha256,
            str(a.log_index),
            a.anchored_at_vault_clock,
            "" if a.item_log_index is None else str(a.item_log_index),
            a.item_received_at_vault_clock or "",
            state,
        )
    wide = out if out.is_terminal else Console(width=240, highlight=False)  # piped: whole lines, no wrapped grid
    wide.print(table)
    arrived = sum(1 for a in found if a.arrived)
    out.print(f"{len(found)} anchored, {arrived} arrived", markup=False)
