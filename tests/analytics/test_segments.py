"""K-means audience segments: planted clusters are recovered and described; too-small input is refused."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from analytics.errors import InvalidData
from analytics.segments import segment_audience


def _blobs(seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    specs = [  # n, avg_completion, mobile_share, night_share, views, watch_time_s: a triangle, not a line
        (70, 0.88, 0.20, 0.10, 14.0, 900.0),
        (50, 0.15, 0.92, 0.10, 2.0, 60.0),
        (40, 0.50, 0.50, 0.75, 6.0, 300.0),
    ]
    parts, truth = [], []
    for label, (n, comp, mob, night, views, wt) in enumerate(specs):
        parts.append(pd.DataFrame({
            "views": rng.normal(views, 0.7, n),
            "watch_time_s": rng.normal(wt, 40.0, n),
            "avg_completion": rng.normal(comp, 0.04, n),
            "mobile_share": rng.normal(mob, 0.04, n),
            "night_share": rng.normal(night, 0.04, n),
            "constant": 1.0,  # zero variance must not break standardisation
            "country": "FR",  # non-numeric: ignored
        }))
        truth += [label] * n
    frame = pd.concat(parts, ignore_index=True)
    frame.index = [f"viewer-{i}" for i in range(len(frame))]
    return frame, np.array(truth)


@pytest.fixture(scope="module")
def planted():
    frame, truth = _blobs()
    return frame, truth, segment_audience(frame, seed=0)


def test_recovers_three_planted_segments(planted):
    frame, truth, seg = planted
    assert seg.k == 3
    assert sorted(seg.silhouettes) == list(range(2, 9))
    assert seg.silhouettes[3] == max(seg.silhouettes.values())
    assert adjusted_rand_score(truth, seg.labels.loc[frame.index].to_numpy()) >= 0.95
    assert [s.size for s in seg.segments] == sorted([s.size for s in seg.segments], reverse=True)
    assert sum(s.size for s in seg.segments) == len(frame)
    assert sum(s.share for s in seg.segments) == pytest.approx(1.0)
    assert "country" not in seg.features and "constant" in seg.features


def test_centres_in_original_units_and_descriptions(planted):
    _, _, seg = planted
    by_completion = sorted(seg.segments, key=lambda s: s.centre["avg_completion"])
    low, high = by_completion[0], by_completion[-1]
    assert high.centre["avg_completion"] == pytest.approx(0.88, abs=0.03)
    assert high.centre["watch_time_s"] == pytest.approx(900, abs=30)
    assert low.centre["mobile_share"] == pytest.approx(0.92, abs=0.03)
    assert high.zscores["avg_completion"] > 0.5 > -0.5 > low.zscores["avg_completion"]
    assert "long watchers" in high.name.lower()
    assert "watch 88% of each video on average" in high.description
    assert high.description.startswith(f"{70 / 160:.0%} of viewers")
    assert "samplers" in low.name.lower() and "mobile" in low.description
    night = max(seg.segments, key=lambda s: s.centre["night_share"])
    assert "night" in night.name.lower() and "at night" in night.description
    assert len({s.name for s in seg.segments}) == 3  # names are distinct


def test_map_and_as_dict(planted):
    frame, _, seg = planted
    assert seg.map_xy.shape == (len(frame), 2)
    assert len(seg.map_ids) == len(seg.map_labels) == len(frame)
    data = json.loads(json.dumps(seg.as_dict()))
    assert data["k"] == 3 and len(data["labels"]) == len(frame) and data["viewer_ids"][0] == "viewer-0"
    assert set(data["segments"][0]) == {"label", "name", "description", "size", "share", "centre", "zscores"}
    assert set(data["map"]) == {"viewer_ids", "x", "y", "labels", "explained_variance"}


def test_map_is_sampled_for_large_audiences():
    frame, _ = _blobs(1)
    seg = segment_audience(frame, k_max=3, max_map_points=40)
    assert seg.map_xy.shape == (40, 2) and len(seg.labels) == len(frame)


def test_too_few_or_identical_viewers_raise():
    frame, _ = _blobs()
    with pytest.raises(InvalidData, match="at least 6 viewers"):
        segment_audience(frame.iloc[:5])
    same = pd.DataFrame({"views": [3.0] * 20, "avg_completion": [0.5] * 20})
    with pytest.raises(InvalidData, match="look the same"):
        segment_audience(same)
    with pytest.raises(InvalidData):
        segment_audience(pd.DataFrame({"country": ["FR"] * 10}))
    with pytest.raises(InvalidData):
        segment_audience(pd.DataFrame())
