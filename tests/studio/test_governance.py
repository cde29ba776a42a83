"""Roles enforced in the services, the two-person publish review, the audit log, viewers' data and AI shares."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from storage.audience_models import Comment, ViewEvent, ViewSession
from storage.errors import Forbidden
from storage.repo import assets as assets_repo
from storage.repo import audience, lineage, projects, publications, viewer_data
from studio.services import governance
from tests.media_factory import write_clip
from tests.studio.conftest import open_studio


@pytest.fixture(scope="module")
def team(tmp_path_factory):
    """A team instance: ann is the admin (listed first), bob and cat are ordinary users."""
    st = open_studio(tmp_path_factory, "team", users="ann:a-pass,bob:b-pass,cat:c-pass")
    yield st
    st.close()


def _ids(studio):
    from sqlalchemy import select

    from storage.models import User
    with studio.store.session() as s:
        return {u.name: u.id for u in s.scalars(select(User))}


def _project_with_video(studio, name, owner_id, tmp_path, *, generated=False):
    clip = write_clip(tmp_path / f"{name}.mp4", seconds=1.0)
    with studio.store.session() as s:
        p = projects.create_project(session=s, name=name, owner_id=owner_id)
        stored = studio.store.media.put_file(clip)
        prov = {"source": "generated", "engine": "video", "prompt": "a cat", "seed": 3} if generated else None
        a = assets_repo.add_asset(session=s, project_id=p.id, stored=stored, kind="video", name=f"{name}.mp4",
                                  duration_s=1.0, provenance=prov)
        return p.id, a.id


def test_roles_are_enforced_in_the_services(team, tmp_path):
    u = _ids(team)
    pid, aid = _project_with_video(team, "Roles", u["bob"], tmp_path)
    # cat has no membership: the default role is viewer, who can neither run jobs nor publish
    with pytest.raises(Forbidden, match="cat is a viewer.*editor or above may change"):
        team.runner.submit("shots", project_id=pid, params={"asset_id": aid}, created_by_id=u["cat"])
    with pytest.raises(Forbidden):
        governance.publish_or_request(team.store, project_id=pid, asset_id=aid, title="T", description="",
                                      visibility="public", thumbnail_asset_id=None, user_id=u["cat"])
    with pytest.raises(Forbidden, match="owner or above may manage"):
        governance.set_role(team.store, project_id=pid, user_name="cat", role="owner", user_id=u["cat"])
    # bob created the project, so he owns it and can make cat an editor; an editor still cannot manage
    governance.set_role(team.store, project_id=pid, user_name="cat", role="editor", user_id=u["bob"])
    assert ["cat", "editor"] in governance.member_rows(team.store, pid, u["bob"])
    with pytest.raises(Forbidden):
        governance.set_review_required(team.store, project_id=pid, required=True, user_id=u["cat"])
    # instance-wide actions (viewer data, sample channel) need the admin
    with pytest.raises(Forbidden):
        governance.export_viewer(team.store, "abc", u["bob"])
    with pytest.raises(Forbidden):
        team.runner.submit("sample_audience", params={}, created_by_id=u["bob"])
    assert governance.can_see_raw(team.store, u["ann"]) and not governance.can_see_raw(team.store, u["bob"])


def test_review_gate_needs_a_second_person_and_is_audited(team, tmp_path):
    u = _ids(team)
    pid, aid = _project_with_video(team, "Gate", u["bob"], tmp_path, generated=True)
    governance.set_role(team.store, project_id=pid, user_name="cat", role="editor", user_id=u["bob"])
    governance.set_review_required(team.store, project_id=pid, required=True, user_id=u["bob"])
    out = governance.publish_or_request(team.store, project_id=pid, asset_id=aid, title="My film",
                                        description="d", visibility="public", thumbnail_asset_id=None,
                                        user_id=u["cat"])
    assert out.pending and out.request.status.value == "pending"
    with team.store.session() as s:
        assert publications.list_publications(session=s, project_id=pid) == []
    # the editor who asked cannot approve their own publish
    with pytest.raises(Forbidden, match="your own"):
        governance.decide(team.store, request_id=out.request.id, approve=True, note="", user_id=u["cat"])
    done = governance.decide(team.store, request_id=out.request.id, approve=True, note="looks good",
                             user_id=u["bob"])
    assert done.publication is not None and done.request.status.value == "published"
    with team.store.session() as s:
        pub = publications.get_publication(session=s, publication_id=done.publication.id)
        assert pub.created_by_id == u["cat"] and pub.ai_generated and pub.ai_share == pytest.approx(1.0)
    actions = [row[2] for row in governance.audit_rows(team.store, pid, u["bob"])]
    assert actions[:3] == ["published", "approved", "publish_requested"]
    who = {row[2]: row[1] for row in governance.audit_rows(team.store, pid, u["bob"])}
    assert who["publish_requested"] == "cat" and who["approved"] == "bob"


def test_a_rejected_request_publishes_nothing(team, tmp_path):
    u = _ids(team)
    pid, aid = _project_with_video(team, "Reject", u["bob"], tmp_path)
    governance.set_review_required(team.store, project_id=pid, required=True, user_id=u["bob"])
    req = governance.publish_or_request(team.store, project_id=pid, asset_id=aid, title="No", description="",
                                        visibility="public", thumbnail_asset_id=None, user_id=u["bob"]).request
    out = governance.decide(team.store, request_id=req.id, approve=False, note="not yet", user_id=u["ann"])
    assert out.publication is None and out.request.status.value == "rejected"
    with team.store.session() as s:
        assert publications.list_publications(session=s, project_id=pid) == []


def test_single_user_studio_has_no_gate_keeper(studio, tmp_path):
    pid, aid = _project_with_video(studio, "Solo", None, tmp_path)
    governance.set_review_required(studio.store, project_id=pid, required=True, user_id=None)
    req = governance.publish_or_request(studio.store, project_id=pid, asset_id=aid, title="Solo",
                                        description="", visibility="public", thumbnail_asset_id=None,
                                        user_id=None).request
    with pytest.raises(Forbidden, match="--users"):
        governance.decide(studio.store, request_id=req.id, approve=True, note="", user_id=None)


def _views(studio, pub_id, viewer, n, when):
    with studio.store.session() as s:
        for i in range(n):
            audience.record_events(session=s, publication_id=pub_id, session_key=f"{viewer}-{i}-{when:%j}",
                                   viewer=viewer, events=[audience.Event("impression", 0.0, 0.0, when),
                                                          audience.Event("play", 0.0, 0.0, when),
                                                          audience.Event("heartbeat", 5.0, 5.0, when)])
        audience.add_comment(session=s, publication_id=pub_id, text=f"hi from {viewer}", viewer=viewer,
                             created_at=when)


def test_deleting_a_viewer_removes_every_event_of_that_viewer_only(studio, tmp_path):
    pid, aid = _project_with_video(studio, "Viewers", None, tmp_path)
    pub = governance.publish_or_request(studio.store, project_id=pid, asset_id=aid, title="V", description="",
                                        visibility="public", thumbnail_asset_id=None, user_id=None).publication
    now = datetime.now(timezone.utc)
    _views(studio, pub.id, "aaaa1111", 3, now)
    _views(studio, pub.id, "bbbb2222", 2, now)
    exported = governance.export_viewer(studio.store, "aaaa1111", None)
    assert len(exported["views"]) == 3 and all(len(v["events"]) == 3 for v in exported["views"])
    assert exported["comments"][0]["text"] == "hi from aaaa1111"
    counts = governance.delete_viewer(studio.store, "aaaa1111", None)
    assert counts == {"views": 3, "events": 9, "comments": 1}
    from sqlalchemy import func, select
    with studio.store.session() as s:
        keys = [k for k in s.scalars(select(ViewSession.session_key))]
        assert keys and all(k.startswith("bbbb2222") for k in keys)
        assert s.scalar(select(func.count()).select_from(ViewEvent).where(
            ViewEvent.session_key.like("aaaa1111%"))) == 0
        assert s.scalar(select(func.count()).select_from(ViewEvent)) == 6
        assert [c.viewer for c in s.scalars(select(Comment))] == ["bbbb2222"]
    with pytest.raises(Exception, match="Nothing is stored"):
        governance.export_viewer(studio.store, "aaaa1111", None)


def test_retention_purges_old_viewing_data(studio, tmp_path):
    pid, aid = _project_with_video(studio, "Retention", None, tmp_path)
    pub = governance.publish_or_request(studio.store, project_id=pid, asset_id=aid, title="R", description="",
                                        visibility="public", thumbnail_asset_id=None, user_id=None).publication
    now = datetime.now(timezone.utc)
    _views(studio, pub.id, "old00001", 2, now - timedelta(days=40))
    _views(studio, pub.id, "new00001", 1, now - timedelta(days=2))
    counts = governance.set_retention(studio.store, 30, None)
    assert counts["views"] == 2 and counts["events"] == 6 and counts["comments_unlinked"] >= 1
    from sqlalchemy import select
    with studio.store.session() as s:
        viewers = set(s.scalars(select(ViewSession.viewer).where(ViewSession.publication_id == pub.id)))
        assert viewers == {"new00001"} and viewer_data.retention_days(session=s) == 30
    with pytest.raises(Exception, match="between 1 and 3650"):
        governance.set_retention(studio.store, 0, None)
    governance.set_retention(studio.store, None, None)


def test_ai_share_follows_the_documented_rule(studio, tmp_path):
    """A 4 s cut from a 3 s generated clip and a 1 s upload, with two human edits: D = 0.75, V = 0.75 × 0.8."""
    with studio.store.session() as s:
        p = projects.create_project(session=s, name="Share")
        files = [studio.store.media.put_bytes(bytes([i]) * 64, ext=".mp4") for i in range(3)]
        gen = assets_repo.add_asset(session=s, project_id=p.id, stored=files[0], kind="video", name="gen",
                                    duration_s=3.0, provenance={"source": "generated", "prompt": "sea"})
        up = assets_repo.add_asset(session=s, project_id=p.id, stored=files[1], kind="video", name="up",
                                   duration_s=1.0)
        cut = assets_repo.add_asset(session=s, project_id=p.id, stored=files[2], kind="video", name="cut",
                                    duration_s=4.0, parents=[(gen.id, "clip"), (up.id, "clip")],
                                    provenance={"source": "edited", "engine": "autoedit"})
        for op in ("trim", "reorder"):
            assets_repo.record_human_edit(session=s, asset_id=cut.id, op=op)
        graph = lineage.lineage(session=s, asset_id=cut.id)
    assert set(graph.nodes) == {gen.id, up.id, cut.id} and len(graph.edges) == 2
    share = lineage.contribution(graph)
    assert share.ai_data_share == pytest.approx(0.75) and share.human_edit_ops == 2
    assert share.ai_share == pytest.approx(0.75 * 0.8) and share.human_share == pytest.approx(1 - 0.6)
    assert share.ai_generated and share.sources == {"gen": pytest.approx(0.75)}
    assert "75%" in share.sentence()
