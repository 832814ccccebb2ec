"""RFC 9162 (RFC 6962) Merkle tree hashing, proofs and their verification.

This module implements section 2.1 of RFC 9162 ("Certificate Transparency
Version 2.0"), which keeps RFC 6962's tree:

- leaf hash:      ``SHA-256(0x00 || entry)``
- interior node:  ``SHA-256(0x01 || left || right)``
- empty tree:     ``SHA-256("")``

Proof *generation* works on any store that can answer "what is the hash of the
perfect subtree at ``level`` and ``index``" (a :class:`NodeSource`); the
custody log answers from its hash tiles, tests answer from a list in memory.
Proof *verification* (sections 2.1.3.2 and 2.1.4.2) needs nothing but the
proof: it is what a recipient of the evidence runs without trusting us, so each
way it can fail raises its own exception.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

HASH_SIZE = 32
LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
EMPTY_ROOT = hashlib.sha256(b"").digest()

NodeSource = Callable[[int, int], bytes]
"""``node(level, index)``: hash of the perfect subtree of ``2**level`` leaves
starting at leaf ``index * 2**level``."""


class ProofError(Exception):
    """A Merkle proof does not prove what it claims."""


class ProofShapeError(ProofError):
    """The proof has the wrong length or malformed hashes for its sizes."""


class RootMismatchError(ProofError):
    """The proof is well formed but leads to a different root."""


class BadSizesError(ProofError):
    """The index or tree sizes cannot form a valid proof."""


def leaf_hash(entry: bytes) -> bytes:
    """Hash of one log entry as a leaf."""
    return hashlib.sha256(LEAF_PREFIX + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Hash of an interior node from its two children."""
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def hash_level(hashes: Sequence[bytes]) -> list[bytes]:
    """Hash pairs of one level into the level above (``len(hashes)`` even)."""
    sha = hashlib.sha256
    return [sha(NODE_PREFIX + hashes[i] + hashes[i + 1]).digest() for i in range(0, len(hashes), 2)]


def perfect_root(hashes: Sequence[bytes]) -> bytes:
    """Root of a perfect subtree given its bottom level (a power of two long)."""
    level = list(hashes)
    while len(level) > 1:
        level = hash_level(level)
    return level[0]


