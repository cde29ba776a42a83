"""``lite`` shot detector: one decode pass at 128 px, three cheap signatures per frame, three detectors.

Signatures (per frame): an HSV colour histogram (16x4x4 bins), a 16x16 grayscale thumbnail, a Canny edge map
(dilated for the edge-change ratio), mean and standard deviation of luma.

1. Cuts: per frame pair a score mixing histogram distance, thumbnail difference and edge-change ratio; a frame
   is a cut when its score is a local peak above an *adaptive* threshold (median + k*MAD of the scores in a
   sliding window around it, never below a floor), and not a flash (frame t+1 or t+2 resembles frame t-1 again).
2. Gradual (dissolves and fades): at several half-widths k, frame t is compared with the linear blend of frames
   t-k and t+k (least squares on the thumbnails). A transition centre has ends that differ a lot, a small blend
   residual, a blend weight near the middle and a nearly straight path between the ends (camera motion and
   action wander; a cross-fade goes straight). One dark end makes it a fade.
3. Fades by luma: a run of near-black frames entered or left by a monotonic luma ramp of 3+ frames.
Detections are merged (a cut inside a gradual span is the same transition) and shots shorter than
``min_shot_s`` are dropped (the weaker boundary goes).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import cv2
import numpy as np

from ..base import Engine
from ..context import Context
from ..errors import InvalidInput, InvalidMedia
from ..media import iter_frames, probe
from .types import ShotRequest, ShotResult, Transition

#: Longest side of the decoded pictures.
MAX_SIDE = 128
THUMB = 16
#: Sliding window (frames each side) for the adaptive cut threshold.
WINDOW = 15
#: Cut threshold: median + CUT_K * 1.4826 * MAD, at least median + CUT_DELTA, and at least CUT_MIN.
CUT_K = 6.0
CUT_DELTA = 0.18
CUT_MIN = 0.22
#: ... and at least CUT_RATIO times the mean score of the window.
CUT_RATIO = 2.5
#: Half-widths (frames) at which the linear-blend check runs.
BLEND_KS = (3, 5, 8, 12, 16)
#: Dark frame: mean luma and luma std below these (0..255).
DARK_MEAN, DARK_STD = 24.0, 14.0
#: A fade's frame: where the picture has this share of its brightness above black.
FADE_LEVEL = 0.25


@dataclass
class _Signatures:
    hists: np.ndarray  # (N, 256) float32, sum 1
    thumbs: np.ndarray  # (N, 256) float32 gray 0..255
    edges: list[np.ndarray]  # bool maps
    dilated: list[np.ndarray]
    luma: np.ndarray  # (N,)
    luma_std: np.ndarray
    times: np.ndarray


def _signature(rgb: np.ndarray):
    hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)
    hist = cv2.calcHist([hsv], [0, 1, 2], None, [16, 4, 4], [0, 180, 0, 256, 0, 256]).ravel()
    hist /= max(1.0, float(hist.sum()))
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    thumb = cv2.resize(gray, (THUMB, THUMB), interpolation=cv2.INTER_AREA).astype(np.float32).ravel()
    edges = cv2.Canny(cv2.GaussianBlur(gray, (3, 3), 0), 40, 120) > 0
    dilated = cv2.dilate(edges.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    mean, std = cv2.meanStdDev(gray)
    return hist, thumb, edges, dilated, float(mean[0, 0]), float(std[0, 0])


def _ecr(sig: _Signatures, a: int, b: int) -> float:
    """Edge change ratio between frames a and b (0: same edges, 1: all edges new or gone)."""
    ea, eb = sig.edges[a], sig.edges[b]
    na, nb = int(ea.sum()), int(eb.sum())
    if na < 8 and nb < 8:
        return 0.0
    out_a = float((ea & ~sig.dilated[b]).sum()) / max(na, 1)
    in_b = float((eb & ~sig.dilated[a]).sum()) / max(nb, 1)
    return max(out_a if na >= 8 else 1.0, in_b if nb >= 8 else 1.0)


def _distance(sig: _Signatures, a: int, b: int) -> float:
    """Combined 0..1 distance between any two frames."""
    hist = 0.5 * float(np.abs(sig.hists[a] - sig.hists[b]).sum())
    thumb = min(1.0, float(np.abs(sig.thumbs[a] - sig.thumbs[b]).mean()) / 64.0)
    return 0.4 * hist + 0.35 * thumb + 0.25 * _ecr(sig, a, b)


def _quantiles(path: np.ndarray, start: int, end: int, qs: tuple[float, ...]) -> list[int]:
    """Frames at which the cumulative change from ``start`` reaches each fraction of the change up to ``end``."""
    total = float(path[end] - path[start])
    if total <= 0:
        return [int(round(start + q * (end - start))) for q in qs]
    rel = (path[start:end + 1] - path[start]) / total
    return [start + int(np.searchsorted(rel, q)) for q in qs]


def _fade_frame(tr: Transition, sig: _Signatures) -> Transition:
    """Place a fade's frame where the picture emerges from (or sinks into) black: the first frame of the fade-in
    (the first after the fade-out) with a quarter of the content's brightness above the black level. That is the
    boundary people mark; ``start``..``end`` keep the whole ramp."""
    luma = sig.luma[tr.start:tr.end + 1]
    if luma.size < 2:
        return tr
    rising = luma[-1] >= luma[0]
    lo, hi = float(luma.min()), float(luma.max())
    above = np.nonzero(luma >= lo + FADE_LEVEL * (hi - lo))[0]
    if above.size == 0:
        return tr
    frame = tr.start + (int(above[0]) if rising else min(int(above[-1]) + 1, luma.size - 1))
    return Transition(frame, float(sig.times[frame]), "fade", tr.start, tr.end, tr.score)


class ShotDetector(Engine[ShotRequest, ShotResult]):
    """Cuts, dissolves and fades of a video (CPU, no model). ``config.options`` may set ``max_side``."""

    kind = "shots"
    name = "lite"

    def run(self, request: ShotRequest, ctx: Context | None = None) -> ShotResult:
        ctx = self._ctx(ctx)
        started = time.perf_counter()

        # 1. Check inputs
        ctx.check()
        if not (0.0 <= request.min_shot_s <= 10.0) or not math.isfinite(request.min_shot_s):
            raise InvalidInput(f"min_shot_s must be between 0 and 10 seconds, not {request.min_shot_s}.")
        if not (0.25 <= request.sensitivity <= 4.0):
            raise InvalidInput(f"sensitivity must be between 0.25 and 4, not {request.sensitivity}.")
        ctx.report(0.0, "Reading the file")
        info = probe(request.media)
        if info.kind != "video" or info.video is None:
            raise InvalidMedia(f"{info.name} has no video: shots can only be found in a video.")

        # 2. Decode once and compute the signatures
        sig = self._signatures(request, info, ctx.sub(0.02, 0.9))
        n = len(sig.luma)
        fps = info.fps or (float((n - 1) / sig.times[-1]) if n > 1 and sig.times[-1] > 0 else 25.0)

        # 3. Detect
        ctx.report(0.9, "Finding cuts")
        scores = np.zeros(n, np.float32)
        for t in range(1, n):
            scores[t] = _distance(sig, t - 1, t)
        cuts = self._cuts(sig, scores, request.sensitivity)
        ctx.check()
        ctx.report(0.94, "Finding dissolves and fades")
        gradual = self._blends(sig, scores, request.sensitivity) + self._fades(sig)

        # 4. Merge and enforce the shortest shot
        transitions = self._merge(cuts, gradual, sig, min_frames=int(round(request.min_shot_s * fps)), n=n)
        shots, first = [], 0
        for tr in transitions:
            shots.append((first, tr.frame - 1))
            first = tr.frame
        if n:
            shots.append((first, n - 1))
        ctx.report(1.0, f"{len(transitions)} transitions, {len(shots)} shots")
        return ShotResult(frames=n, fps=float(fps), transitions=transitions, shots=shots,
                          seconds=time.perf_counter() - started, parameters=request.as_dict())

    # -- 2. signatures -----------------------------------------------------------------------------------------
    def _signatures(self, request: ShotRequest, info, ctx: Context) -> _Signatures:
        max_side = int(self.config.options.get("max_side", MAX_SIDE))
        expected = max(1, int((info.duration_s or 0) * (info.fps or 25)))
        hists, thumbs, edges, dilated, luma, lstd, times = [], [], [], [], [], [], []
        for frame in iter_frames(request.media, max_side=max_side, ctx=ctx, fast=True):
            h, th, e, d, m, s = _signature(frame.image)
            hists.append(h), thumbs.append(th), edges.append(e), dilated.append(d)
            luma.append(m), lstd.append(s), times.append(frame.time_s)
            if len(luma) % 8 == 0:
                ctx.check()
                ctx.report(min(1.0, len(luma) / expected), f"Frame {len(luma)}")
        if not luma:
            raise InvalidMedia(f"{request.media.name} has no decodable video frames.")
        return _Signatures(np.asarray(hists, np.float32), np.asarray(thumbs, np.float32), edges, dilated,
                           np.asarray(luma, np.float32), np.asarray(lstd, np.float32), np.asarray(times))

    # -- 3a. cuts ----------------------------------------------------------------------------------------------
    @staticmethod
    def _cuts(sig: _Signatures, scores: np.ndarray, sensitivity: float) -> list[Transition]:
        n = len(scores)
        found: list[Transition] = []
        for t in range(1, n):
            s = float(scores[t])
            if s < CUT_MIN / sensitivity:
                continue
            if all(sig.luma[i] < DARK_MEAN and sig.luma_std[i] < DARK_STD for i in (t - 1, t)):
                continue  # noise between two black frames
            lo, hi = max(1, t - 2), min(n, t + 3)
            if s < scores[lo:hi].max():  # not the local peak
                continue
            # adaptive threshold on each side (a cut often separates a calm shot from a busy one, so the side
            # that is calmer decides), and a clear jump over the mean of both sides
            left, right = scores[max(1, t - WINDOW):max(1, t - 1)], scores[t + 2:t + 1 + WINDOW]
            limits = []
            for side in (left, right):
                if side.size >= 4:
                    med = float(np.median(side))
                    mad = 1.4826 * float(np.median(np.abs(side - med)))
                    limits.append(med + max(CUT_K * mad, CUT_DELTA) / sensitivity)
            if limits and s < min(limits):
                continue
            both = np.concatenate([left, right])
            if both.size >= 4 and s < CUT_RATIO / sensitivity * float(both.mean()):
                continue
            # flash: a frame shortly after is like the frame before again
            # flash: frame t+1 or t+2 is like frame t-1 again (t starts the flash), or frame t is like t-2 or t-3
            # (t ends it)
            pairs = [(t - 1, t + 1), (t - 1, t + 2), (t - 2, t), (t - 3, t)]
            if any(0 <= a and b < n and _distance(sig, a, b) < min(0.35 * s, CUT_MIN) for a, b in pairs):
                continue
            found.append(Transition(t, float(sig.times[t]), "cut", t, t, s))
        return found

    # -- 3b. dissolves and fades by linear blend ---------------------------------------------------------------
    @staticmethod
    def _blends(sig: _Signatures, scores: np.ndarray, sensitivity: float) -> list[Transition]:
        T = sig.thumbs
        n = len(T)
        if n < 7:
            return []
        step = np.abs(np.diff(T, axis=0)).mean(axis=1)  # step[i] = change from i to i+1
        path = np.concatenate([[0.0], np.cumsum(step)])
        cand: dict[int, tuple[float, int]] = {}
        for k in BLEND_KS:
            if n <= 2 * k:
                break
            a, b, m = T[:-2 * k], T[2 * k:], T[k:-k]
            d = b - a
            end_diff = np.abs(d).mean(axis=1)
            denom = (d * d).sum(axis=1) + 1e-6
            beta = ((m - a) * d).sum(axis=1) / denom
            resid = np.abs(m - a - beta[:, None] * d).mean(axis=1)
            centres = np.arange(k, n - k)
            length = path[centres + k] - path[centres - k]
            straight = end_diff / np.maximum(length, 1e-6)
            hist_end = 0.5 * np.abs(sig.hists[2 * k:] - sig.hists[:-2 * k]).sum(axis=1)
            # the largest single step inside the span: a cut there is not a gradual transition
            biggest = np.array([scores[c - k + 1:c + k + 1].max() for c in centres])
            ok = ((end_diff > 10.0 / sensitivity) & (hist_end > 0.2 / sensitivity)
                  & (resid < 0.3 * end_diff) & (beta > 0.3) & (beta < 0.7) & (straight > 0.55)
                  & (biggest < 0.6 * np.maximum(hist_end, 0.3)))
            for c, r, e in zip(centres[ok], resid[ok], end_diff[ok]):
                score = 1.0 - float(r / e)
                if c not in cand or score > cand[c][0]:
                    cand[int(c)] = (score, k)
        found: list[Transition] = []
        if not cand:
            return found
        keys = sorted(cand)
        groups, current = [], [keys[0]]
        for c in keys[1:]:
            if c - current[-1] <= 2:
                current.append(c)
            else:
                groups.append(current)
                current = [c]
        groups.append(current)
        for g in groups:
            if len(g) < 2:  # one isolated centre is noise
                continue
            wide_start = max(0, min(c - cand[c][1] for c in g))
            wide_end = min(n - 1, max(c + cand[c][1] for c in g))
            # where the change happens: 10 %, 50 % and 90 % of the way along the path of the thumbnails
            start, centre, end = _quantiles(path, wide_start, wide_end, (0.1, 0.5, 0.9))
            dark = min(sig.luma[start], sig.luma[end]) < DARK_MEAN
            found.append(Transition(centre, float(sig.times[centre]), "fade" if dark else "dissolve", start, end,
                                    max(cand[c][0] for c in g)))
        return found

    # -- 3c. fades by luma -------------------------------------------------------------------------------------
    @staticmethod
    def _fades(sig: _Signatures) -> list[Transition]:
        luma, n = sig.luma, len(sig.luma)
        dark = (luma < DARK_MEAN) & (sig.luma_std < DARK_STD)
        found: list[Transition] = []
        for t in range(1, n):
            if dark[t] and not dark[t - 1]:  # entering black: walk back while luma rises going back
                j = t - 1
                while j - 1 >= 0 and luma[j - 1] > luma[j] + 0.5 and not dark[j - 1]:
                    j -= 1
                k = t  # ... and on through the dark frames while it still falls
                while k + 1 < n and luma[k + 1] < luma[k] - 0.5:
                    k += 1
                span = (j, k)
            elif dark[t - 1] and not dark[t]:  # leaving black: walk on while luma rises
                j = t
                while j + 1 < n and luma[j + 1] > luma[j] + 0.5:
                    j += 1
                i = t - 1  # the ramp starts where luma leaves the black floor
                while i - 1 >= 0 and luma[i - 1] < luma[i] - 0.5:
                    i -= 1
                span = (i, j)
            else:
                continue
            if span[1] - span[0] >= 3 and abs(float(luma[span[1]] - luma[span[0]])) > 20:
                centre = (span[0] + span[1] + 1) // 2
                found.append(Transition(centre, float(sig.times[centre]), "fade", span[0], span[1], 0.9))
        return found

    # -- 4. merge ----------------------------------------------------------------------------------------------
    @staticmethod
    def _merge(cuts: list[Transition], gradual: list[Transition], sig: _Signatures, *, min_frames: int,
               n: int) -> list[Transition]:
        # gradual ones that overlap are one transition: fades win over dissolves, the wider span is kept
        gradual.sort(key=lambda t: t.start)
        merged: list[Transition] = []
        for g in gradual:
            if merged and g.start <= merged[-1].end:
                m = merged[-1]
                start, end = min(m.start, g.start), max(m.end, g.end)
                kind = "fade" if "fade" in (m.type, g.type) else "dissolve"
                pick = m if (m.type == kind and (g.type != kind or m.score >= g.score)) else g
                merged[-1] = Transition(pick.frame, pick.time, kind, start, end, max(m.score, g.score))
            else:
                merged.append(g)
        merged = [_fade_frame(g, sig) if g.type == "fade" else g for g in merged]
        kept = [c for c in cuts if not any(g.start - 1 <= c.frame <= g.end + 1 for g in merged)]
        every = sorted(kept + merged, key=lambda t: t.frame)
        # shortest shot: drop the weaker of two boundaries that are too close (gradual ones count as strong)
        out: list[Transition] = []
        for tr in every:
            if tr.frame <= 0 or tr.frame >= n:
                continue
            if out and tr.frame - out[-1].frame < max(1, min_frames):
                if (tr.type != "cut") > (out[-1].type != "cut") or (
                        (tr.type != "cut") == (out[-1].type != "cut") and tr.score > out[-1].score):
                    out[-1] = tr
                continue
            out.append(tr)
        return out
