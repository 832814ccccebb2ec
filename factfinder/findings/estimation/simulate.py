"""Known populations for checking the estimators, and the linkage errors a real register makes.

An estimator is only believable if, on populations whose size is known, its intervals contain the truth as
often as they claim. ``simulate`` makes such a population: N persons in latent strata (persons who are easy
or hard to record), each list recording each person with a probability that depends on the stratum, and,
optionally, dependence between lists within a stratum (being on list A makes being on list B more or less
likely, as when one organisation passes names to another). Only the persons some list recorded are returned,
as the investigators would see them.

``inject_linkage_errors`` then spoils the record linkage the way real matching does. Estimation counts a
person once however many lists recorded them, so it relies on the register's links:

- a **missed link** leaves one person's records as two persons (the spelling differed too much): the lists
  seem to overlap less, which reads as "each list misses a lot", and the estimate goes **up**;
- a **false merge** joins two different persons into one (same common name, same village): the lists seem to
  overlap more, and the estimate goes **down**.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from factfinder.findings.estimation.overlap import OverlapTable, pattern_matrix

Seed = int | np.random.Generator | None


@dataclass(frozen=True)
class Simulation:
    """A simulated population: its true size and what the lists documented of it."""

    lists: tuple[str, ...]
    size: int
    records: tuple[frozenset[str], ...]
    table: OverlapTable

    @property
    def documented(self) -> int:
        return len(self.records)

    @property
    def hidden(self) -> int:
        """Persons no list recorded: what an estimator has to find."""
        return self.size - self.documented


def simulate(
    size: int,
    capture: Sequence[Sequence[float]],
    *,
    shares: Sequence[float] | None = None,
    dependence: Mapping[tuple[str, str], float] | None = None,
    lists: Sequence[str] | None = None,
    seed: Seed = None,
) -> Simulation:
    """A population of ``size`` persons recorded by 2 to 15 lists.

    ``capture[s][j]`` is the probability that list j records a person of stratum s (one row per stratum;
    a single row means everybody is alike). ``shares`` are the strata's expected shares of the population
    (equal by default); stratum sizes are a multinomial draw. ``dependence`` maps a pair of list names to
    the log odds ratio of being on both within a stratum (positive: the lists share names; negative: they
    avoid each other); with dependence the ``capture`` values are the probabilities before that adjustment.
    """
    rng = np.random.default_rng(seed)
    probs = np.asarray(capture, dtype=np.float64)
    if probs.ndim != 2 or probs.shape[0] < 1:
        raise ValueError("capture must be one row of probabilities per stratum")
    if np.any(probs <= 0) or np.any(probs >= 1):
        raise ValueError("capture probabilities must be strictly between 0 and 1")
    n_lists = probs.shape[1]
    names = tuple(lists) if lists is not None else tuple(_default_names(n_lists))
    if len(names) != n_lists:
        raise ValueError(f"{len(names)} list names for {n_lists} lists")
    weights = np.full(len(probs), 1.0 / len(probs)) if shares is None else np.asarray(shares, dtype=np.float64)
    if weights.shape != (len(probs),) or np.any(weights < 0) or weights.sum() <= 0:
        raise ValueError("shares must be one non-negative number per stratum")
    weights = weights / weights.sum()
    index = {name: j for j, name in enumerate(names)}
    gamma = np.zeros((n_lists, n_lists))
    for (a, b), value in (dependence or {}).items():
        if a not in index or b not in index or a == b:
            raise ValueError(f"dependence {a!r}-{b!r} does not name two of the lists {names}")
        gamma[index[a], index[b]] = gamma[index[b], index[a]] = value
    # Every pattern, "on no list" included: row 0 is the empty pattern, row m is mask m.
    x = np.vstack([np.zeros((1, n_lists), dtype=np.int8), pattern_matrix(n_lists)]).astype(np.float64)
    pair_term = 0.5 * np.einsum("mi,ij,mj->m", x, gamma, x)
    strata = rng.multinomial(size, weights)
    counts = np.zeros(len(x), dtype=np.int64)
    for stratum_size, p in zip(strata, probs, strict=True):
        logit = np.log(p) - np.log1p(-p)
        log_w = x @ logit + pair_term
        w = np.exp(log_w - log_w.max())
        counts += rng.multinomial(stratum_size, w / w.sum())
    documented = counts[1:]
    if documented.sum() == 0:
        raise ValueError("no one was documented: raise the size or the capture probabilities")
    table = OverlapTable(names, documented)
    records = list(table.records())
    order = rng.permutation(len(records))
    return Simulation(names, size, tuple(records[i] for i in order), table)


def inject_linkage_errors(
    records: Sequence[frozenset[str]] | Sequence[set[str]],
    missed_link_rate: float,
    false_merge_rate: float,
    rng: Seed = None,
) -> list[frozenset[str]]:
    """The register as a matcher with these error rates would have made it.

    ``missed_link_rate``: the chance that a person recorded by two or more lists is left as two persons
    (their lists split at random into two non-empty parts). ``false_merge_rate``: the share of the persons
    (after the splits) that are merged, in random pairs, with another person (their lists joined). Splits
    come first, so a person can be split and then merged with someone else, as in a real register.
    """
    for name, rate in (("missed_link_rate", missed_link_rate), ("false_merge_rate", false_merge_rate)):
        if not 0.0 <= rate <= 1.0 or math.isnan(rate):
            raise ValueError(f"{name} must be between 0 and 1, got {rate}")
    gen = np.random.default_rng(rng)
    out: list[frozenset[str]] = []
    for record in records:
        members = sorted(record)
        if len(members) >= 2 and gen.random() < missed_link_rate:
            # A random proper, non-empty subset of the person's lists becomes the second "person".
            mask = int(gen.integers(1, 2 ** len(members) - 1))
            first = frozenset(m for j, m in enumerate(members) if mask >> j & 1)
            out.extend([first, frozenset(members) - first])
        else:
            out.append(frozenset(members))
    merges = int(gen.binomial(len(out) // 2, false_merge_rate)) if len(out) >= 2 else 0
    if merges:
        chosen = gen.choice(len(out), size=2 * merges, replace=False)
        gone: set[int] = set()
        for a, b in _pairs(chosen.tolist()):
            out[a] = out[a] | out[b]
            gone.add(b)
        out = [r for i, r in enumerate(out) if i not in gone]
    return out


def _pairs(values: Sequence[int]) -> list[tuple[int, int]]:
    return [(int(values[i]), int(values[i + 1])) for i in range(0, len(values) - 1, 2)]


def _default_names(n: int) -> list[str]:
    return [chr(ord("A") + j) for j in range(n)]
