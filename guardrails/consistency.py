"""Consistency between an auditor's old checkpoint and the log's current signed head (RFC 6962 section 2.1.2).

An auditor keeps a signed checkpoint (size M, root R) outside the system. Later the log proves, with at most
about 2·log2(N) hashes, that its current tree of N events starts with exactly those M events. A log that
rewrote its history and recomputed every hash (a fork) cannot produce such a proof without breaking SHA-256.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import BaseModel, ConfigDict

from guardrails import merkle
from guardrails.signing import Checkpoint, signature_ok


class ConsistencyProof(BaseModel):
    """The log's claim "my tree of `second` events extends my tree of `first` events", with the proof."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    first: int
    second: int
    first_root: str  # hex: what the log now says the root of its first `first` events is
    second_root: str
    proof: tuple[str, ...]

    def verify(self, first_root: str | None = None, second_root: str | None = None) -> bool:
        """Check the proof, against roots the verifier trusts (its own checkpoints) rather than the log's claim."""
        try:
            old, new = bytes.fromhex(first_root or self.first_root), bytes.fromhex(second_root or self.second_root)
            path = [bytes.fromhex(p) for p in self.proof]
        except ValueError:
            return False
        return merkle.verify_consistency(self.first, self.second, old, new, path)


class ConsistencyCheck(BaseModel):
    """The verdict on an old checkpoint against the current signed head, in plain words."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    ok: bool
    reason: str
    old: Checkpoint
    new: Checkpoint | None
    proof: ConsistencyProof | None = None


def check_consistency(
    old: Checkpoint, new: Checkpoint, proof: ConsistencyProof | None, public: Ed25519PublicKey
) -> ConsistencyCheck:
    """Verify both signatures with the auditor's public key, then the proof between the two signed roots."""

    def verdict(ok: bool, reason: str) -> ConsistencyCheck:
        return ConsistencyCheck(ok=ok, reason=reason, old=old, new=new, proof=proof)

    if not signature_ok(old, public):
        return verdict(False, f"your checkpoint of {old.tree_size} events is not signed by the key you trust: "
                              "it was edited, or it belongs to another log")
    if not signature_ok(new, public):
        return verdict(False, "the log's current head is not signed by the key you trust: the signing key was "
                              "replaced, so nothing the log says can be checked")
    if old.tree_size > new.tree_size:
        return verdict(False, f"the log now has {new.tree_size} events, fewer than the {old.tree_size} your "
                              f"checkpoint of {old.ts} signed: events were removed (truncated)")
    if proof is None or (proof.first, proof.second) != (old.tree_size, new.tree_size):
        got = f"sizes {proof.first} -> {proof.second}" if proof else "none"
        return verdict(False, f"the log gave no proof for sizes {old.tree_size} -> {new.tree_size} (got {got})")
    if proof.verify(old.root, new.root):
        return verdict(True, f"the log of {new.tree_size} events still begins with exactly the {old.tree_size} "
                             f"events your checkpoint of {old.ts} signed; nothing in them was changed, removed, "
                             f"inserted or reordered (proof of {len(proof.proof)} hashes)")
    if proof.first_root != old.root:
        return verdict(False, f"history was rewritten: the log's first {old.tree_size} events now hash to "
                              f"{proof.first_root[:16]}…, not to the root {old.root[:16]}… your checkpoint of "
                              f"{old.ts} signed; events were changed, removed, inserted or reordered (a fork)")
    return verdict(False, f"the log's proof that its {new.tree_size} events extend your {old.tree_size} does not "
                          "check: its Merkle tree is not consistent with the head it signed")
