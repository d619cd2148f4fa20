// Activation and selection kernels of the SAE step (Device.topk, reluSparse, reluDense, recordFires,
// recordFiresDense, reluDenseFires, batchTopk, jumpReluSparse, jumpReluDense, gatedSparse, gatedDense).
// Launched by dev.saetrain.device.cuda.CudaActivationOps; each kernel's parameter list matches its KernelSpec
// there. Layouts are Device's: pre [batch, nLatents] row-major fp32; CSR rows (rowPtr, idx, val).
// Every index that multiplies two dimensions is 64-bit. Reductions and the block scan: common.cuh.

#include <stdint.h>

#include "common.cuh"

// ---------------------------------------------------------------------------------------------- helpers

// Float -> uint32 key whose unsigned order is the float order (-inf < ... < -0 < +0 < ... < +inf).
static __device__ __forceinline__ unsigned int order_key(float v) {
    unsigned int u = __float_as_uint(v);
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

// Adds 1 to hist[digit] for every lane of the warp with digit != 0xffffffff, one atomic per distinct digit (the
// warp's lanes with equal digits are counted together). Every lane of the warp must call it.
static __device__ __forceinline__ void add_digit(unsigned int* hist, unsigned int digit) {
    const unsigned int same = __match_any_sync(FULL_MASK, digit);
    const int lane = threadIdx.x & 31;
    if (digit != 0xffffffffu && lane == __ffs(same) - 1) {
        atomicAdd(&hist[digit], (unsigned int)__popc(same));
    }
}

// Ordered compaction inside one block: every thread of the block calls it with its predicate (threads past the
// end pass false). Returns the thread's exclusive rank among the true predicates, in thread order, and the
// block's count in *total. warp_sums: __shared__ int[33]. blockDim.x must be a multiple of 32.
static __device__ __forceinline__ int block_rank(bool pred, int* warp_sums, int* total) {
    const int lane = threadIdx.x & 31;
    const int warp = threadIdx.x >> 5;
    const int warps = blockDim.x >> 5;
    unsigned int ballot = __ballot_sync(FULL_MASK, pred);
    int rank = __popc(ballot & ((1u << lane) - 1u));
    if (lane == 0) {
        warp_sums[warp] = __popc(ballot);
    }
    __syncthreads();
    if (threadIdx.x == 0) {
        int run = 0;
        for (int w = 0; w < warps; w++) {
            int c = warp_sums[w];
            warp_sums[w] = run;
            run += c;
        }
        warp_sums[32] = run;
    }
    __syncthreads();
    rank += warp_sums[warp];
    *total = warp_sums[32];
    __syncthreads();
    return rank;
}

// ---------------------------------------------------------------------------------------------- TopK

// Radix digits of a 32-bit key in three passes of 11, 11 and 10 bits (TopK's per-row select and BatchTopK's
// batch-wide one): pass p's digit of key, and whether key matches the prefix found by the earlier passes.
static __device__ __forceinline__ int radix_digit(unsigned int key, int pass) {
    return pass == 0 ? (int)(key >> 21) : pass == 1 ? (int)((key >> 10) & 2047u) : (int)(key & 1023u);
}

static __device__ __forceinline__ bool radix_match(unsigned int key, unsigned int prefix, int pass) {
    return pass == 0 ? true : pass == 1 ? (key >> 21) == (prefix >> 21) : (key >> 10) == (prefix >> 10);
}

// TopK's key of one entry: the order key of its value for a candidate (raised to at least 1: order_key is 0 only
// for the negative NaN 0xffffffff, which then ties with 0xfffffffe), 0 for a latent the dead filter excludes.
static __device__ __forceinline__ unsigned int topk_key(float v, bool candidate) {
    const unsigned int key = order_key(v);
    return candidate ? (key > 1u ? key : 1u) : 0u;
}

// The value of a candidate's key, ReLU'd (order_key's inverse; NaN, including the raised one, gives 0).
static __device__ __forceinline__ float topk_value(unsigned int key) {
    const float v = __uint_as_float((key & 0x80000000u) ? (key & 0x7fffffffu) : ~key);
    return v > 0.0f ? v : 0.0f;
}

// Inclusive sum over the lanes of a warp up to and including this lane (__shfl_up_sync ladder).
static __device__ __forceinline__ unsigned int warp_inclusive_scan(unsigned int v) {
    const int lane = threadIdx.x & 31;
    for (int o = 1; o < 32; o <<= 1) {
        const unsigned int y = __shfl_up_sync(FULL_MASK, v, o);
        if (lane >= o) {
            v += y;
        }
    }
    return v;
}

// Finds, block-parallel, the digit d of hist[0, bins) that holds rank `remaining` counted from the top:
// sum(hist[d + 1 ..]) < remaining <= sum(hist[d ..]). Writes d to *s_digit and sum(hist[d + 1 ..]) to *s_above
// (left as they were when the histogram holds fewer than `remaining`, which the callers' candidate count rules
// out). Thread t sums a run of bins from the top, then a block scan of those sums tells the one thread whose run
// crosses the rank. warp_tot: __shared__ unsigned int[32]. Every thread calls it; ends with a barrier.
static __device__ __forceinline__ void radix_pick(const unsigned int* hist, int bins, unsigned int remaining,
                                                  unsigned int* warp_tot, unsigned int* s_digit,
                                                  unsigned int* s_above) {
    const int lane = threadIdx.x & 31;
    const int warp = threadIdx.x >> 5;
    const int warps = blockDim.x >> 5;
    const int per = (bins + (int)blockDim.x - 1) / (int)blockDim.x;
    const int hi = bins - 1 - (int)threadIdx.x * per;  // this thread's bins: hi down to lo (none when hi < 0)
    const int lo = hi - per + 1 > 0 ? hi - per + 1 : 0;
    unsigned int s = 0;
    for (int d = hi; d >= lo; d--) {
        s += hist[d];
    }
    const unsigned int incl = warp_inclusive_scan(s);
    if (lane == 31) {
        warp_tot[warp] = incl;
    }
    __syncthreads();
    if (warp == 0) {
        const unsigned int w = lane < warps ? warp_tot[lane] : 0u;
        const unsigned int wi = warp_inclusive_scan(w);
        if (lane < warps) {
            warp_tot[lane] = wi - w;  // the bins above warp `lane`'s runs
        }
    }
    __syncthreads();
    const unsigned int before = warp_tot[warp] + incl - s;  // the bins above this thread's run
    if (s > 0 && before < remaining && remaining <= before + s) {
        unsigned int above = before;
        int d = hi;
        while (above + hist[d] < remaining) {
            above += hist[d];
            d--;
        }
        *s_digit = (unsigned int)d;
        *s_above = above;
    }
    __syncthreads();
}

#define TOPK_BINS 2048
#define TOPK_UNROLL 4

// Device.topk (Gao et al. 2024): one block per row. The k-th largest candidate key t is found by a radix select
// (three passes of 11, 11 and 10 bits, histogram in shared memory, no sort); then the row's entries with key > t
// and its lowest-index entries with key == t, as many as are needed, are written to the row's k slots in
// increasing latent order (the reference's pick, stable sort by value). Values are ReLU'd. Candidates: lastFired ==
// null or lastFired[i] <= deadBefore (AuxK's dead filter); the caller guarantees >= k candidates. rowPtr[b] = b * k.
//
// With keys_in_shared != 0 the row's keys are read from global memory once (float4 where the row is 16-byte
// aligned) into dynamic shared memory, which must hold (n_latents + 6) & ~3 words (GridMath.topkSharedBytes): the
// keys at offset pad = (4 - head) % 4, where head is the row's entries before its first 16-byte boundary, so that
// the aligned body lines up with uint4 reads, and 0 (no candidate) in the pad and tail words. The first histogram is taken
// during that load; the other passes read shared memory. With keys_in_shared == 0 (rows wider than shared memory)
// every pass reads the row from global memory. Block: a multiple of 32 threads, at most 1024 (the launch bound keeps
// the registers within what 1024 threads may hold, whatever the driver's JIT would choose).
extern "C" __global__ void __launch_bounds__(1024, 1)
    topk_select(const float* __restrict__ pre, int batch, int n_latents, int k, const int* __restrict__ last_fired,
                int dead_before, int keys_in_shared, int* __restrict__ row_ptr, int* __restrict__ idx,
                float* __restrict__ val) {
    DYNAMIC_SHARED(unsigned int, keys);
    __shared__ unsigned int hist[TOPK_BINS];
    __shared__ unsigned int warp_tot[32];
    __shared__ unsigned int warp_gt[32];
    __shared__ unsigned int warp_eq[32];
    __shared__ unsigned int s_digit;
    __shared__ unsigned int s_above;
    const int b = blockIdx.x;
    if (b >= batch) {
        return;
    }
    if (threadIdx.x == 0) {
        row_ptr[b] = b * k;
        if (b == batch - 1) {
            row_ptr[batch] = batch * k;
        }
    }
    if (k <= 0) {
        return;
    }
    const float* row = pre + (size_t)b * n_latents;
    const bool shared = keys_in_shared != 0;
    // Shared layout (see above): latent i at word i + pad; len words in all, a multiple of 4.
    int head = (int)(((16u - ((unsigned int)(uintptr_t)row & 15u)) & 15u) >> 2);
    head = head < n_latents ? head : n_latents;
    const int pad = shared ? (4 - head) & 3 : 0;
    const int len = shared ? (n_latents + pad + 3) & ~3 : n_latents;
    auto candidate = [&](int i) { return last_fired == nullptr || last_fired[i] <= dead_before; };
    // The key of word j of the row (latent j - pad), 0 past the row.
    auto key_at = [&](int j) -> unsigned int {
        if (shared) {
            return keys[j];
        }
        return j < n_latents ? topk_key(row[j], candidate(j)) : 0u;
    };

    if (threadIdx.x == 0) {
        s_digit = 0;  // stays 0 only if the candidates fall short of k, which the caller rules out
        s_above = 0;
    }
    unsigned int prefix = 0;
    unsigned int remaining = (unsigned int)k;
    for (int pass = 0; pass < 3; pass++) {
        const int bins = pass == 2 ? 1024 : 2048;
        for (int d = threadIdx.x; d < bins; d += blockDim.x) {
            hist[d] = 0;
        }
        __syncthreads();
        auto count = [&](unsigned int key) {
            if (key != 0u && radix_match(key, prefix, pass)) {
                atomicAdd(&hist[radix_digit(key, pass)], 1u);
            }
        };
        if (shared && pass == 0) {
            // Load the row into shared memory as keys, counting the first digit on the way.
            if ((int)threadIdx.x < pad) {
                keys[threadIdx.x] = 0u;
            }
            for (int i = threadIdx.x; i < head; i += blockDim.x) {
                const unsigned int key = topk_key(row[i], candidate(i));
                keys[i + pad] = key;
                count(key);
            }
            const int body = (n_latents - head) >> 2;  // float4s
            const float4* row4 = reinterpret_cast<const float4*>(row + head);
            uint4* keys4 = reinterpret_cast<uint4*>(keys + head + pad);
            // TOPK_UNROLL float4 loads in flight per thread before their keys are stored and counted.
            for (int q0 = threadIdx.x; q0 < body; q0 += TOPK_UNROLL * blockDim.x) {
                float4 v[TOPK_UNROLL];
#pragma unroll
                for (int u = 0; u < TOPK_UNROLL; u++) {
                    const int q = q0 + u * (int)blockDim.x;
                    if (q < body) {
                        v[u] = row4[q];
                    }
                }
#pragma unroll
                for (int u = 0; u < TOPK_UNROLL; u++) {
                    const int q = q0 + u * (int)blockDim.x;
                    if (q < body) {
                        const int i = head + 4 * q;
                        uint4 key;
                        key.x = topk_key(v[u].x, candidate(i));
                        key.y = topk_key(v[u].y, candidate(i + 1));
                        key.z = topk_key(v[u].z, candidate(i + 2));
                        key.w = topk_key(v[u].w, candidate(i + 3));
                        keys4[q] = key;
                        count(key.x);
                        count(key.y);
                        count(key.z);
                        count(key.w);
                    }
                }
            }
            for (int i = head + 4 * body + threadIdx.x; i < n_latents; i += blockDim.x) {
                const unsigned int key = topk_key(row[i], candidate(i));
                keys[i + pad] = key;
                count(key);
            }
            for (int j = n_latents + pad + threadIdx.x; j < len; j += blockDim.x) {
                keys[j] = 0u;
            }
        } else if (shared) {
            const uint4* keys4 = reinterpret_cast<const uint4*>(keys);
            for (int q = threadIdx.x; q < (len >> 2); q += blockDim.x) {
                const uint4 key = keys4[q];
                count(key.x);
                count(key.y);
                count(key.z);
                count(key.w);
            }
        } else {
            for (int j = threadIdx.x; j < len; j += blockDim.x) {
                count(key_at(j));
            }
        }
        __syncthreads();
        radix_pick(hist, bins, remaining, warp_tot, &s_digit, &s_above);
        const int shift = pass == 0 ? 21 : pass == 1 ? 10 : 0;
        prefix |= s_digit << shift;
        remaining -= s_above;
    }
    const unsigned int t = prefix;            // the k-th largest candidate key
    const unsigned int need_ties = remaining;  // entries equal to t that are kept: the first ones in latent order

    // Ordered output: warp w owns the words [w * seg, (w + 1) * seg) and reads them 32 at a time. First each warp
    // counts its entries above t and equal to t, then a scan over the warps gives each its first slot and the ties
    // before it, then each warp writes its picks in word order.
    const int lane = threadIdx.x & 31;
    const int warp = threadIdx.x >> 5;
    const int warps = blockDim.x >> 5;
    const int seg = ((len + warps - 1) / warps + 31) & ~31;
    const int lo = warp * seg < len ? warp * seg : len;
    const int hi = lo + seg < len ? lo + seg : len;
    const unsigned int lanes_below = (1u << lane) - 1u;
    unsigned int gt = 0;
    unsigned int eq = 0;
    for (int j0 = lo; j0 < hi; j0 += 32) {
        const int j = j0 + lane;
        const unsigned int key = j < hi ? key_at(j) : 0u;
        gt += __popc(__ballot_sync(FULL_MASK, key != 0u && key > t));
        eq += __popc(__ballot_sync(FULL_MASK, key != 0u && key == t));
    }
    if (lane == 0) {
        warp_gt[warp] = gt;
        warp_eq[warp] = eq;
    }
    __syncthreads();
    if (threadIdx.x == 0) {
        unsigned int out = 0;
        unsigned int ties = 0;
        for (int w = 0; w < warps; w++) {
            const unsigned int g = warp_gt[w];
            const unsigned int e = warp_eq[w];
            const unsigned int left = need_ties > ties ? need_ties - ties : 0u;
            warp_gt[w] = out;
            warp_eq[w] = ties;
            out += g + (e < left ? e : left);
            ties += e;
        }
    }
    __syncthreads();
    unsigned int out = warp_gt[warp];
    unsigned int ties = warp_eq[warp];
    int* out_idx = idx + (size_t)b * k;
    float* out_val = val + (size_t)b * k;
    for (int j0 = lo; j0 < hi; j0 += 32) {
        const int j = j0 + lane;
        const unsigned int key = j < hi ? key_at(j) : 0u;
        const bool is_eq = key != 0u && key == t;
        const unsigned int eq_mask = __ballot_sync(FULL_MASK, is_eq);
        const bool take = (key != 0u && key > t) || (is_eq && ties + __popc(eq_mask & lanes_below) < need_ties);
        const unsigned int take_mask = __ballot_sync(FULL_MASK, take);
        if (take) {
            const unsigned int pos = out + __popc(take_mask & lanes_below);
            if (pos < (unsigned int)k) {
                out_idx[pos] = j - pad;
                out_val[pos] = topk_value(key);
            }
        }
        out += __popc(take_mask);
        ties += __popc(eq_mask);
    }
}

// The number of latents with lastFired[i] <= deadBefore, added to *count (zeroed by the caller): TopK's check
// that the dead filter leaves at least k candidates.
extern "C" __global__ void topk_count_candidates(const int* __restrict__ last_fired, int n_latents, int dead_before,
                                                 unsigned long long* __restrict__ count) {
    __shared__ unsigned long long scratch[32];
    unsigned long long c = 0;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n_latents;
         i += (long long)gridDim.x * blockDim.x) {
        c += last_fired[i] <= dead_before ? 1 : 0;
    }
    c = block_sum(c, scratch);
    if (threadIdx.x == 0 && c != 0) {
        atomicAdd(count, c);
    }
}

