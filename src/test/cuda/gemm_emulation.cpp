// Runs gemm.cu's kernels on the CPU, one std::thread per CUDA thread, to check the tiling, bounds, transposes,
// strides and the double-buffered pipeline without a GPU. The three warp-level instructions are emulated from
// the PTX ISA's description (cvt.rna.tf32.f32; mma.m16n8k8 tf32 fragment layouts; ldmatrix.x4), so this checks
// the kernel's use of them, not the hardware: the cuda-tagged CudaGemmGpuTest is the real check.
//
//   g++ -std=c++20 -O1 -pthread -o /tmp/gemm_emulation src/test/cuda/gemm_emulation.cpp && /tmp/gemm_emulation
//
// Prints one line per product and exits 1 if any is outside the TF32 tolerance of CudaGemmGpuTest.
#include <barrier>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <thread>
#include <vector>

// ---- the CUDA dialect gemm.cu uses, on the host
#define __device__
#define __global__
#define __forceinline__ inline
#define __launch_bounds__(a, b)
#define __restrict__ __restrict
#define __align__(n) __attribute__((aligned(n)))
#define __shared__ static
struct dim3 {
    unsigned int x = 0, y = 0, z = 0;
};
static thread_local dim3 threadIdx;
static dim3 blockIdx;
static dim3 gridDim;
struct float4 {
    float x, y, z, w;
};
struct uint4 {
    unsigned int x, y, z, w;
};
static inline uint4 make_uint4(unsigned int x, unsigned int y, unsigned int z, unsigned int w) {
    return {x, y, z, w};
}
template <class T>
static inline T __ldg(const T* p) {
    return *p;
}
static inline long long min(long long a, long long b) {
    return a < b ? a : b;
}
static std::barrier<>* block_barrier;
static std::barrier<>* warp_barrier[8];
static inline void __syncthreads() {
    block_barrier->arrive_and_wait();
}

// ---- the three instructions, as the PTX ISA describes them
struct WarpSlots {
    unsigned int a[32][4];
    unsigned int b[32][2];
    float c[32][4];
    const unsigned int* p[32];
};
static WarpSlots slots[8];

static inline unsigned int to_tf32(float x) {
    unsigned int u;
    std::memcpy(&u, &x, 4);
    if ((u & 0x7f800000u) == 0x7f800000u) {
        return u;  // inf / NaN pass through
    }
    return (u + 0x1000u) & 0xffffe000u;  // round to nearest, ties away from zero, 10-bit mantissa
}

static inline float tf32_value(unsigned int u) {
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}

static inline void mma_tf32(float* c, const unsigned int* a, unsigned int b0, unsigned int b1) {
    int warp = threadIdx.x / 32;
    int lane = threadIdx.x % 32;
    WarpSlots& s = slots[warp];
    std::memcpy(s.a[lane], a, 16);
    s.b[lane][0] = b0;
    s.b[lane][1] = b1;
    warp_barrier[warp]->arrive_and_wait();
    int g = lane / 4, t = lane % 4;
    float out[4];
    for (int r = 0; r < 4; r++) {
        int row = g + (r >= 2 ? 8 : 0);
        int col = 2 * t + (r & 1);
        double sum = 0;
        for (int kk = 0; kk < 8; kk++) {
            // A (row, kk): lane (row % 8) * 4 + kk % 4, register (row >= 8) + 2 (kk >= 4)
            unsigned int av = s.a[(row % 8) * 4 + kk % 4][(row >= 8 ? 1 : 0) + (kk >= 4 ? 2 : 0)];
            // B (kk, col): lane col * 4 + kk % 4, register kk >= 4
            unsigned int bv = s.b[col * 4 + kk % 4][kk >= 4 ? 1 : 0];
            sum += (double)tf32_value(av) * tf32_value(bv);
        }
        out[r] = c[r] + (float)sum;
    }
    warp_barrier[warp]->arrive_and_wait();
    std::memcpy(c, out, 16);
}

static inline void ldmatrix_x4(unsigned int* r, const unsigned int* p) {
    int warp = threadIdx.x / 32;
    int lane = threadIdx.x % 32;
    WarpSlots& s = slots[warp];
    s.p[lane] = p;
    if ((reinterpret_cast<unsigned long long>(p) & 15) != 0) {
        std::fprintf(stderr, "ldmatrix row address not 16-byte aligned\n");
        std::exit(2);
    }
    warp_barrier[warp]->arrive_and_wait();
    for (int q = 0; q < 4; q++) {
        r[q] = s.p[8 * q + lane / 4][lane % 4];
    }
    warp_barrier[warp]->arrive_and_wait();
}

#define GEMM_HOST_EMULATION
#include "../../main/cuda/gemm.cu"

using Kernel = void (*)(int, int, int, float, const float*, int, const float*, int, float, float*, int, int, int);

