"""Masking sealed answers in an original's text: every character keeps its place, nothing of the answer shows."""

from __future__ import annotations

import pytest

from factfinder.vault import masking, sealing
from factfinder.vault.errors import VaultError

XML = (
    '<?xml version="1.0"?><data xmlns:orx="http://openrosa.org/xforms" id="testimony">'
    "<what_happened>They fired at the square.</what_happened>"
    "<contact>+7 700 555 0142, ask for Placeholder Aigerim</contact>"
    "<contacted>yes</contacted><contact/>"
    '<rep><orx:contact kind="second">telegram placeholder_second</orx:contact></rep>'
    "<meta><instanceID>uuid:1</instanceID></meta></data>"
)


def test_the_answer_is_masked_and_every_other_character_stays_in_place() -> None:
    masked = masking.mask(XML, ["contact"])
    assert len(masked) == len(XML)
    for secret in ("+7 700 555 0142", "Placeholder Aigerim", "placeholder_second"):
        assert secret not in masked
    assert [i for i, (a, b) in enumerate(zip(XML, masked, strict=True)) if a != b] == [
        i for i, c in enumerate(masked) if c == masking.MASK
    ]
    # What is not a sealed question is untouched: a longer name that starts the same, the other answers.
    assert "<contacted>yes</contacted>" in masked and "They fired at the square." in masked
    start = XML.index("They fired")
    assert masked[start : start + 9] == "They fire"  # a claim's offsets into the masked text hold in the original


def test_a_text_cut_inside_an_answer_is_masked_to_its_end() -> None:
    cut = XML[: XML.index("ask for")]
    masked = masking.mask(cut, ["contact"])
    assert masked.endswith(masking.MASK * len("+7 700 555 0142, "))
    assert "0142" not in masked


def test_nothing_sealed_changes_nothing() -> None:
    assert masking.mask(XML, []) == XML
    assert masking.mask("no markup at all: +7 700 555 0142", ["contact"]) == "no markup at all: +7 700 555 0142"


def test_answer_field_names() -> None:
    assert sealing.answer_field("contact") == "answer:contact"
    assert sealing.is_protected_field("answer:witness.phone-2")
    assert sealing.is_protected_field("witness_phone")
    for bad in ("answer:", "answer:a b", "answer:<x>", "answer:" + "x" * 57, "contact", "answer:1st"):
        assert not sealing.is_protected_field(bad), bad
    with pytest.raises(VaultError, match="question name"):
        sealing.answer_field("a/b")
