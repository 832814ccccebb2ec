"""Strings of the public submission page, the claims pages and the findings pages in English, Russian and Kazakh.

The submission page is the only page a witness sees, so it is the one that
speaks their language. Of the team's pages, the claims read from texts (the
item page's claims section, ``/claims`` and the nav link to it) and the findings
(``/incidents``, ``/counts``, ``/timeline``, ``/map`` and their nav links) are in
the three languages, picked like the submission page's (``?lang=``, else the
browser's languages): a commission's members read the findings in their own
language. The rest is in English for now, and so is the case report, which is
made for an international readership.
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


_CLAIMS: dict[str, tuple[str, str, str]] = {
    # key: (English, Russian, Kazakh)
    "lang": ("en", "ru", "kk"),
    "nav_claims": ("Claims", "Утверждения", "Мәлімдемелер"),
    "claims": ("Claims", "Утверждения", "Мәлімдемелер"),
    "claims_title": ("Claims across the case", "Утверждения по делу", "Іс бойынша мәлімдемелер"),
    "claims_note": (
        "Statements read from the texts of the case, each tied to its exact words. They are leads to check, "
        "not facts: analysts confirm, correct or reject them, and every decision is a custody log entry.",
        "Утверждения, извлечённые из текстов дела; каждое привязано к своим точным словам. Это сведения для "
        "проверки, а не факты: аналитики подтверждают, исправляют или отклоняют их, и каждое решение "
        "записывается в журнал хранения.",
        "Іс мәтіндерінен алынған мәлімдемелер, әрқайсысы өзінің нақты сөздеріне байланған. Бұлар тексерілетін "
        "мәліметтер, факт емес: талдаушылар оларды растайды, түзетеді немесе қабылдамайды, әр шешім сақтау "
        "журналына жазылады.",
    ),
    "only_published": (
        "Only the claims of published items are shown.",
        "Показаны только утверждения из опубликованных материалов.",
        "Тек жарияланған материалдардың мәлімдемелері көрсетілген.",
    ),
    "reading": (
        "Read by extractor version {version} as {lang}; relative dates read against {published}.",
        "Прочитано извлекателем версии {version} как текст на языке {lang}; относительные даты отсчитаны от "
        "{published}.",
        "Шығарғыштың {version} нұсқасымен {lang} тіліндегі мәтін ретінде оқылды; салыстырмалы күндер "
        "{published} күнінен есептелді.",
    ),
    "stale": (
        "Read by extractor version {old}; this server's is {new}. The text is read again by "
        "factfinder process; until then only analysts' claims are listed.",
        "Прочитано извлекателем версии {old}, а на сервере версия {new}. Текст будет прочитан заново командой "
        "factfinder process; до тех пор показаны только утверждения аналитиков.",
        "Шығарғыштың {old} нұсқасымен оқылған, ал серверде {new} нұсқасы. Мәтін factfinder process "
        "командасымен қайта оқылады; оған дейін тек талдаушылардың мәлімдемелері көрсетіледі.",
    ),
    "not_read": (
        "This text has not been read for claims yet: the text step runs shortly after a text arrives, "
        "or with factfinder process.",
        "Этот текст ещё не прочитан: текстовый шаг выполняется вскоре после поступления текста "
        "или командой factfinder process.",
        "Бұл мәтін әлі оқылмаған: мәтін қадамы мәтін келгеннен кейін көп ұзамай немесе factfinder process "
        "командасымен орындалады.",
    ),
    "read_error": (
        "The text could not be read: {error}",
        "Не удалось прочитать текст: {error}",
        "Мәтінді оқу мүмкін болмады: {error}",
    ),
    "no_claims": (
        "No claims were found in this text.",
        "В этом тексте утверждений не найдено.",
        "Бұл мәтінде мәлімдеме табылмады.",
    ),
    "text_cut": (
        "Only the first {n} characters are shown, with their claims highlighted; the table lists every claim.",
        "Показаны только первые {n} символов с выделенными утверждениями; в таблице перечислены все утверждения.",
        "Тек алғашқы {n} таңба белгіленген мәлімдемелерімен көрсетілген; кестеде барлық мәлімдеме бар.",
    ),
    "legend": ("Highlighted in the text:", "Выделено в тексте:", "Мәтінде белгіленгені:"),
    "col_item": ("Item", "Материал", "Материал"),
    "col_kind": ("Kind", "Вид", "Түрі"),
    "col_quote": ("Words", "Слова", "Сөздер"),
    "col_says": ("What it says", "Что утверждается", "Не айтылады"),
    "col_stance": ("How it is said", "Как сказано", "Қалай айтылған"),
    "col_review": ("Review", "Проверка", "Тексеру"),
    "kind_count": ("count", "число", "сан"),
    "kind_place": ("place", "место", "орын"),
    "kind_date": ("date", "дата", "күн"),
    "kind_actor": ("actor", "участник", "қатысушы"),
    "kind_event": ("event", "событие", "оқиға"),
    "what_killed": ("killed", "погибшие", "қаза тапқандар"),
    "what_injured": ("injured", "раненые", "жараланғандар"),
    "what_detained": ("detained or arrested", "задержанные или арестованные", "ұсталғандар немесе қамалғандар"),
    "what_missing": ("missing", "пропавшие без вести", "хабарсыз кеткендер"),
    "what_crowd": ("protesters or crowd", "протестующие или толпа", "наразылық білдірушілер немесе жиын"),
    "what_police": ("police", "полиция", "полиция"),
    "what_days": ("days", "дни", "күндер"),
    "q_exact": ("exactly", "ровно", "дәл"),
    "q_at_least": ("at least", "не менее", "кемінде"),
    "q_at_most": ("at most", "не более", "ең көбі"),
    "q_about": ("about", "около", "шамамен"),
    "q_range": ("between", "в пределах", "аралығында"),
    "q_vague": ("a vague word, read as", "неопределённое слово, считается как", "нақты емес сөз, есептелгені"),
    "geo_1": ("the town itself", "сам населённый пункт", "елді мекеннің өзі"),
    "geo_2": (
        "near a town or part of a region",
        "около населённого пункта или часть региона",
        "елді мекен маңы немесе өңірдің бір бөлігі",
    ),
    "geo_3": ("only the region", "только регион", "тек өңір"),
    "time_1": ("the day is known", "известен день", "күні белгілі"),
    "time_2": (
        "within a week or a few days",
        "в пределах недели или нескольких дней",
        "бір апта немесе бірнеше күн ішінде",
    ),
    "time_3": ("only the month, or less", "только месяц или менее точно", "тек айы немесе одан да дәлсіз"),
    "rel_on": ("on", "в день", "күні"),
    "rel_range": ("from … to", "с … по", "… бастап … дейін"),
    "rel_until": ("until", "до", "дейін"),
    "rel_since": ("since", "с", "бастап"),
    "rel_before": ("before", "раньше", "бұрын"),
    "rel_after": ("after", "после", "кейін"),
    "inter_1": ("state forces", "силы государства", "мемлекет күштері"),
    "inter_2": ("rebels", "повстанцы", "көтерілісшілер"),
    "inter_3": ("political militias", "политические ополчения", "саяси жасақтар"),
    "inter_4": ("identity militias", "общинные ополчения", "қауымдық жасақтар"),
    "inter_5": ("rioters", "участники беспорядков", "тәртіпсіздікке қатысушылар"),
    "inter_6": ("protesters", "протестующие", "наразылық білдірушілер"),
    "inter_7": ("civilians", "мирные жители", "бейбіт тұрғындар"),
    "inter_8": ("external or other forces", "внешние или иные силы", "сыртқы немесе басқа күштер"),
    "role_group": ("group", "группа", "топ"),
    "role_organisation": ("organisation", "организация", "ұйым"),
    "role_person": ("person", "человек", "адам"),
    "fatalities_n": ("fatalities: {n}", "погибших: {n}", "қаза тапқандар: {n}"),
    "own": ("the text's own statement", "утверждение самого текста", "мәтіннің өз мәлімдемесі"),
    "reported": ("reported speech", "чужая речь", "басқаның сөзі"),
    "reported_by": ("reported by {source}", "со слов: {source}", "дереккөзі: {source}"),
    "hedged": ("hedged (reportedly, allegedly)", "с оговоркой (якобы, по сообщениям)", "болжалды (мәлімет бойынша)"),
    "negated": ("negated", "с отрицанием", "терістелген"),
    "future": ("about the future", "о будущем", "болашақ туралы"),
    "state_unreviewed": ("not reviewed", "не проверено", "тексерілмеген"),
    "state_confirmed": ("confirmed", "подтверждено", "расталды"),
    "state_corrected": ("corrected", "исправлено", "түзетілді"),
    "state_rejected": ("rejected", "отклонено", "қабылданбады"),
    "by": ("by {name}, {when}", "проверил(а) {name}, {when}", "тексерген {name}, {when}"),
    "reason": ("Reason", "Причина", "Себебі"),
    "reason_optional": ("Reason (optional)", "Причина (необязательно)", "Себебі (міндетті емес)"),
    "confirm": ("Confirm", "Подтвердить", "Растау"),
    "reject": ("Reject", "Отклонить", "Қабылдамау"),
    "correct": ("Correct", "Исправить", "Түзету"),
    "save_correction": ("Save the correction", "Сохранить исправление", "Түзетуді сақтау"),
    "correction_note": (
        "The correction is a new claim under your name, beside the extractor's, which stays as it was. "
        "The decision is recorded in the custody log.",
        "Исправление — новое утверждение от вашего имени рядом с утверждением извлекателя, которое остаётся "
        "как было. Решение записывается в журнал хранения.",
        "Түзету — шығарғыштың мәлімдемесінің жанындағы сіздің атыңыздан жаңа мәлімдеме, ал шығарғыштікі "
        "өзгеріссіз қалады. Шешім сақтау журналына жазылады.",
    ),
    "correction_of": ("correction of claim #{id}", "исправление утверждения № {id}", "№ {id} мәлімдеменің түзетуі"),
    "correction_by": ("by {name}", "автор: {name}", "авторы: {name}"),
    "corrected_see": ("replaced by claim #{id}", "заменено утверждением № {id}", "№ {id} мәлімдемемен ауыстырылды"),
    "recorded": (
        "Claim #{id}: {decision}. The decision is in the custody log (entry {entry}).",
        "Утверждение № {id}: {decision}. Решение записано в журнал хранения (запись {entry}).",
        "№ {id} мәлімдеме: {decision}. Шешім сақтау журналына жазылды ({entry}-жазба).",
    ),
    "review_error": (
        "The decision was not recorded: {error}",
        "Решение не записано: {error}",
        "Шешім жазылмады: {error}",
    ),
    "earlier": ("Earlier decisions", "Прежние решения", "Бұрынғы шешімдер"),
    "in_text": ("show in the text", "показать в тексте", "мәтінде көрсету"),
    "claim_n": ("Claim #{id}", "Утверждение № {id}", "№ {id} мәлімдеме"),
    "filter": ("Filter", "Отобрать", "Сүзу"),
    "any": ("any", "любое", "кез келген"),
    "f_event_type": ("Event type", "Тип события", "Оқиға түрі"),
    "f_what": ("What was counted", "Что подсчитано", "Не саналды"),
    "f_decision": ("Review state", "Состояние проверки", "Тексеру күйі"),
    "f_q": ("Words contain", "Слова содержат", "Сөздерде бар"),
    "found": ("Claims found: {n}", "Найдено утверждений: {n}", "Табылған мәлімдемелер: {n}"),
    "none_match": ("No claims match.", "Подходящих утверждений нет.", "Сәйкес мәлімдеме жоқ."),
    "page_of": ("Page {page} of {pages}", "Страница {page} из {pages}", "{pages} беттің {page}-беті"),
    "previous": ("Previous", "Назад", "Алдыңғы"),
    "next": ("Next", "Вперёд", "Келесі"),
    "field_low": ("Lowest figure", "Нижняя граница", "Төменгі шегі"),
    "field_high": (
        "Highest figure (empty: no upper bound)",
        "Верхняя граница (пусто — нет)",
        "Жоғарғы шегі (бос — жоқ)",
    ),
    "field_qualifier": ("How the figure is given", "Как дано число", "Сан қалай берілген"),
    "field_source": ("Who is said to have said it", "Чьи это слова, по тексту", "Мәтін бойынша кімнің сөзі"),
    "field_name": ("Place name", "Название места", "Жер атауы"),
    "field_geonameid": ("GeoNames id", "Номер GeoNames", "GeoNames нөмірі"),
    "field_latitude": ("Latitude", "Широта", "Ендік"),
    "field_longitude": ("Longitude", "Долгота", "Бойлық"),
    "field_admin1": ("Region (admin1)", "Регион (admin1)", "Өңір (admin1)"),
    "field_country": ("Country (ISO code)", "Страна (код ISO)", "Ел (ISO коды)"),
    "field_precision": ("Precision (ACLED)", "Точность (ACLED)", "Дәлдігі (ACLED)"),
    "field_earliest": ("Earliest day", "Самый ранний день", "Ең ерте күн"),
    "field_latest": ("Latest day", "Самый поздний день", "Ең кеш күн"),
    "field_relation": ("How the text puts it", "Как сказано в тексте", "Мәтінде қалай айтылған"),
    "field_actor": ("Actor", "Участник", "Қатысушы"),
    "field_acled_type": ("ACLED actor type", "Тип участника ACLED", "ACLED қатысушы түрі"),
    "field_role": ("Kind of actor", "Вид участника", "Қатысушы түрі"),
    "field_sub_event_type": ("Sub-event type", "Подтип события", "Оқиға кіші түрі"),
    "field_fatalities": (
        "Fatalities (empty: none stated)",
        "Погибшие (пусто — не указано)",
        "Қаза тапқандар (бос — айтылмаған)",
    ),
}
"""The claims pages' strings, one tuple per key so that no language can lack one."""

