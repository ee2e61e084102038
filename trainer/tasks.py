"""Celery glue: the app (broker and result backend on Redis) and the training task.

The gateway enqueues by name (`sentivis.jobs.submit_training`) and never imports this module.
`python -m trainer worker` runs one job at a time: training uses every core it is given.
"""
from __future__ import annotations

from typing import Any

from celery import Celery

from sentivis import jobs
from sentivis.logs import setup_logging
from sentivis.redis_io import celery_connection, connect
from sentivis.settings import get_settings
from trainer.data import DataError
from trainer.job import run_job
from trainer.onnx_io import ModelFileError, ParityError
from trainer.teachers import TeacherFileError

settings = get_settings()
app = Celery("trainer")
app.conf.update(
    **celery_connection(settings),  # through the sentinels when SENTIVIS_REDIS_SENTINELS is set
    task_default_queue=jobs.TRAINING_QUEUE,
    task_serializer="json", result_serializer="json", accept_content=["json"],
    worker_prefetch_multiplier=1,  # a queued job stays in Redis until this worker is free
    worker_hijack_root_logger=False,
    broker_connection_retry_on_startup=True,
)


# Failures that are the job's, not the worker's: Celery logs them in one line, without a traceback.
EXPECTED_FAILURES = (jobs.JobParamsError, DataError, ModelFileError, ParityError, TeacherFileError)


@app.task(bind=True, name=jobs.TRAINING_TASK, throws=EXPECTED_FAILURES)
def train_and_register(self, job_id: str, params: dict[str, Any]) -> dict[str, Any]:
    def report(job: dict[str, Any]) -> None:
        self.update_state(state="PROGRESS", meta={"job_id": job_id, "state": job["state"],
                                                  "progress": job["progress"], "history": job["history"]})

    job = run_job(connect(settings), settings, job_id, params, report)
    return {"job_id": job_id, "model_version": job["model_version"], "metrics": job["metrics"]}


def run_worker(loglevel: str | None = None, pool: str = "solo") -> None:
    level = (loglevel or settings.log_level).upper()
    setup_logging("trainer", level)
    app.worker_main(["worker", f"--loglevel={level}", f"--pool={pool}", "--concurrency=1",
                     f"--queues={jobs.TRAINING_QUEUE}", "--without-gossip", "--without-mingle"])