def _largest_power_of_two_below(n: int) -> int:
    """The ``k`` of RFC 9162: the largest power of two smaller than ``n`` (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def range_hash(node: NodeSource, start: int, end: int) -> bytes:
    """MTH of leaves ``[start, end)`` as RFC 9162 splits them.

    Ranges reached by the RFC's recursion are either perfect aligned subtrees,
    answered by ``node``, or a right part that splits again.
    """
    n = end - start
    if n == 0:
        return EMPTY_ROOT
    if n & (n - 1) == 0 and start % n == 0:
        level = n.bit_length() - 1
        return node(level, start >> level)
    k = _largest_power_of_two_below(n)
    return node_hash(range_hash(node, start, start + k), range_hash(node, start + k, end))


def root(node: NodeSource, size: int) -> bytes:
    """Root hash of the tree of the first ``size`` leaves."""
    return range_hash(node, 0, size)


def inclusion_proof(node: NodeSource, index: int, size: int) -> list[bytes]:
    """Audit path for leaf ``index`` in the tree of ``size`` leaves (RFC 9162 2.1.3.1)."""
    if not 0 <= index < size:
        raise BadSizesError(f"index {index} is outside a tree of size {size}")
    proof: list[bytes] = []
    start, n, m = 0, size, index
    # Walk down, then emit siblings deepest first as PATH() does.
    siblings: list[bytes] = []
    while n > 1:
        k = _largest_power_of_two_below(n)
        if m < k:
            siblings.append(range_hash(node, start + k, start + n))
            n = k
        else:
            siblings.append(range_hash(node, start, start + k))
            start, n, m = start + k, n - k, m - k
    proof.extend(reversed(siblings))
    return proof


def consistency_proof(node: NodeSource, size1: int, size2: int) -> list[bytes]:
    """Proof that the tree of ``size1`` leaves is a prefix of the one of ``size2`` (2.1.4.1)."""
    if not 0 < size1 <= size2:
        raise BadSizesError(f"no consistency proof from size {size1} to {size2}")
    if size1 == size2:
        return []
    out: list[bytes] = []
    start, n, m, complete = 0, size2, size1, True
    while m != n:
        k = _largest_power_of_two_below(n)
        if m <= k:
            out.append(range_hash(node, start + k, start + n))
            n = k
        else:
            out.append(range_hash(node, start, start + k))
            start, n, m, complete = start + k, n - k, m - k, False
    if not complete:
        out.append(range_hash(node, start, start + m))
    out.reverse()
    return out


def _check_hashes(proof: Sequence[bytes]) -> None:
    for h in proof:
        if len(h) != HASH_SIZE:
            raise ProofShapeError(f"proof hash of {len(h)} bytes, expected {HASH_SIZE}")


def root_from_inclusion_proof(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """Recompute the root that ``proof`` implies for ``leaf`` (RFC 9162 2.1.3.2)."""
    if index >= size or index < 0:
        raise BadSizesError(f"index {index} is outside a tree of size {size}")
    if len(leaf) != HASH_SIZE:
        raise ProofShapeError(f"leaf hash of {len(leaf)} bytes, expected {HASH_SIZE}")
    _check_hashes(proof)
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise ProofShapeError("proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofShapeError("proof is shorter than the tree is deep")
    return r


def verify_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes], expected_root: bytes) -> None:
    """Raise a :class:`ProofError` unless ``leaf`` is at ``index`` under ``expected_root``."""
    got = root_from_inclusion_proof(index, size, leaf, proof)
    if got != expected_root:
        raise RootMismatchError("inclusion proof leads to a different root")


def verify_consistency(size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes) -> None:
    """Raise a :class:`ProofError` unless tree ``size1``/``root1`` is a prefix of ``size2``/``root2``."""
    if size2 < size1:
        raise BadSizesError(f"size2 ({size2}) is smaller than size1 ({size1})")
    if size1 == 0:
        raise BadSizesError("a consistency proof from the empty tree proves nothing")
    if size1 == size2:
        if proof:
            raise ProofShapeError("equal sizes need an empty proof")
        if root1 != root2:
            raise RootMismatchError("equal sizes but different roots")
        return
    if not proof:
        raise ProofShapeError("empty proof for different sizes")
    _check_hashes(proof)
    path = list(proof)
    if size1 & (size1 - 1) == 0:
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofShapeError("proof is longer than the trees need")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofShapeError("proof is shorter than the trees need")
    if fr != root1:
        raise RootMismatchError("consistency proof does not lead to the first root")
    if sr != root2:
        raise RootMismatchError("consistency proof does not lead to the second root")


class MemoryTree:
    """A whole tree held in memory, level by level: for audits and tests.

    ``levels[0]`` are the leaf hashes; ``levels[h][i]`` is the perfect subtree
    ``node(h, i)``. Only complete subtrees are kept, which is all RFC 9162
    needs.
    """

    def __init__(self, leaf_hashes: Sequence[bytes] = ()) -> None:
        self.levels: list[list[bytes]] = [list(leaf_hashes)]
        self._rebuild_from(0)

    def _rebuild_from(self, level: int) -> None:
        while len(self.levels[level]) > 1:
            below = self.levels[level]
            pairs = len(below) // 2
            if len(self.levels) <= level + 1:
                self.levels.append([])
            above = self.levels[level + 1]
            if len(above) < pairs:
                start = len(above) * 2
                above.extend(hash_level(below[start : pairs * 2]))
            level += 1

    def append(self, leaf: bytes) -> None:
        self.levels[0].append(leaf)
        self._rebuild_from(0)

    @property
    def size(self) -> int:
        return len(self.levels[0])

    def node(self, level: int, index: int) -> bytes:
        return self.levels[level][index]

    def root(self, size: int | None = None) -> bytes:
        return root(self.node, self.size if size is None else size)
