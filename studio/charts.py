"""Plotly figures for the Audience tab, drawn from the plain data of ``services.dashboard``."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from analytics.retention import format_time

LAYOUT = {"template": "plotly_white", "margin": {"l": 50, "r": 20, "t": 50, "b": 40}, "height": 340}


def _empty(title: str, text: str = "No data in this range yet.") -> go.Figure:
    fig = go.Figure(layout={**LAYOUT, "title": title})
    fig.add_annotation(text=text, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig


def trend(daily: pd.DataFrame, imported: pd.DataFrame) -> go.Figure:
    if daily.empty and imported.empty:
        return _empty("Watch time and views per day")
    fig = go.Figure(layout={**LAYOUT, "title": "Watch time and views per day"})
    if not daily.empty:
        fig.add_bar(x=daily["key"], y=daily["watch_time_s"] / 3600, name="Watch time (h), watch page",
                    marker_color="#4c78a8")
        fig.add_scatter(x=daily["key"], y=daily["views"], name="Views", yaxis="y2", mode="lines+markers",
                        line={"color": "#f58518"})
    if not imported.empty:
        fig.add_bar(x=imported["day"].astype(str), y=imported["watch_time_s"] / 3600,
                    name="Watch time (h), imported", marker_color="#9ecae9")
    fig.update_layout(barmode="stack", yaxis={"title": "hours"},
                      yaxis2={"title": "views", "overlaying": "y", "side": "right", "showgrid": False},
                      legend={"orientation": "h", "y": -0.2})
    return fig


def funnel(f: dict[str, int]) -> go.Figure:
    if not f.get("impressions"):
        return _empty("Click-through funnel")
    stages = ["Impressions", "Plays (clicked play)", "Views (10 s or more)", "Watched past half",
              "Watched to the end"]
    values = [f["impressions"], f.get("plays", f["views"]), f["views"], f["halfway"], f["completed"]]
    ctr = f.get("plays", f["views"]) / f["impressions"]
    fig = go.Figure(go.Funnel(y=stages, x=values, textinfo="value+percent initial"),
                    layout={**LAYOUT, "title": f"Click-through funnel (CTR {ctr:.1%})"})
    return fig


def retention(curve, moments, title: str) -> go.Figure:
    if curve is None:
        return _empty("Audience retention")
    t = np.asarray(curve.times)
    fig = go.Figure(layout={**LAYOUT, "title": f"Audience retention — {title} ({curve.n_views} views)"})
    fig.add_scatter(x=np.concatenate([t, t[::-1]]), y=np.concatenate([curve.upper, curve.lower[::-1]]) * 100,
                    fill="toself", line={"width": 0}, fillcolor="rgba(76,120,168,0.2)", name="95% band",
                    hoverinfo="skip")
    fig.add_scatter(x=t, y=np.asarray(curve.survival) * 100, line={"shape": "hv", "color": "#4c78a8"},
                    name="Still watching (Kaplan–Meier)")
    for m in moments:
        fig.add_vrect(x0=m.start, x1=m.end, fillcolor="#e45756", opacity=0.2, line_width=0,
                      annotation_text=f"−{m.share_lost:.0%}", annotation_position="top left")
    fig.update_layout(xaxis={"title": "seconds into the video"}, yaxis={"title": "% of viewers", "range": [0, 102]},
                      legend={"orientation": "h", "y": -0.2})
    return fig


def bars(frame: pd.DataFrame, title: str) -> go.Figure:
    if frame.empty:
        return _empty(title)
    fig = go.Figure(layout={**LAYOUT, "title": title})
    fig.add_bar(x=frame["key"], y=frame["views"], name="Views", marker_color="#4c78a8")
    fig.add_scatter(x=frame["key"], y=frame["avg_view_duration_s"], name="Avg view duration (s)", yaxis="y2",
                    mode="markers", marker={"size": 12, "color": "#f58518"})
    fig.update_layout(yaxis2={"overlaying": "y", "side": "right", "showgrid": False, "title": "seconds"},
                      legend={"orientation": "h", "y": -0.2})
    return fig


def new_returning(frame: pd.DataFrame) -> go.Figure:
    if frame.empty:
        return _empty("New and returning viewers")
    fig = go.Figure(layout={**LAYOUT, "title": "New and returning viewers per day", "barmode": "stack"})
    fig.add_bar(x=frame["day"], y=frame["new_viewers"], name="New", marker_color="#54a24b")
    fig.add_bar(x=frame["day"], y=frame["returning_viewers"], name="Returning", marker_color="#b279a2")
    return fig


def segment_map(seg) -> go.Figure:
    fig = go.Figure(layout={**LAYOUT, "height": 420, "title": f"Audience segments (k = {seg.k}, chosen by "
                                                             f"silhouette {seg.silhouettes[seg.k]:.2f})"})
    labels = np.asarray(seg.map_labels)
    xy = np.asarray(seg.map_xy)
    for s in seg.segments:
        pts = xy[labels == s.label]
        fig.add_scatter(x=pts[:, 0], y=pts[:, 1], mode="markers", name=f"{s.name} ({s.share:.0%})",
                        marker={"size": 6, "opacity": 0.7})
    fig.update_layout(xaxis={"title": "component 1"}, yaxis={"title": "component 2"})
    return fig


def sentiment(frame: pd.DataFrame) -> go.Figure:
    if frame.empty:
        return _empty("Comment sentiment")
    daily = frame.groupby("day").agg(score=("score", "mean"), comments=("score", "size")).reset_index()
    fig = go.Figure(layout={**LAYOUT, "title": "Comment sentiment per day (−1 negative … +1 positive)"})
    fig.add_bar(x=daily["day"], y=daily["comments"], name="Comments", yaxis="y2", marker_color="#d8d8d8")
    fig.add_scatter(x=daily["day"], y=daily["score"], name="Mean sentiment", mode="lines+markers",
                    line={"color": "#54a24b"})
    fig.update_layout(yaxis={"range": [-1, 1], "title": "sentiment"},
                      yaxis2={"overlaying": "y", "side": "right", "showgrid": False, "title": "comments"},
                      legend={"orientation": "h", "y": -0.2})
    return fig


def posteriors(experiment: dict | None) -> go.Figure:
    if not experiment:
        return _empty("Title / thumbnail test", "No test on this video. Start one in the Publish tab.")
    dens = experiment["density"]
    fig = go.Figure(layout={**LAYOUT, "title": f"{experiment['name']} — posterior click-through rate"})
    for name, pdf in zip(dens.names, dens.pdf):
        fig.add_scatter(x=np.asarray(dens.x) * 100, y=pdf, mode="lines", fill="tozeroy", name=name[:40])
    fig.update_layout(xaxis={"title": "CTR (%)"}, yaxis={"title": "density"}, legend={"orientation": "h", "y": -0.2})
    return fig


def importances(model, title: str) -> go.Figure:
    imp = sorted(model.importances, key=lambda i: i.importance)[-8:]
    fig = go.Figure(go.Bar(x=[i.importance for i in imp], y=[i.feature for i in imp], orientation="h",
                           error_x={"array": [i.std for i in imp]}), layout={**LAYOUT, "title": title})
    return fig


def moments_text(moments) -> str:
    return "\n".join(f"- {m.sentence}" for m in moments) or "- No sharp drop-off: viewers leave steadily."


__all__ = ["format_time"]
