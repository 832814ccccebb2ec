"""vPDQ-style video hashes: PDQ of sampled frames, and matching two videos by their frames.

vPDQ (Meta's video PDQ, facebook/ThreatExchange ``vpdq``) describes a video by the PDQ
hashes of its frames and calls two videos the same when enough frames of one find a
frame of the other within PDQ's distance (31 bits). We follow it, with what reposts of
witness video need on top:

- Two passes. The keyframe pass decodes keyframes only (the decoder skips everything
  else), so a first look at a long video costs a small part of decoding it. The
  per-second pass decodes every frame and hashes about one frame per ``every``
  seconds (vPDQ's "seconds per hash"); it is what matching uses.
- Which frame in each second is chosen by the picture, not by the clock. Handheld
  video changes fast: in the test clips two frames 1/30 s apart already differ by
  20-40 bits, and frames half a second apart by ~120 (as far as unrelated pictures).
  A copy cut 3.7 s into the original and sampled on the clock never shows the same
  frame as the original, so nothing matches. We hash the frames where the picture
  changes most (the largest change from the previous frame within half a sampling
  interval either side, with a frame at least every two intervals); two copies of
  the same footage pick the same frames wherever they were cut, ~96 % of the time
  in the test clips. This is winnowing (Schleimer et al., 2003) on a motion signal.
- Letterbox and pillarbox bars are found and cut off before hashing, because a
  repost that puts a phone video inside a 16:9 frame (or the other way round)
  otherwise hashes the bars as much as the picture.
- Frames are turned upright from the stream's display matrix, because phones store
  portrait video sideways and say so only in the metadata.
- Frames are scaled to fit 512 pixels before hashing, as PDQ's reference hasher does
  for pictures: hashes move by a few bits (well inside 31) and hashing a frame costs
  a few milliseconds instead of tens.
- A damaged file is analysed as far as it decodes, and says where it broke in
  ``warnings``; only a file with nothing decodable raises ``VideoDecodeError``.
- Memory is bounded whatever the file says. Pictures over ``MAX_PIXELS`` are
  refused (the decoder is told so too); the frames waiting for the motion
  sampler's decision are kept as the scaled picture to hash (<= ``side``
  pixels a side), never as decoded frames, and at most ``MAX_WINDOW_FRAMES``
  wait at once (a 1000 fps file would otherwise hold 500); timestamps that
  jump back (joined MPEG-TS files restart at zero) close the window and start
  sampling afresh.

Matching (``match_videos``) also says *where*: frames that match vote for the time
offset between the two videos, and runs of frames agreeing on an offset become
segments, so a clip cut from a longer recording is reported with the time it was
cut from.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

import av
import av.container
import av.video.frame
import av.video.stream
import numpy as np
from av.video.reformatter import VideoReformatter

from factfinder.media.borders import Box, find_content_box
from factfinder.media.pdq import HASH_BYTES, HASH_SIDE, MATCH_DISTANCE, MIN_QUALITY, PdqHash, hash_rgb

HASH_BITS = HASH_BYTES * 8
Sampling = Literal["motion", "clock"]

THUMB_SIDE = 64
"""Frames are compared for the motion signal at this size (grey): enough to see change, ~0.3 ms a frame."""

# Letterbox/pillarbox detection. Luma values are 0..255.
BORDER_SAMPLES = 7
"""Frames looked at, spread across the video, to tell bars (the same in every frame) from picture."""
BORDER_SCAN_SIDE = 960
"""Frames larger than this are subsampled for bar detection (a 4K frame would take 8 MB a sample)."""
# Matching.
MATCH_SHARE = 0.5
"""``VideoMatch.matched``: at least this share of the shorter video's usable frames find a frame in the other."""
MIN_SEGMENT_FRAMES = 2
"""A segment is at least this many sampled frames agreeing on one offset (one frame alone can be chance)."""
MAX_MISSES = 2
"""A segment goes on across at most this many frames of a in a row that do not match at its offset."""
MAX_CANDIDATES = 64
"""Per frame, at most this many nearest matching frames of the other video vote on offsets (bounds still scenes)."""
MAX_BAD_PACKETS = 200
"""Give up on a stream after this many packets the decoder refused (it is noise, not video, by then)."""
MAX_PIXELS = 8192 * 8192
"""Pictures larger than this (67 megapixels, twice 8K) are refused: one would take 100 MB decoded."""
MAX_WINDOW_FRAMES = 120
"""At most this many frames wait for the motion sampler's decision (the window is ~``every`` seconds of frames)."""
MIN_WINDOW_FRAMES = 8
"""The window cap is two intervals' worth of frames at the stream's nominal rate, but never below this."""
MAX_OFFSETS = 20
"""``match_videos`` tries at most this many offsets, most voted first (a still scene votes for hundreds)."""
MAX_SEGMENTS = 20
"""``match_videos`` reports at most this many segments, the longest."""


