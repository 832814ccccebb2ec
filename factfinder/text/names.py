"""Name keys: one spelling-blind key for a name written in Kazakh or Russian Cyrillic or in Latin letters.

The same town or person appears as Zhanaozen, Janaozen, Jangaozen, Жанаозен
and Жаңаөзен; as Aktau and Ақтау; as Shetpe and Шетпе. Places in the text
stage and people in the person register must be matched across all of these
without a dictionary of every variant, so names are compared by a key:

1. **Transliterate** Cyrillic to Latin with one scheme (``CYRILLIC``), close to
   the BGN/PCGN romanisation of Russian, with the Kazakh letters folded onto
   their nearest Russian sound: ә→a, ғ→g, қ→k, ң→n, ө→o, ұ→u, ү→u, һ→h, і→i.
2. **Fold spelling variants** that romanisations disagree on (``FOLDS``, applied
   in order, with sh and ch kept whole): zh/dzh/dj/j → j; kh/h/x/q/k → k (Kazakh
   қ is q or k, Russian х is kh or h: Қазақстан and Казахстан must meet);
   x → ks; a Latin c is s before e/i/y and k elsewhere; gh → g; ng → n
   (Kazakh ң); shch/sch → sh; ts/tz → c; w → v; ph → f; y → i; -aia → -a
   (-skaya / -ska); and doubled letters are written once. Accented Latin
   letters that change the sound (š, č, ž, ş, ç, ğ, ı, ñ of Slavic, Turkish
   and the 2021 Kazakh Latin alphabet) are spelled out first; other accents
   are dropped. The key is not meant to be read, only compared.
   Before the folds, the earlier Kazakh Latin alphabets are read as the 2021 one (``kazakh_latin``:
   the 2017 apostrophes s' c' y' are ш ч у, the 2018 ý is у when the name shows that alphabet by a q,
   ǵ, ń or ı), and a few spellings that English and Russian renderings of names disagree on are
   folded (``PRE_FOLDS``, ``POST_FOLDS``): th → t (Thomas, Томас), wh → w, a word-initial u before a
   vowel → v (William, Уильям; Walikhan, Уәлиханов, Valikhanov), a word-initial ye/ie → e (Yerlan,
   Ерлан, Erlan) and ye after a vowel → e (Kuanyshbayev, Куанышбаев).
3. **Case endings** are not lemmatised (unknown names have no dictionary
   entry): ``stems`` gives the key with the Russian and Kazakh case endings a
   name can carry taken off (Жанаозене, Жаңаөзенде, Ақтауға), and a surface
   form matches a name when the name's key is among them.
"""

from __future__ import annotations

import re
import unicodedata

CYRILLIC = {
    "а": "a", "ә": "a", "б": "b", "в": "v", "г": "g", "ғ": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh",
    "з": "z", "и": "i", "й": "i", "і": "i", "к": "k", "қ": "k", "л": "l", "м": "m", "н": "n", "ң": "n",
    "о": "o", "ө": "o", "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ұ": "u", "ү": "u", "ф": "f",
    "х": "kh", "һ": "h", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y", "ь": "",
    "э": "e", "ю": "yu", "я": "ya",
}  # fmt: skip
"""Cyrillic letters (Russian and Kazakh) to Latin: one documented scheme, lower case."""

LATIN = {
    "š": "sh", "ş": "sh", "č": "ch", "ć": "ch", "ç": "ch", "ž": "zh", "ğ": "g", "ı": "i", "ñ": "ng", "ł": "l",
    "ū": "u",
}  # fmt: skip
"""Latin letters whose accent changes the sound (Slavic, Turkish, Kazakh Latin 2021: Jañaözen);
every other accent is dropped."""

KAZAKH_2017 = {"s": "ş", "c": "ç", "y": "u"}
"""Kazakh Latin 2017 letters written with an apostrophe whose sound is not the bare letter's: s' is ш,
c' is ч, y' is у. The other apostrophe letters (a' o' u' g' n' i': ә ө ү ғ ң і) fold like the bare
letter, so their apostrophe is simply dropped."""

_APOSTROPHES = "'’ʼ`´"
_A = f"[{_APOSTROPHES}]"
_KAZAKH_2017_SIGN = re.compile(rf"(?<=[a-z])[aeiouy]{_A}|(?<![a-z])[scy]{_A}|q.*{_A}|{_A}.*q")
"""What shows the 2017 alphabet: a vowel with an apostrophe inside a word (Ja'n'ao'zen, O'mi'rzaq), an
s' c' y' starting a word (S'ymkent), or an apostrophe in a name with a q (Qazaqs'a). A Russian soft
sign (Vasil'ev, Ust'-Kamenogorsk) never follows a vowel nor starts a word, and Russian has no q; an
Irish O' starts a word."""
_KAZAKH_2017_LETTER = re.compile(rf"([scy]){_A}")
_KAZAKH_2018_SIGN = re.compile(r"[qǵńı]")
"""Letters that show a name is in the 2018 alphabet, where ý is у: Czech and Slovak, whose ý is a
long i (Dlouhý, Táborský), have none of them, nor does Turkmen (whose ý is й)."""

PRE_FOLDS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"wh"), "w"),
    (re.compile(r"(?<![a-z])u(?=[aeio])"), "v"),
    (re.compile(r"(?<![a-z])[yi]e"), "e"),
)
"""Spellings folded on the transliterated words, before anything else (word starts still visible)."""

