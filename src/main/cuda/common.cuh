// common.cuh: the warp and block reductions, the full-warp mask and the one-block scan shared by core.cu,
// activation.cu and sparse.cu (each includes it; kernels.mk rebuilds every PTX when it changes). The host emulation
// (src/test/cuda-emu/cuda_emu.h) compiles it too. Everything here is inlined into its callers: no __shared__ array
// lives in a helper (a static function's would be named after a hash of the source's absolute path, and the
// committed PTX would differ between checkouts), so the caller declares the scratch and passes it in.

#ifndef SAE_TRAIN_COMMON_CUH
#define SAE_TRAIN_COMMON_CUH

#define FULL_MASK 0xffffffffu

// A kernel's dynamic shared memory as an array `name` of T, 16-byte aligned (its size is the launch's sharedBytes).
// The host emulation defines its own.
#ifndef DYNAMIC_SHARED
#define DYNAMIC_SHARED(T, name) extern __shared__ __align__(16) T name[]
#endif

// Sum over the 32 lanes of a warp by a butterfly (__shfl_xor_sync); every lane gets the total. Lane 0 adds in the
// same order as a __shfl_down_sync tree (offsets 16, 8, 4, 2, 1), so its value is that tree's bit for bit.
template <typename T>
static __device__ __forceinline__ T warp_sum(T v) {
    for (int o = 16; o > 0; o >>= 1) {
        v += __shfl_xor_sync(FULL_MASK, v, o);
    }
    return v;
}

// The first stage of both block sums: scratch[w] = warp w's sum (warp_sum's lane 0), then a barrier.
template <typename T>
static __device__ __forceinline__ void warp_sums_to_scratch(T v, T* scratch) {
    v = warp_sum(v);
    if ((threadIdx.x & 31) == 0) {
        scratch[threadIdx.x >> 5] = v;
    }
    __syncthreads();
}

// Sum of one value per thread over the block, valid in thread 0 only: each warp's sum (warp_sum), then thread 0
// adds the warp sums in warp order. scratch: __shared__ T[32]. Every thread of the block calls it; blockDim.x is a
// multiple of 32. Ends with a barrier, so the scratch can be reused at once.
template <typename T>
static __device__ __forceinline__ T block_sum(T v, T* scratch) {
    warp_sums_to_scratch(v, scratch);
    T s = 0;
    if (threadIdx.x == 0) {
        for (int w = 0; w < (int)(blockDim.x >> 5); w++) {
            s += scratch[w];
        }
    }
    __syncthreads();
    return s;
}

// Sum of one value per thread over the block, and every thread gets it: each warp's sum, then warp 0 adds the warp
// sums by warp_sum (a tree, not block_sum's order; core.cu's double reductions keep the order they have always had).
// scratch: __shared__ T[32]. Every thread of the block calls it; blockDim.x is a multiple of 32. Ends with a
// barrier, so the scratch can be reused at once.
template <typename T>
static __device__ __forceinline__ T block_sum_all(T v, T* scratch) {
    warp_sums_to_scratch(v, scratch);
    const int lane = threadIdx.x & 31;
    if (threadIdx.x < 32) {  // warp 0
        T t = lane < (int)(blockDim.x >> 5) ? scratch[lane] : (T)0;
        t = warp_sum(t);
        if (lane == 0) {
            scratch[0] = t;
        }
    }
    __syncthreads();
    T t = scratch[0];
    __syncthreads();
    return t;
}

// Exclusive scan by one block of n long long values produced by value(i) (a functor), handed to store(i, prefix)
// in index order; returns the total (all threads). Thread t owns the contiguous range [t*per, (t+1)*per).
// scratch: __shared__ long long[1024 + 1]; blockDim.x <= 1024.
template <typename Value, typename Store>
static __device__ long long block_scan(long long n, Value value, Store store, long long* scratch) {
    const long long threads = blockDim.x;
    const long long per = (n + threads - 1) / threads;
    const long long lo = threadIdx.x * per;
    const long long hi = lo + per < n ? lo + per : n;
    long long local = 0;
    for (long long i = lo; i < hi; i++) {
        local += value(i);
    }
    scratch[threadIdx.x] = local;
    __syncthreads();
    if (threadIdx.x == 0) {
        long long run = 0;
        for (int t = 0; t < (int)blockDim.x; t++) {
            long long c = scratch[t];
            scratch[t] = run;
            run += c;
        }
        scratch[1024] = run;
    }
    __syncthreads();
    long long run = scratch[threadIdx.x];
    for (long long i = lo; i < hi; i++) {
        long long v = value(i);
        store(i, run);
        run += v;
    }
    long long total = scratch[1024];
    __syncthreads();
    return total;
}

#endif  // SAE_TRAIN_COMMON_CUH