// ---------------------------------------------------------------------------------------------- compaction

// Per-row count of the entries with pre > threshold[i] (> 0 when threshold is null): one block per row.
extern "C" __global__ void compact_count(const float* __restrict__ pre, const float* __restrict__ threshold,
                                         int batch, int n_latents, int* __restrict__ row_count) {
    __shared__ unsigned long long scratch[32];
    const int b = blockIdx.x;
    if (b >= batch) {
        return;
    }
    const float* row = pre + (size_t)b * n_latents;
    unsigned long long c = 0;
    for (int i = threadIdx.x; i < n_latents; i += blockDim.x) {
        c += row[i] > (threshold == nullptr ? 0.0f : threshold[i]) ? 1 : 0;
    }
    c = block_sum(c, scratch);
    if (threadIdx.x == 0) {
        row_count[b] = (int)c;
    }
}

// CSR row pointers from per-row counts, one block: rowPtr[0] = 0, rowPtr[b + 1] = counts[0..b] summed (pointers
// past 2^31 - 1 saturate; the host refuses such totals), *total = the sum as a 64-bit count.
extern "C" __global__ void row_ptr_scan(const int* __restrict__ row_count, int batch, int* __restrict__ row_ptr,
                                        long long* __restrict__ total) {
    __shared__ long long scratch[1025];
    long long sum = block_scan(
        (long long)batch, [&](long long i) { return (long long)row_count[i]; },
        [&](long long i, long long prefix) {
            long long end = prefix + row_count[i];
            row_ptr[i + 1] = end > 2147483647LL ? 2147483647 : (int)end;
        },
        scratch);
    if (threadIdx.x == 0) {
        row_ptr[0] = 0;
        *total = sum;
    }
}

