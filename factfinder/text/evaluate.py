"""Precision and recall of the text stage against an annotated gold set (JSON lines).

The gold format is described in ``tests/data/text/README.md``: each line is a
document (``text``, or ``text_file`` relative to the shared test data), its
publication date, the claims an annotator found (each located by its exact
``quote``) and the ACLED row a coder would give it. Claims are matched by kind
and overlapping spans; a matched claim is then scored field by field. The ACLED
row is scored as the project's held-out evaluation scores it: fatalities
exactly right (over all documents and over those that report deaths), event
type right, location within ``NEAR_KM`` kilometres, event date right.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from factfinder.text import claims as claimsmod
from factfinder.text import coding
from factfinder.text.gazetteer import km
from factfinder.text.names import fold

NEAR_KM = 25.0
"""A location this close to the gold coordinates counts as right (the held-out target's rule)."""

SKIP_FIELDS = {"kind", "quote", "nth", "start", "end", "note"}


class GoldError(ValueError):
    """The gold file is malformed; the message names the line."""


@dataclass
class KindScore:
    gold: int = 0
    predicted: int = 0
    matched: int = 0
    fields: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))  # right, scored

    @property
    def precision(self) -> float:
        return self.matched / self.predicted if self.predicted else 1.0

    @property
    def recall(self) -> float:
        return self.matched / self.gold if self.gold else 1.0


@dataclass
class Report:
    documents: int = 0
    kinds: dict[str, KindScore] = field(default_factory=lambda: defaultdict(KindScore))
    row: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    misses: list[dict[str, Any]] = field(default_factory=list)

    def row_accuracy(self, name: str) -> float:
        right, scored = self.row.get(name, [0, 0])
        return right / scored if scored else 1.0

    def to_json(self) -> dict[str, Any]:
        return {
            "documents": self.documents,
            "claims": {
                kind: {
                    "gold": s.gold,
                    "predicted": s.predicted,
                    "matched": s.matched,
                    "precision": round(s.precision, 4),
                    "recall": round(s.recall, 4),
                    "fields": {f: round(r / n, 4) if n else None for f, (r, n) in sorted(s.fields.items())},
                }
                for kind, s in sorted(self.kinds.items())
            },
            "acled": {name: round(self.row_accuracy(name), 4) for name in sorted(self.row)},
        }


def testdata_dir() -> Path:
    return Path(os.environ.get("FACTFINDER_TESTDATA", "../shared/testdata"))


def load_gold(path: Path, testdata: Path | None = None) -> list[dict[str, Any]]:
    """The documents of a gold file, each with its text loaded and every quote located."""
    docs = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            doc = json.loads(line)
            if "text" not in doc:
                doc["text"] = ((testdata or testdata_dir()) / doc["text_file"]).read_text(encoding="utf-8")
            doc["published"] = date.fromisoformat(doc["published"])
            for claim in doc.get("claims", []):
                claim["start"], claim["end"] = _locate(doc["text"], claim["quote"], claim.get("nth", 0))
        except (ValueError, KeyError, OSError) as exc:
            raise GoldError(f"{path}:{n}: {exc}") from exc
        docs.append(doc)
    return docs


def _locate(text: str, quote: str, nth: int) -> tuple[int, int]:
    at = -1
    for _ in range(nth + 1):
        at = text.find(quote, at + 1)
        if at < 0:
            raise ValueError(f"quote {quote!r} (occurrence {nth}) is not in the text")
    return at, at + len(quote)


def _same(field_name: str, want: Any, got: Any) -> bool:
    if isinstance(want, str) and isinstance(got, str):
        return (
            fold(want) == fold(got) if field_name in ("name", "actor", "source") else want.casefold() == got.casefold()
        )
    return bool(want == got)


def _match(gold: list[dict[str, Any]], predicted: list[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    pairs = []
    for g in gold:
        for p in predicted:
            overlap = min(g["end"], p["end"]) - max(g["start"], p["start"])
            if overlap > 0 or (g["start"] == p["start"] and g["end"] == p["end"]):
                pairs.append((overlap, g, p))
    pairs.sort(key=lambda t: -t[0])
    used_g: set[int] = set()
    used_p: set[int] = set()
    out = []
    for _, g, p in pairs:
        if id(g) in used_g or id(p) in used_p:
            continue
        used_g.add(id(g))
        used_p.add(id(p))
        out.append((g, p))
    return out


def _score_row(report: Report, doc: dict[str, Any], row: dict[str, Any]) -> None:
    gold = doc.get("acled")
    if not gold:
        return
    miss: dict[str, Any] = {}

    def score(name: str, ok: bool) -> None:
        report.row[name][0] += int(ok)
        report.row[name][1] += 1
        if not ok:
            miss[name] = {"gold": gold.get(name.removesuffix("_with_deaths")), "got": row.get(name)}

    for name in ("event_type", "sub_event_type", "event_date", "time_precision", "geo_precision"):
        if gold.get(name) is not None:
            score(name, row.get(name) == gold[name])
    if gold.get("country"):
        score("country", fold(row.get("country") or "") == fold(gold["country"]))
    score("fatalities", row.get("fatalities") == gold.get("fatalities", 0))
    if gold.get("fatalities", 0) > 0:
        score("fatalities_with_deaths", row.get("fatalities") == gold["fatalities"])
    if gold.get("latitude") is not None and gold.get("longitude") is not None:
        ok = row.get("latitude") is not None and (
            km(gold["latitude"], gold["longitude"], row["latitude"], row["longitude"]) <= NEAR_KM
        )
        score("location_25km", ok)
    if miss:
        report.misses.append({"id": doc.get("id"), "misses": miss})


def evaluate(docs: Iterable[dict[str, Any]]) -> Report:
    """Score the extractor on gold documents (as ``load_gold`` gives them)."""
    report = Report()
    for doc in docs:
        report.documents += 1
        reading = claimsmod.read(claimsmod.document(doc["text"], doc["published"], doc.get("lang", "auto")))
        predicted = [c.to_json() for c in claimsmod.claims(reading)]
        gold_by: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for g in doc.get("claims", []):
            gold_by[g["kind"]].append(g)
        pred_by: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for p in predicted:
            pred_by[p["kind"]].append(p)
        for kind in set(gold_by) | set(pred_by):
            score = report.kinds[kind]
            score.gold += len(gold_by[kind])
            score.predicted += len(pred_by[kind])
            for g, p in _match(gold_by[kind], pred_by[kind]):
                score.matched += 1
                for name, want in g.items():
                    if name in SKIP_FIELDS:
                        continue
                    score.fields[name][0] += int(_same(name, want, p.get(name)))
                    score.fields[name][1] += 1
        _score_row(report, doc, coding.code(reading))
    return report


def render(report: Report) -> str:
    """The report as a plain table for a terminal."""
    lines = [f"{report.documents} documents", "", f"{'claims':<10}{'gold':>6}{'found':>7}{'P':>8}{'R':>8}  fields"]
    for kind, s in sorted(report.kinds.items()):
        fields = ", ".join(f"{f} {r / n:.0%}" for f, (r, n) in sorted(s.fields.items()) if n)
        lines.append(f"{kind:<10}{s.gold:>6}{s.predicted:>7}{s.precision:>8.1%}{s.recall:>8.1%}  {fields}")
    lines += ["", "ACLED row (share of documents right)"]
    for name in sorted(report.row):
        right, n = report.row[name]
        lines.append(f"  {name:<24}{right:>5}/{n:<5}{right / n if n else 1:>8.1%}")
    return "\n".join(lines)
