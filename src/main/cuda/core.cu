// core.cu: the elementwise, row-wise and reduction ops of CudaDevice (device/cuda/CudaDevice.java).
// Formulas and layouts are device/Device.java's; each kernel names the Device op it serves. Every index that
// multiplies two dimensions is 64-bit. Reductions that return a double accumulate in double per block, write one
// partial per block, and finish in sum_partials_f64 (one block), so the result does not depend on timing. Block
// sums use block_sum_all (common.cuh), so every kernel here runs with blockDim.x == 256 (GridMath.BLOCK).

#include <stdint.h>

#include "common.cuh"

// fill: buf[0..n) = value.
extern "C" __global__ void fill_f32(float* buf, long long n, float value) {
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < n; i += (long long) gridDim.x * blockDim.x) {
        buf[i] = value;
    }
}

// scaleInto: dst[i] = alpha * src[i] (dst may be src).
extern "C" __global__ void scale_into(const float* src, float* dst, long long n, float alpha) {
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < n; i += (long long) gridDim.x * blockDim.x) {
        dst[i] = alpha * src[i];
    }
}

// expInto: dst[i] = exp(src[i]), computed in double and rounded once to float, so that it equals the CPU's
// (float) Math.exp bit for bit (expf is off by up to 2 ulp; the thresholds it makes must match on both devices).
extern "C" __global__ void exp_into(const float* src, float* dst, long long n) {
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < n; i += (long long) gridDim.x * blockDim.x) {
        dst[i] = (float) exp((double) src[i]);
    }
}

// dot (and sumSquares without flags when a == b): partial[block] = sum of a[i] * b[i] over this block's stride.
extern "C" __global__ void dot_partial(const float* a, const float* b, long long n, double* partial) {
    __shared__ double scratch[32];
    double s = 0.0;
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < n; i += (long long) gridDim.x * blockDim.x) {
        s += (double) a[i] * (double) b[i];
    }
    s = block_sum_all(s, scratch);
    if (threadIdx.x == 0) {
        partial[blockIdx.x] = s;
    }
}

// The second pass of every double reduction: out[0] = sum of partial[0..n), one block.
extern "C" __global__ void sum_partials_f64(const double* partial, int n, double* out) {
    __shared__ double scratch[32];
    double s = 0.0;
    for (int i = threadIdx.x; i < n; i += blockDim.x) {
        s += partial[i];
    }
    s = block_sum_all(s, scratch);
    if (threadIdx.x == 0) {
        out[0] = s;
    }
}

// countAtOrBelow: count[0] += the number of i with a[i] <= threshold (count zeroed by the caller).
extern "C" __global__ void count_at_or_below(const int* a, int n, int threshold, int* count) {
    int c = 0;
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
        c += a[i] <= threshold ? 1 : 0;
    }
    c = warp_sum(c);
    if ((threadIdx.x & 31) == 0 && c != 0) {
        atomicAdd(count, c);
    }
}

// encode, first half: x_in = x - b_dec (b_dec may be null: a copy) and pre = b_enc broadcast over rows, ready for
// the product pre += x_in w_enc^T (gemm with beta = 1). Grid: x over columns [0, max(d_in, n_latents)), y over rows
// (both grid-stride), so no element index is divided.
extern "C" __global__ void encode_prepare(const float* x, const float* b_dec, const float* b_enc, float* x_in,
                                          float* pre, int batch, int d_in, int n_latents) {
    int cols = max(d_in, n_latents);
    for (int r = blockIdx.y; r < batch; r += gridDim.y) {
        long long xo = (long long) r * d_in;
        long long po = (long long) r * n_latents;
        for (int j = blockIdx.x * blockDim.x + threadIdx.x; j < cols; j += gridDim.x * blockDim.x) {
            if (j < d_in) {
                float v = x[xo + j];
                x_in[xo + j] = b_dec != nullptr ? v - b_dec[j] : v;
            }
            if (j < n_latents) {
                pre[po + j] = b_enc[j];
            }
        }
    }
}

// centeredSumSquares, first pass (after weighted_column_sums_partial over x with weight 1):
// mean[j] = (1 / batch) sum over chunks of partial[chunk, j], in double.
extern "C" __global__ void column_means_finish(const double* partial, int chunks, int d_in, int batch, double* mean) {
    int j = blockIdx.x * blockDim.x + threadIdx.x;
    if (j >= d_in) {
        return;
    }
    double s = 0.0;
    for (int c = 0; c < chunks; c++) {
        s += partial[(long long) c * d_in + j];
    }
    mean[j] = s / batch;
}

