// topk_select on a real GPU: checks its picks exactly against a CPU reference (stable sort by value, the first k,
// in latent order) on sampled rows, and times it, at the bench's widths (d = 768 x32, d = 2304 x16), with the dead
// filter, misaligned rows, and rows past shared memory (the global-memory path, also forced at 24,576 latents).
// Launch shapes as CudaActivationOps / GridMath choose them. A development aid, not part of the build:
//   nvcc -O3 -std=c++17 -arch=sm_90 -o /tmp/topk_gpu_check src/test/cuda/topk_gpu_check.cu && /tmp/topk_gpu_check
// Exit 1 when any checked row differs.
#include "../../main/cuda/activation.cu"
#include <cstdio>
#include <vector>
#include <algorithm>
#include <numeric>
#include <cuda_runtime.h>
#define CK(x) do { cudaError_t e = (x); if (e != cudaSuccess) { printf("CUDA %s at %d: %s\n", #x, __LINE__, cudaGetErrorString(e)); exit(2);} } while (0)
__global__ void fill(float* p, long long n, unsigned seed) {
    for (long long q = blockIdx.x * (long long)blockDim.x + threadIdx.x; q < n; q += (long long)gridDim.x * blockDim.x) {
        unsigned h = (unsigned)q * 2654435761u ^ seed; float s = 0;
        for (int r = 0; r < 4; r++) { h ^= h >> 16; h *= 0x7feb352du; h ^= h >> 15; h *= 0x846ca68bu; h ^= h >> 16; s += (h >> 8) * (1.0f / 16777216.0f); }
        p[q] = (s - 2.0f) * 1.7f - 0.3f;
    }
}
static unsigned okey(float v) { unsigned u; memcpy(&u, &v, 4); return (u & 0x80000000u) ? ~u : (u | 0x80000000u); }
static int run(int B, int M, int K, bool dead, int offset, int maxShared, bool global, int reps) {
    float* base; CK(cudaMalloc(&base, ((size_t)B * M + 4) * 4));
    float* pre = base + offset;
    fill<<<1024, 256>>>(pre, (long long)B * M, 1234u + M);
    int *rp, *idx, *lf; float* val;
    CK(cudaMalloc(&rp, (B + 1) * 4)); CK(cudaMalloc(&idx, (size_t)B * K * 4)); CK(cudaMalloc(&val, (size_t)B * K * 4)); CK(cudaMalloc(&lf, (size_t)M * 4));
    std::vector<int> last(M); for (int i = 0; i < M; i++) last[i] = (i * 7919) % 10;
    CK(cudaMemcpy(lf, last.data(), M * 4, cudaMemcpyHostToDevice));
    long long bytes = 4LL * ((M + 6) & ~3);
    int shared = !global && bytes + 16384 <= maxShared ? (int)bytes : 0;
    int block = 2LL * (shared + 16384) > maxShared ? 1024 : 512;
    if (shared > 48 * 1024) CK(cudaFuncSetAttribute(topk_select, cudaFuncAttributeMaxDynamicSharedMemorySize, shared));
    auto launch = [&]() { topk_select<<<B, block, shared>>>(pre, B, M, K, dead ? lf : nullptr, 4, shared > 0, rp, idx, val); };
    launch(); CK(cudaGetLastError()); CK(cudaDeviceSynchronize());
    cudaEvent_t a, b; cudaEventCreate(&a); cudaEventCreate(&b);
    cudaEventRecord(a); for (int r = 0; r < reps; r++) launch(); cudaEventRecord(b); CK(cudaEventSynchronize(b));
    float ms; cudaEventElapsedTime(&ms, a, b); ms /= reps;
    std::vector<float> h((size_t)B * M); CK(cudaMemcpy(h.data(), pre, h.size() * 4, cudaMemcpyDeviceToHost));
    std::vector<int> hi((size_t)B * K), hr(B + 1); std::vector<float> hv((size_t)B * K);
    CK(cudaMemcpy(hi.data(), idx, hi.size() * 4, cudaMemcpyDeviceToHost)); CK(cudaMemcpy(hv.data(), val, hv.size() * 4, cudaMemcpyDeviceToHost));
    CK(cudaMemcpy(hr.data(), rp, hr.size() * 4, cudaMemcpyDeviceToHost));
    int bad = 0;
    for (int b = 0; b <= B; b++) if (hr[b] != b * K) bad++;
    for (int t = 0; t < 24; t++) {
        int b = t < 2 ? (t == 0 ? 0 : B - 1) : (int)((t * 2654435761u) % B);
        std::vector<int> c; for (int i = 0; i < M; i++) if (!dead || last[i] <= 4) c.push_back(i);
        const float* row = h.data() + (size_t)b * M;
        std::stable_sort(c.begin(), c.end(), [&](int x, int y) { return okey(row[x]) > okey(row[y]); });
        std::vector<int> w(c.begin(), c.begin() + K); std::sort(w.begin(), w.end());
        for (int q = 0; q < K; q++) if (hi[(size_t)b * K + q] != w[q] || hv[(size_t)b * K + q] != std::max(0.f, row[w[q]])) { bad++; break; }
    }
    double gb = (double)B * M * 4 / 1e9;
    printf("B=%d M=%d K=%d dead=%d offset=%d shared bytes=%d block=%d: %.4f ms/launch (%.0f GB/s of pre), %s\n", B, M, K, dead, offset, shared, block, ms, gb / (ms / 1e3), bad ? "MISMATCH" : "exact");
    cudaFree(base); cudaFree(rp); cudaFree(idx); cudaFree(val); cudaFree(lf);
    return bad;
}
int main() {
    int dev = 0, maxShared = 0; cudaDeviceGetAttribute(&maxShared, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev);
    printf("max shared optin %d\n", maxShared);
    int bad = 0;
    bad += run(4096, 24576, 32, false, 0, maxShared, false, 20);
    bad += run(4096, 24576, 32, false, 1, maxShared, false, 5);
    bad += run(4096, 24576, 512, true, 0, maxShared, false, 5);
    bad += run(4096, 36864, 64, false, 0, maxShared, false, 20);
    bad += run(4096, 36867, 64, true, 3, maxShared, false, 5);
    bad += run(256, 262144, 32, false, 2, maxShared, false, 5);
    bad += run(4096, 24576, 32, false, 0, maxShared, true, 5);  // the global-memory path at the production width
    printf(bad ? "FAILED\n" : "ALL EXACT\n");
    return bad != 0;
}
