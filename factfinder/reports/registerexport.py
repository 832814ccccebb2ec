"""Exports of the victim register: the register itself (CSV, JSON) and the list-overlap table.

The register names people who were killed, detained or disappeared, and the
lists it is made from often came from their families at some risk, so the
export is **redacted by default**: no names, no list row ids, no residence,
birth dates cut to the year. The case team asks for ``redacted=False`` when
it needs the names (to hand a list to a commission, say).

The overlap table is what statisticians take away: one row per linked
person recorded as ``what``, one 0/1 column per list, in the same layout as
the published Kosovo file, so ``factfinder estimate --lists-csv`` (or R's
LCMCR and Rcapture) reads it back directly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from factfinder.findings.persons.store import Register, RegisterPerson, overlap_rows
from factfinder.reports.exports import dumps, replacing, write_rows

REGISTER_COLUMNS = (
    "person",
    "name",
    "statuses",
    "sex",
    "age_min",
    "age_max",
    "birth",
    "residence",
    "event_date_start",
    "event_date_end",
    "event_place",
    "perpetrator",
    "lists",
    "records",
    "corroboration",
)


def _agreed(values: list[Any]) -> Any:
    """The value the records agree on, or "" where they differ or say nothing."""
    present = {v for v in values if v not in (None, "")}
    return present.pop() if len(present) == 1 else ""


def person_row(p: RegisterPerson, *, redacted: bool) -> dict[str, Any]:
    recs = [r.record for r in p.records]
    ages_min = [r.age_min for r in recs if r.age_min is not None]
    ages_max = [r.age_max for r in recs if r.age_max is not None]
    birth = _agreed([r.birth_date for r in recs])
    row = {
        "person": p.ref,
        "name": "" if redacted else " | ".join(dict.fromkeys(r.display_name() for r in recs)),
        "statuses": "; ".join(p.statuses),
        "sex": _agreed([r.sex for r in recs]),
        "age_min": max(ages_min) if ages_min else "",
        "age_max": min(ages_max) if ages_max else "",
        "birth": str(birth)[:4] if redacted and birth else birth,
        "residence": "" if redacted else _agreed([r.residence for r in recs]),
        "event_date_start": _agreed([r.event_date_start for r in recs]),
        "event_date_end": _agreed([r.event_date_end for r in recs]),
        "event_place": _agreed([r.event_place for r in recs]),
        "perpetrator": _agreed([r.perpetrator for r in recs]),
        "lists": "; ".join(p.lists),
        "records": len(p.records),
        "corroboration": p.corroboration,
    }
    if row["age_min"] != "" and row["age_max"] != "" and row["age_min"] > row["age_max"]:
        row["age_min"], row["age_max"] = min(ages_min), max(ages_max)  # the records disagree: give the whole span
    return row


def register_json(reg: Register, *, redacted: bool = False) -> dict[str, Any]:
    """The register as JSON: persons with their records (names only when not redacted), lists, settings."""
    persons = []
    for p in reg.persons:
        row = person_row(p, redacted=redacted)
        row["records"] = [
            {
                "record": r.sha256,
                "list": r.list_name,
                "row": r.position,
                "item": r.item_sha256,
                "status": r.record.status,
                **({} if redacted else {"name": r.record.display_name()}),
            }
            for r in p.records
        ]
        persons.append(row)
    return {
        "threshold": reg.threshold,
        "review_band": [reg.lower, reg.upper],
        "lists": [{"name": x.name, "source_type": x.source_type, "records": x.records} for x in reg.lists],
        "persons": persons,
        "linkage_run": reg.run_id,
    }


def overlap_table(reg: Register, *, what: str = "killed") -> tuple[list[str], list[list[int]]]:
    """List names and one 0/1 row per person recorded as ``what`` on at least one list."""
    names = sorted(x.name for x in reg.lists)
    rows = [[int(n in on) for n in names] for on in overlap_rows(reg, what=what).get("all", [])]
    return names, rows


def write_all(reg: Register, folder: Path, *, redacted: bool = True, what: str = "killed") -> list[Path]:
    """register.csv, register.json and overlap.csv into ``folder``, each written whole or not at all."""
    register_csv = write_rows(
        folder / "register.csv",
        REGISTER_COLUMNS,
        ([person_row(p, redacted=redacted)[c] for c in REGISTER_COLUMNS] for p in reg.persons),
    )
    register_path = folder / "register.json"
    with replacing(register_path) as fh:
        fh.write(dumps(register_json(reg, redacted=redacted)))
    names, rows = overlap_table(reg, what=what)
    overlap_csv = write_rows(folder / "overlap.csv", names, rows)
    return [register_csv, register_path, overlap_csv]
