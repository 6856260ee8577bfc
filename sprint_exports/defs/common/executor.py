"""How a run's steps are executed, chosen at definition load by `SPRINT_EXPORTS_EXECUTOR`:

- unset or `in_process` (default): every step in the run's own process;
- `multiprocess`: a process per step on the run's machine;
- `celery`: steps go to dagster-celery workers through the broker at
  `DAGSTER_CELERY_BROKER_URL` (default redis://127.0.0.1:6379/0), on the queue
  `SPRINT_EXPORTS_CELERY_QUEUE` (default `dagster`). See deploy/celery/README.md.

`execute_in_process` (the `sprint-exports` CLI, the tests) always runs in
process whatever is chosen here; the executor applies to launched runs (UI,
schedules, sensors, `dagster job execute`).
"""

from __future__ import annotations

import os

from dagster import ExecutorDefinition, in_process_executor, multiprocess_executor

EXECUTOR_ENV = "SPRINT_EXPORTS_EXECUTOR"
EXECUTORS = ("in_process", "multiprocess", "celery")
CELERY_BROKER_ENV = "DAGSTER_CELERY_BROKER_URL"
CELERY_QUEUE_ENV = "SPRINT_EXPORTS_CELERY_QUEUE"
DEFAULT_CELERY_BROKER = "redis://127.0.0.1:6379/0"



def celery_export_executor() -> ExecutorDefinition:
    from dagster_celery import celery_executor  # only deployments that choose celery need it installed

    # The URL is read from the environment when the run starts, so a password in it
    # stays out of run config; unset, the local Redis default applies.
    broker = {"env": CELERY_BROKER_ENV} if os.environ.get(CELERY_BROKER_ENV) else DEFAULT_CELERY_BROKER
    return celery_executor.configured(
        {
            "broker": broker,
            "backend": broker,  # results through the same Redis
            "config_source": {"task_default_queue": os.environ.get(CELERY_QUEUE_ENV) or "dagster"},
        },
        name="celery",
    )


def selected_executor() -> ExecutorDefinition:
    choice = os.environ.get(EXECUTOR_ENV, "").strip() or "in_process"
    if choice == "in_process":
        # A sprint's five steps are small, and a process per step costs
        # ~13 s of start-up per run on 2 cores (measured with `dagster dev`).
        return in_process_executor
    if choice == "multiprocess":
        return multiprocess_executor
    if choice == "celery":
        return celery_export_executor()
    raise ValueError(f"{EXECUTOR_ENV}={choice!r} is not allowed: use one of {', '.join(EXECUTORS)} (unset means in_process)")
