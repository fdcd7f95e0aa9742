"""RFC 6962 Merkle tree hashing: leaf = SHA-256(0x00 || data), node = SHA-256(0x01 || left || right).

Pure functions over hashes (bytes): roots, inclusion proofs (section 2.1.1) and consistency proofs (2.1.2).
`Frontier` computes the root of every prefix while streaming leaves, so verifying many checkpoints costs O(n)
in total, not O(n) per checkpoint.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def root(leaves: Sequence[bytes]) -> bytes:
    """MTH(D[n]) over leaf hashes."""
    if not leaves:
        return EMPTY_ROOT
    f = Frontier()
    for h in leaves:
        f.append(h)
    return f.root()


class Frontier:
    """The roots of the perfect subtrees covering the leaves so far (at most log2 n of them)."""

    def __init__(self) -> None:
        self.size = 0
        self.peaks: list[tuple[int, bytes]] = []  # (height, hash), left to right, strictly decreasing height

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """Add a leaf hash; return the perfect nodes completed as (level, index, hash), the leaf included."""
        index = self.size
        self.size += 1
        made = [(0, index, leaf)]
        height, h = 0, leaf
        while self.peaks and self.peaks[-1][0] == height:
            _, left = self.peaks.pop()
            h = node_hash(left, h)
            height += 1
            made.append((height, index >> height, h))
        self.peaks.append((height, h))
        return made

    def push(self, leaf: bytes) -> None:
        """`append` without reporting the completed nodes (fast path for verification)."""
        self.size += 1
        height, h = 0, leaf
        peaks = self.peaks
        while peaks and peaks[-1][0] == height:
            h = node_hash(peaks.pop()[1], h)
            height += 1
        peaks.append((height, h))

    def root(self) -> bytes:
        if not self.peaks:
            return EMPTY_ROOT
        h = self.peaks[-1][1]
        for _, left in reversed(self.peaks[:-1]):
            h = node_hash(left, h)
        return h


NodeLookup = Callable[[int, int], bytes]  # (level, index) -> hash of a perfect subtree


def subtree_root(start: int, end: int, node: NodeLookup) -> bytes:
    """MTH(D[start:end]) from perfect-subtree hashes; `start` must be aligned as in RFC 6962's recursion."""
    n = end - start
    if n & (n - 1) == 0 and start % n == 0:  # perfect and aligned: stored
        return node(n.bit_length() - 1, start // n)
    k = _split(n)
    return node_hash(subtree_root(start, start + k, node), subtree_root(start + k, end, node))


def inclusion_proof(index: int, size: int, node: NodeLookup) -> list[bytes]:
    """PATH(m, D[n]) of RFC 6962 section 2.1.1, leaf first."""
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is outside a tree of size {size}")
    path: list[bytes] = []
    start, end, m = 0, size, index
    while end - start > 1:
        k = _split(end - start)
        if m < k:
            path.append(subtree_root(start + k, end, node))
            end = start + k
        else:
            path.append(subtree_root(start, start + k, node))
            start, m = start + k, m - k
    path.reverse()
    return path


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes], expected_root: bytes) -> bool:
    """Check an inclusion proof (RFC 9162 section 2.1.3.2 algorithm)."""
    if not 0 <= index < size:
        return False
    fn, sn = index, size - 1
    r = leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == expected_root


def consistency_proof(old_size: int, new_size: int, node: NodeLookup) -> list[bytes]:
    """PROOF(m, D[n]) of RFC 6962 section 2.1.2: the hashes that show D[0:m] is a prefix of D[0:n].

    Empty when m == n or m == 0 (there is nothing to prove)."""
    if not 0 <= old_size <= new_size:
        raise ValueError(f"a consistency proof needs 0 <= old_size <= new_size, got {old_size} and {new_size}")
    if old_size in (0, new_size):
        return []
    return _subproof(old_size, 0, new_size, True, node)


def _subproof(m: int, start: int, end: int, whole: bool, node: NodeLookup) -> list[bytes]:
    """SUBPROOF(m, D[start:end], b): `whole` is b, true while D[start:start+m] is the old tree itself."""
    n = end - start
    if m == n:
        return [] if whole else [subtree_root(start, end, node)]
    k = _split(n)
    if m <= k:
        return [*_subproof(m, start, start + k, whole, node), subtree_root(start + k, end, node)]
    return [*_subproof(m - k, start + k, end, False, node), subtree_root(start, start + k, node)]


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """Check that the tree of `new_size` leaves with `new_root` extends the one of `old_size` with `old_root`
    (RFC 9162 section 2.1.4.2). Equal sizes need equal roots and an empty proof; every tree extends the empty
    one (whose root is SHA-256 of nothing)."""
    if old_size < 0 or new_size < old_size:
        return False
    if old_size == new_size:
        return not proof and old_root == new_root
    if old_size == 0:
        return not proof and old_root == EMPTY_ROOT
    if not proof:  # step 1
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # step 2: the old tree is a complete subtree, its root is the start
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1  # step 3
    while fn & 1:  # step 4
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]  # step 5
    for c in path[1:]:  # step 6
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == old_root and sr == new_root and sn == 0  # step 7
