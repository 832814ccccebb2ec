"""A person record: one entry of one victim list, exactly as the list gives it.

Lists of the killed, injured, detained and missing come from families,
hospitals and morgues, lawyers, NGOs, journalists and the authorities. They
overlap and spell the same person differently, so an entry is never
"corrected" in place: it stays as written, tied to the item it came from, and
a correction is a new record that names the one it supersedes. Which records
are the same person is a separate question (record linkage, ``linkage.py``)
whose answer is a set of reviewed links, not an edit of the records.

Dates are ISO 8601 and may be partial (``1987``, ``1987-05``); ages are a
range because lists give "about 30", "20-25" or "a teenager" as often as an
exact age.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, get_args

Status = Literal["killed", "injured", "detained", "disappeared", "released"]
STATUSES: tuple[str, ...] = get_args(Status)
Sex = Literal["male", "female"]
# Fields a person record may carry that identify living people other than the victim (relatives'
# phone numbers, addresses, the name of whoever reported the case): sealed to the case's
# recipients like a witness's identity, never stored or shown in clear.
PROTECTED_PERSON_FIELDS: tuple[str, ...] = ("relative_contact", "reporter_name", "reporter_contact")
# The fields linkage compares, in the order a side-by-side review shows them.
DESCRIPTIVE_FIELDS: tuple[str, ...] = (
    "full_name",
    "given_name",
    "patronymic",
    "surname",
    "sex",
    "age_min",
    "age_max",
    "birth_date",
    "residence",
    "status",
    "event_date_start",
    "event_date_end",
    "event_place",
    "perpetrator",
    "list_record_id",
)


@dataclass(frozen=True)
class PersonRecord:
    """One list entry. Names are kept exactly as written, in any script.

    ``full_name`` is the name as the list wrote it when the list has one
    column for it; ``given_name``/``patronymic``/``surname`` when it splits
    them. Either may be empty; linkage splits a full name itself.
    """

    full_name: str = ""
    given_name: str = ""
    patronymic: str = ""
    surname: str = ""
    sex: Sex | None = None
    age_min: int | None = None
    age_max: int | None = None
    birth_date: str | None = None  # ISO 8601, possibly partial: 1987, 1987-05, 1987-05-14
    residence: str = ""
    status: Status = "killed"
    event_date_start: str | None = None  # the interval in which it happened, ISO 8601 days
    event_date_end: str | None = None
    event_place: str = ""
    perpetrator: str = ""
    list_record_id: str = ""  # the source's own id or row label for this entry
    notes: str = ""
    protected: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    def descriptive(self) -> dict[str, Any]:
        """The record's fields without the protected ones: what may be stored in clear and compared."""
        d = asdict(self)
        d.pop("protected")
        return d

    def digest(self) -> str:
        """SHA-256 of the record's canonical JSON (protected fields excluded: they are sealed).

        Custody entries and reviews name records by this digest, so a row
        edited behind the vault's back no longer matches what the log says.
        """
        body = json.dumps(self.descriptive(), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(body.encode()).hexdigest()

    def display_name(self) -> str:
        """The name as the list wrote it: the full name, or its parts in the list's order."""
        if self.full_name.strip():
            return self.full_name.strip()
        return " ".join(p for p in (self.surname, self.given_name, self.patronymic) if p.strip())
