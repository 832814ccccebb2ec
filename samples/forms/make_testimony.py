"""Writes the sample testimony form: the XLSForm ``testimony.xlsx`` and the XForm ``testimony.xml`` pyxform makes of it.

Investigators edit forms as XLSForms (a spreadsheet: one row per question, one
label column per language); ODK Collect reads XForms. Keeping this script next
to both files shows how one was made from the other, so a changed form is
made the same way: ``.venv/bin/python samples/forms/make_testimony.py``.

The form asks what happened, when and where, what the witness saw or heard,
for a photo, video or audio recording, and (optionally, marked as sensitive)
how to reach the witness, after the witness's consent; labels in English,
Russian and Kazakh.
"""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from pyxform.xls2xform import convert

HERE = Path(__file__).resolve().parent
LANGS = ("English (en)", "Russian (ru)", "Kazakh (kk)")

# type, name, (label en, ru, kk), (hint en, ru, kk) or None, required, relevant
SURVEY: list[tuple[str, str, tuple[str, str, str] | None, tuple[str, str, str] | None, str, str]] = [
    ("start", "start", None, None, "", ""),
    ("end", "end", None, None, "", ""),
    (
        "select_one yes_no",
        "consent",
        (
            "Do you agree that the commission keeps and uses what you tell here?",
            "Согласны ли вы, чтобы комиссия сохранила и использовала то, что вы здесь расскажете?",
            "Осында айтқаныңызды комиссияның сақтауына және пайдалануына келісесіз бе?",
        ),
        None,
        "yes",
        "",
    ),
    (
        "text",
        "what_happened",
        ("What happened?", "Что произошло?", "Не болды?"),
        None,
        "yes",
        "${consent} = 'yes'",
    ),
    (
        "dateTime",
        "when",
        ("When did it happen?", "Когда это произошло?", "Бұл қашан болды?"),
        None,
        "",
        "${consent} = 'yes'",
    ),
    (
        "text",
        "where",
        ("Where did it happen?", "Где это произошло?", "Бұл қай жерде болды?"),
        ("A street, a building, a landmark.", "Улица, здание, ориентир.", "Көше, ғимарат, белгілі орын."),
        "",
        "${consent} = 'yes'",
    ),
    (
        "geopoint",
        "location",
        ("The place on the map (optional)", "Место на карте (необязательно)", "Картадағы орны (міндетті емес)"),
        None,
        "",
        "${consent} = 'yes'",
    ),
    (
        "text",
        "saw_heard",
        (
            "What did you see or hear yourself?",
            "Что вы сами видели или слышали?",
            "Өзіңіз не көрдіңіз немесе естідіңіз?",
        ),
        None,
        "",
        "${consent} = 'yes'",
    ),
    ("image", "photo", ("A photo", "Фотография", "Фотосурет"), None, "", "${consent} = 'yes'"),
    ("video", "video", ("A video", "Видео", "Бейне"), None, "", "${consent} = 'yes'"),
    ("audio", "audio", ("An audio recording", "Аудиозапись", "Аудиожазба"), None, "", "${consent} = 'yes'"),
    (
        "text",
        "contact",
        (
            "How can we reach you? (optional)",
            "Как с вами связаться? (необязательно)",
            "Сізбен қалай байланысуға болады? (міндетті емес)",
        ),
        (
            "Sensitive: leave empty if you are not sure it is safe; the team can send you an encrypted form.",
            "Конфиденциально: оставьте пустым, если не уверены, что это безопасно; команда может прислать"
            " зашифрованную форму.",
            "Құпия: қауіпсіз екеніне сенімді болмасаңыз, бос қалдырыңыз; топ сізге шифрланған форма жібере алады.",
        ),
        "",
        "${consent} = 'yes'",
    ),
]
CHOICES = [
    ("yes_no", "yes", ("Yes", "Да", "Иә")),
    ("yes_no", "no", ("No", "Нет", "Жоқ")),
]
SETTINGS = {"form_title": "Testimony", "form_id": "testimony", "version": "2024010101", "default_language": LANGS[0]}


def workbook() -> Workbook:
    """The XLSForm: survey, choices and settings sheets, as the XLSForm specification lays them out."""
    wb = Workbook()
    survey = wb.active
    assert survey is not None
    survey.title = "survey"
    survey.append(
        [
            "type",
            "name",
            *(f"label::{lang}" for lang in LANGS),
            *(f"hint::{lang}" for lang in LANGS),
            "required",
            "relevant",
        ]
    )
    for kind, name, label, hint, required, relevant in SURVEY:
        survey.append([kind, name, *(label or ("", "", "")), *(hint or ("", "", "")), required, relevant])
    choices = wb.create_sheet("choices")
    choices.append(["list_name", "name", *(f"label::{lang}" for lang in LANGS)])
    for list_name, name, label in CHOICES:
        choices.append([list_name, name, *label])
    settings = wb.create_sheet("settings")
    settings.append(list(SETTINGS))
    settings.append(list(SETTINGS.values()))
    return wb


def main() -> None:
    xlsx = HERE / "testimony.xlsx"
    workbook().save(xlsx)
    result = convert(xlsform=str(xlsx), pretty_print=True)
    (HERE / "testimony.xml").write_text(result.xform, encoding="utf-8")
    for warning in result.warnings:
        print("pyxform:", warning)


if __name__ == "__main__":
    main()