@dataclass(frozen=True)
class FrameHash:
    """The PDQ hash of one frame and when it is shown."""

    t: float
    """Seconds from the start of the video (presentation time)."""
    hash: bytes
    quality: int
    keyframe: bool

    @property
    def usable(self) -> bool:
        """Good enough to link videos (PDQ quality 50 or more; black and flat frames match everything)."""
        return self.quality >= MIN_QUALITY


@dataclass
class VideoHashes:
    """The hashes of one video file and what decoding it found out.

    ``width``/``height`` are the stored (coded) picture size before rotation;
    ``rotation`` is how many degrees counter-clockwise the frames are turned to
    show them upright (FFmpeg's display-matrix convention: a phone's "rotate=90"
    portrait video reads 270); ``content_box`` is ``(x, y, w, h)`` of the picture
    inside its bars, in stored-frame pixels, or None when no bars were found.
    ``keyframes``: every keyframe; ``seconds``: about one frame per sampling
    interval, chosen where the picture changes most (see the module's notes).
    """

    duration: float | None
    width: int
    height: int
    rotation: int
    content_box: Box | None
    keyframes: list[FrameHash] = field(default_factory=list)
    seconds: list[FrameHash] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class VideoDecodeError(Exception):
    """Nothing in the file could be decoded as video; the message says why in plain words."""


# ---------------------------------------------------------------------------------------------- hashing


def hash_video(
    source: Path, *, every: float = 1.0, side: int = HASH_SIDE, crop_borders: bool = True, sampling: Sampling = "motion"
) -> VideoHashes:
    """Keyframe and per-second hashes of a video file, from one decode of it.

    Keyframes come from the same decode as the per-second frames (a keyframe
    decodes to the same picture whether or not the frames around it are
    decoded), so this costs one decode, not two. Raises ``VideoDecodeError``
    when nothing is decodable; a damaged file gives what it has and warnings.
    """
    return hash_frames(source, every=every, side=side, crop_borders=crop_borders, sampling=sampling)


def hash_keyframes(source: Path, *, side: int = HASH_SIDE, crop_borders: bool = True) -> VideoHashes:
    """The fast pass: hashes of keyframes only; ``seconds`` stays empty.

    The decoder is told to skip every other frame (``skip_frame = "NONKEY"``)
    and is not even handed their packets, so this costs a fraction of decoding
    the video: enough to triage a large intake before the per-second pass.
    """
    return hash_frames(source, every=None, keyframes_only=True, side=side, crop_borders=crop_borders)


def hash_frames(
    source: Path,
    *,
    every: float | None,
    sampling: Sampling = "motion",
    keyframes: bool = True,
    keyframes_only: bool = False,
    side: int | None = HASH_SIDE,
    crop_borders: bool = True,
) -> VideoHashes:
    """Decode a video once and hash the frames asked for.

    ``every``: the sampling interval in seconds for ``seconds``; None hashes
    every decoded frame. ``sampling``: "motion" (default) picks the frame of
    largest change within half an interval either side, at least one every two
    intervals, so copies cut at different points pick the same frames; "clock"
    picks the first frame at or after each multiple of ``every`` (vPDQ's way,
    kept for comparison). ``keyframes``: also hash every keyframe.
    ``keyframes_only``: decode keyframes only and fill ``keyframes`` alone.
    ``side``: scale frames to fit this square before hashing; None hashes them
    at full size (what vPDQ's reference hashes were made from).
    ``crop_borders``: find letterbox/pillarbox bars and hash the picture inside.
    """
    if every is not None and not every > 0:
        raise ValueError("every must be a positive number of seconds or None")
    if every is not None and sampling not in ("motion", "clock"):
        raise ValueError(f"unknown sampling {sampling!r}: 'motion' or 'clock'")
    _check_file(source)
    box = detect_content_box(source) if crop_borders else None
    with _open_video(source) as (container, stream):
        sampler: _Sampler
        if every is None:
            sampler = _EveryFrame()
        elif sampling == "motion":
            sampler = _MotionPeaks(every, _window_cap(_nominal_rate(stream), every))
        else:
            sampler = _Clock(every)
        hasher = _FrameHasher(box, side)
        return _Scan(container, stream, hasher, sampler, keyframes=keyframes, keyframes_only=keyframes_only).run()


def _nominal_rate(stream: av.video.stream.VideoStream) -> float:
    """Frames a second as the file declares them (30 when it does not say)."""
    return float(stream.average_rate or stream.guessed_rate or 30)


def _window_cap(rate: float, every: float) -> int:
    """How many frames may wait for the motion sampler: two intervals' worth at ``rate``, within bounds."""
    wanted = 2 * rate * every + 2 if math.isfinite(rate) and rate > 0 else MAX_WINDOW_FRAMES
    return int(min(MAX_WINDOW_FRAMES, max(MIN_WINDOW_FRAMES, math.ceil(wanted))))


