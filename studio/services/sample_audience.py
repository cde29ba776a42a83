"""Sample audience: a clearly labelled demo channel so a fresh studio can show every dashboard.

Creates a project "Sample channel" with six short generated videos published as sample watch pages, then
simulates four weeks of viewers drawn from three hidden audience types (loyal desktop viewers, mobile
samplers, evening binge-watchers), each video with its own drop-off moment, comments of mixed tone, and one
running title test whose variants have different true click-through rates. Everything is marked sample
(``is_sample`` on the publications, ``source="sample"`` on sessions and comments) and can be removed again.
"""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

from engines.context import BaseContext, NullContext
from storage.audience_models import ExperimentArm, Publication, ViewSession
from storage.db import Store
from storage.models import AssetKind
from storage.repo import assets as assets_repo
from storage.repo import audience, projects, publications

PROJECT = "Sample channel"
VIDEOS = [  # title, description, seconds, colour, drop-off moment (fraction), appeal
    ("Knife skills in five minutes", "A quick cooking lesson: dicing onions, julienne carrots, safe grip.",
     48, (200, 80, 40), 0.25, 1.2),
    ("Weeknight ramen from scratch", "Cooking a rich broth and noodles at home in under an hour.",
     60, (220, 160, 60), 0.5, 1.0),
    ("Night train across the Alps", "Travel diary: sleeper train, snowy passes and a sunrise in Italy.",
     54, (40, 70, 160), 0.35, 0.9),
    ("Three days in Lisbon on a budget", "Travel tips: trams, viewpoints, custard tarts and free museums.",
     42, (60, 150, 200), 0.6, 1.1),
    ("Colour grading for beginners", "Editing tutorial: white balance, contrast curves and a film look.",
     36, (90, 60, 140), 0.2, 0.8),
    ("Make your voice-over sound pro", "Audio tutorial: mic distance, noise removal and loudness.",
     30, (50, 140, 90), 0.45, 1.0),
]
TITLE_VARIANTS = [("A", "Knife skills in five minutes", 0.30), ("B", "Chop like a chef: 5-minute knife skills", 0.42),
                  ("C", "Stop crying over onions (knife skills)", 0.36)]
COMMENTS = {
    1: ["Loved this, so clear and helpful!", "Best tutorial I've watched this year, thank you.",
        "Great pacing and beautiful shots.", "This made my evening, brilliant work."],
    0: ["What camera did you use?", "Watched it on the train today.", "Part two next week?",
        "The music is from the intro of the other video."],
    -1: ["Too long, the intro drags on forever.", "The audio is awful and hard to hear.",
         "Boring, I gave up halfway.", "Terrible advice, this is not safe at all."],
}
# hidden audience types: share, devices, play-rate factor, completion factor, sessions per viewer, evening share
TYPES = [("loyal", 0.35, ["desktop"] * 4 + ["tv"], 1.3, 1.5, 9, 0.3),
         ("samplers", 0.45, ["mobile"] * 4 + ["tablet"], 0.8, 0.45, 3, 0.3),
         ("evening", 0.20, ["desktop", "mobile", "tablet"], 1.1, 1.1, 6, 0.9)]
REGIONS = ["Europe", "America", "Asia", "Australia", "Africa"]


