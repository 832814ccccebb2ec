"""The SQLite export opened by Datasette itself, through its in-process HTTP client, as a newsroom would open it.

Skipped where Datasette is not installed (it is not a dependency of factfinder; ``pip install datasette``).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from factfinder.reports import exports
from tests.reports.exports_sample import HOMES, HOSTILE_QUOTE, SHETPE, SQUARE, make_findings

datasette_app = pytest.importorskip("datasette.app")


def query(db: Path, metadata: Path, *paths: str) -> list[Any]:
    """GET each of ``paths`` from a Datasette serving ``db`` with ``metadata``; their JSON bodies."""

    async def run() -> list[Any]:
        ds = datasette_app.Datasette([str(db)], metadata=json.loads(metadata.read_text(encoding="utf-8")))
        await ds.invoke_startup()
        bodies = []
        for path in paths:
            response = await ds.client.get(path)
            assert response.status_code == 200, (path, response.status_code, response.text[:500])
            bodies.append(response.json())
        return bodies

    return asyncio.run(run())


def test_datasette_serves_the_export(tmp_path: Path) -> None:
    db, metadata = exports.write_sqlite(make_findings(), tmp_path / "findings.db")
    incidents, figures, facets, meta = query(
        db,
        metadata,
        "/findings/incidents.json?_shape=array&_sort=ref",
        "/findings/figures.json?_shape=array&claim_id=16",
        "/findings/figures.json?_facet=what&_size=0",
        "/-/metadata.json",
    )
    assert [row["ref"] for row in incidents] == sorted([SQUARE, SHETPE, HOMES])
    square = next(row for row in incidents if row["ref"] == SQUARE)
    assert square["fatalities"] == 16 and square["latitude"] == 43.34116
    assert figures[0]["quote"] == HOSTILE_QUOTE
    # Datasette's facets, on the column people facet on first.
    counts = {r["value"]: r["count"] for r in facets["facet_results"]["what"]["results"]}
    assert counts == {"killed": 8, "crowd": 1, "detained": 1}
    assert meta["title"] == "Zhanaozen, December 2011"
    assert meta["databases"]["findings"]["tables"]["figures"]["description"]
