"""The redacted copy of a case's findings: what may be published without endangering the people who spoke.

The Berkeley Protocol asks investigators to weigh, before anything is published, the harm it may do to the
people in it ("do no harm"): witnesses in a closed-off town can be found, questioned and punished for what they
said. The findings themselves are computed data (``factfinder.findings.model``); ``redact`` returns a copy of them
with what could identify a witness, or the analysts, taken out, and everything the conclusions rest on kept:

- **Where items were made** (``EvidenceItem.gps``, a phone's GPS from the file's metadata): removed, since it may
  be the witness's home; incidents keep their places, which are the places the reports name.
- **Witness sources**: each witness origin is given a pseudonym ("Witness A", "Witness B", ...) in order of first
  appearance as the report reads (incidents in order, each incident's reports and then its count tables, then the
  case's count tables, then the items by id), the same origin always the same pseudonym; the source's name *and*
  its origin key are replaced, since the key may be a phone number or a name. Items whose source type is witness
  have their receipt's source name replaced by the pseudonym of the same witness (matched by the figures and
  reports the item gives as its own publisher, else by the name) or a new pseudonym.
- **What witnesses said in their own words** (the quote of a claim from a witness source): replaced by
  ``WITHHELD_QUOTE``, since a turn of phrase, a street or a relative's name can identify the speaker. The figure
  itself, its date and its source type stay, so counts are reconciled exactly as in the full report.
- **Free text that may repeat a witness's name** (incident labels, the reasons of the reconciliation, disputes,
  corroboration reasons, timeline labels): each known witness name and origin is replaced by its pseudonym.
- **Analysts' decisions**: the reason is removed and the actor becomes ``"analyst"`` (free-text keys of the body,
  such as a note, are dropped too): analysts in the region are at risk as well, and their reasoning may quote
  witnesses. The decision itself (what was merged, split or attached, when, at which log index) stays, so a
  reader can still see that the incidents were shaped by hand and check it against the custody log.

The input is never changed: every object is rebuilt or deep-copied, so the full findings can still be used after
the redacted ones are made.
"""

from __future__ import annotations

import copy
import re
import string
from dataclasses import replace

from factfinder.findings.model import (
    Corroboration,
    CountTable,
    Decision,
    EvidenceItem,
    Figure,
    Findings,
    Incident,
    Record,
    Source,
    TimelineEntry,
)

WITHHELD_QUOTE = "[witness statement: quote withheld]"
"""What stands in the place of a witness's own words in the redacted report."""

REDACTED_ACTOR = "analyst"
"""Who a decision is attributed to in the redacted report."""

FREE_TEXT_BODY_KEYS = frozenset({"reason", "note", "notes", "comment", "actor"})
"""Keys of a decision's body that hold free text or a person, dropped with the reason and the actor."""


def pseudonym(n: int) -> str:
    """The n-th pseudonym (0-based): "Witness A" ... "Witness Z", then "Witness AA", "Witness AB", ..."""
    letters = string.ascii_uppercase
    label = ""
    n += 1
    while n:
        n, rest = divmod(n - 1, 26)
        label = letters[rest] + label
    return f"Witness {label}"


class _Pseudonyms:
    """Gives each witness origin its pseudonym, in the order they are met."""

    def __init__(self) -> None:
        self.by_origin: dict[str, str] = {}
        self.by_name: dict[str, str] = {}
        self.by_item: dict[int, str] = {}
        """Pseudonym of an item's own publisher, when the item's claims name it (an uncited witness source)."""

    def _next(self) -> str:
        return pseudonym(len(set(self.by_origin.values()) | set(self.by_name.values())))

    def note(self, source: Source, item_id: int) -> None:
        if source.type != "witness":
            return
        # Two witnesses may share a name ("a resident"): the origin alone says who is who.
        name = self.by_origin.get(source.origin) or self._next()
        self.by_origin.setdefault(source.origin, name)
        self.by_name.setdefault(source.name, name)
        if not source.cited:
            self.by_item.setdefault(item_id, name)

    def for_item(self, item: EvidenceItem) -> str | None:
        if item.source is None:
            return None
        name = self.by_item.get(item.id) or self.by_name.get(item.source) or self._next()
        self.by_name.setdefault(item.source, name)
        return name

    def scrubber(self) -> re.Pattern[str] | None:
        """One pattern matching any known witness name or origin as a whole word, the longest first."""
        keys = sorted({k for k in (*self.by_name, *self.by_origin) if k.strip()}, key=len, reverse=True)
        if not keys:
            return None
        return re.compile(r"(?<!\w)(?:" + "|".join(re.escape(k) for k in keys) + r")(?!\w)")


