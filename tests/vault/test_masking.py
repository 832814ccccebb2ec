"""Masking sealed answers in an original's text: every character keeps its place, nothing of the answer shows."""

from __future__ import annotations

import pytest

from factfinder.vault import masking, sealing
from factfinder.vault.errors import VaultError

XML = (
    '<?xml version="1.0"?><data xmlns:orx="http://openrosa.org/xforms" id="testimony">'
    "<what_happened>Они стреляли на площади. They fired at the square.</what_happened>"
    "<contact>+7 700 555 0142, ask for Placeholder Aigerim</contact>"
    "<contacted>yes</contacted><contact/>"
    '<rep><orx:contact kind="second">telegram placeholder_second</orx:contact></rep>'
    "<meta><instanceID>uuid:1</instanceID></meta></data>"
).encode()


def test_the_answer_is_masked_and_every_other_character_stays_in_place() -> None:
    text = XML.decode()
    masked = masking.mask(XML, ["contact"])
    assert len(masked) == len(text)
    for secret in ("+7 700 555 0142", "Placeholder Aigerim", "placeholder_second"):
        assert secret not in masked
    changed = [i for i, (a, b) in enumerate(zip(text, masked, strict=True)) if a != b]
    assert changed == [i for i, c in enumerate(masked) if c == masking.MASK]
    # What is not a sealed question is untouched: a longer name that starts the same, the other answers.
    assert "<contacted>yes</contacted>" in masked and "They fired at the square." in masked
    start = text.index("They fired")  # after Cyrillic letters: character offsets, not bytes
    assert masked[start : start + 9] == "They fire"  # a claim's offsets into the masked text hold in the original


@pytest.mark.parametrize(
    "answer",
    [
        '<contact note="x/>">S3CRET</contact>',  # an attribute that looks like the end of an empty element
        "<contact><![CDATA[a</contact>S3CRET]]></contact>",
        "<contact><!-- </contact> -->S3CRET</contact>",
        "<contact><?pi </contact>?>S3CRET</contact>",
        "<contact><contact>a</contact>S3CRET</contact>",  # the same name nested
        '<é:contact xmlns:é="urn:x">S3CRET</é:contact>',  # a prefix that is not ASCII
        "<contact >S3CRET</contact >",
        "<contact/><contact>S3CRET</contact>",
        "<grp><contact><line>S3CRET</line></contact></grp>",
    ],
)
def test_no_markup_hides_an_answer(answer: str) -> None:
    data = f"<data id='t'><what>ok</what>{answer}<after>kept</after></data>".encode()
    masked = masking.mask(data, ["contact"])
    assert "S3CRET" not in masked and "<after>kept</after>" in masked and "<what>ok</what>" in masked


def test_a_text_cut_inside_an_answer_is_masked_to_its_end() -> None:
    cut = XML[: XML.index(b"ask for")].decode()
    masked = masking.mask(XML, ["contact"], cut)
    assert masked.endswith(masking.MASK * len("+7 700 555 0142, "))
    assert "0142" not in masked and len(masked) == len(cut)


def test_what_cannot_be_read_here_is_masked_whole() -> None:
    utf16 = '<?xml version="1.0" encoding="UTF-16"?><d><contact>S3CRET</contact></d>'.encode("utf-16")
    assert set(masking.mask(utf16, ["contact"])) == {masking.MASK}
    with_dtd = b'<!DOCTYPE d [<!ENTITY e "S3CRET">]><d><contact>&e;</contact></d>'
    assert set(masking.mask(with_dtd, ["contact"])) == {masking.MASK}
    assert set(masking.mask(b"<d><contact>S3CRET</d>", ["contact"])) == {masking.MASK}  # not well-formed


def test_nothing_sealed_changes_nothing() -> None:
    assert masking.mask(XML, []) == XML.decode()
    assert set(masking.mask(b"no markup at all: +7 700 555 0142", ["contact"])) == {masking.MASK}  # not XML: hidden


def test_answer_field_names() -> None:
    assert sealing.answer_field("contact") == "answer:contact"
    assert sealing.is_protected_field("answer:witness.phone-2")
    assert sealing.is_protected_field("answer:телефон")
    assert sealing.is_protected_field("witness_phone")
    for bad in ("answer:", "answer:a b", "answer:<x>", "answer:" + "x" * 57, "contact", "answer:1st"):
        assert not sealing.is_protected_field(bad), bad
    with pytest.raises(VaultError, match="question name"):
        sealing.answer_field("a/b")
