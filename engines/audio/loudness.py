"""Loudness: integrated LUFS, true peak and loudness range (ITU-R BS.1770-4 / EBU R 128), and normalisation.

    result = LoudnessNormaliser().run(LoudnessRequest(Path("mix.wav"), out=Path("mix-14.wav")), ctx)

* Integrated loudness: ``pyloudnorm`` (K-weighting, 400 ms blocks, −70 LUFS / −10 LU gates) where its fixed channel
  weights fit the layout (mono, stereo, 3.0, 5.0); other layouts (quad, 5.1, 7.1: pyloudnorm takes ≤ 5 channels)
  use the same gating vectorised here (``gated_loudness``) with FFmpeg ``ebur128``'s weights: LFE 0, back and
  side channels 1.41, the rest 1.0. Loudness range (EBU Tech 3342) is computed the same way.
* True peak: 4× polyphase oversampling (``resample_poly``, 49 taps), in dBTP, in blocks.
* Normalisation: a gain to the target, then a look-ahead true-peak limiter (1 ms gain blocks, 5 ms look-ahead,
  100 ms release, channels linked) that keeps the output's true peak under ``true_peak_db`` (by 0.1 dB); when
  limiting costs loudness the gain is raised (secant steps, 4 rounds, +12 dB at most). Output: 16-bit WAV, or for
  a video into .mp4/.mov/.mkv the video stream copied packet for packet and the audio re-encoded as AAC.
* ``duck(music, speech)`` lowers a music bed under speech (the animatic's sidechain ``duck_gain``, reused).
* The whole track is decoded into memory (float32: about 1.4 GB for an hour of 48 kHz stereo).
"""
from __future__ import annotations

import argparse
import json
import math
import time
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..audio_io import AudioClip, write_wav
from ..base import Engine
from ..context import Context
from ..errors import InvalidInput, InvalidMedia

MIN_SECONDS = 0.4  # one BS.1770 gating block
MAX_EXTRA_GAIN_DB = 12.0  # most gain added to make up for the limiter's loss of loudness
OVERSAMPLE = 4
BLOCK_S, LOOKAHEAD_S, RELEASE_S = 0.001, 0.005, 0.100
_PYLN_WEIGHTS = (1.0, 1.0, 1.0, 1.41, 1.41)  # pyloudnorm's fixed order: L, R, C, Ls, Rs
_SURROUND = {"BL", "BR", "BC", "SL", "SR", "TBL", "TBC", "TBR", "SDL", "SDR", "LSD", "RSD"}
_DEFAULT_LAYOUT = {1: "mono", 2: "stereo", 3: "3.0", 4: "quad", 5: "5.0", 6: "5.1", 7: "6.1", 8: "7.1"}
_VIDEO_OUT = {".mp4", ".mov", ".m4v", ".mkv"}


@dataclass(frozen=True)
class LoudnessRequest:
    media: Path
    out: Path | None = None  # None: measure only
    target_lufs: float = -14.0
    true_peak_db: float = -1.0


@dataclass
class LoudnessResult:
    integrated_lufs: float
    true_peak_db: float
    loudness_range: float | None
    gain_db: float
    out_integrated_lufs: float | None
    out_true_peak_db: float | None
    out: Path | None
    channel_weights: tuple[float, ...] = ()
    limited: bool = False
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def as_dict(self) -> dict:
        d = asdict(self)
        for k, v in d.items():
            if isinstance(v, float):
                d[k] = round(v, 3) if math.isfinite(v) else None
        d["out"] = str(self.out) if self.out else None
        d["channel_weights"] = list(self.channel_weights)
        return d


# --------------------------------------------------------------------------------------------------------------
# Measurement
# --------------------------------------------------------------------------------------------------------------
def channel_weights(names: list[str] | int) -> tuple[float, ...]:
    """BS.1770 weights for FFmpeg channel names (or a channel count, read as FFmpeg's default layout)."""
    if isinstance(names, int):
        import av

        layout = _DEFAULT_LAYOUT.get(names)
        names = [c.name for c in av.AudioLayout(layout).channels] if layout else ["FC"] * names
    return tuple(0.0 if n.startswith("LFE") else 1.41 if n in _SURROUND else 1.0 for n in names)


def _as_2d(samples: np.ndarray) -> np.ndarray:
    s = np.asarray(samples, dtype=np.float32)
    return s[None, :] if s.ndim == 1 else s


def _check_length(samples: np.ndarray, rate: int) -> None:
    if samples.shape[-1] < MIN_SECONDS * rate:
        raise InvalidInput(f"The audio is {samples.shape[-1] / rate:.2f} s long; loudness needs at least "
                           f"{MIN_SECONDS} s (one BS.1770 gating block).")


