"""Responsibility → Fairness and Explanations: how the studio's models treat groups, what mitigation costs,
and why a video's predicted watch time or click chance is what it is (SHAP)."""
from __future__ import annotations

import gradio as gr

from ..common import UI, handler
from ..services import dashboard, explaining
from ..services import fairness as fair_svc
from . import charts

MODEL_CHOICES = [(v, k) for k, v in fair_svc.MODELS.items()]
CONSTRAINTS = [("Demographic parity (equal selection rates)", "demographic_parity"),
               ("Equal opportunity (equal true-positive rates)", "true_positive_rate_parity")]


def build_fairness(ui: UI) -> None:
    studio = ui.studio
    store = studio.store
    gr.Markdown("Measures every published video's audience (watch pages, imports, or the sample channel). "
                "**Statistical parity difference** = P(Ŷ=1 | A=a) − P(Ŷ=1 | A=b), largest gap between groups "
                "(fairlearn's definition); **exposure** = position-discounted share of recommendation slots "
                "(1/log₂(1+rank)) vs each creator group's share of the catalogue.")
    with gr.Row():
        model = gr.Dropdown(MODEL_CHOICES, value="ctr", label="Model", elem_id="fair-model")
        attribute = gr.Dropdown([(v, k) for k, v in fair_svc.VIEWER_GROUPS.items()], value="region",
                                label="Viewer group", elem_id="fair-attribute")
        creator = gr.Dropdown([(v, k) for k, v in fair_svc.CREATOR_GROUPS.items()], value="length",
                              label="Creator group (recommender)", elem_id="fair-creator")
        run = gr.Button("Measure fairness", variant="primary", elem_id="fair-run")
    summary = gr.Markdown(elem_id="fair-summary")
    with gr.Row():
        bars = gr.Plot(elem_id="fair-bars")
        trend = gr.Plot(elem_id="fair-trend")
    table = gr.Dataframe(interactive=False, wrap=True, elem_id="fair-table")
    gr.Markdown("#### Mitigation")
    with gr.Row():
        constraint = gr.Dropdown(CONSTRAINTS, value="demographic_parity", label="Threshold optimisation "
                                 "(classifiers)", elem_id="fair-constraint")
        tolerance = gr.Slider(0.0, 0.2, value=0.02, step=0.01, label="Exposure tolerance (recommender re-rank)")
        mitigate = gr.Button("Apply mitigation and compare", elem_id="fair-mitigate")
    mitigation_text = gr.Markdown(elem_id="fair-mitigation")
    after_plot = gr.Plot(elem_id="fair-after")
    state = gr.State(None)

    @handler
    def measure(project_id, model_name, attr, creator_attr, progress=gr.Progress()):
        filters = dashboard.make_filters(None, None, None)
        if model_name == "recommender":
            progress(0.2, desc="Training the recommender and ranking videos for every viewer")
            res = fair_svc.recommender_fairness(store, filters, creator_attr, viewer_attribute=attr)
            rep = res.report
            by_user = rep.by_user_group
            text = (f"**Recommender, top {res.k} per viewer, {rep.n_users:,} viewers.** {rep.summary} "
                    f"Largest gap to the fair share: **{rep.gap:.1%}**.")
            return (res, text, charts.exposure_bars(rep),
                    charts.empty("Exposure by viewer group", "See the table: each viewer group's mix of creator "
                                 "groups.") if by_user is None else _by_user_plot(by_user, attr),
                    _round(rep.frame))
        progress(0.2, desc="Fitting the model on the store's sessions")
        res = fair_svc.classifier_fairness(store, filters, model_name, attr)
        rep = res.report
        text = (f"**{fair_svc.MODELS[model_name]} by {fair_svc.VIEWER_GROUPS[attr]}.** {res.decision}\n\n"
                f"{rep.summary} Statistical parity difference **{rep.statistical_parity_difference:.1%}**, ratio "
                f"**{rep.parity_ratio:.2f}**, equal-opportunity difference "
                f"**{rep.equal_opportunity_difference:.1%}**; accuracy {rep.accuracy:.1%} on {rep.n:,} sessions.")
        return (res, text, charts.group_bars(rep, "Decisions per group (95 % bootstrap intervals)"),
                charts.gap_trend(res.over_time, "Gap over time (weekly)"), _round(rep.frame))

    @handler
    def apply(res, constr, tol, progress=gr.Progress()):
        if res is None:
            raise gr.Error("Measure fairness first.")
        progress(0.3, desc="Mitigating")
        if isinstance(res, fair_svc.RecommenderFairness):
            out = fair_svc.rerank(res, tolerance=float(tol))
            text = (f"**Constrained greedy re-rank.** Exposure gap {out.before.gap:.1%} → **{out.after.gap:.1%}**; "
                    f"ranking quality kept (NDCG@{res.k} vs the original order) **{out.ndcg:.3f}**, mean "
                    f"predicted rating {out.mean_score_before:.2f} → {out.mean_score_after:.2f}. {out.summary}")
            return text, charts.exposure_bars(out.before, out.after, "Exposure before and after re-ranking")
        out = fair_svc.mitigate_thresholds(res, constr)
        _, best = fair_svc.best_single_threshold(res.scores, res.y_true)
        text = (f"**Per-group thresholds (fairlearn ThresholdOptimizer).** Parity difference "
                f"{out.before.statistical_parity_difference:.1%} → **{out.after.statistical_parity_difference:.1%}**,"
                f" equal-opportunity difference {out.before.equal_opportunity_difference:.1%} → "
                f"**{out.after.equal_opportunity_difference:.1%}**. Accuracy: the current rule "
                f"{out.before.accuracy:.1%}, the most accurate single threshold for everyone {best:.1%}, the fair "
                f"per-group thresholds {out.after.accuracy:.1%} — " + _cost(best - out.after.accuracy))
        return text, charts.before_after(out.before, out.after, "Selection rate before and after")

    run.click(measure, [ui.project, model, attribute, creator], [state, summary, bars, trend, table],
              api_name="fairness")
    mitigate.click(apply, [state, constraint, tolerance], [mitigation_text, after_plot], api_name="mitigate")


