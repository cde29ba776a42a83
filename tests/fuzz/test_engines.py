"""Damaged, wrong, enormous and hour-long files through every engine entry point: a result or a clear
``ReelsmithError``, never another exception, a crash, a hang or files left behind.

Bounded for CI by the counts below: with every optional backend installed, 1660 entry-point runs here plus 48
studio jobs in ``test_jobs.py`` (the session's last line says how many ran); the folder takes about a minute on 2
cores. ``bench/fuzz.py`` runs the same generators at a much larger count. A failing case prints its reproducer:
``.venv/bin/python bench/fuzz.py --repro <label> --entry <entry point>``.
"""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from .entrypoints import COST, ENTRY_POINTS
from .mutate import OPS, Case
from .seeds import EXTREMES, SEED_NAMES

#: Hypothesis examples per entry point in CI, by cost (1: milliseconds, 2: a decode pass, 3: an encode or a model).
EXAMPLES = {1: 30, 2: 12, 3: 6}
EXAMPLES_OVERRIDE = {"captions": 4}

#: The systematic loop: every seed × every operator × these rng seeds through the cheap decoding entry points.
LOOP_SEEDS = (1, 2)
LOOP_ENTRIES = ("probe", "check_type", "read_audio", "iter_frames")


def cases() -> st.SearchStrategy[Case]:
    return st.builds(Case, st.sampled_from(SEED_NAMES), st.sampled_from(OPS), st.integers(0, 2**32 - 1))


def _fail_message(entry: str, label: str, outcome) -> str:
    return (f"{entry} on {label}: {outcome.describe()}\n"
            f"reproduce: .venv/bin/python bench/fuzz.py --repro {label} --entry {entry}")


@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
def test_entry_point_survives_mutated_files(fuzz_env, entry):
    @settings(max_examples=EXAMPLES_OVERRIDE.get(entry, EXAMPLES[COST[entry]]), deadline=None, derandomize=True,
              database=None, phases=(Phase.explicit, Phase.generate),  # shrinking an rng seed means nothing
              suppress_health_check=list(HealthCheck))
    @given(case=cases())
    def check(case: Case) -> None:
        outcome = fuzz_env.run(entry, case)
        assert outcome.acceptable, _fail_message(entry, case.label, outcome)

    check()


def test_mutation_loop_over_every_seed_and_operator(fuzz_env):
    """Not random at all: each seed file, each mutation, two rng seeds, through the probing and decoding calls."""
    failures = []
    for seed_name in SEED_NAMES:
        for op in OPS:
            for rng_seed in LOOP_SEEDS:
                case = Case(seed_name, op, rng_seed)
                path = fuzz_env.write(case)
                for entry in LOOP_ENTRIES:
                    outcome = fuzz_env.run_file(entry, path)
                    if not outcome.acceptable:
                        failures.append(_fail_message(entry, case.label, outcome))
    assert not failures, f"{len(failures)} failure(s):\n" + "\n".join(failures[:10])


#: Cases ``bench/fuzz.py`` found crashing (before the fixes named here), with the entry points that crashed.
#: They depend on the seed files being the ones this venv's encoders make; elsewhere they are just more cases.
REGRESSIONS = {
    "clip.mp4:repeat:1773973236": "probe shots autoedit thumbs iter_frames frames_at stabilize read_wav loudness",
    # ^ a video stream whose codec has no decoder: PyAV's codec_context is None (probe.video_stream)
    "tone.wav:byteset:1930549411": "read_audio read_wav denoise diarize energy_curve thumbs",  # 255 channels
    "tone.mp3:byteset:933919247": "read_audio read_wav loudness denoise stems music_reference",
    # ^ the audio format changes in mid-stream: PyAV's resampler raised ValueError (decode.Resampler)
    "clip.mkv:byteset:2769837567": "stabilize colour interpolate captions_burn",  # 22014 Hz: AAC refused it
    "clip.avi:zero_range:3121931261": "colour colour_reference thumbs frames_at",  # cannot seek, even to 0
    "tone.wav:header_swap:1803115176": "frames_at",
    "still.png:zero_range:3667657306": "png_parameters watermark_detect",  # Pillow's SyntaxError
    "tone.mp3:splice:132331624": "watermark_detect",  # tags that are not UTF-8
    "talk.mp4:field:2750941106": "autoedit stabilize reframe shorts_propose",  # 1.6e-5 fps: Fraction(1, 0)
    "talk.mp4:field:3871701": "stabilize interpolate",  # audio time base 1/1971363947: the muxer refused
    "clip.avi:field:994141712": "stabilize interpolate reframe",  # 2147483647 fps: 25 GiB, overflow
}


