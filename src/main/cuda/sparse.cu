// Decode and backward kernels of the SAE step (Device.sparseDecode, denseDecode, sparseDecoderBackward,
// sparseEncoderBackward, denseBackward, jumpReluThresholdBackward, matryoshkaDecode, matryoshkaDecoderBackward,
// gatedSparseBackward, gatedDenseBackward). Launched by dev.saetrain.device.cuda.CudaActivationOps; each kernel's
// parameter list matches its KernelSpec there. Layouts are Device's (row-major fp32; CSR rowPtr/idx/val).
//
// The sparse backward is organised by latent: the active entries are bucketed by latent on the device (count per
// latent, scan, scatter: a counting sort), then one block owns one gradient row and writes it once, with no float
// atomics on the [nLatents, dIn] matrices. Every index that multiplies two dimensions is 64-bit.

#include <stdint.h>

#include "common.cuh"

// ---------------------------------------------------------------------------------------------- helpers

// The Matryoshka group of latent i: the first g with i < groupEnds[g] (binary search; groups is small).
static __device__ __forceinline__ int group_of(const int* __restrict__ group_ends, int groups, int i) {
    int lo = 0;
    int hi = groups - 1;
    while (lo < hi) {
        int mid = (lo + hi) >> 1;
        if (i < group_ends[mid]) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    return lo;
}

// ---------------------------------------------------------------------------------------------- decode

// Device.sparseDecode, one block per row: xHat_b = sum over the row's entries of val * wDec[idx] (+ bDec when
// not null), err_b = xHat_b - target_b; rowSse[b] = |err_b|^2 in double. Threads stride over dIn (coalesced rows
// of wDec); the row's few entries are read by every thread (broadcast loads).
#define DECODE_UNROLL 8

extern "C" __global__ void sparse_decode(const int* __restrict__ row_ptr, const int* __restrict__ idx,
                                         const float* __restrict__ val, const float* __restrict__ w_dec,
                                         const float* __restrict__ b_dec, const float* __restrict__ target,
                                         int batch, int d_in, float* __restrict__ x_hat, float* __restrict__ err,
                                         double* __restrict__ row_sse) {
    __shared__ double scratch[32];
    const int b = blockIdx.x;
    if (b >= batch) {
        return;
    }
    const int e0 = row_ptr[b];
    const int e1 = row_ptr[b + 1];
    const size_t o = (size_t)b * d_in;
    double sse = 0.0;
    for (int j = threadIdx.x; j < d_in; j += blockDim.x) {
        float acc = b_dec == nullptr ? 0.0f : b_dec[j];
        int e = e0;
        // DECODE_UNROLL entries' wDec values are loaded before any is added (loads in flight, not one at a time);
        // the sum still runs in entry order, skipping zero values, so it rounds as the one-at-a-time loop does.
        for (; e + DECODE_UNROLL <= e1; e += DECODE_UNROLL) {
            float v[DECODE_UNROLL];
            float w[DECODE_UNROLL];
#pragma unroll
            for (int u = 0; u < DECODE_UNROLL; u++) {
                v[u] = val[e + u];
                w[u] = v[u] != 0.0f ? w_dec[(size_t)idx[e + u] * d_in + j] : 0.0f;
            }
#pragma unroll
            for (int u = 0; u < DECODE_UNROLL; u++) {
                if (v[u] != 0.0f) {
                    acc += v[u] * w[u];
                }
            }
        }
        for (; e < e1; e++) {
            float v = val[e];
            if (v != 0.0f) {
                acc += v * w_dec[(size_t)idx[e] * d_in + j];
            }
        }
        float d = acc - target[o + j];
        x_hat[o + j] = acc;
        err[o + j] = d;
        sse += (double)d * d;
    }
    sse = block_sum(sse, scratch);
    if (threadIdx.x == 0) {
        row_sse[b] = sse;
    }
}

// out[c] = sum over r of in[r * cols + c], in row order (one thread per column): deterministic reductions of
// per-row or per-block partial sums.
extern "C" __global__ void sum_rows_double(const double* __restrict__ in, int rows, int cols, double* __restrict__ out) {
    const int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= cols) {
        return;
    }
    double s = 0.0;
    for (int r = 0; r < rows; r++) {
        s += in[(size_t)r * cols + c];
    }
    out[c] = s;
}

