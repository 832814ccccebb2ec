"""Video hashes on real files: the shared vPDQ test clips and videos made here with PyAV.

The ``*.vpdq.txt`` files next to the clips are per-frame hashes from vPDQ's own
implementation; the clips are edits of three recordings (chair-*, pattern-*,
doorknob), so which pairs must match is known.
"""

from __future__ import annotations

import itertools
import os
import statistics
from collections.abc import Iterable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import ClassVar

import av
import numpy as np
import pytest

from factfinder.media import video
from factfinder.media.pdq import MATCH_DISTANCE, MIN_QUALITY, distance, hash_rgb
from factfinder.media.video import (
    MAX_OFFSETS,
    MAX_SEGMENTS,
    MAX_WINDOW_FRAMES,
    FrameHash,
    VideoDecodeError,
    VideoHashes,
    hash_frames,
    hash_keyframes,
    hash_video,
    match_videos,
)

NAMES = [
    "chair-19-sd-bar",
    "chair-20-sd-bar",
    "chair-22-sd-grey-bar",
    "chair-22-with-small-logo-bar",
    "chair-orig-22-sd-bar",
    "doorknob-hd-no-bar",
    "pattern-hd-no-bar",
    "pattern-sd-with-small-logo-bar",
]
PAIRS = list(itertools.combinations(NAMES, 2))


def family(name: str) -> str:
    return name.split("-")[0]


@pytest.fixture(scope="module")
def videos(testdata: Path) -> Path:
    return testdata / "video"


@pytest.fixture(scope="module")
def hashed(videos: Path) -> dict[str, VideoHashes]:
    """hash_video of every shared clip, once for the whole module."""
    return {name: hash_video(videos / f"{name}.mp4") for name in NAMES}


def reference(videos: Path, name: str) -> list[tuple[float, int, bytes]]:
    """vPDQ's per-frame hashes: (seconds, quality, hash)."""
    rows = []
    for line in (videos / f"{name}.vpdq.txt").read_text().split():
        _, quality, hexhash, t = line.split(",")
        rows.append((float(t), int(quality), bytes.fromhex(hexhash)))
    return rows


def reference_distances(ours: Iterable[FrameHash], ref: list[tuple[float, int, bytes]]) -> list[int]:
    """Distances between our frames and vPDQ's frame at the same time, where vPDQ's quality is usable."""
    by_ms = {round(t * 1000): (q, h) for t, q, h in ref}
    found = []
    for f in ours:
        key = next((k for k in (round(f.t * 1000) + d for d in (0, -1, 1)) if k in by_ms), None)
        assert key is not None, f"no reference frame at {f.t:.3f} s"
        quality, ref_hash = by_ms[key]
        if quality >= MIN_QUALITY:
            found.append(distance(f.hash, ref_hash))
    return found


# ------------------------------------------------------------------------------------------ vPDQ agreement


@pytest.mark.parametrize("name", NAMES)
def test_frames_agree_with_vpdq_reference(videos: Path, name: str) -> None:
    """Full-size, uncropped frames (as vPDQ hashed them), one a second: each within PDQ's tolerance."""
    ours = hash_frames(videos / f"{name}.mp4", every=1.0, sampling="clock", side=None, crop_borders=False)
    found = reference_distances(ours.seconds, reference(videos, name))
    assert len(found) >= 2  # the doorknob clip is mostly featureless (quality < 50): few frames to compare
    assert max(found) <= MATCH_DISTANCE, found
    assert statistics.median(found) <= 8, found


def test_every_frame_of_a_clip_agrees_with_vpdq_reference(videos: Path) -> None:
    """Every frame of one clip, with its frame numbers and times lined up exactly."""
    name = "pattern-sd-with-small-logo-bar"
    ref = reference(videos, name)
    ours = hash_frames(videos / f"{name}.mp4", every=None, keyframes=False, side=None, crop_borders=False)
    assert len(ours.seconds) == len(ref)
    assert [round(f.t, 3) for f in ours.seconds] == [t for t, _, _ in ref]
    found = reference_distances(ours.seconds, ref)
    assert max(found) <= MATCH_DISTANCE
    assert statistics.median(found) <= 4


