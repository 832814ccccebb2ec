"""What an analyst may write when correcting a claim: each field's type and bounds, checked in one place.

The web form, the JSON API and `factfinder text review --set` all end in
``store.review``, which checks a correction here before anything is recorded:
a correction is evidence of an analyst's judgement, so a figure that is not a
number or a date that is not a day must be refused, not stored.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal, get_args, get_type_hints

from factfinder.text.model import ActorMention, CountWhat, DateMention, Qualifier
from factfinder.vault.errors import VaultError


class ClaimError(VaultError):
    """A review that cannot be recorded: unknown claim, bad decision, a correction of the wrong type."""


EDITABLE = {
    "count": {"what", "low", "high", "qualifier", "source", "reported", "hedged", "negated", "future"},
    "place": {"name", "geonameid", "latitude", "longitude", "admin1", "country", "precision", "source"},
    "date": {"earliest", "latest", "precision", "relation", "reported", "hedged", "negated", "future"},
    "actor": {"actor", "acled_type", "role"},
    "event": {"event_type", "sub_event_type", "fatalities", "reported", "hedged", "negated", "future", "source"},
}
"""The fields an analyst may correct, per kind; span, sentence and kind stay those of the original."""


EVENT_TYPES = (
    "Battles",
    "Explosions/Remote violence",
    "Violence against civilians",
    "Protests",
    "Riots",
    "Strategic developments",
)
"""ACLED's event types: the choices offered when an analyst corrects an event claim, and the /claims filter."""
COUNT_WHATS: tuple[str, ...] = get_args(CountWhat)


@dataclass(frozen=True)
class FieldSpec:
    """What an analyst may enter for one field of a claim."""

    type: Literal["str", "int", "float", "bool", "date", "choice"]
    nullable: bool = False
    choices: tuple[Any, ...] = ()
    low: float | None = None
    high: float | None = None
    max_length: int = 500


_INT = 10**9
FIELDS: dict[str, FieldSpec] = {
    "what": FieldSpec("choice", choices=COUNT_WHATS),
    "low": FieldSpec("int", low=0, high=_INT),
    "high": FieldSpec("int", nullable=True, low=0, high=_INT),
    "qualifier": FieldSpec("choice", choices=get_args(Qualifier)),
    "name": FieldSpec("str"),
    "admin1": FieldSpec("str", max_length=200),
    "country": FieldSpec("str", max_length=64),
    "geonameid": FieldSpec("int", nullable=True, low=1, high=2**31 - 1),
    "latitude": FieldSpec("float", low=-90, high=90),
    "longitude": FieldSpec("float", low=-180, high=180),
    "earliest": FieldSpec("date"),
    "latest": FieldSpec("date"),
    "relation": FieldSpec("choice", choices=get_args(get_type_hints(DateMention)["relation"])),
    "precision": FieldSpec("choice", choices=(1, 2, 3)),
    "actor": FieldSpec("str"),
    "acled_type": FieldSpec("choice", choices=tuple(range(1, 9))),
    "role": FieldSpec("choice", choices=get_args(get_type_hints(ActorMention)["role"])),
    "event_type": FieldSpec("choice", choices=EVENT_TYPES),
    "sub_event_type": FieldSpec("str", max_length=200),
    "fatalities": FieldSpec("int", nullable=True, low=0, high=_INT),
    "source": FieldSpec("str", nullable=True),
    "reported": FieldSpec("bool"),
    "hedged": FieldSpec("bool"),
    "negated": FieldSpec("bool"),
    "future": FieldSpec("bool"),
}
"""The type of every field ``store.EDITABLE`` lets an analyst correct (in the order the form shows them)."""
OTHER_FIELD = FieldSpec("str", nullable=True)  # a field added to EDITABLE and not yet described here


def field_error(name: str, problem: str) -> ClaimError:
    return ClaimError(f"{name}: {problem}")


def _check_value(name: str, spec: FieldSpec, value: Any) -> Any:
    """``value`` as the claim's JSON holds it, or a ClaimError saying what is wrong with it."""
    if value is None:
        if spec.nullable:
            return None
        raise field_error(name, "a value is needed")
    if spec.type == "bool":
        if not isinstance(value, bool):
            raise field_error(name, "true or false")
        return value
    if spec.type == "choice":
        ok = any(value == c and type(value) is type(c) for c in spec.choices)
        if not ok:
            raise field_error(name, f"one of {', '.join(str(c) for c in spec.choices)}")
        return value
    if spec.type in ("int", "float"):
        whole = isinstance(value, int) and not isinstance(value, bool)
        if spec.type == "int" and not whole:
            raise field_error(name, "a whole number")
        if spec.type == "float" and not (whole or isinstance(value, float)):
            raise field_error(name, "a number")
        number = float(value)
        if not math.isfinite(number):
            raise field_error(name, "a number")
        if (spec.low is not None and number < spec.low) or (spec.high is not None and number > spec.high):
            raise field_error(name, f"from {spec.low:g} to {spec.high:g}")
        return value if spec.type == "int" else number
    if not isinstance(value, str):
        raise field_error(name, "text")
    text = value.strip()
    if spec.type == "date":
        try:
            day = date.fromisoformat(text) if len(text) == 10 else None
        except ValueError:
            day = None
        if day is None:
            raise field_error(name, "a day as YYYY-MM-DD")
        return day.isoformat()
    if not text:
        if spec.nullable:
            return None
        raise field_error(name, "a value is needed")
    if len(text) > spec.max_length or "\x00" in text:
        raise field_error(name, f"at most {spec.max_length} characters of text")
    return text


def check_correction(kind: str, body: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """The corrected fields of a ``kind`` claim whose JSON is ``body``, checked: only those ``EDITABLE``
    allows, each of its type, bounds in order."""
    allowed = EDITABLE.get(kind, set())
    unknown = sorted(set(values) - allowed)
    if unknown:
        raise ClaimError(f"{kind} claims cannot correct {', '.join(unknown)}")
    out = {name: _check_value(name, FIELDS.get(name, OTHER_FIELD), v) for name, v in values.items()}
    merged = {**body, **out}
    low, high = merged.get("low"), merged.get("high")
    if isinstance(low, int) and isinstance(high, int) and high < low:
        raise ClaimError("the highest figure is below the lowest")
    earliest, latest = merged.get("earliest"), merged.get("latest")
    if isinstance(earliest, str) and isinstance(latest, str) and latest < earliest:
        raise ClaimError("the latest day is before the earliest")
    return out
