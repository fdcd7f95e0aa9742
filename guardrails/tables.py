"""Guardrails tables on their own MetaData (portable SQL: SQLite by default, PostgreSQL by URL)."""

from __future__ import annotations

import sqlalchemy as sa

from kb.schema import metadata

accounts = sa.Table(
    "accounts",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(128), nullable=False, unique=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("units", sa.JSON, nullable=False),
    sa.Column("profile_id", sa.String(128), nullable=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("token_hint", sa.String(16), nullable=False),  # the token's first characters, to recognise it
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("created_by", sa.String(128), nullable=False),
    sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
)

# Append-only. A leaf is the canonical JSON of (ts, event, actor, subject, payload_hash, prev) where prev is
# the previous leaf hash (hash chain); the Merkle tree (RFC 6962) is built over the leaf hashes.
audit_events = sa.Table(
    "audit_events",
    metadata,
    sa.Column("seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=False),
    sa.Column("ts", sa.String(40), nullable=False),
    sa.Column("event", sa.String(64), nullable=False, index=True),
    sa.Column("actor", sa.String(128), nullable=False),
    sa.Column("subject", sa.String(200), nullable=False, index=True),
    sa.Column("payload_hash", sa.String(64), nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("leaf_hash", sa.String(64), nullable=False),
)

# Personal data lives here, outside the leaves, and can be deleted (forget) without breaking verification.
# payload_hash = sha256(salt || body): with the salt gone, the hash reveals nothing about the body.
audit_payloads = sa.Table(
    "audit_payloads",
    metadata,
    sa.Column("payload_hash", sa.String(64), primary_key=True),
    sa.Column("salt", sa.String(32), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("subject", sa.String(200), nullable=False, index=True),
    sa.Column("data_subject", sa.String(200), nullable=True, index=True),
)

# Complete (perfect) subtrees of the Merkle tree: level 0 are the leaves. Lets appends return an
# inclusion proof in O(log n) lookups. A cache of the events table: `verify` never trusts it.
audit_nodes = sa.Table(
    "audit_nodes",
    metadata,
    sa.Column("level", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("idx", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=False),
    sa.Column("hash", sa.String(64), nullable=False),
)

# One row: the size and last leaf hash; appends lock it (SELECT ... FOR UPDATE) to serialise on PostgreSQL.
audit_head = sa.Table(
    "audit_head",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("last_hash", sa.String(64), nullable=False),
)

audit_checkpoints = sa.Table(
    "audit_checkpoints",
    metadata,
    sa.Column("tree_size", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=False),
    sa.Column("root", sa.String(64), nullable=False),
    sa.Column("ts", sa.String(40), nullable=False),
    sa.Column("key_id", sa.String(32), nullable=False),
    sa.Column("signature", sa.String(200), nullable=False),
)

held_answers = sa.Table(
    "held_answers",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("turn_id", sa.String(128), nullable=False, unique=True),
    sa.Column("session_id", sa.String(128), nullable=False, index=True),
    sa.Column("answer", sa.Text, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("citations", sa.JSON, nullable=False),
    sa.Column("status", sa.String(16), nullable=False, index=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("reviewer", sa.String(128), nullable=True),
    sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("final_text", sa.Text, nullable=True),
    sa.Column("diff", sa.Text, nullable=True),
    sa.Column("reject_reason", sa.Text, nullable=True),
)

applications = sa.Table(
    "applications",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("session_id", sa.String(128), nullable=False, index=True),
    sa.Column("matter_id", sa.String(128), nullable=False, index=True),
    sa.Column("citizen", sa.String(128), nullable=False, index=True),
    sa.Column("fields", sa.JSON, nullable=False),  # structured form values live here, and only here
    sa.Column("status", sa.String(32), nullable=False, index=True),
    sa.Column("requires_staff_approval", sa.Boolean, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("decided_by", sa.String(128), nullable=True),
    sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("return_reason", sa.Text, nullable=True),
    sa.Column("sources", sa.JSON, nullable=True),  # field name -> where the value came from (Chinese, for 我的办件)
    sa.Column("findings", sa.JSON, nullable=True),  # 智能预审 findings at submission
)

application_events = sa.Table(  # the status timeline of an application (我的办件), oldest first
    "application_events",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("application_id", sa.String(40), nullable=False, index=True),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("note", sa.Text, nullable=True),  # the staff note the citizen reads
    sa.Column("actor", sa.String(160), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

inbox_messages = sa.Table(  # a citizen's in-app 消息: status changes, hand-off replies
    "inbox_messages",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("recipient", sa.String(160), nullable=False, index=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("application_id", sa.String(40), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
)


