"""Language, sentences, stance, actors and events: the parts of the text stage that need no gazetteer."""

from __future__ import annotations

import pytest

from factfinder.text import actors, events, language, sentences, stance
from factfinder.text.model import Lang


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Police opened fire on the crowd in the main square.", "en"),
        ("Вчера в Жанаозене погибли 15 человек.", "ru"),
        ("Кеше Жаңаөзенде 15 адам қаза тапты.", "kk"),
        ("Полиция мен ереуілшілер арасында қақтығыс болды және адам қаза тапты", "kk"),
    ],
)
def test_language_is_decided_by_script_and_kazakh_letters(text: str, lang: Lang) -> None:
    assert language.detect(text) == lang


def test_an_unknown_language_name_is_refused() -> None:
    with pytest.raises(ValueError, match="auto, en, ru or kk"):
        language.resolve("text", "de")


def test_sentences_keep_offsets_and_break_at_paragraphs() -> None:
    text = "Heading without a stop\nPolice fired at 5 p.m. on Dec. 16. Many fled.\n\n«Нас не пустили», — сказал он."
    found = sentences.split(text)
    assert [s.text for s in found] == [
        "Heading without a stop",
        "Police fired at 5 p.m. on Dec. 16.",
        "Many fled.",
        "«Нас не пустили», — сказал он.",
    ]
    assert all(text[s.start : s.end] == s.text for s in found)
    assert sentences.containing(found, text.index("Many")) == found[2]
    assert sentences.containing(found, len(text) + 5) is None


def _stance(text: str, claim: str, lang: Lang = "en") -> stance.Stance:
    s = sentences.split(text)[0]
    at = text.index(claim)
    return stance.of(s, at, at + len(claim), lang)


def test_reported_speech_names_its_source() -> None:
    st = _stance("According to the prosecutor's office, 16 people died.", "16 people died")
    assert st.reported and st.source == "the prosecutor's office"
    assert not st.hedged and not st.negated
    st = _stance("По данным прокуратуры, погибли 16 человек.", "погибли 16 человек", "ru")
    assert st.reported and st.source == "прокуратуры"
    assert _stance("Полиция мәліметінше, 16 адам қаза тапты.", "16 адам қаза тапты", "kk").reported


def test_hedges_negation_and_future_are_told_apart() -> None:
    assert _stance("Clashes reportedly left at least 15 people dead.", "at least 15 people dead").hedged
    assert _stance("No one was killed in Aktau.", "killed").negated
    assert _stance("Никто не погиб.", "погиб", "ru").negated
    assert _stance("The strikers will hold a rally on Friday.", "rally").future
    plain = _stance("Police opened fire on the crowd.", "opened fire")
    assert plain == stance.Stance()


def test_negation_does_not_reach_across_a_clause() -> None:
    st = _stance("Police did not let journalists in; three people were killed.", "three people were killed")
    assert not st.negated


def _actors(text: str, lang: Lang = "en") -> list[tuple[str, int]]:
    return [(a.actor, a.acled_type) for a in actors.find_actors(text, lang)]


def test_actor_groups_map_to_acled_types() -> None:
    assert _actors("OMON and police dispersed the strikers; soldiers stood by.") == [
        ("Special police", 1),
        ("Police", 1),
        ("Strikers", 6),
        ("Military", 1),
    ]
    assert _actors("ОМОН открыл огонь по протестующим", "ru") == [("Special police", 1), ("Protesters", 6)]
    assert _actors("Полиция ереуілшілерге оқ атты", "kk") == [("Police", 1), ("Strikers", 6)]
    assert _actors("Unidentified gunmen killed three villagers") == [("Militia", 3), ("Civilians", 7)]


def test_named_people_and_organisations_are_found_but_acronyms_need_capitals() -> None:
    found = actors.find_actors("Activist Aizhangul Amirova of the People's Front spoke; the pdf was sent.", "en")
    names = {(a.text, a.role) for a in found}
    assert ("Aizhangul Amirova", "person") in names
    assert ("People's Front", "organisation") in names
    assert not any(a.text.lower() == "pdf" for a in found)
    assert ("as well", "person") not in {(a.text, a.role) for a in actors.find_actors("a journalist as well", "en")}


def _event(text: str, lang: Lang = "en") -> tuple[str, str] | None:
    sents = sentences.split(text)
    found = events.find_events(text, lang, sents, actors.find_actors(text, lang))
    return (found[0].event_type, found[0].sub_event_type) if found else None


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("Around 200 teachers protested in front of the governor's office demanding higher pay.",
         ("Protests", "Peaceful protest")),
        ("Police used tear gas to disperse protesters and detained 12 of them.",
         ("Protests", "Protest with intervention")),
        ("Police opened fire on striking oil workers, killing 14.",
         ("Protests", "Excessive force against protesters")),
        ("Protesters set fire to the mayor's office and threw stones at police.", ("Riots", "Violent demonstration")),
        ("A mob lynched a suspected thief.", ("Riots", "Mob violence")),
        ("Unidentified gunmen shot and killed three civilians.", ("Violence against civilians", "Attack")),
        ("Gunmen abducted two aid workers.", ("Violence against civilians", "Abduction/forced disappearance")),
        ("Militants attacked a military checkpoint, killing 3 soldiers.", ("Battles", "Armed clash")),
        ("An IED exploded near a market, killing 2 people.",
         ("Explosions/Remote violence", "Remote explosive/landmine/IED")),
        ("Russian forces shelled the town.", ("Explosions/Remote violence", "Shelling/artillery/missile attack")),
        ("A drone strike hit a house.", ("Explosions/Remote violence", "Air/drone strike")),
        ("Police defused an explosive device found near a school.",
         ("Strategic developments", "Disrupted weapons use")),
        ("Security forces arrested an opposition activist.", ("Strategic developments", "Arrests")),
        ("The army regained control of the town.", ("Battles", "Government regains territory")),
    ],
)  # fmt: skip
def test_event_type_follows_the_codebook_order(text: str, want: tuple[str, str]) -> None:
    assert _event(text) == want


def test_events_in_russian_and_kazakh() -> None:
    assert _event("ОМОН открыл огонь по бастующим нефтяникам.", "ru") == (
        "Protests",
        "Excessive force against protesters",
    )
    assert _event("Полиция наразыларды көзден жас ағызатын газбен таратты.", "kk") == (
        "Protests",
        "Protest with intervention",
    )
    assert _event("Вчера были задержаны два журналиста.", "ru") == ("Strategic developments", "Arrests")


def test_a_demonstration_frames_the_shooting_in_a_later_sentence() -> None:
    text = "Oil workers held a demonstration in the square. The police responded by shooting live rounds."
    found = events.find_events(text, "en", sentences.split(text), actors.find_actors(text, "en"))
    assert [(e.event_type, e.sub_event_type) for e in found] == [
        ("Protests", "Peaceful protest"),
        ("Protests", "Excessive force against protesters"),
    ]
    assert found[1].text == "shooting live rounds"


def test_hostile_text_is_read_in_blocks_with_exact_offsets() -> None:
    from datetime import date

    from factfinder.text import claims

    text = "Police killed 5 ² people in Almaty (Kazakhstan) on 12 May. " * 400 + "no full stop " * 2000
    found = claims.extract(text, date(2020, 6, 1))
    assert len(text) > 2 * claims.BLOCK
    assert all(text[c.start : c.end] == c.quote for c in found)
    killed = [c for c in found if c.kind == "count" and c.data["what"] == "killed"]
    assert len(killed) == 400 and {c.data["low"] for c in killed} == {5}
