"""``factfinder persons ...`` and ``factfinder estimate``: the register of victims and the estimate of the undocumented.

Kept apart from ``cli.py`` (which registers these commands) only for length;
as thin as the rest: parse, call ``factfinder.findings.persons`` or
``factfinder.findings.estimation``, print.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from factfinder import config
from factfinder.cli import ActorOpt, CaseDir, JsonOpt, app, fails_cleanly, out
from factfinder.vault.case import Case
from factfinder.vault.errors import VaultError

persons_app = typer.Typer(
    help="The register of the killed, injured, detained and missing: import lists, link records, review.",
    no_args_is_help=True,
)
app.add_typer(persons_app, name="persons")
ReasonOpt = Annotated[str | None, typer.Option("--reason", help="Why (kept in the case; its digest is logged).")]
ThresholdOpt = Annotated[
    float | None,
    typer.Option("--threshold", min=0.0, max=1.0, help="Match probability at which records are one person."),
]


def _wide() -> Console:
    """Piped into a file or a pager: whole lines, not a grid wrapped to 80 columns."""
    return out if out.is_terminal else Console(width=200, highlight=False)


@persons_app.command("import")
@fails_cleanly
def persons_import(
    case_dir: CaseDir,
    file: Annotated[Path, typer.Argument(help="The list: a CSV file (UTF-8).", exists=True, dir_okay=False)],
    list_name: Annotated[str, typer.Option("--list", help="The list's name (its records count as one list).")],
    source: Annotated[str | None, typer.Option(help="Who made the list (an organisation, a family...).")] = None,
    source_type: Annotated[str, typer.Option("--source-type", help="family, hospital, morgue, forensic, ...")] = (
        "other"
    ),
    mapping: Annotated[
        list[str] | None, typer.Option("--map", help="field=Column header (repeat); default: known headers.")
    ] = None,
    status: Annotated[str, typer.Option(help="What happened, for rows that do not say.")] = "killed",
    actor: ActorOpt = None,
) -> None:
    """Import a victim list: the file goes into the vault and every row becomes a person record (all or none)."""
    from factfinder.findings.persons import lists, store

    chosen = lists.read_mapping(mapping) if mapping else None
    data = file.read_bytes()
    with Case.open(case_dir) as case:
        result = store.import_list(
            case,
            data,
            list_name=list_name,
            source=source,
            source_type=source_type,
            actor=actor or config.default_actor(),
            mapping=chosen,
            original_name=file.name,
            default_status=status,
        )
    out.print(
        f"{result.records} records imported into list {result.list_name!r} (entry {result.log_index},"
        f" file {result.item_sha256[:12] if result.item_sha256 else '-'})",
        markup=False,
    )
    out.print("columns: " + ", ".join(f"{k}={v}" for k, v in sorted(result.mapping.items())), markup=False)
    if result.ignored_columns:
        out.print(f"not imported: {', '.join(result.ignored_columns)}", markup=False)


def _print_parameters(parameters: dict[str, Any]) -> None:
    """The model's parameters, as splink shows them: the prior and each comparison level's m, u and weight."""
    prior = parameters.get("probability_two_random_records_match")
    if prior is not None:
        out.print(f"prior: two random records are the same person with probability {prior:.3g}", markup=False)
    table = Table("comparison", "level", "m", "u", "Bayes factor", box=None)
    for comp in parameters.get("comparisons", []):
        for level in comp.get("levels", []):
            m, u = level.get("m"), level.get("u")
            bf = level.get("bayes_factor")
            table.add_row(
                escape(str(comp.get("name", ""))),
                escape(str(level.get("label", ""))),
                "" if m is None else f"{m:.4f}",
                "" if u is None else f"{u:.5f}",
                "" if bf is None else f"{bf:.3g}",
            )
    _wide().print(table)


@persons_app.command("link")
@fails_cleanly
def persons_link(
    case_dir: CaseDir,
    threshold: ThresholdOpt = None,
    again: Annotated[bool, typer.Option("--again", help="Run linkage even if these records were linked.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Link the records (splink on DuckDB, unsupervised Fellegi-Sunter): the model, the persons, the review queue."""
    from factfinder.findings.persons import store

    with Case.open(case_dir) as case:
        run = store.link(case, force=again)
        reg = store.register(case, threshold=threshold)
    if as_json:
        sys.stdout.write(
            json.dumps(
                {
                    "records": sum(len(p.records) for p in reg.persons),
                    "persons": len(reg.persons),
                    "pairs": len(run.pairs),
                    "review_queue": sum(1 for q in reg.queue if q.decision is None),
                    "threshold": reg.threshold,
                    "settings": run.settings,
                    "parameters": run.parameters,
                },
                ensure_ascii=False,
                indent=1,
            )
            + "\n"
        )
        return
    _print_parameters(run.parameters)
    waiting = sum(1 for q in reg.queue if q.decision is None)
    out.print(
        f"{sum(len(p.records) for p in reg.persons)} records, {len(run.pairs)} scored pairs:"
        f" {len(reg.persons)} persons at probability {reg.threshold:g};"
        f" {waiting} pairs between {reg.lower:g} and {reg.upper:g} wait for review",
        markup=False,
    )


