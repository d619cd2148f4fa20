package dev.saetrain.device.cuda;

import dev.saetrain.device.FloatBuf;
import java.util.function.LongConsumer;

/** An fp32 buffer in device memory. Holds no JCuda type, so code outside {@code JCudaRuntime} can pass it around. */
public final class CudaFloatBuf implements FloatBuf {
    private final long address;
    private final long size;
    private final LongConsumer free;
    private boolean closed;

    public CudaFloatBuf(long address, long size, LongConsumer free) {
        this.address = address;
        this.size = size;
        this.free = free;
    }

    public long address() {
        if (closed) {
            throw new IllegalStateException("device buffer used after close");
        }
        return address;
    }

    /** The address of element {@code offset}. */
    public DevPtr at(long offset) {
        if (offset < 0 || offset > size) {
            throw new IndexOutOfBoundsException("offset " + offset + " outside a buffer of " + size + " floats");
        }
        return new DevPtr(address() + offset * Float.BYTES);
    }

    @Override
    public long size() {
        return size;
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            free.accept(address);
        }
    }
}
