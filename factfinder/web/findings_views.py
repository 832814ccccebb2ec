"""What the findings pages and API show of a case's findings, cut to what the caller may see.

The findings (``factfinder.findings.store``) are computed from every claim of the
case. Callers who see only published items (observers, admins) get instead the
findings made from the claims of published items alone, with anything else that
is not published taken out, and then redacted for publication
(``factfinder.reports.redaction.redact``): witnesses named by pseudonyms and their
own words withheld, no item GPS, and no analyst's name or reason. Everything here
works on that one cut, so no page or API answer can show an observer more than
the redacted report would.

The analysts' decisions (merge, split, attach, detach) go through ``decide``: it
checks that what a decision names is something the caller can see, makes it with
the findings store (one custody entry each), and says where the result is.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

from fastapi import HTTPException
from markupsafe import Markup

from factfinder import browse
from factfinder.findings import corroboration
from factfinder.findings import store as findings_store
from factfinder.findings.model import (
    COUNTED,
    LEVEL_LABELS,
    CountTable,
    Decision,
    Figure,
    Findings,
    Incident,
)
from factfinder.findings.store import FindingsError
from factfinder.reports import basemap, exports, mapsvg, report
from factfinder.reports.redaction import redact
from factfinder.vault.case import Case
from factfinder.vault.errors import VaultError
from factfinder.web.auth import Caller

LEVELS: tuple[str, ...] = tuple(LEVEL_LABELS)
"""Corroboration levels, in the order a reader should be warned of them (the filter offers them so)."""


class NotFound(LookupError):
    """An incident the caller cannot see (or that does not exist): a 404, said the same way for both."""


# -- what a caller sees ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Seen:
    """The findings as one caller may see them."""

    findings: Findings
    """What pages and the API show: redacted for callers who see only published items."""
    basis: Findings
    """The same before redaction: what the report is rendered from (with ``redacted=True`` for those callers)."""
    redacted: bool


_MEMO: OrderedDict[int, tuple[Findings, Seen]] = OrderedDict()
_JSON: OrderedDict[int, tuple[Findings, dict[str, Any]]] = OrderedDict()
_LOCK = threading.Lock()
_MEMO_SIZE = 8


def _remember(memo: OrderedDict[int, tuple[Findings, Any]], key: Findings, make: Callable[[], Any]) -> Any:
    """``make()``, kept while ``key`` (a findings object the store caches) is the same object.

    The store hands back the same object for as long as the case has not changed, so
    keying on its identity recomputes a redaction or a JSON document only after a change.
    The key object is held with the result, so its id cannot be reused while it is here."""
    with _LOCK:
        hit = memo.get(id(key))
        if hit is not None and hit[0] is key:
            memo.move_to_end(id(key))
            return hit[1]
    value = make()
    with _LOCK:
        memo[id(key)] = (key, value)
        while len(memo) > _MEMO_SIZE:
            memo.popitem(last=False)
    return value


def seen_by(case: Case, who: Caller) -> Seen:
    """The findings ``who`` may see: all of them, or the published part redacted."""
    if not who.only_published:
        made = findings_store.findings(case)
        return Seen(made, made, False)
    made = findings_store.findings(case, published_only=True)

    def cut() -> Seen:
        basis = published_part(made)
        return Seen(redact(basis), basis, True)

    seen: Seen = _remember(_MEMO, made, cut)
    return seen


def published_part(f: Findings) -> Findings:
    """Findings made from published items, with what still points at unpublished ones taken out.

    The claims behind them are of published items, but an analyst may have attached an
    unpublished item to an incident, and decisions name claims and items by digest: an
    observer must not learn that such an item exists, so attached items, timeline entries
    and evidence are kept only when published, an incident's corroboration is judged again
    without what was taken out, and the decisions keep what was decided and when, not
    what they name."""
    published = {i for i, it in f.items.items() if it.published}
    shas = {f.items[i].sha256 for i in published}
    incidents: list[Incident] = []
    for inc in f.incidents:
        attached = [a for a in inc.attached if a.item_id in published]
        if len(attached) != len(inc.attached):
            inc = replace(inc, attached=attached)
            inc.corroboration = corroboration.incident(inc)
        incidents.append(inc)
    shown = {d for inc in incidents for d in inc.decisions}
    return replace(
        f,
        incidents=incidents,
        items={i: f.items[i] for i in sorted(published)},
        timeline=[e for e in f.timeline if e.kind != "item" or e.ref in shas],
        decisions=[replace(d, body={}) for d in f.decisions if d.id in shown],
        claim_corroboration={},
    )


def incident_or_404(seen: Seen, ref: str) -> Incident:
    found = seen.findings.incident(ref.strip())
    if found is None:
        raise HTTPException(404, f"no incident {ref[:40]!r} (incidents are named like I-3fa9c2d1e0)")
    return found


# -- words -----------------------------------------------------------------------------------------


def _num(n: int) -> str:
    return f"{n:,}".replace(",", "\u202f")


def figure_text(low: int | None, high: int | None, qualifier: str, t: Mapping[str, str]) -> str:
    """A figure as a reader expects it, in ``t``'s language: "14", "at least 14", "64–86", "about 3 000"."""
    if low is None:
        return t["no_figure"]
    if high is None:
        return t["at_least"].format(n=_num(low))
    if high != low:
        return f"{_num(low)}–{_num(high)}"
    key = {"about": "about", "at_most": "at_most", "at_least": "at_least"}.get(qualifier)
    return t[key].format(n=_num(low)) if key else _num(low)


