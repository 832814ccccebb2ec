"""Letterbox and pillarbox bars: where the picture is inside flat borders.

A repost often puts a phone's portrait video inside a 16:9 frame, or a 16:9
picture inside a square one, with black (or coloured) bars. A perceptual hash
of the whole frame then hashes the bars as much as the picture, and the copy
no longer matches its source. The bars are found here and cut off before
hashing: across sampled frames for a video (bars are the same in every frame),
in the one picture for a photo.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

Box = tuple[int, int, int, int]
"""(x, y, width, height) of the picture inside its bars."""

# Luma values are 0..255.
FLAT_STD = 5.0
"""A row or column whose luma varies less than this is flat (a black bar's compression noise stays under ~2)."""
BAR_DRIFT = 8.0
"""A bar keeps its colour: its mean luma moves less than this between the sampled frames."""
DARK_BAR = 40.0
"""A flat edge at most this bright is a bar on its own; a lighter one (a wall?) only if the opposite edge matches."""
MIN_BAR = 0.01
"""Edges thinner than this share of the frame are left alone: they change a hash by nothing worth a crop."""
MIN_CONTENT = 0.2
"""What is left after the bars must be at least this share of the frame (a 9:16 phone video in 16:9 keeps 0.32)."""


def find_content_box(lumas: Sequence[np.ndarray]) -> Box | None:
    """Where the picture is inside bars that every sampled frame shares, or None.

    A bar is a run of rows (or columns) from an edge that is flat in every
    sample and keeps its colour from sample to sample. Dark bars count on their
    own; a lighter flat edge counts only with a matching one opposite, because a
    plain wall at one side of a still shot is flat too. Samples that are flat
    all over (black frames, fades) are left out: they cannot tell bar from
    picture. Rows are found first, then columns within the rows that remain.
    """
    usable = [g.astype(np.float32) for g in lumas if g.ndim == 2 and g.size and float(g.std()) > FLAT_STD]
    if not usable:
        return None
    height, width = usable[0].shape
    usable = [g for g in usable if g.shape == (height, width)]
    stack = np.stack(usable)
    top, bottom = _bars(stack.mean(axis=2), stack.std(axis=2))
    inner = stack[:, top : height - bottom, :]
    left, right = _bars(inner.mean(axis=1), inner.std(axis=1))
    if top == bottom == left == right == 0:
        return None
    return (left, top, width - left - right, height - top - bottom)


def _bars(means: np.ndarray, stds: np.ndarray) -> tuple[int, int]:
    """Widths of the bars at the two ends of one axis, from per-sample line means and spreads."""
    length = means.shape[1]
    flat = (stds <= FLAT_STD).all(axis=0) & (np.ptp(means, axis=0) <= BAR_DRIFT)
    lead = _run(flat)
    trail = _run(flat[::-1])
    if lead >= length:  # flat all the way across in every sample: no picture to find bars around
        return 0, 0
    lead_colour = float(np.median(means[:, :lead])) if lead else 0.0
    trail_colour = float(np.median(means[:, length - trail :])) if trail else 0.0
    minimum = max(2, math.ceil(MIN_BAR * length))
    paired = (
        lead >= minimum
        and trail >= minimum
        and abs(lead_colour - trail_colour) <= BAR_DRIFT
        and abs(lead - trail) <= max(4, 0.02 * length)
    )
    lead = lead if lead >= minimum and (lead_colour <= DARK_BAR or paired) else 0
    trail = trail if trail >= minimum and (trail_colour <= DARK_BAR or paired) else 0
    if length - lead - trail < MIN_CONTENT * length:
        return 0, 0
    return lead, trail


def _run(flags: np.ndarray) -> int:
    """How many leading entries are True."""
    false = np.flatnonzero(~flags)
    return int(false[0]) if false.size else int(flags.size)
