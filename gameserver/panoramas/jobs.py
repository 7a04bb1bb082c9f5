"""Running an uploaded set's import in a worker: the job's archive is read from the object store, imported by the
one import service (archives.py -> services.py, with every check, the training-leak check included), its progress
written to the job as it goes, and its end recorded: the set's summary, or every problem. A job whose worker died
is run again from the start (the import is all or nothing); one already ended is left alone."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from django.db.models import F
from django.utils import timezone

from gameserver.audit import ADDITION, audit_log
from gameserver.objectstore import object_open, objects_delete
from gameserver.panoramas.archives import panorama_set_import_zip
from gameserver.panoramas.models import ImportJob, PanoramaSet
from gameserver.panoramas.services import PanoramaImportError

# A job that failed this many times for a reason that is not the upload's (a worker killed mid-way, a store
# that cannot be reached) is given up, saying so.
MAX_ATTEMPTS = 3
# Progress is written at most this often (a 10,000-photo set calls back 20,000 times).
PROGRESS_EVERY_S = 0.5


def import_job_run(*, job_id: int) -> None:
    """Run the job unless it has ended; a failure that is not the upload's propagates (the task retries it) until
    MAX_ATTEMPTS."""
    claimed = ImportJob.objects.filter(
        pk=job_id, status__in=[ImportJob.Status.QUEUED, ImportJob.Status.RUNNING]
    ).update(status=ImportJob.Status.RUNNING, started_at=timezone.now(), attempts=F("attempts") + 1, done=0)
    if not claimed:
        return
    job = ImportJob.objects.get(pk=job_id)
    try:
        with tempfile.TemporaryDirectory(prefix="import-job-") as folder:
            archive = Path(folder) / "upload.zip"
            with object_open(key=job.archive_key) as source, archive.open("wb") as sink:
                for chunk in source.chunks():
                    sink.write(chunk)
            report = panorama_set_import_zip(
                archive=archive,
                name=job.name,
                licence=job.licence,
                attribution=job.attribution,
                kind=job.kind or None,
                private=job.private,
                status=PanoramaSet.Status.DRAFT,
                progress=_progress_writer(job_id),
            )
    except PanoramaImportError as error:
        _end(job, status=ImportJob.Status.FAILED, problems=error.problems)
        return
    except Exception as error:
        if job.attempts >= MAX_ATTEMPTS:
            _end(
                job,
                status=ImportJob.Status.FAILED,
                problems=[f"the import stopped {job.attempts} times ({type(error).__name__}); upload it again"],
            )
            return
        raise
    panorama_set = PanoramaSet.objects.get(pk=report.set_id)
    audit_log(
        user_id=job.created_by_id,
        obj=panorama_set,
        action=ADDITION,
        message=f"imported as a draft from {job.archive_name or 'an upload'}: {report.summary()}",
    )
    _end(job, status=ImportJob.Status.DONE, summary=report.summary(), panorama_set=panorama_set)


def _progress_writer(job_id: int):  # type: ignore[no-untyped-def]
    last = [0.0]

    def write(stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if done == total or now - last[0] >= PROGRESS_EVERY_S:
            last[0] = now
            ImportJob.objects.filter(pk=job_id).update(stage=stage, done=done, total=total)

    return write


def _end(
    job: ImportJob,
    *,
    status: str,
    problems: list[str] | None = None,
    summary: str = "",
    panorama_set: PanoramaSet | None = None,
) -> None:
    # Only the run that holds the job ends it: a second run of a job (resumed while the first still ran) that
    # fails on the set the first one made leaves the first one's result.
    ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.RUNNING).update(
        status=status, problems=problems or [], summary=summary, panorama_set=panorama_set, finished_at=timezone.now()
    )
    objects_delete(keys=[job.archive_key])  # the upload is no longer needed, whichever way it ended
