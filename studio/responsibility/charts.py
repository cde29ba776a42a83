"""Plotly figures for the Responsibility tab: per-group bars with intervals, gaps over time, before/after,
exposure shares, SHAP importance and waterfalls, and an asset's lineage graph."""
from __future__ import annotations

import textwrap

import pandas as pd
import plotly.graph_objects as go

from ..charts import LAYOUT, _empty

COLORS = {"before": "#9aa0a6", "after": "#1a73e8", "selection": "#1a73e8", "tpr": "#e37400"}


def group_bars(report, title: str) -> go.Figure:
    """Selection rate and true-positive rate per group with their bootstrap 95 % intervals."""
    f = report.frame
    fig = go.Figure(layout={**LAYOUT, "title": title, "barmode": "group", "yaxis": {"tickformat": ".0%"}})
    for col, name in (("selection", "P(Ŷ=1 | group)"), ("tpr", "True-positive rate")):
        mid = f["selection_rate" if col == "selection" else "tpr"].astype(float)
        lo, hi = f[f"{col}_lo"].astype(float), f[f"{col}_hi"].astype(float)
        fig.add_bar(x=f["group"].astype(str), y=mid, name=name, marker_color=COLORS[col],
                    error_y={"type": "data", "array": (hi - mid).clip(lower=0), "arrayminus": (mid - lo).clip(lower=0)},
                    hovertemplate="%{x}: %{y:.1%}<extra>" + name + "</extra>")
    return fig


def gap_trend(frame: pd.DataFrame, title: str) -> go.Figure:
    if frame is None or frame.empty or frame["parity_difference"].isna().all():
        return _empty(title, "Not enough weeks with two or more groups yet.")
    fig = go.Figure(layout={**LAYOUT, "title": title, "yaxis": {"tickformat": ".0%", "rangemode": "tozero"}})
    fig.add_scatter(x=frame["period"], y=frame["parity_difference"], mode="lines+markers",
                    name="Statistical parity difference")
    if "equal_opportunity_difference" in frame:
        fig.add_scatter(x=frame["period"], y=frame["equal_opportunity_difference"], mode="lines+markers",
                        name="Equal-opportunity difference")
    return fig


def before_after(before, after, title: str) -> go.Figure:
    fig = go.Figure(layout={**LAYOUT, "title": title, "barmode": "group", "yaxis": {"tickformat": ".0%"}})
    for name, rep in (("before", before), ("after", after)):
        f = rep.frame
        mid = f["selection_rate"].astype(float)
        fig.add_bar(x=f["group"].astype(str), y=mid, name=f"{name}: P(Ŷ=1)", marker_color=COLORS[name],
                    error_y={"type": "data", "array": (f["selection_hi"] - mid).clip(lower=0),
                             "arrayminus": (mid - f["selection_lo"]).clip(lower=0)})
    return fig


def exposure_bars(before, after=None, title: str = "Exposure share per creator group") -> go.Figure:
    f = before.frame
    fig = go.Figure(layout={**LAYOUT, "title": title, "barmode": "group", "yaxis": {"tickformat": ".0%"}})
    fig.add_bar(x=f["group"], y=f["target"], name="fair share (target)", marker_color="#dadce0")
    fig.add_bar(x=f["group"], y=f["share"], name="exposure" + (" before" if after is not None else ""),
                marker_color=COLORS["before"] if after is not None else COLORS["after"])
    if after is not None:
        a = after.frame.set_index("group").reindex(f["group"])
        fig.add_bar(x=f["group"], y=a["share"], name="exposure after re-ranking", marker_color=COLORS["after"])
    return fig


def importance(exp, title: str) -> go.Figure:
    imp = exp.global_importance().iloc[::-1]
    unit = "s" if exp.probabilities is None else "log-odds"
    return go.Figure(go.Bar(x=imp["mean_abs_shap"], y=imp["feature"], orientation="h",
                            hovertemplate="%{y}: %{x:.3g} " + unit + "<extra></extra>"),
                     layout={**LAYOUT, "title": title, "xaxis": {"title": f"mean |SHAP| ({unit})"}})


