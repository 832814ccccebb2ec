"""The grouping and reconciliation rules on hand-made reports and figures (docs/findings.md states them)."""

from __future__ import annotations

from datetime import date, timedelta

from factfinder.findings import incidents, reconcile, sources
from factfinder.findings.model import Figure, Record, Source

D = date(2011, 12, 16)
ZHANAOZEN = ("Zhanaozen", 43.341, 52.862)
AKTAU = ("Aktau", 43.650, 51.158)
REGION = ("Mangystau", 44.0, 53.0)


def _source(name: str, kind: str = "media") -> Source:
    return Source(name, kind, f"source:{name.lower()}", False)  # type: ignore[arg-type]


def _record(
    n: int,
    place: tuple[str, float, float] | None = ZHANAOZEN,
    first: date = D,
    last: date | None = None,
    event_type: str | None = "Riots",
    precision: int = 1,
    source: str = "Outlet",
) -> Record:
    return Record(
        claim_id=n,
        digest=f"{n:064x}",
        item_id=n,
        item_sha256=f"{n:064x}",
        event_type=event_type,
        sub_event_type=None,
        quote="riots",
        place=place[0] if place else None,
        latitude=place[1] if place else None,
        longitude=place[2] if place else None,
        admin1="Mangystau" if place else None,
        country="KZ" if place else None,
        geo_precision=precision if place else None,
        earliest=first,
        latest=last or first,
        time_precision=1,
        source=_source(source + str(n)),
        negated=False,
        reported_on=first,
    )


def _groups(records: list[Record]) -> list[set[int]]:
    return sorted(({r.claim_id for r in g.records} for g in incidents.group_records(records)), key=min)


def test_reports_of_one_place_and_day_are_one_incident_whatever_they_call_it() -> None:
    records = [_record(1), _record(2, event_type="Violence against civilians"), _record(3, first=D + timedelta(1))]
    assert _groups(records) == [{1, 2, 3}]


def test_other_places_other_weeks_and_arrests_are_apart() -> None:
    records = [
        _record(1),
        _record(2, place=AKTAU),  # 140 km away
        _record(3, first=D + timedelta(days=5)),  # days later: another event
        _record(4, event_type="Strategic developments"),  # arrests are not the shooting
    ]
    assert _groups(records) == [{1}, {2}, {3}, {4}]


def test_a_report_of_only_the_region_is_not_put_in_one_of_its_towns_when_it_fits_several() -> None:
    records = [_record(1), _record(2, place=AKTAU), _record(3, place=REGION, precision=3)]
    assert _groups(records) == [{1}, {2}, {3}]
    records = [_record(1), _record(3, place=REGION, precision=3)]
    assert _groups(records) == [{1, 3}]


def test_an_incident_spans_at_most_a_week_of_given_days_but_takes_vague_reports() -> None:
    days = [_record(i, first=D + timedelta(days=i - 1)) for i in range(1, 11)]
    groups = _groups(days)
    assert len(groups) == 2 and all(len(g) <= 8 for g in groups)
    vague = _record(20, first=date(2011, 12, 1), last=date(2011, 12, 31))
    assert _groups([_record(1), vague]) == [{1, 20}]


def test_when_is_the_run_of_days_most_sources_give_never_narrower() -> None:
    one_day = [_record(1), _record(2), _record(3), _record(4, first=D + timedelta(days=1))]
    first, last, precision, disagree = incidents.when(one_day)
    assert (first, last, precision) == (D, D, 1) and disagree
    protest = [_record(1, first=D, last=D + timedelta(days=3)), _record(2, first=D, last=D + timedelta(days=3))]
    assert incidents.when(protest)[:3] == (D, D + timedelta(days=3), 2)
    assert incidents.interval_text(D, D + timedelta(days=3)) == "16-19 Dec 2011"


def _figure(n: int, low: int, source: Source, day: int, high: int | None = -1, qualifier: str = "exact") -> Figure:
    return Figure(
        claim_id=n,
        item_id=n,
        item_sha256=f"{n:064x}",
        what="killed",
        low=low,
        high=low if high == -1 else high,
        qualifier=qualifier,
        quote=f"{low} killed",
        source=source,
        reported_on=D + timedelta(days=day),
        hedged=False,
    )


def test_the_conservative_figure_and_the_officials_one_voice() -> None:
    ministry = Source("Interior Ministry", "official", "body:interiorministry", True)
    prosecutor = Source("Prosecutor General's Office", "official", "body:prosecutor", True)
    figures = [
        _figure(1, 10, prosecutor, 0),
        _figure(2, 11, ministry, 2),
        _figure(3, 16, prosecutor, 6),
        _figure(4, 12, _source("Wire"), 1),
        _figure(5, 14, _source("Wire"), 3, high=None, qualifier="at_least"),
        _figure(6, 70, _source("Activists", "ngo"), 4),
    ]
    table = reconcile.table("killed", figures, lambda f: None)
    assert [f.low for f in table.official_history] == [10, 11, 16]
    # The wire's current figure is its revision (at least 14), the ministry's 11 is no longer the officials'.
    assert table.conservative == 16 and "at least 14" in table.conservative_reason
    assert (table.independent_low, table.independent_high) == (14, 70)
    # "At least 14" does not dispute 16; 70 does.
    assert not any("at least 14" in d for d in table.disputes) and any("70" in d for d in table.disputes)
    lone = reconcile.table("killed", [_figure(1, 3, _source("Wire"), 0), _figure(2, 5, _source("Daily"), 0)], str)
    assert lone.conservative == 3 and lone.official_history == []


def test_the_same_sentence_in_two_outlets_is_one_source() -> None:
    a, b = _figure(1, 14, _source("Wire"), 0), _figure(2, 14, _source("Daily"), 1)
    said = {1: "At least 14 people were killed, residents said.", 2: "At least  14 people were KILLED, residents said."}
    table = reconcile.table("killed", [a, b], lambda f: said[f.claim_id])
    assert table.independent_sources == 1 and table.figures[1].repeats == 1
    apart = reconcile.table("killed", [a, b], lambda f: None)
    assert apart.independent_sources == 2 and apart.figures[1].repeats is None


def test_origins_of_cited_sources() -> None:
    relay = sources.source_of("the Interior Ministry", "Caspian Daily", "a" * 64)
    own = sources.source_of(None, "Ministry of Internal Affairs", "b" * 64)
    russian = sources.source_of("МВД", "Nash forum", "c" * 64)
    assert relay.origin == own.origin == russian.origin and relay.origin.startswith("body:interiorminist")
    assert relay.type == "official" and relay.cited and not own.cited
    one = sources.source_of("witnesses", "Steppe Wire", "d" * 64)
    other = sources.source_of("witnesses", "Caspian Daily", "e" * 64)
    assert one.origin != other.origin and one.type == "witness"  # each outlet's witnesses are its own
    cited_outlet = sources.source_of("Steppe Wire", "Aral Radio", "f" * 64)
    assert cited_outlet.origin == sources.source_of(None, "Steppe Wire", "0" * 64).origin
    assert sources.source_type("Zhanaozen city hospital") == "hospital"
    assert sources.source_type("Kazakhstan Bureau for Civil Liberties") == "ngo"
    assert sources.source_type("Somebody") == "unknown"
    nobody = sources.source_of(None, None, "1" * 64)
    assert nobody.origin == "item:" + "1" * 64 and nobody.type == "unknown"
