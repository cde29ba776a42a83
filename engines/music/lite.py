"""Algorithmic music beds on the CPU with numpy and scipy: no model, deterministic for a given request and seed.

    result = AlgorithmicComposer().run(MusicRequest(prompt="hopeful acoustic", duration_s=20, seed=3), ctx)
    write_wav(Path("bed.wav"), result.clip); result.parameters["progression"]  # 'I–V–vi–IV'

The score comes from ``engines.music.compose`` (style, key, tempo, progression, voicings, bass, drums,
melody) and the sound from ``engines.music.synth``.

Length and loops: the bed is always exactly ``round(duration_s * sample_rate)`` samples. With ``loop=True`` it
is a whole number of bars (the tempo is nudged by a few per cent to fit the duration) rendered *circularly*:
whatever rings past the last bar (releases, reverb) is added back onto the start, as on a loop's second pass,
and the limiter's windows wrap too, so the last sample flows into the first with no seam to hide and no
cross-fade to hear. With ``loop=False`` the bed keeps the requested tempo, ends on a held tonic chord and fades
out over its last second or so.

A ``melody`` file is used as a reference only: when the request gives no key or tempo, they are estimated from
it (chroma key profile, onset autocorrelation). The lite backend does not quote the melody itself.
"""
from __future__ import annotations

import math
import time
import zlib

import numpy as np

from ..audio_io import AudioClip
from ..base import Engine
from ..context import Context
from ..errors import InvalidInput
from . import compose
from .synth import VoiceBank, fold, highpass, master, reverb, reverb_ir
from .types import MusicRequest, MusicResult, check_request

#: Gain of each part when mixed (before the master), and how much of it goes to the reverb.
MIX: dict[str, tuple[float, float]] = {
    "pad": (0.16, 0.55), "bass": (0.55, 0.04), "lead": (0.28, 0.35),
    "kick": (0.65, 0.04), "snare": (1.1, 0.2), "hat": (0.4, 0.08), "open_hat": (0.25, 0.1),
    "crash": (0.2, 0.2), "ride": (0.35, 0.15),
}
#: Level of each timbre relative to its part (measured: sustained sounds carry more energy than plucks).
TIMBRE_GAIN: dict[tuple[str, str], float] = {
    ("pad", "saw"): 1.1, ("pad", "strings"): 0.95, ("pad", "organ"): 0.5, ("pad", "keys"): 1.0,
    ("lead", "pluck"): 3.2, ("lead", "bell"): 0.7, ("lead", "keys"): 1.3, ("lead", "square"): 0.45,
    ("lead", "flute"): 0.5, ("bass", "pluck"): 0.95, ("bass", "sub"): 0.4, ("bass", "synth"): 1.0,
}
WET = 0.45
#: Longest time anything rings past its note-off before the reverb (crash, bell and string tails).
TAIL_S = 3.0


