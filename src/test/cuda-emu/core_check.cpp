// Runs kernels of core.cu under cuda_emu.h, launched as CudaDevice launches them, against plain reference loops (the
// formulas of Device's Javadoc). Build and run:
//   g++ -std=c++20 -O1 -ffp-contract=off -pthread -o /tmp/core_check src/test/cuda-emu/core_check.cpp && /tmp/core_check
// Prints one line per check and exits 1 on the first mismatch.
#include "cuda_emu.h"
#include "check_report.h"
#include "../../main/cuda/core.cu"

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
    std::printf("all %d checks passed\n", checks);
    return 0;
}