def _check_file(source: Path) -> None:
    """A missing file is the caller's mistake (FileNotFoundError); an empty one is bad input."""
    if source.stat().st_size == 0:
        raise VideoDecodeError("the file is empty (0 bytes)")


@contextmanager
def _open_video(source: Path) -> Iterator[tuple[av.container.InputContainer, av.video.stream.VideoStream]]:
    """The container and its first video stream, or ``VideoDecodeError`` saying why there is none."""
    try:
        container = av.open(str(source), mode="r")
    except (av.FFmpegError, OSError, ValueError, UnicodeError) as exc:
        raise VideoDecodeError(f"not a video file this tool can read ({_reason(exc)})") from None
    try:
        if not container.streams.video:
            kind = " (sound only)" if container.streams.audio else ""
            raise VideoDecodeError(f"the file has no video stream{kind}")
        stream = container.streams.video[0]
        width, height = stream.width or 0, stream.height or 0
        if width * height > MAX_PIXELS:
            raise VideoDecodeError(f"the picture is too large to read ({width} x {height} pixels)")
        stream.codec_context.thread_type = "AUTO"  # decode on every core; frame threads only delay output
        stream.codec_context.options = {"max_pixels": str(MAX_PIXELS)}  # the decoder refuses larger ones itself
        yield container, stream
    finally:
        container.close()


DECODE_ERRORS = (av.FFmpegError, OSError, ValueError, RuntimeError, EOFError, MemoryError)
"""What PyAV and FFmpeg raise for damaged input (``av.FFmpegError`` covers every ``av.error`` class)."""


