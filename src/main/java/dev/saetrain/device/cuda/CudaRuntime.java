package dev.saetrain.device.cuda;

/**
 * What the CUDA op classes need from the driver, with no JCuda type in sight: memory, copies, kernel launches
 * on the compute stream and the dense product. {@code JCudaRuntime} implements it over the JCuda driver API
 * (and cuBLAS through the project's shim, {@link CublasGemm}, when it loads); op classes
 * ({@link CudaActivationOps}, {@link CudaGemm}, ...) are written against this interface only. All work is queued
 * on one compute stream in call order.
 */
public interface CudaRuntime {
    /** A zero-filled fp32 buffer of {@code n} elements. */
    CudaFloatBuf allocFloat(long n);

    /** A zero-filled int32 buffer of {@code n} elements. */
    CudaIntBuf allocInt(long n);

    /**
     * Launches {@code kernel} on the compute stream with grid (gridX, gridY, 1), block (blockX, 1, 1) and
     * {@code sharedBytes} of dynamic shared memory. Each argument must match the spec's parameter at its
     * position: {@link Param#PTR} takes a {@link CudaFloatBuf}, {@link CudaIntBuf} or {@link DevPtr}
     * ({@code null} passes a null pointer), {@link Param#I32} an {@link Integer}, {@link Param#I64} a
     * {@link Long}, {@link Param#F32} a {@link Float}; anything else throws IllegalArgumentException.
     */
    void launch(KernelSpec kernel, long gridX, int gridY, int blockX, int sharedBytes, Object... args);

    void upload(float[] src, int srcOff, CudaFloatBuf dst, long dstOff, int n);

    void download(CudaFloatBuf src, long srcOff, float[] dst, int dstOff, int n);

    void uploadInt(int[] src, int srcOff, CudaIntBuf dst, long dstOff, int n);

    void downloadInt(CudaIntBuf src, long srcOff, int[] dst, int dstOff, int n);

    /** Sets {@code bytes} bytes from {@code dst} to zero (asynchronously on the compute stream). */
    void memsetZero(DevPtr dst, long bytes);

    /**
     * Row-major dense product C = alpha op(A) op(B) + beta C with C [m, n], op(A) [m, k], op(B) [k, n];
     * lda / ldb / ldc are the row strides (in elements) of A, B, C as stored. fp32 in and out; inside, cuBLAS
     * (TF32 or bf16 inputs, fp32 accumulation) when it loaded, else {@link CudaGemm}.
     */
    void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha, DevPtr a, int lda, DevPtr b, int ldb,
              float beta, DevPtr c, int ldc);

    /** Streaming multiprocessors on the device (grid sizing). */
    int multiprocessors();

    /** The most dynamic shared memory one block may ask for, in bytes. */
    int maxSharedBytesPerBlock();

    /** Waits for all queued work on every stream. */
    void synchronize();
}
