"""The case report at the size of a large case: 10,000 evidence items, 50,000 claims, HTML and PDF.

The findings are generated here (no case, no database): 500 incidents, each with 40 reports (records) and
60 figures in three count tables, so the claims behind them total 50,000 (20,000 records + 30,000 figures),
citing 10,000 items; the case's own count tables hold all 30,000 figures again, as ``findings.store`` builds
them. Quotes are in English, Russian and Kazakh, places and dates vary, some incidents have no coordinates.

Measured in the same run, on the same machine, with the same number of table rows:
- ``report.write_html`` (render and write), against the floor for the HTML: Jinja2 rendering one bare
  3-column table of the same rows' text (no sections, no links, no SVG);
- ``report.write_pdf``, against the floor for the PDF: WeasyPrint laying out, as A4 pages, a bare table of the
  rows the PDF shows (figures once: its case tables leave out those listed under incidents), i.e. the PDF
  engine's own cost for that much text in tables, without our templates.

    .venv/bin/python benchmarks/report.py [--incidents 500] [--items 10000] [--quick] [--json PATH] [--profile]

``--quick`` is a tenth of the size (50 incidents, 1,000 items, 5,000 claims). ``--profile`` runs the PDF under
cProfile and prints where the time goes.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import pstats
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks._common import Figure as Measured
from benchmarks._common import Report
from factfinder.findings import model as m

RECORDS_PER_INCIDENT = 40
FIGURES_PER_INCIDENT = {"killed": 25, "injured": 20, "detained": 15}
PLACES = [
    ("Zhanaozen", 43.3412, 52.8619), ("Aktau", 43.6525, 51.1575), ("Shetpe", 44.1667, 52.1167),
    ("Beineu", 45.3167, 55.2000), ("Kuryk", 43.1833, 51.6667), ("Fort-Shevchenko", 44.5167, 50.2667),
    ("Жетыбай", 43.5956, 52.0878), ("Тенге", 43.3000, 52.8000), (None, None, None),
]  # fmt: skip
SOURCES: list[tuple[str, m.SourceType]] = [
    ("Interior Ministry", "official"), ("Prosecutor General's Office", "official"), ("Akimat of Mangystau", "official"),
    ("Steppe Wire", "media"), ("Caspian Daily", "media"), ("Радио Азаттык", "media"), ("Mangystau Observer", "media"),
    ("Civil Liberties Bureau", "ngo"), ("Human Rights Watch", "ngo"), ("City Hospital No. 2", "hospital"),
    ("Aral Radio", "media"), ("Central Asia Desk", "media"),
]  # fmt: skip
QUOTES = [
    "Police opened fire on the striking oil workers gathered on the central square, witnesses said.",
    "Сотрудники полиции открыли огонь по бастующим нефтяникам на центральной площади города.",
    "At least {n} people were killed and dozens injured, according to hospital staff who asked not to be named.",
    "Официальные лица заявили, что погибли {n} человек, однако очевидцы говорят о большем числе жертв.",
    "Residents said men without identification took people from their homes at night; {n} were detained.",
    "Бірнеше адам түнде үйлерінен алып кетілді, деді тұрғындар.",
]
EVENTS = [
    ("Violence against civilians", "Attack"), ("Riots", "Violent demonstration"), ("Protests", "Peaceful protest"),
    ("Violence against civilians", "Abduction/forced disappearance"), ("Battles", "Armed clash"),
]  # fmt: skip


def sha(n: int) -> str:
    return hashlib.sha256(f"bench item {n}".encode()).hexdigest()


def generate(n_incidents: int, n_items: int, seed: int = 11) -> m.Findings:
    """Findings of ``n_incidents`` incidents citing ``n_items`` items (every item cited at least once)."""
    rng = random.Random(seed)
    sources = [m.Source(name, kind, f"{kind}:{i}", rng.random() < 0.5) for i, (name, kind) in enumerate(SOURCES)]
    sources += [m.Source(f"Witness {i} of Zhanaozen", "witness", f"witness:{i}", False) for i in range(200)]
    next_item = iter(range(n_items * 10))
    claim = iter(range(1, 10_000_000))

    def item_id() -> int:
        n = next(next_item)
        return n if n < n_items else rng.randrange(n_items)

    start = date(2011, 12, 1)
    incidents = []
    all_figures: dict[str, list[m.Figure]] = {what: [] for what in FIGURES_PER_INCIDENT}
    attached_ids: list[int] = []
    for k in range(n_incidents):
        place, lat, lon = rng.choice(PLACES)
        day0 = start + timedelta(days=rng.randrange(400))
        precision = rng.choice((1, 1, 1, 2, 3))
        day1 = day0 + timedelta(days=(0, rng.randrange(1, 7), rng.randrange(7, 30))[precision - 1])
        event, sub = rng.choice(EVENTS)
        records = []
        for _ in range(RECORDS_PER_INCIDENT):
            src = rng.choice(sources)
            iid = item_id()
            records.append(
                m.Record(
                    claim_id=next(claim),
                    digest=sha(-k),
                    item_id=iid,
                    item_sha256=sha(iid),
                    event_type=event,
                    sub_event_type=sub,
                    quote=rng.choice(QUOTES).format(n=rng.randrange(1, 90)),
                    place=place,
                    latitude=lat,
                    longitude=lon,
                    admin1="Mangystau",
                    country="Kazakhstan",
                    geo_precision=1 if place else None,
                    earliest=day0,
                    latest=day1,
                    time_precision=precision,
                    source=src,
                    negated=rng.random() < 0.03,
                    reported_on=day1 + timedelta(days=rng.randrange(5)),
                )
            )
        counts = {}
        for what, n in FIGURES_PER_INCIDENT.items():
            figs: list[m.Figure] = []
            for g in range(n):
                src = rng.choice(sources)
                iid = item_id()
                low = rng.randrange(1, 120)
                high = rng.choice((low, low, None, low + rng.randrange(1, 40)))
                repeats = figs[-1].claim_id if figs and rng.random() < 0.1 else None
                figs.append(
                    m.Figure(
                        claim_id=next(claim),
                        item_id=iid,
                        item_sha256=sha(iid),
                        what=what,
                        low=low,
                        high=high,
                        qualifier=rng.choice(("exact", "about", "at_least")),
                        quote=rng.choice(QUOTES).format(n=low),
                        source=src,
                        reported_on=day1 + timedelta(days=g % 9),
                        hedged=rng.random() < 0.1,
                        group=g,
                        repeats=repeats,
                    )
                )
            figs.sort(key=lambda f: f.reported_on)
            official = [f for f in figs if f.source.type == "official"]
            counts[what] = m.CountTable(
                what=what,
                figures=figs,
                official_history=official,
                conservative=min(f.low for f in figs),
                conservative_reason="the lowest current figure (ACLED: most conservative)",
                independent_low=min(f.low for f in figs),
                independent_high=max(f.low for f in figs),
                independent_sources=len(figs) - len(official),
                disputes=["officials and independent sources differ"],
            )
            all_figures[what] += figs
        attached = []
        if k % 5 == 0:
            iid = rng.randrange(n_items)
            attached.append(m.AttachedItem(iid, sha(iid), "video/mp4", "cluster"))
            attached_ids.append(iid)
        incidents.append(
            m.Incident(
                ref=f"I-{sha(-k)[:10]}",
                label=f"{event} in {place or 'Mangystau region'}, {day0:%d %b %Y}",
                event_type=event,
                sub_event_type=sub,
                types={event: 5, "Riots": 2} if k % 7 == 0 else {event: 5},
                earliest=day0,
                latest=day1,
                time_precision=precision,
                dates_disagree=precision > 1,
                place=place,
                latitude=lat,
                longitude=lon,
                admin1="Mangystau",
                country="Kazakhstan",
                geo_precision=rng.choice((1, 2, 3)) if place else None,
                radius_km=rng.choice((0.0, 2.5)),
                records=records,
                counts=counts,
                attached=attached,
                corroboration=m.Corroboration("multiple", ("several independent sources",)),
                actors=["Police Forces of Kazakhstan"],
            )
        )
    case_counts = {}
    for what, figs in all_figures.items():
        figs.sort(key=lambda f: f.reported_on)
        official = [f for f in figs if f.source.type == "official"]
        case_counts[what] = m.CountTable(
            what=what,
            figures=figs,
            official_history=official[:3],
            conservative=min(f.low for f in figs),
            conservative_reason="the lowest current figure",
            independent_low=1,
            independent_high=119,
            independent_sources=len(figs) - len(official),
        )
    items = {
        i: m.EvidenceItem(
            id=i,
            sha256=sha(i),
            size=rng.randrange(200, 50_000_000),
            media_type=rng.choice(("text/plain", "video/mp4")),
            first_log_index=i * 2,
            received_at_vault_clock=f"2012-01-{1 + i % 28:02d}T10:00:00Z",
            source=rng.choice(SOURCES)[0],
            source_type="media",
            published=True,
            gps=(43.3 + rng.random() / 10, 52.8 + rng.random() / 10) if i % 50 == 0 else None,
        )
        for i in range(n_items)
    }
    timeline = [m.TimelineEntry("incident", i.ref, i.label, i.earliest, i.latest, i.time_precision) for i in incidents]
    timeline += [m.TimelineEntry("item", sha(i), f"video/mp4 {sha(i)[:12]}", start, start, 1) for i in attached_ids]
    timeline.sort(key=lambda t: (t.earliest, t.latest, t.kind, t.ref))
    n_claims = n_incidents * (RECORDS_PER_INCIDENT + sum(FIGURES_PER_INCIDENT.values()))
    return m.Findings(
        title="Benchmark case",
        checkpoint_size=n_claims * 2,
        checkpoint_root=sha(-1),
        checkpoint_note="bench\n1\nx\n",
        incidents=incidents,
        counts=case_counts,
        items=items,
        decisions=[],
        timeline=timeline,
        claims=n_claims,
    )


def bare_rows(findings: m.Findings, *, pdf: bool) -> list[tuple[str, str, str]]:
    """The text of the rows the report's tables show, as plain 3-column rows (the report's tables have 3 columns).

    Figures twice in the HTML (under their incident and in the case's table), once in the PDF (whose case tables
    of more than ``PDF_CASE_FIGURES`` figures list only those not under an incident); then reports and items."""
    rows: list[tuple[str, str, str]] = []
    tables = [t for i in findings.incidents for t in i.counts.values()]
    if not pdf:
        tables += list(findings.counts.values())
    for t in tables:
        for f in t.figures:
            rows.append((f.text, f"{f.source.name}, {f.reported_on}, {f.qualifier}", f"{f.quote} {f.item_sha256[:12]}"))
    for i in findings.incidents:
        for r in i.records:
            rows.append((f"{r.earliest} {r.place} {r.event_type}", r.source.name, f"{r.quote} {r.item_sha256[:12]}"))
    for it in findings.items.values():
        rows.append((f"{it.id} {it.received_at_vault_clock}", it.sha256, f"{it.media_type} {it.size} {it.source}"))
    return rows


def pdf_pages(path: Path) -> str:
    """The PDF's number of pages, from poppler's pdfinfo ("?" without it)."""
    try:
        info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return "?"
    found = re.search(r"^Pages:\s+(\d+)", info, re.MULTILINE)
    return f"{int(found.group(1)):,}" if found else "?"


BARE = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>bare</title>
<style>@page { size: A4; margin: 15mm } body { font: 8.5pt "DejaVu Sans" } table { border-collapse: collapse;
width: 100%; table-layout: fixed } td { border-bottom: 0.5pt solid #ccc; padding: 2pt 4pt; vertical-align: top }
</style></head><body><table><thead><tr><th style="width: 15%">a</th><th style="width: 30%">b</th><th>c</th></tr>
</thead><tbody>
{% for r in rows %}<tr><td>{{ r[0] }}</td><td>{{ r[1] }}</td><td>{{ r[2] }}</td></tr>
{% endfor %}</tbody></table></body></html>"""


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--incidents", type=int, default=500)
    p.add_argument("--items", type=int, default=10_000)
    p.add_argument("--quick", action="store_true", help="a tenth of the size")
    p.add_argument("--no-pdf", action="store_true", help="HTML only")
    p.add_argument("--profile", action="store_true", help="run write_pdf under cProfile and print the top entries")
    p.add_argument("--json", type=Path, help="also write the figures here (for run_all.py)")
    p.add_argument("--clean", action="store_true", help="accepted for run_all.py; nothing is kept on disk anyway")
    args = p.parse_args(argv)
    if args.quick:
        args.incidents, args.items = args.incidents // 10, args.items // 10

    import jinja2
    import weasyprint  # type: ignore[import-untyped]

    from factfinder.reports import report as rep

    findings = generate(args.incidents, args.items)
    n_claims = findings.claims
    what = f"{args.items:,} items, {n_claims:,} claims"
    out = Report("report")
    print(f"case report: {args.incidents} incidents, {what}", flush=True)
    bare = jinja2.Environment(autoescape=True).from_string(BARE)

    with tempfile.TemporaryDirectory(prefix="factfinder-bench-report-") as tmp:
        rows = bare_rows(findings, pdf=False)
        start = time.perf_counter()
        (Path(tmp) / "bare.html").write_text(bare.render(rows=rows), encoding="utf-8")
        html_floor = time.perf_counter() - start
        out.add(Measured(f"baseline: Jinja2 bare table, {len(rows):,} rows", html_floor))

        start = time.perf_counter()
        html_path = rep.write_html(findings, Path(tmp) / "report.html")
        html_took = time.perf_counter() - start
        out.add(Measured("report.write_html", html_took, note=f"{html_path.stat().st_size / 1e6:.1f} MB"))
        print(f"report html: {what}: {html_took:.1f} s (baseline bare table {html_floor:.1f} s)", flush=True)
        out.goal("html seconds", html_took, 30.0, "s", at_most=True)

        if not args.no_pdf:
            weasyprint.HTML(string="<p>warm-up: fonts, Pango</p>").write_pdf()  # not timed, for either
            profiler = cProfile.Profile() if args.profile else None
            start = time.perf_counter()
            if profiler:
                profiler.enable()
            pdf_path = rep.write_pdf(findings, Path(tmp) / "report.pdf")
            if profiler:
                profiler.disable()
            pdf_took = time.perf_counter() - start
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
            out.add(
                Measured(
                    "report.write_pdf",
                    pdf_took,
                    note=f"{pdf_pages(pdf_path)} pages, {pdf_path.stat().st_size / 1e6:.1f} MB",
                )
            )
            out.note(f"peak memory of the process up to here (HTML and PDF): {peak:.1f} GB")

            rows = bare_rows(findings, pdf=True)
            start = time.perf_counter()
            doc = weasyprint.HTML(string=bare.render(rows=rows)).render()
            bare_pages = len(doc.pages)
            doc.write_pdf(Path(tmp) / "bare.pdf")
            del doc
            pdf_floor = time.perf_counter() - start
            out.add(
                Measured(
                    f"baseline: WeasyPrint bare table, {len(rows):,} rows", pdf_floor, note=f"{bare_pages:,} pages"
                )
            )
            print(f"report pdf: {what}: {pdf_took:.1f} s (baseline bare table {pdf_floor:.1f} s)", flush=True)
            out.ratio("pdf / bare WeasyPrint table", pdf_took / pdf_floor, 2.0)
            out.goal("pdf seconds (a few minutes)", pdf_took, 300.0, "s", at_most=True)
            if profiler:
                pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
    out.write(args.json)
    return 0 if all(out.goals.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
