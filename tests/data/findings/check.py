"""Check that the text stage still reads the findings fixture as expected.json says.

Runs ``factfinder text claims`` on every file of manifest.json (with its publication
date) and compares the count claims, in text order, with expected.json. It also checks
that every place resolves to Zhanaozen, Aktau or Shetpe (Mangystau, KZ) and that every
date lies between 16 December 2011 and the file's publication date.

    .venv/bin/python tests/data/findings/check.py            # exit 1 on any difference
    .venv/bin/python tests/data/findings/check.py --actual   # print what the extractor gives now

The CLI is $FACTFINDER_CLI if set, else the repository's .venv/bin/factfinder, else
``factfinder`` on PATH, else ``python -m factfinder``. Standard library only.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
FIELDS = ("what", "low", "high", "qualifier", "source", "hedged", "negated")
PLACES = {"Zhanaozen", "Aktau", "Shetpe"}
FIRST_DAY = "2011-12-16"


def cli() -> list[str]:
    if os.environ.get("FACTFINDER_CLI"):
        return [os.environ["FACTFINDER_CLI"]]
    venv = ROOT / ".venv" / "bin" / "factfinder"
    if venv.exists():
        return [str(venv)]
    found = shutil.which("factfinder")
    return [found] if found else [sys.executable, "-m", "factfinder"]


def claims(path: Path, published: str) -> list[dict]:
    out = subprocess.run(
        [*cli(), "text", "claims", str(path), "--published", published],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def main(argv: list[str]) -> int:
    manifest = json.loads((HERE / "manifest.json").read_text(encoding="utf-8"))
    expected = json.loads((HERE / "expected.json").read_text(encoding="utf-8"))
    problems: list[str] = []
    actual_all: list[dict] = []
    listed = {e["file"] for e in manifest}
    for e in expected:
        if e["file"] not in listed:
            problems.append(f"expected.json names {e['file']}, which manifest.json does not list")
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:  # each run loads the gazetteer (seconds)
        results = list(pool.map(lambda e: claims(HERE / e["file"], e["published"]), manifest))
    for entry, got in zip(manifest, results, strict=False):
        name, published = entry["file"], entry["published"]
        counts = [{"file": name, **{k: c.get(k) for k in FIELDS}} for c in got if c["kind"] == "count"]
        actual_all.extend(counts)
        want = [{"file": name, **{k: e.get(k) for k in FIELDS}} for e in expected if e["file"] == name]
        if counts != want:
            problems.append(f"{name}: count claims differ\n  expected: {want}\n  got:      {counts}")
        for c in got:
            if c["kind"] == "place" and (
                c.get("name") not in PLACES or c.get("admin1") != "Mangystau" or c.get("country") != "KZ"
            ):
                problems.append(
                    f"{name}: place {c['quote']!r} read as {c.get('name')} ({c.get('admin1')}, {c.get('country')})"
                )
            if c["kind"] == "date" and not (FIRST_DAY <= c["earliest"] <= c["latest"] <= published):
                problems.append(f"{name}: date {c['quote']!r} read as {c['earliest']}..{c['latest']}")
    if "--actual" in argv:
        print(json.dumps(actual_all, ensure_ascii=False, indent=1))
    for p in problems:
        print(p, file=sys.stderr)
    files = len(manifest)
    print(
        f"{files} files, {len(actual_all)} count claims: " + ("OK" if not problems else f"{len(problems)} problem(s)"),
        file=sys.stderr,
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
