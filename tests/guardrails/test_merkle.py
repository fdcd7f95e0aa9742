"""RFC 6962 consistency proofs against a from-scratch recomputation: the RFC's own example, every pair of
sizes up to 70, and (hypothesis) random logs with forks, truncations and tampered proofs."""

from __future__ import annotations

import hashlib
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from guardrails.merkle import consistency_proof, leaf_hash, node_hash, verify_consistency

pytestmark = pytest.mark.unit
MAX = 70


def mth(leaves: tuple[bytes, ...]) -> bytes:
    """MTH(D[n]) straight from RFC 6962 section 2.1, over leaf hashes."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


def reference_proof(m: int, leaves: tuple[bytes, ...], whole: bool = True) -> list[bytes]:
    """SUBPROOF(m, D[n], b) from RFC 6962 section 2.1.2, on the leaf list itself."""
    n = len(leaves)
    if m == n:
        return [] if whole else [mth(leaves)]
    k = 1
    while k * 2 < n:
        k *= 2
    if m <= k:
        return [*reference_proof(m, leaves[:k], whole), mth(leaves[k:])]
    return [*reference_proof(m - k, leaves[k:], False), mth(leaves[:k])]


def lookup_for(leaves: tuple[bytes, ...]):  # type: ignore[no-untyped-def]
    """Perfect-subtree hashes (level, index) as the audit log stores them, computed from scratch."""

    @cache
    def node(level: int, idx: int) -> bytes:
        width = 1 << level
        assert (idx + 1) * width <= len(leaves), (level, idx)
        return mth(leaves[idx * width:(idx + 1) * width])

    return node


LEAVES = tuple(leaf_hash(f"event {i}".encode()) for i in range(MAX + 1))
NODE = lookup_for(LEAVES)


def test_rfc_6962_example_tree_of_seven() -> None:
    """Section 2.1.3: PROOF(3, D[7]) = [c, d, g, l], PROOF(4, D[7]) = [l], PROOF(6, D[7]) = [i, j, k]."""
    d = LEAVES[:7]
    c, dd = d[2], d[3]
    g, i, j = node_hash(d[0], d[1]), node_hash(d[4], d[5]), d[6]
    k, lh = node_hash(g, node_hash(c, dd)), node_hash(i, j)
    assert consistency_proof(3, 7, NODE) == [c, dd, g, lh]
    assert consistency_proof(4, 7, NODE) == [lh]
    assert consistency_proof(6, 7, NODE) == [i, j, k]
    for m in (3, 4, 6):
        assert verify_consistency(m, 7, mth(d[:m]), mth(d), consistency_proof(m, 7, NODE))


def test_every_pair_of_sizes_up_to_70_matches_the_rfc_and_verifies() -> None:
    for n in range(MAX + 1):
        new_root = mth(LEAVES[:n])
        for m in range(n + 1):
            proof = consistency_proof(m, n, NODE)
            assert proof == (reference_proof(m, LEAVES[:n]) if 0 < m < n else []), (m, n)
            assert verify_consistency(m, n, mth(LEAVES[:m]), new_root, proof), (m, n)
            if 0 < m < n:  # a proof for these sizes does not pass for neighbouring new sizes
                assert not verify_consistency(m, n, mth(LEAVES[:m]), mth(LEAVES[:n + 1]), proof), (m, n)
                assert not verify_consistency(m, n + 1, mth(LEAVES[:m]), mth(LEAVES[:n + 1]), proof), (m, n)


def test_edge_cases() -> None:
    empty = hashlib.sha256(b"").digest()
    r5 = mth(LEAVES[:5])
    assert verify_consistency(0, 5, empty, r5, [])  # everything extends the empty log
    assert not verify_consistency(0, 5, r5, r5, [])  # but not when "size 0" claims another root
    assert not verify_consistency(0, 5, empty, r5, [r5])
    assert verify_consistency(5, 5, r5, r5, [])
    assert not verify_consistency(5, 5, r5, mth(LEAVES[:6]), [])  # same size, different root: a fork
    assert not verify_consistency(6, 5, mth(LEAVES[:6]), r5, [])  # shrinking is never consistent
    assert not verify_consistency(3, 5, mth(LEAVES[:3]), r5, [])  # 0 < m < n needs a proof
    with pytest.raises(ValueError, match="old_size <= new_size"):
        consistency_proof(6, 5, NODE)


@st.composite
def logs(draw: st.DrawFn) -> tuple[tuple[bytes, ...], int, int]:
    n = draw(st.integers(min_value=2, max_value=MAX))
    m = draw(st.integers(min_value=1, max_value=n - 1))
    seed = draw(st.binary(min_size=1, max_size=8))
    return tuple(leaf_hash(seed + i.to_bytes(2, "big")) for i in range(n)), m, n


@settings(max_examples=300, deadline=None)
@given(log=logs(), data=st.data())
def test_honest_logs_verify_and_every_tampering_fails(log: tuple[tuple[bytes, ...], int, int], data: st.DataObject) -> None:
    leaves, m, n = log
    node = lookup_for(leaves)
    old_root, new_root = mth(leaves[:m]), mth(leaves)
    proof = consistency_proof(m, n, node)
    assert proof == reference_proof(m, leaves)
    assert verify_consistency(m, n, old_root, new_root, proof)

    # a fork: one old event rewritten, the new tree recomputed consistently by whoever rewrote it
    at = data.draw(st.integers(min_value=0, max_value=m - 1), label="rewritten leaf")
    forked = leaves[:at] + (leaf_hash(b"mallory" + leaves[at]),) + leaves[at + 1:]
    forked_proof = consistency_proof(m, n, lookup_for(forked))
    assert not verify_consistency(m, n, old_root, mth(forked), forked_proof)
    assert not verify_consistency(m, n, old_root, mth(forked), proof)

    # a tampered, shortened or lengthened proof
    pos = data.draw(st.integers(min_value=0, max_value=len(proof) - 1), label="tampered element")
    bad = list(proof)
    bad[pos] = bytes([bad[pos][0] ^ 1]) + bad[pos][1:]
    assert not verify_consistency(m, n, old_root, new_root, bad)
    assert not verify_consistency(m, n, old_root, new_root, proof[:-1])
    assert not verify_consistency(m, n, old_root, new_root, [*proof, proof[-1]])
    # a truncated log: the new head claims fewer events than were proven
    assert not verify_consistency(m, n, old_root, mth(leaves[:n - 1]), proof)