def test_scaled_frames_stay_within_tolerance_of_reference(videos: Path) -> None:
    """What hash_video hashes (fitted to 512 px, uncropped here) moves a few bits from full size."""
    name = "chair-orig-22-sd-bar"
    ours = hash_frames(videos / f"{name}.mp4", every=0.5, sampling="clock", crop_borders=False)
    found = reference_distances(ours.seconds, reference(videos, name))
    assert max(found) <= MATCH_DISTANCE
    assert statistics.median(found) <= 12


# ------------------------------------------------------------------------------------------ what hash_video finds


def test_hash_video_describes_the_clips(hashed: dict[str, VideoHashes]) -> None:
    chair = hashed["chair-orig-22-sd-bar"]
    assert (chair.width, chair.height, chair.rotation) == (480, 720, 0)
    assert chair.duration == pytest.approx(22.43, abs=0.05)
    assert chair.content_box == (32, 0, 416, 720)  # pillarbox bars of 32 px each side
    assert hashed["pattern-sd-with-small-logo-bar"].content_box == (32, 0, 416, 720)
    # No bars: the doorknob clip's flat grey wall at one edge is not a bar, nor is anything in the pattern.
    assert hashed["doorknob-hd-no-bar"].content_box is None
    assert hashed["pattern-hd-no-bar"].content_box is None
    for name, h in hashed.items():
        assert h.warnings == [], name
        assert [f.t for f in h.keyframes] == pytest.approx([2.0 * i for i in range(len(h.keyframes))]), name
        seconds = [f.t for f in h.seconds]
        assert seconds == sorted(seconds) and seconds[0] == 0.0
        assert h.duration is not None
        # About one frame a second, never a gap of more than two seconds.
        assert 0.6 * h.duration <= len(seconds) <= 1.3 * h.duration + 1, name
        assert max(np.diff([*seconds, h.duration])) <= 2.0 + 1 / 30, name


def test_keyframe_pass_gives_the_keyframes_of_the_full_decode(videos: Path, hashed: dict[str, VideoHashes]) -> None:
    """Decoding keyframes alone (skip_frame NONKEY) gives the same pictures as decoding everything."""
    fast = hash_keyframes(videos / "chair-orig-22-sd-bar.mp4")
    assert fast.seconds == []
    assert fast.keyframes == hashed["chair-orig-22-sd-bar"].keyframes
    assert all(f.keyframe for f in fast.keyframes)


# ------------------------------------------------------------------------------------------ matching


@pytest.mark.parametrize(("a", "b"), PAIRS, ids=[f"{a}~{b}" for a, b in PAIRS])
def test_edits_of_one_recording_match_and_nothing_else_does(hashed: dict[str, VideoHashes], a: str, b: str) -> None:
    match = match_videos(hashed[a].seconds, hashed[b].seconds)
    same = family(a) == family(b) and family(a) != "doorknob"
    assert match.matched == same, match
    if same:
        assert max(match.a_share, match.b_share) >= 0.65  # observed: 0.71 (the short pattern clips) to 0.95
        assert match.median_distance <= 26
    else:
        assert max(match.a_share, match.b_share) <= 0.1
        assert match.segments == []