def when_text(earliest: date, latest: date, precision: int, t: Mapping[str, str]) -> str:
    """An interval with its precision: a single day only when it is known to the day."""
    span = earliest.isoformat() if earliest == latest else f"{earliest.isoformat()} – {latest.isoformat()}"
    if earliest == latest and precision <= 1:
        return span
    return f"{span} ({t.get(f'time_{precision}', str(precision))})"


def where_text(inc: Incident, t: Mapping[str, str]) -> str:
    """Where: the place, its region and country, how precisely, and how far apart the reports' places are."""
    parts = [inc.place or t["no_place"]]
    if inc.admin1 and inc.admin1 != inc.place:
        parts.append(inc.admin1)
    if inc.country:
        parts.append(inc.country)
    text = ", ".join(parts)
    if inc.geo_precision is not None:
        text += f" ({t.get(f'geo_{inc.geo_precision}', str(inc.geo_precision))})"
    if inc.radius_km > 0:
        text += "; " + t["apart"].format(km=f"{inc.radius_km:,.1f}")
    return text


def types_text(inc: Incident, t: Mapping[str, str]) -> tuple[str, str | None]:
    """The event type, and the others sources call it (with how many sources each) when it is disputed."""
    main = " / ".join(x for x in (inc.event_type, inc.sub_event_type) if x) or t["no_type"]
    others = [(name, n) for name, n in inc.types.items() if name != inc.event_type]
    if not others:
        return main, None
    listed = "; ".join(f"{name} ({t['sources_n'].format(n=n)})" for name, n in others)
    return main, t["also_called"].format(types=listed)


def level_text(level: str, t: Mapping[str, str]) -> str:
    return t.get(f"level_{level}", level)


# -- the list --------------------------------------------------------------------------------------


def incident_row(inc: Incident, t: Mapping[str, str]) -> dict[str, Any]:
    kind, disputed = types_text(inc, t)
    return {
        "ref": inc.ref,
        "label": inc.label,
        "when": when_text(inc.earliest, inc.latest, inc.time_precision, t),
        "where": where_text(inc, t),
        "type": kind,
        "disputed": disputed,
        "fatalities": _num(inc.fatalities) if inc.fatalities is not None else "—",
        "level": inc.corroboration.level,
        "level_text": level_text(inc.corroboration.level, t),
    }


def matching(
    incidents: Iterable[Incident], *, event_type: str | None, level: str | None, q: str | None
) -> list[Incident]:
    """The incidents a list's filters keep: of a type (the one most sources give, or one some give), a level,
    and holding the words (in their name, place, actors or a report's words), case-insensitively."""
    words = (q or "").casefold().split()
    out = []
    for inc in incidents:
        if event_type and event_type != inc.event_type and event_type not in inc.types:
            continue
        if level and inc.corroboration.level != level:
            continue
        if words:
            haystack = " ".join(
                [inc.ref, inc.label, inc.place or "", inc.admin1 or "", *inc.actors, *(r.quote for r in inc.records)]
            ).casefold()
            if not all(w in haystack for w in words):
                continue
        out.append(inc)
    return out


# -- one incident ------------------------------------------------------------------------------------


