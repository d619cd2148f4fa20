package dev.saetrain.device.cuda;

import java.util.function.LongConsumer;

/** A buffer in device memory: its address, its length in elements, and how to free it. Holds no JCuda type. */
abstract class CudaBuffer {
    private final long address;
    private final long size;
    private final LongConsumer free;
    private final int elementBytes;
    private boolean closed;

    CudaBuffer(long address, long size, LongConsumer free, int elementBytes) {
        this.address = address;
        this.size = size;
        this.free = free;
        this.elementBytes = elementBytes;
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
            throw new IndexOutOfBoundsException("offset " + offset + " outside a buffer of " + size + " elements");
        }
        return new DevPtr(address() + offset * elementBytes);
    }

    public long size() {
        return size;
    }

    public void close() {
        if (!closed) {
            closed = true;
            free.accept(address);
        }
    }
}