// Fills CSR rows with the entries pre > threshold[i] (> 0 when threshold is null), latents in increasing order,
// values as they are: one block per row, ordered block compaction chunk by chunk.
extern "C" __global__ void compact_fill(const float* __restrict__ pre, const float* __restrict__ threshold,
                                        int batch, int n_latents, const int* __restrict__ row_ptr,
                                        int* __restrict__ idx, float* __restrict__ val) {
    __shared__ int warp_sums[33];
    const int b = blockIdx.x;
    if (b >= batch) {
        return;
    }
    const float* row = pre + (size_t)b * n_latents;
    long long base = row_ptr[b];
    for (int start = 0; start < n_latents; start += blockDim.x) {
        const int i = start + threadIdx.x;
        float v = 0.0f;
        bool keep = false;
        if (i < n_latents) {
            v = row[i];
            keep = v > (threshold == nullptr ? 0.0f : threshold[i]);
        }
        int total;
        int rank = block_rank(keep, warp_sums, &total);
        if (keep) {
            idx[base + rank] = i;
            val[base + rank] = v;
        }
        base += total;
    }
}

// Gated (Rajamanoharan et al. 2024) on the compacted open gates: entry e holds pi_gate = pre > 0 in val; moves it
// to gateVal and writes f = relu(pi_mag) into val, pi_mag = magScale_i (pre - bGate_i) + bMag_i in double, rounded
// once (no contraction: the same rounding as the Java reference). Adds the entries with f > 0 to *fired.
extern "C" __global__ void gated_fill(const int* __restrict__ idx, float* __restrict__ val,
                                      const long long* __restrict__ total, const float* __restrict__ b_gate,
                                      const float* __restrict__ b_mag, const float* __restrict__ mag_scale,
                                      float* __restrict__ gate_val, int* __restrict__ fired) {
    __shared__ unsigned long long scratch[32];
    const long long n = *total;
    unsigned long long on = 0;
    for (long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x; e < n; e += (long long)gridDim.x * blockDim.x) {
        const int i = idx[e];
        const float gate = val[e];
        double m = __dadd_rn(__dmul_rn((double)mag_scale[i], __dsub_rn((double)gate, (double)b_gate[i])),
                             (double)b_mag[i]);
        float f = (float)m;
        f = f > 0.0f ? f : 0.0f;
        gate_val[e] = gate;
        val[e] = f;
        on += f > 0.0f ? 1 : 0;
    }
    on = block_sum(on, scratch);
    if (threadIdx.x == 0 && on != 0) {
        atomicAdd(fired, (int)on);
    }
}

