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

}