static void launch(Kernel kernel, int m, int n, int k, float alpha, const float* a, int lda, const float* b, int ldb,
                   float beta, float* c, int ldc) {
    int tiles_m = (m + 127) / 128, tiles_n = (n + 127) / 128;
    // GemmTiling.of with a small pretend gridDim.x limit, so that gridDim.y > 1 and idle blocks are exercised
    long long tiles = (long long)tiles_m * tiles_n;
    long long max_x = 5;
    long long gy = (tiles + max_x - 1) / max_x;
    long long gx = (tiles + gy - 1) / gy;
    gridDim = {(unsigned)gx, (unsigned)gy, 1};
    std::barrier<> block(256);
    std::vector<std::barrier<>*> warps;
    for (int w = 0; w < 8; w++) {
        warp_barrier[w] = new std::barrier<>(32);
    }
    block_barrier = &block;
    for (unsigned y = 0; y < gy; y++) {
        for (unsigned x = 0; x < gx; x++) {
            blockIdx = {x, y, 0};
            std::vector<std::thread> threads;
            for (unsigned t = 0; t < 256; t++) {
                threads.emplace_back([=] {
                    threadIdx = {t, 0, 0};
                    kernel(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, tiles_m, tiles_n);
                });
            }
            for (auto& th : threads) {
                th.join();
            }
        }
    }
    for (int w = 0; w < 8; w++) {
        delete warp_barrier[w];
    }
}

static bool check(bool ta, bool tb, int m, int n, int k, int pad, float alpha, float beta, bool misalign,
                  std::mt19937& rng) {
    std::uniform_real_distribution<float> u(-1.f, 1.f);
    int aRows = ta ? k : m, aCols = ta ? m : k, bRows = tb ? n : k, bCols = tb ? k : n;
    int lda = aCols + pad, ldb = bCols + pad, ldc = n + pad, shift = misalign ? 1 : 0;
    std::vector<float> a((size_t)aRows * lda + shift), b((size_t)bRows * ldb), c((size_t)m * ldc);
    for (auto& x : a) x = u(rng);
    for (auto& x : b) x = u(rng);
    for (auto& x : c) x = u(rng);
    std::vector<float> c0 = c;
    if (beta == 0) {
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) c[(size_t)i * ldc + j] = NAN;
    }
    Kernel kernel = ta ? (tb ? gemm_tf32_tt : gemm_tf32_tn) : (tb ? gemm_tf32_nt : gemm_tf32_nn);
    // the float4 path needs 16-byte aligned bases, as cudaMalloc gives; std::vector gives 16 on x86-64 too
    launch(kernel, m, n, k, alpha, a.data() + shift, lda, b.data(), ldb, beta, c.data(), ldc);
    double worst = 0;
    for (int i = 0; i < m; i++) {
        for (int j = 0; j < ldc; j++) {
            size_t at = (size_t)i * ldc + j;
            if (j >= n) {
                if (std::memcmp(&c[at], &c0[at], 4) != 0) {
                    std::printf("FAIL padding written at [%d,%d]\n", i, j);
                    return false;
                }
                continue;
            }
            double sum = 0, abs = 0;
            for (int l = 0; l < k; l++) {
                double x = ta ? a[shift + (size_t)l * lda + i] : a[shift + (size_t)i * lda + l];
                double y = tb ? b[(size_t)j * ldb + l] : b[(size_t)l * ldb + j];
                sum += x * y;
                abs += std::fabs(x * y);
            }
            double old = beta == 0 ? 0 : c0[at];
            double ref = alpha * sum + beta * old;
            double tol = 2e-3 * (std::fabs(alpha) * abs + std::fabs(beta * old)) + 1e-6;
            double d = std::fabs(c[at] - ref);
            double ratio = std::isnan(d) ? INFINITY : d / tol;
            if (ratio > worst) worst = ratio;
        }
    }
    std::printf("%s %c%c m=%d n=%d k=%d pad=%d alpha=%g beta=%g%s: worst error %.3g x tolerance\n",
                worst <= 1 ? "ok  " : "FAIL", ta ? 'T' : 'N', tb ? 'T' : 'N', m, n, k, pad, alpha, beta,
                misalign ? " misaligned A" : "", worst);
    return worst <= 1;
}

int main() {
    std::mt19937 rng(7);
    const int sizes[][3] = {{1, 1, 1}, {7, 48, 17}, {130, 129, 33}, {48, 257, 7}, {200, 9, 48}};
    bool ok = true;
    int run = 0;
    for (const auto& s : sizes) {
        for (int combo = 0; combo < 4; combo++) {
            bool ta = combo & 2, tb = combo & 1;
            int pad = run % 3 == 0 ? 0 : run % 5;
            float alpha = run % 2 == 0 ? 1.f : -0.75f;
            float beta = run % 3 == 0 ? 0.f : (run % 3 == 1 ? 1.f : 0.5f);
            ok &= check(ta, tb, s[0], s[1], s[2], pad, alpha, beta, run % 4 == 3, rng);
            run++;
        }
    }
    std::printf(ok ? "all products within tolerance\n" : "SOME PRODUCTS FAILED\n");
    return ok ? 0 : 1;
}