@pytest.mark.parametrize(
    "name", ["chair-19-sd-bar", "chair-20-sd-bar", "chair-22-sd-grey-bar", "chair-22-with-small-logo-bar"]
)
def test_matching_finds_where_each_edit_was_cut_from(videos: Path, hashed: dict[str, VideoHashes], name: str) -> None:
    """The offset found from one frame a second equals the one vPDQ's every-frame hashes show."""
    every_frame = [FrameHash(t, h, q, False) for t, q, h in reference(videos, name)]
    original = [FrameHash(t, h, q, False) for t, q, h in reference(videos, "chair-orig-22-sd-bar")]
    truth = match_videos(every_frame, original).segments[0].offset

    match = match_videos(hashed[name].seconds, hashed["chair-orig-22-sd-bar"].seconds)
    segment = match.segments[0]
    assert segment.offset == pytest.approx(truth, abs=0.1)
    assert segment.a_end - segment.a_start >= 0.7 * (hashed[name].duration or 0)
    assert segment.b_start == pytest.approx(segment.a_start + truth, abs=0.1)


def test_clock_sampling_misses_a_copy_cut_between_samples(videos: Path, hashed: dict[str, VideoHashes]) -> None:
    """Why frames are chosen by motion: chair-19 starts 3.7 s into the original, and frames sampled
    on the clock at whole seconds are then 0.3 s apart, too far for PDQ in handheld footage."""
    clock = {n: hash_video(videos / f"{n}.mp4", sampling="clock") for n in ("chair-19-sd-bar", "chair-orig-22-sd-bar")}
    by_clock = match_videos(clock["chair-19-sd-bar"].seconds, clock["chair-orig-22-sd-bar"].seconds)
    by_motion = match_videos(hashed["chair-19-sd-bar"].seconds, hashed["chair-orig-22-sd-bar"].seconds)
    assert by_clock.a_share <= 0.2
    assert not by_clock.matched
    assert by_motion.a_share >= 0.8


# ------------------------------------------------------------------------------------------ videos made here


def decoded_rgb(
    path: Path, *, start: float = 0.0, end: float = float("inf"), size: tuple[int, int] | None = None
) -> Iterator[np.ndarray]:
    """RGB frames of a file between two times, optionally scaled to (width, height)."""
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            if frame.time is not None and start - 1e-3 <= frame.time < end - 1e-3:
                if size:
                    yield frame.to_ndarray(width=size[0], height=size[1], format="rgb24")
                else:
                    yield frame.to_ndarray(format="rgb24")