// centeredSumSquares, second pass: partial[block] = sum over this block's elements of (x[b, j] - mean[j])^2.
extern "C" __global__ void centered_sum_squares_partial(const float* x, const double* mean, int batch, int d_in,
                                                        double* partial) {
    __shared__ double scratch[32];
    long long n = (long long) batch * d_in;
    double s = 0.0;
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < n; i += (long long) gridDim.x * blockDim.x) {
        double d = (double) x[i] - mean[i % d_in];
        s += d * d;
    }
    s = block_sum_all(s, scratch);
    if (threadIdx.x == 0) {
        partial[blockIdx.x] = s;
    }
}

// addColumnSums / addVecMat, first pass: partial[chunk, j] = sum over rows r of this chunk of v[r] * w[r, j]
// (v null: weight 1), in double. Grid (ceil(cols / blockDim), chunks); chunk c covers rows [c * rows_per_chunk, ..).
extern "C" __global__ void weighted_column_sums_partial(const float* w, const float* v, int rows, int cols,
                                                        int rows_per_chunk, double* partial) {
    int j = blockIdx.x * blockDim.x + threadIdx.x;
    if (j >= cols) {
        return;
    }
    int lo = blockIdx.y * rows_per_chunk;
    int hi = min(rows, lo + rows_per_chunk);
    double s = 0.0;
    for (int r = lo; r < hi; r++) {
        double wv = w[(long long) r * cols + j];
        s += v != nullptr ? (double) v[r] * wv : wv;
    }
    partial[(long long) blockIdx.y * cols + j] = s;
}

// addColumnSums / addVecMat, second pass: out[j] += alpha * sum over chunks of partial[chunk, j].
extern "C" __global__ void weighted_column_sums_finish(const double* partial, int chunks, int cols, float alpha,
                                                       float* out) {
    int j = blockIdx.x * blockDim.x + threadIdx.x;
    if (j >= cols) {
        return;
    }
    double s = 0.0;
    for (int c = 0; c < chunks; c++) {
        s += partial[(long long) c * cols + j];
    }
    out[j] = (float) ((double) out[j] + (double) alpha * s);
}

// addScaledRows: for rows with coef[i] != 0, claim the row (zero it when its flag is 0, set the flag) and add
// coef[i] * w[i]. One block per row (grid-stride over rows).
extern "C" __global__ void add_scaled_rows(const float* w, const float* coef, int rows, int cols, float* d_w,
                                           int* row_active) {
    for (int i = blockIdx.x; i < rows; i += gridDim.x) {
        float c = coef[i];
        if (c == 0.0f) {
            continue;
        }
        int was_active = row_active[i];
        __syncthreads();
        long long o = (long long) i * cols;
        for (int j = threadIdx.x; j < cols; j += blockDim.x) {
            float base = was_active ? d_w[o + j] : 0.0f;
            d_w[o + j] = base + c * w[o + j];
        }
        if (threadIdx.x == 0 && !was_active) {
            row_active[i] = 1;
        }
    }
}

// l1DecoderCoefficients: out[i] = norms[i] > 0 ? lambda_over_b * act_sums[i] / norms[i] : 0 (out may be norms).
extern "C" __global__ void l1_decoder_coefficients(const float* act_sums, const float* norms, float lambda_over_b,
                                                   int n_latents, float* out) {
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n_latents; i += gridDim.x * blockDim.x) {
        float ni = norms[i];
        out[i] = ni > 0.0f ? lambda_over_b * act_sums[i] / ni : 0.0f;
    }
}

// |w[i]|^2 of one row, summed in double across the block (every thread gets it). scratch: __shared__ double[32].
static __device__ double row_sum_squares(const float* row, int cols, double* scratch) {
    double s = 0.0;
    for (int j = threadIdx.x; j < cols; j += blockDim.x) {
        float v = row[j];
        s += (double) (v * v);
    }
    return block_sum_all(s, scratch);
}

// rowNorms: norms[i] = |w[i]|. One block per row (grid-stride over rows).
extern "C" __global__ void row_norms(const float* w, int rows, int cols, float* norms) {
    __shared__ double scratch[32];
    for (int i = blockIdx.x; i < rows; i += gridDim.x) {
        double s = row_sum_squares(w + (long long) i * cols, cols, scratch);
        if (threadIdx.x == 0) {
            norms[i] = (float) sqrt(s);
        }
    }
}

