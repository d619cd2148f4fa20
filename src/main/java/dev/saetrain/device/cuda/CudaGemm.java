package dev.saetrain.device.cuda;

import java.util.List;

/**
 * The project's tiled tensor-core GEMM ({@code src/main/cuda/gemm.cu}), used for the dense products when
 * cuBLAS cannot be loaded. Same contract as {@link CudaRuntime#gemm}: row-major C [m, n] = alpha op(A) op(B)
 * + beta C with op(A) [m, k], op(B) [k, n], row strides lda / ldb / ldc of the matrices as stored.
 *
 * <p>Precision: inputs are rounded to TF32 (10-bit mantissa, cvt.rna) when a tile is staged in shared memory,
 * multiplied by {@code mma.sync.m16n8k8.tf32} and accumulated in fp32, so each product a_il b_lj carries a
 * relative error of at most about 2^-10 and the result an error below 2^-9 sum_l |a_il| |b_lj| (plus fp32
 * accumulation, k 2^-24 of the same sum). TF32 keeps the fp32 exponent range: no scaling, no overflow that fp32
 * would not have. beta == 0 writes C without reading it.
 *
 * <p>One kernel per transpose combination: {@code gemm_tf32_nn} (C = A B, the [B,m] x [m,d] decode),
 * {@code _nt} (A B^T, the encoder [B,d] x [m,d]^T), {@code _tn} (A^T B, the [B,m]^T x [B,d] weight gradient),
 * {@code _tt}. Tiling in {@link GemmTiling}. No scratch memory.
 */
public final class CudaGemm {
    private static final String MODULE = "gemm";
    private static final Param[] PARAMS = {
        Param.I32, Param.I32, Param.I32, Param.F32, // m, n, k, alpha
        Param.PTR, Param.I32, Param.PTR, Param.I32, // a, lda, b, ldb
        Param.F32, Param.PTR, Param.I32, // beta, c, ldc
        Param.I32, Param.I32 // tiles_m, tiles_n
    };
    public static final KernelSpec NN = KernelSpec.of(MODULE, "gemm_tf32_nn", PARAMS);
    public static final KernelSpec NT = KernelSpec.of(MODULE, "gemm_tf32_nt", PARAMS);
    public static final KernelSpec TN = KernelSpec.of(MODULE, "gemm_tf32_tn", PARAMS);
    public static final KernelSpec TT = KernelSpec.of(MODULE, "gemm_tf32_tt", PARAMS);

    /** Every kernel this class launches (checked against the PTX by KernelSignatureTest). */
    public static final List<KernelSpec> KERNELS = List.of(NN, NT, TN, TT);

    private final CudaRuntime rt;

    public CudaGemm(CudaRuntime rt) {
        this.rt = rt;
    }

    /** The kernel for a transpose combination. */
    public static KernelSpec kernel(boolean transA, boolean transB) {
        return transA ? (transB ? TT : TN) : (transB ? NT : NN);
    }

    /** Row-major C = alpha op(A) op(B) + beta C; see {@link CudaRuntime#gemm}. */
    public void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha, DevPtr a, int lda, DevPtr b,
                     int ldb, float beta, DevPtr c, int ldc) {
        checkArgs(transA, transB, m, n, k, a, lda, b, ldb, c, ldc);
        if (m == 0 || n == 0) {
            return;
        }
        GemmTiling t = GemmTiling.of(m, n);
        rt.launch(kernel(transA, transB), t.gridX(), t.gridY(), GemmTiling.THREADS, 0,
                m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, t.tilesM(), t.tilesN());
    }

    /**
     * Validates a product's shape and strides: sizes >= 0, pointers present, and each row stride at least the
     * row length of its matrix as stored (A stored [m, k], or [k, m] when transposed; B [k, n] or [n, k]; C [m, n]).
     */
    static void checkArgs(boolean transA, boolean transB, int m, int n, int k, DevPtr a, int lda, DevPtr b, int ldb,
                          DevPtr c, int ldc) {
        if (m < 0 || n < 0 || k < 0) {
            throw new IllegalArgumentException("GEMM sizes must be >= 0, got m = " + m + ", n = " + n + ", k = " + k);
        }
        if (m == 0 || n == 0) {
            return;
        }
        int aCols = transA ? m : k;
        int bCols = transB ? k : n;
        if (lda < Math.max(1, aCols)) {
            throw new IllegalArgumentException("GEMM lda = " + lda + " is below the row length " + aCols + " of A"
                    + (transA ? " (stored [k, m])" : " (stored [m, k])"));
        }
        if (ldb < Math.max(1, bCols)) {
            throw new IllegalArgumentException("GEMM ldb = " + ldb + " is below the row length " + bCols + " of B"
                    + (transB ? " (stored [n, k])" : " (stored [k, n])"));
        }
        if (ldc < n) {
            throw new IllegalArgumentException("GEMM ldc = " + ldc + " is below the row length " + n + " of C");
        }
        if (c == null || (k > 0 && (a == null || b == null))) {
            throw new IllegalArgumentException("GEMM needs device pointers for A, B and C");
        }
    }

    /**
     * Times this kernel on [m, k] x [k, n] products (op layouts as given, operands filled with a fixed pattern in
     * [-1, 1), beta = 0):
     * {@code warmup} untimed launches, then {@code iterations} timed ones between two
     * {@link CudaRuntime#synchronize}s. Returns TFLOP/s (2 m n k per product). For {@code bench --device cuda}.
     */
    public static double benchmarkTflops(CudaRuntime rt, boolean transA, boolean transB, int m, int n, int k,
                                         int warmup, int iterations) {
        if (m < 1 || n < 1 || k < 1 || iterations < 1 || warmup < 0) {
            throw new IllegalArgumentException("GEMM benchmark needs m, n, k, iterations >= 1 and warmup >= 0");
        }
        CudaGemm gemm = new CudaGemm(rt);
        int lda = transA ? m : k;
        int ldb = transB ? k : n;
        try (CudaFloatBuf a = rt.allocFloat((long) m * k);
             CudaFloatBuf b = rt.allocFloat((long) k * n);
             CudaFloatBuf c = rt.allocFloat((long) m * n)) {
            fillPattern(rt, a);
            fillPattern(rt, b);
            for (int i = 0; i < warmup; i++) {
                gemm.gemm(transA, transB, m, n, k, 1f, a.at(0), lda, b.at(0), ldb, 0f, c.at(0), n);
            }
            rt.synchronize();
            long t0 = System.nanoTime();
            for (int i = 0; i < iterations; i++) {
                gemm.gemm(transA, transB, m, n, k, 1f, a.at(0), lda, b.at(0), ldb, 0f, c.at(0), n);
            }
            rt.synchronize();
            double seconds = (System.nanoTime() - t0) * 1e-9;
            return GemmTiling.flops(m, n, k) * iterations / seconds / 1e12;
        }
    }

    /** Fills a buffer with a fixed non-trivial pattern in [-1, 1) (timings on all-zero data flatter the hardware). */
    private static void fillPattern(CudaRuntime rt, CudaFloatBuf buf) {
        int chunk = (int) Math.min(buf.size(), 1 << 20);
        float[] host = new float[chunk];
        for (int i = 0; i < chunk; i++) {
            host[i] = ((i * 2654435761L) % 2048) / 1024f - 1f;
        }
        for (long done = 0; done < buf.size(); done += chunk) {
            rt.upload(host, 0, buf, done, (int) Math.min(chunk, buf.size() - done));
        }
    }
}
