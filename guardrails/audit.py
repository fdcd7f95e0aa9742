"""Tamper-evident audit log: append-only events, hash-chained, with an RFC 6962 Merkle tree over the leaves and
periodic Ed25519-signed checkpoints.

A leaf is the canonical JSON of (ts, event, actor, subject, payload_hash, prev): no personal data. The payload
(the event's data, PII-redacted) is stored beside it, keyed by sha256(salt || body), and can be deleted with
`forget(subject)`; verification still passes because only the hash is in the leaf. Appends are serialised
(BEGIN IMMEDIATE on SQLite, a row lock on the head row elsewhere), so several threads and processes may write.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import logging
import os
import secrets
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict
from sqlalchemy.engine import Connection, Engine

from guardrails import merkle
from guardrails.consistency import ConsistencyCheck, ConsistencyProof, check_consistency
from guardrails.errors import AuditError, InvalidInput
from guardrails.pii import redact, redact_value
from guardrails.signing import Checkpoint, Signer, load_public_key, signature_ok
from guardrails.tables import audit_checkpoints, audit_events, audit_head, audit_nodes, audit_payloads

log = logging.getLogger(__name__)

GENESIS = "0" * 64
WITNESS_NAME = "checkpoint-latest.json"


def now_ts() -> str:
    """UTC, fixed width, so timestamps sort as strings."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


_SEP = "\x1f"  # unit separator: fields are checked not to contain control characters


def leaf_bytes(ts: str, event: str, actor: str, subject: str, payload_hash: str, prev: str) -> bytes:
    """Canonical leaf encoding (version 1): the fields joined by U+001F, UTF-8."""
    return _SEP.join(("qs-audit-1", ts, event, actor, subject, payload_hash, prev)).encode("utf-8")


def _check_field(name: str, value: str) -> str:
    if not isinstance(value, str) or not value or len(value) > 200 or any(ord(c) < 0x20 for c in value):
        raise InvalidInput(f"audit {name} {value!r} must be 1-200 characters without control characters")
    return value


def payload_digest(salt_hex: str, body: str) -> str:
    return hashlib.sha256(bytes.fromhex(salt_hex) + body.encode("utf-8")).hexdigest()


