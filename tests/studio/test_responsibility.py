"""Responsibility services on a real studio: fairness and mitigation on the sample channel, per-video SHAP,
watermarked generations found again after JPEG re-upload, exported credentials that verify and fail when
tampered with."""
from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

from storage.models import JobStatus
from storage.repo import assets as assets_repo
from storage.repo import projects
from studio.services import credentials, dashboard, explaining, fairness, sample_audience


@pytest.fixture(scope="module")
def channel(studio):
    sample_audience.generate(studio.store, viewers=250, days=14, seed=5)
    yield dashboard.make_filters(None, None, None)
    sample_audience.remove_sample(studio.store)


def test_classifier_fairness_and_threshold_mitigation(studio, channel):
    res = fairness.classifier_fairness(studio.store, channel, "watch", "region", n_boot=100)
    rep = res.report
    rates = rep.frame.set_index("group")["selection_rate"]
    assert rep.statistical_parity_difference == pytest.approx(rates.max() - rates.min())
    assert (rep.frame["selection_lo"] <= rep.frame["selection_rate"]).all()
    assert set(rep.frame["group"]) == set(res.groups) and "parity_difference" in res.over_time
    out = fairness.mitigate_thresholds(res, "demographic_parity")
    assert out.after.statistical_parity_difference < rep.statistical_parity_difference
    thr, best = fairness.best_single_threshold(res.scores, res.y_true)
    assert best >= out.before.accuracy - 1e-9  # the best single threshold is at least as good as ours


def test_best_single_threshold_by_hand():
    scores, y = np.array([0.9, 0.8, 0.3, 0.2]), np.array([1, 0, 1, 0])
    thr, acc = fairness.best_single_threshold(scores, y)
    assert acc == pytest.approx(0.75) and ((scores >= thr).astype(int) == y).mean() == pytest.approx(0.75)


def test_recommender_exposure_and_rerank(studio, channel):
    res = fairness.recommender_fairness(studio.store, channel, "length", viewer_attribute="device", k=2)
    assert res.report.n_users > 50 and abs(res.report.frame["share"].sum() - 1) < 1e-9
    assert res.report.by_user_group is not None and set(res.report.by_user_group.index) <= {
        "desktop", "mobile", "tablet", "tv", "unknown"}
    out = fairness.rerank(res, tolerance=0.0)
    assert out.after.gap <= res.report.gap + 1e-9 and 0 < out.ndcg <= 1


def test_per_video_explanation_adds_up(studio, channel):
    done = explaining.explain(studio.store, channel, "watch")
    pid = int(done.frame["publication_id"].iloc[0])
    row, n = explaining.for_video(done, pid)
    assert n == int((done.frame["publication_id"] == pid).sum())
    assert row.base_value + sum(c.shap for c in row.contributions) == pytest.approx(row.prediction, abs=1e-6)
    assert row.contributions[0].text.split(" ")[0].lower() in row.sentence.lower()


def _run(studio, kind, pid, **params):
    job = studio.runner.submit(kind, project_id=pid, params={"project_id": pid, **params})
    snap = studio.runner.run_to_end(job, timeout_s=300)
    assert snap.status == JobStatus.done, snap.message
    return snap


def test_generated_picture_is_marked_and_found_after_jpeg_reupload(studio, tmp_path):
    with studio.store.session() as s:
        pid = projects.create_project(session=s, name="Marks").id
    snap = _run(studio, "scene_image", pid, request={"prompt": "EXT. HARBOUR - DAWN", "seed": 2, "width": 768,
                                                     "height": 432})
    [aid] = snap.result["asset_ids"]
    with studio.store.session() as s:
        a = assets_repo.get_asset(session=s, asset_id=aid)
        path = studio.store.media.path_for(a.content_hash, a.ext)
        assert a.meta["watermark"]["embedded"] and a.meta["watermark"]["payload"] == \
            credentials.mark_payload(studio.settings).hex()
    # someone shrinks the frame to 75 %, saves it as a JPEG (quality 90) and uploads it again
    img = Image.open(path).convert("RGB")
    img = img.resize((int(img.width * 0.75), int(img.height * 0.75)), Image.LANCZOS)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90)
    upload = studio.settings.tmp_dir / "reposted.jpg"
    upload.write_bytes(buf.getvalue())
    snap = _run(studio, "ingest", pid, path=str(upload), name="reposted.jpg")
    assert "AI-generated mark found" in snap.message
    with studio.store.session() as s:
        meta = assets_repo.get_asset(session=s, asset_id=snap.result["asset_id"]).meta
    assert meta["watermark"]["found"] and meta["watermark"]["this_instance"]


def test_exported_credentials_verify_and_tampering_fails(studio, tmp_path):
    from engines.credentials import verify

    with studio.store.session() as s:
        pid = projects.create_project(session=s, name="Creds").id
    [aid] = _run(studio, "scene_image", pid, request={"prompt": "INT. STUDIO", "seed": 1, "width": 320,
                                                      "height": 256}).result["asset_ids"]
    files = credentials.export(studio.store, studio.settings, aid, tmp_path / "out")
    plain, side = files[0], files[1]
    manifest = json.loads(side.read_text())
    created = [a for x in manifest["assertions"] if x["label"].startswith("c2pa.actions")
               for a in x["data"]["actions"] if a["action"] == "c2pa.created"]
    assert created and created[0]["digitalSourceType"].endswith("trainedAlgorithmicMedia")
    assert created[0]["parameters"]["prompt"] == "INT. STUDIO" and created[0]["parameters"]["seed"] == 1
    ident = credentials.identity(studio.settings)
    assert verify(plain, side, trusted_fingerprints=[ident.fingerprint]).ok
    report = credentials.check_file(studio.settings, plain, side)
    assert report["sidecar"]["ok"] and report["watermark"]["found"]
    if len(files) == 3:  # PNG: the copy with the manifest embedded verifies through c2pa-rs
        assert credentials.check_file(studio.settings, files[2])["embedded"]["ok"]
    data = bytearray(plain.read_bytes())
    data[len(data) // 2] ^= 0xFF
    plain.write_bytes(bytes(data))
    bad = verify(plain, side, trusted_fingerprints=[ident.fingerprint])
    assert not bad.ok and any("hash mismatch" in p for p in bad.problems)
    assert "NOT valid" in credentials.describe(credentials.check_file(studio.settings, plain, side))


def test_without_the_watermark_library_pictures_stay_unmarked_with_a_reason(studio, monkeypatch):
    import engines.watermark

    def missing(*_a, **_k):
        raise ImportError("No module named 'imwatermark'")

    monkeypatch.setattr(engines.watermark, "embed", missing)
    image = Image.new("RGB", (512, 320), (90, 120, 160))
    out, meta = credentials.watermark_image(studio.settings, image)
    assert out is image and not meta["embedded"] and "imwatermark" in meta["reason"]