def redact(findings: Findings) -> Findings:
    """A deep copy of ``findings`` fit for publication (see the module's docstring for what goes and why)."""
    names = _Pseudonyms()
    for incident in findings.incidents:
        for record in incident.records:
            names.note(record.source, record.item_id)
        for table in incident.counts.values():
            for fig in table.figures:
                names.note(fig.source, fig.item_id)
    for table in findings.counts.values():
        for fig in table.figures:
            names.note(fig.source, fig.item_id)
    item_names = {
        item_id: names.for_item(item)
        for item_id, item in sorted(findings.items.items())
        if item.source_type == "witness"
    }
    pattern = names.scrubber()
    lookup = {**names.by_origin, **names.by_name}

    def scrub(text: str) -> str:
        return pattern.sub(lambda m: lookup[m.group(0)], text) if pattern else text

    def _source(src: Source) -> Source:
        if src.type != "witness":
            return src
        name = names.by_origin[src.origin]
        return replace(src, name=name, origin=name)

    figures: dict[int, Figure] = {}

    def _figure(fig: Figure) -> Figure:
        # The same claim's figure may sit in an incident's table, the case's table and an official history.
        key = id(fig)
        if key not in figures:
            if fig.source.type == "witness":
                figures[key] = replace(fig, source=_source(fig.source), quote=WITHHELD_QUOTE)
            else:
                figures[key] = replace(fig)
        return figures[key]

    def _table(t: CountTable) -> CountTable:
        return CountTable(
            what=t.what,
            figures=[_figure(f) for f in t.figures],
            official_history=[_figure(f) for f in t.official_history],
            conservative=t.conservative,
            conservative_reason=scrub(t.conservative_reason),
            independent_low=t.independent_low,
            independent_high=t.independent_high,
            independent_sources=t.independent_sources,
            disputes=[scrub(d) for d in t.disputes],
        )

    def _corroboration(c: Corroboration) -> Corroboration:
        return Corroboration(c.level, tuple(scrub(r) for r in c.reasons))

    def _record(r: Record) -> Record:
        if r.source.type != "witness":
            return replace(r)
        return replace(r, source=_source(r.source), quote=WITHHELD_QUOTE)

    def _incident(i: Incident) -> Incident:
        return replace(
            i,
            label=scrub(i.label),
            types=dict(i.types),
            records=[_record(r) for r in i.records],
            counts={what: _table(t) for what, t in i.counts.items()},
            attached=list(i.attached),
            corroboration=_corroboration(i.corroboration),
            actors=list(i.actors),
            decisions=list(i.decisions),
        )

    def _item(it: EvidenceItem) -> EvidenceItem:
        if it.source_type == "witness":
            return replace(it, gps=None, source=item_names[it.id])
        return replace(it, gps=None)

    def _decision(d: Decision) -> Decision:
        body = {k: copy.deepcopy(v) for k, v in d.body.items() if k not in FREE_TEXT_BODY_KEYS}
        return replace(d, body=body, reason=None, actor=REDACTED_ACTOR)

    def _entry(e: TimelineEntry) -> TimelineEntry:
        return replace(e, label=scrub(e.label))

    # replace() carries every other field over (title, checkpoint, claims): all immutable values.
    return replace(
        findings,
        incidents=[_incident(i) for i in findings.incidents],
        counts={what: _table(t) for what, t in findings.counts.items()},
        items={item_id: _item(it) for item_id, it in findings.items.items()},
        decisions=[_decision(d) for d in findings.decisions],
        timeline=[_entry(e) for e in findings.timeline],
        claim_corroboration={k: _corroboration(c) for k, c in findings.claim_corroboration.items()},
    )
