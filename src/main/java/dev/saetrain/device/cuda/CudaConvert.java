package dev.saetrain.device.cuda;

import dev.saetrain.io.DType;
import java.util.List;

/** Input rows in their stored dtype (fp16, bf16, fp32) to fp32 on the device, times a scale factor ({@code src/main/cuda/convert.cu}). */
public final class CudaConvert {
    /** Every kernel this class launches (checked against the PTX by KernelSignatureTest). */
    public static final List<KernelSpec> KERNELS = List.of();

    private final CudaRuntime rt;

    public CudaConvert(CudaRuntime rt) {
        this.rt = rt;
    }

    /** out[0..count) = scale * (float) raw[0..count), raw holding {@code count} elements of {@code dtype}. */
    public void toFloat(DevPtr raw, DType dtype, long count, float scale, CudaFloatBuf out) {
        throw new UnsupportedOperationException("CUDA conversion: not written yet");
    }
}
