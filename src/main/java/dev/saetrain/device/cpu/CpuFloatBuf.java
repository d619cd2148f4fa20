package dev.saetrain.device.cpu;

import dev.saetrain.device.FloatBuf;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;

/**
 * An off-heap fp32 buffer in native byte order, so OpenBLAS reads it in place (no copy across JNI).
 * At most 2^29 - 1 elements: a direct buffer's capacity is an int count of bytes.
 */
final class CpuFloatBuf implements FloatBuf {
    /** The largest buffer: a direct ByteBuffer's capacity is an int number of bytes. */
    static final long MAX_FLOATS = Integer.MAX_VALUE / 4;

    final FloatBuffer fb;
    private final int size;
    private boolean closed;

    CpuFloatBuf(long n) {
        if (n < 0 || n > MAX_FLOATS) {
            throw new IllegalArgumentException("a CPU buffer holds at most " + MAX_FLOATS
                    + " floats (2 GiB), asked for " + n + "; use a smaller --batch or --expansion");
        }
        this.size = (int) n;
        this.fb = ByteBuffer.allocateDirect(Math.max(4, size * 4)).order(ByteOrder.nativeOrder()).asFloatBuffer();
    }

    @Override
    public long size() {
        return size;
    }

    @Override
    public void close() {
        closed = true;
    }

    FloatBuffer buffer() {
        assert !closed : "buffer used after close";
        return fb;
    }
}
