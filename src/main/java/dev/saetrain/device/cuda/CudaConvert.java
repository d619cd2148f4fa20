package dev.saetrain.device.cuda;

import dev.saetrain.io.DType;
import java.util.List;

/**
 * Input rows in their stored dtype (fp16, bf16, fp32) to fp32 on the device, times a scale factor
 * ({@code src/main/cuda/convert.cu}). The values are those of the CPU reader ({@code data/RowConversion}):
 * fp16 widened exactly as {@link dev.saetrain.io.Half#f16ToFloat}, bf16 as {@link dev.saetrain.io.Half#bf16ToFloat},
 * then one round-to-nearest fp32 multiply by the scale (fp32 with scale 1 is copied bit for bit); bit for bit the
 * same on every finite and infinite input. NaN stays NaN, but its payload is the GPU's canonical one.
 */
public final class CudaConvert {
    /** convert_rows_&lt;dtype&gt;(raw, out float [count], count, scale). */
    public static final KernelSpec F32 = spec("convert_rows_f32");
    public static final KernelSpec F16 = spec("convert_rows_f16");
    public static final KernelSpec BF16 = spec("convert_rows_bf16");

    /** Every kernel this class launches (checked against the PTX by KernelSignatureTest). */
    public static final List<KernelSpec> KERNELS = List.of(F32, F16, BF16);

    private final CudaRuntime rt;

    public CudaConvert(CudaRuntime rt) {
        this.rt = rt;
    }

    private static KernelSpec spec(String name) {
        return KernelSpec.of("convert", name, Param.PTR, Param.PTR, Param.I64, Param.F32);
    }

    /** The kernel for a stored dtype; F32, F16 and BF16 only. */
    public static KernelSpec kernel(DType dtype) {
        return switch (dtype) {
            case F32 -> F32;
            case F16 -> F16;
            case BF16 -> BF16;
            default -> throw new IllegalArgumentException("no conversion from " + dtype + " rows to fp32");
        };
    }

    /** out[0..count) = scale * (float) raw[0..count), raw holding {@code count} elements of {@code dtype}. */
    public void toFloat(DevPtr raw, DType dtype, long count, float scale, CudaFloatBuf out) {
        KernelSpec kernel = kernel(dtype);
        if (count < 0 || count > out.size()) {
            throw new IllegalArgumentException("conversion of " + count + " elements into a buffer of " + out.size());
        }
        if (raw == null || raw.address() % dtype.bytes() != 0) {
            throw new IllegalArgumentException("raw " + dtype + " rows need a device address aligned to "
                    + dtype.bytes() + " bytes, got " + (raw == null ? "null" : Long.toHexString(raw.address())));
        }
        if (count == 0) {
            return;
        }
        rt.launch(kernel, GridStride.blocks(count, rt.multiprocessors()), 1, GridStride.THREADS, 0,
                raw, out, count, scale);
    }
}
