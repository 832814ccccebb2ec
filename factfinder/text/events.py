"""Events: ACLED's event type and sub-type, read from trigger words in their context.

A trigger alone does not decide the type: "opened fire" on protesters is
excessive force against protesters, on a military post it is an armed clash;
"arrested" during a demonstration is a protest with intervention, on its own an
arrest (a strategic development). So the lexicons (``events-*.yaml``) only name
**cues** ("protest", "riot", "lethal", "intervention", "armed_clash", "air",
...), and ``decide`` reads the cues of a sentence, or of the opening of a
document, in a fixed order that follows ACLED's codebook:

1. weapons stopped (defused, intercepted) before explosions; chemical, suicide
   bomb, air/drone strike, shelling, remote explosive, grenade;
2. territory changing hands;
3. anything in the frame of a demonstration: violent demonstrators make it a
   riot (violent demonstration) even when the police then kill some of them;
   otherwise lethal force by the state is excessive force, dispersal or arrests
   an intervention, and the rest a peaceful protest;
4. mobs; sexual violence; abductions;
5. killings and attacks: on civilians violence against civilians, on armed men
   (or with two armed sides) a battle;
6. arrests, looting and destruction, agreements, bases, transfers, changes in a
   group, and the rest of strategic developments.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass

from factfinder.text import lexicon
from factfinder.text.model import ActorMention, EventMention, Lang, Sentence

CUE_KINDS = (
    "protest", "riot", "damage", "mob", "lethal", "intervention", "armed_clash", "regain", "overtake", "air",
    "shelling", "ied", "suicide", "grenade", "chemical", "abduction", "sexual", "attack", "arrest", "looting",
    "weapons", "agreement", "hq", "transfer", "change_group", "other_sd", "civilian_victims", "armed_victims",
)  # fmt: skip
TRIGGERS = tuple(k for k in CUE_KINDS if not k.endswith("_victims"))

VICTIM_WINDOW = 80
"""Characters around a killing in which the words for its victims are looked for."""


@dataclass(frozen=True)
class Cue:
    kind: str
    start: int
    end: int
    text: str
    background: bool = False  # right after "after", "over", "on suspicion of": maybe an earlier event


@functools.cache
def _patterns(lang: Lang) -> dict[str, re.Pattern[str]]:
    data = lexicon.load(f"events-{lang}")
    return {kind: lexicon.words(data[kind]) for kind in CUE_KINDS if data.get(kind)}


@functools.cache
def background_before(lang: Lang) -> re.Pattern[str]:
    words = lexicon.load(f"events-{lang}").get("background") or [r"(?!x)x"]  # none: matches nothing
    return re.compile(r"(?<![\w])(?:" + "|".join(words) + r")\s+(?:\S+\s+){0,3}$", re.IGNORECASE)


@functools.cache
def _background_after(lang: Lang) -> re.Pattern[str]:
    words = lexicon.load(f"events-{lang}").get("background_after") or [r"(?!x)x"]
    return re.compile(r"^\S*\s+(?:\S+\s+)?(?:" + "|".join(words) + r")(?![\w])", re.IGNORECASE)


def find_cues(text: str, lang: Lang) -> list[Cue]:
    """Every cue in ``text`` (they may overlap: "killed" is both a lethal and an attack cue).

    Cues right after a background word are marked: "on suspicion of taking part in the riots",
    "protesting over the killing of a student" name what an event is about, not what happened;
    ``decide`` leaves them out when other triggers remain."""
    out: list[Cue] = []
    background, after = background_before(lang), _background_after(lang)
    for kind, pat in _patterns(lang).items():
        for m in pat.finditer(text):
            behind = kind in TRIGGERS and (
                background.search(text[max(0, m.start() - 60) : m.start()]) is not None
                or after.match(text, m.end(), m.end() + 40) is not None
            )
            out.append(Cue(kind, m.start(), m.end(), m.group(), behind))
    out.sort(key=lambda c: (c.start, c.end))
    return out


def _near(cues: Iterable[Cue], kind: str, around: Iterable[Cue], window: int) -> bool:
    spots = [(c.start, c.end) for c in around]
    return any(c.kind == kind and any(c.start < e + window and c.end > s - window for s, e in spots) for c in cues)


VIOLENT = (
    "attack", "lethal", "armed_clash", "air", "shelling", "chemical", "suicide", "ied", "grenade", "riot", "damage",
    "looting", "abduction", "sexual",
)  # fmt: skip
"""Cues of violence: who did it (organised armed men or not) decides between a riot and the rest."""

UNORGANISED = frozenset({5, 6, 7})
"""ACLED inter codes of people who are not an organised armed group: rioters, protesters, civilians.
Violence by them (villagers who beat a thief, party supporters who clash) is a riot, not an attack."""

_PASSIVE = re.compile(r"\b(?:was|were|been|being|is|are|got)\s+(?:\w+\s+(?:and\s+)?)?(?:\w+ly\s+)?$", re.IGNORECASE)
_BY = re.compile(r"^[^.;]{0,60}?\bby\b", re.IGNORECASE)
_AGENT = re.compile(r"(?:\s+\w+){0,3}?\s+by\b", re.IGNORECASE)


def perpetrator(text: str, cues: list[Cue], actors: list[ActorMention], lang: Lang = "en") -> ActorMention | None:
    """Who did the first violent thing the cues name: the subject before it, or the agent after "by"
    when it is said in the passive ("three villagers were killed by gunmen"). None when no actor is named.

    Kazakh puts the object before the verb too ("полиция ереуілшілерге оқ атты"), so there the
    subject is the first actor of the clause, not the last before the verb."""
    violent = [c for c in cues if c.kind in VIOLENT and not c.background] or [c for c in cues if c.kind in VIOLENT]
    if not violent:
        return None
    first = min(violent, key=lambda c: c.start)
    agent = _AGENT.match(text, first.end)
    if agent is not None or _PASSIVE.search(text[max(0, first.start - 40) : first.start]):
        by = agent or _BY.search(text[first.end : first.end + 120])
        if by is None:
            return None
        at = by.end() if agent is not None else first.end + by.end()
        after = [a for a in actors if a.start >= at]
        return after[0] if after else None
    before = [a for a in actors if a.end <= first.start]
    if lang == "kk":
        stop = max((m.end() for m in re.finditer(r"[.;!?]", text[: first.start])), default=0)
        clause = [a for a in before if a.start >= stop]
        return clause[0] if clause else None
    return before[-1] if before else None


def decide(
    cues: list[Cue], actors: list[ActorMention], doer: ActorMention | None = None
) -> tuple[str, str, Cue] | None:
    """ACLED (event type, sub-type) and the deciding cue for a stretch of text, or None.

    ``doer`` is who did the violence (``perpetrator``), when known."""
    if any(c.kind in TRIGGERS and not c.background for c in cues):
        cues = [c for c in cues if not c.background]
    by: dict[str, list[Cue]] = {}
    for c in cues:
        by.setdefault(c.kind, []).append(c)
    inter = {a.acled_type for a in actors}

    def first(*kinds: str) -> Cue | None:
        found = [c for k in kinds for c in by.get(k, [])]
        return min(found, key=lambda c: c.start) if found else None

    def pick(event_type: str, sub: str, *kinds: str) -> tuple[str, str, Cue] | None:
        c = first(*kinds) or first(*TRIGGERS)  # the frame decided it: point at the first trigger
        return (event_type, sub, c) if c is not None else None

    killings = by.get("attack", []) + by.get("lethal", [])
    victims = [c for c in cues if doer is None or not (doer.start <= c.start < doer.end)]  # not the killers
    civilians = _near(victims, "civilian_victims", killings, VICTIM_WINDOW)
    armed = _near(victims, "armed_victims", killings, VICTIM_WINDOW)
    violent = [k for k in VIOLENT if k in by]
    rabble = doer is not None and doer.acled_type in UNORGANISED and doer.role != "person"
    organised = doer is not None and doer.acled_type not in UNORGANISED

    if "weapons" in by and not killings:
        return pick("Strategic developments", "Disrupted weapons use", "weapons")
    protest = "protest" in by or 6 in inter
    heavy = any(k in by for k in ("air", "shelling", "chemical", "suicide"))  # no crowd does these
    if rabble and violent and not protest and not heavy:
        return pick("Riots", "Mob violence", *violent)
    for kind, sub in (
        ("chemical", "Chemical weapon"),
        ("suicide", "Suicide bomb"),
        ("air", "Air/drone strike"),
        ("shelling", "Shelling/artillery/missile attack"),
        ("ied", "Remote explosive/landmine/IED"),
        ("grenade", "Grenade"),
    ):
        if kind in by and not ("armed_clash" in by and kind in ("shelling", "grenade", "ied")):
            return pick("Explosions/Remote violence", sub, kind)
    if "regain" in by:
        return pick("Battles", "Government regains territory", "regain")
    if "overtake" in by:
        return pick("Battles", "Non-state actor overtakes territory", "overtake")
    if protest:
        if "riot" in by or "damage" in by or 5 in inter or (rabble and violent):
            return pick("Riots", "Violent demonstration", "riot", "damage", "attack", "armed_clash", "protest")
        if "lethal" in by and (1 in inter or any(c.text.lower().startswith("kill") for c in by["lethal"])):
            return pick("Protests", "Excessive force against protesters", "lethal")
        if "intervention" in by or "arrest" in by:
            return pick("Protests", "Protest with intervention", "intervention", "arrest")
        if "armed_clash" in by and 1 in inter:
            return pick("Riots", "Violent demonstration", "armed_clash")
        return pick("Protests", "Peaceful protest", "protest")
    if "mob" in by:
        return pick("Riots", "Mob violence", "mob")
    if "riot" in by and not organised:
        return pick("Riots", "Violent demonstration" if 6 in inter else "Mob violence", "riot")
    if "damage" in by and 5 in inter:
        return pick("Riots", "Mob violence", "damage")
    if "sexual" in by:
        return pick("Violence against civilians", "Sexual violence", "sexual")
    if "abduction" in by:
        return pick("Violence against civilians", "Abduction/forced disappearance", "abduction")
    if "armed_clash" in by:  # a fight has two sides: armed men on both (a battle), or people who are not (a riot)
        unarmed_only = bool(inter) and inter <= UNORGANISED and doer is None
        if rabble or unarmed_only:
            return pick("Riots", "Mob violence", "armed_clash")
        return pick("Battles", "Armed clash", "armed_clash")
    if killings:
        if armed and not civilians:
            return pick("Battles", "Armed clash", "attack", "lethal")
        return pick("Violence against civilians", "Attack", "attack", "lethal")
    if "armed_clash" in by:
        return pick("Battles", "Armed clash", "armed_clash")
    for kind, sub in (
        ("arrest", "Arrests"),
        ("looting", "Looting/property destruction"),
        ("damage", "Looting/property destruction"),
        ("riot", "Looting/property destruction"),
        ("weapons", "Disrupted weapons use"),
        ("agreement", "Agreement"),
        ("hq", "Headquarters or base established"),
        ("transfer", "Non-violent transfer of territory"),
        ("change_group", "Change to group/activity"),
        ("other_sd", "Other"),
    ):
        if kind in by:
            return pick("Strategic developments", sub, kind)
    return None


@functools.cache
def _labels(lang: Lang) -> list[tuple[re.Pattern[str], str, str]]:
    entries = lexicon.load(f"events-{lang}").get("labels") or []
    return [(re.compile(r"\s*(?:" + e["label"] + r")\s*:", re.IGNORECASE), e["type"], e["sub"]) for e in entries]


def labelled(text: str, lang: Lang) -> tuple[str, str, Cue] | None:
    """The event type a note's opening label names ("Arrests: ...", "Movement of forces: ..."), if any."""
    for pattern, event_type, sub in _labels(lang):
        m = pattern.match(text)
        if m is not None:
            start = len(m.group()) - len(m.group().lstrip())
            return event_type, sub, Cue("label", start, m.end() - 1, text[start : m.end() - 1])
    return None


