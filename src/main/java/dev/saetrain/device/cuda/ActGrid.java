package dev.saetrain.device.cuda;

import dev.saetrain.device.FloatBuf;
import dev.saetrain.device.IntBuf;
import java.util.Arrays;

/**
 * Host-side arithmetic of {@link CudaActivationOps}, as small pure functions so it can be tested without a GPU:
 * launch grids, scratch growth, argument checks, and the decoding of 64-bit results that kernels leave in int32
 * scratch (the runtime copies only fp32 and int32 buffers).
 */
final class ActGrid {
    /** Threads of a block for row-, latent- and element-parallel kernels (a multiple of 32). */
    static final int THREADS = 256;
    /** Threads of the one-block scans (the kernels' shared scratch holds 1024 partial sums). */
    static final int SCAN_THREADS = 1024;
    /** Resident blocks per multiprocessor a grid-stride kernel is sized for. */
    static final int BLOCKS_PER_SM = 8;
    /** Buckets of each BatchTopK radix pass (11, 11, then 10 bits of the float). */
    static final int RADIX_BUCKETS = 2048;

    private ActGrid() {
    }

    static long ceilDiv(long a, long b) {
        return (a + b - 1) / b;
    }

    /**
     * Blocks of a grid-stride kernel over n elements: one per {@code threads} elements, capped at
     * {@link #BLOCKS_PER_SM} per multiprocessor (each thread then loops), never 0.
     */
    static long streamBlocks(long n, int threads, int multiprocessors) {
        long cap = (long) Math.max(1, multiprocessors) * BLOCKS_PER_SM;
        return Math.max(1, Math.min(ceilDiv(Math.max(0, n), threads), cap));
    }

    /** Blocks of a kernel with one thread per column (latent): ceil(cols / threads), never 0. */
    static long columnBlocks(long cols, int threads) {
        return Math.max(1, ceilDiv(Math.max(0, cols), threads));
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

    static void requirePositive(String op, String name, long value) {
        if (value < 1) {
            throw new IllegalArgumentException(op + ": " + name + " must be >= 1, got " + value);
        }
    }

    /** Checks that a buffer exists and holds at least n elements. */
    static void requireSize(String op, String name, FloatBuf buf, long n) {
        if (buf == null) {
            throw new IllegalArgumentException(op + ": " + name + " is null");
        }
        if (buf.size() < n) {
            throw new IllegalArgumentException(op + ": " + name + " holds " + buf.size() + " floats, needs " + n);
        }
    }

    static void requireSize(String op, String name, IntBuf buf, long n) {
        if (buf == null) {
            throw new IllegalArgumentException(op + ": " + name + " is null");
        }
        if (buf.size() < n) {
            throw new IllegalArgumentException(op + ": " + name + " holds " + buf.size() + " ints, needs " + n);
        }
    }

    /** The same for a buffer that may be null (an optional input). */
    static void requireSizeIfPresent(String op, String name, FloatBuf buf, long n) {
        if (buf != null) {
            requireSize(op, name, buf, n);
        }
    }

    /** Matryoshka group ends [groups]: strictly increasing from >= 1, ending at nLatents (Device.matryoshkaDecode). */
    static void checkGroupEnds(int[] ends, int groups, int nLatents) {
        if (groups < 1 || ends.length < groups) {
            throw new IllegalArgumentException("matryoshka needs >= 1 group ends, got " + groups + " in a buffer of "
                    + ends.length);
        }
        int prev = 0;
        for (int g = 0; g < groups; g++) {
            if (ends[g] <= prev) {
                throw new IllegalArgumentException("matryoshka group ends must increase from >= 1, got "
                        + Arrays.toString(Arrays.copyOf(ends, groups)));
            }
            prev = ends[g];
        }
        if (prev != nLatents) {
            throw new IllegalArgumentException("matryoshka groups end at " + prev + ", expected nLatents = " + nLatents);
        }
    }
}
