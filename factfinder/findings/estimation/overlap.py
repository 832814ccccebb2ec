"""The list-overlap table: how many documented persons each combination of lists recorded.

Multiple systems estimation never looks at a person's name, only at which lists recorded them. A person
recorded by lists A and C but not by B has the *capture pattern* A·C; the overlap table counts persons per
pattern. With L lists there are 2^L - 1 patterns a documented person can have (the pattern "on no list" is
exactly what is unknown and what the methods estimate).

Patterns are numbered by bit mask: bit j is set when the person is on ``lists[j]``; ``counts[mask - 1]`` is
the number of persons with that pattern. The table is built from a CSV file with one row per person and
one 0/1 column per list (the layout of HRDAG's and the R packages' data, e.g. the Kosovo 1999 lists), or
from the linked register as one set of list names per person.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

MIN_LISTS = 2
# 2^15 - 1 = 32,767 cells: beyond that the table is mostly empty cells and no method here is meaningful.
MAX_LISTS = 15


class OverlapError(ValueError):
    """The data cannot be read as a list-overlap table (the message says where and why)."""


@dataclass(frozen=True, eq=False)
class OverlapTable:
    """Persons per capture pattern over a fixed, ordered set of lists.

    ``counts`` has 2^L - 1 entries, indexed by pattern mask - 1 (bit j = on ``lists[j]``).
    """

    lists: tuple[str, ...]
    counts: npt.NDArray[np.int64] = field(repr=False)

    def __post_init__(self) -> None:
        _check_lists(self.lists)
        counts = np.asarray(self.counts)
        if counts.shape != (2 ** len(self.lists) - 1,):
            raise OverlapError(
                f"{len(self.lists)} lists have {2 ** len(self.lists) - 1} capture patterns, got {counts.shape} counts"
            )
        if counts.size and (np.any(counts < 0) or not np.all(np.equal(np.mod(counts, 1), 0))):
            raise OverlapError("counts of persons must be whole numbers, zero or more")
        counts = counts.astype(np.int64)
        counts.setflags(write=False)
        object.__setattr__(self, "counts", counts)
        if self.documented == 0:
            raise OverlapError("the table holds no documented person")

    # -- construction -------------------------------------------------------------------------------------

    @classmethod
    def from_records(cls, records: Iterable[Iterable[str]], lists: Sequence[str] | None = None) -> OverlapTable:
        """One set of list names per documented person (the linked register's view).

        ``lists`` fixes the order of the lists (and may name a list that recorded nobody); by default the
        lists are taken in order of first appearance (names new in the same record in alphabetical order, so
        that the order does not depend on how a set happens to iterate).
        """
        order: list[str] = list(lists) if lists is not None else []
        index = {name: j for j, name in enumerate(order)}
        masks: list[int] = []
        for i, record in enumerate(records):
            mask = 0
            for name in sorted(record):
                if name not in index:
                    if lists is not None:
                        raise OverlapError(f"person {i + 1} is on list {name!r}, which is not one of {order}")
                    index[name] = len(order)
                    order.append(name)
                    if len(order) > MAX_LISTS:
                        raise OverlapError(f"more than {MAX_LISTS} lists")
                mask |= 1 << index[name]
            if mask == 0:
                raise OverlapError(f"person {i + 1} is on no list: a person on no list cannot be documented")
            masks.append(mask)
        if not masks:
            raise OverlapError("no records")
        _check_lists(tuple(order))
        counts = np.bincount(np.asarray(masks, dtype=np.int64), minlength=2 ** len(order))[1:]
        return cls(tuple(order), counts.astype(np.int64))

    @classmethod
    def from_patterns(cls, lists: Sequence[str], counts: Mapping[Sequence[int], int]) -> OverlapTable:
        """Counts keyed by 0/1 tuples in the order of ``lists``, e.g. ``{(1, 0, 1): 12, ...}``."""
        names = tuple(lists)
        _check_lists(names)
        out = np.zeros(2 ** len(names) - 1, dtype=np.int64)
        for pattern, count in counts.items():
            bits = tuple(int(b) for b in pattern)
            if len(bits) != len(names) or any(b not in (0, 1) for b in bits):
                raise OverlapError(f"pattern {pattern!r} is not {len(names)} zeros and ones")
            mask = sum(b << j for j, b in enumerate(bits))
            if mask == 0:
                if count:
                    raise OverlapError("the pattern on no list cannot have a count: it is what is estimated")
                continue
            out[mask - 1] += int(count)
        return cls(names, out)

    @classmethod
    def read_csv(cls, source: str | Path | io.TextIOBase, lists: Sequence[str] | None = None) -> OverlapTable:
        """Read one row per documented person, one 0/1 column per list (header = list names).

        ``lists`` picks the list columns (other columns, such as an identifier, are then ignored); by
        default every column must be a list. Raises :class:`OverlapError` on an empty file, a value other
        than 0 or 1, a row on no list, or fewer than 2 or more than 15 lists.
        """
        if isinstance(source, io.TextIOBase):
            return cls._read(source, lists, "<stream>")
        path = Path(source)
        with path.open(newline="", encoding="utf-8-sig") as fh:
            return cls._read(fh, lists, str(path))

    @classmethod
    def _read(cls, fh: Iterable[str], lists: Sequence[str] | None, where: str) -> OverlapTable:
        rows = csv.reader(fh)
        header = next(rows, None)
        if header is None or not any(h.strip() for h in header):
            raise OverlapError(f"{where}: empty file (expected a header row of list names)")
        header = [h.strip() for h in header]
        if lists is None:
            columns = list(range(len(header)))
            if any(not h for h in header):
                raise OverlapError(f"{where}: a column has no name in the header")
        else:
            missing = [name for name in lists if name not in header]
            if missing:
                raise OverlapError(f"{where}: no column named {', '.join(map(repr, missing))} in {header}")
            columns = [header.index(name) for name in lists]
        names = tuple(header[c] for c in columns)
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise OverlapError(f"{where}: list name(s) {', '.join(map(repr, dupes))} appear more than once")
        _check_lists(names, where)
        counts = np.zeros(2 ** len(names), dtype=np.int64)
        seen = 0
        for line, row in enumerate(rows, start=2):
            if not row or all(not v.strip() for v in row):
                continue
            if len(row) != len(header):
                raise OverlapError(f"{where}, line {line}: {len(row)} values for {len(header)} columns")
            mask = 0
            for j, c in enumerate(columns):
                value = row[c].strip()
                if value == "1":
                    mask |= 1 << j
                elif value != "0":
                    raise OverlapError(
                        f"{where}, line {line}, column {names[j]!r}: {value!r} is not 0 or 1 "
                        "(1 = the person is on this list, 0 = not)"
                    )
            if mask == 0:
                raise OverlapError(
                    f"{where}, line {line}: the person is on no list (all zeros); "
                    "a person on no list cannot be documented: remove the row"
                )
            counts[mask] += 1
            seen += 1
        if seen == 0:
            raise OverlapError(f"{where}: no rows after the header")
        return cls(names, counts[1:])

    # -- views --------------------------------------------------------------------------------------------

    @property
    def documented(self) -> int:
        """Persons on at least one list: the documented count."""
        return int(self.counts.sum())

    @property
    def n_lists(self) -> int:
        return len(self.lists)

    def patterns(self) -> npt.NDArray[np.int8]:
        """The 2^L - 1 capture patterns as a 0/1 matrix, row ``mask - 1`` for pattern ``mask``."""
        return pattern_matrix(self.n_lists)

    def observed(self) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.int64]]:
        """Only the patterns someone has (count > 0) and their counts: what the latent-class sampler needs."""
        keep = self.counts > 0
        return self.patterns()[keep], self.counts[keep]

    def coverage(self) -> dict[str, int]:
        """Persons on each list (a person on two lists counts for both)."""
        per_list = self.patterns().T.astype(np.int64) @ self.counts
        return {name: int(n) for name, n in zip(self.lists, per_list, strict=True)}

    def count(self, *names: str) -> int:
        """Persons whose pattern is exactly the given lists."""
        mask = 0
        for name in names:
            if name not in self.lists:
                raise KeyError(name)
            mask |= 1 << self.lists.index(name)
        return int(self.counts[mask - 1]) if mask else 0

    def records(self) -> Iterator[frozenset[str]]:
        """One set of list names per documented person (the inverse of :meth:`from_records`)."""
        for mask in range(1, 2**self.n_lists):
            members = frozenset(name for j, name in enumerate(self.lists) if mask >> j & 1)
            for _ in range(int(self.counts[mask - 1])):
                yield members

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe: list names and the count of every pattern, named by its lists joined with '+'."""
        return {
            "lists": list(self.lists),
            "documented": self.documented,
            "patterns": {
                "+".join(n for j, n in enumerate(self.lists) if mask >> j & 1): int(self.counts[mask - 1])
                for mask in range(1, 2**self.n_lists)
            },
        }

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, OverlapTable):
            return NotImplemented
        return self.lists == other.lists and bool(np.array_equal(self.counts, other.counts))

    def __hash__(self) -> int:
        return hash((self.lists, self.counts.tobytes()))


def pattern_matrix(n_lists: int) -> npt.NDArray[np.int8]:
    """Rows = masks 1 .. 2^L - 1, columns = lists; entry 1 when the list's bit is set."""
    masks = np.arange(1, 2**n_lists, dtype=np.int64)
    return ((masks[:, None] >> np.arange(n_lists)) & 1).astype(np.int8)


def _check_lists(names: tuple[str, ...], where: str = "") -> None:
    prefix = f"{where}: " if where else ""
    if len(names) < MIN_LISTS:
        raise OverlapError(
            f"{prefix}{len(names)} list(s): estimation needs at least {MIN_LISTS} lists that overlap, "
            "since the overlap between lists is what tells how much all of them missed"
        )
    if len(names) > MAX_LISTS:
        raise OverlapError(f"{prefix}{len(names)} lists: at most {MAX_LISTS} are supported (merge small lists)")
    if len(set(names)) != len(names):
        raise OverlapError(f"{prefix}list names must be distinct: {names}")
