"""Video hashing: seconds of processing per minute of 720p phone-quality video, against decoding alone.

Why: every video that arrives is hashed (vPDQ-style PDQ of sampled frames) so
that reposts and cuts of it can be found. Decoding every frame is the floor
any per-second hash must pay (a frame cannot be hashed without decoding the
frames it is predicted from), so the figure that says whether the hashing is
well made is its ratio to a bare decode of the same file, in the same run.

The test file is made once (and kept under the work folder): the shared test
clips (../shared/testdata/video) one after the other, stretched to 1280x720 and
encoded as H.264 at 30 fps, 4 Mbit/s, a keyframe every second and no B-frames,
as a phone records 720p; two minutes long (30 s with ``--quick``).

Measured, each on the same file:

- *decode only* (the floor): PyAV decoding every frame with the threads
  hash_video uses, no conversion, nothing kept;
- *keyframe pass*: ``hash_keyframes`` (the decoder skips every other frame);
- *per-second pass*: ``hash_frames(every=1.0, keyframes=False)`` (decode all,
  motion signal on every frame, PDQ of about one frame a second);
- *hash_video*: what the pipeline runs (per-second pass and keyframes, bars
  detected, one decode).

Each is the best of ``--repeat`` runs, taken in rounds of one run of each
(page cache dropped before each, as root).

    .venv/bin/python benchmarks/media_video.py [--quick] [--repeat N] [--json PATH] [--clean]
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import time
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import av
import numpy as np
from _common import DEFAULT_WORKDIR, REPO, Figure, Report, can_drop_caches, drop_caches, header

TESTDATA = Path(os.environ.get("FACTFINDER_TESTDATA", REPO.parent / "shared" / "testdata"))
WIDTH, HEIGHT, RATE, BIT_RATE = 1280, 720, 30, 4_000_000
GOAL_HASH_VIDEO = 1.5
"""hash_video may cost at most this many times a bare decode of the same file."""
GOAL_KEYFRAMES = 0.5
"""The keyframe pass is for triage: at most half of a bare decode."""


def _source_frames() -> Iterator[np.ndarray]:
    """The shared clips' frames at 1280x720, round and round."""
    clips = sorted((TESTDATA / "video").glob("*.mp4"))
    if not clips:
        raise SystemExit(f"no test videos under {TESTDATA / 'video'} (set FACTFINDER_TESTDATA)")
    for clip in itertools.cycle(clips):
        with av.open(str(clip)) as container:
            for frame in container.decode(video=0):
                yield frame.to_ndarray(width=WIDTH, height=HEIGHT, format="rgb24")


def make_test_file(path: Path, seconds: int) -> None:
    """Encode ``seconds`` of phone-like 720p H.264 (made once, then reused)."""
    partial = path.with_suffix(".partial.mp4")
    with av.open(str(partial), "w") as out:
        stream = out.add_stream("libx264", rate=Fraction(RATE))
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.bit_rate = BIT_RATE
        stream.options = {"preset": "veryfast", "g": str(RATE), "bf": "0"}
        for i, rgb in enumerate(itertools.islice(_source_frames(), seconds * RATE)):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = i
            frame.time_base = Fraction(1, RATE)
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    partial.replace(path)


def decode_only(path: Path) -> int:
    """The floor: every frame decoded, as hash_video's decoder is set up, and dropped."""
    count = 0
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.codec_context.thread_type = "AUTO"
        for packet in container.demux(stream):
            count += len(packet.decode())
    return count


def interleaved(repeat: int, runs: dict[str, Callable[[], object]]) -> dict[str, float]:
    """The fastest of ``repeat`` runs of each, taken in rounds (one of each per round).

    Rounds rather than all runs of one then all of the next, so that other
    work on a shared machine slows every measurement alike and the ratios stay
    honest. The page cache is dropped before each run where allowed.
    """
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(repeat):
        for name, fn in runs.items():
            drop_caches()
            start = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=int, default=120, help="length of the generated 720p file")
    p.add_argument("--repeat", type=int, default=3, help="runs of each measurement; the best counts")
    p.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    p.add_argument("--json", type=Path, help="also write the figures here (for run_all.py)")
    p.add_argument("--clean", action="store_true", help="delete the generated video afterwards")
    p.add_argument("--quick", action="store_true", help="a 30 s file, one run of each")
    args = p.parse_args(argv)
    if args.quick:
        args.seconds, args.repeat = 30, 1

    from factfinder.media.video import VideoHashes, hash_frames, hash_keyframes, hash_video

    args.workdir.mkdir(parents=True, exist_ok=True)
    path = args.workdir / f"video-720p-{args.seconds}s.mp4"
    header(f"Video hashing: {args.seconds} s of 720p H.264 (phone-like)", cold=can_drop_caches())
    report = Report("media_video")
    if not path.exists():
        start = time.perf_counter()
        make_test_file(path, args.seconds)
        report.note(f"made {path.name} in {time.perf_counter() - start:.1f} s (not timed below)")
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        minutes = float(stream.duration * stream.time_base) / 60 if stream.duration and stream.time_base else 0
        frames = stream.frames
    size_mb = path.stat().st_size / 1e6
    print(f"  file: {path} ({size_mb:.1f} MB, {frames} frames, {minutes * 60:.1f} s)", flush=True)

    def per_minute(name: str, seconds: float, note: str = "") -> Figure:
        return report.add(Figure(name, seconds, seconds / minutes, "s per min of video", note))

    kept: dict[str, VideoHashes] = {}

    def keep(name: str, fn: Callable[[], VideoHashes]) -> Callable[[], None]:
        def run() -> None:
            kept[name] = fn()

        return run

    times = interleaved(
        args.repeat,
        {
            "floor": lambda: decode_only(path),
            "keys": keep("keys", lambda: hash_keyframes(path)),
            "seconds": keep("seconds", lambda: hash_frames(path, every=1.0, keyframes=False)),
            "full": keep("full", lambda: hash_video(path)),
        },
    )
    floor, keys, per_second, full = times["floor"], times["keys"], times["seconds"], times["full"]
    per_minute("floor: decode only (all frames, no conversion)", floor)
    per_minute("keyframe pass (hash_keyframes)", keys, f"{len(kept['keys'].keyframes)} keyframes")
    per_minute("per-second pass (hash_frames every=1.0)", per_second, f"{len(kept['seconds'].seconds)} frames hashed")
    per_minute("hash_video (per-second + keyframes + bars)", full)
    report.ratio("keyframe pass / decode only", keys / floor, GOAL_KEYFRAMES)
    report.ratio("per-second pass / decode only", per_second / floor, GOAL_HASH_VIDEO)
    report.ratio("hash_video / decode only", full / floor, GOAL_HASH_VIDEO)
    got = kept["full"]
    report.note(
        f"hash_video: {len(got.seconds)} sampled frames, {len(got.keyframes)} keyframes, warnings {got.warnings}"
    )
    report.write(args.json)
    if args.clean:
        path.unlink(missing_ok=True)
    return 0 if all(report.goals.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