def _pyloudnorm_fits(weights: tuple[float, ...]) -> bool:
    return weights == _PYLN_WEIGHTS[:len(weights)]


def _block_energies(samples: np.ndarray, rate: int, weights, block_s: float, overlap: float) -> np.ndarray:
    """Weighted K-filtered mean square of each gating block (the same block bounds as pyloudnorm)."""
    from pyloudnorm.iirfilter import IIRfilter
    from scipy.signal import lfilter

    x = samples.astype(np.float64)
    for f in (IIRfilter(4.0, 1 / np.sqrt(2), 1500.0, rate, "high_shelf"),
              IIRfilter(0.0, 0.5, 38.0, rate, "high_pass")):  # pyloudnorm's K-weighting stages
        x = lfilter(f.b, f.a, x, axis=1)
    csum = np.concatenate([np.zeros((x.shape[0], 1)), np.cumsum(x * x, axis=1)], axis=1)
    step = block_s * (1.0 - overlap)
    count = int(round((x.shape[1] / rate - block_s) / step)) + 1
    j = np.arange(count)
    lo = (block_s * j * (1 - overlap) * rate).astype(int)
    hi = np.minimum((block_s * (j * (1 - overlap) + 1) * rate).astype(int), x.shape[1])
    z = (csum[:, hi] - csum[:, lo]) / (block_s * rate)
    return np.asarray(weights, dtype=np.float64) @ z


def _lufs(energy) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return -0.691 + 10.0 * np.log10(energy)


def gated_loudness(samples: np.ndarray, rate: int, weights: tuple[float, ...] | None = None) -> float:
    """BS.1770-4 gated loudness, vectorised (any channel count; equals pyloudnorm's result for ≤ 5 channels)."""
    samples = _as_2d(samples)
    _check_length(samples, rate)
    energy = _block_energies(samples, rate, weights or channel_weights(samples.shape[0]), 0.4, 0.75)
    gated = energy[_lufs(energy) >= -70.0]
    if gated.size == 0:
        return -math.inf
    gated = gated[_lufs(gated) > _lufs(gated.mean()) - 10.0]
    return float(_lufs(gated.mean())) if gated.size else -math.inf


def integrated_loudness(samples: np.ndarray, rate: int, weights: tuple[float, ...] | None = None) -> float:
    """Integrated loudness in LUFS of float (channels, n) audio (−inf for silence): pyloudnorm where its channel
    weights fit, else ``gated_loudness``."""
    samples = _as_2d(samples)
    weights = weights or channel_weights(samples.shape[0])
    if not _pyloudnorm_fits(weights):
        return gated_loudness(samples, rate, weights)
    import pyloudnorm

    _check_length(samples, rate)
    return float(pyloudnorm.Meter(rate).integrated_loudness(samples.T.astype(np.float64)))


def loudness_range(samples: np.ndarray, rate: int, weights: tuple[float, ...] | None = None) -> float | None:
    """EBU Tech 3342 loudness range in LU (3 s blocks at 10 Hz, 10th–95th percentile; as pyloudnorm computes it,
    vectorised); None when shorter than 3 s or too quiet."""
    samples = _as_2d(samples)
    if samples.shape[1] < 3.0 * rate:
        return None
    padded = np.pad(samples, ((0, 0), (0, int(1.5 * rate))))
    short = _lufs(_block_energies(padded, rate, weights or channel_weights(samples.shape[0]), 3.0, 0.97))
    short = short[short >= -70.0]
    if short.size:
        short = short[short >= 10 * np.log10(np.mean(10 ** (short / 10))) - 20.0]
    return float(np.percentile(short, 95) - np.percentile(short, 10)) if short.size else None


@lru_cache(maxsize=1)
def _fir() -> np.ndarray:
    """49-tap low-pass for 4× true-peak oversampling (BS.1770-4 Annex 2 uses 48), float32 for speed."""
    from scipy.signal import firwin

    return firwin(49, 1.0 / OVERSAMPLE, window=("kaiser", 5.0)).astype(np.float32)