def _write_clip(path: Path, seconds: int, colour: tuple[int, int, int], fps: int = 8) -> None:
    """A plain coloured clip with a moving dot (H.264 through the video engine's writer)."""
    from engines.video.io import write_video

    w, h = 192, 108
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.empty((h, w, 3), np.uint8)
    base[:] = colour

    def frames():
        for i in range(seconds * fps):
            img = base.copy()
            img[(xx - (i * 3) % w) ** 2 + (yy - h // 2) ** 2 < 180] = 255
            yield img
    write_video(frames(), path, fps, w, h)


def has_sample(store: Store) -> bool:
    with store.session() as s:
        return any(p.is_sample for p in publications.list_publications(session=s))


def remove_sample(store: Store) -> int:
    """Delete the sample channel (project, publications, sessions, comments); returns publications removed."""
    with store.session() as s:
        pubs = [p for p in publications.list_publications(session=s) if p.is_sample]
        for p in pubs:
            s.delete(p)
        s.flush()
        project = projects.find_project(session=s, name=PROJECT)
        files = projects.delete_project(session=s, project_id=project.id) if project is not None else []
    with store.session() as s:
        assets_repo.remove_unused_files(session=s, media=store.media, files=files)
    return len(pubs)


def generate(store: Store, *, viewers: int = 600, days: int = 28, seed: int = 7,
             ctx: BaseContext | None = None, work_dir: Path | None = None) -> dict:
    """Create the sample channel and its audience; returns counts. Replaces an earlier sample."""
    ctx = ctx or NullContext()
    rng = np.random.default_rng(seed)
    remove_sample(store)
    work = Path(work_dir or store.settings.tmp_dir)
    work.mkdir(parents=True, exist_ok=True)
    # 1. Project, videos, publications
    with store.session() as s:
        project = projects.create_project(session=s, name=PROJECT,
                                          description="Demo data: generated videos and a simulated audience.")
        project_id = project.id
    pub_ids: list[int] = []
    for i, (title, desc, seconds, colour, _, _) in enumerate(VIDEOS):
        ctx.check()
        ctx.report(0.5 * i / len(VIDEOS), f"Rendering sample video {i + 1} of {len(VIDEOS)}")
        clip = work / f"sample-{secrets.token_hex(4)}.mp4"
        _write_clip(clip, seconds, colour)
        stored = store.media.put_file(clip, ext=".mp4")
        clip.unlink(missing_ok=True)
        with store.session() as s:
            asset = assets_repo.add_asset(session=s, project_id=project_id, stored=stored, kind=AssetKind.video,
                                          name=f"{title}.mp4", mime="video/mp4", duration_s=float(seconds),
                                          width=192, height=108, fps=8.0,
                                          provenance={"source": "generated", "engine": "sample_audience"})
            pub = publications.publish(session=s, project_id=project_id, asset_id=asset.id, title=title,
                                       description=desc, is_sample=True)
            pub_ids.append(pub.id)
    with store.session() as s:
        exp = publications.start_experiment(session=s, publication_id=pub_ids[0], name="Sample title test",
                                            variants=[{"label": lab, "title": t} for lab, t, _ in TITLE_VARIANTS])
        arm_ids = [a.id for a in exp.arms]
    # 2. Audience
    ctx.report(0.55, "Simulating viewers")
    now = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
    start = now - timedelta(days=days)
    sessions, events, arm_counts = [], [], np.zeros((len(arm_ids), 2), int)
    types = rng.choice(len(TYPES), size=viewers, p=[t[1] for t in TYPES])
    taste = rng.normal(0, 0.5, size=(viewers, len(VIDEOS)))  # personal taste per video (recommendations)
    for v in range(viewers):
        name, _, devices, play_f, comp_f, n_sessions, evening = TYPES[types[v]]
        viewer = f"sample{v:05d}"
        region = REGIONS[rng.integers(len(REGIONS))]
        first_day = rng.integers(0, days)
        for _ in range(max(1, rng.poisson(n_sessions))):
            vid = int(rng.integers(len(VIDEOS)))
            title, _, seconds, _, drop_at, appeal = VIDEOS[vid]
            hour = int(rng.integers(18, 24)) if rng.random() < evening else int(rng.integers(7, 18))
            day = int(min(days - 1, first_day + int(rng.exponential(6))))
            t0 = start + timedelta(days=day, hours=hour, minutes=int(rng.integers(60)))
            arm = None
            p_play = min(0.95, 0.35 * play_f * appeal * np.exp(0.4 * taste[v, vid]))
            if vid == 0:
                arm = int(rng.integers(len(arm_ids)))
                p_play = min(0.95, TITLE_VARIANTS[arm][2] * play_f * 1.6)
                arm_counts[arm, 0] += 1
            played = rng.random() < p_play
            key = secrets.token_urlsafe(12)
            evs = [("impression", 0.0, 0.0, t0)]
            reached, ended = 0.0, False
            if played:
                if arm is not None:
                    arm_counts[arm, 1] += 1
                scale = seconds * comp_f * np.exp(0.5 * taste[v, vid])
                reached = float(min(seconds, rng.exponential(scale)))
                if reached > drop_at * seconds and rng.random() < 0.35:  # the video's weak moment
                    reached = float(drop_at * seconds + rng.uniform(0, 3))
                ended = reached >= seconds - 0.5
                reached = min(reached, float(seconds))
                evs.append(("play", 0.0, 0.0, t0 + timedelta(seconds=2)))
                pos = 0.0
                while pos + 5 < reached:
                    pos += 5
                    evs.append(("heartbeat", pos, 5.0, t0 + timedelta(seconds=2 + pos)))
                evs.append(("ended" if ended else "leave", reached, reached - pos,
                            t0 + timedelta(seconds=2 + reached)))
            sessions.append({"publication_id": pub_ids[vid], "session_key": key, "viewer": viewer,
                             "device": devices[rng.integers(len(devices))], "region": region,
                             "arm_id": arm_ids[arm] if arm is not None else None, "source": "sample",
                             "started_at": t0, "last_at": evs[-1][3], "impressed": True, "played": played,
                             "ended": ended, "max_position_s": reached, "watched_s": reached if played else 0.0,
                             "events": len(evs), "counted": False,
                             "_count_after": min(audience.VIEW_SECONDS, 0.9 * seconds)})
            events.extend({"publication_id": pub_ids[vid], "session_key": key, "kind": k, "position_s": p,
                           "watched_s": w, "occurred_at": t} for k, p, w, t in evs)
    mark_counted(sessions)
    ctx.check()
    ctx.report(0.8, f"Saving {len(events)} sample events")
    with store.session() as s:
        audience.bulk_load(session=s, sessions=sessions, events=events)
        for (imp, clicks), arm_id in zip(arm_counts, arm_ids):
            arm = s.get(ExperimentArm, arm_id)
            arm.impressions, arm.clicks = int(imp), int(clicks)
        n_comments = 0
        for pid, (_, _, _, _, _, appeal) in zip(pub_ids, VIDEOS):
            for _ in range(int(rng.integers(6, 14))):
                tone = int(rng.choice([1, 0, -1], p=[0.55 * appeal / 1.2, 0.3, 1 - 0.3 - 0.55 * appeal / 1.2]))
                text = COMMENTS[tone][rng.integers(len(COMMENTS[tone]))]
                audience.add_comment(session=s, publication_id=pid, text=text, author="Sample viewer",
                                     source="sample", sentiment=None,
                                     created_at=start + timedelta(days=float(rng.uniform(0, days))))
                n_comments += 1
    ctx.report(1.0, "Sample audience ready")
    return {"project_id": project_id, "publications": len(pub_ids), "sessions": len(sessions),
            "events": len(events), "comments": n_comments}


def mark_counted(sessions: list[dict]) -> None:
    """Set ``counted`` the way the watch page does: enough watched, at most one view per viewer, video and hour."""
    last: dict[tuple[str, int], datetime] = {}
    for row in sorted(sessions, key=lambda r: r["started_at"]):
        threshold = row.pop("_count_after")
        row["counted"] = False
        enough = row["played"] and row["watched_s"] >= threshold
        key = (row["viewer"], row["publication_id"])
        if enough and (key not in last or row["started_at"] - last[key] >= audience.VIEW_REPEAT):
            row["counted"] = True
            last[key] = row["started_at"]


def sample_session_count(store: Store) -> int:
    from sqlalchemy import func, select
    with store.session() as s:
        return int(s.scalar(select(func.count()).select_from(ViewSession).where(ViewSession.source == "sample"))
                   or 0)


__all__ = ["generate", "remove_sample", "has_sample", "sample_session_count", "PROJECT", "Publication"]
