"""RFC 9162 tree hashing and proofs against the transparency-dev reference vectors."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from factfinder.vault import merkle
from tests.conftest import TESTDATA

MERKLE = TESTDATA / "merkle"  # the same place the testdata fixture uses (FACTFINDER_TESTDATA)


def _b64(value: str | None) -> bytes:
    return base64.b64decode(value) if value else b""


def _vectors(kind: str) -> list[Path]:
    found = sorted((MERKLE / kind).rglob("*.json"))
    assert found, f"no {kind} vectors under {MERKLE}"
    return found


def _reference_tree() -> tuple[merkle.MemoryTree, list[str]]:
    data = json.loads((MERKLE / "leaves.json").read_text())
    leaves = [bytes.fromhex(h) for h in data["leaf_inputs_hex"]]
    return merkle.MemoryTree([merkle.leaf_hash(x) for x in leaves]), data["root_hashes_hex"]


def test_roots_of_every_prefix_match_reference() -> None:
    tree, roots = _reference_tree()
    assert len(roots) == 9
    for size, want in enumerate(roots):
        assert tree.root(size).hex() == want


@pytest.mark.parametrize("path", _vectors("inclusion"), ids=lambda p: str(p.relative_to(MERKLE)))
def test_inclusion_vector(path: Path) -> None:
    v = json.loads(path.read_text())
    args = (v["leafIdx"], v["treeSize"], _b64(v["leafHash"]), [_b64(h) for h in v["proof"] or []], _b64(v["root"]))
    if v["wantErr"]:
        with pytest.raises(merkle.ProofError):
            merkle.verify_inclusion(*args)
    else:
        merkle.verify_inclusion(*args)


@pytest.mark.parametrize("path", _vectors("consistency"), ids=lambda p: str(p.relative_to(MERKLE)))
def test_consistency_vector(path: Path) -> None:
    v = json.loads(path.read_text())
    args = (v["size1"], v["size2"], [_b64(h) for h in v["proof"] or []], _b64(v["root1"]), _b64(v["root2"]))
    if v["wantErr"]:
        with pytest.raises(merkle.ProofError):
            merkle.verify_consistency(*args)
    else:
        merkle.verify_consistency(*args)


def test_generated_proofs_match_vectors() -> None:
    """Our proof generation gives exactly the reference proofs for the reference tree."""
    tree, _ = _reference_tree()
    checked = 0
    for path in _vectors("inclusion"):
        v = json.loads(path.read_text())
        if path.name == "happy-path.json" and v["treeSize"] == 8:
            assert merkle.inclusion_proof(tree.node, v["leafIdx"], 8) == [_b64(h) for h in v["proof"] or []]
            checked += 1
    for path in _vectors("consistency"):
        v = json.loads(path.read_text())
        if path.name == "happy-path.json" and v["size1"] > 0 and v["size2"] <= 8:
            assert merkle.consistency_proof(tree.node, v["size1"], v["size2"]) == [_b64(h) for h in v["proof"] or []]
            checked += 1
    assert checked >= 4


def test_every_proof_round_trips_on_trees_up_to_70() -> None:
    """Generated proofs verify, and a proof for one size fails against another root."""
    tree = merkle.MemoryTree([merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(70)])
    for n in range(1, 71):
        root = tree.root(n)
        for i in range(n):
            merkle.verify_inclusion(i, n, tree.node(0, i), merkle.inclusion_proof(tree.node, i, n), root)
        for m in range(1, n + 1):
            merkle.verify_consistency(m, n, merkle.consistency_proof(tree.node, m, n), tree.root(m), root)
        if n > 2:
            with pytest.raises(merkle.ProofError):
                merkle.verify_inclusion(0, n, tree.node(0, 1), merkle.inclusion_proof(tree.node, 0, n), root)


def test_bad_sizes_raise() -> None:
    tree = merkle.MemoryTree([merkle.leaf_hash(b"x")])
    with pytest.raises(merkle.BadSizesError):
        merkle.inclusion_proof(tree.node, 1, 1)
    with pytest.raises(merkle.BadSizesError):
        merkle.consistency_proof(tree.node, 0, 1)