def _block_peaks(samples: np.ndarray, block: int, chunk: int = 1 << 18, margin: int = 64) -> np.ndarray:
    """Largest 4×-oversampled |sample| over all channels in each ``block`` of input samples."""
    from scipy.signal import resample_poly

    n, channels = samples.shape[1], samples.shape[0]
    chunk = max(block, chunk - chunk % block)
    out = []
    for start in range(0, n, chunk):
        a, end = max(0, start - margin), min(n, start + chunk)
        up = resample_poly(samples[:, a:min(n, end + margin)], OVERSAMPLE, 1, axis=1, window=_fir())
        up = up[:, OVERSAMPLE * (start - a):OVERSAMPLE * (end - a)]
        blocks = -(-(end - start) // block)
        up = np.pad(up, ((0, 0), (0, blocks * block * OVERSAMPLE - up.shape[1])))
        x = np.pad(samples[:, start:end], ((0, 0), (0, blocks * block - (end - start))))
        out.append(np.maximum(np.abs(up.reshape(channels, blocks, -1)).max(axis=(0, 2)),
                              np.abs(x.reshape(channels, blocks, -1)).max(axis=(0, 2))))
    return np.concatenate(out) if out else np.zeros(0)


def true_peak(samples: np.ndarray, rate: int | None = None) -> float:
    """True peak in dBTP (4× oversampled; −inf for silence)."""
    peaks = _block_peaks(_as_2d(samples), 4096)
    top = float(peaks.max()) if peaks.size else 0.0
    return 20.0 * math.log10(top) if top > 0 else -math.inf


# --------------------------------------------------------------------------------------------------------------
# Processing
# --------------------------------------------------------------------------------------------------------------
def limit_true_peak(samples: np.ndarray, rate: int, ceiling_db: float = -1.0,
                    rounds: int = 4) -> tuple[np.ndarray, bool]:
    """Look-ahead true-peak limiter: returns (audio whose true peak ≤ ``ceiling_db``, whether it had to act)."""
    out = _as_2d(samples).copy()
    block = max(1, int(round(BLOCK_S * rate)))
    ahead = max(1, int(round(LOOKAHEAD_S / BLOCK_S)))
    hold = ahead // 2 + 2
    size = ahead + hold + 1
    a = math.exp(-BLOCK_S / RELEASE_S)
    acted = False
    from scipy.ndimage import minimum_filter1d, uniform_filter1d

    for i in range(rounds):
        peaks = _block_peaks(out, block)
        if peaks.size == 0 or peaks.max() <= 10 ** (ceiling_db / 20):
            break
        acted = True
        target = ceiling_db - 0.1 * (i + 1)  # a little margin: the gain's own ripple can push the peak back up
        need = np.minimum(0.0, target - 20 * np.log10(np.maximum(peaks, 1e-12)))
        held = minimum_filter1d(need, size=size, origin=hold - size // 2, mode="nearest")  # blocks [b-hold, b+ahead]
        smooth = uniform_filter1d(held, size=ahead, mode="nearest")
        gain_db = np.empty_like(smooth)
        state = 0.0
        for k, value in enumerate(smooth.tolist()):  # instant attack (already ramped), slow release
            state = min(value, a * state + (1 - a) * value)
            gain_db[k] = state
        centres = np.arange(gain_db.size) * block + (block - 1) / 2
        out *= np.interp(np.arange(out.shape[1]), centres, 10 ** (gain_db / 20)).astype(np.float32)
    return out, acted


def _quantise(x: np.ndarray) -> np.ndarray:
    return np.round(np.clip(x, -1.0, 1.0) * 32767.0) / np.float32(32767.0)


def normalise(samples: np.ndarray, rate: int, target_lufs: float = -14.0, true_peak_db: float = -1.0,
              weights: tuple[float, ...] | None = None) -> tuple[np.ndarray, float, bool]:
    """Gain to ``target_lufs`` then the true-peak limiter; returns (audio, gain in dB, limited)."""
    samples = _as_2d(samples)
    weights = weights or channel_weights(samples.shape[0])
    loudness = gated_loudness(samples, rate, weights)
    if not math.isfinite(loudness):
        raise InvalidInput("The audio is silent (below the −70 LUFS gate): there is nothing to normalise.")
    gain_db, limited, out = target_lufs - loudness, False, samples
    first, last, applied = gain_db, None, gain_db  # last: (gain, miss) of the previous round, for a secant step
    for _ in range(4):
        applied = gain_db
        out, acted = limit_true_peak(samples * np.float32(10 ** (gain_db / 20)), rate, true_peak_db)
        out = _quantise(out)
        limited |= acted
        miss = target_lufs - gated_loudness(out, rate, weights)
        if not acted or abs(miss) < 0.1:
            break
        slope = 1.0 if last is None else float(np.clip((last[1] - miss) / (gain_db - last[0]), 0.2, 1.0))
        last = (gain_db, miss)
        gain_db = min(gain_db + miss / slope, first + MAX_EXTRA_GAIN_DB)  # limiting cost loudness: push harder
    return out, applied, limited


def duck(music: np.ndarray, speech: np.ndarray, *, rate: int, amount_db: float = -12.0, attack_s: float = 0.010,
         release_s: float = 0.250) -> np.ndarray:
    """``music`` ((n,) or (ch, n)) lowered by up to ``amount_db`` wherever ``speech`` is heard (sidechain on its
    held RMS envelope, look-ahead, attack/release in dB); reuses ``engines.animatic.audio.duck_gain``."""
    from ..animatic.audio import duck_gain

    music = np.asarray(music, dtype=np.float32)
    key = np.asarray(speech, dtype=np.float32)
    key = key.mean(axis=0) if key.ndim == 2 else key
    n = music.shape[-1]
    key = np.pad(key[:n], (0, max(0, n - key.shape[0])))
    return music * duck_gain(key, amount_db, rate=rate, attack_s=attack_s, release_s=release_s)


# --------------------------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------------------------
def _read(path: Path, ctx: Context) -> tuple[np.ndarray, int, list[str], str, bool]:
    """(samples (ch, n), rate, channel names, layout name, has video) of a file's first audio track."""
    from contextlib import closing

    from ..media import probe, read_audio
    from ..media.probe import audio_stream, open_container

    info = probe(path)
    if info.audio is None:
        raise InvalidMedia(f"{path.name} has no audio track.")
    with closing(open_container(path)) as container:
        layout = audio_stream(container).codec_context.layout
        names, layout_name = [c.name for c in layout.channels], layout.name
    if len(names) >= 8:  # PyAV's planar frames stop at 8 channels (read_audio would crash): decode packed
        samples = _decode_packed(path)
    else:
        samples = read_audio(path, sample_rate=info.audio.sample_rate, mono=False, ctx=ctx)
    return samples, info.audio.sample_rate, names, layout_name, info.video is not None


def _decode_packed(path: Path) -> np.ndarray:
    """Every channel as float32 (channels, n) through a packed-float resampler, at the file's own rate."""
    import av

    from ..errors import CorruptMedia
    from ..media.probe import audio_stream, open_container

    container = open_container(path)
    try:
        stream = audio_stream(container)
        layout, count = stream.codec_context.layout, stream.codec_context.layout.nb_channels
        resampler = av.AudioResampler(format="flt", layout=layout.name, rate=stream.codec_context.sample_rate)
        frames = [o for f in container.decode(stream) for o in resampler.resample(f)] + resampler.resample(None)
    except (av.FFmpegError, ValueError) as exc:  # ValueError: the format changed in mid-stream (damaged file)
        raise CorruptMedia(f"{path.name}: its audio cannot be decoded ({exc}).") from None
    finally:
        container.close()
    out = [f.to_ndarray().reshape(-1, count).T for f in frames]
    return np.concatenate(out, axis=1) if out else np.zeros((count, 0), np.float32)


class LoudnessNormaliser(Engine[LoudnessRequest, LoudnessResult]):
    """Measure (LUFS, dBTP, LRA) and, when ``request.out`` is set, normalise with a true-peak limiter (CPU)."""

    kind = "loudness"
    name = "lite"

    def run(self, request: LoudnessRequest, ctx: Context | None = None) -> LoudnessResult:
        ctx = self._ctx(ctx)
        started = time.perf_counter()

        # 1. Check inputs
        media, out = Path(request.media), (Path(request.out) if request.out else None)
        if not -70.0 <= request.target_lufs <= 0.0:
            raise InvalidInput(f"target_lufs must be between −70 and 0 LUFS, not {request.target_lufs}.")
        if not -20.0 <= request.true_peak_db <= 0.0:
            raise InvalidInput(f"true_peak_db must be between −20 and 0 dBTP, not {request.true_peak_db}.")
        if out is not None:
            if out.suffix.lower() not in _VIDEO_OUT | {".wav"}:
                raise InvalidInput(f"{out.name}: write a .wav (or, for a video, .mp4/.mov/.m4v/.mkv).")
            if out.exists() and media.exists() and out.resolve() == media.resolve():
                raise InvalidInput(f"{out.name}: write the normalised audio to a new file, not over the input.")

        # 2. Decode
        ctx.report(0.0, f"decoding {media.name}")
        samples, rate, names, layout, has_video = _read(media, ctx)
        to_video = out is not None and out.suffix.lower() in _VIDEO_OUT
        if to_video and not has_video:
            raise InvalidInput(f"{media.name} has no video stream; write the normalised audio to a .wav instead.")
        if samples.shape[1] < MIN_SECONDS * rate:
            raise InvalidMedia(f"{media.name} is {samples.shape[1] / rate:.2f} s long; loudness needs at least "
                               f"{MIN_SECONDS} s of audio (one BS.1770 gating block).")
        weights = channel_weights(len(names) if "NONE" in names else names)  # unknown order: FFmpeg's default
        warnings = [] if _pyloudnorm_fits(weights) else [
            f"{layout} ({samples.shape[0]} channels): BS.1770 gating with FFmpeg ebur128 weights {list(weights)} "
            "(LFE left out, surrounds +1.5 dB), computed here since pyloudnorm handles at most 5 channels."]

        # 3. Measure
        ctx.check()
        ctx.report(0.3, "measuring")
        lufs = integrated_loudness(samples, rate, weights)
        result = LoudnessResult(lufs, true_peak(samples), loudness_range(samples, rate, weights), 0.0, None, None,
                                None, weights, warnings=warnings)
        if not math.isfinite(lufs):
            if out is not None:
                raise InvalidMedia(f"{media.name} is silent (below the −70 LUFS gate): there is nothing to "
                                   "normalise.")
            warnings.append(f"{media.name} is silent (below the −70 LUFS gate).")
        if out is None:
            result.seconds = time.perf_counter() - started
            return result

        # 4. Normalise
        ctx.check()
        ctx.report(0.5, f"normalising to {request.target_lufs:g} LUFS, {request.true_peak_db:g} dBTP")
        processed, result.gain_db, result.limited = normalise(samples, rate, request.target_lufs,
                                                              request.true_peak_db, weights)
        del samples
        if result.gain_db > 20.0:
            warnings.append(f"A gain of {result.gain_db:+.1f} dB raises the background noise as much.")

        # 5. Write and re-measure
        ctx.check()
        ctx.report(0.85, f"writing {out.name}")
        if to_video:
            from ..media import read_audio
            from ..media.mux import replace_audio

            replace_audio(media, processed, rate, out, layout=layout)
            processed = read_audio(out, sample_rate=rate, mono=False)  # measure what the AAC encoder made
        else:
            write_wav(out, AudioClip(processed, rate))
        result.out = out
        result.out_integrated_lufs = integrated_loudness(processed, rate, weights)
        result.out_true_peak_db = true_peak(processed)
        ctx.report(1.0, "done")
        result.seconds = time.perf_counter() - started
        return result


def normalise_video_audio(video: Path, out: Path, *, target_lufs: float = -14.0, true_peak_db: float = -1.0,
                          ctx: Context | None = None) -> LoudnessResult:
    """Normalise a video's sound: its video stream is copied unchanged, the audio re-encoded as AAC."""
    if Path(out).suffix.lower() not in _VIDEO_OUT:
        raise InvalidInput(f"{Path(out).name}: the output of a video must be .mp4, .mov, .m4v or .mkv.")
    return LoudnessNormaliser().run(LoudnessRequest(Path(video), Path(out), target_lufs, true_peak_db), ctx)


# --------------------------------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------------------------------
def add_cli(sub) -> None:
    """``loudness IN [--out OUT] [--target -14] [--true-peak -1] [--json] [--progress]``."""
    p: argparse.ArgumentParser = sub.add_parser("loudness", help="measure LUFS / true peak; normalise with a limiter")
    p.add_argument("media", type=Path, help="audio or video file")
    p.add_argument("--out", type=Path, help="normalised output (.wav, or .mp4/.mov/.mkv for a video); "
                                            "without it, only measure")
    p.add_argument("--target", type=float, default=-14.0, help="integrated loudness target in LUFS (-14)")
    p.add_argument("--true-peak", type=float, default=-1.0, help="true-peak ceiling in dBTP (-1)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--progress", action="store_true", help="print progress to stderr")
    p.set_defaults(func=cli_loudness)


def cli_loudness(args: argparse.Namespace) -> int:
    from ..base import EngineConfig
    from ..cli import fail, progress_context, run_once
    from ..errors import ReelsmithError
    from . import LOUDNESS

    request = LoudnessRequest(args.media, args.out, args.target, args.true_peak)
    try:
        result = run_once(LOUDNESS, EngineConfig(backend="lite"), request, progress_context(args.progress))
    except ReelsmithError as exc:
        return fail(exc)
    d = result.as_dict()
    print(json.dumps(d, indent=2) if args.json else
          ", ".join(f"{k}={v}" for k, v in d.items() if k not in ("channel_weights", "warnings")))
    return 0