def table_view(table: CountTable, t: Mapping[str, str]) -> dict[str, Any]:
    """A count table for a page: every figure with where it comes from, and how they were reconciled."""

    def figure(f: Figure) -> dict[str, Any]:
        return {
            "claim_id": f.claim_id,
            "text": figure_text(f.low, f.high, f.qualifier, t),
            "source": f.source.name,
            "source_type": t.get(f"st_{f.source.type}", f.source.type),
            "reported_on": f.reported_on.isoformat(),
            "qualifier": t.get(f"q_{f.qualifier}", f.qualifier),
            "hedged": f.hedged,
            "quote": f.quote,
            "group": f.group,
            "repeats": f.repeats,
            "item_sha256": f.item_sha256,
        }

    if table.independent_low is None:
        independent = t["no_independent"]
    else:
        span = figure_text(table.independent_low, table.independent_high, "", t)
        independent = t["independent_n"].format(range=span, n=table.independent_sources)
    return {
        "what": table.what,
        "what_text": t.get(f"what_{table.what}", table.what),
        "figures": [figure(f) for f in table.figures],
        "official_history": [
            f"{figure_text(f.low, f.high, f.qualifier, t)} ({f.reported_on.isoformat()}, {f.source.name})"
            for f in table.official_history
        ],
        "conservative": _num(table.conservative) if table.conservative is not None else "—",
        "conservative_reason": table.conservative_reason,
        "independent": independent,
        "disputes": list(table.disputes),
    }


def tables_view(counts: Mapping[str, CountTable], t: Mapping[str, str]) -> list[dict[str, Any]]:
    """Count tables in the order reports show them (killed first), anything else counted after."""
    whats = [w for w in COUNTED if w in counts] + sorted(w for w in counts if w not in COUNTED)
    return [table_view(counts[w], t) for w in whats]


def decision_view(d: Decision, t: Mapping[str, str], *, names: bool) -> dict[str, Any]:
    return {
        "id": d.id,
        "action": t.get(f"action_{d.action}", d.action),
        "actor": d.actor if names else None,
        "reason": d.reason if names else None,
        "at": d.at_vault_clock,
        "log_index": d.log_index,
        "applied": d.applied,
    }


def incident_view(seen: Seen, inc: Incident, t: Mapping[str, str]) -> dict[str, Any]:
    """Everything the incident page shows; names and reasons of decisions only for those who see evidence."""
    f = seen.findings
    kind, disputed = types_text(inc, t)
    decisions = {d.id: d for d in f.decisions}
    names = not seen.redacted
    return {
        "inc": inc,
        "row": incident_row(inc, t),
        "type": kind,
        "disputed": disputed,
        "coordinates": (
            f"{inc.latitude:.4f}, {inc.longitude:.4f}"
            if inc.latitude is not None and inc.longitude is not None
            else None
        ),
        "tables": tables_view(inc.counts, t),
        "records": [
            {
                "claim_id": r.claim_id,
                "item_sha256": r.item_sha256,
                "source": r.source.name,
                "source_type": t.get(f"st_{r.source.type}", r.source.type),
                "reported_on": r.reported_on.isoformat(),
                "event": " / ".join(x for x in (r.event_type, r.sub_event_type) if x) or "—",
                "place": r.place or t["no_place"],
                "when": when_text(r.earliest, r.latest, r.time_precision, t),
                "quote": r.quote,
                "negated": r.negated,
            }
            for r in inc.records
        ],
        "attached": [
            {"sha256": a.item_sha256, "media_type": a.media_type, "via": t.get(f"via_{a.via}", a.via)}
            for a in inc.attached
        ],
        "decisions": [decision_view(decisions[i], t, names=names) for i in inc.decisions if i in decisions],
        "others": [(o.ref, o.label) for o in f.incidents if o.ref != inc.ref],
    }


def notice(seen: Seen, inc: Incident, decided: int | None, t: Mapping[str, str]) -> dict[str, Any] | None:
    """What to say after a decision was made: that it is in the custody log, and where a split's reports went."""
    if decided is None:
        return None
    d = next((d for d in seen.findings.decisions if d.id == decided), None)
    if d is None:
        return None
    new = None
    if d.action == "split":
        new = next((o.ref for o in seen.findings.incidents if o is not inc and decided in o.decisions), None)
    return {
        "text": t["recorded"].format(action=t.get(f"action_{d.action}", d.action), entry=d.log_index),
        "new_ref": new,
    }


# -- the timeline ------------------------------------------------------------------------------------

TIMELINE_WIDTH = 900
TIMELINE_LEFT = 300
TIMELINE_RIGHT = 880
ROW = 22
TOP = 34
MAX_TICKS = 6
MAX_LABEL = 42


