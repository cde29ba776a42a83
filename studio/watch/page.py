"""HTML of the watch pages. Everything user-written is escaped; the page loads nothing from other sites."""
from __future__ import annotations

import json
from html import escape

from storage.audience_models import Publication

CONSENT = ("This page counts views anonymously to help its creator: a pseudonym that changes every day, computed "
           "from your browser type and network address (neither is stored), how far you watch, your device type "
           "and time-zone region. No cookies and no id kept in your browser (only your choice, if you opt out); "
           "nothing sent to anyone else.")


def _head(title: str) -> str:
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>{escape(title)} · Reelsmith</title><link rel="stylesheet" href="/watch/static/watch.css">'
            f'</head>')


def render_page(pub: Publication, view: dict, comments: list[dict]) -> str:
    arm = view.get("arm") or {}
    title = arm.get("title") or pub.title
    thumb = arm.get("thumbnail_asset_id") or pub.thumbnail_asset_id
    poster = f'/watch/{pub.slug}/poster' + (f'?arm_asset={thumb}' if thumb else '')
    config = {"video": pub.slug, "session": view["session"], "arm": arm.get("id"), "heartbeat": 5,
              "endpoint": "/api/watch/events", "comments": "/api/watch/comments"}
    items = "".join(f'<li><b>{escape(c["author"])}</b> <time>{escape(c["at"])}</time><p>{escape(c["text"])}</p></li>'
                    for c in comments)
    sample = '<p class="sample">Sample data: this video belongs to the studio\'s demo audience.</p>' \
        if pub.is_sample else ""
    disclosure = ""
    if pub.ai_generated:
        share = f" (about {pub.ai_share:.0%} of it by the studio's rule)" if pub.ai_share is not None else ""
        disclosure = (f'<p class="ai-label" id="ai-disclosure" role="note"><b>AI-generated content.</b> '
                      f'This video contains material made with AI models{escape(share)}; its content credentials '
                      f'list the models and the human edits.</p>')
    return f"""{_head(title)}<body>
<main>
<video id="player" controls preload="metadata" playsinline {'poster="' + poster + '"' if thumb else ''}
 src="/watch/{escape(pub.slug)}/video"></video>
<h1 id="title">{escape(title)}</h1>
{disclosure}{sample}<p id="description">{escape(pub.description).replace(chr(10), '<br>')}</p>
<aside id="consent" role="note"><p>{escape(CONSENT)}</p>
<button id="optout" type="button">Don't count my viewing</button></aside>
<section id="comments"><h2>Comments</h2>
<form id="comment-form"><input id="comment-author" maxlength="60" placeholder="Name (optional)">
<textarea id="comment-text" maxlength="2000" required placeholder="Say something about this video"></textarea>
<button type="submit">Post comment</button><span id="comment-status" role="status"></span></form>
<ul id="comment-list">{items}</ul></section>
</main>
<script id="rs-config" type="application/json">{_script_json(config)}</script>
<script src="/watch/static/player.js"></script>
</body></html>"""


def _script_json(data: dict) -> str:
    """JSON safe inside a <script> element (no way to close the element from a value)."""
    return json.dumps(data).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render_index(items: list[tuple[str, str, bool]]) -> str:
    rows = "".join(f'<li><a href="/watch/{escape(slug)}">{escape(title)}</a>{" (sample)" if sample else ""}</li>'
                   for slug, title, sample in items) or "<li>Nothing published yet.</li>"
    return f'{_head("Videos")}<body><main><h1>Videos</h1><ul>{rows}</ul></main></body></html>'