// gateSums[i] = sum over rows of relu(pre[b, i]), in double in row order (one thread per latent; the sums of the
// Java reference exactly, up to the final rounding).
extern "C" __global__ void gate_sums(const float* __restrict__ pre, int batch, int n_latents,
                                     float* __restrict__ gate_sums) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n_latents) {
        return;
    }
    double s = 0.0;
    for (int b = 0; b < batch; b++) {
        float v = pre[(size_t)b * n_latents + i];
        if (v > 0.0f) {
            s += v;
        }
    }
    gate_sums[i] = (float)s;
}

// ---------------------------------------------------------------------------------------------- dense forms

// Column pass over f [batch, nLatents], one thread per latent, rows in order: with relu != 0 the entries <= 0 are
// zeroed in place. For the entries > 0: counts[i] += their number and lastFired[i] = step (when counts is not
// null), actSums[i] = their sum in double (when actSums is not null, overwritten). Adds the number of entries
// > 0 to *positives. Serves reluDense, recordFiresDense and reluDenseFires.
extern "C" __global__ void dense_fires(float* __restrict__ f, int batch, int n_latents, int relu,
                                       int* __restrict__ counts, int* __restrict__ last_fired, int step,
                                       float* __restrict__ act_sums, unsigned long long* __restrict__ positives) {
    __shared__ unsigned long long scratch[32];
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    unsigned long long c = 0;
    if (i < n_latents) {
        double s = 0.0;
        for (int b = 0; b < batch; b++) {
            const size_t q = (size_t)b * n_latents + i;
            float v = f[q];
            if (v > 0.0f) {
                c++;
                s += v;
            } else if (relu != 0) {
                f[q] = 0.0f;
            }
        }
        if (counts != nullptr && c > 0) {
            counts[i] += (int)c;
            last_fired[i] = step;
        }
        if (act_sums != nullptr) {
            act_sums[i] = (float)s;
        }
    }
    c = block_sum(c, scratch);
    if (threadIdx.x == 0 && c != 0) {
        atomicAdd(positives, c);
    }
}

