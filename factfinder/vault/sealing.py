"""Sealing witness identity fields with age (https://age-encryption.org/v1).

A field is encrypted at intake to every recipient of the case, so a seized
database or blob store holds only ciphertext. Opening needs an identity file,
which should live off the machine (on a token or a USB key) when not in use.
"""

from __future__ import annotations

import re

import pyrage
from pyrage import x25519

from factfinder.vault.errors import IdentityError, VaultError

PROTECTED_FIELDS = ("witness_name", "witness_phone", "witness_contact")

ANSWER_PREFIX = "answer:"
"""Sealed fields named ``answer:QUESTION`` are a form's answers that also sit in clear in the item's own bytes (an
unencrypted ODK submission's contact, say): sealed so that only those who may open witness fields read them, and
masked wherever the item's text is shown, indexed or read to anyone else (``factfinder.vault.masking``)."""

_QUESTION = re.compile(r"[^\W\d][\w.-]{0,55}")  # an XML name (letters of any script), fits String(64)


def answer_field(question: str) -> str:
    """The sealed field's name for a form question's answer (the question's XML name)."""
    if not _QUESTION.fullmatch(question):
        raise VaultError(f"not a question name that can be sealed: {question[:80]!r}")
    return ANSWER_PREFIX + question


def is_protected_field(name: str) -> bool:
    """A witness field, or a sealed answer (``answer:QUESTION``)."""
    if name in PROTECTED_FIELDS:
        return True
    return name.startswith(ANSWER_PREFIX) and _QUESTION.fullmatch(name.removeprefix(ANSWER_PREFIX)) is not None


def parse_recipients(recipients: list[str]) -> list[x25519.Recipient]:
    try:
        return [x25519.Recipient.from_str(r) for r in recipients]
    except pyrage.RecipientError as exc:
        raise VaultError("a case recipient is not a valid age public key") from exc


def seal(value: str, recipients: list[x25519.Recipient]) -> bytes:
    if not recipients:
        raise VaultError("the case has no recipients to seal witness fields to")
    return bytes(pyrage.encrypt(value.encode("utf-8"), recipients))


def seal_bytes(data: bytes, recipients: list[x25519.Recipient]) -> bytes:
    """A whole file sealed to the case's recipients (a victim list with relatives' contacts in it)."""
    if not recipients:
        raise VaultError("the case has no recipients to seal the file to")
    return bytes(pyrage.encrypt(data, recipients))


def open_sealed(ciphertext: bytes, identity: x25519.Identity) -> str:
    try:
        return bytes(pyrage.decrypt(ciphertext, [identity])).decode("utf-8")
    except pyrage.DecryptError as exc:
        raise IdentityError("this identity cannot open the case's sealed fields (wrong identity file?)") from exc
