"""Name keys for people: the parts of a person's name, each reduced to a key that spelling cannot change.

The same man is "Серіков Ерлан Серікұлы" on a Kazakh list, "Сериков Ерлан Серикович" on a
Russian one, "Erlan Serikov" in an NGO's spreadsheet and "Erlan Serikuly" or "Erlan Serıkūly" in
a family's message; his sister is "Серікова" or "Serikova", their cousin "Kuanyshbayeva",
"Қуанышбаева" or "Quanyşbaeva". Record linkage compares people by these keys, never by the
letters as written (``linkage.py``). The scheme, in the order it is applied:

1. **Split** the name into given name, patronymic and surname. A list that gives the parts in
   separate columns is taken at its word. A full name is split by its patronymic, found by its
   ending (Russian -ovich/-evich/-ovna/-evna and the -ich/-ichna of Ilyich, Kuzmich and the like;
   Kazakh -uly/-ұлы/-uli and -kyzy/-қызы/-qyzy, attached or a separate word): "Surname Given
   Patronymic" (the Russian official order) when it stands last, "Given Patronymic Surname" when it
   stands second, "Patronymic Given" (a Kazakh -uly surname first) when it stands first. Without
   a patronymic, the word with a surname ending (-ov, -ev, -in, -skiy, -enko, their feminine
   forms, ...) is the surname, unless it is a common given name (Erkin, ``KNOWN_GIVEN_NAMES``);
   failing that, the common given name is the given name; failing that, a Cyrillic name is read
   surname first (the order of Russian lists), so is a Latin one in capitals (a passport's), and
   any other Latin one given name first. Initials ("Ivanov I. I.") become one-letter keys. A Kazakh
   -uly/-kyzy name is always the patronymic, even where the list has it in its surname column,
   because that is what it means (son or daughter of) and what the Russian form of the same name
   says with -ovich.
2. **Fold** each part with ``factfinder.text.names.fold``: one spelling-blind key for Kazakh and
   Russian Cyrillic, the 2017 (apostrophes), 2018 (acute accents) and 2021 (ä ğ ñ ö ū ü ş ç ı)
   Kazakh Latin alphabets and the usual English romanisations.
3. **Normalise** each part:

   - given name: a Russian diminutive becomes the full name (``NICKNAMES``: Sasha → Aleksandr);
   - patronymic: the father's given name and nothing else (Ivanovich, Ivanovna → ivan;
     Sergeyevich → sergei; Serikuly, Serik uly, Serikkyzy, Serikovich → serik);
   - surname: the masculine form (Ivanova → ivanov, Kuanyshbayeva → kuanishbaev, Lisovskaya →
     lisovski), and a *root* without the Russian -ov/-ev/-in/-skiy suffix or a final -ai
     (Kuanyshbayev and Kuanyshbay → kuanishba; Serikov → serik, which is also the patronymic
     key of Serikuly: the Russified surname of a Kazakh is usually made from a father's name).

4. **Phonetic key**: the Double Metaphone (primary code) of each folded key, so that spellings the
   fold does not join (Pyotr and Petr: piotr, petr) still meet (PTR). A one-letter initial has no
   phonetic key.

The sex a name implies (-ovna, -kyzy, -ova: female; -ovich, -uly, -ov: male) is kept as a hint,
used where a list does not give the person's sex.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from metaphone import doublemetaphone

from factfinder.text.names import fold as _fold_uncached
from factfinder.text.names import kazakh_latin

if TYPE_CHECKING:
    from factfinder.findings.persons.model import PersonRecord

Sex = Literal["male", "female"]

fold = functools.lru_cache(maxsize=1 << 17)(_fold_uncached)
"""``factfinder.text.names.fold``, remembered: a register repeats the same names and endings many times."""

_NICKNAMES_WRITTEN: dict[str, tuple[str, str]] = {
    # diminutive: (the masculine full name, the feminine one) -- "" where the diminutive is of one sex only
    "Саша": ("Александр", "Александра"),
    "Шура": ("Александр", "Александра"),
    "Женя": ("Евгений", "Евгения"),
    "Валя": ("Валентин", "Валентина"),
    "Коля": ("Николай", ""),
    "Миша": ("Михаил", ""),
    "Володя": ("Владимир", ""),
    "Вова": ("Владимир", ""),
    "Дима": ("Дмитрий", ""),
    "Серёжа": ("Сергей", ""),
    "Алёша": ("Алексей", ""),
    "Лёша": ("Алексей", ""),
    "Ваня": ("Иван", ""),
    "Петя": ("Пётр", ""),
    "Юра": ("Юрий", ""),
    "Толя": ("Анатолий", ""),
    "Костя": ("Константин", ""),
    "Гриша": ("Григорий", ""),
    "Паша": ("Павел", ""),
    "Витя": ("Виктор", ""),
    "Валера": ("Валерий", ""),
    "Таня": ("", "Татьяна"),
    "Наташа": ("", "Наталья"),
    "Маша": ("", "Мария"),
    "Оля": ("", "Ольга"),
    "Лена": ("", "Елена"),
    "Света": ("", "Светлана"),
    "Катя": ("", "Екатерина"),
    "Галя": ("", "Галина"),
    "Люда": ("", "Людмила"),
    "Надя": ("", "Надежда"),
    "Ира": ("", "Ирина"),
    "Аня": ("", "Анна"),
    "Настя": ("", "Анастасия"),
    "Даша": ("", "Дарья"),
}
"""Russian diminutives that lists write instead of the full given name. Kept short on purpose: only
forms nobody would take for another name. Kazakh short forms vary by family (Бауыржан is Бауке,
Бахо, Баур...) and are left to the phonetic and similarity levels of the comparison and to reviewers.
Ambiguous ones (Слава: Вячеслав, Владислав, Станислав...) are left out."""

NICKNAMES: dict[str, tuple[str, str]] = {
    fold(short): (fold(male) if male else "", fold(female) if female else "")
    for short, (male, female) in _NICKNAMES_WRITTEN.items()
}
"""``_NICKNAMES_WRITTEN`` as keys: folded diminutive -> (masculine key, feminine key)."""

_COMMON_GIVEN_WRITTEN = """
Абай Адиль Айбек Айдар Айдос Айдын Акжол Алихан Алмас Арман Аскар Асет Асхат Бакыт Бауыржан Бекжан Бекзат
Берик Болат Галымжан Дамир Даулет Даурен Дархан Дидар Елдос Ерболат Ержан Еркин Ерлан Ермек Жандос
Жанат Жанболат Жасулан Женис Ильяс Кайрат Канат Касым Кенжебек Куаныш Мади Максат Марат Мейрам Мурат Нурбек
Нурболат Нуржан Нурлан Нурсултан Олжас Омирзак Оралбек Руслан Рустем Сакен Самат Сапар Саят Серик Султан
Талгат Тимур Толеген Толеу Улан Чингис Шынгыс Айгуль Айжан Айнур Акбота Акмарал Алия Асель Аружан Ботагоз
Гаухар Гульмира Гульнар Дана Динара Жазира Жанар Жулдыз Индира Куляш Лаззат Мадина Меруерт Молдир Назерке
Нургуль Раушан Роза Салтанат Сауле Улжан Шынар Айгерим Александр Алексей Анатолий Андрей Борис Вадим Валентин
Валерий Василий Виктор Виталий Владимир Вячеслав Геннадий Георгий Григорий Денис Дмитрий Евгений Иван Игорь
Илья Константин Леонид Максим Михаил Николай Олег Павел Петр Роман Сергей Станислав Юрий Александра Алла Анна
Валентина Галина Евгения Екатерина Елена Ирина Людмила Мария Наталья Надежда Ольга Светлана Татьяна Юлия
"""
KNOWN_GIVEN_NAMES: frozenset[str] = frozenset(fold(n) for n in _COMMON_GIVEN_WRITTEN.split())
"""Keys of common Kazakh and Russian given names. Not a dictionary of every name: only names common enough
that two of them a letter apart (Nurlan and Nurzhan, Erlan and Erzhan, brothers as often as not) are more
likely two people than one name with a typo. Linkage compares two different names of this list as
different names, however alike their letters."""

_ICH_WRITTEN = {
    "Ильич": "Илья", "Ильинична": "Илья", "Кузьмич": "Кузьма", "Кузьминична": "Кузьма",
    "Фомич": "Фома", "Фоминична": "Фома", "Лукич": "Лука", "Лукинична": "Лука",
    "Никитич": "Никита", "Никитична": "Никита",
}  # fmt: skip
"""The short patronymics (-ich, -ichna) of fathers' names in -a/-я: too few, and too like other words
(Friedrich), to be found by their ending."""
_ICH_PATRONYMICS = {fold(patronymic): fold(father) for patronymic, father in _ICH_WRITTEN.items()}

# Patronymic endings as keys (after ``fold``), longest first, with the sex they imply.
_PATRONYMIC_ENDINGS: tuple[tuple[str, Sex], ...] = (
    ("ovitch", "male"),
    ("evitch", "male"),
    ("ovich", "male"),
    ("evich", "male"),
    ("ovna", "female"),
    ("evna", "female"),
    ("kizi", "female"),
    ("uli", "male"),
)
_KAZAKH_WORDS: dict[str, Sex] = {"uli": "male", "kizi": "female", "ulu": "male", "ogli": "male", "gizi": "female"}
"""Kazakh (and neighbours') "son of"/"daughter of" written as a separate word after the father's name."""

_SURNAME_FEMININE: tuple[tuple[str, str], ...] = (
    ("ova", "ov"),
    ("eva", "ev"),
    ("ina", "in"),
    ("ska", "ski"),
    ("cka", "cki"),
    ("zka", "zki"),
)
"""Feminine surname endings (as keys: -skaya folds to -ska) and their masculine forms."""
_SURNAME_MASCULINE = ("ov", "ev", "ski", "cki", "zki")
_SURNAME_ENDINGS = ("ov", "ev", "in", "ski", "cki", "zki", "enko", "uk", "iuk", "ova", "eva", "ina", "ska", "cka")
"""Endings that mark a word as a surname when a full name must be split without a patronymic."""
_ROOT_SUFFIXES = ("ov", "ev", "in", "ski", "cki", "zki")
MIN_ROOT = 3
"""A surname root shorter than this is not kept: Ким, Пак and Цой are whole surnames."""

_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_SPLIT = re.compile(r"[\s,;.()]+")


@dataclass(frozen=True)
class NameParts:
    """A name split into its parts, each as written (any script); empty where the name lacks it."""

    given: str = ""
    patronymic: str = ""
    surname: str = ""


@dataclass(frozen=True)
class NameKeys:
    """The keys of one person's name (see the module docstring); empty strings where a part is missing."""

    given: str = ""
    patronymic: str = ""
    surname: str = ""
    surname_root: str = ""
    given_phonetic: str = ""
    patronymic_phonetic: str = ""
    surname_phonetic: str = ""
    sex_hint: Sex | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {
            "given": self.given,
            "patronymic": self.patronymic,
            "surname": self.surname,
            "surname_root": self.surname_root,
            "given_phonetic": self.given_phonetic,
            "patronymic_phonetic": self.patronymic_phonetic,
            "surname_phonetic": self.surname_phonetic,
            "sex_hint": self.sex_hint,
        }


@functools.lru_cache(maxsize=1 << 16)
def phonetic(key: str) -> str:
    """The Double Metaphone primary code of a folded key ("" for an initial or an empty key)."""
    if len(key) < 2:
        return ""
    return str(doublemetaphone(key)[0])


def _patronymic_of_word(word: str) -> tuple[str, Sex] | None:
    """The father's-name key and implied sex of a word (any script) if it is a patronymic, else None.

    The ending is found on the word as written (the shortest tail whose key is the ending), not on
    its key: the key writes doubled letters once, and would leave Серікқызы (serikizi) the father
    "seri" and Сергеевна (sergevna) the father "serg"."""
    key = fold(word)
    if key in _ICH_PATRONYMICS:
        return _ICH_PATRONYMICS[key], ("female" if key.endswith("na") else "male")
    for ending, sex in _PATRONYMIC_ENDINGS:
        if not key.endswith(ending):
            continue
        for cut in range(len(word) - 1, 0, -1):
            if fold(word[cut:]) != ending:
                continue
            stem_word = word[:cut]
            stem = fold(stem_word)
            if len(stem) < 2:
                return None
            if ending.startswith("ev") and (stem_word[-1] in "ьЬ'’ʼ" or stem[-1] in "aeou"):
                stem = fold(stem_word.rstrip("ьЬ'’ʼ") + "й")  # Сергеевич, Юрьевич: Сергей, Юрий
            return stem, sex
    return None


def is_patronymic(word: str) -> bool:
    """Whether a word (any script) has the form of a patronymic: Ivanovich, Серікұлы, Serik uly."""
    key = fold(word)
    return key in _KAZAKH_WORDS or _patronymic_of_word(word) is not None


def patronymic_key(patronymic: str) -> tuple[str, Sex | None]:
    """The key of the father's given name a patronymic is made from, and the sex it implies.

    ``Ivanovich``, ``Ивановна`` -> ``ivan``; ``Сергеевич`` -> ``sergei``; ``Serikuly``,
    ``Serik uly``, ``Серікқызы``, ``Serikovich`` -> ``serik``; ``Ильич`` -> ``ilia``. A father's name
    written without an ending (lists that give "father: Serik") is its own key; an initial stays an
    initial."""
    words = [w for w in _SPLIT.split(patronymic) if fold(w)]
    if not words:
        return "", None
    last = fold(words[-1])
    if len(words) > 1 and last in _KAZAKH_WORDS:
        return fold("".join(words[:-1])), _KAZAKH_WORDS[last]
    found = _patronymic_of_word("".join(words))
    if found is None:
        return fold("".join(words)), None
    return found


def given_key(given: str, sex: Sex | None = None) -> str:
    """The key of a given name, with a Russian diminutive read as the full name (``NICKNAMES``)."""
    key = fold(given)
    forms = NICKNAMES.get(key)
    if forms is None:
        return key
    male, female = forms
    if sex == "female":
        return female or male
    return male or female


def surname_key(surname: str) -> tuple[str, str, Sex | None]:
    """The masculine key of a surname, its root, and the sex its ending implies.

    ``Ivanova`` -> (``ivanov``, ``ivan``, female); ``Лисовская`` -> (``lisovski``, ``lisov``,
    female); ``Kuanyshbay`` -> (``kuanishbai``, ``kuanishba``, None). Each part of a double surname
    (Ivanova-Petrova) is normalised on its own."""
    keys: list[str] = []
    sex: Sex | None = None
    for part in re.split(r"[-‐–\s]+", surname):
        key = fold(part)
        if not key:
            continue
        for feminine, masculine in _SURNAME_FEMININE:
            if key.endswith(feminine) and len(key) - len(feminine) >= 2:
                key = key[: -len(feminine)] + masculine
                sex = "female"
                break
        else:
            if sex is None and key.endswith(_SURNAME_MASCULINE) and len(key) > 4:
                sex = "male"
        keys.append(key)
    key = "".join(keys)
    root = keys[-1] if keys else ""
    for suffix in _ROOT_SUFFIXES:
        if root.endswith(suffix):
            root = root[: -len(suffix)]
            break
    if root.endswith("ai"):
        root = root[:-1]  # Kuanyshbay -> kuanishba, as Kuanyshbayev -> kuanishbaev -> kuanishba
    if len(root) < MIN_ROOT:
        root = key
    return key, root, sex


def _looks_like_surname(word: str) -> bool:
    key = fold(word)
    return len(key) > 4 and key.endswith(_SURNAME_ENDINGS) and key not in NICKNAMES and key not in KNOWN_GIVEN_NAMES


def _looks_like_given(word: str) -> bool:
    key = fold(word)
    return key in KNOWN_GIVEN_NAMES or key in NICKNAMES


def _join_kazakh_words(words: list[str]) -> list[str]:
    """Join a separate "uly"/"kyzy" to the father's name before it: ["Serik", "uly"] -> ["Serik uly"]."""
    out: list[str] = []
    for w in words:
        if out and fold(w) in _KAZAKH_WORDS:
            out[-1] = f"{out[-1]} {w}"
        else:
            out.append(w)
    return out


def split_name(full_name: str) -> NameParts:
    """Split a full name into given name, patronymic and surname by the rules of the module docstring."""
    words = _join_kazakh_words([w for w in _SPLIT.split(full_name.strip()) if fold(w)])
    if not words:
        return NameParts()
    patronymics = [i for i, w in enumerate(words) if is_patronymic(w)]
    if patronymics and len(words) > 1:
        p = patronymics[-1]
        rest = words[:p] + words[p + 1 :]
        if p == len(words) - 1:  # Surname Given Patronymic, or Given Patronymic
            return NameParts(given=rest[-1], patronymic=words[p], surname=" ".join(rest[:-1]))
        if p == 0:  # Serikuly Erlan: a Kazakh -uly surname first
            return NameParts(given=rest[0], patronymic=words[p], surname=" ".join(rest[1:]))
        return NameParts(given=" ".join(words[:p]), patronymic=words[p], surname=" ".join(words[p + 1 :]))
    initials = [w for w in words if len(fold(w)) == 1]
    if initials and len(initials) < len(words):  # Ivanov I. I., I. I. Ivanov
        others = [w for w in words if len(fold(w)) > 1]
        return NameParts(
            given=initials[0], patronymic=initials[1] if len(initials) > 1 else "", surname=" ".join(others)
        )
    if len(words) == 1:
        return NameParts(surname=words[0]) if _looks_like_surname(words[0]) else NameParts(given=words[0])
    first, last = _looks_like_surname(words[0]), _looks_like_surname(words[-1])
    first_given, last_given = _looks_like_given(words[0]), _looks_like_given(words[-1])
    if first != last:
        surname_first = first
    elif first_given != last_given:
        surname_first = last_given
    else:  # Russian lists and passports (ICAO capitals, TSOI VASILII) put the surname first
        surname_first = bool(_CYRILLIC.search(full_name)) or full_name.isupper()
    if surname_first:
        return NameParts(given=words[1], surname=words[0], patronymic=" ".join(words[2:]))
    return NameParts(given=words[0], surname=words[-1], patronymic=" ".join(words[1:-1]))


def record_parts(record: PersonRecord) -> NameParts:
    """A record's name parts: its own columns where it has them, else its full name split.

    A given-name column that also holds the patronymic ("Ivan Ivanovich") is split, and a Kazakh
    -uly/-kyzy name in the surname column is taken for the patronymic it is."""
    given, patronymic, surname = record.given_name.strip(), record.patronymic.strip(), record.surname.strip()
    if not (given or patronymic or surname):
        return split_name(record.full_name)
    if given and not patronymic:
        words = _join_kazakh_words(_SPLIT.split(given))
        if len(words) > 1 and is_patronymic(words[-1]):
            given, patronymic = " ".join(words[:-1]), words[-1]
    if surname and not patronymic:
        words = _join_kazakh_words([w for w in _SPLIT.split(surname) if w])
        if words and fold(words[-1]).endswith(("uli", "kizi")) and is_patronymic(words[-1]):
            surname, patronymic = " ".join(words[:-1]), words[-1]
    return NameParts(given=given, patronymic=patronymic, surname=surname)


def _in_kazakh_latin(parts: NameParts) -> NameParts:
    """The parts with 2017 and 2018 Kazakh Latin letters read as such, judged on the whole name."""
    whole = " ".join((parts.given, parts.patronymic, parts.surname)).lower()
    if whole.isascii() and "'" not in whole:
        return parts
    context = unicodedata.normalize("NFC", whole)

    def read(part: str) -> str:
        return kazakh_latin(unicodedata.normalize("NFC", part.lower()), context)

    return NameParts(given=read(parts.given), patronymic=read(parts.patronymic), surname=read(parts.surname))


def name_keys(name: str | PersonRecord | NameParts, sex: Sex | None = None) -> NameKeys:
    """The keys of a name: a full name as written, a person record, or parts already split."""
    if isinstance(name, str):
        parts = split_name(name)
    elif isinstance(name, NameParts):
        parts = name
    else:
        parts = record_parts(name)
        sex = sex or name.sex
    parts = _in_kazakh_latin(parts)
    father, patronymic_sex = patronymic_key(parts.patronymic)
    surname, root, surname_sex = surname_key(parts.surname)
    hint = patronymic_sex or surname_sex
    given = given_key(parts.given, sex or hint)
    return NameKeys(
        given=given,
        patronymic=father,
        surname=surname,
        surname_root=root,
        given_phonetic=phonetic(given),
        patronymic_phonetic=phonetic(father),
        surname_phonetic=phonetic(surname),
        sex_hint=hint,
    )
