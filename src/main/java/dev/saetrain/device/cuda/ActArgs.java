package dev.saetrain.device.cuda;

import dev.saetrain.device.FloatBuf;
import dev.saetrain.device.IntBuf;
import java.util.Arrays;

/** The argument checks of {@link CudaActivationOps}: sizes, buffers and Matryoshka group ends. */
final class ActArgs {
    private ActArgs() {
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
