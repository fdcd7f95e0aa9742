"""The upload job queue (ingest/jobs.py): jobs a previous process left unfinished are failed at start-up,
with a reason in Chinese and English; finished jobs are left alone."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from api import db
from ingest.jobs import INTERRUPTED, IngestJobs, jobs_table
from kb.store import create_engine

pytestmark = pytest.mark.integration


def row(job_id: str, status: str) -> dict[str, object]:
    return {"id": job_id, "account_id": "acc-admin", "files": ["a.md"], "status": status, "stage": "read",
            "done": 0, "total": 1, "created_at": time.time() - 60, "finished_at": None, "error": None,
            "report": None}


def test_recover_fails_the_jobs_a_previous_process_left_unfinished(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'jobs.db'}")
    db.upgrade(engine)
    with engine.begin() as conn:  # what a server killed mid-upload leaves behind
        for job_id, status in (("ingest-queued", "queued"), ("ingest-running", "running"),
                               ("ingest-done", "finished"), ("ingest-bad", "failed")):
            conn.execute(jobs_table.insert().values(**row(job_id, status)))

    jobs = IngestJobs(engine=engine)
    assert sorted(jobs.recover()) == ["ingest-queued", "ingest-running"]

    for job_id in ("ingest-queued", "ingest-running"):
        job = jobs.get(job_id)
        assert job is not None and job.status == "failed" and job.finished_at is not None
        assert job.error == INTERRUPTED and "请重新上传" in INTERRUPTED and "upload the files again" in INTERRUPTED
    done = jobs.get("ingest-done")
    assert done is not None and done.status == "finished" and done.error is None
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(jobs_table).where(
            jobs_table.c.status.in_(("queued", "running")))).scalar() == 0
    assert jobs.recover() == []  # nothing left to recover: a second start changes nothing


def test_recover_without_a_database_does_nothing() -> None:
    assert IngestJobs().recover() == []
