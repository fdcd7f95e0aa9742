"""Ed25519 checkpoint signing. The key is generated once under key_dir; the public key is exportable so an
auditor can keep checkpoints (and the key to check them) outside the system."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import BaseModel, ConfigDict

from guardrails.errors import AuditError

ORIGIN = "qingsong-audit"
PRIVATE_NAME = "audit_ed25519.pem"
PUBLIC_NAME = "audit_ed25519.pub.pem"


class Checkpoint(BaseModel):
    """A signed statement "the log had `tree_size` events with Merkle root `root` at `ts`"."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    origin: str = ORIGIN
    tree_size: int
    root: str  # hex
    ts: str
    key_id: str
    signature: str  # base64 Ed25519 over `signed_text()`

    def signed_text(self) -> bytes:
        return f"{self.origin}\n{self.tree_size}\n{self.root}\n{self.ts}\n".encode()

    def to_file(self, path: Path) -> None:
        path.write_text(json.dumps(self.model_dump(), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def from_file(cls, path: Path) -> Checkpoint:
        try:
            return cls.model_validate_json(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise AuditError(f"cannot read checkpoint {str(path)!r}: {exc}; write one with `qingsong audit checkpoint`") from exc


def key_id_of(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


class Signer:
    """Loads or creates the Ed25519 key pair under key_dir (private key file mode 0600)."""

    def __init__(self, key_dir: Path) -> None:
        self.key_dir = Path(key_dir)
        self._private: Ed25519PrivateKey | None = None

    def _load(self) -> Ed25519PrivateKey:
        if self._private is not None:
            return self._private
        self.key_dir.mkdir(parents=True, exist_ok=True)
        path = self.key_dir / PRIVATE_NAME
        if not path.exists():
            key = Ed25519PrivateKey.generate()
            pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
            try:  # O_EXCL: when two processes race, one key wins and both use it
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as f:
                    f.write(pem)
                (self.key_dir / PUBLIC_NAME).write_bytes(key.public_key().public_bytes(
                    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
            except FileExistsError:
                pass
        loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(loaded, Ed25519PrivateKey):
            raise AuditError(f"{str(path)!r} is not an Ed25519 private key; move it away to generate a new one")
        self._private = loaded
        return loaded

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self._load().public_key()

    def public_key_pem(self) -> str:
        return self.public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()

    @property
    def key_id(self) -> str:
        return key_id_of(self.public_key)

    def sign(self, tree_size: int, root_hex: str, ts: str) -> Checkpoint:
        unsigned = Checkpoint(tree_size=tree_size, root=root_hex, ts=ts, key_id=self.key_id, signature="")
        sig = self._load().sign(unsigned.signed_text())
        return unsigned.model_copy(update={"signature": base64.b64encode(sig).decode()})


def load_public_key(pem: str | bytes) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(pem.encode() if isinstance(pem, str) else pem)
    if not isinstance(key, Ed25519PublicKey):
        raise AuditError("the public key is not an Ed25519 key; export it with `qingsong audit pubkey`")
    return key


def signature_ok(cp: Checkpoint, public: Ed25519PublicKey) -> bool:
    try:
        public.verify(base64.b64decode(cp.signature), cp.signed_text())
    except (InvalidSignature, ValueError):
        return False
    return cp.origin == ORIGIN
