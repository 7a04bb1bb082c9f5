"""Celery tasks of the panoramas app: thin, take ids. Queue: imports (settings.CELERY_TASK_ROUTES; the same broker
as inference, and the embedded mode's in-process worker consumes it too)."""

from __future__ import annotations

from celery import shared_task

from gameserver.panoramas.jobs import import_job_run


@shared_task(bind=True, acks_late=True, max_retries=2, default_retry_delay=5)
def run_import_job(self, job_id: int) -> None:  # type: ignore[no-untyped-def]
    try:
        import_job_run(job_id=job_id)
    except Exception as error:
        if self.request.is_eager:
            raise
        raise self.retry(exc=error) from error


def import_job_enqueue(*, job_id: int) -> None:
    run_import_job.delay(job_id)