// Device.recordFires on CSR activations: for entries with value > 0 (nnz = rowPtr[batch] read here),
// counts[i] += 1, lastFired[i] = step, actSums[i] += value (actSums zeroed by the caller, may be null).
extern "C" __global__ void record_fires(const int* __restrict__ row_ptr, const int* __restrict__ idx,
                                        const float* __restrict__ val, int batch, int* __restrict__ counts,
                                        int* __restrict__ last_fired, int step, float* __restrict__ act_sums) {
    const long long n = row_ptr[batch];
    for (long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x; e < n; e += (long long)gridDim.x * blockDim.x) {
        float v = val[e];
        if (v > 0.0f) {
            const int i = idx[e];
            atomicAdd(&counts[i], 1);
            last_fired[i] = step;
            if (act_sums != nullptr) {
                atomicAdd(&act_sums[i], v);
            }
        }
    }
}

// Device.jumpReluDense: f = pre where pre > threshold[i], else 0; adds the kept entries to *positives.
extern "C" __global__ void jump_relu_dense(const float* __restrict__ pre, const float* __restrict__ threshold,
                                           int batch, int n_latents, float* __restrict__ f,
                                           unsigned long long* __restrict__ positives) {
    __shared__ unsigned long long scratch[32];
    const long long n = (long long)batch * n_latents;
    unsigned long long c = 0;
    for (long long q = (long long)blockIdx.x * blockDim.x + threadIdx.x; q < n; q += (long long)gridDim.x * blockDim.x) {
        const int i = (int)(q % n_latents);
        float v = pre[q];
        bool on = v > threshold[i];
        f[q] = on ? v : 0.0f;
        c += on ? 1 : 0;
    }
    c = block_sum(c, scratch);
    if (threadIdx.x == 0 && c != 0) {
        atomicAdd(positives, c);
    }
}