class AlgorithmicComposer(Engine[MusicRequest, MusicResult]):
    """Composes and synthesises a bed from the request's words, key, tempo and seed (CPU, no model)."""

    kind = "music"
    name = "lite"

    def run(self, request: MusicRequest, ctx: Context | None = None) -> MusicResult:
        ctx = self._ctx(ctx)
        started = time.perf_counter()

        # 1. Check inputs
        check_request(request)
        sr = int(request.sample_rate)
        length = request.num_samples()
        ctx.check()

        # 2. Reference melody (key and tempo only)
        reference = None
        if request.melody is not None and (request.key is None or request.tempo_bpm is None):
            ctx.report(0.01, "analysing the reference melody")
            from .analysis import describe_reference

            reference = describe_reference(request.melody, ctx)

        # 3. Plan and score
        seeds = np.random.SeedSequence([request.seed, _text_hash(request.prompt, request.mood)]).spawn(5)
        plan_rng, bass_rng, drum_rng, melody_rng, synth_rng = (np.random.default_rng(s) for s in seeds)
        plan = compose.make_plan(plan_rng, prompt=request.prompt, mood=request.mood, key=request.key,
                                 tempo_bpm=request.tempo_bpm, duration_s=float(request.duration_s),
                                 loop=request.loop, reference=reference)
        bars = compose.compose(plan, {"bass": bass_rng, "drums": drum_rng, "melody": melody_rng})
        ctx.report(0.03, f"{plan.parameters()['key']}, {plan.tempo_bpm:.1f} BPM, {plan.n_bars} bars")

        # 4. Render bar by bar into a dry bus (stereo) and a reverb send (mono)
        bar_samples = (length / plan.n_bars if request.loop
                       else compose.BEATS_PER_BAR * 60.0 / plan.tempo_bpm * sr)
        step_samples = bar_samples / compose.STEPS_PER_BAR
        total = length + int(TAIL_S * sr) + int(bar_samples) + 1
        dry = np.zeros((2, total), dtype=np.float32)
        send = np.zeros(total, dtype=np.float32)
        bank = VoiceBank(sr, synth_rng, pad_cutoff=plan.style.pad_cutoff)
        timbres = plan.instruments
        for b, notes in enumerate(bars):
            ctx.check()
            for note in notes:
                start = int(round((b * compose.STEPS_PER_BAR + note.step) * step_samples))
                n_on = max(1, int(round(note.dur * step_samples)))
                wave = bank.note(note.part, timbres.get(note.part), note.pitch, n_on)
                end = min(total, start + len(wave))
                if end <= start:
                    continue
                wave = wave[: end - start]
                gain, send_level = MIX[note.part]
                g = gain * note.vel * TIMBRE_GAIN.get((note.part, timbres.get(note.part)), 1.0)
                left, right = _pan(note.pan)
                dry[0, start:end] += wave * (g * left)
                dry[1, start:end] += wave * (g * right)
                send[start:end] += wave * (g * send_level)
            ctx.report(0.03 + 0.82 * (b + 1) / plan.n_bars, f"bar {b + 1}/{plan.n_bars}")

        # 5. Space: convolution reverb on the send, a little high-pass against rumble and DC
        ctx.check()
        ctx.report(0.87, "reverb")
        ir = reverb_ir(sr, plan.style.reverb_s, synth_rng)
        wet = reverb(send, ir)
        del send
        mix = wet * WET
        mix[:, :total] += dry
        del dry, wet
        for c in range(mix.shape[0]):
            mix[c] = highpass(mix[c], 30.0, sr)

        # 6. Loop (fold the tails onto the start) or end (trim and fade out)
        ctx.check()
        ctx.report(0.95, "mastering")
        if request.loop:
            mix = fold(mix, length)
        else:
            mix = np.array(mix[:, :length])
            fade = min(int(1.5 * sr), length // 6)
            if fade > 1:
                mix[:, -fade:] *= np.cos(np.linspace(0.0, math.pi / 2, fade)) ** 2
        out = master(mix, sr, periodic=request.loop)
        if out.shape[1] != length:  # pragma: no cover - guarded by construction
            raise InvalidInput(f"Internal length mismatch ({out.shape[1]} != {length}).")
        ctx.report(1.0, "done")

        parameters = plan.parameters()
        parameters.update({"seed": request.seed, "sample_rate": sr, "samples": length,
                           "duration_s": length / sr})
        return MusicResult(clip=AudioClip(out, sr), parameters=parameters, backend=self.name, model_id=None,
                           seconds=time.perf_counter() - started, request=request.as_dict())


def _pan(pan: float) -> tuple[float, float]:
    """Constant-power pan, unity gain in the centre."""
    angle = (float(np.clip(pan, -1.0, 1.0)) + 1.0) * math.pi / 4.0
    return math.cos(angle) * math.sqrt(2.0), math.sin(angle) * math.sqrt(2.0)


def _text_hash(prompt: str, mood: str | None) -> int:
    return zlib.crc32(f"{prompt.strip().lower()}|{(mood or '').strip().lower()}".encode("utf-8"))