// out[b, j] = bias[j] for every row (xHat's starting value before the dense product adds f wDec).
extern "C" __global__ void broadcast_rows(const float* __restrict__ bias, int batch, int d_in, float* __restrict__ out) {
    const long long n = (long long)batch * d_in;
    for (long long q = (long long)blockIdx.x * blockDim.x + threadIdx.x; q < n; q += (long long)gridDim.x * blockDim.x) {
        out[q] = bias[q % d_in];
    }
}

// err = xHat - target over n elements; blockSse[blockIdx.x] = this block's sum of err^2 in double.
extern "C" __global__ void residual_sse(const float* __restrict__ x_hat, const float* __restrict__ target, long long n,
                                        float* __restrict__ err, double* __restrict__ block_sse) {
    __shared__ double scratch[32];
    double s = 0.0;
    for (long long q = (long long)blockIdx.x * blockDim.x + threadIdx.x; q < n; q += (long long)gridDim.x * blockDim.x) {
        float d = x_hat[q] - target[q];
        err[q] = d;
        s += (double)d * d;
    }
    s = block_sum(s, scratch);
    if (threadIdx.x == 0) {
        block_sse[blockIdx.x] = s;
    }
}

// Device.matryoshkaDecode, one block per row; each thread owns the columns j = threadIdx.x (mod blockDim) for
// every group, so the running prefix reconstruction lives in xHat without synchronisation. For each group g:
// xHat_b += the row's entries of group g; err_g = xHat_b - target_b goes into suffix slab g; rowSse[b, g] =
// |err_g|^2. Then, per column, suffix[g] = sum over h >= g of err_h (a running sum from the last group, in fp32
// like the CPU kernel) and err = err of the last group.
extern "C" __global__ void matryoshka_decode(const int* __restrict__ row_ptr, const int* __restrict__ idx,
                                             const float* __restrict__ val, const float* __restrict__ w_dec,
                                             const float* __restrict__ b_dec, const float* __restrict__ target,
                                             const int* __restrict__ group_ends, int groups, int batch, int d_in,
                                             float* __restrict__ x_hat, float* __restrict__ err,
                                             float* __restrict__ suffix, double* __restrict__ row_sse) {
    __shared__ double scratch[32];
    const int b = blockIdx.x;
    if (b >= batch) {
        return;
    }
    const int e0 = row_ptr[b];
    const int e1 = row_ptr[b + 1];
    const size_t o = (size_t)b * d_in;
    const size_t slab = (size_t)batch * d_in;
    for (int g = 0; g < groups; g++) {
        const int lo = g == 0 ? 0 : group_ends[g - 1];
        const int hi = group_ends[g];
        double sse = 0.0;
        for (int j = threadIdx.x; j < d_in; j += blockDim.x) {
            float acc = g == 0 ? b_dec[j] : x_hat[o + j];
            for (int e = e0; e < e1; e++) {
                const int i = idx[e];
                const float v = val[e];
                if (i >= lo && i < hi && v != 0.0f) {
                    acc += v * w_dec[(size_t)i * d_in + j];
                }
            }
            x_hat[o + j] = acc;
            float d = acc - target[o + j];
            suffix[g * slab + o + j] = d;
            sse += (double)d * d;
        }
        sse = block_sum(sse, scratch);
        if (threadIdx.x == 0) {
            row_sse[(size_t)b * groups + g] = sse;
        }
    }
    for (int j = threadIdx.x; j < d_in; j += blockDim.x) {
        err[o + j] = suffix[(size_t)(groups - 1) * slab + o + j];
        float run = 0.0f;
        for (int g = groups - 1; g >= 0; g--) {
            run += suffix[g * slab + o + j];
            suffix[g * slab + o + j] = run;
        }
    }
}

// ---------------------------------------------------------------------------------------------- latent index

