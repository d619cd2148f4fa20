package dev.saetrain.device.cuda;

import java.util.List;

/**
 * The project's tiled tensor-core GEMM ({@code src/main/cuda/gemm.cu}: mma.sync, bf16 or tf32 inputs, fp32
 * accumulation), used for the dense products when cuBLAS cannot be loaded. Same contract as
 * {@link CudaRuntime#gemm}.
 */
public final class CudaGemm {
    /** Every kernel this class launches (checked against the PTX by KernelSignatureTest). */
    public static final List<KernelSpec> KERNELS = List.of();

    private final CudaRuntime rt;

    public CudaGemm(CudaRuntime rt) {
        this.rt = rt;
    }

    /** Row-major C = alpha op(A) op(B) + beta C; see {@link CudaRuntime#gemm}. */
    public void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha, DevPtr a, int lda, DevPtr b,
                     int ldb, float beta, DevPtr c, int ldc) {
        throw new UnsupportedOperationException("CUDA GEMM kernel: not written yet");
    }
}