def encode(path: Path, frames: Iterable[np.ndarray], *, rate: int = 30, rotation: int | None = None) -> Path:
    """An H.264 mp4 of RGB frames, as a phone or a re-uploading site would write it."""
    frames = iter(frames)
    first = next(frames)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=Fraction(rate))
        stream.height, stream.width = first.shape[:2]
        stream.pix_fmt = "yuv420p"
        stream.options = {"preset": "ultrafast", "crf": "23"}
        if rotation is not None:
            stream.set_display_rotation(rotation)
        for rgb in itertools.chain([first], frames):
            out.mux(stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")))
        out.mux(stream.encode())
    return path


@pytest.fixture(scope="module")
def clip(videos: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Seconds 5.4-10.4 of the original chair clip, re-encoded at two thirds of its size (moov at the end)."""
    frames = decoded_rgb(videos / "chair-orig-22-sd-bar.mp4", start=5.4, end=10.4, size=(320, 480))
    return encode(tmp_path_factory.mktemp("clip") / "clip.mp4", frames)


def test_clip_cut_from_the_middle_is_found_at_its_offset(hashed: dict[str, VideoHashes], clip: Path) -> None:
    """A clip cut between sampled frames of the original is found 5.4 s in."""
    ours = hash_video(clip)
    assert ours.duration == pytest.approx(5.0, abs=0.1)
    original = hashed["chair-orig-22-sd-bar"]

    match = match_videos(ours.seconds, original.seconds)
    assert match.matched
    assert match.a_share >= 0.6  # observed 0.8: 4 of the clip's 5 sampled frames
    assert len(match.segments) == 1
    segment = match.segments[0]
    assert segment.offset == pytest.approx(5.4, abs=1.0)
    assert segment.a_end - segment.a_start >= 0.6 * 5.0  # observed 4.2 s
    assert 4.4 <= segment.b_start <= 6.4

    # The other way round: the original holds the clip, offset negative.
    reverse = match_videos(original.seconds, ours.seconds)
    assert reverse.matched and reverse.b_share >= 0.6
    assert reverse.segments[0].offset == pytest.approx(-5.4, abs=1.0)


def test_letterboxed_copy_is_cropped_and_matches_better(
    videos: Path, hashed: dict[str, VideoHashes], tmp_path: Path
) -> None:
    """A portrait phone video put on a black 16:9 canvas: the bars are found and cut off."""
    source = videos / "pattern-hd-no-bar.mp4"
    w, h, canvas_w = 270, 480, 1000  # wider than 960: bars are looked for in every other column
    left = (canvas_w - w) // 2

    def padded() -> Iterator[np.ndarray]:
        for rgb in decoded_rgb(source, end=4.0, size=(w, h)):
            canvas = np.zeros((h, canvas_w, 3), np.uint8)
            canvas[:, left : left + w] = rgb
            yield canvas

    boxed = encode(tmp_path / "boxed.mp4", padded())
    cropped = hash_video(boxed)
    assert cropped.content_box is not None
    x, y, bw, bh = cropped.content_box
    assert (y, bh) == (0, h)
    assert abs(x - left) <= 4 and abs(bw - w) <= 8

    uncropped = hash_video(boxed, crop_borders=False)
    original = hashed["pattern-hd-no-bar"].seconds
    with_crop = match_videos(cropped.seconds, original)
    without_crop = match_videos(uncropped.seconds, original)
    assert with_crop.matched and with_crop.a_share >= 0.6
    assert with_crop.median_distance <= 16 < without_crop.median_distance
    assert not without_crop.matched  # the bars alone move a portrait video out of PDQ's reach


def test_rotation_from_the_display_matrix_is_applied(
    videos: Path, hashed: dict[str, VideoHashes], tmp_path: Path
) -> None:
    """A phone stores portrait video sideways and says 'turn it' in the display matrix."""
    sideways = (np.rot90(rgb, -1) for rgb in decoded_rgb(videos / "pattern-hd-no-bar.mp4", end=4.0, size=(270, 480)))
    phone = hash_video(encode(tmp_path / "phone.mp4", sideways, rotation=90))
    assert (phone.width, phone.height, phone.rotation) == (480, 270, 90)
    match = match_videos(phone.seconds, hashed["pattern-hd-no-bar"].seconds)
    assert match.matched and match.a_share >= 0.6 and match.median_distance <= 16
    # Hashed as stored, sideways, the first frame is nowhere near the original's; turned, it is.
    stored = next(decoded_rgb(tmp_path / "phone.mp4"))
    first = hashed["pattern-hd-no-bar"].seconds[0]
    assert distance(hash_rgb(stored).hash, first.hash) > MATCH_DISTANCE
    assert distance(phone.seconds[0].hash, first.hash) <= 16


# ------------------------------------------------------------------------------------------ hostile input


def test_empty_file(tmp_path: Path) -> None:
    (tmp_path / "empty.mp4").write_bytes(b"")
    with pytest.raises(VideoDecodeError, match="empty"):
        hash_video(tmp_path / "empty.mp4")


def test_text_named_mp4(tmp_path: Path) -> None:
    (tmp_path / "notes.mp4").write_text("These are my notes, not a video.\n" * 20)
    with pytest.raises(VideoDecodeError, match="not a video"):
        hash_video(tmp_path / "notes.mp4")


def test_sound_only(tmp_path: Path) -> None:
    path = tmp_path / "voice.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("aac", rate=16000)
        for i in range(20):
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 16000, i * 1024
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    with pytest.raises(VideoDecodeError, match="no video stream"):
        hash_video(path)


def _either_error_or_warning(path: Path) -> VideoHashes | VideoDecodeError:
    """Bad input gives VideoDecodeError with a message, or hashes with a warning; nothing else escapes."""
    try:
        result = hash_video(path)
    except VideoDecodeError as exc:
        assert str(exc)
        return exc
    assert result.warnings, "a damaged file must say so"
    return result


@pytest.fixture(params=["shared", "made"])
def damageable(request: pytest.FixtureRequest, videos: Path, clip: Path) -> Path:
    """A shared clip (index at the front, as phones write) and the clip made here (index at the end)."""
    return videos / "pattern-sd-with-small-logo-bar.mp4" if request.param == "shared" else clip


def test_truncated_file(damageable: Path, tmp_path: Path) -> None:
    data = damageable.read_bytes()
    path = tmp_path / "half.mp4"
    path.write_bytes(data[: len(data) // 2])
    outcome = _either_error_or_warning(path)
    if isinstance(outcome, VideoHashes):
        assert outcome.seconds, "what was there before the cut is still hashed"
        assert any("decoded only up to" in w or "broken" in w for w in outcome.warnings)


def test_corrupted_middle(damageable: Path, tmp_path: Path) -> None:
    data = bytearray(damageable.read_bytes())
    middle, span = len(data) // 2, len(data) // 20
    data[middle : middle + span] = np.random.default_rng(2011).integers(0, 256, span, dtype=np.uint8).tobytes()
    path = tmp_path / "garbled.mp4"
    path.write_bytes(bytes(data))
    outcome = _either_error_or_warning(path)
    if isinstance(outcome, VideoHashes):
        assert outcome.seconds
        assert any("damaged" in w or "errors" in w or "broken" in w for w in outcome.warnings)


def test_random_damage_never_escapes(videos: Path, tmp_path: Path) -> None:
    """Cuts and garbage at random places: only VideoDecodeError or a result, never another exception."""
    rng = np.random.default_rng(9162)
    original = (videos / "doorknob-hd-no-bar.mp4").read_bytes()
    path = tmp_path / "damaged.mp4"
    for i in range(6):
        data = bytearray(original)
        if rng.random() < 0.5:
            data = data[: int(rng.integers(0, len(data)))]
        else:
            for _ in range(int(rng.integers(1, 10))):
                at, n = int(rng.integers(0, len(data))), int(rng.integers(1, 4000))
                data[at : at + n] = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
        path.write_bytes(bytes(data))
        try:
            hash_keyframes(path) if i % 2 else hash_video(path)
        except VideoDecodeError as exc:
            assert str(exc)


def test_missing_file_is_the_callers_mistake(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        hash_video(tmp_path / "nowhere.mp4")


def test_no_usable_frames_match_nothing() -> None:
    black = [FrameHash(float(t), bytes(32), 0, False) for t in range(10)]
    match = match_videos(black, black)
    assert not match.matched and match.a_share == match.b_share == 0.0 and match.segments == []


class _Watched(video._MotionPeaks):
    """The motion sampler, watched from outside: the most frames and picture bytes it held at once."""

    seen: ClassVar[list[_Watched]] = []

    def __init__(self, every: float, cap: int = MAX_WINDOW_FRAMES) -> None:
        super().__init__(every, cap)
        self.most_frames = 0
        self.most_bytes = 0
        self.decoded_frames_held = 0
        _Watched.seen.append(self)

    def push(self, item: video._Pending) -> list[video._Pending]:
        taken = super().push(item)
        held = [*self.window, item]
        self.most_frames = max(self.most_frames, len(self.window))
        self.most_bytes = max(self.most_bytes, sum(getattr(getattr(i, "rgb", None), "nbytes", 0) for i in held))
        self.decoded_frames_held += sum(isinstance(v, av.VideoFrame) for i in held for v in vars(i).values())
        return taken


@pytest.fixture
def watched(monkeypatch: pytest.MonkeyPatch) -> list[_Watched]:
    _Watched.seen = []
    monkeypatch.setattr(video, "_MotionPeaks", _Watched)
    return _Watched.seen


def noise(n: int, *, width: int = 64, height: int = 48, seed: int = 0) -> Iterator[np.ndarray]:
    """Frames of coarse random blocks, a new picture each frame: as much motion as there can be."""
    rng = np.random.default_rng(seed)
    for _ in range(n):
        blocks = rng.integers(0, 256, (height // 8, width // 8, 3), dtype=np.uint8)
        yield np.repeat(np.repeat(blocks, 8, axis=0), 8, axis=1)


def test_high_frame_rate_holds_a_bounded_window(tmp_path: Path, watched: list[_Watched]) -> None:
    """At 1000 fps half a second is 500 frames; the sampler never holds more than its cap, nor decoded frames."""
    path = encode(tmp_path / "fast.mkv", noise(2000), rate=1000)
    result = hash_video(path)
    (sampler,) = watched
    assert sampler.cap == MAX_WINDOW_FRAMES
    assert sampler.most_frames <= MAX_WINDOW_FRAMES
    assert sampler.decoded_frames_held == 0
    assert sampler.most_bytes <= MAX_WINDOW_FRAMES * 64 * 48 * 3  # pictures as hashed (<= 512 px), not frames
    assert result.warnings == []
    assert 1 <= len(result.seconds) <= 2 * 2 + 1  # still about one frame a second


def test_timestamps_going_back_restart_the_sampler(tmp_path: Path, watched: list[_Watched]) -> None:
    """Two MPEG-TS files joined byte-wise (both start at zero): the window is flushed at the join."""
    first = encode(tmp_path / "one.ts", noise(180, seed=1)).read_bytes()
    second = encode(tmp_path / "two.ts", noise(180, seed=2)).read_bytes()
    (tmp_path / "joined.ts").write_bytes(first + second)
    result = hash_video(tmp_path / "joined.ts")
    (sampler,) = watched
    assert sampler.most_frames <= 2 * 30 + 2  # two intervals at the declared 30 fps; 180 without the flush
    assert sampler.restarts == 1
    assert sampler.decoded_frames_held == 0
    starts = [f.t for f in result.seconds if f.t < 0.05]
    assert len(starts) == 2  # each part's first frame is taken, as at the start of a video
    assert 8 <= len(result.seconds) <= 16  # about one a second in both parts


def test_picture_over_the_pixel_limit_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = encode(tmp_path / "big.mp4", noise(10))
    monkeypatch.setattr(video, "MAX_PIXELS", 64 * 48 - 1)
    with pytest.raises(VideoDecodeError, match="too large"):
        hash_video(path)


def test_static_footage_matching_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same picture 2,400 times on both sides votes for thousands of offsets; a few are tried."""
    runs: list[int] = []
    real_runs = video._runs

    def counted(pairs: list[tuple[float, float, int] | None]) -> list[video.Segment]:
        runs.append(len(pairs))
        return real_runs(pairs)

    monkeypatch.setattr(video, "_runs", counted)
    picture = hash_rgb(next(noise(1, width=256, height=256))).hash
    still = [FrameHash(float(t), picture, 100, False) for t in range(2400)]
    match = match_videos(still, still)
    assert match.matched and match.a_share == match.b_share == 1.0
    assert 1 <= len(runs) <= MAX_OFFSETS
    assert 1 <= len(match.segments) <= MAX_SEGMENTS


if os.environ.get("FACTFINDER_VIDEO_ALL_FRAMES"):  # every frame of every clip: about a minute

    @pytest.mark.slow
    @pytest.mark.parametrize("name", NAMES)
    def test_every_frame_agrees_with_vpdq_reference(videos: Path, name: str) -> None:
        ref = reference(videos, name)
        ours = hash_frames(videos / f"{name}.mp4", every=None, keyframes=False, side=None, crop_borders=False)
        assert len(ours.seconds) == len(ref)
        found = reference_distances(ours.seconds, ref)
        assert max(found) <= MATCH_DISTANCE
        assert statistics.median(found) <= 4