// entryRow[e] = b for every entry of row b (one block per row).
extern "C" __global__ void entry_rows(const int* __restrict__ row_ptr, int batch, int* __restrict__ entry_row) {
    const int b = blockIdx.x;
    if (b >= batch) {
        return;
    }
    for (int e = row_ptr[b] + threadIdx.x; e < row_ptr[b + 1]; e += blockDim.x) {
        entry_row[e] = b;
    }
}

// latentCount[i] += the number of entries of latent i with value > 0 (latentCount zeroed by the caller).
extern "C" __global__ void latent_count(const int* __restrict__ row_ptr, const int* __restrict__ idx,
                                        const float* __restrict__ val, int batch, int* __restrict__ latent_count) {
    const long long n = row_ptr[batch];
    for (long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x; e < n; e += (long long)gridDim.x * blockDim.x) {
        if (val[e] > 0.0f) {
            atomicAdd(&latent_count[idx[e]], 1);
        }
    }
}

// latentStart[0..nLatents] = exclusive prefix sums of latentCount (one block; latentStart[nLatents] = total).
extern "C" __global__ void latent_start_scan(const int* __restrict__ latent_count, int n_latents,
                                             int* __restrict__ latent_start) {
    __shared__ long long scratch[1025];
    long long total = block_scan(
        (long long)n_latents, [&](long long i) { return (long long)latent_count[i]; },
        [&](long long i, long long prefix) { latent_start[i] = (int)prefix; }, scratch);
    if (threadIdx.x == 0) {
        latent_start[n_latents] = (int)total;
    }
}

// order[latentStart[i] + slot] = e for each entry e of latent i with value > 0 (latentFill zeroed by the caller).
extern "C" __global__ void latent_scatter(const int* __restrict__ row_ptr, const int* __restrict__ idx,
                                          const float* __restrict__ val, int batch,
                                          const int* __restrict__ latent_start, int* __restrict__ latent_fill,
                                          int* __restrict__ order) {
    const long long n = row_ptr[batch];
    for (long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x; e < n; e += (long long)gridDim.x * blockDim.x) {
        if (val[e] > 0.0f) {
            const int i = idx[e];
            const int slot = atomicAdd(&latent_fill[i], 1);
            order[latent_start[i] + slot] = (int)e;
        }
    }
}

// ---------------------------------------------------------------------------------------------- backward

// Per-entry gradient, one block per row, one warp per entry: grad[e] = scale * (src_b . wDec[i]) (+ l1[i] when
// not null), 0 where val[e] <= 0. src_b is row b of src, in slab group(i) when groupEnds is not null (Matryoshka:
// src = residSuffix [groups, batch, dIn], slab = batch * dIn), else slab 0.
extern "C" __global__ void entry_grad(const int* __restrict__ row_ptr, const int* __restrict__ idx,
                                      const float* __restrict__ val, int batch, const float* __restrict__ src,
                                      int d_in, const int* __restrict__ group_ends, int groups, long long slab,
                                      const float* __restrict__ w_dec, float scale, const float* __restrict__ l1,
                                      float* __restrict__ grad) {
    const int b = blockIdx.x;
    if (b >= batch) {
        return;
    }
    const int lane = threadIdx.x & 31;
    const int warp = threadIdx.x >> 5;
    const int warps = blockDim.x >> 5;
    const int e1 = row_ptr[b + 1];
    for (int e = row_ptr[b] + warp; e < e1; e += warps) {
        const float v = val[e];
        if (v <= 0.0f) {
            if (lane == 0) {
                grad[e] = 0.0f;
            }
            continue;
        }
        const int i = idx[e];
        const size_t so = (group_ends == nullptr ? 0 : (size_t)group_of(group_ends, groups, i) * slab) + (size_t)b * d_in;
        const float* s = src + so;
        const float* w = w_dec + (size_t)i * d_in;
        float dot = 0.0f;
        for (int j = lane; j < d_in; j += 32) {
            dot += s[j] * w[j];
        }
        dot = warp_sum(dot);
        if (lane == 0) {
            grad[e] = scale * dot + (l1 == nullptr ? 0.0f : l1[i]);
        }
    }
}

