package dev.saetrain.device.cuda;

import dev.saetrain.device.FloatBuf;
import java.util.function.LongConsumer;

/** An fp32 buffer in device memory. Holds no JCuda type, so code outside {@code JCudaRuntime} can pass it around. */
public final class CudaFloatBuf extends CudaBuffer implements FloatBuf {
    public CudaFloatBuf(long address, long size, LongConsumer free) {
        super(address, size, free, Float.BYTES);
    }
}
