// Tiled tensor-core GEMM for fp32 data: C = alpha op(A) op(B) + beta C, row-major, any m, n, k and row strides.
//
// Inputs are rounded to TF32 (cvt.rna.tf32.f32: 10-bit mantissa, round to nearest, ties away) when a tile is
// stored to shared memory, multiplied by mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 and accumulated in
// fp32. TF32 keeps the fp32 exponent range, so no scaling is needed and the data never leave fp32 in memory.
//
// Tiling (mirrored in CudaGemm / GemmTiling on the Java side, which unit-tests the arithmetic):
//   block tile BM x BN x BK = 128 x 128 x 16, 256 threads = 8 warps as 2 (m) x 4 (n), warp tile 64 x 32 =
//   4 x 4 mma tiles of 16 x 8; double-buffered shared tiles, the next K slice loaded into registers while the
//   tensor cores work on the current one, one __syncthreads per K slice.
//   Blocks are numbered linearly (blockIdx.y * gridDim.x + blockIdx.x, 64-bit) and mapped to (tile_m, tile_n)
//   in groups of GROUP_M tile rows, so blocks running together share A and B tiles in L2.
//
// An operand tile is stored in shared memory the way it lies in global memory: "outer-major" [128][BK + 4]
// when its K index is contiguous (A not transposed, B transposed: the encoder's NT product) and "k-major"
// [BK][128 + 8] when its m / n index is contiguous (A transposed, B not). Either padding makes the mma
// fragment reads conflict-free. Outer-major fragments are read with ldmatrix.x4 (an 8x4 tf32 matrix is an 8x8
// b16 one: lane l gets the 32-bit element (l / 4, l % 4), which is the mma fragment layout), so the encoder's NT
// product needs 6 shared-memory instructions per warp for 16 mma; k-major fragments are read one word at a time. Global loads are float4 when the row stride is a multiple of 4 and the base
// is 16-byte aligned, else scalar; out-of-range elements (edge tiles) load as zero.
//
// Layout conventions: element (i, l) of op(A) [m, k] is A[i * lda + l] (A as stored [m, k]) or A[l * lda + i]
// (transposed: A as stored [k, m]); element (l, j) of op(B) [k, n] is B[l * ldb + j] or B[j * ldb + l].
// Any index that multiplies two dimensions is 64-bit. beta == 0 writes C without reading it (NaN in C is
// overwritten), as BLAS does.
//
// Reproducible PTX: nvcc names internal-linkage symbols that survive into the PTX (a static function's
// __shared__ array, a non-inlined static function) with a hash of the source file's absolute path, so the
// shared tile is declared in the extern "C" entry points, whose names do not depend on where the file lies.

#define GEMM_BM 128
#define GEMM_BN 128
#define GEMM_BK 16
#define GEMM_THREADS 256
#define GEMM_GROUP_M 8
#define OM_STRIDE (GEMM_BK + 4)     // outer-major row stride (floats): 20
#define KM_STRIDE (GEMM_BM + 8)     // k-major row stride (floats): 136
#define TILE_FLOATS (GEMM_BM * OM_STRIDE)  // 2560 >= GEMM_BK * KM_STRIDE = 2176

#ifndef GEMM_HOST_EMULATION  // src/test/cuda/gemm_emulation.cpp supplies these three on the host
static __device__ __forceinline__ unsigned int to_tf32(float x) {
    unsigned int r;
    asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(r) : "f"(x));
    return r;
}