// One block per latent i with entries (latentStart[i] < latentStart[i + 1]): dst[i] (+)= sum over its entries e
// of (scale * coef[e]) * src row entryRow[e] (slab group(i) when groupEnds is not null). The row starts from 0
// when rowActive[i] == 0 (Device's row-sparse contract), then its flag is set. biasOut (may be null):
// biasOut[i] += sum of scale * coef[e] in double. Each gradient row is written once, by one block.
extern "C" __global__ void latent_accumulate(const int* __restrict__ latent_start, const int* __restrict__ order,
                                             const int* __restrict__ entry_row, const float* __restrict__ coef,
                                             float scale, const float* __restrict__ src, int d_in, int n_latents,
                                             const int* __restrict__ group_ends, int groups, long long slab,
                                             float* __restrict__ dst, int* __restrict__ row_active,
                                             float* __restrict__ bias_out) {
    const int i = blockIdx.x;
    if (i >= n_latents) {
        return;
    }
    const int q0 = latent_start[i];
    const int q1 = latent_start[i + 1];
    if (q0 == q1) {
        return;
    }
    const int active = row_active[i];
    __syncthreads();
    const size_t go = group_ends == nullptr ? 0 : (size_t)group_of(group_ends, groups, i) * slab;
    float* out = dst + (size_t)i * d_in;
    for (int j = threadIdx.x; j < d_in; j += blockDim.x) {
        float acc = active != 0 ? out[j] : 0.0f;
        int q = q0;
        // DECODE_UNROLL entries' source values are loaded before any is added (loads in flight), then added in
        // entry order: the same rounding as one entry at a time.
        for (; q + DECODE_UNROLL <= q1; q += DECODE_UNROLL) {
            float c[DECODE_UNROLL];
            float x[DECODE_UNROLL];
#pragma unroll
            for (int u = 0; u < DECODE_UNROLL; u++) {
                const int e = order[q + u];
                c[u] = scale * coef[e];
                x[u] = src[go + (size_t)entry_row[e] * d_in + j];
            }
#pragma unroll
            for (int u = 0; u < DECODE_UNROLL; u++) {
                acc += c[u] * x[u];
            }
        }
        for (; q < q1; q++) {
            const int e = order[q];
            const float c = scale * coef[e];
            acc += c * src[go + (size_t)entry_row[e] * d_in + j];
        }
        out[j] = acc;
    }
    if (threadIdx.x == 0) {
        row_active[i] = 1;
        if (bias_out != nullptr) {
            double s = 0.0;
            for (int q = q0; q < q1; q++) {
                s += scale * coef[order[q]];
            }
            bias_out[i] = (float)(bias_out[i] + s);
        }
    }
}

// Device.denseBackward's elementwise half, one thread per latent, rows in order: dpre = [f > 0] (dpre + l1[i])
// (l1 may be null) in place, dBEnc[i] = the column sum of dpre in double (overwritten; accumulate != 0: added to
// dBEnc[i], the later row blocks of a row-blocked step).
extern "C" __global__ void dense_backward_mask(const float* __restrict__ f, const float* __restrict__ l1, int batch,
                                               int n_latents, float* __restrict__ dpre, float* __restrict__ d_b_enc,
                                               int accumulate) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n_latents) {
        return;
    }
    const float l = l1 == nullptr ? 0.0f : l1[i];
    double s = accumulate ? (double)d_b_enc[i] : 0.0;
    for (int b = 0; b < batch; b++) {
        const size_t q = (size_t)b * n_latents + i;
        float v = f[q] > 0.0f ? dpre[q] + l : 0.0f;
        dpre[q] = v;
        s += v;
    }
    d_b_enc[i] = (float)s;
}

// flags[0..n) = 1.
extern "C" __global__ void fill_flags(int* __restrict__ flags, int n) {
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x) {
        flags[i] = 1;
    }
}

