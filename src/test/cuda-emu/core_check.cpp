// Runs kernels of core.cu under cuda_emu.h, launched as CudaDevice launches them, against plain reference loops (the
// formulas of Device's Javadoc). Build and run:
//   g++ -std=c++20 -O1 -ffp-contract=off -pthread -o /tmp/core_check src/test/cuda-emu/core_check.cpp && /tmp/core_check
// Prints one line per check and exits 1 on the first mismatch.
#include "cuda_emu.h"
#include "check_report.h"
#include "../../main/cuda/core.cu"

#include <sys/mman.h>

#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

static const unsigned T = 256;
static std::mt19937 rng(7);
static std::vector<float> gauss(size_t n, double sd) {
    std::normal_distribution<double> g(0, sd);
    std::vector<float> v(n);
    for (auto& x : v) x = (float)g(rng);
    return v;
}

// adam_step on [rows, cols] (every element updated; flags: rows whose flag is 0 get gradient 0) against the scalar
// formula, bit for bit (both round every operation: -ffp-contract=off). offset: the four buffers start that many
// floats past a 16-byte boundary (1: the kernel must take its single-float path).
static void checkAdam(int rows, int cols, bool flags, int offset, unsigned blocks) {
    const long long n = (long long)rows * cols;
    std::vector<float> store[4];
    for (auto& s : store) s.assign(n + 4, 0.f);
    float* p = store[0].data() + offset;
    float* g = store[1].data() + offset;
    float* m = store[2].data() + offset;
    float* v = store[3].data() + offset;
    auto p0 = gauss(n, 1.0), g0 = gauss(n, 0.1), m0 = gauss(n, 0.01), v0 = gauss(n, 0.001);
    for (long long i = 0; i < n; i++) {
        p[i] = p0[i]; g[i] = g0[i]; m[i] = m0[i]; v[i] = v0[i] * v0[i];
    }
    std::vector<int> active(rows);
    for (auto& a : active) a = rng() % 3 != 0;
    const float b1 = 0.9f, b2 = 0.999f, eps = 1e-8f, scale = 0.75f, step = 3e-4f / 0.271f, inv = 1.0f / 0.0951f;
    emu_launch(adam_step, blocks, T, p, (const float*)g, m, v, n, cols, flags ? active.data() : (int*)nullptr, b1, b2,
               eps, scale, step, inv);
    const float a1 = 1.0f - b1, a2 = 1.0f - b2;
    std::string name = "adam_step rows=" + std::to_string(rows) + " cols=" + std::to_string(cols)
                       + (flags ? " flags" : "") + " offset=" + std::to_string(offset);
    for (long long i = 0; i < n; i++) {
        bool on = !flags || active[i / cols] != 0;
        float gi = on ? scale * g0[i] : 0.0f;
        float mi = b1 * m0[i] + a1 * gi;
        float vi = b2 * (v0[i] * v0[i]) + a2 * gi * gi;
        float pi = p0[i] - step * mi / (std::sqrt(vi) * inv + eps);
        if (m[i] != mi || v[i] != vi || p[i] != pi) {
            fail(name + ": element " + std::to_string(i) + " param " + std::to_string(p[i]) + " want "
                 + std::to_string(pi));
        }
    }
    if (store[0][offset + n] != 0.f || (offset > 0 && store[0][offset - 1] != 0.f)) fail(name + ": wrote outside");
    ok(name);
}

// sum_squares_rows_partial then sum_partials_f64, as CudaDevice.sumSquares runs them with flags, against the sum in
// double of the rows with their flag set (each square rounded to float); offset as in checkAdam.
static void checkSumSquaresRows(int rows, int cols, int offset, unsigned blocks) {
    const long long n = (long long)rows * cols;
    std::vector<float> store(n + 4, 0.f);
    float* g = store.data() + offset;
    auto g0 = gauss(n, 0.3);
    std::copy(g0.begin(), g0.end(), g);
    std::vector<int> active(rows);
    for (auto& a : active) a = rng() % 4 != 0;
    std::vector<double> partial(blocks, -1), out(1, -1);
    emu_launch(sum_squares_rows_partial, blocks, T, (const float*)g, rows, cols, (const int*)active.data(),
               partial.data());
    emu_launch(sum_partials_f64, 1, T, (const double*)partial.data(), (int)blocks, out.data());
    double want = 0;
    for (long long i = 0; i < n; i++) {
        if (active[i / cols] != 0) want += (double)(g[i] * g[i]);
    }
    std::string name = "sum_squares_rows rows=" + std::to_string(rows) + " cols=" + std::to_string(cols) + " offset="
                       + std::to_string(offset);
    if (!(std::fabs(out[0] - want) <= 1e-12 * want)) {
        fail(name + ": " + std::to_string(out[0]) + " want " + std::to_string(want));
    }
    ok(name);
}