static __device__ __forceinline__ void mma_tf32(float* c, const unsigned int* a, unsigned int b0, unsigned int b1) {
    asm("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// Four 8x8 b16 matrices from shared memory = four 8x4 tf32 matrices: lane l receives element (l / 4, l % 4) of
// matrix q in r[q]; lanes 8q .. 8q + 7 give the addresses of matrix q's 8 rows (16 bytes each, 16-byte aligned).
static __device__ __forceinline__ void ldmatrix_x4(unsigned int* r, const unsigned int* p) {
    unsigned int addr = (unsigned int)__cvta_generic_to_shared(p);
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(addr));
}
#endif

// One operand (A or B) of the product: `outer` rows (m for A, n for B) by `inner` = k columns, stored with
// the K index contiguous (KCONTIG: outer-major) or the outer index contiguous (k-major), row stride ld.
// Each thread moves two groups of 4 elements along the contiguous index per K slice.
template <bool KCONTIG>
struct Operand {
    const float* p;
    long long ld;
    int outer;
    int inner;
    bool vec;

    // Loads the 8 elements this thread moves for the tile at (outer0, k0) into v.
    __device__ __forceinline__ void load(float* v, int outer0, int k0, int tid) const {
#pragma unroll
        for (int i = 0; i < 2; i++) {
            int g = i * GEMM_THREADS + tid;
            int o, kk;
            if (KCONTIG) {
                o = g >> 2;
                kk = (g & 3) * 4;
            } else {
                o = (g & 31) * 4;
                kk = g >> 5;
            }
            int go = outer0 + o;
            int gk = k0 + kk;
            // the contiguous index runs over 4 consecutive elements
            int row = KCONTIG ? go : gk;
            int col = KCONTIG ? gk : go;
            int rowLimit = KCONTIG ? outer : inner;
            int colLimit = KCONTIG ? inner : outer;
            const float* src = p + (long long)row * ld + col;
            if (row < rowLimit && vec && col + 3 < colLimit) {
                float4 q = __ldg(reinterpret_cast<const float4*>(src));
                v[4 * i] = q.x;
                v[4 * i + 1] = q.y;
                v[4 * i + 2] = q.z;
                v[4 * i + 3] = q.w;
            } else {
#pragma unroll
                for (int j = 0; j < 4; j++) {
                    v[4 * i + j] = (row < rowLimit && col + j < colLimit) ? __ldg(src + j) : 0.0f;
                }
            }
        }
    }

    // Stores the 8 elements (as TF32 bit patterns) into the shared tile s.
    __device__ __forceinline__ static void store(unsigned int* s, const float* v, int tid) {
#pragma unroll
        for (int i = 0; i < 2; i++) {
            int g = i * GEMM_THREADS + tid;
            int at = KCONTIG ? (g >> 2) * OM_STRIDE + (g & 3) * 4 : (g >> 5) * KM_STRIDE + (g & 31) * 4;
            uint4 q = make_uint4(to_tf32(v[4 * i]), to_tf32(v[4 * i + 1]), to_tf32(v[4 * i + 2]),
                                 to_tf32(v[4 * i + 3]));
            *reinterpret_cast<uint4*>(s + at) = q;
        }
    }

    // Element (o, kk) of the shared tile.
    __device__ __forceinline__ static unsigned int at(const unsigned int* s, int o, int kk) {
        return KCONTIG ? s[o * OM_STRIDE + kk] : s[kk * KM_STRIDE + o];
    }

    // The A fragment of one m16n8k8 product (this operand as A): rows o0 .. o0 + 16, k ks .. ks + 8;
    // f[0] = (g, t), f[1] = (g + 8, t), f[2] = (g, t + 4), f[3] = (g + 8, t + 4), g = lane / 4, t = lane % 4.
    __device__ __forceinline__ static void frag_a(unsigned int* f, const unsigned int* s, int o0, int ks, int lane) {
        if constexpr (KCONTIG) {
            // four 8x4 tf32 (= 8x8 b16) matrices; lanes 8q .. 8q + 7 give the row addresses of matrix q
            int row = o0 + (lane & 7) + ((lane >> 3) & 1) * 8;
            int col = ks + (lane >> 4) * 4;
            ldmatrix_x4(f, s + row * OM_STRIDE + col);
        } else {
            int g = lane >> 2;
            int t = lane & 3;
            f[0] = at(s, o0 + g, ks + t);
            f[1] = at(s, o0 + g + 8, ks + t);
            f[2] = at(s, o0 + g, ks + t + 4);
            f[3] = at(s, o0 + g + 8, ks + t + 4);
        }
    }

    // The B fragments of two m16n8k8 products (this operand as B), columns o0 .. o0 + 8 and o0 + 8 .. o0 + 16,
    // k ks .. ks + 8: f[0], f[1] = (k = t, n = g), (k = t + 4, n = g) of the first; f[2], f[3] of the second.
    __device__ __forceinline__ static void frag_b2(unsigned int* f, const unsigned int* s, int o0, int ks, int lane) {
        if constexpr (KCONTIG) {
            int row = o0 + (lane & 7) + (lane >> 4) * 8;
            int col = ks + ((lane >> 3) & 1) * 4;
            ldmatrix_x4(f, s + row * OM_STRIDE + col);
        } else {
            int g = lane >> 2;
            int t = lane & 3;
            f[0] = at(s, o0 + g, ks + t);
            f[1] = at(s, o0 + g, ks + t + 4);
            f[2] = at(s, o0 + 8 + g, ks + t);
            f[3] = at(s, o0 + 8 + g, ks + t + 4);
        }
    }
};

template <bool TRANS_A, bool TRANS_B>
static __device__ __forceinline__ void gemm_tf32_body(int m, int n, int k, float alpha, const float* a, int lda,
                                                      const float* b, int ldb, float beta, float* c, int ldc,
                                                      int tiles_m, int tiles_n,
                                                      unsigned int (*smem)[2][TILE_FLOATS]) {

    long long tile = (long long)blockIdx.y * gridDim.x + blockIdx.x;
    long long tiles = (long long)tiles_m * tiles_n;
    if (tile >= tiles) {
        return;  // uniform per block, before any barrier
    }
    long long group_span = (long long)GEMM_GROUP_M * tiles_n;
    long long group = tile / group_span;
    long long first_m = group * GEMM_GROUP_M;
    int group_rows = (int)min((long long)GEMM_GROUP_M, (long long)tiles_m - first_m);
    long long in_group = tile - group * group_span;
    int tile_m = (int)(first_m + in_group % group_rows);
    int tile_n = (int)(in_group / group_rows);
    int m0 = tile_m * GEMM_BM;
    int n0 = tile_n * GEMM_BN;

    // A is K-contiguous unless transposed; B is K-contiguous only when transposed.
    Operand<!TRANS_A> opa;
    opa.p = a;
    opa.ld = lda;
    opa.outer = m;
    opa.inner = k;
    opa.vec = ((lda & 3) == 0) && ((reinterpret_cast<unsigned long long>(a) & 15) == 0);
    Operand<TRANS_B> opb;
    opb.p = b;
    opb.ld = ldb;
    opb.outer = n;
    opb.inner = k;
    opb.vec = ((ldb & 3) == 0) && ((reinterpret_cast<unsigned long long>(b) & 15) == 0);

    int tid = threadIdx.x;
    int lane = tid & 31;
    int warp = tid >> 5;
    int warp_m = (warp >> 2) * 64;  // 2 warps along m
    int warp_n = (warp & 3) * 32;   // 4 warps along n
    int gid = lane >> 2;            // mma groupID
    int tig = lane & 3;             // mma threadID_in_group

    float acc[4][4][4];
#pragma unroll
    for (int i = 0; i < 4; i++) {
#pragma unroll
        for (int j = 0; j < 4; j++) {
#pragma unroll
            for (int r = 0; r < 4; r++) {
                acc[i][j][r] = 0.0f;
            }
        }
    }

    float va[8];
    float vb[8];
    int k_tiles = (k + GEMM_BK - 1) / GEMM_BK;
    if (k_tiles > 0) {
        opa.load(va, m0, 0, tid);
        opb.load(vb, n0, 0, tid);
        Operand<!TRANS_A>::store(smem[0][0], va, tid);
        Operand<TRANS_B>::store(smem[0][1], vb, tid);
    }
    __syncthreads();

    for (int kt = 0; kt < k_tiles; kt++) {
        int stage = kt & 1;
        bool more = kt + 1 < k_tiles;
        if (more) {
            opa.load(va, m0, (kt + 1) * GEMM_BK, tid);
            opb.load(vb, n0, (kt + 1) * GEMM_BK, tid);
        }
        const unsigned int* sa = smem[stage][0];
        const unsigned int* sb = smem[stage][1];
#pragma unroll
        for (int ks = 0; ks < GEMM_BK; ks += 8) {
            unsigned int fa[4][4];
            unsigned int fb[2][4];  // fb[p] holds the fragments of n tiles 2p and 2p + 1
#pragma unroll
            for (int i = 0; i < 4; i++) {
                Operand<!TRANS_A>::frag_a(fa[i], sa, warp_m + i * 16, ks, lane);
            }
#pragma unroll
            for (int p = 0; p < 2; p++) {
                Operand<TRANS_B>::frag_b2(fb[p], sb, warp_n + p * 16, ks, lane);
            }
#pragma unroll
            for (int i = 0; i < 4; i++) {
#pragma unroll
                for (int j = 0; j < 4; j++) {
                    mma_tf32(acc[i][j], fa[i], fb[j >> 1][2 * (j & 1)], fb[j >> 1][2 * (j & 1) + 1]);
                }
            }
        }
        if (more) {
            Operand<!TRANS_A>::store(smem[stage ^ 1][0], va, tid);
            Operand<TRANS_B>::store(smem[stage ^ 1][1], vb, tid);
        }
        __syncthreads();
    }

    // Epilogue: accumulator r of tile (i, j) is C[row][col] with row = gid (+8 for r >= 2), col = 2 tig (+1 odd r).
#pragma unroll
    for (int i = 0; i < 4; i++) {
#pragma unroll
        for (int half = 0; half < 2; half++) {
            int row = m0 + warp_m + i * 16 + gid + half * 8;
            if (row >= m) {
                continue;
            }
            float* crow = c + (long long)row * ldc;
#pragma unroll
            for (int j = 0; j < 4; j++) {
#pragma unroll
                for (int e = 0; e < 2; e++) {
                    int col = n0 + warp_n + j * 8 + 2 * tig + e;
                    if (col < n) {
                        float v = alpha * acc[i][j][2 * half + e];
                        crow[col] = beta == 0.0f ? v : v + beta * crow[col];
                    }
                }
            }
        }
    }
}

#define GEMM_ENTRY(NAME, TA, TB)                                                                              \
    extern "C" __global__ void __launch_bounds__(GEMM_THREADS, 2)                                             \
        NAME(int m, int n, int k, float alpha, const float* __restrict__ a, int lda,                          \
             const float* __restrict__ b, int ldb, float beta, float* __restrict__ c, int ldc, int tiles_m,   \
             int tiles_n) {                                                                                  \
        __shared__ __align__(16) unsigned int smem[2][2][TILE_FLOATS]; /* [stage][A, B][tile]: 40 KiB */   \
        gemm_tf32_body<TA, TB>(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, tiles_m, tiles_n, smem);       \
    }

// gemm_tf32_<op(A)><op(B)>: n = as stored, t = transposed.
GEMM_ENTRY(gemm_tf32_nn, false, false)
GEMM_ENTRY(gemm_tf32_nt, false, true)
GEMM_ENTRY(gemm_tf32_tn, true, false)
GEMM_ENTRY(gemm_tf32_tt, true, true)