// normalizeRows: w[i] /= |w[i]| for rows of nonzero norm.
extern "C" __global__ void normalize_rows(float* w, int rows, int cols) {
    __shared__ double scratch[32];
    for (int i = blockIdx.x; i < rows; i += gridDim.x) {
        float* row = w + (long long) i * cols;
        double s = row_sum_squares(row, cols, scratch);
        if (s > 0.0) {
            float inv = (float) (1.0 / sqrt(s));
            for (int j = threadIdx.x; j < cols; j += blockDim.x) {
                row[j] = row[j] * inv;
            }
        }
        __syncthreads();
    }
}

// projectOutParallel: for rows with their flag set, g[i] -= (g[i] . w[i]) w[i].
extern "C" __global__ void project_out_parallel(const float* w, float* g, int rows, int cols, const int* row_active) {
    __shared__ double scratch[32];
    for (int i = blockIdx.x; i < rows; i += gridDim.x) {
        if (row_active[i] == 0) {
            continue;
        }
        const float* wr = w + (long long) i * cols;
        float* gr = g + (long long) i * cols;
        double s = 0.0;
        for (int j = threadIdx.x; j < cols; j += blockDim.x) {
            s += (double) (gr[j] * wr[j]);
        }
        float d = (float) block_sum_all(s, scratch);
        for (int j = threadIdx.x; j < cols; j += blockDim.x) {
            gr[j] = gr[j] - d * wr[j];
        }
        __syncthreads();
    }
}

// sumSquares with flags: partial[block] = sum over this block's share of the rows with their flag set of |g[i]|^2
// (each square rounded to float, then summed in double). When cols is a multiple of 4 and g is 16-byte aligned, the
// matrix is read as float4s in one grid-stride loop (one flag per 4 elements, many loads in flight); otherwise block
// b takes rows b, b + gridDim.x, ... with single floats.
extern "C" __global__ void sum_squares_rows_partial(const float* g, int rows, int cols, const int* row_active,
                                                    double* partial) {
    __shared__ double scratch[32];
    double s = 0.0;
    if ((cols & 3) == 0 && (((uintptr_t) g) & 15) == 0) {
        const int cols4 = cols >> 2;
        const long long n4 = (long long) rows * cols4;
        for (long long q = blockIdx.x * (long long) blockDim.x + threadIdx.x; q < n4;
             q += (long long) gridDim.x * blockDim.x) {
            long long row = q < 2147483647LL ? (long long) ((int) q / cols4) : q / cols4;
            if (row_active[row] != 0) {
                float4 v = reinterpret_cast<const float4*>(g)[q];
                s += (double) (v.x * v.x);
                s += (double) (v.y * v.y);
                s += (double) (v.z * v.z);
                s += (double) (v.w * v.w);
            }
        }
    } else {
        for (int i = blockIdx.x; i < rows; i += gridDim.x) {
            if (row_active[i] == 0) {
                continue;
            }
            const float* gr = g + (long long) i * cols;
            for (int j = threadIdx.x; j < cols; j += blockDim.x) {
                float v = gr[j];
                s += (double) (v * v);
            }
        }
    }
    s = block_sum_all(s, scratch);
    if (threadIdx.x == 0) {
        partial[blockIdx.x] = s;
    }
}

// One Adam update of one element (adam_step's formula); g_raw is the gradient, not read for an inactive row.
static __device__ __forceinline__ void adam_one(float& p, bool active, float g_raw, float& m, float& v, float beta1,
                                                float beta2, float a1, float a2, float eps, float grad_scale,
                                                float step_size, float inv_sqrt_bc2) {
    float g = active ? grad_scale * g_raw : 0.0f;
    float mi = beta1 * m + a1 * g;
    float vi = beta2 * v + a2 * g * g;
    m = mi;
    v = vi;
    p = p - step_size * mi / (sqrtf(vi) * inv_sqrt_bc2 + eps);
}

