// A minimal host emulation of the CUDA features activation.cu, sparse.cu and core.cu use, so their kernels can be run and
// checked on a machine without a GPU (a development aid; the real check is the cuda-tagged suite on a GPU).
// One block runs at a time with one std::thread per CUDA thread: __shared__ becomes a function-static (shared by
// the block's threads), __syncthreads a std::barrier, warp intrinsics an exchange through per-warp slots and a
// barrier, atomics a global mutex. Threads that return drop out of both barriers, as exited threads do on a GPU.
#pragma once
#include <algorithm>
#include <barrier>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __restrict__ __restrict
#define __shared__ static
#define __align__(n) __attribute__((aligned(n)))
// Dynamic shared memory: the buffer emu_launch_shared sizes for the launch (one block runs at a time).
#define DYNAMIC_SHARED(T, name) T* name = reinterpret_cast<T*>(emu_dynamic_shared)
inline unsigned char* emu_dynamic_shared;

struct alignas(16) float4 {
    float x, y, z, w;
};
struct alignas(16) uint4 {
    unsigned int x, y, z, w;
};
inline float4 make_float4(float x, float y, float z, float w) { return float4{x, y, z, w}; }
using std::max;
using std::min;

struct EmuDim {
    unsigned int x = 0, y = 1, z = 1;
};
inline thread_local EmuDim threadIdx;
inline thread_local EmuDim blockIdx;
inline EmuDim blockDim;
inline EmuDim gridDim;

struct EmuWarp {
    std::barrier<> bar{32};
    uint64_t slot[32];
};
inline EmuWarp* emu_warps;
inline std::barrier<>* emu_block_bar;
inline std::mutex emu_atomic_mutex;

inline void __syncthreads() { emu_block_bar->arrive_and_wait(); }
inline int emu_lane() { return threadIdx.x & 31; }
inline EmuWarp& emu_warp() { return emu_warps[threadIdx.x >> 5]; }

template <class T> inline uint64_t emu_bits(T v) { uint64_t b = 0; std::memcpy(&b, &v, sizeof(T)); return b; }
template <class T> inline T emu_from(uint64_t b) { T v; std::memcpy(&v, &b, sizeof(T)); return v; }

template <class T> inline T emu_exchange(T v, int src) {
    EmuWarp& w = emu_warp();
    w.slot[emu_lane()] = emu_bits(v);
    w.bar.arrive_and_wait();
    T r = emu_from<T>(w.slot[src]);
    w.bar.arrive_and_wait();
    return r;
}
template <class T> inline T __shfl_down_sync(unsigned, T v, int d) {
    int src = emu_lane() + d;
    return emu_exchange(v, src < 32 ? src : emu_lane());
}
template <class T> inline T __shfl_up_sync(unsigned, T v, int d) {
    int src = emu_lane() - d;
    return emu_exchange(v, src >= 0 ? src : emu_lane());
}
template <class T> inline T __shfl_xor_sync(unsigned, T v, int m) { return emu_exchange(v, emu_lane() ^ m); }
inline unsigned int emu_gather(uint64_t mine, bool (*same)(uint64_t, uint64_t)) {
    EmuWarp& w = emu_warp();
    w.slot[emu_lane()] = mine;
    w.bar.arrive_and_wait();
    unsigned int mask = 0;
    for (int l = 0; l < 32; l++) {
        if (same(w.slot[l], mine)) mask |= 1u << l;
    }
    w.bar.arrive_and_wait();
    return mask;
}
inline unsigned int __ballot_sync(unsigned, bool p) {
    return emu_gather(p ? 1 : 0, [](uint64_t a, uint64_t) { return a == 1; });
}
inline unsigned int __match_any_sync(unsigned, unsigned int v) {
    return emu_gather(v, [](uint64_t a, uint64_t b) { return a == b; });
}
inline int __popc(unsigned int x) { return __builtin_popcount(x); }
inline int __ffs(unsigned int x) { return __builtin_ffs((int)x); }
inline unsigned int __float_as_uint(float v) { return emu_bits(v) & 0xffffffffu; }
inline float __uint_as_float(unsigned int u) { return emu_from<float>(u); }
inline double __dadd_rn(double a, double b) { return a + b; }
inline double __dsub_rn(double a, double b) { return a - b; }
inline double __dmul_rn(double a, double b) { return a * b; }
inline float __double2float_rn(double x) { return (float)x; }  // SSE cvtsd2ss: round to nearest even

template <class T> inline T atomicAdd(T* p, T v) {
    std::lock_guard<std::mutex> g(emu_atomic_mutex);
    T old = *p;
    *p = old + v;
    return old;
}

// Runs kernel<<<grid, block, sharedBytes>>>(args...) block by block; the dynamic shared memory is filled with a
// junk pattern before each block, as a GPU leaves it undefined.
template <class... P, class... A>
void emu_launch_shared(void (*kernel)(P...), unsigned grid, unsigned block, size_t shared_bytes, A... args) {
    std::vector<uint4> dyn(shared_bytes / 16 + 1);  // uint4: 16-byte aligned, as a GPU's shared memory
    emu_dynamic_shared = reinterpret_cast<unsigned char*>(dyn.data());
    blockDim = EmuDim{block, 1, 1};
    gridDim = EmuDim{grid, 1, 1};
    for (unsigned b = 0; b < grid; b++) {
        std::memset(dyn.data(), 0xa5 + b, dyn.size() * sizeof(uint4));
        std::barrier<> bar(block);
        std::unique_ptr<EmuWarp[]> warps(new EmuWarp[(block + 31) / 32]);
        emu_block_bar = &bar;
        emu_warps = warps.get();
        std::vector<std::thread> ts;
        for (unsigned t = 0; t < block; t++) {
            ts.emplace_back([&, t] {
                threadIdx = EmuDim{t, 0, 0};
                blockIdx = EmuDim{b, 0, 0};
                kernel(static_cast<P>(args)...);
                emu_warps[t >> 5].bar.arrive_and_drop();
                bar.arrive_and_drop();
            });
        }
        for (auto& t : ts) t.join();
    }
}

// Runs kernel<<<grid, block>>>(args...) block by block.
template <class... P, class... A> void emu_launch(void (*kernel)(P...), unsigned grid, unsigned block, A... args) {
    emu_launch_shared(kernel, grid, block, 0, args...);
}
