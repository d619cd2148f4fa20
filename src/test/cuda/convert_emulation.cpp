// Runs convert.cu's kernels on the CPU (one loop standing in for the grid) over every fp16 and bf16 bit pattern
// and checks them against the compiler's own conversions (_Float16, and the bf16 bit shift) times the scale.
//
//   g++ -std=c++20 -O1 -o /tmp/convert_emulation src/test/cuda/convert_emulation.cpp && /tmp/convert_emulation
#include <cmath>
#include <cstdio>
#include <cstring>
#include <vector>

#define __device__
#define __global__
#define __forceinline__ inline
#define __restrict__ __restrict
struct dim3 {
    unsigned int x = 0, y = 0, z = 0;
};
static dim3 threadIdx, blockIdx, gridDim, blockDim;
static inline float __uint_as_float(unsigned int u) {
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}
static inline float __fmul_rn(float a, float b) {
    volatile float r = a * b;  // SSE: one IEEE round-to-nearest multiply, denormals kept
    return r;
}
#include "../../main/cuda/convert.cu"

template <class K, class T>
static void run(K kernel, const T* raw, float* out, long long count, float scale) {
    gridDim = {1, 1, 1};
    blockDim = {1, 1, 1};
    blockIdx = {0, 0, 0};
    threadIdx = {0, 0, 0};
    kernel(raw, out, count, scale);  // stride 1: the one thread does every element
}

static bool same(float want, float got) {
    if (std::isnan(want)) return std::isnan(got);
    return std::memcmp(&want, &got, 4) == 0;
}

int main() {
    std::vector<unsigned short> bits(65536);
    for (int i = 0; i < 65536; i++) bits[i] = (unsigned short)i;
    std::vector<float> out(65536);
    int bad = 0;
    for (float scale : {1.0f, 0.37f, 3e-39f}) {
        run(convert_rows_f16, bits.data(), out.data(), 65536, scale);
        for (int i = 0; i < 65536; i++) {
            _Float16 h;
            std::memcpy(&h, &bits[i], 2);
            float want = (float)h * scale;
            if (!same(want, out[i]) && bad++ < 5) std::printf("f16 %04x scale %g: want %a got %a\n", i, scale, want, out[i]);
        }
        run(convert_rows_bf16, bits.data(), out.data(), 65536, scale);
        for (int i = 0; i < 65536; i++) {
            float want = __uint_as_float((unsigned int)i << 16) * scale;
            if (!same(want, out[i]) && bad++ < 5) std::printf("bf16 %04x scale %g: want %a got %a\n", i, scale, want, out[i]);
        }
    }
    std::printf(bad == 0 ? "all fp16 and bf16 patterns convert as the host does\n" : "%d MISMATCHES\n", bad);
    return bad == 0 ? 0 : 1;
}
