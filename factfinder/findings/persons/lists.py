"""Reading a victim list (CSV) into person records, with a column mapping.

Lists arrive as spreadsheets made by people in a hurry: a family
association's Excel export with Russian headers, a morgue's register typed
up by a lawyer, an NGO's English table. Columns are mapped onto the record's
fields by an explicit mapping (``field=Column header``) or, where none is
given, by recognising the usual headers in English, Russian and Kazakh.

Values are read as the lists write them: "М"/"ж"/"male", "about 30",
"20-25", "1987", "14.05.1987", "убит"/"задержан"/"killed". A value that
cannot be read is an error naming the row and column, and nothing of the
file is recorded until every row reads: a list is imported whole or not at
all, so the register never holds half a list.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from factfinder.findings.persons.model import PROTECTED_PERSON_FIELDS, STATUSES, PersonRecord
from factfinder.vault.errors import VaultError

MAX_ROWS = 1_000_000
MAX_FIELD = 2_000
# Fields a column can be mapped to: the record's own, plus "age" (read into age_min/age_max), "name"
# (an alias of full_name) and the protected fields, which are sealed.
MAPPABLE: tuple[str, ...] = (
    "full_name",
    "given_name",
    "patronymic",
    "surname",
    "sex",
    "age",
    "age_min",
    "age_max",
    "birth_date",
    "residence",
    "status",
    "event_date",
    "event_date_start",
    "event_date_end",
    "event_place",
    "perpetrator",
    "list_record_id",
    "notes",
    *PROTECTED_PERSON_FIELDS,
)
# Headers recognised without a mapping (compared lower-cased, spaces and punctuation folded to "_").
HEADERS: dict[str, str] = {
    "name": "full_name",
    "full_name": "full_name",
    "фио": "full_name",
    "ф_и_о": "full_name",
    "аты_жөні": "full_name",
    "given_name": "given_name",
    "first_name": "given_name",
    "имя": "given_name",
    "аты": "given_name",
    "patronymic": "patronymic",
    "отчество": "patronymic",
    "әкесінің_аты": "patronymic",
    "surname": "surname",
    "last_name": "surname",
    "family_name": "surname",
    "фамилия": "surname",
    "тегі": "surname",
    "sex": "sex",
    "gender": "sex",
    "пол": "sex",
    "жынысы": "sex",
    "age": "age",
    "возраст": "age",
    "жасы": "age",
    "birth_date": "birth_date",
    "date_of_birth": "birth_date",
    "dob": "birth_date",
    "дата_рождения": "birth_date",
    "туған_күні": "birth_date",
    "residence": "residence",
    "address": "residence",
    "place_of_residence": "residence",
    "место_жительства": "residence",
    "тұрғылықты_жері": "residence",
    "status": "status",
    "what_happened": "status",
    "статус": "status",
    "event_date": "event_date",
    "date": "event_date",
    "дата": "event_date",
    "event_place": "event_place",
    "place": "event_place",
    "место": "event_place",
    "perpetrator": "perpetrator",
    "id": "list_record_id",
    "list_id": "list_record_id",
    "no": "list_record_id",
    "№": "list_record_id",
    "notes": "notes",
    "примечание": "notes",
    "relative_contact": "relative_contact",
    "contact": "relative_contact",
    "контакт_родственников": "relative_contact",
}
SEX_WORDS: dict[str, str] = {
    "m": "male",
    "male": "male",
    "man": "male",
    "м": "male",
    "муж": "male",
    "мужской": "male",
    "ер": "male",
    "f": "female",
    "female": "female",
    "woman": "female",
    "ж": "female",
    "жен": "female",
    "женский": "female",
    "әйел": "female",
}
STATUS_WORDS: dict[str, str] = {
    **{s: s for s in STATUSES},
    "dead": "killed",
    "died": "killed",
    "death": "killed",
    "shot dead": "killed",
    "убит": "killed",
    "убита": "killed",
    "погиб": "killed",
    "погибла": "killed",
    "погибший": "killed",
    "умер": "killed",
    "умерла": "killed",
    "қаза тапты": "killed",
    "өлтірілді": "killed",
    "wounded": "injured",
    "ранен": "injured",
    "ранена": "injured",
    "раненый": "injured",
    "жараланды": "injured",
    "arrested": "detained",
    "задержан": "detained",
    "задержана": "detained",
    "арестован": "detained",
    "арестована": "detained",
    "ұсталды": "detained",
    "missing": "disappeared",
    "пропал": "disappeared",
    "пропала": "disappeared",
    "пропал без вести": "disappeared",
    "хабар-ошарсыз": "disappeared",
    "освобожден": "released",
    "освобождена": "released",
    "босатылды": "released",
}
_AGE_RANGE = re.compile(r"^\s*(\d{1,3})\s*[-–—]\s*(\d{1,3})\s*$")
_AGE_ABOUT = re.compile(
    r"^\s*(?:about|approx\.?|around|c\.|~|около|примерно|шамамен)\s*(\d{1,3})\s*(?:years?|лет|года?|жаста|жас)?\s*$",
    re.I,
)
_AGE_EXACT = re.compile(r"^\s*(\d{1,3})\s*(?:years?|y\.?o\.?|лет|года?|г\.|жаста|жас)?\s*$", re.I)
_DMY = re.compile(r"^\s*(\d{1,2})[./](\d{1,2})[./](\d{4})\s*$")
_ISO = re.compile(r"^\s*(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?\s*$")
_COMPACT = re.compile(r"^\s*(\d{4})(\d{2})(\d{2})\s*$")
ABOUT_SLACK = 3  # "about 30" is read as 27-33


class ListError(VaultError):
    """A list file that cannot be read as asked: names the row and column, and nothing was recorded."""


@dataclass(frozen=True)
class ParsedList:
    """The records a list file gives, in file order, with the mapping that was used."""

    records: list[PersonRecord]
    mapping: dict[str, str]  # field -> column header
    ignored_columns: list[str]


def _header_key(header: str) -> str:
    return re.sub(r"[\s.\-/()]+", "_", header.strip().lower()).strip("_")


def read_mapping(pairs: list[str]) -> dict[str, str]:
    """``field=Column header`` pairs (from the command line) as a mapping; unknown fields are an error."""
    mapping: dict[str, str] = {}
    for pair in pairs:
        name, sep, column = pair.partition("=")
        name = name.strip()
        if not sep or not column.strip():
            raise ListError(f"mapping {pair!r}: write it as field=Column header")
        if name not in MAPPABLE:
            raise ListError(f"mapping {pair!r}: {name!r} is not a field; one of {', '.join(MAPPABLE)}")
        mapping[name] = column.strip()
    return mapping


def guess_mapping(headers: list[str]) -> dict[str, str]:
    """The fields that recognised headers map to (the first column wins when two mean the same field)."""
    mapping: dict[str, str] = {}
    for h in headers:
        key = _header_key(h)
        name = key if key in MAPPABLE else HEADERS.get(key)
        if name is not None and name not in mapping:
            mapping[name] = h
    return mapping


def parse_age(value: str) -> tuple[int | None, int | None]:
    """An age as lists write it: ``34``, ``34 лет``, ``20-25``, ``about 30`` (± 3 years)."""
    if not value.strip():
        return None, None
    for pattern, slack in ((_AGE_EXACT, 0), (_AGE_ABOUT, ABOUT_SLACK)):
        m = pattern.match(value)
        if m:
            n = int(m.group(1))
            return max(0, n - slack), n + slack
    m = _AGE_RANGE.match(value)
    if m:
        low, high = sorted((int(m.group(1)), int(m.group(2))))
        return low, high
    raise ValueError(f"{value!r} is not an age (34, 20-25, about 30)")


def parse_date(value: str) -> str | None:
    """A date as ISO 8601, kept as partial as it was written: ``1987``, ``1987-05``, ``14.05.1987``."""
    if not value.strip():
        return None
    m = _DMY.match(value)
    if m:
        d, mo, y = (int(g) for g in m.groups())
        return date(y, mo, d).isoformat()
    m = _COMPACT.match(value)
    if m:
        y, mo, d = (int(g) for g in m.groups())
        return date(y, mo, d).isoformat()
    m = _ISO.match(value)
    if m:
        year, month, day = m.groups()
        if day:
            return date(int(year), int(month), int(day)).isoformat()
        if month:
            if not 1 <= int(month) <= 12:
                raise ValueError(f"{value!r}: no month {month}")
            return f"{year}-{month}"
        return str(year)
    raise ValueError(f"{value!r} is not a date (1987, 1987-05, 1987-05-14, 14.05.1987)")


def parse_sex(value: str) -> str | None:
    v = value.strip().lower().rstrip(".")
    if not v:
        return None
    if v in SEX_WORDS:
        return SEX_WORDS[v]
    raise ValueError(f"{value!r} is not a sex (male, female, м, ж)")


def parse_status(value: str, default: str) -> str:
    v = " ".join(value.strip().lower().split())
    if not v:
        return default
    if v in STATUS_WORDS:
        return STATUS_WORDS[v]
    raise ValueError(f"{value!r} is not one of {', '.join(STATUSES)} (or a known synonym)")


def record_from_row(row: Mapping[str, str], mapping: Mapping[str, str], *, default_status: str) -> PersonRecord:
    """One row as a record; raises ``ValueError`` naming the field whose value cannot be read."""

    def get(name: str) -> str:
        column = mapping.get(name)
        value = (row.get(column) or "") if column else ""
        if len(value) > MAX_FIELD:
            raise ValueError(f"{name}: longer than {MAX_FIELD:,} characters")
        return value.strip()

    values: dict[str, Any] = {}
    for name in ("full_name", "given_name", "patronymic", "surname", "residence", "event_place", "perpetrator"):
        values[name] = get(name)
    values["list_record_id"] = get("list_record_id")
    values["notes"] = get("notes")
    try:
        field_name = "sex"
        values["sex"] = parse_sex(get("sex"))
        field_name = "age"
        low, high = parse_age(get("age"))
        for bound in ("age_min", "age_max"):
            field_name = bound
            if get(bound):
                n, _ = parse_age(get(bound))
                if bound == "age_min":
                    low = n
                else:
                    high = n
        if low is not None and high is not None and low > high:
            raise ValueError(f"the youngest age {low} is above the oldest {high}")
        values["age_min"], values["age_max"] = low, high
        field_name = "birth_date"
        values["birth_date"] = parse_date(get("birth_date"))
        field_name = "status"
        values["status"] = parse_status(get("status"), default_status)
        field_name = "event_date"
        start = end = parse_date(get("event_date"))
        field_name = "event_date_start"
        start = parse_date(get("event_date_start")) or start
        field_name = "event_date_end"
        end = parse_date(get("event_date_end")) or end
        if start and end and end < start:
            raise ValueError(f"the interval ends ({end}) before it starts ({start})")
        values["event_date_start"], values["event_date_end"] = start, end
    except ValueError as exc:
        raise ValueError(f"{mapping.get(field_name, field_name)}: {exc}") from None
    protected = {name: get(name) for name in PROTECTED_PERSON_FIELDS if get(name)}
    record = PersonRecord(**values, protected=protected)
    if not record.display_name():
        raise ValueError("no name in any name column")
    return record


def parse_csv(data: bytes, *, mapping: Mapping[str, str] | None = None, default_status: str = "killed") -> ParsedList:
    """Read a CSV list (UTF-8, with or without BOM; comma, semicolon or tab separated)."""
    if default_status not in STATUSES:
        raise ListError(f"status {default_status!r}: one of {', '.join(STATUSES)}")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ListError(f"the file is not UTF-8 text (byte {exc.start}): save the list as UTF-8 CSV") from None
    if "\x00" in text:
        raise ListError("the file holds NUL bytes: it is not a CSV list")
    if not text.strip():
        raise ListError("the file is empty")
    try:
        dialect = csv.Sniffer().sniff(text[:8192], delimiters=",;\t")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    headers = [h for h in (reader.fieldnames or []) if h is not None]
    if not headers:
        raise ListError("the file has no header row")
    if len(set(headers)) != len(headers):
        raise ListError("two columns have the same header: rename one")
    chosen = dict(mapping) if mapping else guess_mapping(headers)
    missing = [f"{name}={column}" for name, column in chosen.items() if column not in headers]
    if missing:
        raise ListError(f"mapped columns not in the file: {', '.join(missing)}; its columns: {', '.join(headers)}")
    if not {"full_name", "given_name", "surname"} & set(chosen):
        raise ListError(
            "no name column: map one with --map full_name=COLUMN (or given_name=, surname=); "
            f"its columns: {', '.join(headers)}"
        )
    records: list[PersonRecord] = []
    try:
        for line, row in enumerate(reader, start=2):
            if len(records) >= MAX_ROWS:
                raise ListError(f"more than {MAX_ROWS:,} rows: split the list")
            if None in row:
                raise ListError(f"row {line}: more cells than the header has columns")
            if not any((v or "").strip() for v in row.values()):
                continue
            try:
                records.append(record_from_row(row, chosen, default_status=default_status))
            except ValueError as exc:
                raise ListError(f"row {line}: {exc}; nothing was recorded") from None
    except csv.Error as exc:
        raise ListError(f"the file is not well-formed CSV ({exc}); nothing was recorded") from None
    if not records:
        raise ListError("the list has no rows")
    used = set(chosen.values())
    return ParsedList(records=records, mapping=chosen, ignored_columns=[h for h in headers if h not in used])
