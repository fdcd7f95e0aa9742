"""Upload jobs: a queue of ingest runs for the owner console (`POST /api/v1/knowledge/ingest` exposes it).

The uploaded files are kept under `<uploads>/<job id>/<sanitised file name>` (`uploads` is
`$QINGSONG_HOME/uploads`), so each draft's `source_path` names a file that exists, and loaded with
`ingest.pipeline.run_ingest` in a worker thread, as drafts only (no publish: four-eyes still applies), acting
as the uploader's knowledge actor (`guardrails.roles.to_actor`), so an owner can only draft items of their own
units (谁录入谁负责). The job keeps its progress (stage, done, total) and, when finished, the report, in
memory and in the `ingest_jobs` table, so a progress poll answered by another API worker finds it too; the
uploaded files are on disk.

Recovery: a job's worker thread dies with its process. `recover()`, called once at start-up before any
worker takes uploads (`qingsong serve` does, after migrating), marks the jobs a previous process left
`queued` or `running` as failed, with a reason in Chinese and English, so no progress poll waits forever.
"""

from __future__ import annotations

import logging
import re
import secrets
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from guardrails.errors import InvalidInput
from ingest.pipeline import IngestReport, run_ingest
from kb.models import Actor
from kb.runtime import KnowledgeBase
from kb.schema import metadata

log = logging.getLogger(__name__)
ALLOWED_SUFFIXES = (".md", ".json", ".jsonl", ".docx", ".pdf", ".html")
MAX_UPLOAD_BYTES = 10 * 1024 * 1024  # all files of one upload together
MAX_FILES = 200
KEEP_JOBS = 200
UPLOADS_DIR = "uploads"  # under settings.home: uploads/<job id>/<file>
MAX_NAME_CHARS = 80  # CJK names are 3 bytes a character in UTF-8; file systems allow 255 bytes
_UNSAFE = re.compile(r"[^\w.\-\u4e00-\u9fff]+")