class Receipt(BaseModel):
    """Proof that an event is in the log: its leaf, the tree it was checked against, the audit path."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    leaf_index: int
    leaf_hash: str
    tree_size: int
    root: str
    proof: tuple[str, ...]

    def verify(self) -> bool:
        return merkle.verify_inclusion(bytes.fromhex(self.leaf_hash), self.leaf_index, self.tree_size,
                                       [bytes.fromhex(p) for p in self.proof], bytes.fromhex(self.root))


class AuditEvent(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    seq: int
    ts: str
    event: str
    actor: str
    subject: str
    payload_hash: str
    leaf_hash: str
    data: dict[str, Any] | None  # None once the payload was forgotten


class TamperKind(StrEnum):
    EDITED = "edited"
    DELETED = "deleted"
    INSERTED = "inserted"
    REORDERED = "reordered"
    TRUNCATED = "truncated"
    PAYLOAD_EDITED = "payload_edited"
    CHECKPOINT_MISMATCH = "checkpoint_mismatch"
    BAD_SIGNATURE = "bad_signature"
    CHAIN_BROKEN = "chain_broken"
    PROOF_FAILED = "proof_failed"  # the events are fine but the stored Merkle nodes prove something else


class Problem(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: TamperKind
    seq: int | None = None
    detail: str


class VerifyReport(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    ok: bool
    tree_size: int
    root: str
    checkpoints_checked: int
    newest_checkpoint: int  # tree size of the newest valid checkpoint (0 if none)
    unsealed: int  # events after the newest valid checkpoint
    consistency_checked: int = 0  # checkpoint files checked with a consistency proof (RFC 6962 2.1.2)
    payloads_present: int
    payloads_forgotten: int
    problems: tuple[Problem, ...]
    seconds: float

    @property
    def kinds(self) -> set[TamperKind]:
        return {p.kind for p in self.problems}


class AuditLog:
    """The audit store. Implements kb's EventSink (`record`) so knowledge changes are audited too."""

    def __init__(
        self, engine: Engine, key_dir: Path, checkpoint_every: int = 256, scrub_pii: bool = True,
        clock: Callable[[], str] = now_ts,
    ) -> None:
        if checkpoint_every < 1:
            raise InvalidInput(f"checkpoint_every={checkpoint_every!r} must be at least 1")
        self.engine = engine
        self.key_dir = Path(key_dir)
        self.checkpoint_every = checkpoint_every
        self.scrub_pii = scrub_pii
        self.clock = clock
        self.signer = Signer(self.key_dir)

    # -- writing -----------------------------------------------------------------------------------
    def record(self, event: str, actor: str, subject: str, data: dict[str, Any]) -> None:
        """EventSink: append and forget the receipt."""
        self.append(event, actor, subject, data)

    def append(
        self, event: str, actor: str, subject: str, data: dict[str, Any] | None = None, *,
        data_subject: str | None = None,
    ) -> Receipt:
        """Append one event; return its receipt (leaf index, inclusion proof against the new root)."""
        receipts = self._append([(event, actor, subject, data or {}, data_subject)], want_receipt=True)
        assert receipts is not None
        return receipts

    def append_many(self, records: Iterable[tuple[str, str, str, dict[str, Any]]]) -> int:
        """Append several events in one transaction (imports, benchmarks); return the new tree size."""
        self._append([(e, a, s, d, None) for e, a, s, d in records], want_receipt=False)
        return self.size()

    def _append(
        self, records: list[tuple[str, str, str, dict[str, Any], str | None]], want_receipt: bool
    ) -> Receipt | None:
        if not records:
            return None
        made: list[Checkpoint] = []
        with self._locked() as conn:
            head = conn.execute(
                sa.select(audit_head.c.size, audit_head.c.last_hash).where(audit_head.c.id == 1).with_for_update()
            ).first()
            if head is None:
                conn.execute(audit_head.insert().values(id=1, size=0, last_hash=GENESIS))
                size, prev = 0, GENESIS
            else:
                size, prev = int(head.size), head.last_hash
            cache: dict[tuple[int, int], bytes] = {}
            lookup = self._lookup(conn, cache)
            frontier = self._frontier(size, lookup)
            events, payloads, nodes = [], [], []
            leaf = b""
            for event, actor, subject, data, data_subject in records:
                _check_field("event", event), _check_field("actor", actor), _check_field("subject", subject)
                ts = self.clock()
                body = canonical(redact_value(data) if self.scrub_pii else data)
                salt = secrets.token_hex(16)
                p_hash = payload_digest(salt, body)
                actor_s, subject_s = (redact(actor), redact(subject)) if self.scrub_pii else (actor, subject)
                leaf = merkle.leaf_hash(leaf_bytes(ts, event, actor_s, subject_s, p_hash, prev))
                payloads.append(dict(payload_hash=p_hash, salt=salt, body=body, subject=subject_s,
                                     data_subject=data_subject))
                events.append(dict(seq=frontier.size, ts=ts, event=event, actor=actor_s, subject=subject_s,
                                   payload_hash=p_hash, prev_hash=prev, leaf_hash=leaf.hex()))
                for level, idx, h in frontier.append(leaf):
                    nodes.append(dict(level=level, idx=idx, hash=h.hex()))
                    cache[(level, idx)] = h
                prev = leaf.hex()
                if frontier.size % self.checkpoint_every == 0:
                    made.append(self.signer.sign(frontier.size, frontier.root().hex(), ts))
            conn.execute(audit_payloads.insert(), payloads)
            conn.execute(audit_events.insert(), events)
            conn.execute(audit_nodes.insert(), nodes)
            conn.execute(audit_head.update().where(audit_head.c.id == 1).values(size=frontier.size, last_hash=prev))
            for cp in made:
                self._store_checkpoint(conn, cp)
            receipt = None
            if want_receipt:
                index = frontier.size - 1
                proof = merkle.inclusion_proof(index, frontier.size, lookup)
                receipt = Receipt(leaf_index=index, leaf_hash=leaf.hex(), tree_size=frontier.size,
                                  root=frontier.root().hex(), proof=tuple(p.hex() for p in proof))
        if made:
            self._write_witness(made[-1])
        return receipt

    @contextmanager
    def _locked(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql("BEGIN IMMEDIATE")  # take the write lock before reading the head
            try:
                yield conn
                conn.commit()
            except BaseException:
                conn.rollback()
                raise

    @staticmethod
    def _lookup(conn: Connection, cache: dict[tuple[int, int], bytes]) -> merkle.NodeLookup:
        def node(level: int, idx: int) -> bytes:
            key = (level, idx)
            if key not in cache:
                row = conn.execute(
                    sa.select(audit_nodes.c.hash).where(audit_nodes.c.level == level, audit_nodes.c.idx == idx)
                ).first()
                if row is None:
                    raise AuditError(f"Merkle node ({level}, {idx}) is missing; run `qingsong audit verify`")
                cache[key] = bytes.fromhex(row.hash)
            return cache[key]

        return node

    @staticmethod
    def _frontier(size: int, node: merkle.NodeLookup) -> merkle.Frontier:
        f = merkle.Frontier()
        start = 0
        for height in range(size.bit_length() - 1, -1, -1):
            if size & (1 << height):
                f.peaks.append((height, node(height, start >> height)))
                start += 1 << height
        f.size = size
        return f

    # -- checkpoints ---------------------------------------------------------------------------------
    def checkpoint(self) -> Checkpoint:
        """Sign the current tree head, store it and refresh the local witness file."""
        with self._locked() as conn:
            size, root_hex = self._head(conn)
            cp = self.signer.sign(size, root_hex, self.clock())
            self._store_checkpoint(conn, cp)
        self._write_witness(cp)
        return cp

    def write_checkpoint(self, path: Path) -> Checkpoint:
        cp = self.checkpoint()
        cp.to_file(Path(path))
        return cp

    def public_key_pem(self) -> str:
        return self.signer.public_key_pem()

    def _head(self, conn: Connection) -> tuple[int, str]:
        row = conn.execute(sa.select(audit_head.c.size).where(audit_head.c.id == 1)).first()
        size = int(row.size) if row else 0
        return size, merkle.subtree_root(0, size, self._lookup(conn, {})).hex() if size else merkle.EMPTY_ROOT.hex()

    @staticmethod
    def _store_checkpoint(conn: Connection, cp: Checkpoint) -> None:
        exists = conn.execute(
            sa.select(audit_checkpoints.c.tree_size).where(audit_checkpoints.c.tree_size == cp.tree_size)
        ).first()
        if exists is None:
            conn.execute(audit_checkpoints.insert().values(
                tree_size=cp.tree_size, root=cp.root, ts=cp.ts, key_id=cp.key_id, signature=cp.signature))

    def _write_witness(self, cp: Checkpoint) -> None:
        """Keep the newest checkpoint beside the key, outside the database: truncation of the whole
        database (checkpoint table included) is still detected."""
        path = self.key_dir / WITNESS_NAME
        try:
            if path.exists() and Checkpoint.from_file(path).tree_size >= cp.tree_size:
                return
        except AuditError:
            pass
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        cp.to_file(tmp)
        os.replace(tmp, path)

    # -- reading -------------------------------------------------------------------------------------
    def size(self) -> int:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(audit_head.c.size).where(audit_head.c.id == 1)).first()
        return int(row.size) if row else 0

    def root(self) -> str:
        with self.engine.connect() as conn:
            return self._head(conn)[1]

    def inclusion_proof(self, index: int, tree_size: int | None = None) -> Receipt:
        """Receipt for leaf `index` against the current tree (or an earlier size)."""
        with self.engine.connect() as conn:
            size = tree_size or self._head(conn)[0]
            if not 0 <= index < size:
                raise InvalidInput(f"leaf index {index!r} is outside the log (size {size}); use 0..{size - 1}")
            lookup = self._lookup(conn, {})
            proof = merkle.inclusion_proof(index, size, lookup)
            return Receipt(leaf_index=index, leaf_hash=lookup(0, index).hex(), tree_size=size,
                           root=merkle.subtree_root(0, size, lookup).hex(), proof=tuple(p.hex() for p in proof))

    def consistency(self, old_size: int, new_size: int | None = None) -> ConsistencyProof:
        """RFC 6962 consistency proof from the tree of `old_size` events to the current head (or `new_size`)."""
        with self.engine.connect() as conn:
            head = self._head(conn)[0]
            size = head if new_size is None else new_size
            if not 0 <= old_size <= size <= head:
                raise InvalidInput(f"cannot prove sizes {old_size!r} -> {size!r} on a log of {head} events; "
                                   f"the first size must be 0..{size} and the second at most {head}")
            lookup = self._lookup(conn, {})
            proof = merkle.consistency_proof(old_size, size, lookup)

            def root_of(n: int) -> str:
                return merkle.subtree_root(0, n, lookup).hex() if n else merkle.EMPTY_ROOT.hex()

            return ConsistencyProof(first=old_size, second=size, first_root=root_of(old_size),
                                    second_root=root_of(size), proof=tuple(p.hex() for p in proof))

    def check_checkpoint(self, old: Checkpoint, public_key_pem: str | None = None) -> ConsistencyCheck:
        """Sign the current head and prove it extends the auditor's `old` checkpoint. Pass the public key the
        auditor exported earlier: the key under key_dir is the log's own word."""
        public = load_public_key(public_key_pem) if public_key_pem else self.signer.public_key
        new = self.checkpoint()
        proof = self.consistency(old.tree_size, new.tree_size) if 0 <= old.tree_size <= new.tree_size else None
        return check_consistency(old, new, proof, public)

    def _stored_consistency(self, old_size: int, new_size: int) -> list[bytes] | None:
        """The proof the store would give an auditor (from `audit_nodes`), or None if it cannot make one."""
        try:
            with self.engine.connect() as conn:
                return merkle.consistency_proof(old_size, new_size, self._lookup(conn, {}))
        except AuditError:
            return None

    def events(
        self, since: dt.date | dt.datetime | str | None = None, subject: str | None = None, event: str | None = None,
        limit: int | None = None,
    ) -> list[AuditEvent]:
        q = (
            sa.select(audit_events, audit_payloads.c.body)
            .join(audit_payloads, audit_payloads.c.payload_hash == audit_events.c.payload_hash, isouter=True)
            .order_by(audit_events.c.seq)
        )
        if since is not None:
            q = q.where(audit_events.c.ts >= _ts_floor(since))
        if subject is not None:
            q = q.where(audit_events.c.subject == subject)
        if event is not None:
            q = q.where(audit_events.c.event == event)
        if limit is not None:
            q = q.limit(limit)
        with self.engine.connect() as conn:
            return [
                AuditEvent(seq=r.seq, ts=r.ts, event=r.event, actor=r.actor, subject=r.subject,
                           payload_hash=r.payload_hash, leaf_hash=r.leaf_hash,
                           data=json.loads(r.body) if r.body is not None else None)
                for r in conn.execute(q)
            ]

    def latest(self, event: str, subject: str) -> AuditEvent | None:
        found = self.events(subject=subject, event=event)
        return found[-1] if found else None

    def export(self, since: dt.date | dt.datetime | str | None = None, fmt: str = "jsonl") -> str:
        """Events (with their payloads, when not forgotten) as JSON Lines or CSV, for auditors."""
        rows = self.events(since=since)
        if fmt == "jsonl":
            return "".join(json.dumps(e.model_dump(), ensure_ascii=False) + "\n" for e in rows)
        if fmt == "csv":
            buf = io.StringIO()
            w = csv.writer(buf)
            w.writerow(["seq", "ts", "event", "actor", "subject", "payload_hash", "leaf_hash", "data"])
            for e in rows:
                w.writerow([e.seq, e.ts, e.event, e.actor, e.subject, e.payload_hash, e.leaf_hash,
                            "" if e.data is None else json.dumps(e.data, ensure_ascii=False)])
            return buf.getvalue()
        raise InvalidInput(f"export format {fmt!r} is not supported; use 'jsonl' or 'csv'")

    def forget(self, subject: str) -> int:
        """Delete the payloads about `subject` (an event subject or a data subject). The leaves stay."""
        with self.engine.begin() as conn:
            res = conn.execute(audit_payloads.delete().where(
                sa.or_(audit_payloads.c.subject == subject, audit_payloads.c.data_subject == subject)))
        return int(res.rowcount or 0)

    # -- verification ----------------------------------------------------------------------------------
    def verify(self, checkpoint: Path | None = None, public_key_pem: str | None = None) -> VerifyReport:
        """Recompute every leaf, the hash chain, the Merkle roots and the signed checkpoints from the rows
        themselves (nothing stored is trusted) and report each inconsistency."""
        t0 = time.perf_counter()
        # Files first, then one database snapshot: a checkpoint written meanwhile cannot look like truncation.
        checkpoints: list[tuple[str, Checkpoint]] = []
        witness = self.key_dir / WITNESS_NAME
        if witness.exists():
            checkpoints.append((str(witness), Checkpoint.from_file(witness)))
        if checkpoint is not None:
            checkpoints.append((str(checkpoint), Checkpoint.from_file(Path(checkpoint))))
        with self.engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql("BEGIN")
            rows = conn.execute(sa.select(
                audit_events.c.seq, audit_events.c.ts, audit_events.c.event, audit_events.c.actor,
                audit_events.c.subject, audit_events.c.payload_hash, audit_events.c.prev_hash,
                audit_events.c.leaf_hash,
            ).order_by(audit_events.c.seq)).all()
            payloads = {r.payload_hash: (r.salt, r.body) for r in conn.execute(
                sa.select(audit_payloads.c.payload_hash, audit_payloads.c.salt, audit_payloads.c.body))}
            db_checkpoints = [Checkpoint(tree_size=r.tree_size, root=r.root, ts=r.ts, key_id=r.key_id,
                                         signature=r.signature)
                              for r in conn.execute(sa.select(audit_checkpoints))]
            head = conn.execute(sa.select(audit_head).where(audit_head.c.id == 1)).first()
        problems: list[Problem] = []
        checkpoints = [("database", c) for c in db_checkpoints] + checkpoints
        wanted = {c.tree_size for _, c in checkpoints}

        recomputed, roots = self._scan(rows, wanted, problems, int(head.size) if head is not None else len(rows))
        present = forgotten = 0
        for r in rows:
            p = payloads.get(r.payload_hash)
            if p is None:
                forgotten += 1
            else:
                present += 1
                if payload_digest(p[0], p[1]) != r.payload_hash:
                    problems.append(Problem(kind=TamperKind.PAYLOAD_EDITED, seq=r.seq,
                                            detail="payload does not match the hash in its leaf"))
        n = len(rows)
        if head is not None:
            if head.size > n:
                problems.append(Problem(kind=TamperKind.TRUNCATED, seq=n,
                                        detail=f"the head records {head.size} events but only {n} remain"))
            elif head.size < n:
                problems.append(Problem(kind=TamperKind.INSERTED, seq=int(head.size),
                                        detail=f"{n - head.size} events exist beyond the recorded head "
                                               f"(size {head.size}): written around the log"))
            elif n and head.last_hash != rows[-1].leaf_hash:
                problems.append(Problem(kind=TamperKind.CHAIN_BROKEN, seq=rows[-1].seq,
                                        detail="the last event is not the one the head records"))
        public = load_public_key(public_key_pem) if public_key_pem else self.signer.public_key
        newest = consistent = 0
        for source, cp in checkpoints:
            if not signature_ok(cp, public):
                problems.append(Problem(kind=TamperKind.BAD_SIGNATURE, seq=cp.tree_size,
                                        detail=f"checkpoint of size {cp.tree_size} ({source}) has an invalid signature"))
                continue
            if cp.tree_size > n:
                problems.append(Problem(kind=TamperKind.TRUNCATED, seq=n,
                                        detail=f"checkpoint ({source}) signed {cp.tree_size} events; "
                                               f"the log has {n}"))
                continue
            if source != "database" and 0 < cp.tree_size < n:  # files kept outside: as an auditor would check
                consistent += 1
                problem = self._consistency_problem(source, cp, n, recomputed.root(), roots)
                if problem is not None:
                    problems.append(problem)
                    continue
            elif roots.get(cp.tree_size) != cp.root:
                problems.append(Problem(kind=TamperKind.CHECKPOINT_MISMATCH, seq=cp.tree_size,
                                        detail=f"the first {cp.tree_size} events no longer hash to the root signed "
                                               f"in checkpoint ({source}): events were changed, added or removed"))
                continue
            newest = max(newest, cp.tree_size)
        root_hex = recomputed.root().hex()
        return VerifyReport(
            ok=not problems, tree_size=n, root=root_hex, checkpoints_checked=len(checkpoints),
            newest_checkpoint=newest, unsealed=n - newest, consistency_checked=consistent,
            payloads_present=present, payloads_forgotten=forgotten, problems=tuple(problems),
            seconds=time.perf_counter() - t0,
        )

    def _consistency_problem(
        self, source: str, cp: Checkpoint, n: int, recomputed_root: bytes, roots: dict[int, str]
    ) -> Problem | None:
        """Check an older checkpoint with the consistency proof the store gives auditors, against the root
        recomputed from the events; when it fails, the recomputed prefix root tells which side was changed."""
        proof = self._stored_consistency(cp.tree_size, n)
        if proof is not None and merkle.verify_consistency(cp.tree_size, n, bytes.fromhex(cp.root), recomputed_root,
                                                           proof):
            return None
        if roots.get(cp.tree_size) != cp.root:
            return Problem(kind=TamperKind.CHECKPOINT_MISMATCH, seq=cp.tree_size,
                           detail=f"the log of {n} events is not consistent with checkpoint ({source}) of "
                                  f"{cp.tree_size} events: its first {cp.tree_size} events no longer hash to the "
                                  "signed root; history was rewritten (events changed, added or removed)")
        return Problem(kind=TamperKind.PROOF_FAILED, seq=cp.tree_size,
                       detail=f"the events still extend checkpoint ({source}), but the stored Merkle nodes "
                              f"(audit_nodes) {'cannot give' if proof is None else 'give a wrong'} consistency "
                              f"proof from {cp.tree_size} to {n}: receipts and proofs from them cannot be trusted")

    @staticmethod
    def _scan(
        rows: Sequence[Any], wanted: set[int], problems: list[Problem], head_size: int
    ) -> tuple[merkle.Frontier, dict[int, str]]:
        """Recompute leaves and the chain; classify broken links; collect the roots of checkpointed prefixes.

        A link to a hash that no longer exists means the event before was removed (fewer rows than the head
        records) or replaced by one with a recomputed hash (as many rows as the head records)."""
        fewer = len(rows) < head_size
        position = {r[7]: p for p, r in enumerate(rows)}
        referenced = {r[6] for r in rows}
        frontier = merkle.Frontier()
        roots: dict[int, str] = {}
        if 0 in wanted:
            roots[0] = merkle.EMPTY_ROOT.hex()
        leaf_of = merkle.leaf_hash
        inserted: set[int] = set()
        expected_seq = 0
        sep = _SEP
        push = frontier.push
        for p, r in enumerate(rows):
            h = leaf_of(sep.join(("qs-audit-1", r[1], r[2], r[3], r[4], r[5], r[6])).encode("utf-8"))
            gap = r[0] != expected_seq
            if gap:
                problems.append(Problem(kind=TamperKind.DELETED, seq=expected_seq,
                                        detail=f"events {expected_seq}..{r.seq - 1} are missing"))
            if h.hex() != r[7]:
                problems.append(Problem(kind=TamperKind.EDITED, seq=r.seq,
                                        detail="the event's fields no longer match its leaf hash"))
            want_prev = rows[p - 1][7] if p else GENESIS
            if r[6] != want_prev and p not in inserted:
                q = -1 if r.prev_hash == GENESIS else position.get(r.prev_hash)
                before = rows[p - 1] if p else None
                if q is not None and q == p - 2 and before is not None and before.leaf_hash not in referenced:
                    inserted.add(p - 1)
                    problems.append(Problem(kind=TamperKind.INSERTED, seq=before.seq,
                                            detail=f"event {before.seq} is not part of the chain: "
                                                   f"event {r.seq} follows event {rows[q].seq}"))
                elif q is not None:
                    problems.append(Problem(kind=TamperKind.REORDERED, seq=r.seq,
                                            detail=f"event {r.seq} was written after "
                                                   f"{'the start' if q < 0 else f'event {rows[q].seq}'}, "
                                                   "not after its current predecessor"))
                elif (r.leaf_hash not in referenced and p + 1 < len(rows)
                      and rows[p + 1].prev_hash == want_prev):
                    inserted.add(p)
                    problems.append(Problem(kind=TamperKind.INSERTED, seq=r.seq,
                                            detail=f"event {r.seq} is not part of the chain"))
                elif not gap:
                    rewritten = not fewer and before is not None and before.leaf_hash not in referenced
                    problems.append(Problem(
                        kind=TamperKind.EDITED if rewritten else TamperKind.DELETED,
                        seq=before.seq if rewritten and before is not None else r.seq,
                        detail=(f"event {before.seq} was replaced (its hash was recomputed)"
                                if rewritten and before is not None else
                                f"the event before {r.seq} is missing (later events renumbered)")))
            push(h)
            expected_seq = r[0] + 1
            if frontier.size in wanted:
                roots[frontier.size] = frontier.root().hex()
        return frontier, roots


def _ts_floor(since: dt.date | dt.datetime | str) -> str:
    if isinstance(since, dt.datetime):
        since = since.astimezone(dt.UTC) if since.tzinfo else since
        return since.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(since, dt.date):
        return f"{since.isoformat()}T00:00:00.000000Z"
    try:
        return _ts_floor(dt.date.fromisoformat(since))
    except ValueError as exc:
        raise InvalidInput(f"since {since!r} is not a date; use YYYY-MM-DD") from exc