// Device.gatedDense, one thread per latent, rows in order: f = 1[pre > 0] relu(pi_mag) (pi_mag in double,
// rounded once), pre = relu(pre) in place, gateSums[i] = sum of relu(pre) in double; adds the open gates to
// *open and the entries with f > 0 to *fired.
extern "C" __global__ void gated_dense(float* __restrict__ pre, const float* __restrict__ b_gate,
                                       const float* __restrict__ b_mag, const float* __restrict__ mag_scale,
                                       int batch, int n_latents, float* __restrict__ f,
                                       float* __restrict__ gate_sums, int* __restrict__ fired,
                                       unsigned long long* __restrict__ open) {
    __shared__ unsigned long long scratch[32];
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    unsigned long long opened = 0;
    unsigned long long on = 0;
    if (i < n_latents) {
        const double bg = b_gate[i];
        const double bm = b_mag[i];
        const double ms = mag_scale[i];
        double s = 0.0;
        for (int b = 0; b < batch; b++) {
            const size_t q = (size_t)b * n_latents + i;
            float v = pre[q];
            if (v > 0.0f) {
                float m = (float)__dadd_rn(__dmul_rn(ms, __dsub_rn((double)v, bg)), bm);
                m = m > 0.0f ? m : 0.0f;
                f[q] = m;
                s += v;
                opened++;
                on += m > 0.0f ? 1 : 0;
            } else {
                f[q] = 0.0f;
                pre[q] = 0.0f;
            }
        }
        gate_sums[i] = (float)s;
    }
    opened = block_sum(opened, scratch);
    on = block_sum(on, scratch);
    if (threadIdx.x == 0) {
        if (opened != 0) {
            atomicAdd(open, opened);
        }
        if (on != 0) {
            atomicAdd(fired, (int)on);
        }
    }
}

// ---------------------------------------------------------------------------------------------- BatchTopK

// BatchTopK (Bussmann, Leask and Nanda 2024): the r-th largest positive value of the batch is found by a radix
// select on the float bits (positive floats order like their bits) in three passes of 11, 11 and 10 bits, each a
// histogram (shared per block, then global) and a one-thread select; no sort. state (long long[4]):
// [0] r = min(kTotal, positives), [1] entries above the current bucket, [2] the key prefix found so far (after
// the last pass: the threshold key T; 0xffffffff when r == 0), [3] entries equal to T that are kept.

