package dev.saetrain.device.cpu;

import dev.saetrain.device.FloatBuf;
import dev.saetrain.error.UsageException;
import java.nio.FloatBuffer;

/**
 * An off-heap fp32 buffer in native byte order, so OpenBLAS reads it in place (no copy across JNI). Its memory is
 * native ({@link NativeMemory}), outside the JVM's direct-memory limit, and is freed by {@link #close}, not by the
 * garbage collector: the FloatBuffer that {@link #buffer} returns must not be kept past close (ops use it and
 * return). At most 2^29 - 1 elements: a direct buffer's capacity is an int count of bytes.
 */
final class CpuFloatBuf implements FloatBuf {
    /** The largest buffer: a direct ByteBuffer's capacity is an int number of bytes. */
    static final long MAX_FLOATS = Integer.MAX_VALUE / 4;

    private final NativeMemory mem;
    private final FloatBuffer fb;
    private final int size;

    CpuFloatBuf(long n) {
        if (n < 0 || n > MAX_FLOATS) {
            throw new UsageException("a CPU buffer holds at most " + MAX_FLOATS
                    + " floats (2 GiB), asked for " + n + "; use a smaller --batch or --expansion");
        }
        this.size = (int) n;
        this.mem = NativeMemory.calloc(Math.max(4, size * 4L), "a CPU buffer of " + n + " floats");
        this.fb = mem.bytes().asFloatBuffer();
    }

    @Override
    public long size() {
        return size;
    }

    /** Frees the memory; closing twice is harmless. */
    @Override
    public void close() {
        mem.free();
    }

    FloatBuffer buffer() {
        assert !mem.isFreed() : "buffer used after close";
        return fb;
    }
}