// adamStep, fused: g = grad_scale * grad (0 where the row's flag is 0, row_active null: every row active);
// m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2; p -= step_size m / (sqrt(v) inv_sqrt_bc2 + eps), with
// step_size = lr / (1 - b1^t) and inv_sqrt_bc2 = 1 / sqrt(1 - b2^t) from the host. Every element is updated.
// When cols is a multiple of 4 and the four buffers are 16-byte aligned, each thread takes float4s (which then never
// straddle a row: one flag and one division per 4 elements); otherwise single floats.
extern "C" __global__ void adam_step(float* param, const float* grad, float* m, float* v, long long n, int cols,
                                     const int* row_active, float beta1, float beta2, float eps, float grad_scale,
                                     float step_size, float inv_sqrt_bc2) {
    float a1 = 1.0f - beta1;
    float a2 = 1.0f - beta2;
    const long long stride = (long long) gridDim.x * blockDim.x;
    const bool vec = (cols & 3) == 0 && ((((uintptr_t) param) | ((uintptr_t) grad) | ((uintptr_t) m) | ((uintptr_t) v)) & 15) == 0;
    if (vec) {
        const long long n4 = n >> 2;  // n = rows * cols is a multiple of 4 too
        const int cols4 = cols >> 2;
        for (long long q = blockIdx.x * (long long) blockDim.x + threadIdx.x; q < n4; q += stride) {
            long long row = q < 2147483647LL ? (long long) ((int) q / cols4) : q / cols4;
            bool active = row_active == nullptr || row_active[row] != 0;
            float4 p4 = reinterpret_cast<float4*>(param)[q];
            float4 g4 = active ? reinterpret_cast<const float4*>(grad)[q] : make_float4(0.0f, 0.0f, 0.0f, 0.0f);
            float4 m4 = reinterpret_cast<float4*>(m)[q];
            float4 v4 = reinterpret_cast<float4*>(v)[q];
            adam_one(p4.x, active, g4.x, m4.x, v4.x, beta1, beta2, a1, a2, eps, grad_scale, step_size, inv_sqrt_bc2);
            adam_one(p4.y, active, g4.y, m4.y, v4.y, beta1, beta2, a1, a2, eps, grad_scale, step_size, inv_sqrt_bc2);
            adam_one(p4.z, active, g4.z, m4.z, v4.z, beta1, beta2, a1, a2, eps, grad_scale, step_size, inv_sqrt_bc2);
            adam_one(p4.w, active, g4.w, m4.w, v4.w, beta1, beta2, a1, a2, eps, grad_scale, step_size, inv_sqrt_bc2);
            reinterpret_cast<float4*>(m)[q] = m4;
            reinterpret_cast<float4*>(v)[q] = v4;
            reinterpret_cast<float4*>(param)[q] = p4;
        }
        return;
    }
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < n; i += stride) {
        long long row = i < 2147483647LL ? (long long) ((int) i / cols) : i / cols;  // 32-bit division when it fits
        bool active = row_active == nullptr || row_active[row] != 0;
        float mi = m[i];
        float vi = v[i];
        float p = param[i];
        adam_one(p, active, active ? grad[i] : 0.0f, mi, vi, beta1, beta2, a1, a2, eps, grad_scale, step_size, inv_sqrt_bc2);
        m[i] = mi;
        v[i] = vi;
        param[i] = p;
    }
}

// resampleRows: one block per q in [0, count): u = (x[rows[q]] - b_dec) / |.| (0 when the norm is 0);
// w_dec[i] = u; w_enc[i] = enc_norm * u; b_enc[i] = 0, for i = latents[q].
extern "C" __global__ void resample_rows(const float* x, const float* b_dec, const int* latents, const int* rows,
                                         int count, int d_in, float enc_norm, float* w_dec, float* w_enc,
                                         float* b_enc) {
    __shared__ double scratch[32];
    for (int q = blockIdx.x; q < count; q += gridDim.x) {
        int i = latents[q];
        const float* xr = x + (long long) rows[q] * d_in;
        double s = 0.0;
        for (int j = threadIdx.x; j < d_in; j += blockDim.x) {
            float vj = xr[j] - b_dec[j];
            s += (double) vj * vj;
        }
        s = block_sum_all(s, scratch);
        double inv = s > 0.0 ? 1.0 / sqrt(s) : 0.0;
        long long o = (long long) i * d_in;
        for (int j = threadIdx.x; j < d_in; j += blockDim.x) {
            float vj = xr[j] - b_dec[j];
            float u = (float) (vj * inv);
            w_dec[o + j] = u;
            w_enc[o + j] = enc_norm * u;
        }
        if (threadIdx.x == 0) {
            b_enc[i] = 0.0f;
        }
    }
}

// zeroRows: buf[rows[q], :] = 0 for q in [0, count); one block per q.
extern "C" __global__ void zero_rows(float* buf, const int* rows, int count, int cols) {
    for (int q = blockIdx.x; q < count; q += gridDim.x) {
        float* r = buf + (long long) rows[q] * cols;
        for (int j = threadIdx.x; j < cols; j += blockDim.x) {
            r[j] = 0.0f;
        }
    }
}
