"""Strings of the public submission page in English, Russian and Kazakh.

The submission page is the only page a witness sees, so it is the one that
speaks their language. The team's pages are in English for now.
"""

from __future__ import annotations

LANGUAGES = {"en": "English", "ru": "Русский", "kk": "Қазақша"}
DEFAULT = "en"

STRINGS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Submit a testimony",
        "intro": "Tell us what you saw or experienced. You do not have to give your name.",
        "testimony": "Your testimony",
        "files": "Photos, videos or documents (optional)",
        "contact_legend": "How we can reach you (optional, encrypted on arrival)",
        "name": "Name",
        "phone": "Phone",
        "contact": "Other contact (messenger, e-mail)",
        "submit": "Send",
        "thanks": "Thank you. Your submission was received.",
        "receipt": "Your receipt. Keep it somewhere safe: with it you can later check that your submission is in the case's published log.",
        "entry": "Custody log entry",
        "digest": "SHA-256 digest",
        "again": "Send another",
        "empty": "Please write a testimony or attach a file.",
        "too_large": "The upload is too large.",
        "safety": "Do not send this from a device that others check. Nothing on this page is loaded from other sites.",
        "uploading": "Uploading",
        "resume": "The connection dropped; the upload will resume where it stopped.",
    },
    "ru": {
        "title": "Отправить свидетельство",
        "intro": "Расскажите, что вы видели или пережили. Называть своё имя не обязательно.",
        "testimony": "Ваше свидетельство",
        "files": "Фотографии, видео или документы (по желанию)",
        "contact_legend": "Как с вами связаться (по желанию, шифруется при получении)",
        "name": "Имя",
        "phone": "Телефон",
        "contact": "Другой контакт (мессенджер, эл. почта)",
        "submit": "Отправить",
        "thanks": "Спасибо. Ваше сообщение получено.",
        "receipt": "Ваша квитанция. Сохраните её в надёжном месте: по ней вы сможете проверить, что ваше сообщение есть в опубликованном журнале дела.",
        "entry": "Запись в журнале хранения",
        "digest": "Хеш SHA-256",
        "again": "Отправить ещё",
        "empty": "Напишите свидетельство или приложите файл.",
        "too_large": "Файл слишком большой.",
        "safety": "Не отправляйте с устройства, которое проверяют другие. Эта страница ничего не загружает с других сайтов.",
        "uploading": "Загрузка",
        "resume": "Связь прервалась; загрузка продолжится с того же места.",
    },
    "kk": {
        "title": "Куәлік жіберу",
        "intro": "Не көргеніңізді немесе басыңыздан не өткенін айтыңыз. Атыңызды айту міндетті емес.",
        "testimony": "Сіздің куәлігіңіз",
        "files": "Фотосуреттер, бейнелер немесе құжаттар (қаласаңыз)",
        "contact_legend": "Сізбен қалай байланысуға болады (қаласаңыз, келген кезде шифрланады)",
        "name": "Аты-жөні",
        "phone": "Телефон",
        "contact": "Басқа байланыс (мессенджер, эл. пошта)",
        "submit": "Жіберу",
        "thanks": "Рахмет. Сіздің хабарламаңыз алынды.",
        "receipt": "Сіздің түбіртегіңіз. Оны қауіпсіз жерде сақтаңыз: ол арқылы хабарламаңыздың істің жарияланған журналында бар екенін кейін тексере аласыз.",
        "entry": "Сақтау журналындағы жазба",
        "digest": "SHA-256 хеші",
        "again": "Тағы жіберу",
        "empty": "Куәлік жазыңыз немесе файл тіркеңіз.",
        "too_large": "Файл тым үлкен.",
        "safety": "Басқалар тексеретін құрылғыдан жібермеңіз. Бұл бет басқа сайттардан ештеңе жүктемейді.",
        "uploading": "Жүктелуде",
        "resume": "Байланыс үзілді; жүктеу тоқтаған жерінен жалғасады.",
    },
}


def pick(requested: str | None, accept_language: str | None) -> str:
    """The language asked for in the URL, else the browser's first known one, else English."""
    if requested in STRINGS:
        return requested
    for part in (accept_language or "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in STRINGS:
            return code
    return DEFAULT
