package dev.saetrain.device.cpu;

import dev.saetrain.device.IntBuf;

/** An int32 buffer on the Java heap (no native code reads int buffers on the CPU path). */
final class CpuIntBuf implements IntBuf {
    final int[] a;

    CpuIntBuf(long n) {
        if (n > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("an int buffer holds at most 2^31 - 9 elements, asked for " + n);
        }
        a = new int[(int) n];
    }

    @Override
    public long size() {
        return a.length;
    }

    @Override
    public void close() {
        // heap memory: the garbage collector frees it
    }
}