POST_FOLDS: tuple[tuple[re.Pattern[str], str], ...] = ((re.compile(r"([aeou])ie"), r"\1e"),)
"""Spellings folded on the key after ``FOLDS``: ye (now ie) after a vowel is e."""

FOLDS: tuple[tuple[str, str], ...] = (
    ("shch", "$"),
    ("sch", "$"),
    ("sh", "$"),
    ("ch", "%"),
    ("ck", "k"),
    ("ci", "si"),
    ("ce", "se"),
    ("cy", "si"),
    ("c", "k"),
    ("dzh", "j"),
    ("dj", "j"),
    ("zh", "j"),
    ("kh", "k"),
    ("gh", "g"),
    ("gg", "g"),
    ("th", "t"),
    ("h", "k"),
    ("x", "ks"),
    ("q", "k"),
    ("ng", "n"),
    ("ts", "c"),
    ("tz", "c"),
    ("w", "v"),
    ("ph", "f"),
    ("y", "i"),
    ("aia", "a"),
    ("$", "sh"),
    ("%", "ch"),
)
"""Spelling variants folded together, in this order (the key of every variant is the same)."""

ENDINGS = (
    # Kazakh case endings (after transliteration and folding), longest first: locative, dative,
    # ablative, genitive, accusative, instrumental.
    "dagi", "degi", "tagi", "tegi", "ndagi", "ndegi",
    "nan", "nen", "dan", "den", "tan", "ten",
    "nin", "din", "tin",
    "men", "ben", "pen",
    "ga", "ge", "ka", "ke", "na", "ne",
    "da", "de", "ta", "te",
    "ni", "di", "ti",
    # Russian case endings of place and person names.
    "ami", "iami", "akh", "iakh", "om", "em", "oi", "ei", "ogo", "ego", "omu", "emu",
    "a", "ia", "u", "iu", "e", "i",
)  # fmt: skip
"""Case endings taken off a surface form, as keys (so one list serves Cyrillic and Latin text)."""

MIN_STEM = 4
"""A stem shorter than this is no name: taking an ending off a short word must not leave a key that
matches everything."""

_NOT_LETTER = re.compile(r"[^a-z]+")


def transliterate(text: str) -> str:
    """Cyrillic letters to Latin by ``CYRILLIC``; Latin letters lose their accents; lower case."""
    if text.isascii():  # most names in English text: nothing to transliterate or strip
        return text.lower()
    out = []
    for ch in unicodedata.normalize("NFC", text.lower()):
        if ch in CYRILLIC:
            out.append(CYRILLIC[ch])
        elif ch in LATIN:
            out.append(LATIN[ch])
        else:
            decomposed = unicodedata.normalize("NFKD", ch)
            out.append("".join(c for c in decomposed if not unicodedata.combining(c)))
    return "".join(out)


def kazakh_latin(text: str, context: str | None = None) -> str:
    """``text`` (lower case) with the 2017 and 2018 Kazakh Latin letters written as in the 2021 alphabet.

    Only where the name shows that alphabet (see ``_KAZAKH_2017_SIGN`` and ``_KAZAKH_2018_SIGN``): an
    apostrophe or a ý means something else in Russian, Irish, Czech or Turkmen spellings. The signs are
    looked for in ``context`` (lower case) when given: a whole name tells more than one of its words
    (Tóleýov alone could be Czech; in "Tóleýov Baýyrjan Ǵalymjanuly" it cannot)."""
    where = text if context is None else context
    if any(a in text for a in _APOSTROPHES) and _KAZAKH_2017_SIGN.search(where):
        text = _KAZAKH_2017_LETTER.sub(lambda m: KAZAKH_2017[m.group(1)], text)
    if "ý" in text and _KAZAKH_2018_SIGN.search(where):
        text = text.replace("ý", "u")
    return text


_DOUBLE = re.compile(r"(.)\1+")


def _folded(name: str) -> str:
    """``fold`` without writing doubled letters once (endings are taken off before that)."""
    text = name.lower()
    if not text.isascii() or "'" in text:
        text = kazakh_latin(unicodedata.normalize("NFC", text))
    text = transliterate(text)
    for pattern, repl in PRE_FOLDS:
        text = pattern.sub(repl, text)
    key = _NOT_LETTER.sub("", text)  # before the folds: "$" and "%" are placeholders
    for old, new in FOLDS:
        key = key.replace(old, new)
    for pattern, repl in POST_FOLDS:
        key = pattern.sub(repl, key)
    return key


def fold(name: str) -> str:
    """The spelling-blind key of a name (any script): letters only, variants folded, doubles single."""
    return _DOUBLE.sub(r"\1", _folded(name))


_ENDING_KEYS = sorted({_folded(e) for e in ENDINGS}, key=len, reverse=True)


def stems(word: str) -> list[str]:
    """The key of ``word`` and the keys left when a case ending is taken off it (longest first).

    Endings come off before doubled letters are written once, so the ending of Жаңаөзеннің
    (-нің after a final н) leaves Жаңаөзен, not Жаңаөзе."""
    raw = _folded(word)
    out = [_DOUBLE.sub(r"\1", raw)]
    for ending in _ENDING_KEYS:
        if raw.endswith(ending) and len(raw) - len(ending) >= MIN_STEM:
            stem = _DOUBLE.sub(r"\1", raw[: -len(ending)])
            if stem not in out:
                out.append(stem)
    return out


def same_name(surface: str, name: str) -> bool:
    """Whether ``surface`` (a word as it stands in a text, maybe with a case ending) is ``name``."""
    target = fold(name)
    return bool(target) and target in stems(surface)
