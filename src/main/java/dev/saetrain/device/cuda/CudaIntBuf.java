package dev.saetrain.device.cuda;

import dev.saetrain.device.IntBuf;
import java.util.function.LongConsumer;

/** An int32 buffer in device memory. Holds no JCuda type, so code outside {@code JCudaRuntime} can pass it around. */
public final class CudaIntBuf extends CudaBuffer implements IntBuf {
    public CudaIntBuf(long address, long size, LongConsumer free) {
        super(address, size, free, Integer.BYTES);
    }
}
