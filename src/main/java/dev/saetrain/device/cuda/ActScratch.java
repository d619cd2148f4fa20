package dev.saetrain.device.cuda;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Named int32 scratch buffers in device memory, allocated on first use and grown (never shrunk) when a bigger size
 * is asked for, so a steady-state step allocates nothing. 64-bit counters and double sums live here too, as pairs
 * of int32 words. Freed by {@link #close}.
 */
final class ActScratch implements AutoCloseable {
    private final CudaRuntime rt;
    private final Map<String, CudaIntBuf> buffers = new LinkedHashMap<>();

    ActScratch(CudaRuntime rt) {
        this.rt = rt;
    }

    /** The buffer called {@code name}, holding at least {@code n} ints (contents undefined). */
    CudaIntBuf ints(String name, long n) {
        CudaIntBuf b = buffers.get(name);
        if (b == null || b.size() < n) {
            long size = grown(b == null ? 0 : b.size(), Math.max(1, n));
            if (b != null) {
                b.close();
            }
            b = rt.allocInt(size);
            buffers.put(name, b);
        }
        return b;
    }

    /** The buffer called {@code name}, holding at least {@code n} 64-bit words (longs or doubles). */
    CudaIntBuf words64(String name, long n) {
        return ints(name, 2 * n);
    }

    /** The same, zeroed (asynchronously, on the compute stream) over its first n 64-bit words. */
    CudaIntBuf zeroed64(String name, long n) {
        CudaIntBuf b = words64(name, n);
        rt.memsetZero(b.at(0), 8 * Math.max(1, n));
        return b;
    }

    /** The int buffer called {@code name}, zeroed over its first n ints. */
    CudaIntBuf zeroedInts(String name, long n) {
        CudaIntBuf b = ints(name, n);
        rt.memsetZero(b.at(0), 4 * Math.max(1, n));
        return b;
    }

    /** The 64-bit value at word {@code q} of a buffer (a synchronising download). */
    long readLong(CudaIntBuf b, long q) {
        int[] w = new int[2];
        rt.downloadInt(b, 2 * q, w, 0, 2);
        return longOf(w[0], w[1]);
    }

    /** The first n doubles of a buffer (a synchronising download). */
    double[] readDoubles(CudaIntBuf b, int n) {
        int[] w = new int[2 * n];
        rt.downloadInt(b, 0, w, 0, 2 * n);
        return doublesOf(w);
    }

    /** Total ints held, for tests and logs. */
    long heldInts() {
        long s = 0;
        for (CudaIntBuf b : buffers.values()) {
            s += b.size();
        }
        return s;
    }

    @Override
    public void close() {
        for (CudaIntBuf b : buffers.values()) {
            b.close();
        }
        buffers.clear();
    }

    /** A scratch size that holds {@code need}: unchanged when it already does, else need or 1.5x have, the larger. */
    static long grown(long have, long need) {
        if (need <= have) {
            return have;
        }
        return Math.max(need, have + have / 2);
    }

    /** The 64-bit value a kernel stored at int32 words (lo, hi) (little-endian, as on every CUDA device). */
    static long longOf(int lo, int hi) {
        return ((long) hi << 32) | (lo & 0xffffffffL);
    }

    /** Doubles stored as pairs of int32 words (little-endian). */
    static double[] doublesOf(int[] words) {
        double[] out = new double[words.length / 2];
        for (int q = 0; q < out.length; q++) {
            out[q] = Double.longBitsToDouble(longOf(words[2 * q], words[2 * q + 1]));
        }
        return out;
    }
}