@pytest.mark.parametrize("label", sorted(REGRESSIONS))
def test_cases_that_once_crashed(fuzz_env, label):
    path = fuzz_env.write(Case.parse(label))
    failures = []
    for entry in REGRESSIONS[label].split():
        outcome = fuzz_env.run_file(entry, path)
        if not outcome.acceptable:
            failures.append(_fail_message(entry, label, outcome))
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("name", EXTREMES)
def test_extreme_inputs_through_every_entry_point(fuzz_env, name):
    """Pictures and frames of 12000² to 100000² pixels and headers declaring an hour: refused or handled, fast."""
    failures = []
    for entry in sorted(ENTRY_POINTS):
        outcome = fuzz_env.run_file(entry, fuzz_env.seeds_dir / name)
        if not outcome.acceptable:
            failures.append(_fail_message(entry, name, outcome))
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("name", ["huge.png", "huge.jpg", "huge.gif", "huge.bmp", "huge-frames.mov"])
def test_enormous_resolution_is_refused_before_decoding(fuzz_env, name):
    outcome = fuzz_env.run_file("probe", fuzz_env.seeds_dir / name)
    assert outcome.status == "clean" and outcome.error_type == "MediaTooLarge", outcome.describe()
    assert outcome.seconds < 5, outcome.describe()
    for entry in ("thumbs", "watermark_detect", "png_parameters", "colour_reference", "shots"):
        outcome = fuzz_env.run_file(entry, fuzz_env.seeds_dir / name)
        assert outcome.status == "clean", f"{entry}: {outcome.describe()}"
        assert outcome.error_type in ("MediaTooLarge", "InvalidMedia", "UnsupportedMedia", "CorruptMedia"), (
            f"{entry}: {outcome.describe()}")
        assert outcome.seconds < 10, f"{entry}: {outcome.describe()}"


def test_header_declaring_an_hour_is_not_believed(fuzz_env):
    """A WAV whose header says an hour but holds a second: probed and decoded as the second it is."""
    outcome = fuzz_env.run_file("probe", fuzz_env.seeds_dir / "hour-declared.wav")
    assert outcome.status == "ok", outcome.describe()
    duration = float(outcome.summary.split()[-1])
    assert duration < 2.0, outcome.summary
    outcome = fuzz_env.run_file("read_audio", fuzz_env.seeds_dir / "hour-declared.wav")
    assert outcome.status == "ok" and outcome.seconds < 5, outcome.describe()


@pytest.mark.parametrize("entry", ["read_audio", "diarize", "energy_curve", "stems", "thumbs"])
def test_a_wav_claiming_2_hz_is_refused_not_decoded_for_hours(fuzz_env, entry):
    """0.6 s of data whose header says 2 Hz "lasts" 80 minutes: refused at once, not resampled for a minute."""
    outcome = fuzz_env.run_file(entry, fuzz_env.seeds_dir / "rate-2hz.wav")
    assert outcome.status == "clean" and outcome.error_type == "CorruptMedia", outcome.describe()
    assert outcome.seconds < 5, outcome.describe()


@pytest.mark.parametrize("entry, name, limit_s", [
    ("probe", "hour-silence.mp3", 10), ("probe", "hour-video.mp4", 10),
    ("check_type", "hour-silence.mp3", 5),
    ("thumbs", "hour-silence.mp3", 20), ("thumbs", "hour-video.mp4", 20),
    ("frames_at", "hour-video.mp4", 10), ("watermark_detect", "hour-video.mp4", 20),
    ("shots", "hour-video.mp4", 25),
])
def test_real_hour_long_files_are_handled_in_bounded_time(fuzz_env, entry, name, limit_s):
    """An hour of 8 kHz silence (MP3, 3.6 MB) and an hour of 32×32 video at 1 frame/s (H.264, 300 kB)."""
    outcome = fuzz_env.run_file(entry, fuzz_env.seeds_dir / name, timeout_s=limit_s + 10)
    assert outcome.status == "ok", outcome.describe()
    assert outcome.seconds < limit_s, outcome.describe()
    if entry == "probe":
        assert abs(float(outcome.summary.split()[-1]) - 3600) < 5, outcome.summary