@persons_app.command("list")
@fails_cleanly
def persons_list(
    case_dir: CaseDir,
    threshold: ThresholdOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The register: one row per linked person, the lists that recorded them, corroboration."""
    from factfinder.findings.persons import store
    from factfinder.reports import registerexport

    with Case.open(case_dir) as case:
        reg = store.register(case, threshold=threshold)
    if as_json:
        sys.stdout.write(json.dumps(registerexport.register_json(reg), ensure_ascii=False, indent=1) + "\n")
        return
    table = Table("person", "name", "status", "records", "lists", "corroboration", box=None)
    for p in reg.persons:
        statuses, lists = ", ".join(p.statuses), escape("; ".join(p.lists))
        table.add_row(p.ref, escape(p.name), statuses, str(len(p.records)), lists, p.corroboration)
    _wide().print(table)
    out.print(f"{len(reg.persons)} persons from {sum(len(p.records) for p in reg.persons)} records", markup=False)


@persons_app.command("show")
@fails_cleanly
def persons_show(
    case_dir: CaseDir,
    ref: Annotated[str, typer.Argument(help="The person (P-...) or one of their records (digest prefix).")],
    threshold: ThresholdOpt = None,
) -> None:
    """One person: every record that is them, with its list and the item it came from."""
    from factfinder.findings.persons import store

    with Case.open(case_dir) as case:
        reg = store.register(case, threshold=threshold)
    person = reg.person(ref)
    if person is None:
        raise store.PersonsError(f"no person {ref!r} in the register")
    out.print(f"{person.ref}  {person.name}  ({person.corroboration}: {person.corroboration_reason})", markup=False)
    for r in person.records:
        rec = r.record
        age = "" if rec.age_min is None else str(rec.age_min)
        if age and rec.age_max != rec.age_min:
            age += f"-{rec.age_max}"
        out.print(
            f"  {r.ref}  {rec.display_name()}  {rec.sex or '-'}  age {age or '-'}  born {rec.birth_date or '-'}"
            f"  {rec.status}  {rec.event_date_start or '-'}  {rec.event_place or '-'}  list {r.list_name!r}"
            f" row {r.position}  item {r.item_sha256[:12] if r.item_sha256 else '-'}"
            + (f"  sealed: {', '.join(r.sealed_fields)}" if r.sealed_fields else ""),
            markup=False,
        )


@persons_app.command("queue")
@fails_cleanly
def persons_queue(case_dir: CaseDir, as_json: JsonOpt = False) -> None:
    """The pairs in the uncertain band that no one has reviewed yet, most likely first."""
    from factfinder.findings.persons import store

    with Case.open(case_dir) as case:
        reg = store.register(case)
    waiting = [q for q in reg.queue if q.decision is None]
    if as_json:
        rows = [{"a": q.a.sha256, "b": q.b.sha256, "probability": q.probability, "reasons": q.reasons} for q in waiting]
        sys.stdout.write(json.dumps(rows, ensure_ascii=False, indent=1) + "\n")
        return
    for q in waiting:
        out.print(
            f"{q.probability:.3f}  {q.a.ref} {q.a.record.display_name()} ({q.a.list_name})"
            f"  ~  {q.b.ref} {q.b.record.display_name()} ({q.b.list_name})  [{'; '.join(q.reasons)}]",
            markup=False,
        )
    out.print(f"{len(waiting)} pairs wait for review", markup=False)


@persons_app.command("review")
@fails_cleanly
def persons_review(
    case_dir: CaseDir,
    a: Annotated[str, typer.Argument(help="One record (digest prefix).")],
    b: Annotated[str, typer.Argument(help="The other record.")],
    decision: Annotated[str, typer.Argument(help="same or different.")],
    reason: ReasonOpt = None,
    actor: ActorOpt = None,
) -> None:
    """Decide whether two records are the same person (a custody entry); the register follows the decision."""
    from factfinder.findings.persons import store

    with Case.open(case_dir) as case:
        rid = store.review(case, a, b, decision, actor=actor or config.default_actor(), reason=reason)
    out.print(f"review {rid} recorded: {a} and {b} are {decision}", markup=False)


@persons_app.command("propose")
@fails_cleanly
def persons_propose(
    case_dir: CaseDir,
    accept: Annotated[
        list[int] | None, typer.Option("--accept", help="Make the proposal of this claim a record (repeat).")
    ] = None,
    list_name: Annotated[str, typer.Option("--list", help="The list accepted records go to.")] = "named in texts",
    reason: ReasonOpt = None,
    actor: ActorOpt = None,
) -> None:
    """Records the claims suggest (a person named where a text reports a killing or an arrest); --accept makes them."""
    from factfinder.findings.persons import proposals

    with Case.open(case_dir) as case:
        if accept:
            for claim_id in accept:
                made = proposals.accept(
                    case, claim_id, actor=actor or config.default_actor(), list_name=list_name, reason=reason
                )
                out.print(f"record {made.ref} made from claim {claim_id}: {made.record.display_name()}", markup=False)
            return
        found = proposals.proposals(case)
    for p in found:
        r = p.record
        out.print(
            f"claim {p.claim_id}  {r.display_name()}  {r.status}  {r.event_date_start or '-'}  {r.event_place or '-'}"
            f"  item {p.item_sha256[:12]}",
            markup=False,
        )
    out.print(f"{len(found)} proposals; accept with --accept CLAIM_ID", markup=False)


@persons_app.command("compare")
@fails_cleanly
def persons_compare(
    name_a: Annotated[str, typer.Argument(help="A name as written (any script).")],
    name_b: Annotated[str, typer.Argument(help="Another name.")],
    as_json: JsonOpt = False,
) -> None:
    """Score two names with the default model and say why (for quick checks and scripts)."""
    from factfinder.findings.persons import linkage
    from factfinder.findings.persons.model import PersonRecord

    result = linkage.compare(PersonRecord(full_name=name_a), PersonRecord(full_name=name_b))
    if as_json:
        sys.stdout.write(
            json.dumps(
                {
                    "a": name_a,
                    "b": name_b,
                    "match_weight": result.match_weight,
                    "probability": result.probability,
                    "reasons": list(result.reasons),
                },
                ensure_ascii=False,
            )
            + "\n"
        )
        return
    out.print(f"match probability {result.probability:.4f} (match weight {result.match_weight:+.2f})", markup=False)
    for reason in result.reasons:
        out.print(f"  - {reason}", markup=False)


@persons_app.command("export")
@fails_cleanly
def persons_export(
    case_dir: CaseDir,
    folder: Annotated[Path, typer.Argument(help="Where to write register.csv, overlap.csv, register.json.")],
    unredacted: Annotated[
        bool, typer.Option("--unredacted", help="Write names and exact dates (for the case team only).")
    ] = False,
    what: Annotated[str, typer.Option(help="Which status the overlap table counts.")] = "killed",
    threshold: ThresholdOpt = None,
) -> None:
    """Export the register (redacted by default: pseudonyms, birth years only) and the list-overlap table."""
    from factfinder.findings.persons import store
    from factfinder.reports import registerexport

    with Case.open(case_dir) as case:
        reg = store.register(case, threshold=threshold)
    for path in registerexport.write_all(reg, folder, redacted=not unredacted, what=what):
        out.print(f"export: {path}", markup=False)


@app.command("estimate")
@fails_cleanly
def estimate_cmd(
    case_dir: Annotated[Path | None, typer.Argument(help="The case folder (or give --lists-csv).")] = None,
    what: Annotated[str, typer.Option(help="killed, injured, detained, disappeared or released.")] = "killed",
    strata: Annotated[
        list[str] | None, typer.Option("--strata", help="Estimate within strata: sex, age, place (repeat).")
    ] = None,
    lists_csv: Annotated[
        Path | None,
        typer.Option(
            "--lists-csv", help="An overlap table: one 0/1 column per list, one row per person.", dir_okay=False
        ),
    ] = None,
    method: Annotated[str, typer.Option(help="both, loglinear or lcmcr.")] = "both",
    seed: Annotated[int, typer.Option(help="Seed of the latent-class sampler (same seed, same figures).")] = 1,
    official: Annotated[int | None, typer.Option(help="The official count, shown beside the estimate.")] = None,
    sensitivity: Annotated[
        bool, typer.Option("--sensitivity/--no-sensitivity", help="Estimate again at other linkage thresholds.")
    ] = True,
    as_json: JsonOpt = False,
) -> None:
    """Estimate how many were never recorded (multiple systems estimation): three figures, never one.

    Shown apart: the official count, the documented count (linked persons on
    at least one list) and the estimated total with its interval, with the
    assumptions in plain words."""
    from factfinder.findings import estimation
    from factfinder.findings.persons import estimate as casestimate

    if (case_dir is None) == (lists_csv is None):
        raise typer.BadParameter("give a case folder or --lists-csv FILE (not both)")
    if lists_csv is not None:
        try:
            table = estimation.OverlapTable.read_csv(lists_csv)
        except ValueError as exc:
            raise VaultError(str(exc)) from None
        result = estimation.estimate(
            table, method=casestimate.checked_method(method), seed=seed, official_count=official
        )
        if as_json:
            sys.stdout.write(json.dumps(result.to_dict(), ensure_ascii=False, indent=1) + "\n")
        else:
            out.print(result.to_text(), markup=False)
        return
    assert case_dir is not None
    with Case.open(case_dir) as case:
        report = casestimate.estimate_case(
            case, what=what, strata=strata or [], method=method, seed=seed, official=official, sensitivity=sensitivity
        )
    if as_json:
        sys.stdout.write(json.dumps(report.to_dict(), ensure_ascii=False, indent=1) + "\n")
    else:
        out.print(report.to_text(), markup=False)