// Device.jumpReluThresholdBackward (Rajamanoharan et al. 2024, section 4), one block per row: the entries within
// eps / 2 of their threshold (a small fraction) are collected per chunk of latents in shared memory, then one warp
// per hit computes g_b . wDec_i and adds -(theta_i / eps) (scale * dot) - l0Scale / eps to acc[i] (double,
// zeroed by the caller).
extern "C" __global__ void jump_relu_threshold_hits(const float* __restrict__ pre, const float* __restrict__ threshold,
                                                    const float* __restrict__ err, const float* __restrict__ w_dec,
                                                    float scale, float eps, float l0_scale, int batch, int d_in,
                                                    int n_latents, double* __restrict__ acc) {
    __shared__ int hits[1024];
    __shared__ int n_hits;
    const int b = blockIdx.x;
    if (b >= batch) {
        return;
    }
    const int lane = threadIdx.x & 31;
    const int warp = threadIdx.x >> 5;
    const int warps = blockDim.x >> 5;
    const double half = eps / 2.0;
    const float* row = pre + (size_t)b * n_latents;
    const float* g = err + (size_t)b * d_in;
    for (int start = 0; start < n_latents; start += blockDim.x) {
        if (threadIdx.x == 0) {
            n_hits = 0;
        }
        __syncthreads();
        const int i = start + threadIdx.x;
        if (i < n_latents && fabs((double)row[i] - (double)threshold[i]) < half) {
            hits[atomicAdd(&n_hits, 1)] = i;
        }
        __syncthreads();
        const int count = n_hits;
        for (int h = warp; h < count; h += warps) {
            const int li = hits[h];
            const float* w = w_dec + (size_t)li * d_in;
            float dot = 0.0f;
            for (int j = lane; j < d_in; j += 32) {
                dot += g[j] * w[j];
            }
            dot = warp_sum(dot);
            if (lane == 0) {
                const double th = threshold[li];
                atomicAdd(&acc[li], -(th / eps) * ((double)scale * dot) - l0_scale / (double)eps);
            }
        }
        __syncthreads();
    }
}

// dLogThreshold[i] = theta_i * acc[i] (the chain rule through theta = exp(log_threshold)).
extern "C" __global__ void jump_relu_threshold_finish(const float* __restrict__ threshold,
                                                      const double* __restrict__ acc, int n_latents,
                                                      float* __restrict__ d_log_threshold) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n_latents) {
        d_log_threshold[i] = (float)(threshold[i] * acc[i]);
    }
}

// Device.gatedSparseBackward's per-entry half, one block per row, one warp per entry e = (b, i):
// dgate = auxScale (auxErr_b . wDec_i) + l1_i; gateGrad[e] = dgate + magScale_i magGrad[e]; and the per-latent sums
// (double atomics into sums [3, nLatents], zeroed by the caller): dBGate += dgate, dBMag += magGrad[e],
// dRMag += magGrad[e] (val[e] - bMag_i).
extern "C" __global__ void gated_sparse_backward(const int* __restrict__ row_ptr, const int* __restrict__ idx,
                                                 const float* __restrict__ val, const float* __restrict__ mag_grad,
                                                 float* __restrict__ gate_grad, const float* __restrict__ aux_err,
                                                 float aux_scale, const float* __restrict__ w_dec,
                                                 const float* __restrict__ l1, const float* __restrict__ mag_scale,
                                                 const float* __restrict__ b_mag, int batch, int d_in, int n_latents,
                                                 double* __restrict__ sums) {
    const int b = blockIdx.x;
    if (b >= batch) {
        return;
    }
    const int lane = threadIdx.x & 31;
    const int warp = threadIdx.x >> 5;
    const int warps = blockDim.x >> 5;
    const float* a = aux_err + (size_t)b * d_in;
    const int e1 = row_ptr[b + 1];
    for (int e = row_ptr[b] + warp; e < e1; e += warps) {
        const int i = idx[e];
        const float* w = w_dec + (size_t)i * d_in;
        float dot = 0.0f;
        for (int j = lane; j < d_in; j += 32) {
            dot += a[j] * w[j];
        }
        dot = warp_sum(dot);
        if (lane == 0) {
            const float dg = aux_scale * dot + (l1 == nullptr ? 0.0f : l1[i]);
            const float gm = mag_grad[e];
            gate_grad[e] = dg + mag_scale[i] * gm;
            atomicAdd(&sums[i], (double)dg);
            atomicAdd(&sums[(size_t)n_latents + i], (double)gm);
            atomicAdd(&sums[2 * (size_t)n_latents + i], (double)gm * ((double)val[e] - b_mag[i]));
        }
    }
}

