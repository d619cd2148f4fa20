package dev.saetrain.device.cuda;

/**
 * Dense products through cuBLAS ({@link CublasShim}: libcublas.so.13 or .so.12): cublasGemmEx with fp32 A, B, C,
 * TF32 compute ({@link #CUBLAS_COMPUTE_32F_FAST_TF32}: inputs rounded to a 10-bit mantissa, fp32 accumulation), on
 * the stream given at load, which is the runtime's compute stream, so products and kernels run in call order.
 * Same contract as {@link CudaRuntime#gemm}: row-major C [m, n] = alpha op(A) op(B) + beta C, row strides as stored.
 *
 * <p>The handle belongs to the CUDA context current when {@link #tryLoad} ran (the runtime's primary context); every
 * call must run with that context current on the calling thread, which JCudaRuntime's bind() ensures. A cuBLAS
 * status other than success throws {@link IllegalStateException} naming the call and the status.
 */
final class CublasGemm implements AutoCloseable {
    /** cublasOperation_t (cublas_api.h). */
    static final int CUBLAS_OP_N = 0;
    static final int CUBLAS_OP_T = 1;
    /** cublasComputeType_t (cublas_api.h): fp32 accumulation, inputs rounded to TF32 on tensor cores. */
    static final int CUBLAS_COMPUTE_32F_FAST_TF32 = 77;

    private static String failure = "cuBLAS not tried";

    private final long handle;
    private final String description;
    private boolean closed;

    private CublasGemm(long handle, String description) {
        this.handle = handle;
        this.description = description;
    }

    /**
     * The arguments of the column-major cuBLAS call that computes a row-major product, named as cuBLAS names them.
     * A row-major matrix [r, c] with row stride ld is, read column-major, its transpose [c, r] with column stride
     * ld; so row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T: cuBLAS gets row-major B as its A and
     * row-major A as its B, each with its own transpose flag and stride, and the sizes (n, m, k).
     *
     * @param transa cuBLAS's op of its A (row-major B's flag)
     * @param transb cuBLAS's op of its B (row-major A's flag)
     * @param m      rows of cuBLAS's C: the row-major n
     * @param n      columns of cuBLAS's C: the row-major m
     * @param k      the inner size
     * @param a      cuBLAS's A: the row-major B's address
     * @param lda    column stride of cuBLAS's A: the row-major ldb
     * @param b      cuBLAS's B: the row-major A's address
     * @param ldb    column stride of cuBLAS's B: the row-major lda
     * @param c      C's address
     * @param ldc    column stride of cuBLAS's C: the row-major ldc
     */
    record ColumnMajorCall(int transa, int transb, int m, int n, int k, long a, int lda, long b, int ldb, long c,
                           int ldc) {
        /** The call for row-major C [m, n] = op(A) op(B); transpose flags, addresses and row strides as stored. */
        static ColumnMajorCall of(boolean transA, boolean transB, int m, int n, int k, long a, int lda, long b, int ldb,
                                  long c, int ldc) {
            return new ColumnMajorCall(transB ? CUBLAS_OP_T : CUBLAS_OP_N, transA ? CUBLAS_OP_T : CUBLAS_OP_N, n, m,
                    k, b, ldb, a, lda, c, ldc);
        }
    }

    /** Why cuBLAS is not used, for the log and {@code gemmPath}; "cuBLAS not tried" before the first try. */
    static synchronized String lastFailure() {
        return failure;
    }

    /**
     * cuBLAS with its work queued on {@code stream}, or null when it cannot be used; then the reason is kept for
     * {@link #lastFailure} (and the caller logs it). Needs the CUDA context current. {@code -Dsaetrain.gemm=kernel}
     * declines it; {@code searchPath} (':'-separated folders, may be null) is tried before the library path.
     */
    static synchronized CublasGemm tryLoad(long stream, String searchPath) {
        if ("kernel".equals(System.getProperty("saetrain.gemm"))) {
            failure = "cuBLAS not used: -Dsaetrain.gemm=kernel";
            return null;
        }
        String shim = CublasShim.loadShim();
        if (shim != null) {
            failure = "cuBLAS not loaded: " + shim;
            return null;
        }
        String open = CublasShim.openCublas(CublasShim.candidates(searchPath,
                CublasShim.toolkitFolders(CublasShim.TOOLKIT_ROOT)));
        if (open != null) {
            failure = "cuBLAS not loaded: dlopen: " + open + " (put the folder holding CUDA 13's libcublas.so.13 or "
                    + "CUDA 12's libcublas.so.12 on LD_LIBRARY_PATH or " + CublasShim.PATH_ENV + ")";
            return null;
        }
        long[] h = {0};
        int s = CublasShim.create(h);
        if (s != 0) {
            failure = "cuBLAS not usable: " + callFailed("cublasCreate_v2", s) + " (" + CublasShim.libraryFile() + ")";
            return null;
        }
        try {
            check(CublasShim.setStream(h[0], stream), "cublasSetStream_v2");
            check(CublasShim.setPointerModeHost(h[0]), "cublasSetPointerMode_v2");
            int[] v = {0};
            check(CublasShim.getVersion(h[0], v), "cublasGetVersion_v2");
            return new CublasGemm(h[0], "cuBLAS " + CublasShim.versionString(v[0]) + " (cublasGemmEx, TF32 inputs, "
                    + "fp32 accumulation; " + CublasShim.libraryFile() + ")");
        } catch (IllegalStateException e) {
            failure = "cuBLAS not usable: " + e.getMessage();
            int d = CublasShim.destroy(h[0]);
            if (d != 0) {
                failure += "; then " + callFailed("cublasDestroy_v2", d);
            }
            return null;
        }
    }

    /** e.g. "cuBLAS 13.0.2 (cublasGemmEx, TF32 inputs, fp32 accumulation; /path/libcublas.so.13)". */
    String description() {
        return description;
    }

    /** Row-major C = alpha op(A) op(B) + beta C on device addresses; arguments checked by the caller (k >= 1). */
    void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha, long a, int lda, long b, int ldb,
              float beta, long c, int ldc) {
        if (closed) {
            throw new IllegalStateException("cuBLAS handle used after close");
        }
        ColumnMajorCall call = ColumnMajorCall.of(transA, transB, m, n, k, a, lda, b, ldb, c, ldc);
        int s = CublasShim.gemmEx(handle, call.transa(), call.transb(), call.m(), call.n(), call.k(), alpha, call.a(),
                call.lda(), call.b(), call.ldb(), beta, call.c(), call.ldc(), CUBLAS_COMPUTE_32F_FAST_TF32);
        if (s != 0) {
            throw new IllegalStateException(callFailed("cublasGemmEx", s) + " for row-major C [" + m + ", " + n
                    + "] = " + (transA ? "A^T" : "A") + " " + (transB ? "B^T" : "B") + ", k = " + k + ", lda = " + lda
                    + ", ldb = " + ldb + ", ldc = " + ldc);
        }
    }

    /** cublasDestroy_v2; the caller synchronizes first. */
    @Override
    public void close() {
        if (!closed) {
            closed = true;
            check(CublasShim.destroy(handle), "cublasDestroy_v2");
        }
    }

    private static void check(int status, String call) {
        if (status != 0) {
            throw new IllegalStateException(callFailed(call, status));
        }
    }

    /** "CALL failed: CUBLAS_STATUS_... (description)". */
    static String callFailed(String call, int status) {
        String text = status == -1 ? "no cuBLAS library loaded" : CublasShim.statusText(status);
        return call + " failed: " + (text != null ? text : "status " + status);
    }
}