jobs_table = sa.Table(
    "ingest_jobs",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("account_id", sa.String(64), nullable=False, index=True),
    sa.Column("files", sa.JSON, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("stage", sa.String(16), nullable=False),
    sa.Column("done", sa.Integer, nullable=False),
    sa.Column("total", sa.Integer, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("finished_at", sa.Float, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("report", sa.JSON, nullable=True),
)
INTERRUPTED = ("服务重启，本次上传未处理完，请重新上传。"
               "The server restarted before this upload finished; upload the files again.")
_FIELDS = ("account_id", "files", "status", "stage", "done", "total", "created_at", "finished_at", "error", "report")


@dataclass
class IngestJob:
    id: str
    account_id: str
    files: list[str]
    status: str = "queued"  # queued, running, finished, failed
    stage: str = "queued"  # queued, read, apply, done
    done: int = 0
    total: int = 0
    created_at: float = field(default_factory=time.time)
    finished_at: float | None = None
    error: str | None = None
    report: dict[str, Any] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def progress(self, stage: str, done: int, total: int) -> None:
        with self.lock:
            self.stage, self.done, self.total = stage, done, total

    def public(self) -> dict[str, Any]:
        with self.lock:
            return {"id": self.id, "status": self.status, "stage": self.stage, "done": self.done, "total": self.total,
                    "files": list(self.files), "error": self.error, "report": self.report}

    def row(self) -> dict[str, Any]:
        with self.lock:
            return {"id": self.id} | {f: getattr(self, f) for f in _FIELDS}


def safe_name(name: str, taken: set[str]) -> str:
    """A plain file name for the upload folder (no directories, no leading dot), unique within the upload."""
    base = _UNSAFE.sub("_", Path(name.replace("\\", "/")).name).lstrip("._") or "upload"
    stem, suffix = Path(base).stem, Path(base).suffix
    stem = stem[:MAX_NAME_CHARS] or "upload"
    base = f"{stem}{suffix}"
    out, n = base, 1
    while out in taken:
        n += 1
        out = f"{stem}-{n}{suffix}"
    taken.add(out)
    return out


def check_upload(files: list[tuple[str, bytes]]) -> None:
    """Reject an upload before anything runs: no files, unsupported types, too many or too large."""
    if not files:
        raise InvalidInput("no files uploaded; choose one or more .md, .json, .jsonl, .docx, .pdf or .html files")
    if len(files) > MAX_FILES:
        raise InvalidInput(f"{len(files)} files in one upload; send at most {MAX_FILES}")
    bad = [name for name, _ in files if Path(name).suffix.lower() not in ALLOWED_SUFFIXES]
    if bad:
        raise InvalidInput(f"unsupported file type: {', '.join(bad)}; upload {', '.join(ALLOWED_SUFFIXES)} files")
    size = sum(len(data) for _, data in files)
    if size > MAX_UPLOAD_BYTES:
        raise InvalidInput(f"upload is {size / 1048576:.1f} MB, over the 10 MB limit; split it into several uploads")


def keep_files(uploads: Path, job_id: str, files: list[tuple[str, bytes]]) -> tuple[Path, list[str]]:
    """Write the uploaded files to a new folder `uploads/<job_id>/` under sanitised names; returns it and the names.

    Nothing is left behind when a file cannot be written."""
    folder = uploads / job_id
    folder.mkdir(parents=True, exist_ok=False, mode=0o700)
    taken: set[str] = set()
    names: list[str] = []
    try:
        for name, data in files:
            target = folder / safe_name(name, taken)
            if target.parent != folder:  # safe_name keeps no directories; refuse rather than trust it blindly
                raise InvalidInput(f"file name {name!r} is not a plain file name; rename the file and upload again")
            target.write_bytes(data)
            names.append(target.name)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return folder, names


def report_public(report: IngestReport, folder: Path) -> dict[str, Any]:
    """The ingest report with the upload folder stripped from sources and messages."""
    prefix = str(folder) + "/"

    def clean(text: str) -> str:
        return text.replace(prefix, "").replace(str(folder), "")

    outcomes = [{"source": clean(o.source), "item_id": o.item_id, "action": o.action, "version": o.version,
                 "detail": clean(o.detail)} for o in report.outcomes]
    return {
        "created": report.count("create"), "new_versions": report.count("new_version"),
        "unchanged": report.count("unchanged"), "skipped": len(report.skipped),
        "outcomes": outcomes,
        "messages": [{"source": clean(src), "message": clean(msg)} for src, msg in report.skipped],
        "published": False,
    }


class IngestJobs:
    """Registry of upload jobs, one worker thread per job; with an engine, each job's state is also written to
    SQL at start, at every progress step and at the end, so every worker can answer a progress poll."""

    def __init__(self, runner: Callable[..., IngestReport] = run_ingest, engine: Engine | None = None) -> None:
        self.runner = runner
        self.engine = engine
        self._jobs: dict[str, IngestJob] = {}
        self._lock = threading.Lock()
        self._serial = threading.Lock()  # one ingest at a time in this process: they write the same index

    def _save(self, job: IngestJob, insert: bool = False) -> None:
        if self.engine is None:
            return
        row = job.row()
        with self.engine.begin() as conn:
            if insert:
                conn.execute(jobs_table.insert().values(**row))
            else:
                conn.execute(jobs_table.update().where(jobs_table.c.id == job.id).values(
                    **{k: v for k, v in row.items() if k != "id"}))

    def _progress(self, job: IngestJob) -> Callable[[str, int, int], None]:
        def report(stage: str, done: int, total: int) -> None:
            job.progress(stage, done, total)
            self._save(job)

        return report

    def start(self, kb: KnowledgeBase, actor: Actor, account_id: str, files: list[tuple[str, bytes]],
              uploads: Path) -> IngestJob:
        """Check the upload, keep its files under `uploads/<job id>/` and ingest them in a worker thread."""
        check_upload(files)
        job_id = f"ingest-{secrets.token_hex(8)}"
        folder, names = keep_files(uploads.resolve(), job_id, files)
        job = IngestJob(id=job_id, account_id=account_id, files=names, total=len(names))
        self._save(job, insert=True)
        with self._lock:
            self._jobs[job.id] = job
            for old in sorted(self._jobs.values(), key=lambda j: j.created_at)[:-KEEP_JOBS]:
                if old.status in ("finished", "failed"):
                    del self._jobs[old.id]
        threading.Thread(target=self._run, args=(job, kb, actor, folder), name=job.id, daemon=True).start()
        return job

    def _run(self, job: IngestJob, kb: KnowledgeBase, actor: Actor, folder: Path) -> None:
        try:
            with self._serial:
                with job.lock:
                    job.status = "running"
                self._save(job)
                report = self.runner(folder, kb, actor, publish=False, progress=self._progress(job))
            with job.lock:
                job.report = report_public(report, folder)
                job.status, job.stage = "finished", "done"
                job.done = job.total
        except Exception as exc:  # the job reports the failure; the server keeps running
            with job.lock:
                job.status, job.error = "failed", f"{type(exc).__name__}: {str(exc).replace(str(folder) + '/', '')}"
        finally:
            job.finished_at = time.time()
            self._save(job)

    def recover(self) -> list[str]:
        """Fail the jobs a previous process left queued or running (their threads are gone); returns their ids.

        Call once at start-up, before this or any other worker starts jobs: a job running elsewhere at that
        moment would be failed too."""
        if self.engine is None:
            return []
        unfinished = jobs_table.c.status.in_(("queued", "running"))
        with self.engine.begin() as conn:
            ids = [r.id for r in conn.execute(sa.select(jobs_table.c.id).where(unfinished))]
            if ids:
                conn.execute(jobs_table.update().where(jobs_table.c.id.in_(ids), unfinished).values(
                    status="failed", error=INTERRUPTED, finished_at=time.time()))
        if ids:
            log.warning("marked %d upload job(s) interrupted by a restart as failed: %s", len(ids), ", ".join(ids))
        return ids

    def get(self, job_id: str) -> IngestJob | None:
        """This process's job, or one another worker started (from SQL)."""
        with self._lock:
            job = self._jobs.get(job_id)
        if job is not None or self.engine is None:
            return job
        with self.engine.connect() as conn:
            r = conn.execute(sa.select(jobs_table).where(jobs_table.c.id == job_id)).first()
        if r is None:
            return None
        return IngestJob(id=r.id, **{f: getattr(r, f) for f in _FIELDS})
