"""Corroboration: how well an incident or a figure is supported, and why.

Four levels, in the order a reader should be warned of them:

- **contradicted**: an independent source denies it (for an incident, a denial
  in the reports, "police did not fire"; for a figure, another independent
  source gives a figure that does not overlap it), and no documentary or
  forensic evidence settles it;
- **confirmed** by documentary or forensic evidence: media or documents an
  analyst attached to the incident, or a hospital's or morgue's figure;
- **multiple** independent sources;
- **single** source.

Independent means of different origins (``sources``): outlets relaying one
ministry are one source. Every level comes with its reasons, in words, so a
reader can weigh them rather than trust a label.
"""

from __future__ import annotations

from factfinder.findings.incidents import origins
from factfinder.findings.model import SOURCE_TYPE_LABELS, Corroboration, CountTable, Figure, Incident


def incident(inc: Incident) -> Corroboration:
    affirming = origins(r for r in inc.records if not r.negated)
    # A denial contradicts what others affirm: "no one was killed in Aktau" does not deny the protest there,
    # and a ministry that reports the riot while denying the shooting still denies the shooting.
    denials = origins(r for r in inc.records if r.negated)
    denying = {
        o: r
        for o, r in denials.items()
        if any(x.source.origin != o and not x.negated and x.event_type == r.event_type for x in inc.records)
    }
    noted = {o: r for o, r in denials.items() if o not in denying}
    reasons: list[str] = []
    if inc.attached:
        kinds = sorted({a.media_type.split("/")[0] for a in inc.attached})
        reasons.append(f"{len(inc.attached)} item(s) attached by analysts as evidence ({', '.join(kinds)})")
    forensic = sorted(
        {f.source.name for t in inc.counts.values() for f in t.figures if f.source.type == "hospital"}
        | {r.source.name for r in inc.records if r.source.type == "hospital" and not r.negated}
    )
    if forensic:
        reasons.append(f"figures or reports from a hospital or morgue: {', '.join(forensic)}")
    for r in denying.values():
        reasons.append(f"denied by {r.source.name} ({SOURCE_TYPE_LABELS[r.source.type]}): \u201c{r.quote}\u201d")
    for r in noted.values():
        reasons.append(f"{r.source.name} denies a related claim: \u201c{r.quote}\u201d")
    n = len(affirming)
    names = ", ".join(sorted({r.source.name for r in affirming.values()}))
    reasons.append(f"{n} independent source(s): {names}" if n else "no source affirms it")
    if denying and not (inc.attached or forensic):
        return Corroboration("contradicted", tuple(reasons))
    if inc.attached or forensic:
        return Corroboration("confirmed", tuple(reasons))
    return Corroboration("multiple" if n >= 2 else "single", tuple(reasons))


def _overlaps(a: Figure, b: Figure) -> bool:
    a_top = a.high if a.high is not None else 10**12
    b_top = b.high if b.high is not None else 10**12
    return a.low <= b_top and b.low <= a_top


def figures(table: CountTable) -> dict[int, Corroboration]:
    """Each figure's corroboration within its table: who agrees with it, who does not."""
    out: dict[int, Corroboration] = {}
    for f in table.figures:
        agree = {g.group for g in table.figures if g.group != f.group and _overlaps(f, g)}
        disagree = {g.group: g for g in table.figures if g.group != f.group and not _overlaps(f, g)}
        hospital = sorted({g.source.name for g in table.figures if g.group in agree and g.source.type == "hospital"})
        reasons: list[str] = []
        if f.repeats is not None:
            reasons.append(f"repeats claim {f.repeats} of the same source")
        if hospital:
            reasons.append(f"a hospital or morgue gives the same figure: {', '.join(hospital)}")
        if agree:
            reasons.append(f"{len(agree)} other independent source(s) give an overlapping figure")
        if disagree:
            others = sorted({g.text + " (" + g.source.name + ")" for g in disagree.values()})
            reasons.append("other sources give " + "; ".join(others))
        if hospital:
            level = "confirmed"
        elif disagree and not agree:
            level = "contradicted"
        elif agree:
            level = "multiple"
        else:
            level = "single"
        out[f.claim_id] = Corroboration(level, tuple(reasons) or ("no other source gives this figure",))  # type: ignore[arg-type]
    return out