def find_events(
    text: str, lang: Lang, sentences: list[Sentence], actors: list[ActorMention], cues: list[Cue] | None = None
) -> list[EventMention]:
    """One event per sentence that holds a trigger, typed in the frame of its document.

    A demonstration named anywhere in the document frames the other sentences
    ("The police responded by shooting live rounds" is about the protesters)."""
    cues = find_cues(text, lang) if cues is None else cues
    framed = any(c.kind == "protest" for c in cues)
    out: list[EventMention] = []
    ci = ai = 0
    for s in sentences:
        while ci < len(cues) and cues[ci].start < s.start:
            ci += 1
        while ai < len(actors) and actors[ai].start < s.start:
            ai += 1
        here = [c for c in cues[ci:] if c.start < s.end]
        if not any(c.kind in TRIGGERS for c in here):
            continue
        who = [a for a in actors[ai:] if a.start < s.end]
        if (
            framed
            and not any(c.kind == "protest" for c in here)
            and any(c.kind in ("lethal", "intervention", "riot") for c in here)
        ):
            here = [*here, Cue("protest", s.start, s.start, "")]
        decided = decide(here, who, perpetrator(text, here, who, lang))
        if decided is None:
            continue
        event_type, sub, cue = decided
        if not cue.text:  # the frame, not a word of this sentence: point at the sentence's first trigger
            cue = next(c for c in here if c.kind in TRIGGERS and c.text)
        kinds = tuple(sorted({c.kind for c in here if c.text}))
        out.append(EventMention(cue.start, cue.end, cue.text, event_type, sub, kinds))
    return out