// Row offsets past 2^31 elements: w [BIG, D] with BIG = 2^21 + 1 and D = 1024, so latent 2^21's row starts at element
// 2^31 and latent 2^21 - 1's ends there. The region is mapped without reserving memory: only the rows in use are ever
// touched. resample_rows, zero_rows, add_scaled_rows and project_out_parallel, launched as CudaDevice launches them,
// must write exactly those rows as the formulas say (computed here on copies of the three rows).
static void checkRowsPastTwoToThe31() {
    const int D = 1024;
    const int BIG = (1 << 21) + 1;
    const int lat[3] = {5, (1 << 21) - 1, 1 << 21};
    const size_t bytes = (size_t)BIG * D * sizeof(float);
    auto map = [&]() {
        void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p == MAP_FAILED) fail("rows past 2^31: mmap of 8 GiB refused");
        return (float*)p;
    };
    float* wDec = map();
    float* wEnc = map();
    float* dW = map();
    auto x = gauss(2 * D, 1.0), bDec = gauss(D, 0.1);
    std::vector<float> bEnc(BIG, 1.0f);
    std::vector<int> latents = {lat[2], lat[0]}, rows = {1, 0};
    emu_launch(resample_rows, 2u, T, (const float*)x.data(), (const float*)bDec.data(), (const int*)latents.data(),
               (const int*)rows.data(), 2, D, 0.3f, wDec, wEnc, bEnc.data());
    for (int q = 0; q < 2; q++) {
        double s = 0;
        for (int j = 0; j < D; j++) {
            float v = x[(size_t)rows[q] * D + j] - bDec[j];
            s += (double)v * v;
        }
        double inv = 1.0 / std::sqrt(s);
        const float* wd = wDec + (size_t)latents[q] * D;
        const float* we = wEnc + (size_t)latents[q] * D;
        for (int j = 0; j < D; j++) {
            float u = (float)((x[(size_t)rows[q] * D + j] - bDec[j]) * inv);
            if (wd[j] != u || we[j] != 0.3f * u) fail("resample_rows past 2^31: latent " + std::to_string(latents[q]));
        }
        if (bEnc[latents[q]] != 0.0f) fail("resample_rows past 2^31: b_enc");
    }
    if (wDec[(size_t)lat[1] * D] != 0.0f || wDec[(size_t)lat[1] * D + D - 1] != 0.0f) {
        fail("resample_rows past 2^31: wrote latent 2^21 - 1");
    }
    ok("resample_rows past 2^31 elements");
    // add_scaled_rows into dW (flags 0: rows claimed, so zeroed first) with coef nonzero at the three latents only.
    auto w1 = gauss(D, 1.0);
    std::copy(w1.begin(), w1.end(), wDec + (size_t)lat[1] * D);
    std::vector<float> coef(BIG, 0.0f);
    std::vector<int> flags(BIG, 0);
    const float c[3] = {0.5f, -2.0f, 1.5f};
    for (int s = 0; s < 3; s++) {
        coef[lat[s]] = c[s];
        dW[(size_t)lat[s] * D + 7] = 99.0f;  // garbage in an unclaimed row: must be zeroed
    }
    emu_launch(add_scaled_rows, 4u, T, (const float*)wDec, (const float*)coef.data(), BIG, D, dW, flags.data());
    for (int s = 0; s < 3; s++) {
        const float* w = wDec + (size_t)lat[s] * D;
        const float* g = dW + (size_t)lat[s] * D;
        for (int j = 0; j < D; j++) {
            if (g[j] != 0.0f + c[s] * w[j]) fail("add_scaled_rows past 2^31: latent " + std::to_string(lat[s]));
        }
        if (flags[lat[s]] != 1) fail("add_scaled_rows past 2^31: flag of latent " + std::to_string(lat[s]));
    }
    ok("add_scaled_rows past 2^31 elements");
    // project_out_parallel on the flagged rows: g -= (g . w) w with the same rounding as the kernel's sum in double.
    std::vector<std::vector<float>> before;
    for (int s = 0; s < 3; s++) before.emplace_back(dW + (size_t)lat[s] * D, dW + (size_t)(lat[s] + 1) * D);
    emu_launch(project_out_parallel, 4u, T, (const float*)wDec, dW, BIG, D, (const int*)flags.data());
    for (int s = 0; s < 3; s++) {
        const float* w = wDec + (size_t)lat[s] * D;
        const float* g = dW + (size_t)lat[s] * D;
        double dot = 0;
        for (int j = 0; j < D; j++) dot += (double)(before[s][j] * w[j]);
        for (int j = 0; j < D; j++) {
            float want = before[s][j] - (float)dot * w[j];
            if (!(std::fabs(g[j] - want) <= 1e-5f + 1e-4f * std::fabs(want))) {
                fail("project_out_parallel past 2^31: latent " + std::to_string(lat[s]) + " at " + std::to_string(j));
            }
        }
    }
    ok("project_out_parallel past 2^31 elements");
    std::vector<int> zero = {lat[2]};
    emu_launch(zero_rows, 1u, T, dW, (const int*)zero.data(), 1, D);
    for (int j = 0; j < D; j++) {
        if (dW[(size_t)lat[2] * D + j] != 0.0f) fail("zero_rows past 2^31");
    }
    if (dW[(size_t)lat[1] * D] == 0.0f && before[1][0] != 0.0f) fail("zero_rows past 2^31: cleared latent 2^21 - 1");
    ok("zero_rows past 2^31 elements");
    munmap(wDec, bytes);
    munmap(wEnc, bytes);
    munmap(dW, bytes);
}

int main() {
    checkSumSquaresRows(37, 64, 0, 3);  // float4 path, grid-stride over 592 float4s with 768 threads
    checkSumSquaresRows(70, 128, 0, 2);
    checkSumSquaresRows(37, 64, 1, 3);  // misaligned: rows, single floats
    checkSumSquaresRows(9, 30, 0, 4);   // cols % 4 != 0
    checkAdam(37, 64, true, 0, 3);    // float4 path, flags, grid-stride over 2368 elements with 768 threads
    checkAdam(37, 64, true, 1, 3);    // the same, misaligned: single floats
    checkAdam(9, 30, true, 0, 2);     // cols % 4 != 0: single floats
    checkAdam(1, 1028, false, 0, 1);  // a bias: one row, no flags
    checkAdam(1, 7, false, 2, 1);
    checkRowsPastTwoToThe31();
    std::printf("all %d checks passed\n", checks);
    return 0;
}