CLAIM_STRINGS: dict[str, dict[str, str]] = {
    code: {key: texts[i] for key, texts in _CLAIMS.items()} for i, code in enumerate(LANGUAGES)
}


def claim_strings(requested: str | None, accept_language: str | None) -> dict[str, str]:
    """The claims pages' strings in the language asked for in the URL, else the browser's, else English."""
    return CLAIM_STRINGS[pick(requested, accept_language)]


_FINDINGS: dict[str, tuple[str, str, str]] = {
    # key: (English, Russian, Kazakh)
    "lang": ("en", "ru", "kk"),
    "nav_incidents": ("Incidents", "Инциденты", "Оқиғалар"),
    "nav_counts": ("Counts", "Подсчёты", "Сандар"),
    "nav_timeline": ("Timeline", "Хронология", "Хронология"),
    "nav_map": ("Map", "Карта", "Карта"),
    "nav_report": ("Report", "Отчёт", "Есеп"),
    "nav_register": ("Register", "Реестр", "Тізілім"),  # the person register (its pages are in English for now)
    # the list of incidents
    "incidents_title": ("Incidents", "Инциденты", "Оқиғалар"),
    "incidents_note": (
        "Reports of one event grouped by place, time and type, then shaped by analysts' decisions. They are "
        "made from the claims read from the case's texts, and made again whenever a claim or a decision changes.",
        "Сообщения об одном событии, сгруппированные по месту, времени и типу, с учётом решений аналитиков. "
        "Они составляются из утверждений, прочитанных в текстах дела, и пересчитываются при каждом изменении "
        "утверждения или решения.",
        "Бір оқиға туралы хабарлар орны, уақыты және түрі бойынша топталып, талдаушылардың шешімдерімен "
        "қалыптасады. Олар іс мәтіндерінен оқылған мәлімдемелерден құралады және мәлімдеме не шешім өзгерген "
        "сайын қайта есептеледі.",
    ),
    "only_published": (
        "Made from published items only, and redacted for publication: witnesses are named by pseudonyms.",
        "Составлено только по опубликованным материалам и обезличено для публикации: свидетели названы псевдонимами.",
        "Тек жарияланған материалдар бойынша жасалған және жариялау үшін иесіздендірілген: куәгерлер бүркеншік "
        "атпен аталған.",
    ),
    "checkpoint": (
        "Made at custody log checkpoint {size}, from {claims} claims.",
        "Составлено на контрольной точке журнала хранения {size} по {claims} утверждениям.",
        "Сақтау журналының {size} бақылау нүктесінде {claims} мәлімдеме бойынша жасалған.",
    ),
    "col_ref": ("Ref", "Номер", "Нөмірі"),
    "col_incident": ("Incident", "Инцидент", "Оқиға"),
    "col_when": ("When", "Когда", "Қашан"),
    "col_where": ("Where", "Где", "Қайда"),
    "col_type": ("Type", "Тип", "Түрі"),
    "col_fatalities": ("Fatalities (conservative)", "Погибшие (осторожная оценка)", "Қаза тапқандар (сақ бағалау)"),
    "col_corroboration": ("Corroboration", "Подтверждённость", "Расталуы"),
    "f_event_type": ("Event type", "Тип события", "Оқиға түрі"),
    "f_level": ("Corroboration", "Подтверждённость", "Расталуы"),
    "f_q": ("Words contain", "Слова содержат", "Сөздерде бар"),
    "filter": ("Filter", "Отобрать", "Сүзу"),
    "any": ("any", "любое", "кез келген"),
    "found": ("Incidents found: {n}", "Найдено инцидентов: {n}", "Табылған оқиғалар: {n}"),
    "none_match": ("No incidents match.", "Подходящих инцидентов нет.", "Сәйкес оқиға жоқ."),
    "no_incidents": (
        "No incidents yet: they are made from the events, places, dates and figures read from the case's texts.",
        "Инцидентов пока нет: они составляются из событий, мест, дат и чисел, прочитанных в текстах дела.",
        "Әзірге оқиға жоқ: олар іс мәтіндерінен оқылған оқиғалардан, орындардан, күндерден және сандардан құралады.",
    ),
    "also_called": ("also called: {types}", "также называют: {types}", "басқаша аталуы: {types}"),
    "sources_n": ("sources: {n}", "источников: {n}", "дереккөздер: {n}"),
    "no_type": ("no type given", "тип не указан", "түрі көрсетілмеген"),
    "report_links": ("The case report:", "Отчёт по делу:", "Іс бойынша есеп:"),
    "report_full": ("full", "полный", "толық"),
    "report_redacted": (
        "for publication (redacted)",
        "для публикации (обезличенный)",
        "жариялауға арналған (иесіздендірілген)",
    ),
    "report_note": (
        "The report is in English, with every statement citing its evidence.",
        "Отчёт составляется на английском языке; каждое утверждение в нём ссылается на доказательства.",
        "Есеп ағылшын тілінде жасалады; ондағы әр тұжырым өз дәлеліне сілтейді.",
    ),
    # corroboration levels and source types (factfinder.findings.model)
    "level_contradicted": ("contradicted", "опровергается", "терістеледі"),
    "level_confirmed": (
        "confirmed by documentary or forensic evidence",
        "подтверждено документами или судебно-медицинскими данными",
        "құжаттармен немесе сот-медициналық деректермен расталған",
    ),
    "level_multiple": ("multiple independent sources", "несколько независимых источников", "бірнеше тәуелсіз дереккөз"),
    "level_single": ("single source", "единственный источник", "жалғыз дереккөз"),
    "st_official": ("official", "официальный", "ресми"),
    "st_media": ("independent media", "независимые СМИ", "тәуелсіз БАҚ"),
    "st_ngo": ("NGO", "НКО", "ҮЕҰ"),
    "st_witness": ("witness", "свидетель", "куәгер"),
    "st_hospital": ("hospital / morgue", "больница / морг", "аурухана / мәйітхана"),
    "st_unknown": ("unknown", "неизвестно", "белгісіз"),
    # when and where
    "geo_1": ("the town itself", "сам населённый пункт", "елді мекеннің өзі"),
    "geo_2": (
        "near a town or part of a region",
        "около населённого пункта или часть региона",
        "елді мекен маңы немесе өңірдің бір бөлігі",
    ),
    "geo_3": ("only the region", "только регион", "тек өңір"),
    "time_1": ("the day is known", "известен день", "күні белгілі"),
    "time_2": (
        "within a week or a few days",
        "в пределах недели или нескольких дней",
        "бір апта немесе бірнеше күн ішінде",
    ),
    "time_3": ("only the month, or less", "только месяц или менее точно", "тек айы немесе одан да дәлсіз"),
    "no_place": ("no place named", "место не названо", "орны аталмаған"),
    "apart": (
        "the places its reports name lie up to {km} km apart",
        "места, названные в сообщениях, находятся на расстоянии до {km} км друг от друга",
        "хабарларда аталған жерлер бір-бірінен {km} км-ге дейін қашықтықта",
    ),
    "dates_disagree": (
        "Some reports give other days.",
        "В некоторых сообщениях указаны другие дни.",
        "Кейбір хабарларда басқа күндер көрсетілген.",
    ),
    "coordinates": ("Coordinates", "Координаты", "Координаттары"),
    "actors": ("Actors", "Участники", "Қатысушылар"),
    # figures
    "what_killed": ("killed", "погибшие", "қаза тапқандар"),
    "what_injured": ("injured", "раненые", "жараланғандар"),
    "what_detained": ("detained or arrested", "задержанные или арестованные", "ұсталғандар немесе қамалғандар"),
    "what_missing": ("missing", "пропавшие без вести", "хабарсыз кеткендер"),
    "what_crowd": ("protesters or crowd", "протестующие или толпа", "наразылық білдірушілер немесе жиын"),
    "at_least": ("at least {n}", "не менее {n}", "кемінде {n}"),
    "at_most": ("up to {n}", "до {n}", "{n} дейін"),
    "about": ("about {n}", "около {n}", "шамамен {n}"),
    "q_exact": ("exactly", "ровно", "дәл"),
    "q_at_least": ("at least", "не менее", "кемінде"),
    "q_at_most": ("at most", "не более", "ең көбі"),
    "q_about": ("about", "около", "шамамен"),
    "q_range": ("between", "в пределах", "аралығында"),
    "q_vague": ("a vague word", "неопределённое слово", "нақты емес сөз"),
    "hedged": ("hedged (reportedly, allegedly)", "с оговоркой (якобы, по сообщениям)", "болжалды (мәлімет бойынша)"),
    "repeats": ("repeats claim #{id}", "повторяет утверждение № {id}", "№ {id} мәлімдемені қайталайды"),
    "col_figure": ("Figure", "Число", "Сан"),
    "col_source": ("Source", "Источник", "Дереккөз"),
    "col_source_type": ("Source type", "Тип источника", "Дереккөз түрі"),
    "col_reported": ("Reported on", "Дата сообщения", "Хабарланған күні"),
    "col_qualifier": ("How it is given", "Как дано", "Қалай берілген"),
    "col_quote": ("Words", "Слова", "Сөздер"),
    "col_group": ("Group", "Группа", "Топ"),
    "col_item": ("Item", "Материал", "Материал"),
    "group_note": (
        "Figures of one group come from one source (repeats, reprints, relays): they count once.",
        "Числа одной группы происходят из одного источника (повторы, перепечатки, пересказы) и учитываются один раз.",
        "Бір топтың сандары бір дереккөзден шыққан (қайталау, қайта басу, жеткізу): олар бір рет есептеледі.",
    ),
    "official_history": ("Official figures over time", "Официальные цифры во времени", "Ресми сандардың өзгеруі"),
    "no_official": ("no official figure", "официальных цифр нет", "ресми сан жоқ"),
    "conservative": ("Conservative figure", "Осторожная оценка", "Сақ бағалау"),
    "independent": ("Independent sources' range", "Диапазон независимых источников", "Тәуелсіз дереккөздер ауқымы"),
    "independent_n": (
        "{range} (independent sources: {n})",
        "{range} (независимых источников: {n})",
        "{range} (тәуелсіз дереккөздер: {n})",
    ),
    "no_independent": ("no independent figure", "независимых цифр нет", "тәуелсіз сан жоқ"),
    "disputes": ("Disputes", "Разногласия", "Келіспеушіліктер"),
    "no_figure": ("no figure", "цифры нет", "сан жоқ"),
    # one incident
    "incident_title": ("Incident {ref}", "Инцидент {ref}", "{ref} оқиғасы"),
    "corroboration": ("Corroboration", "Подтверждённость", "Расталуы"),
    "counts": ("Counts", "Подсчёты", "Сандар"),
    "reports": ("Reports", "Сообщения", "Хабарлар"),
    "reports_note": (
        "Each report is an event (or a figure) read from a text, with its place and its days.",
        "Каждое сообщение — событие (или число), прочитанное в тексте, с его местом и днями.",
        "Әр хабар — мәтіннен оқылған оқиға (немесе сан), өз орны мен күндерімен.",
    ),
    "col_move": ("Move", "Перенести", "Көшіру"),
    "move_n": ("Move report #{id}", "Перенести сообщение № {id}", "№ {id} хабарды көшіру"),
    "col_event": ("Event", "Событие", "Оқиға"),
    "col_place": ("Place", "Место", "Орын"),
    "negated": ("denies it", "отрицает", "теріске шығарады"),
    "split": (
        "Split the checked reports into a new incident",
        "Выделить отмеченные сообщения в новый инцидент",
        "Белгіленген хабарларды жаңа оқиғаға бөліп шығару",
    ),
    "merge": (
        "Merge another incident into this one",
        "Присоединить к этому инциденту другой",
        "Осы оқиғаға басқа оқиғаны біріктіру",
    ),
    "merge_other": ("Incident to merge in", "Присоединяемый инцидент", "Біріктірілетін оқиға"),
    "no_other": ("There is no other incident.", "Других инцидентов нет.", "Басқа оқиға жоқ."),
    "attach": (
        "Attach an item or its media cluster as evidence",
        "Прикрепить материал или его медиакластер как доказательство",
        "Материалды немесе оның медиа кластерін дәлел ретінде тіркеу",
    ),
    "attach_item": (
        "Item (the first digits of its SHA-256, at least 4)",
        "Материал (первые цифры его SHA-256, не менее 4)",
        "Материал (SHA-256 хешінің алғашқы цифрлары, кемінде 4)",
    ),
    "attach_cluster": (
        "the whole media cluster (the same picture or footage in other items)",
        "весь медиакластер (тот же снимок или та же запись в других материалах)",
        "бүкіл медиа кластер (басқа материалдардағы сол сурет немесе бейнежазба)",
    ),
    "attached": (
        "Items attached as evidence",
        "Материалы, прикреплённые как доказательства",
        "Дәлел ретінде тіркелген материалдар",
    ),
    "via_item": ("attached by hand", "прикреплён вручную", "қолмен тіркелген"),
    "via_cluster": ("with its media cluster", "вместе с медиакластером", "медиа кластерімен бірге"),
    "no_attached": ("No items attached.", "Прикреплённых материалов нет.", "Тіркелген материал жоқ."),
    "detach_n": ("Detach {sha}", "Открепить {sha}", "{sha} ажырату"),
    "reason_optional": ("Reason (optional)", "Причина (необязательно)", "Себебі (міндетті емес)"),
    "decide_note": (
        "Each decision is a custody log entry under your name; the reports and items themselves never change.",
        "Каждое решение записывается в журнал хранения под вашим именем; сами сообщения и материалы не меняются.",
        "Әр шешім сақтау журналына сіздің атыңызбен жазылады; хабарлар мен материалдардың өзі өзгермейді.",
    ),
    "do_split": ("Split", "Выделить", "Бөлу"),
    "do_merge": ("Merge", "Объединить", "Біріктіру"),
    "do_attach": ("Attach", "Прикрепить", "Тіркеу"),
    "do_detach": ("Detach", "Открепить", "Ажырату"),
    "decisions": ("Decisions that shaped it", "Решения, которые его сформировали", "Оны қалыптастырған шешімдер"),
    "no_decisions": (
        "No analyst has changed this incident: it is as the grouping made it.",
        "Аналитики этот инцидент не меняли: он таков, каким его составила группировка.",
        "Талдаушылар бұл оқиғаны өзгертпеген: ол топтастыру жасағандай.",
    ),
    "col_action": ("Decision", "Решение", "Шешім"),
    "col_actor": ("Who", "Кто", "Кім"),
    "col_at": ("When (vault clock)", "Когда (часы хранилища)", "Қашан (қойма сағаты)"),
    "col_reason": ("Reason", "Причина", "Себебі"),
    "col_log": ("Custody log entry", "Запись журнала хранения", "Сақтау журналының жазбасы"),
    "action_merge": ("merge", "объединение", "біріктіру"),
    "action_split": ("split", "разделение", "бөлу"),
    "action_attach": ("attach", "прикрепление", "тіркеу"),
    "action_detach": ("detach", "открепление", "ажырату"),
    "not_applied": (
        "no longer applies: what it names is gone",
        "больше не действует: того, что в нём названо, уже нет",
        "енді қолданылмайды: онда аталғандар жоқ",
    ),
    "recorded": (
        "Recorded: {action} (custody log entry {entry}).",
        "Записано: {action} (запись журнала хранения {entry}).",
        "Жазылды: {action} (сақтау журналының {entry}-жазбасы).",
    ),
    "new_incident": (
        "The checked reports are now incident {ref}.",
        "Отмеченные сообщения теперь составляют инцидент {ref}.",
        "Белгіленген хабарлар енді {ref} оқиғасы.",
    ),
    "decision_error": (
        "The decision was not recorded: {error}",
        "Решение не записано: {error}",
        "Шешім жазылмады: {error}",
    ),
    # the case's counts
    "counts_title": ("Counts across the case", "Подсчёты по делу", "Іс бойынша сандар"),
    "counts_note": (
        "Every figure every source gives, grouped so that a repeat counts once. The conservative figure follows "
        "ACLED's rule (the most conservative figure when reports conflict); disputes are shown, not resolved.",
        "Все цифры всех источников, сгруппированные так, что повтор учитывается один раз. Осторожная оценка "
        "следует правилу ACLED (самая осторожная цифра при расхождении сообщений); разногласия показаны, а не "
        "сглажены.",
        "Барлық дереккөздің барлық сандары, қайталау бір рет есептелетіндей топталған. Сақ бағалау ACLED "
        "ережесіне сай (хабарлар қайшы келгенде ең сақ сан); келіспеушіліктер жасырылмай көрсетілген.",
    ),
    "no_counts": ("No figures yet.", "Цифр пока нет.", "Әзірге сан жоқ."),
    # the timeline
    "timeline_title": ("Timeline", "Хронология", "Хронология"),
    "timeline_note": (
        "Incidents and the items attached to them, in time: a bar is an interval (the day is not known more "
        "precisely), a dot a single known day.",
        "Инциденты и прикреплённые к ним материалы во времени: полоса — интервал (день точнее неизвестен), "
        "точка — известный день.",
        "Оқиғалар мен оларға тіркелген материалдар уақыт бойынша: жолақ — аралық (күні дәлірек белгісіз), "
        "нүкте — белгілі бір күн.",
    ),
    "col_kind": ("Kind", "Вид", "Түрі"),
    "col_precision": ("Precision", "Точность", "Дәлдігі"),
    "kind_incident": ("incident", "инцидент", "оқиға"),
    "kind_item": ("item", "материал", "материал"),
    "no_timeline": ("Nothing is dated yet.", "Датированных событий пока нет.", "Әзірге күні белгілі ештеңе жоқ."),
    # the map
    "map_title": ("Map", "Карта", "Карта"),
    "map_caption": ("Map of {title}", "Карта: {title}", "Карта: {title}"),
    "map_note": (
        "Drawn here from the borders that come with factfinder: no map tiles, nor anything else, are fetched "
        "from other sites. A marker links to its incident; a shaded circle shows how uncertain its place is.",
        "Карта нарисована здесь по границам, поставляемым с factfinder: ни тайлы, ни что-либо ещё не "
        "загружаются с других сайтов. Метка ведёт на страницу инцидента; закрашенный круг показывает, насколько "
        "неточно известно место.",
        "Карта осында factfinder-пен бірге келетін шекаралар бойынша салынған: басқа сайттардан ешқандай тайл "
        "не басқа ештеңе жүктелмейді. Белгі оқиға бетіне апарады; боялған шеңбер орынның қаншалықты дәл емес "
        "екенін көрсетеді.",
    ),
    "map_items": (
        "Blue markers: where items cited by the findings say they were made (their GPS). They are never shown "
        "to observers nor in the redacted report.",
        "Синие метки: где, по собственным данным GPS, были сделаны материалы, на которые опираются выводы. "
        "Наблюдателям и в обезличенном отчёте они не показываются.",
        "Көк белгілер: тұжырымдар сүйенетін материалдардың өз GPS деректері бойынша түсірілген жері. Олар "
        "бақылаушыларға да, иесіздендірілген есепте де көрсетілмейді.",
    ),
    "map_missing": (
        "Not on the map (no coordinates):",
        "Нет на карте (нет координат):",
        "Картада жоқ (координаттары жоқ):",
    ),
    "map_error": (
        "The map could not be drawn: {error}",
        "Не удалось нарисовать карту: {error}",
        "Картаны салу мүмкін болмады: {error}",
    ),
    "map_empty": (
        "Nothing in the case has coordinates yet.",
        "Пока ни у чего в деле нет координат.",
        "Әзірге істе координаттары бар ештеңе жоқ.",
    ),
    "col_marker": ("On the map", "На карте", "Картада"),
}
"""The findings pages' strings (incidents, counts, timeline, map), one tuple per key so no language lacks one."""

FINDINGS_STRINGS: dict[str, dict[str, str]] = {
    code: {key: texts[i] for key, texts in _FINDINGS.items()} for i, code in enumerate(LANGUAGES)
}


def findings_strings(requested: str | None, accept_language: str | None) -> dict[str, str]:
    """The findings pages' strings in the language asked for in the URL, else the browser's, else English."""
    return FINDINGS_STRINGS[pick(requested, accept_language)]