// The three per-latent sums of the gated backward, rounded to fp32: sums [3, nLatents] -> dBGate, dBMag, dRMag
// (added to them when accumulate != 0: a row block after the first).
extern "C" __global__ void gated_sums_finish(const double* __restrict__ sums, int n_latents, int accumulate,
                                             float* __restrict__ d_b_gate, float* __restrict__ d_b_mag,
                                             float* __restrict__ d_r_mag) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n_latents) {
        const float g = (float)sums[i];
        const float m = (float)sums[(size_t)n_latents + i];
        const float r = (float)sums[2 * (size_t)n_latents + i];
        d_b_gate[i] = accumulate ? d_b_gate[i] + g : g;
        d_b_mag[i] = accumulate ? d_b_mag[i] + m : m;
        d_r_mag[i] = accumulate ? d_r_mag[i] + r : r;
    }
}

// Device.gatedDenseBackward, magnitude path, one thread per latent, rows in order. scratch holds g wDec^T:
// gm = [f > 0] scratch; dBMag = sum gm, dRMag = sum gm (f - bMag) (double, rounded, then overwritten or, when
// accumulate != 0, added); f = magScale_i gm in place.
extern "C" __global__ void gated_dense_mag(float* __restrict__ f, const float* __restrict__ scratch,
                                           const float* __restrict__ b_mag, const float* __restrict__ mag_scale,
                                           int batch, int n_latents, int accumulate, float* __restrict__ d_b_mag,
                                           float* __restrict__ d_r_mag) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n_latents) {
        return;
    }
    const double bm = b_mag[i];
    const float ms = mag_scale[i];
    double sm = 0.0;
    double sr = 0.0;
    for (int b = 0; b < batch; b++) {
        const size_t q = (size_t)b * n_latents + i;
        const float fv = f[q];
        const float gm = fv > 0.0f ? scratch[q] : 0.0f;
        sm += gm;
        sr += (double)gm * ((double)fv - bm);
        f[q] = ms * gm;
    }
    d_b_mag[i] = accumulate ? d_b_mag[i] + (float)sm : (float)sm;
    d_r_mag[i] = accumulate ? d_r_mag[i] + (float)sr : (float)sr;
}

// Device.gatedDenseBackward, gate path, one thread per latent, rows in order. scratch holds a wDec^T on entry:
// dg = [gate > 0] (scratch + l1_i); dpre = dg + f (f holds magScale gm); scratch = dpre; dBGate = sum dg,
// dpreSums = sum dpre (double, rounded, then overwritten or, when accumulate != 0, added).
extern "C" __global__ void gated_dense_gate(const float* __restrict__ gate, float* __restrict__ scratch,
                                            const float* __restrict__ f, const float* __restrict__ l1, int batch,
                                            int n_latents, int accumulate, float* __restrict__ d_b_gate,
                                            float* __restrict__ dpre_sums) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n_latents) {
        return;
    }
    const float l = l1 == nullptr ? 0.0f : l1[i];
    double sg = 0.0;
    double sp = 0.0;
    for (int b = 0; b < batch; b++) {
        const size_t q = (size_t)b * n_latents + i;
        const float dg = gate[q] > 0.0f ? scratch[q] + l : 0.0f;
        const float dp = dg + f[q];
        sg += dg;
        sp += dp;
        scratch[q] = dp;
    }
    d_b_gate[i] = accumulate ? d_b_gate[i] + (float)sg : (float)sg;
    dpre_sums[i] = accumulate ? dpre_sums[i] + (float)sp : (float)sp;
}
