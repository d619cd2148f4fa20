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
// fragment reads conflict-free. Global loads are float4 when the row stride is a multiple of 4 and the base
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
            unsigned int fb[4][2];
#pragma unroll
            for (int i = 0; i < 4; i++) {
                int r = warp_m + i * 16 + gid;
                fa[i][0] = Operand<!TRANS_A>::at(sa, r, ks + tig);
                fa[i][1] = Operand<!TRANS_A>::at(sa, r + 8, ks + tig);
                fa[i][2] = Operand<!TRANS_A>::at(sa, r, ks + tig + 4);
                fa[i][3] = Operand<!TRANS_A>::at(sa, r + 8, ks + tig + 4);
            }
#pragma unroll
            for (int j = 0; j < 4; j++) {
                int col = warp_n + j * 8 + gid;
                fb[j][0] = Operand<TRANS_B>::at(sb, col, ks + tig);
                fb[j][1] = Operand<TRANS_B>::at(sb, col, ks + tig + 4);
            }
#pragma unroll
            for (int i = 0; i < 4; i++) {
#pragma unroll
                for (int j = 0; j < 4; j++) {
                    mma_tf32(acc[i][j], fa[i], fb[j][0], fb[j][1]);
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
