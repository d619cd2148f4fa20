package dev.saetrain.device.cuda;

/** The kind of one kernel parameter, as the PTX {@code .entry} declares it. */
public enum Param {
    /** A device pointer: {@code .param .u64 .ptr} in the PTX; passed as a {@link CudaFloatBuf}, {@link CudaIntBuf} or {@link DevPtr}. */
    PTR,
    /** {@code .param .u32} / {@code .s32}: passed as an {@link Integer}. */
    I32,
    /** {@code .param .u64} / {@code .s64} (not a pointer): passed as a {@link Long}. */
    I64,
    /** {@code .param .f32}: passed as a {@link Float}. */
    F32
}