extern "C" __global__ void batch_topk_hist(const float* __restrict__ pre, long long n, int pass,
                                           const long long* __restrict__ state,
                                           unsigned long long* __restrict__ hist) {
    __shared__ unsigned int local[2048];
    for (int d = threadIdx.x; d < 2048; d += blockDim.x) {
        local[d] = 0;
    }
    __syncthreads();
    const unsigned int prefix = pass == 0 ? 0u : (unsigned int)state[2];
    const bool skip = pass > 0 && state[0] == 0;
    if (!skip) {
        // Block-uniform trip count, so warps can aggregate equal digits (see add_digit).
        for (long long base = (long long)blockIdx.x * blockDim.x; base < n; base += (long long)gridDim.x * blockDim.x) {
            const long long q = base + threadIdx.x;
            unsigned int digit = 0xffffffffu;
            if (q < n) {
                float v = pre[q];
                if (v > 0.0f) {
                    unsigned int key = __float_as_uint(v);
                    if (radix_match(key, prefix, pass)) {
                        digit = (unsigned int)radix_digit(key, pass);
                    }
                }
            }
            add_digit(local, digit);
        }
    }
    __syncthreads();
    for (int d = threadIdx.x; d < 2048; d += blockDim.x) {
        if (local[d] != 0) {
            atomicAdd(&hist[d], (unsigned long long)local[d]);
        }
    }
}

// One thread: picks pass p's bucket holding rank r from the top; after the last pass writes T and minKept.
extern "C" __global__ void batch_topk_select(const unsigned long long* __restrict__ hist, int pass, long long k_total,
                                             long long* __restrict__ state, float* __restrict__ min_kept) {
    if (threadIdx.x != 0 || blockIdx.x != 0) {
        return;
    }
    if (pass == 0) {
        long long positives = 0;
        for (int d = 0; d < 2048; d++) {
            positives += (long long)hist[d];
        }
        long long r = k_total < positives ? k_total : positives;
        state[0] = r;
        state[1] = 0;
        state[3] = 0;
        if (r <= 0) {
            state[2] = 0xffffffffLL;
            min_kept[0] = 0.0f;
            return;
        }
        state[2] = 0;
    }
    const long long r = state[0];
    if (r <= 0) {
        return;
    }
    long long above = state[1];
    const int top = pass == 2 ? 1023 : 2047;
    int d = top;
    while (d > 0 && above + (long long)hist[d] < r) {
        above += (long long)hist[d];
        d--;
    }
    const int shift = pass == 0 ? 21 : pass == 1 ? 10 : 0;
    const unsigned int prefix = (unsigned int)state[2] | ((unsigned int)d << shift);
    state[1] = above;
    state[2] = prefix;
    if (pass == 2) {
        state[3] = r - above;
        min_kept[0] = __uint_as_float(prefix);
    }
}

// batchTopk's row passes, over the positive values of one row held at vals[lo, hi) (a dense row of pre, or a row of
// candidates), every thread of the block calling. count_vs_threshold: how many are above T (as bits) and how many
// equal to it, written by thread 0 to *gt_out and *eq_out.
static __device__ __forceinline__ void count_vs_threshold(const float* __restrict__ vals, int lo, int hi,
                                                          unsigned int t, unsigned long long* scratch,
                                                          int* __restrict__ gt_out, int* __restrict__ eq_out) {
    unsigned long long g = 0;
    unsigned long long e = 0;
    for (int q = lo + threadIdx.x; q < hi; q += blockDim.x) {
        float v = vals[q];
        if (v > 0.0f) {
            unsigned int key = __float_as_uint(v);
            g += key > t ? 1 : 0;
            e += key == t ? 1 : 0;
        }
    }
    g = block_sum(g, scratch);
    e = block_sum(e, scratch);
    if (threadIdx.x == 0) {
        *gt_out = (int)g;
        *eq_out = (int)e;
    }
}

// fill_kept: writes the row's values above T and its first `ties` equal to T, in position order, from idx/val[base]
// (latent_of(q): the latent of position q). Ordered block compaction.
template <typename LatentOf>
static __device__ __forceinline__ void fill_kept(const float* __restrict__ vals, int lo, int hi, LatentOf latent_of,
                                                 unsigned int t, int ties, long long base, int* warp_sums,
                                                 int* __restrict__ idx, float* __restrict__ val) {
    int ties_before = 0;
    for (int start = lo; start < hi; start += blockDim.x) {
        const int q = start + threadIdx.x;
        float v = 0.0f;
        bool gt = false;
        bool eq = false;
        if (q < hi) {
            v = vals[q];
            if (v > 0.0f) {
                unsigned int key = __float_as_uint(v);
                gt = key > t;
                eq = key == t;
            }
        }
        int eq_total;
        int eq_rank = block_rank(eq, warp_sums, &eq_total);
        bool keep = gt || (eq && ties_before + eq_rank < ties);
        int total;
        int rank = block_rank(keep, warp_sums, &total);
        if (keep) {
            idx[base + rank] = latent_of(q);
            val[base + rank] = v;
        }
        base += total;
        ties_before += eq_total;
    }
}