def _reason(exc: BaseException) -> str:
    """FFmpeg's words for an error, without the file name it appends."""
    if isinstance(exc, av.FFmpegError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def _stream_start(stream: av.video.stream.VideoStream) -> float:
    if stream.start_time is None or stream.time_base is None:
        return 0.0
    return float(stream.start_time * stream.time_base)


def _declared_duration(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> float | None:
    """How long the file says its video is (the stream's figure, else the container's), or None."""
    if stream.duration is not None and stream.duration > 0 and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None and container.duration > 0:
        return container.duration / av.time_base
    return None


def _rotation(frame: av.video.frame.VideoFrame) -> int:
    """Degrees counter-clockwise (0, 90, 180, 270) that show the frame upright."""
    return (round(frame.rotation / 90) * 90) % 360


def _fitting_box(box: Box | None, frame: av.video.frame.VideoFrame) -> Box:
    """The content box, or the whole frame when there is none or it does not fit (the size changed mid-stream)."""
    if box and box[0] + box[2] <= frame.width and box[1] + box[3] <= frame.height:
        return box
    return (0, 0, frame.width, frame.height)


class _FrameHasher:
    """Frames to upright, cropped, scaled RGB and their PDQ hash.

    One scaler is kept for the whole video: setting one up costs more than
    using it, and PyAV otherwise makes a new one for every frame.
    """

    def __init__(self, box: Box | None, side: int | None) -> None:
        self.box = box
        self.side = side
        self.scaler = VideoReformatter()

    def rgb(self, frame: av.video.frame.VideoFrame) -> np.ndarray:
        """The scaler works on the whole frame at the size that makes the picture inside
        the bars fit ``side``, and the bars are sliced off afterwards: one conversion,
        never a full-size RGB copy."""
        width, height = frame.width, frame.height
        x, y, w, h = _fitting_box(self.box, frame)
        scale = 1.0 if self.side is None else min(1.0, self.side / max(w, h))
        sw, sh = (max(1, round(width * scale)), max(1, round(height * scale))) if scale < 1.0 else (width, height)
        rgb = self.scaler.reformat(frame, width=sw, height=sh, format="rgb24", interpolation="AREA").to_ndarray()
        if (x, y, w, h) != (0, 0, width, height):
            x0, y0 = round(x * scale), round(y * scale)
            x1, y1 = max(x0 + 1, min(sw, round((x + w) * scale))), max(y0 + 1, min(sh, round((y + h) * scale)))
            rgb = rgb[y0:y1, x0:x1]
        turns = _rotation(frame) // 90
        if turns:
            rgb = np.rot90(rgb, turns)  # np.rot90 turns counter-clockwise, as the display matrix does
        return rgb

    def hash(self, frame: av.video.frame.VideoFrame) -> PdqHash:
        return hash_rgb(self.rgb(frame))


@dataclass(eq=False)
class _Pending:
    """A frame waiting for the sampler's decision: its motion, and its picture as it will be hashed.

    ``rgb`` is the upright, cropped, scaled picture (at most ``side`` pixels a
    side), never the decoded frame, so a waiting frame costs at most
    512 x 512 x 3 bytes whatever the video's size; it is dropped once decided.
    A keyframe is hashed at once and waits with its ``pdq`` alone. ``candidate``
    is False once the sampler knows it will not take the frame (no picture is kept).
    """

    index: int
    t: float
    motion: float
    keyframe: bool
    rgb: np.ndarray | None = None
    pdq: PdqHash | None = None
    candidate: bool = True


class _Sampler(Protocol):
    needs_motion: bool
    holds_frames: bool
    """Frames may wait in the sampler (they are handed over with their picture); else each is decided at once."""

    def push(self, item: _Pending) -> list[_Pending]:
        """Take the next frame; return the frames now decided to be hashed, in time order."""
        ...

    def finish(self) -> list[_Pending]:
        """The stream ended: decide what is still waiting."""
        ...


class _EveryFrame:
    needs_motion = False
    holds_frames = False

    def push(self, item: _Pending) -> list[_Pending]:
        return [item]

    def finish(self) -> list[_Pending]:
        return []


class _Clock:
    """The first frame at or after each multiple of ``every`` seconds (vPDQ's sampling)."""

    needs_motion = False
    holds_frames = False
    EPS = 1e-3

    def __init__(self, every: float) -> None:
        self.every = every
        self.next_t = 0.0

    def push(self, item: _Pending) -> list[_Pending]:
        if item.t + self.EPS < self.next_t:
            return []
        self.next_t = (math.floor((item.t + self.EPS) / self.every) + 1) * self.every
        return [item]

    def finish(self) -> list[_Pending]:
        return []


class _MotionPeaks:
    """Frames whose change from the previous frame is the largest within ``every / 2`` seconds either side.

    Such a frame is chosen by the footage itself, so every copy of the footage
    chooses it, however it was trimmed; at most one per ``every`` seconds by
    construction, about one in practice. The first frame is always taken, and
    a frame is taken whenever two intervals pass without one (a still or a
    steady pan has no peaks), so no stretch of video goes unsampled.
    Ties go to the earlier frame. Deciding a frame needs the frames up to half
    an interval after it, so that many frames wait (about 15 at 30 fps).

    The window is bounded: at most ``cap`` frames (two intervals' worth at the
    nominal rate, never more than ``MAX_WINDOW_FRAMES``); past that the oldest
    is decided with the frames seen so far. A timestamp going back (joined
    files, a broken muxer) decides everything waiting and starts afresh, as at
    the start of a video. ``peak`` is the most frames that waited at once.
    """

    needs_motion = True
    holds_frames = True
    EPS = 1e-3

    def __init__(self, every: float, cap: int = MAX_WINDOW_FRAMES) -> None:
        self.every = every
        self.half = every / 2
        self.cap = max(1, cap)
        self.window: list[_Pending] = []
        self.undecided = 0  # index in window of the oldest frame not yet decided
        self.last_taken: float | None = None
        self.peak = 0
        self.restarts = 0  # times the timestamps went back

    def push(self, item: _Pending) -> list[_Pending]:
        taken: list[_Pending] = []
        if self.window and item.t < self.window[-1].t - self.EPS:
            taken += self.finish()
            self.last_taken = None
            self.restarts += 1
        item.candidate = self._may_take(item)
        self.window.append(item)
        self.peak = max(self.peak, len(self.window))
        while self.undecided < len(self.window) and item.t > self.window[self.undecided].t + self.half + self.EPS:
            taken += self._decide(self.window[self.undecided])
            self.undecided += 1
        keep_from = self.window[min(self.undecided, len(self.window) - 1)].t - self.half - self.EPS
        drop = 0
        while drop < self.undecided and self.window[drop].t < keep_from:
            drop += 1
        while len(self.window) - drop >= self.cap:  # too many waiting: decide the oldest now
            if drop == self.undecided:
                taken += self._decide(self.window[self.undecided], forced=True)
                self.undecided += 1
            drop += 1
        del self.window[:drop]
        self.undecided -= drop
        return taken

    def finish(self) -> list[_Pending]:
        taken: list[_Pending] = []
        for item in self.window[self.undecided :]:
            taken += self._decide(item)
        self.window.clear()
        self.undecided = 0
        return taken

    def _may_take(self, item: _Pending) -> bool:
        """False when the frame can no longer be taken, whatever comes after it.

        An earlier frame within half an interval that moved as much or more
        beats it (ties go to the earlier frame), and ``last_taken`` only grows,
        so a frame not due now never will be. Only candidates keep a picture:
        about one frame in four or five at 30 fps.
        """
        if self.last_taken is None or item.t - self.last_taken >= 2 * self.every - self.EPS:
            return True
        return not any(
            other.motion >= item.motion and abs(other.t - item.t) <= self.half + self.EPS for other in self.window
        )

    def _decide(self, item: _Pending, *, forced: bool = False) -> list[_Pending]:
        """``forced``: decided early (the window is full) on part of the frames after it; a peak among those
        is taken only half an interval after the last frame taken, so a crowded stream still gives about
        one frame an interval."""
        peak = item.candidate and all(
            item.motion > other.motion or (item.motion == other.motion and item.index < other.index)
            for other in self.window
            if other is not item and abs(other.t - item.t) <= self.half + self.EPS
        )
        if forced and self.last_taken is not None and item.t - self.last_taken <= self.half + self.EPS:
            peak = False
        due = self.last_taken is None or item.t - self.last_taken >= 2 * self.every - self.EPS
        if peak or due:
            self.last_taken = item.t
            return [item]
        item.rgb, item.candidate = None, False
        return []


class _Motion:
    """How much the picture changed since the previous frame: mean absolute difference of small grey copies.

    Measured inside the bars (the picture inside is brought to 64 x 64 whatever
    its size), so a copy on a wide black canvas sees the same motion as its
    source; a logo or a colour change barely touch the signal, and only where
    its peaks fall matters.
    """

    def __init__(self, box: Box | None) -> None:
        self.box = box
        self.scaler = VideoReformatter()
        self.previous: np.ndarray | None = None

    def __call__(self, frame: av.video.frame.VideoFrame) -> float:
        x, y, w, h = _fitting_box(self.box, frame)
        sx, sy = THUMB_SIDE / w, THUMB_SIDE / h
        width, height = max(1, round(frame.width * sx)), max(1, round(frame.height * sy))
        grey = self.scaler.reformat(frame, width=width, height=height, format="gray", interpolation="AREA")
        x0, y0 = round(x * sx), round(y * sy)
        thumb: np.ndarray = grey.to_ndarray()[y0 : y0 + THUMB_SIDE, x0 : x0 + THUMB_SIDE].astype(np.int16)
        previous, self.previous = self.previous, thumb
        if previous is None or previous.shape != thumb.shape:
            return 0.0
        return float(np.abs(thumb - previous).mean())


@dataclass
class _Damage:
    """What went wrong while decoding, kept to be told once in the warnings."""

    bad_packets: int = 0
    first_bad: float | None = None
    bad_reason: str = ""
    bad_frames: int = 0
    first_bad_frame: float | None = None
    oversized: int = 0
    broken: BaseException | None = None

    def packet(self, t: float, exc: BaseException) -> None:
        self.bad_packets += 1
        if self.first_bad is None:
            self.first_bad, self.bad_reason = t, _reason(exc)

    def frame(self, t: float) -> None:
        self.bad_frames += 1
        if self.first_bad_frame is None:
            self.first_bad_frame = t

    def warnings(self, last_t: float | None) -> list[str]:
        notes = []
        if self.bad_packets:
            first = f"the first after {self.first_bad:.1f} s"
            notes.append(f"{self.bad_packets} damaged packet(s) skipped, {first}: {self.bad_reason}")
        if self.bad_frames:
            notes.append(f"{self.bad_frames} frame(s) decoded with errors, the first at {self.first_bad_frame:.1f} s")
        if self.oversized:
            notes.append(f"{self.oversized} frame(s) larger than {MAX_PIXELS // 1_000_000} megapixels skipped")
        if self.broken is not None:
            notes.append(f"stream broken after {last_t or 0.0:.1f} s: {_reason(self.broken)}")
        return notes


class _Scan:
    """One decode of one video stream: frames in, hashes and warnings out."""

    def __init__(
        self,
        container: av.container.InputContainer,
        stream: av.video.stream.VideoStream,
        hasher: _FrameHasher,
        sampler: _Sampler,
        *,
        keyframes: bool,
        keyframes_only: bool,
    ) -> None:
        self.container = container
        self.stream = stream
        self.hasher = hasher
        self.sampler = sampler
        self.keyframes = keyframes or keyframes_only
        self.keyframes_only = keyframes_only
        self.motion = _Motion(hasher.box) if sampler.needs_motion and not keyframes_only else None
        self.damage = _Damage()
        self.result = VideoHashes(_declared_duration(container, stream), stream.width, stream.height, 0, hasher.box)
        self.last_t = 0.0  # time of the last frame decoded, for the warnings

    def frames(self) -> Iterator[av.video.frame.VideoFrame]:
        """Decoded frames, in order, until the file ends or breaks (recorded in ``damage``, never raised)."""
        try:
            for packet in self.container.demux(self.stream):
                if self.keyframes_only and packet.size and not packet.is_keyframe:
                    continue
                try:
                    decoded = packet.decode()
                except (av.FFmpegError, ValueError) as exc:
                    self.damage.packet(self.last_t, exc)
                    if self.damage.bad_packets > MAX_BAD_PACKETS:
                        raise
                    continue
                yield from decoded
        except DECODE_ERRORS as exc:
            self.damage.broken = exc

    def run(self) -> VideoHashes:
        stream, result = self.stream, self.result
        if self.keyframes_only:
            stream.codec_context.skip_frame = "NONKEY"
        start = _stream_start(stream)
        rate = _nominal_rate(stream)
        count = 0
        for frame in self.frames():
            t = frame.time - start if frame.time is not None else (self.last_t + 1 / rate if count else 0.0)
            if frame.width * frame.height > MAX_PIXELS:  # the size changed mid-stream past the limit
                self.damage.oversized += 1
                continue
            if count == 0:
                result.width, result.height, result.rotation = frame.width, frame.height, _rotation(frame)
            try:
                self._one(frame, count, t)
            except DECODE_ERRORS:  # a frame the scaler cannot convert: count it, go on
                self.damage.frame(t)
            count += 1
            self.last_t = t
        if count == 0:
            broken = self.damage.broken
            why = _reason(broken) if broken else self.damage.bad_reason
            if not why and self.damage.oversized:
                why = f"every frame is larger than {MAX_PIXELS // 1_000_000} megapixels"
            raise VideoDecodeError("no picture could be decoded from the video stream" + (f": {why}" if why else ""))
        for item in self.sampler.finish():
            self._take(item)
        result.warnings += self.damage.warnings(self.last_t)
        declared = result.duration
        if declared is not None and self.last_t < declared - max(2.0, 0.1 * declared):
            result.warnings.append(f"decoded only up to {self.last_t:.1f} s of the {declared:.1f} s the file declares")
        if result.duration is None:
            result.duration = self.last_t + 1 / rate
        return result

    def _one(self, frame: av.video.frame.VideoFrame, index: int, t: float) -> None:
        if frame.is_corrupt:
            self.damage.frame(t)
        key = self.keyframes_only or bool(frame.key_frame)
        item = _Pending(index, t, self.motion(frame) if self.motion else 0.0, key)
        if self.keyframes and key:
            item.pdq = self.hasher.hash(frame)
            self.result.keyframes.append(FrameHash(t, item.pdq.hash, item.pdq.quality, True))
        if self.keyframes_only:
            return
        taken = self.sampler.push(item)
        if item.pdq is None and (item in taken or (self.sampler.holds_frames and item.candidate)):
            item.rgb = self._picture(frame, t)  # the scaled picture waits, never the decoded frame
        for chosen in taken:
            self._take(chosen)

    def _picture(self, frame: av.video.frame.VideoFrame, t: float) -> np.ndarray | None:
        """The picture to hash, as its own compact array (a crop is not left viewing the whole scaled frame)."""
        try:
            return np.ascontiguousarray(self.hasher.rgb(frame))
        except DECODE_ERRORS:
            self.damage.frame(t)
            return None

    def _take(self, item: _Pending) -> None:
        """Hash a frame the sampler chose (unless it was hashed as a keyframe) and let its picture go."""
        try:
            if item.pdq is None and item.rgb is not None:
                item.pdq = hash_rgb(item.rgb)
        except DECODE_ERRORS:
            self.damage.frame(item.t)
        item.rgb = None
        if item.pdq is not None:
            self.result.seconds.append(FrameHash(item.t, item.pdq.hash, item.pdq.quality, item.keyframe))


# ---------------------------------------------------------------------------------------------- borders


def detect_content_box(source: Path, *, samples: int = BORDER_SAMPLES) -> Box | None:
    """``(x, y, w, h)`` of the picture inside letterbox/pillarbox bars, or None when there are none.

    Looks at keyframes spread across the video (seeking, so a long video costs
    no more than a short one). Never raises for a damaged file: no answer is None.
    """
    try:
        lumas = _sample_luma(source, samples)
    except VideoDecodeError:
        return None
    if not lumas:
        return None
    # Large frames are looked at in every k-th row and column (bars are found to within k pixels).
    height, width = lumas[0].shape
    k = max(1, math.ceil(max(height, width) / BORDER_SCAN_SIDE))
    box = find_content_box([g[::k, ::k] for g in lumas])
    if box is None or k == 1:
        return box
    x, y, w, h = box
    sub_h, sub_w = lumas[0][::k, ::k].shape
    left, top, right, bottom = x * k, y * k, (sub_w - x - w) * k, (sub_h - y - h) * k
    return (left, top, width - left - right, height - top - bottom)


def _sample_luma(source: Path, samples: int) -> list[np.ndarray]:
    """Luma planes of up to ``samples`` distinct keyframes spread over the video."""
    found: dict[int | None, np.ndarray] = {}
    with _open_video(source) as (container, stream):
        stream.codec_context.skip_frame = "NONKEY"
        duration = _declared_duration(container, stream)
        start = stream.start_time or 0
        try:
            if duration and stream.time_base:
                for i in range(samples):
                    target = (i + 0.5) / samples * duration
                    container.seek(start + int(target / stream.time_base), stream=stream, backward=True)
                    frame = _first_frame(container, stream)
                    if frame is not None and frame.pts not in found:
                        found[frame.pts] = frame.to_ndarray(format="gray")
            if len(found) < 2:  # no duration, or seeking does not work: the first keyframes in order
                if found:
                    container.seek(0)
                for packet in container.demux(stream):
                    if packet.size and not packet.is_keyframe:
                        continue
                    for frame in packet.decode():
                        if frame.pts not in found:
                            found[frame.pts] = frame.to_ndarray(format="gray")
                    if len(found) >= samples:
                        break
        except (av.FFmpegError, OSError, ValueError, RuntimeError, EOFError, MemoryError):
            pass  # what was sampled before the damage still counts
    return list(found.values())


def _first_frame(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream
) -> av.video.frame.VideoFrame | None:
    for packet in container.demux(stream):
        if packet.size and not packet.is_keyframe:
            continue
        for frame in packet.decode():
            return frame
    return None


# ---------------------------------------------------------------------------------------------- matching


@dataclass(frozen=True)
class Segment:
    """A stretch of video a shown again in video b, ``offset`` seconds later (b time minus a time).

    ``offset`` is the median over the segment's matched frames; the b times are
    the a times moved by it (a single frame matched a little off the offset, in
    a still moment, does not stretch the segment).
    """

    a_start: float
    a_end: float
    b_start: float
    b_end: float
    offset: float
    frames: int
    """Sampled frames of a in the segment that found their frame in b."""
    median_distance: float


@dataclass
class VideoMatch:
    """How two videos' frames match: shares, distance, and where (segments, longest first).

    ``a_share``: the share of a's usable frames (quality >= 50) within the
    threshold of some usable frame of b; ``b_share`` the same the other way.
    ``median_distance``: the median distance from a's matching frames to their
    nearest frame of b (of all a's usable frames when none match; 256 when
    either side has no usable frame).
    """

    a_share: float
    b_share: float
    median_distance: float
    segments: list[Segment]

    @property
    def matched(self) -> bool:
        """The shorter video is mostly inside the other.

        At least half (``MATCH_SHARE``) of one video's usable frames find a
        frame of the other, and they line up in time (at least one segment).
        Using the larger share makes a 5-second clip match the hour it was cut
        from; requiring a segment keeps scattered chance hits (black frames
        that scraped past the quality floor, a logo card) from linking
        unrelated videos.
        """
        return max(self.a_share, self.b_share) >= MATCH_SHARE and bool(self.segments)


def match_videos(
    a: Sequence[FrameHash], b: Sequence[FrameHash], *, threshold: int = MATCH_DISTANCE, step: float | None = None
) -> VideoMatch:
    """Compare two videos' frame hashes (the ``seconds`` pass, usually).

    Frames under PDQ's quality floor are left out on both sides. Each frame of
    a votes for the offsets (b time minus a time, in steps of ``step`` seconds,
    by default the sampling interval) at which it finds a frame of b; the
    offsets with most votes, taken in turn, gather the frames of a that match
    at them (within one step), and runs of those frames, unbroken by more than
    ``MAX_MISSES`` frames that do not match there, become segments.
    """
    ua = sorted((f for f in a if f.usable), key=lambda f: f.t)
    ub = sorted((f for f in b if f.usable), key=lambda f: f.t)
    if not ua or not ub:
        return VideoMatch(0.0, 0.0, float(HASH_BITS), [])
    ta = np.array([f.t for f in ua])
    tb = np.array([f.t for f in ub])
    dist = _distances(_bits(ua), _bits(ub))
    nearest_a = dist.min(axis=1)
    hit_a = nearest_a <= threshold
    hit_b = dist.min(axis=0) <= threshold
    median = float(np.median(nearest_a[hit_a] if hit_a.any() else nearest_a))
    step = step or max(_spacing(ta), _spacing(tb))
    segments = _segments(dist, ta, tb, threshold, step)
    return VideoMatch(float(hit_a.mean()), float(hit_b.mean()), median, segments)


def _bits(frames: Sequence[FrameHash]) -> np.ndarray:
    raw = np.frombuffer(b"".join(f.hash for f in frames), dtype=np.uint8).reshape(len(frames), HASH_BYTES)
    return np.unpackbits(raw, axis=1).astype(np.float32)


def _distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """All Hamming distances between two sets of 256-bit rows (0/1 floats), as matrix products.

    Exact in float32 (sums of at most 256 ones). Cost and memory grow as
    len(a) x len(b): two hours against two hours at one frame a second is
    50 million pairs, a second or two; a case-wide search shortlists with an
    index first.
    """
    out = np.empty((a.shape[0], b.shape[0]), dtype=np.int16)
    not_b = (1.0 - b).T
    for lo in range(0, a.shape[0], 1024):
        block = a[lo : lo + 1024]
        out[lo : lo + 1024] = np.rint(block @ not_b + (1.0 - block) @ b.T)
    return out


def _spacing(times: np.ndarray) -> float:
    """The typical time between sampled frames (1 s when there are too few to tell)."""
    if times.size < 2:
        return 1.0
    gaps = np.diff(np.sort(times))
    gaps = gaps[gaps > 0]
    return float(np.median(gaps)) if gaps.size else 1.0


def _segments(dist: np.ndarray, ta: np.ndarray, tb: np.ndarray, threshold: int, step: float) -> list[Segment]:
    """Offsets by vote, then the runs of a's frames (in time order) that match at each.

    Bounded on any input: each frame of a brings at most ``MAX_CANDIDATES``
    frames of b, at most ``MAX_OFFSETS`` offsets are tried (a still scene
    votes for one offset per frame), each in a few array operations, and the
    ``MAX_SEGMENTS`` longest segments are kept.
    """
    rows, cols = _candidates(dist, threshold)
    bins = np.rint((tb[cols] - ta[rows]) / step).astype(np.int64)  # offset bin of each candidate pair
    dists = dist[rows, cols].astype(np.int64)
    votes: Counter[int] = Counter()  # one vote per frame of a and offset, counted in the order they are met
    bounds = np.searchsorted(rows, np.arange(dist.shape[0] + 1))
    bin_list = bins.tolist()
    for lo, hi in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        votes.update(set(bin_list[lo:hi]))
    segments: list[Segment] = []
    taken: set[int] = set()
    tried = 0
    for centre, count in votes.most_common():
        if count < MIN_SEGMENT_FRAMES or tried >= MAX_OFFSETS:
            break
        if centre in taken:
            continue
        taken.update((centre - 1, centre, centre + 1))
        tried += 1
        near = np.flatnonzero(np.abs(bins - centre) <= 1)
        # Per frame of a, its nearest candidate here: smallest distance, then nearest the offset, then first met.
        order = near[np.lexsort((near, np.abs(bins[near] - centre), dists[near], rows[near]))]
        first = order[np.r_[True, rows[order][1:] != rows[order][:-1]]] if order.size else order
        pairs: list[tuple[float, float, int] | None] = [None] * dist.shape[0]
        for i, j, d in zip(rows[first].tolist(), cols[first].tolist(), dists[first].tolist(), strict=True):
            pairs[i] = (float(ta[i]), float(tb[j]), d)
        segments += _runs(pairs)
    segments.sort(key=lambda s: (s.a_end - s.a_start, s.frames), reverse=True)
    return segments[:MAX_SEGMENTS]


def _candidates(dist: np.ndarray, threshold: int) -> tuple[np.ndarray, np.ndarray]:
    """``(rows, cols)`` of the pairs within the threshold, at most ``MAX_CANDIDATES`` per row (the nearest,
    earlier frames of b first among equals), grouped by row in ascending order."""
    hits = dist <= threshold
    per_row = hits.sum(axis=1)
    rows, cols = np.nonzero(hits & (per_row <= MAX_CANDIDATES)[:, None])
    crowded = np.flatnonzero(per_row > MAX_CANDIDATES)
    if crowded.size:
        sub = dist[crowded].astype(np.int32)
        sub[~hits[crowded]] = np.iinfo(np.int32).max
        nearest = np.argsort(sub, axis=1, kind="stable")[:, :MAX_CANDIDATES]
        rows = np.concatenate([rows, np.repeat(crowded, MAX_CANDIDATES)])
        cols = np.concatenate([cols, nearest.ravel()])
        order = np.argsort(rows, kind="stable")
        rows, cols = rows[order], cols[order]
    return rows, cols


def _runs(pairs: list[tuple[float, float, int] | None]) -> list[Segment]:
    """Split a's frames (in time order; None where a frame does not match at this offset) into segments.

    A run ends after more than ``MAX_MISSES`` frames in a row fail to match, so
    one frame spoiled by a passing logo or a compression burst does not cut a
    segment in two.
    """
    runs: list[list[tuple[float, float, int]]] = []
    misses = MAX_MISSES + 1
    for pair in pairs:
        if pair is None:
            misses += 1
            continue
        if misses > MAX_MISSES:
            runs.append([])
        runs[-1].append(pair)
        misses = 0
    segments = []
    for run in runs:
        if len(run) < MIN_SEGMENT_FRAMES:
            continue
        offset = statistics.median(p[1] - p[0] for p in run)
        a_start, a_end = run[0][0], run[-1][0]
        median = float(statistics.median(p[2] for p in run))
        segments.append(Segment(a_start, a_end, a_start + offset, a_end + offset, offset, len(run), median))
    return segments
