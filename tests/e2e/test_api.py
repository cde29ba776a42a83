"""The studio driven over its API with gradio_client, against a launched server on 127.0.0.1."""
from __future__ import annotations

import sqlite3
import urllib.error
import urllib.request

import pytest
from gradio_client import Client, handle_file

from tests.e2e.conftest import start_server, stop_server
from tests.media_factory import write_clip


def test_create_project_upload_and_list(studio_server, tmp_path):
    client = Client(studio_server.url, verbose=False)
    update, cleared = client.predict("API film", api_name="/create_project")
    project_id = update["value"]
    assert cleared == "" and ["API film", project_id] in update["choices"]

    clip = write_clip(tmp_path / "dock.mp4", size=(160, 120), seconds=2.0)
    status, _ = client.predict(project_id, [handle_file(str(clip))], api_name="/upload_media")
    assert "Added dock.mp4: video, 160×120, 24 fps, 2.0 s" in status

    gallery, table = client.predict(project_id, api_name="/list_assets")
    assert [row[1] for row in table["data"]] == ["dock.mp4"]
    assert len(gallery) == 1 and gallery[0]["caption"].startswith("dock.mp4")

    jobs = client.predict(api_name="/list_jobs")
    assert jobs["data"][0][1:3] == ["ingest", "done"]

    # what the API said is what the store holds
    con = sqlite3.connect(studio_server.data_dir / "reelsmith.db")
    rows = con.execute("SELECT name, kind, width, height FROM assets ORDER BY id").fetchall()
    con.close()
    assert ("dock.mp4", "video", 160, 120) in rows
    assert sum(1 for r in rows if r[1] == "image") == 2  # poster + contact sheet


def test_bad_upload_gets_a_clear_error(studio_server, tmp_path):
    client = Client(studio_server.url, verbose=False)
    update, _ = client.predict("Bad uploads", api_name="/create_project")
    fake = tmp_path / "holiday.mp4"
    fake.write_bytes(b"\x00" * 4096)
    status, _ = client.predict(update["value"], [handle_file(str(fake))], api_name="/upload_media")
    assert status.startswith("**Failed**") and "holiday.mp4" in status
    _, table = client.predict(update["value"], api_name="/list_assets")
    assert not any(any(cell not in ("", None) for cell in row) for row in table["data"])


def test_duplicate_project_name_is_a_readable_error(studio_server):
    client = Client(studio_server.url, verbose=False)
    client.predict("Twice", api_name="/create_project")
    with pytest.raises(Exception, match="already exists"):
        client.predict("twice", api_name="/create_project")


def test_settings_are_validated_and_stored(studio_server):
    client = Client(studio_server.url, verbose=False)
    client.predict("lite", "", api_name="/set_engine_thumbs")
    with pytest.raises(Exception, match="not in the list of choices"):
        client.predict("neural", "some/model", api_name="/set_engine_thumbs")
    client.predict(500, api_name="/set_upload_limit")
    con = sqlite3.connect(studio_server.data_dir / "reelsmith.db")
    prefs = dict(con.execute("SELECT key, value FROM preferences").fetchall())
    con.close()
    assert '"backend": "lite"' in prefs["engine.thumbs"] and '"max_mb": 500' in prefs["uploads"]


def test_database_file_is_not_served(studio_server):
    db = studio_server.data_dir / "reelsmith.db"
    assert db.exists()
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(f"{studio_server.url}gradio_api/file={db}", timeout=10)
    assert err.value.code in (403, 404)


def test_team_login_from_environment(tmp_path):
    server = start_server(tmp_path / "team", env={"REELSMITH_USERS": "ann:harbour-42,ben:pw"})
    try:
        with pytest.raises(Exception):
            Client(server.url, verbose=False).predict(api_name="/list_jobs")
        client = Client(server.url, auth=("ann", "harbour-42"), verbose=False)
        update, _ = client.predict("Ann's cut", api_name="/create_project")
        assert update["value"] >= 1
        con = sqlite3.connect(server.data_dir / "reelsmith.db")
        users = con.execute("SELECT name, password_hash FROM users ORDER BY id").fetchall()
        owner = con.execute("SELECT u.name FROM projects p JOIN users u ON u.id = p.owner_id").fetchone()
        con.close()
        assert [u[0] for u in users] == ["ann", "ben"] and all(u[1].startswith("$argon2id$") for u in users)
        assert owner == ("ann",)
    finally:
        stop_server(server)


def test_write_tab_versions_breakdown_and_import(studio_server, tmp_path):
    client = Client(studio_server.url, verbose=False)
    update, _ = client.predict("Writers room", api_name="/create_project")
    pid = update["value"]
    picker, _ = client.predict(pid, "Pilot", api_name="/create_script")
    sid = picker["value"]
    text = "INT. KITCHEN - NIGHT\n\nAda pours tea.\n\nADA\nYou came back.\n\nEXT. STREET - DAY\n\nRain.\n"
    summary, table, scenes = client.predict(text, api_name="/breakdown")
    assert summary.startswith("**2 scene(s)**")
    assert [row[1] for row in table["data"]] == ["INT. KITCHEN - NIGHT", "EXT. STREET - DAY"]
    status, _, versions = client.predict(sid, text, "first pass", api_name="/save_version")
    assert status == "Saved version 2."  # version 1 is the empty script made at creation
    again, _, _ = client.predict(sid, text, "", api_name="/save_version")
    assert again == "No changes since the last version."

    latin1 = tmp_path / "old draft.fountain"
    latin1.write_bytes("INT. CAFÉ - DAY\n\nZoë waits.\n".encode("latin-1"))
    with pytest.raises(Exception, match="not UTF-8"):
        client.predict(pid, sid, handle_file(str(latin1)), api_name="/import_script")
    good = tmp_path / "good.fountain"
    good.write_text("INT. CAFÉ - DAY\n\nZoë waits.\n", encoding="utf-8")
    _, editor, msg = client.predict(pid, sid, handle_file(str(good)), api_name="/import_script")
    assert "CAFÉ" in editor and msg == "Imported good.fountain as version 3."


def test_signing_keys_are_not_served(studio_server):
    from studio.services.credentials import identity, key_dir
    from storage.config import Settings, sqlite_url

    data = studio_server.data_dir
    identity(Settings(data_dir=data, database_url=sqlite_url(data)))  # created on first use
    keys = sorted(p for p in key_dir(Settings(data_dir=data, database_url=sqlite_url(data))).iterdir()
                  if p.suffix == ".pem")
    assert keys
    for key in keys:
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(f"{studio_server.url}gradio_api/file={key}", timeout=10)
        assert err.value.code in (403, 404)