// Per row: entries with key > T into gt[b], entries == T into eq[b] (positive entries only). One block per row.
extern "C" __global__ void batch_topk_row_counts(const float* __restrict__ pre, int batch, int n_latents,
                                                 const long long* __restrict__ state, int* __restrict__ gt,
                                                 int* __restrict__ eq) {
    __shared__ unsigned long long scratch[32];
    const int b = blockIdx.x;
    if (b >= batch) {
        return;
    }
    count_vs_threshold(pre + (size_t)b * n_latents, 0, n_latents, (unsigned int)state[2], scratch, gt + b, eq + b);
}

// One block: hands the kept ties out in row order (takeEq[b] = how many of row b's entries equal to T are kept,
// overwriting eq) and writes rowPtr from gt + takeEq.
extern "C" __global__ void batch_topk_row_ptr(const int* __restrict__ gt, int* __restrict__ eq, int batch,
                                              const long long* __restrict__ state, int* __restrict__ row_ptr) {
    __shared__ long long scratch[1025];
    const long long need = state[3];
    block_scan(
        (long long)batch, [&](long long b) { return (long long)eq[b]; },
        [&](long long b, long long before) {
            long long left = need - before;
            long long take = left < 0 ? 0 : left < eq[b] ? left : eq[b];
            eq[b] = (int)take;
        },
        scratch);
    __syncthreads();
    block_scan(
        (long long)batch, [&](long long b) { return (long long)gt[b] + eq[b]; },
        [&](long long b, long long prefix) { row_ptr[b + 1] = (int)(prefix + gt[b] + eq[b]); }, scratch);
    if (threadIdx.x == 0) {
        row_ptr[0] = 0;
    }
}

// Fills row b with its entries > T and its first takeEq[b] entries == T (row-major tie rule), latents in
// increasing order. One block per row, ordered block compaction.
extern "C" __global__ void batch_topk_fill(const float* __restrict__ pre, int batch, int n_latents,
                                           const long long* __restrict__ state, const int* __restrict__ row_ptr,
                                           const int* __restrict__ take_eq, int* __restrict__ idx,
                                           float* __restrict__ val) {
    __shared__ int warp_sums[33];
    const int b = blockIdx.x;
    if (b >= batch) {
        return;
    }
    fill_kept(pre + (size_t)b * n_latents, 0, n_latents, [](int i) { return i; }, (unsigned int)state[2], take_eq[b],
              row_ptr[b], warp_sums, idx, val);
}

// batchTopkMerge, over one block of candidates (CSR of rows rows, the batch's rows [first_row, first_row + rows)):
// batch_topk_row_counts over the block's entries instead of a dense row. One block per row.
extern "C" __global__ void batch_topk_merge_row_counts(const int* __restrict__ cand_row_ptr,
                                                       const float* __restrict__ cand_val, int rows, int first_row,
                                                       const long long* __restrict__ state, int* __restrict__ gt,
                                                       int* __restrict__ eq) {
    __shared__ unsigned long long scratch[32];
    const int b = blockIdx.x;
    if (b >= rows) {
        return;
    }
    count_vs_threshold(cand_val, cand_row_ptr[b], cand_row_ptr[b + 1], (unsigned int)state[2], scratch,
                       gt + first_row + b, eq + first_row + b);
}

// batchTopkMerge: batch_topk_fill over one block of candidates, row b of the block being the batch's row
// first_row + b; entries in the candidates' order. One block per row, ordered block compaction.
extern "C" __global__ void batch_topk_merge_fill(const int* __restrict__ cand_row_ptr, const int* __restrict__ cand_idx,
                                                 const float* __restrict__ cand_val, int rows, int first_row,
                                                 const long long* __restrict__ state, const int* __restrict__ row_ptr,
                                                 const int* __restrict__ take_eq, int* __restrict__ idx,
                                                 float* __restrict__ val) {
    __shared__ int warp_sums[33];
    const int b = blockIdx.x;
    if (b >= rows) {
        return;
    }
    fill_kept(cand_val, cand_row_ptr[b], cand_row_ptr[b + 1], [cand_idx](int q) { return cand_idx[q]; },
              (unsigned int)state[2], take_eq[first_row + b], row_ptr[first_row + b], warp_sums, idx, val);
}
