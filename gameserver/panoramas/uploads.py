"""An admin's upload becomes an import job: the archive is put in the object store, the job recorded, and a worker
asked to run it once the transaction commits; the request returns at once (the job's page shows the progress)."""

from __future__ import annotations

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import QuerySet

from gameserver.objectstore import object_write
from gameserver.panoramas.models import ImportJob
from gameserver.panoramas.storage import upload_key
from gameserver.panoramas.tasks import import_job_enqueue
from gameserver.public_ids import new_public_id


def import_job_create(
    *,
    archive: UploadedFile,
    name: str,
    licence: str = "",
    attribution: str = "",
    kind: str = "",
    private: bool = False,
    user_id: int | None = None,
) -> ImportJob:
    key = object_write(key=upload_key(name=f"{new_public_id()}.zip"), data=archive)
    with transaction.atomic():
        job = ImportJob.objects.create(
            created_by_id=user_id,
            name=name,
            licence=licence,
            attribution=attribution,
            kind=kind,
            private=private,
            archive_key=key,
            archive_name=(archive.name or "")[:200],
        )
        transaction.on_commit(lambda: import_job_enqueue(job_id=job.pk), robust=True)
    return job


def import_jobs_resume(*, jobs: QuerySet[ImportJob] | None = None) -> int:
    """Ask a worker again for jobs that have not ended (their message was lost with an in-memory broker, or a
    worker that held it is gone); a job that ends meanwhile is not run twice. Returns how many were asked for."""
    unfinished = (jobs if jobs is not None else ImportJob.objects.all()).filter(
        status__in=[ImportJob.Status.QUEUED, ImportJob.Status.RUNNING]
    )
    ids = list(unfinished.values_list("pk", flat=True))
    for job_id in ids:
        import_job_enqueue(job_id=job_id)
    return len(ids)