def waterfall(row, title: str, top: int = 6) -> go.Figure:
    contribs = row.contributions[:top]
    rest = sum(c.shap for c in row.contributions[top:])
    names = [c.text for c in contribs] + (["other inputs"] if len(row.contributions) > top else [])
    values = [c.shap for c in contribs] + ([rest] if len(row.contributions) > top else [])
    steps = [row.base_value]
    for v in values:
        steps.append(steps[-1] + v)
    lo, hi = min(steps), max(steps)
    pad = max((hi - lo) * 0.25, abs(row.base_value) * 0.01, 1e-3)
    fig = go.Figure(go.Waterfall(
        orientation="h", measure=["absolute"] + ["relative"] * len(values) + ["total"],
        y=["average"] + names + ["this video"], x=[row.base_value] + values + [row.prediction],
        text=[f"{row.base_value:.3g}"] + [f"{v:+.3g}" for v in values] + [f"{row.prediction:.3g}"],
        textposition="outside", increasing={"marker": {"color": "#188038"}},
        decreasing={"marker": {"color": "#d93025"}}, totals={"marker": {"color": "#1a73e8"}},
        connector={"line": {"color": "#dadce0"}}), layout={**LAYOUT, "title": title, "height": 380})
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(range=[lo - pad, hi + pad], title="zoomed to the contributions")
    return fig


def lineage_graph(graph, title: str = "Lineage") -> go.Figure:
    """Sources on the left, the chosen asset on the right; colour by how each was made."""
    if not graph.nodes:
        return _empty(title, "Pick an asset.")
    depth = {i: n.depth for i, n in graph.nodes.items()}
    top = max(depth.values())
    layers: dict[int, list[int]] = {}
    for i in sorted(graph.nodes):
        layers.setdefault(depth[i], []).append(i)
    pos = {i: (top - d, (k - (len(ids) - 1) / 2)) for d, ids in layers.items() for k, i in enumerate(ids)}
    colours = {"generated": "#d93025", "upload": "#188038", "edited": "#1a73e8", "derived": "#9334e6"}
    fig = go.Figure(layout={**LAYOUT, "title": title, "height": 360, "showlegend": True,
                            "xaxis": {"visible": False}, "yaxis": {"visible": False}})
    ex, ey = [], []
    for p, c, _ in graph.edges:
        if p in pos and c in pos:
            ex += [pos[p][0], pos[c][0], None]
            ey += [pos[p][1], pos[c][1], None]
    fig.add_scatter(x=ex, y=ey, mode="lines", line={"color": "#bdc1c6"}, hoverinfo="skip", showlegend=False)
    for source, colour in colours.items():
        ids = [i for i, n in graph.nodes.items() if n.source == source]
        if not ids:
            continue
        hover = []
        for i in ids:
            n = graph.nodes[i]
            bits = [f"<b>{n.name}</b> (#{n.id}, {n.kind})", f"made by: {n.source}" + (f" · {n.engine}/{n.backend}"
                                                                                     if n.engine else "")]
            if n.model_id:
                bits.append(f"model: {n.model_id}")
            if n.prompt:
                bits.append("prompt: " + "<br>".join(textwrap.wrap(n.prompt[:200], 60)))
            if n.seed is not None:
                bits.append(f"seed: {n.seed}")
            if n.human_edits:
                bits.append(f"human edits: {len(n.human_edits)}")
            hover.append("<br>".join(bits))
        fig.add_scatter(x=[pos[i][0] for i in ids], y=[pos[i][1] for i in ids], mode="markers+text",
                        name=source, text=[graph.nodes[i].name[:24] for i in ids], textposition="top center",
                        marker={"size": 18, "color": colour, "line": {"width": 2 if graph.root in ids else 0,
                                                                      "color": "#202124"}},
                        hovertext=hover, hoverinfo="text")
    fig.update_xaxes(range=[-0.5, top + 0.5])
    span = max(len(v) for v in layers.values())
    fig.update_yaxes(range=[-(span / 2) - 0.5, span / 2 + 0.5])
    return fig


def empty(title: str, text: str) -> go.Figure:
    return _empty(title, text)


__all__ = ["group_bars", "gap_trend", "before_after", "exposure_bars", "importance", "waterfall", "lineage_graph",
           "empty"]
