"""The Jobs panel under the tabs: recent jobs with status and progress, refreshed while open; cancel by id.
A job that was run again after its worker stopped responding shows its attempt ("running · attempt 2") and, in
its message, why. The same in every mode (local worker processes or threads, Celery workers): all of it comes from
the job's row, and cancel only goes through ``studio.runner.cancel``."""
from __future__ import annotations

import gradio as gr

from storage.repo import jobs as jobs_repo

from .common import UI, handler
from .services import access
from .session import user_id

COLUMNS = ["id", "kind", "status", "progress", "message", "started", "seconds", "worker"]


def rows(studio, limit: int = 30) -> list[list]:
    with studio.store.session() as s:
        out = []
        for j in jobs_repo.list_jobs(session=s, limit=limit):
            secs = j.seconds
            status = j.status.value + (f" · attempt {j.attempts}" if j.attempts > 1 else "")
            out.append([j.id, j.kind, status, f"{j.progress * 100:.0f}%", j.message,
                        j.started_at.strftime("%H:%M:%S") if j.started_at else "",
                        f"{secs:.1f}" if secs is not None else "",
                        j.worker.rsplit(":", 1)[0] if j.worker else ""])  # host:pid (the token is noise here)
        return out


def build(ui: UI) -> None:
    studio = ui.studio
    with gr.Accordion("Jobs", open=False, elem_id="jobs-panel") as panel:
        table = gr.Dataframe(headers=COLUMNS, interactive=False, wrap=True, label="Recent jobs")
        with gr.Row():
            job_id = gr.Number(label="Job id", value=None, precision=0, minimum=1, scale=1)
            cancel = gr.Button("Cancel job", scale=1)
            refresh = gr.Button("Refresh", scale=1)
    timer = gr.Timer(2.0)  # outside the accordion: Gradio does not run timers of a closed one

    @handler
    def do_cancel(jid, request: gr.Request):
        if not jid:
            raise gr.Error("Enter the id of a queued or running job.")
        with studio.store.session() as s:
            job = jobs_repo.get_job(session=s, job_id=int(jid))
            # the job's own starter may always stop it; others need to be allowed to change its project
            if job.created_by_id is None or job.created_by_id != user_id(studio, request):
                access.require(studio.store, user_id(studio, request), job.project_id,
                               "edit" if job.project_id else "manage", session=s)
        snap = studio.runner.cancel(int(jid))
        gr.Info(f"Job #{snap.id}: {snap.status.value} — {snap.message}")
        return rows(studio)

    def list_jobs():
        return rows(studio)

    refresh.click(list_jobs, None, table, api_name="list_jobs")
    timer.tick(list_jobs, None, table, show_progress="hidden", api_visibility="private")
    cancel.click(do_cancel, [job_id], table, api_name="cancel_job")
    ui.app.load(list_jobs, None, table, api_visibility="private")
    panel.expand(list_jobs, None, table, api_visibility="private")
