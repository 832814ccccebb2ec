"""Clusters of near-duplicates: items linked by confirmed matches, without runaway chaining.

Plain connected components over "matches" links go wrong in a way that
matters here: A matches B at 28 bits, B matches C at 28 bits, and A and C,
56 bits apart, are different pictures, yet one component holds all three. With
thousands of reposts, one chain of borderline matches can merge unrelated
events into one cluster. So links are of two strengths:

- a **strong** link (near-identical: see ``STRONG_*``) merges two clusters
  outright, because a picture cannot be near-identical to two unrelated ones;
- a **borderline** link merges two clusters only when the clusters are linked
  by a majority of their member pairs (more than half of ``|A| x |B|``), as in
  average linkage. Two single items joined by one borderline link merge; a
  third item that matches only one of them does not join.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

STRONG_IMAGE_DISTANCE = 20
"""Pictures at most this many bits apart (of PDQ's 256) are the same picture beyond doubt."""
STRONG_VIDEO_SHARE = 0.8
"""Videos whose shorter one has this share of its frames inside the other, ..."""
STRONG_VIDEO_DISTANCE = 16
"""... with a median frame distance at most this, are the same footage beyond doubt."""


@dataclass(frozen=True)
class Link:
    a: int
    b: int
    strong: bool


def build_clusters(links: Iterable[Link]) -> dict[int, int]:
    """Map each linked item to its cluster id (the smallest item id in the cluster).

    Items with no link are in no cluster. Strong links are applied first, then
    borderline ones in order (callers pass them best first), each checked
    against the clusters as they stand.
    """
    links = list(links)
    parent: dict[int, int] = {}
    members: dict[int, set[int]] = {}

    def find(x: int) -> int:
        parent.setdefault(x, x)
        members.setdefault(x, {x})
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(x: int, y: int) -> None:
        rx, ry = find(x), find(y)
        if rx == ry:
            return
        if len(members[rx]) < len(members[ry]):
            rx, ry = ry, rx
        parent[ry] = rx
        members[rx] |= members.pop(ry)

    neighbours: dict[int, set[int]] = defaultdict(set)
    for link in links:
        if link.a == link.b:
            continue
        neighbours[link.a].add(link.b)
        neighbours[link.b].add(link.a)
        find(link.a)
        find(link.b)
    for link in links:
        if link.strong:
            union(link.a, link.b)
    for link in links:
        if link.strong:
            continue
        ra, rb = find(link.a), find(link.b)
        if ra == rb:
            continue
        group_a, group_b = members[ra], members[rb]
        cross = sum(len(neighbours[x] & group_b) for x in group_a)
        if cross * 2 > len(group_a) * len(group_b):
            union(link.a, link.b)
    out: dict[int, int] = {}
    for group in members.values():
        if len(group) < 2:
            continue
        cid = min(group)
        for item in group:
            out[item] = cid
    return out
