"""`factfinder report` on a real case of 10,000 items and about 50,000 claims: findings, HTML and PDF.

The case is generated here: short wire-style reports about events in a dozen
towns over a month, from two dozen outlets citing officials, hospitals and
witnesses, with reprints. Every report goes through the real intake and the
real text reading, so the findings are made from claims as the case holds them.

Measured in the same run, on that case:
- ``findings``: everything ``factfinder.findings.store.findings`` does (reading every claim, grouping,
  reconciling, corroboration), cold;
- baseline, the floor of any computation from the claims: one ``SELECT`` of every current claim and the
  parsing of its JSON;
- the HTML report and the PDF report (WeasyPrint) of those findings, and as their baseline WeasyPrint
  rendering a bare HTML table with one row per figure (the PDF engine's own floor for that much text).

    .venv/bin/python benchmarks/findings.py [--items 10000] [--quick] [--keep] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks._common import DEFAULT_WORKDIR, Figure, Report

TOWNS = [
    ("Zhanaozen", "Mangystau"), ("Aktau", "Mangystau"), ("Shetpe", "Mangystau"), ("Atyrau", "Atyrau"),
    ("Uralsk", "West Kazakhstan"), ("Aktobe", "Aktobe"), ("Kyzylorda", "Kyzylorda"), ("Shymkent", "Turkistan"),
    ("Taraz", "Jambyl"), ("Karaganda", "Karaganda"), ("Pavlodar", "Pavlodar"), ("Semey", "Abai"),
]  # fmt: skip
OUTLETS = [f"Outlet {c}" for c in "ABCDEFGHIJKLMNOPQRSTUVWX"]
CITED = ["the Interior Ministry", "the Prosecutor General's Office", "the regional hospital", "witnesses", "residents"]
TEMPLATES = [
    "Police opened fire on protesters in {town} ({adm}) on {day} December, killing {k} people, {src} said. "
    "About {n} people were injured and {d} were detained.",
    "About {n} oil workers rallied in {town} ({adm}) on {day} December, {src} said. Police detained {d} of them.",
    "{k} people were killed in clashes in {town} ({adm}) on {day} December, according to {src}. "
    "At least {n} were injured.",
]


def generate(folder: Path, items: int, seed: int = 7) -> None:
    """Write ``items`` reports with sidecars (publisher, publication date); every tenth a reprint of another."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    texts: list[str] = []
    for i in range(items):
        town, adm = rng.choice(TOWNS)
        day = rng.randint(1, 28)
        if texts and i % 10 == 9:
            text = rng.choice(texts)  # a reprint under another masthead
        else:
            text = rng.choice(TEMPLATES).format(
                town=town,
                adm=adm,
                day=day,
                k=rng.randint(1, 20),
                n=rng.randint(20, 3000),
                d=rng.randint(2, 90),
                src=rng.choice(CITED),
            )
            texts.append(text)
        published = date(2011, 12, min(28, day + rng.randint(0, 3)))
        (folder / f"r{i:05d}.txt").write_text(f"{text}\n(report {i})\n", encoding="utf-8")
        side = {"source": rng.choice(OUTLETS), "collected_at": published.isoformat()}
        (folder / f"r{i:05d}.txt.factfinder.json").write_text(json.dumps(side), encoding="utf-8")


def build_case(work: Path, items: int) -> Path:
    from factfinder.intake.files import IntakeOptions, add_paths
    from factfinder.text import store as text_store
    from factfinder.vault.case import Case

    case_dir = work / f"findings-case-{items}"
    if (case_dir / "case.json").exists():
        return case_dir
    shutil.rmtree(case_dir, ignore_errors=True)
    src = work / f"findings-reports-{items}"
    shutil.rmtree(src, ignore_errors=True)
    generate(src, items)
    case, _ = Case.init(case_dir, "findings benchmark", actor="bench")
    with case:
        t = time.perf_counter()
        add_paths(case, [src], IntakeOptions(actor="bench"))
        print(f"  (built: {items:,} items added in {time.perf_counter() - t:.1f} s", end="", flush=True)
        t = time.perf_counter()
        text_store.read_items(case)
        print(f", read in {time.perf_counter() - t:.1f} s)", flush=True)
    return case_dir


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--items", type=int, default=10_000)
    p.add_argument("--quick", action="store_true", help="1,000 items")
    p.add_argument("--keep", action="store_true", help="keep the generated case for the next run")
    p.add_argument("--clean", action="store_true", help="remove the generated case afterwards (the default)")
    p.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)
    items = 1_000 if args.quick else args.items

    from sqlalchemy import select

    from factfinder.db.models import TextClaim
    from factfinder.findings import store
    from factfinder.reports import report as reportmod
    from factfinder.text.claims import VERSION
    from factfinder.vault.case import Case

    args.workdir.mkdir(parents=True, exist_ok=True)
    report = Report("findings")
    print(f"findings and report on a case of {items:,} generated items:")
    case_dir = build_case(args.workdir, items)
    with Case.open(case_dir) as case:
        t = time.perf_counter()
        with case.engine.connect() as conn:
            rows = conn.execute(select(TextClaim.body).where(TextClaim.version == VERSION)).scalars().all()
            parsed = [json.loads(b) for b in rows]
        floor = report.add(Figure(f"baseline: select + parse {len(parsed):,} claims", time.perf_counter() - t))
        store._CACHE.clear()
        t = time.perf_counter()
        found = store.findings(case)
        made = report.add(
            Figure(
                f"findings: {len(found.incidents):,} incidents from {found.claims:,} claims",
                time.perf_counter() - t,
            )
        )
    figures = sum(len(t.figures) for i in found.incidents for t in i.counts.values())
    out = args.workdir / "findings-report"
    out.mkdir(exist_ok=True)
    t = time.perf_counter()
    reportmod.write_html(found, out / "report.html")
    html = report.add(
        Figure(f"report html ({(out / 'report.html').stat().st_size / 1e6:.1f} MB)", time.perf_counter() - t)
    )
    t = time.perf_counter()
    reportmod.write_pdf(found, out / "report.pdf")
    pdf = report.add(
        Figure(f"report pdf ({(out / 'report.pdf').stat().st_size / 1e6:.1f} MB)", time.perf_counter() - t)
    )

    import weasyprint

    rows_html = "".join(
        f"<tr><td>{f.reported_on}</td><td>{f.text}</td><td>{f.source.name}</td><td>{f.quote}</td></tr>"
        for i in found.incidents
        for tb in i.counts.values()
        for f in tb.figures
    )
    t = time.perf_counter()
    weasyprint.HTML(string=f"<table>{rows_html}</table>").write_pdf(out / "bare.pdf")
    bare = report.add(Figure(f"baseline: WeasyPrint, bare table of {figures:,} figure rows", time.perf_counter() - t))
    report.ratio("findings / select+parse", made.seconds / floor.seconds, 20.0)
    report.ratio("report pdf / bare table pdf", pdf.seconds / bare.seconds, 5.0)
    report.note(f"report html {html.seconds:.1f} s, pdf {pdf.seconds:.1f} s for {figures:,} figure rows")
    if not args.keep:
        shutil.rmtree(case_dir, ignore_errors=True)
        shutil.rmtree(args.workdir / f"findings-reports-{items}", ignore_errors=True)
    report.write(args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