def timeline_view(f: Findings, t: Mapping[str, str]) -> dict[str, Any]:
    """The timeline's geometry for the page's inline SVG (drawn by the template) and its table.

    One row per entry: an interval is a bar from its first day to the end of its last,
    a single day known to the day is a dot, so a reader never takes "some day that week"
    for a date. Incidents link to their pages, items to theirs."""
    entries = sorted(f.timeline, key=lambda e: (e.earliest, e.latest, e.kind, e.ref))
    rows = [
        {
            "kind": e.kind,
            "kind_text": t.get(f"kind_{e.kind}", e.kind),
            "label": e.label,
            "when": when_text(e.earliest, e.latest, e.precision, t),
            "precision": t.get(f"time_{e.precision}", str(e.precision)),
            "href": f"/incidents/{e.ref}" if e.kind == "incident" else f"/items/{e.ref}",
        }
        for e in entries
    ]
    if not entries:
        return {"rows": rows, "bars": [], "ticks": [], "width": TIMELINE_WIDTH, "height": 0}
    start = min(e.earliest for e in entries)
    end = max(e.latest for e in entries) + timedelta(days=1)
    days = max((end - start).days, 1)
    plot = TIMELINE_RIGHT - TIMELINE_LEFT

    def x(d: date) -> float:
        return round(TIMELINE_LEFT + (d - start).days / days * plot, 1)

    step = max(1, -(-days // MAX_TICKS))
    ticks = [
        {"x": x(start + timedelta(days=n)), "label": (start + timedelta(days=n)).isoformat()}
        for n in range(0, days, step)
    ]
    bars = []
    for n, (e, row) in enumerate(zip(entries, rows, strict=True)):
        x0, x1 = x(e.earliest), x(e.latest + timedelta(days=1))
        y = TOP + n * ROW
        label = e.label if len(e.label) <= MAX_LABEL else e.label[: MAX_LABEL - 1] + "…"
        bars.append(
            {
                "y": y,
                "x": x0,
                "width": max(round(x1 - x0, 1), 2.0),
                "cx": round((x0 + x1) / 2, 1),
                "dot": e.earliest == e.latest and e.precision <= 1,
                "kind": e.kind,
                "label": label,
                "title": f"{e.label}: {row['when']}",
                "href": row["href"],
            }
        )
    return {
        "rows": rows,
        "bars": bars,
        "ticks": ticks,
        "width": TIMELINE_WIDTH,
        "height": TOP + len(entries) * ROW + 8,
        "left": TIMELINE_LEFT,
        "right": TIMELINE_RIGHT,
    }


# -- the map -------------------------------------------------------------------------------------------

_XMLNS = ' xmlns="http://www.w3.org/2000/svg"'


def map_view(seen: Seen, t: Mapping[str, str]) -> dict[str, Any]:
    """The inline SVG map: incidents (linking to their pages) and, for those who see evidence, where the items
    the findings cite say they were made. Drawn from the installed base map: nothing is fetched."""
    f = seen.findings
    # The redacted findings have no GPS; leaving the items out here says why none is drawn, in the code too.
    points, unplaced = report.map_points(
        f,
        incident_href=lambda i: f"/incidents/{i.ref}",
        item_href=None if seen.redacted else lambda it: f"/items/{it.sha256}",
    )
    missing = [(i.ref, i.label) for i in unplaced]
    items = sum(1 for p in points if p.kind == "item")
    svg, error = None, None
    if points:
        try:
            drawn = mapsvg.render(points, width=900, height=560, title=t["map_caption"].format(title=f.title))
        except (basemap.BasemapMissingError, ValueError) as exc:
            error = t["map_error"].format(error=exc)
        else:
            # Inline in HTML the namespace is implied; without it the page holds no URL of another site at all.
            svg = Markup(drawn.replace(_XMLNS, "", 1))  # mapsvg escapes every text it draws
    return {
        "svg": svg,
        "error": error,
        "missing": missing,
        "item_count": items,
        "points": [
            {"label": p.label, "kind": p.kind, "href": p.href, "at": f"{p.latitude:.4f}, {p.longitude:.4f}"}
            for p in points
        ],
    }


# -- JSON for the API ----------------------------------------------------------------------------------


def document(seen: Seen) -> dict[str, Any]:
    """``exports.to_json`` of what the caller sees (kept while the findings are the same)."""
    doc: dict[str, Any] = _remember(_JSON, seen.findings, lambda: exports.to_json(seen.findings))
    return doc


SUMMARY_LEAVES_OUT = ("records", "counts", "attached", "items", "decisions")


def incident_summary(incident: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in incident.items() if k not in SUMMARY_LEAVES_OUT}


def decision_json(d: Mapping[str, Any], *, names: bool) -> dict[str, Any]:
    """A decision as the API gives it: who, why and what it names only for those who see evidence."""
    out = dict(d)
    if not names:
        out |= {"actor": None, "reason": None, "body": None}
    return out


def incident_json(seen: Seen, ref: str) -> dict[str, Any]:
    doc = document(seen)
    found: dict[str, Any] | None = next((i for i in doc["incidents"] if i["ref"] == ref), None)
    if found is None:
        raise NotFound(ref)
    decisions = {d["id"]: d for d in doc["decisions"]}
    names = not seen.redacted
    return found | {
        "decisions": [decision_json(decisions[i], names=names) for i in found["decisions"] if i in decisions]
    }


# -- decisions -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Decided:
    """A decision made: its id and custody entry, and where its result now is."""

    decision_id: int
    action: str
    log_index: int
    incident: str | None
    """The incident the decision was made on, as it is named now (a split may rename it)."""
    new_incident: str | None
    """For a split: the incident the reports went into."""


def decide(
    case: Case,
    who: Caller,
    ref: str,
    action: str,
    *,
    other: str | None = None,
    claims: list[int] | None = None,
    item: str | None = None,
    cluster: bool = False,
    reason: str | None = None,
) -> Decided:
    """Make one decision on incident ``ref`` through the findings store, on what ``who`` can see.

    Raises ``NotFound`` for an incident the caller cannot see, ``FindingsError`` (a
    ``ValueError``) for what cannot be decided: another incident or an item the caller
    cannot see is refused in the same words as one that does not exist, and an admin
    (who sees published items only) cannot split out a report of an unpublished item.
    Runs the store's custody-log write: call it from a worker thread."""
    assert who.account is not None
    actor = who.account.username
    seen = seen_by(case, who)
    inc = seen.findings.incident(ref.strip())
    if inc is None:
        raise NotFound(ref)
    if action == "merge":
        target = seen.findings.incident((other or "").strip())
        if target is None:
            raise FindingsError(f"no incident {(other or '')[:40]!r} to merge (incidents are named like I-3fa9c2d1e0)")
        did = findings_store.merge(case, inc.ref, target.ref, actor=actor, reason=reason)
    elif action == "split":
        wanted = sorted(set(claims or ()))
        if not wanted:
            raise FindingsError("check the reports to move into a new incident")
        mine = {r.claim_id for r in inc.records}
        if not set(wanted) <= mine:
            raise FindingsError(f"claims {sorted(set(wanted) - mine)} are not reports of incident {inc.ref}")
        did = findings_store.split(case, inc.ref, wanted, actor=actor, reason=reason)
    elif action in ("attach", "detach"):
        try:
            found = browse.visible_item(case, (item or "").strip(), only_published=who.only_published)
        except VaultError as exc:
            raise FindingsError(str(exc)) from exc
        if action == "attach":
            did = findings_store.attach(case, inc.ref, found.sha256, cluster=cluster, actor=actor, reason=reason)
        else:
            did = findings_store.detach(case, inc.ref, found.sha256, actor=actor, reason=reason)
    else:
        raise FindingsError(f"no such decision: {action!r}")
    after = seen_by(case, who).findings
    made = next(d for d in findings_store.findings(case).decisions if d.id == did)
    remaining = {r.claim_id for r in inc.records} - set(claims or ()) if action == "split" else None
    now = _holding(after, remaining) if remaining else after.incident(inc.ref)
    new = _holding(after, set(claims or ())) if action == "split" else None
    return Decided(
        decision_id=did,
        action=action,
        log_index=made.log_index,
        incident=now.ref if now is not None else None,
        new_incident=new.ref if new is not None else None,
    )


def _holding(f: Findings, claim_ids: set[int] | None) -> Incident | None:
    """The incident holding the most of ``claim_ids`` among its reports."""
    if not claim_ids:
        return None
    best = max(f.incidents, key=lambda i: len(claim_ids & {r.claim_id for r in i.records}), default=None)
    if best is None or not claim_ids & {r.claim_id for r in best.records}:
        return None
    return best
