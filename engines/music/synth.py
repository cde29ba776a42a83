"""A small numpy/scipy synthesiser for the lite composer: oscillators, envelopes, instruments, drums, reverb, master.

Every voice is rendered once per (part, timbre, pitch, length) and cached, since a bed repeats its chords and
motifs; velocity and pan are applied when the note is mixed in. Noise comes from a generator seeded by the
request, so a bed is reproducible sample for sample.

* oscillators: band-limited (PolyBLEP) saw and square, sines, two-operator FM;
* pads: three detuned saws through a 2-pole low-pass ("saw", "strings" with delayed vibrato), a drawbar-style
  "organ", or an FM electric piano ("keys");
* leads: Karplus–Strong "pluck", FM "bell", "keys", filtered "square", breathy "flute";
* bass: Karplus–Strong "pluck" with a sine body, "sub" sine, filtered two-saw "synth";
* drums: kick (pitch-swept sine with a click), snare (band-passed noise + tone), hats and crash (high-passed
  noise), ride (noise + inharmonic partials);
* space: convolution with a generated stereo IR of decaying, darkening noise (decorrelated left/right);
* master: DC/rumble high-pass, RMS gain, look-ahead peak limiter and a final peak trim to ``PEAK_DBFS``.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np
from scipy import ndimage, signal

PEAK_DBFS = -1.0
TARGET_RMS_DBFS = -15.0

TWO_PI = 2.0 * math.pi


def midi_hz(pitch: float) -> float:
    return 440.0 * 2.0 ** ((pitch - 69.0) / 12.0)


# --------------------------------------------------------------------------------------------------------------
# Building blocks
# --------------------------------------------------------------------------------------------------------------
def adsr(n_on: int, sr: int, attack: float, decay: float, sustain: float, release: float) -> np.ndarray:
    """Gain for a note held ``n_on`` samples, with its release after: length ``n_on + release``.

    The attack is never shorter than 2 ms so no note starts with a click; the release is a quadratic fade from
    whatever level the note had reached when it was let go.
    """
    attack = max(attack, 0.002)
    n_rel = max(1, int(math.ceil(release * sr)))
    t = np.arange(n_on + n_rel) / sr
    on = n_on / sr
    xs, ys = [0.0, attack, attack + max(decay, 1e-4)], [0.0, 1.0, sustain]
    body = np.interp(t, xs, ys)
    level = float(np.interp(on, xs, ys))
    rel = level * np.clip(1.0 - (t - on) / release, 0.0, 1.0) ** 2
    return np.where(t < on, body, rel)


def saw(freq: float | np.ndarray, n: int, sr: int, phase: float = 0.0) -> np.ndarray:
    """Band-limited sawtooth (PolyBLEP), ``freq`` a constant or one value per sample."""
    inc = np.broadcast_to(np.asarray(freq, dtype=np.float64) / sr, (n,))
    ph = (phase + np.cumsum(inc) - inc) % 1.0
    y = 2.0 * ph - 1.0
    low = ph < inc
    x = ph[low] / inc[low]
    y[low] -= 2.0 * x - x * x - 1.0
    high = ph > 1.0 - inc
    x = (ph[high] - 1.0) / inc[high]
    y[high] -= x * x + 2.0 * x + 1.0
    return y


def square(freq: float | np.ndarray, n: int, sr: int, phase: float = 0.0) -> np.ndarray:
    return 0.5 * (saw(freq, n, sr, phase) - saw(freq, n, sr, phase + 0.5))


def sine(freq: float | np.ndarray, n: int, sr: int, phase: float = 0.0) -> np.ndarray:
    inc = np.broadcast_to(np.asarray(freq, dtype=np.float64) / sr, (n,))
    return np.sin(TWO_PI * (phase + np.cumsum(inc) - inc))


def lowpass(x: np.ndarray, cutoff: float, sr: int, order: int = 2) -> np.ndarray:
    cutoff = min(cutoff, 0.45 * sr)
    return signal.sosfilt(signal.butter(order, cutoff, "lowpass", fs=sr, output="sos"), x, axis=-1)


def highpass(x: np.ndarray, cutoff: float, sr: int, order: int = 2) -> np.ndarray:
    cutoff = min(cutoff, 0.45 * sr)
    return signal.sosfilt(signal.butter(order, cutoff, "highpass", fs=sr, output="sos"), x, axis=-1)


def bandpass(x: np.ndarray, lo: float, hi: float, sr: int, order: int = 2) -> np.ndarray:
    hi = min(hi, 0.45 * sr)
    lo = min(lo, 0.8 * hi)
    return signal.sosfilt(signal.butter(order, [lo, hi], "bandpass", fs=sr, output="sos"), x, axis=-1)


def vibrato(freq: float, n: int, sr: int, rate: float = 5.2, depth: float = 0.003, delay: float = 0.3
            ) -> np.ndarray:
    """Per-sample frequency with a vibrato that fades in after ``delay`` seconds."""
    t = np.arange(n) / sr
    fade = np.clip((t - delay) / 0.4, 0.0, 1.0)
    return freq * (1.0 + depth * fade * np.sin(TWO_PI * rate * t))


def karplus_strong(freq: float, n: int, sr: int, rng: np.random.Generator, decay_s: float = 1.5,
                   brightness: float = 0.5) -> np.ndarray:
    """Plucked string: a noise burst recirculated through a delay line with a two-tap averaging filter.

    The loop delay is an integer ``N`` plus the filter's half sample, so it is rendered at ``(N + 0.5)·freq``
    and resampled to ``sr`` (linear interpolation): every pitch is in tune, not just those whose period is a
    whole number of samples. Computed a period at a time (each block depends only on the previous one).
    """
    period = max(2, int(round(sr / freq - 0.5)))
    rate = (period + 0.5) * freq
    length = int(math.ceil(n * rate / sr)) + 2
    gain = 0.001 ** (1.0 / max(1e-3, decay_s * freq))  # -60 dB after decay_s
    y = np.zeros(length + period + 1)
    burst = rng.uniform(-1.0, 1.0, period + 1)
    # Darker excitation for a softer pluck: a one-pole low-pass over the burst.
    burst = signal.lfilter([brightness], [1.0, -(1.0 - brightness)], burst)
    burst -= burst.mean()
    y[:period + 1] = burst
    start = period + 1
    while start < len(y):
        end = min(start + period, len(y))
        y[start:end] = gain * 0.5 * (y[start - period:end - period] + y[start - period - 1:end - period - 1])
        start = end
    t = np.arange(n) * (rate / sr)
    return np.interp(t, np.arange(len(y)), y)


def _peak_normalise(x: np.ndarray) -> np.ndarray:
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    return x / peak if peak > 0 else x


# --------------------------------------------------------------------------------------------------------------
# Instruments
# --------------------------------------------------------------------------------------------------------------
class VoiceBank:
    """Renders notes and drum hits (mono float32, peak ≈ 1 before the envelope) with a cache."""

    def __init__(self, sr: int, rng: np.random.Generator, *, pad_cutoff: float = 2800.0) -> None:
        self.sr = sr
        self.pad_cutoff = pad_cutoff
        self._rng = rng
        self._cache: dict[tuple, np.ndarray] = {}

    def note(self, part: str, timbre: str | None, pitch: int, n_on: int) -> np.ndarray:
        key = (part, timbre, pitch, n_on)
        wave = self._cache.get(key)
        if wave is None:
            wave = self._render(part, timbre, pitch, n_on).astype(np.float32)
            self._cache[key] = wave
        return wave

    def _render(self, part: str, timbre: str | None, pitch: int, n_on: int) -> np.ndarray:
        if part in DRUMS:
            return DRUMS[part](self.sr, self._rng)
        render: Callable[..., np.ndarray] = {
            ("pad", "saw"): self._pad_saw, ("pad", "strings"): self._pad_strings,
            ("pad", "organ"): self._organ, ("pad", "keys"): self._keys,
            ("lead", "pluck"): self._pluck_lead, ("lead", "bell"): self._bell, ("lead", "keys"): self._keys,
            ("lead", "square"): self._square_lead, ("lead", "flute"): self._flute,
            ("bass", "pluck"): self._pluck_bass, ("bass", "sub"): self._sub_bass, ("bass", "synth"): self._synth_bass,
        }.get((part, timbre)) or {"pad": self._pad_saw, "lead": self._pluck_lead, "bass": self._sub_bass}[part]
        return render(midi_hz(pitch), n_on)

    # Pads -----------------------------------------------------------------------------------------------------
    def _detuned_saws(self, freq: float | np.ndarray, n: int, cents: float = 8.0) -> np.ndarray:
        phases = self._rng.uniform(0.0, 1.0, 3)
        out = np.zeros(n)
        for i, c in enumerate((-cents, 0.0, cents)):
            out += saw(np.asarray(freq) * 2.0 ** (c / 1200.0), n, self.sr, phases[i])
        return out / 3.0

    def _pad_saw(self, freq: float, n_on: int) -> np.ndarray:
        env = adsr(n_on, self.sr, 0.25, 0.6, 0.8, 0.9)
        tone = lowpass(self._detuned_saws(freq, len(env), 9.0), self.pad_cutoff, self.sr)
        return _peak_normalise(tone) * env

    def _pad_strings(self, freq: float, n_on: int) -> np.ndarray:
        env = adsr(n_on, self.sr, 0.6, 0.5, 0.85, 1.2)
        f = vibrato(freq, len(env), self.sr, rate=5.0, depth=0.0025, delay=0.35)
        tone = lowpass(self._detuned_saws(f, len(env), 6.0), self.pad_cutoff * 0.85, self.sr)
        return _peak_normalise(tone) * env

    def _organ(self, freq: float, n_on: int) -> np.ndarray:
        env = adsr(n_on, self.sr, 0.015, 0.1, 0.9, 0.15)
        f = vibrato(freq, len(env), self.sr, rate=6.5, depth=0.0015, delay=0.0)
        tone = sum(a * sine(f * h, len(env), self.sr) for h, a in ((1, 1.0), (2, 0.5), (3, 0.3), (4, 0.2)))
        return _peak_normalise(tone) * env

    def _keys(self, freq: float, n_on: int) -> np.ndarray:
        """Electric piano: 1:1 FM whose index falls quickly (bright strike, mellow body), decaying."""
        env = adsr(n_on, self.sr, 0.003, 2.5, 0.0, 0.25)
        n = len(env)
        t = np.arange(n) / self.sr
        index = 1.4 * np.exp(-t / 0.25) + 0.15
        mod = np.sin(TWO_PI * freq * t)
        tone = np.sin(TWO_PI * freq * t + index * mod) + 0.2 * np.sin(TWO_PI * 2 * freq * t) * np.exp(-t / 0.4)
        decay = np.exp(-t / (1.8 if freq < 400 else 1.2))
        return _peak_normalise(tone) * env * decay / max(1e-9, float(np.max(env * decay)))

    # Leads ----------------------------------------------------------------------------------------------------
    def _pluck_lead(self, freq: float, n_on: int) -> np.ndarray:
        n = n_on + int(0.08 * self.sr)
        tone = karplus_strong(freq, n, self.sr, self._rng, decay_s=1.2, brightness=0.6)
        return _peak_normalise(tone) * adsr(n_on, self.sr, 0.002, 0.0, 1.0, 0.08)[:n]

    def _bell(self, freq: float, n_on: int) -> np.ndarray:
        n = n_on + int(1.5 * self.sr)
        t = np.arange(n) / self.sr
        index = 2.0 * np.exp(-t / 0.3)
        tone = np.sin(TWO_PI * freq * t + index * np.sin(TWO_PI * 2.0 * freq * t))
        tone += 0.25 * np.sin(TWO_PI * 4.0 * freq * t) * np.exp(-t / 0.15)
        env = np.exp(-t / 0.9) * np.clip(t / 0.002, 0.0, 1.0)
        env *= np.clip(1.0 - (t - (n_on / self.sr + 1.0)) / 0.5, 0.0, 1.0)  # fade the tail to silence
        return _peak_normalise(tone) * env

    def _square_lead(self, freq: float, n_on: int) -> np.ndarray:
        env = adsr(n_on, self.sr, 0.01, 0.15, 0.65, 0.12)
        f = vibrato(freq, len(env), self.sr, rate=5.5, depth=0.004, delay=0.25)
        tone = lowpass(square(f, len(env), self.sr), min(6.0 * freq, 5000.0), self.sr)
        return _peak_normalise(tone) * env

    def _flute(self, freq: float, n_on: int) -> np.ndarray:
        env = adsr(n_on, self.sr, 0.06, 0.1, 0.85, 0.12)
        n = len(env)
        f = vibrato(freq, n, self.sr, rate=5.0, depth=0.004, delay=0.2)
        tone = sine(f, n, self.sr) + 0.15 * sine(2 * f, n, self.sr) + 0.05 * sine(3 * f, n, self.sr)
        breath = bandpass(self._rng.standard_normal(n), 1.5 * freq, 3.0 * freq, self.sr) * 0.25
        return _peak_normalise(tone + breath) * env

    # Bass -----------------------------------------------------------------------------------------------------
    def _pluck_bass(self, freq: float, n_on: int) -> np.ndarray:
        env = adsr(n_on, self.sr, 0.003, 0.0, 1.0, 0.08)
        n = len(env)
        string = _peak_normalise(karplus_strong(freq, n, self.sr, self._rng, decay_s=1.4, brightness=0.35))
        t = np.arange(n) / self.sr
        body = np.sin(TWO_PI * freq * t) * np.exp(-t / 0.9)
        return _peak_normalise(0.7 * string + 0.6 * body) * env

    def _sub_bass(self, freq: float, n_on: int) -> np.ndarray:
        env = adsr(n_on, self.sr, 0.006, 0.25, 0.8, 0.08)
        n = len(env)
        tone = sine(freq, n, self.sr) + 0.22 * sine(2 * freq, n, self.sr) + 0.08 * sine(3 * freq, n, self.sr)
        return _peak_normalise(tone) * env

    def _synth_bass(self, freq: float, n_on: int) -> np.ndarray:
        env = adsr(n_on, self.sr, 0.004, 0.15, 0.7, 0.06)
        n = len(env)
        raw = 0.5 * (saw(freq, n, self.sr) + saw(freq * 2.0 ** (7 / 1200), n, self.sr, 0.3))
        dark = lowpass(raw, 3.0 * freq, self.sr)
        bright = lowpass(raw, 10.0 * freq, self.sr)
        t = np.arange(n) / self.sr
        sweep = np.exp(-t / 0.08)  # filter envelope: bright attack, dark body
        tone = dark + sweep * (bright - dark) + 0.5 * sine(freq, n, self.sr)
        return _peak_normalise(tone) * env


# --------------------------------------------------------------------------------------------------------------
# Drums (one hit each; the caller scales by velocity)
# --------------------------------------------------------------------------------------------------------------
def _fade_in(x: np.ndarray, sr: int, seconds: float = 0.001) -> np.ndarray:
    n = max(1, int(seconds * sr))
    x[:n] *= np.linspace(0.0, 1.0, n, endpoint=False)
    return x


def kick(sr: int, rng: np.random.Generator) -> np.ndarray:
    n = int(0.5 * sr)
    t = np.arange(n) / sr
    freq = 45.0 + 110.0 * np.exp(-t / 0.035)  # pitch sweep 155 → 45 Hz
    body = np.sin(TWO_PI * np.cumsum(freq) / sr) * np.exp(-t / 0.22)
    click = bandpass(rng.standard_normal(n), 1500.0, 6000.0, sr) * np.exp(-t / 0.004) * 0.3
    return _fade_in(_peak_normalise(body + click), sr)


def snare(sr: int, rng: np.random.Generator) -> np.ndarray:
    n = int(0.35 * sr)
    t = np.arange(n) / sr
    noise = bandpass(rng.standard_normal(n), 1200.0, 7000.0, sr) * np.exp(-t / 0.11)
    tone = np.sin(TWO_PI * 185.0 * t) * np.exp(-t / 0.05) + 0.5 * np.sin(TWO_PI * 330.0 * t) * np.exp(-t / 0.03)
    return _fade_in(_peak_normalise(_peak_normalise(noise) + 0.8 * _peak_normalise(tone)), sr)


def _hat(sr: int, rng: np.random.Generator, tau: float, seconds: float, cutoff: float = 7000.0) -> np.ndarray:
    n = int(seconds * sr)
    t = np.arange(n) / sr
    noise = highpass(rng.standard_normal(n), min(cutoff, 0.35 * sr), sr, order=4)
    env = np.exp(-t / tau) * np.clip(1.0 - (t - 0.8 * seconds) / (0.2 * seconds), 0.0, 1.0)
    return _fade_in(_peak_normalise(noise) * env, sr)


def hat(sr: int, rng: np.random.Generator) -> np.ndarray:
    return _hat(sr, rng, 0.03, 0.15)


def open_hat(sr: int, rng: np.random.Generator) -> np.ndarray:
    return _hat(sr, rng, 0.16, 0.6)


def crash(sr: int, rng: np.random.Generator) -> np.ndarray:
    return _hat(sr, rng, 0.8, 2.5, cutoff=4000.0)


def ride(sr: int, rng: np.random.Generator) -> np.ndarray:
    n = int(1.2 * sr)
    t = np.arange(n) / sr
    noise = _peak_normalise(highpass(rng.standard_normal(n), min(6000.0, 0.35 * sr), sr, order=4))
    partials = sum(np.sin(TWO_PI * min(f, 0.45 * sr) * t) for f in (3150.0, 4230.0, 5670.0)) / 3.0
    env = np.exp(-t / 0.35) * np.clip(1.0 - (t - 1.0) / 0.2, 0.0, 1.0)
    return _fade_in(_peak_normalise(0.6 * noise + 0.4 * partials) * env, sr)


DRUMS: dict[str, Callable[[int, np.random.Generator], np.ndarray]] = {
    "kick": kick, "snare": snare, "hat": hat, "open_hat": open_hat, "crash": crash, "ride": ride}


# --------------------------------------------------------------------------------------------------------------
# Space and master
# --------------------------------------------------------------------------------------------------------------
def reverb_ir(sr: int, rt60: float, rng: np.random.Generator, predelay: float = 0.018) -> np.ndarray:
    """A stereo impulse response: decorrelated noise with an exponential decay (−60 dB at ``rt60``) that gets
    darker as it decays (a low-passed copy takes over), each channel normalised to unit energy."""
    length = min(rt60, 3.5)
    n = int(length * sr)
    t = np.arange(n) / sr
    noise = rng.standard_normal((2, n))
    dark = lowpass(noise, 2500.0, sr)
    bright = lowpass(noise, 7000.0, sr)
    mix = np.exp(-t / (0.25 * rt60))
    ir = (bright * mix + dark * (1.0 - mix)) * np.exp(-6.9 * t / rt60)
    ir[:, : int(0.003 * sr)] *= np.linspace(0.0, 1.0, int(0.003 * sr))
    ir *= np.clip((length - t) / 0.2, 0.0, 1.0)  # end at zero
    ir = np.concatenate([np.zeros((2, int(predelay * sr))), ir], axis=1)
    return ir / np.sqrt(np.sum(ir ** 2, axis=1, keepdims=True))


def reverb(send: np.ndarray, ir: np.ndarray) -> np.ndarray:
    """Mono ``send`` (n,) through the stereo ``ir`` (2, m): (2, n + m - 1), float32."""
    return np.stack([signal.oaconvolve(send, ir[c]).astype(np.float32) for c in range(ir.shape[0])])


def fold(mix: np.ndarray, length: int) -> np.ndarray:
    """Wrap everything past ``length`` back onto the start: what a loop sounds like from its second pass on."""
    channels, n = mix.shape
    chunks = int(math.ceil(n / length))
    padded = np.zeros((channels, chunks * length), dtype=np.float32)
    padded[:, :n] = mix
    return padded.reshape(channels, chunks, length).sum(axis=1)


def master(mix: np.ndarray, sr: int, *, periodic: bool, peak_dbfs: float = PEAK_DBFS,
           target_rms_dbfs: float = TARGET_RMS_DBFS) -> np.ndarray:
    """RMS gain, look-ahead limiter, final peak trim to ``peak_dbfs``. ``periodic`` treats the signal as a loop
    (the limiter's windows wrap around), so a seamless loop stays seamless."""
    mix = np.asarray(mix, dtype=np.float32)
    rms = math.sqrt(float(np.mean(np.square(mix, dtype=np.float64)))) if mix.size else 0.0
    if rms <= 1e-9:
        return mix
    mix = mix * np.float32(10 ** (target_rms_dbfs / 20.0) / rms)
    threshold = 10 ** (peak_dbfs / 20.0)
    hold = max(3, int(0.06 * sr)) | 1
    smooth = max(3, int(0.02 * sr)) | 1
    mode = "wrap" if periodic else "nearest"
    peak = ndimage.maximum_filter1d(np.max(np.abs(mix), axis=0), size=hold, mode=mode)
    needed = np.minimum(1.0, threshold / np.maximum(peak, 1e-12))
    # The moving average spans less than the hold window, so at every sample it averages gains that were each
    # computed with that sample's peak in view: the smoothed gain never lets a peak through.
    gain = ndimage.uniform_filter1d(needed, size=smooth, mode=mode)
    mix *= gain.astype(np.float32)
    top = float(np.max(np.abs(mix)))
    if top > 0:
        mix *= np.float32(threshold / top)
    return mix