def _cost(points: float) -> str:
    if points >= 0:
        return f"fairness costs **{points * 100:.1f} points** of accuracy here."
    return (f"no accuracy is lost here (**+{-points * 100:.1f} points**): thresholds per group are more flexible "
            "than one for everybody.")


def _round(frame):
    return frame.round(4)


def _by_user_plot(by_user, attr):
    import plotly.graph_objects as go

    from ..charts import LAYOUT
    fig = go.Figure(layout={**LAYOUT, "title": f"Creator-group mix seen by each {fair_svc.VIEWER_GROUPS[attr]}",
                            "barmode": "stack", "yaxis": {"tickformat": ".0%"}})
    for group in by_user.columns:
        fig.add_bar(x=[str(i) for i in by_user.index], y=by_user[group], name=str(group))
    return fig


def build_explanations(ui: UI) -> None:
    store = ui.studio.store
    gr.Markdown("SHAP values split each prediction into a contribution per input; they add up exactly to the "
                "prediction minus the average prediction. Watch time is explained in seconds; clicks in log-odds.")
    with gr.Row():
        which = gr.Radio([("Watch time", "watch"), ("Click-through", "ctr")], value="watch", label="Model",
                         elem_id="exp-model")
        fit = gr.Button("Fit and explain", variant="primary", elem_id="exp-fit")
    overall = gr.Markdown(elem_id="exp-summary")
    global_plot = gr.Plot(elem_id="exp-global")
    with gr.Row():
        video = gr.Dropdown(label="Explain one video", choices=[], elem_id="exp-video")
    sentence = gr.Markdown(elem_id="exp-sentence")
    water = gr.Plot(elem_id="exp-waterfall")
    state = gr.State(None)

    @handler
    def do_fit(model_name, progress=gr.Progress()):
        progress(0.2, desc="Fitting the model")
        done = explaining.explain(store, dashboard.make_filters(None, None, None), model_name)
        ids = sorted(set(done.frame["publication_id"].astype(int)))
        choices = [(done.titles.get(i, f"#{i}"), i) for i in ids]
        top = done.explanation.global_importance().iloc[0]["feature"]
        name = top[:-2].replace("_", " ") + " (seconds)" if top.endswith("_s") else top.replace("_", " ")
        text = f"{done.summary} Across viewing sessions, **{name}** moves the prediction most."
        return (done, text, charts.importance(done.explanation, "What drives the prediction (mean |SHAP|)"),
                gr.update(choices=choices, value=choices[0][1] if choices else None))

    @handler
    def do_video(done, pub_id):
        if done is None or pub_id is None:
            return "", charts.empty("Explanation", "Fit a model and pick a video.")
        row, n = explaining.for_video(done, int(pub_id))
        title = done.titles.get(int(pub_id), "this video")
        return (f"**{title}** ({n:,} sessions): {row.sentence}",
                charts.waterfall(row, f"Why “{title[:40]}” gets this prediction"))

    fit.click(do_fit, [which], [state, overall, global_plot, video], api_name="explain_models").then(
        do_video, [state, video], [sentence, water], api_visibility="private")
    video.input(do_video, [state, video], [sentence, water], api_name="explain_video")
