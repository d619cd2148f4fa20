package dev.saetrain.device.cuda;

import java.util.List;

/**
 * Philox-4x32-10 on the GPU ({@code src/main/cuda/philox.cu}): the same counter-based stream as
 * {@link dev.saetrain.model.Philox}, so initial weights and resampling agree across devices for one seed.
 */
public final class CudaPhilox {
    /** Every kernel this class launches (checked against the PTX by KernelSignatureTest). */
    public static final List<KernelSpec> KERNELS = List.of();

    private final CudaRuntime rt;

    public CudaPhilox(CudaRuntime rt) {
        this.rt = rt;
    }

    /** out[0..n) = the values {@link dev.saetrain.model.Philox#fillNormal} writes for (seed, stream). */
    public void fillNormal(long seed, long stream, CudaFloatBuf out, long n) {
        throw new UnsupportedOperationException("CUDA Philox: not written yet");
    }
}
