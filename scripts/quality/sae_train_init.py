"""sae-train's initial decoder in numpy, bit for bit (src/main/java/dev/saetrain/model/SaeInit.java and Philox.java).

Row i of W_dec [m, d] is elements [i d, (i + 1) d) of Philox-4x32-10 stream 1 under the run's seed: block c gives
elements 4c .. 4c + 3 by Box-Muller on its outputs (0, 1) and (2, 3), each output u a uniform (u + 1) 2^-32, in double,
rounded to fp32; each row is then scaled to `norm` in double and rounded again. torch_quality.py --init sae-train starts
the peer from it, so that a peer run differs from ours in the data order alone.
"""
import numpy as np

_M0, _M1, _W0, _W1 = 0xD2511F53, 0xCD9E8D57, 0x9E3779B9, 0xBB67AE85
_MASK = 0xFFFFFFFF
STREAM_W_DEC = 1  # SaeInit.STREAM_W_DEC


def philox_blocks(seed, stream, counters):
    """The four 32-bit outputs (as uint64) of Philox-4x32-10 blocks `counters` of `stream` under `seed`: [n, 4]."""
    c = np.asarray(counters, dtype=np.uint64)
    c0, c1 = c & np.uint64(_MASK), c >> np.uint64(32)
    c2 = np.full_like(c0, stream & _MASK)
    c3 = np.full_like(c0, (stream >> 32) & _MASK)
    k0, k1 = seed & _MASK, (seed >> 32) & _MASK
    for _ in range(10):
        p0 = np.uint64(_M0) * c0
        p1 = np.uint64(_M1) * c2
        c0, c1, c2, c3 = ((p1 >> np.uint64(32)) ^ c1 ^ np.uint64(k0), p1 & np.uint64(_MASK),
                          (p0 >> np.uint64(32)) ^ c3 ^ np.uint64(k1), p0 & np.uint64(_MASK))
        k0, k1 = (k0 + _W0) & _MASK, (k1 + _W1) & _MASK
    return np.stack([c0, c1, c2, c3], axis=1)


def decoder(seed, m, d, norm):
    """sae-train's initial W_dec [m, d] (fp32) for `seed`, rows of norm `norm` (0.1 for relu, 1 for topk)."""
    n = m * d
    u = (philox_blocks(seed & 0xFFFFFFFFFFFFFFFF, STREAM_W_DEC, np.arange((n + 3) // 4)).astype(np.float64) + 1.0) \
        * 2.0 ** -32
    r01, t01 = np.sqrt(-2.0 * np.log(u[:, 0])), 2.0 * np.pi * u[:, 1]
    r23, t23 = np.sqrt(-2.0 * np.log(u[:, 2])), 2.0 * np.pi * u[:, 3]
    z = np.stack([r01 * np.cos(t01), r01 * np.sin(t01), r23 * np.cos(t23), r23 * np.sin(t23)], axis=1)
    z = z.reshape(-1)[:n].astype(np.float32).astype(np.float64).reshape(m, d)
    return (z * (norm / np.sqrt(np.einsum("ij,ij->i", z, z)))[:, None]).astype(np.float32)
