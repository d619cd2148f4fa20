package dev.saetrain.selftest;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * Closeness checks of a fast result against a reference: element i passes when
 * {@code |actual - expected| <= atol + |expected| * rtol} (the llm.c rule). A failure throws {@link CheckFailure}
 * (an AssertionError, so JUnit reports it as a failed test) that names the buffer, counts the mismatches and prints
 * the first few with their indices. The parity checks of {@code dev.saetrain.selftest.parity} use only these
 * asserts, so they run unchanged under JUnit and under {@code sae-train selftest}; while a {@link Recorder} is
 * installed on the calling thread ({@link #recording}), every comparison, passed or not, is also reported to it
 * (the selftest's worst error per op).
 *
 * <p>Tolerances used by the parity suite: the reference sums in double, the fast devices in fp32. A sum of
 * n fp32 terms of size about s carries an error of about sqrt(n) * 2^-24 * s typically (n * 2^-24 * s at
 * worst); the inputs are scaled so dot products are O(1) and n <= 1031, which puts the typical error near
 * 2e-6 and the worst about 6e-5. {@link #ATOL_SUM} / {@link #RTOL_SUM} sit between the two.
 */
public final class ParityAssert {
    /** Absolute tolerance for results that are fp32 sums of up to ~1000 O(1) products. */
    public static final double ATOL_SUM = 2e-5;
    /** Relative tolerance for the same. */
    public static final double RTOL_SUM = 1e-4;
    /** For elementwise fp32 results (one or two roundings): a few ulps. */
    public static final double ATOL_ELEM = 1e-7;
    public static final double RTOL_ELEM = 1e-6;

    private static final int SHOW = 8;
    private static final ThreadLocal<Recorder> RECORDER = new ThreadLocal<>();

    private ParityAssert() {
    }

    /** One comparison as the selftest reports it: the element with the largest error relative to its tolerance. */
    public record Comparison(String name, int size, int mismatches, double worstErr, double tolAtWorst, int worstIndex,
                             double expected, double actual) {
        public boolean passed() {
            return mismatches == 0;
        }
    }

    /** Receives every comparison made on its thread while installed. */
    public interface Recorder {
        void record(Comparison c);

        /** The Device op the following comparisons check (a check that covers several ops says which). */
        default void op(String name) {
        }
    }

    /** A check that failed: one line in {@link #getMessage()}'s first line, the details after it. */
    public static final class CheckFailure extends AssertionError {
        private static final long serialVersionUID = 1L;
        private final transient Comparison comparison;

        CheckFailure(String message, Comparison comparison) {
            super(message);
            this.comparison = comparison;
        }

        /** The failed comparison (null for a failed condition). */
        public Comparison comparison() {
            return comparison;
        }
    }

    /** Runs {@code body} with {@code r} receiving this thread's comparisons; the previous recorder is restored after. */
    public static void recording(Recorder r, Runnable body) {
        Recorder before = RECORDER.get();
        RECORDER.set(r);
        try {
            body.run();
        } finally {
            RECORDER.set(before);
        }
    }

    /**
     * Marks the Device op that the comparisons after it check, in checks that cover several ops (the selftest's
     * one line per op); without a recorder it does nothing.
     */
    public static void op(String name) {
        Recorder r = RECORDER.get();
        if (r != null) {
            r.op(name);
        }
    }

    private static void report(Comparison c) {
        Recorder r = RECORDER.get();
        if (r != null) {
            r.record(c);
        }
    }

    public static void assertClose(String name, float[] expected, float[] actual, double atol, double rtol) {
        assertClose(name, toDouble(expected), toDouble(actual), atol, rtol);
    }

    public static void assertClose(String name, double[] expected, float[] actual, double atol, double rtol) {
        assertClose(name, expected, toDouble(actual), atol, rtol);
    }

    public static void assertClose(String name, double[] expected, double[] actual, double atol, double rtol) {
        if (expected.length != actual.length) {
            fail(name, name + ": length " + actual.length + ", expected " + expected.length);
        }
        List<String> bad = new ArrayList<>();
        int count = 0;
        double worstRatio = -1;
        int worstAt = -1;
        for (int i = 0; i < expected.length; i++) {
            double diff = Math.abs(actual[i] - expected[i]);
            double tol = atol + Math.abs(expected[i]) * rtol;
            double ratio = Double.isNaN(diff) ? Double.POSITIVE_INFINITY : tol > 0 ? diff / tol
                    : diff == 0 ? 0 : Double.POSITIVE_INFINITY;
            if (ratio > worstRatio) {
                worstRatio = ratio;
                worstAt = i;
            }
            if (!(diff <= tol)) {
                count++;
                if (bad.size() < SHOW) {
                    bad.add(String.format("  [%d] expected %.9g, got %.9g (diff %.3g, tol %.3g)",
                            i, expected[i], actual[i], diff, tol));
                }
            }
        }
        Comparison c = worstAt < 0 ? new Comparison(name, 0, 0, 0, atol, -1, 0, 0)
                : new Comparison(name, expected.length, count, Math.abs(actual[worstAt] - expected[worstAt]),
                        atol + Math.abs(expected[worstAt]) * rtol, worstAt, expected[worstAt], actual[worstAt]);
        report(c);
        if (count > 0) {
            throw new CheckFailure(name + ": " + count + " of " + expected.length + " elements differ (atol "
                    + atol + ", rtol " + rtol + ", worst " + String.format("%.3g", worstRatio) + "x tol); first:\n"
                    + String.join("\n", bad), c);
        }
    }

    public static void assertClose(String name, double expected, double actual, double atol, double rtol) {
        assertClose(name, new double[] {expected}, new double[] {actual}, atol, rtol);
    }

    /** Exact equality of int arrays, with the first differing indices in the message. */
    public static void assertSameInts(String name, int[] expected, int[] actual) {
        if (expected.length != actual.length) {
            fail(name, name + ": length " + actual.length + ", expected " + expected.length);
        }
        List<String> bad = new ArrayList<>();
        int count = 0;
        int first = -1;
        for (int i = 0; i < expected.length; i++) {
            if (expected[i] != actual[i]) {
                count++;
                first = first < 0 ? i : first;
                if (bad.size() < SHOW) {
                    bad.add("  [" + i + "] expected " + expected[i] + ", got " + actual[i]);
                }
            }
        }
        Comparison c = new Comparison(name, expected.length, count, first < 0 ? 0
                : Math.abs((double) actual[first] - expected[first]), 0, first, first < 0 ? 0 : expected[first],
                first < 0 ? 0 : actual[first]);
        report(c);
        if (count > 0) {
            throw new CheckFailure(name + ": " + count + " of " + expected.length + " differ; first:\n"
                    + String.join("\n", bad), c);
        }
    }

    /** Rows of a [rows, cols] gradient whose flag is 0 hold no gradient: compare them as zeros. */
    public static float[] maskRows(float[] g, int[] flags, int cols) {
        float[] out = g.clone();
        for (int i = 0; i < flags.length; i++) {
            if (flags[i] == 0) {
                Arrays.fill(out, i * cols, (i + 1) * cols, 0f);
            }
        }
        return out;
    }

    // The JUnit-style asserts the parity checks were written with (same argument order: expected, actual, message).

    public static void assertEquals(long expected, long actual, String message) {
        exact(message, expected == actual, expected, actual);
    }

    /** Exact equality of two floating-point values (NaN equals NaN, as in JUnit). */
    public static void assertEquals(double expected, double actual, String message) {
        exact(message, Double.compare(expected, actual) == 0 || expected == actual, expected, actual);
    }

    public static void assertEquals(Object expected, Object actual, String message) {
        if (!Objects.equals(expected, actual)) {
            fail(message, message + ": expected <" + expected + "> but was <" + actual + ">");
        }
        report(new Comparison(message, 1, 0, 0, 0, 0, 0, 0));
    }

    public static void assertEquals(long expected, long actual) {
        assertEquals(expected, actual, "value");
    }

    public static void assertEquals(double expected, double actual) {
        assertEquals(expected, actual, "value");
    }

    public static void assertEquals(Object expected, Object actual) {
        assertEquals(expected, actual, "value");
    }

    public static void assertArrayEquals(int[] expected, int[] actual) {
        assertSameInts("array", expected, actual);
    }

    public static void assertArrayEquals(int[] expected, int[] actual, String message) {
        assertSameInts(message, expected, actual);
    }

    public static void assertArrayEquals(float[] expected, float[] actual, String message) {
        assertArrayEquals(toDouble(expected), toDouble(actual), message);
    }

    public static void assertArrayEquals(double[] expected, double[] actual, String message) {
        assertClose(message, expected, actual, 0, 0);
    }

    /** A condition the check's inputs or outputs must meet (e.g. "the inputs must include picks of value 0"). */
    public static void assertTrue(boolean condition, String message) {
        if (!condition) {
            fail(message, message);
        }
        report(new Comparison(message, 1, 0, 0, 0, 0, 0, 0));
    }

    public static void assertTrue(boolean condition) {
        assertTrue(condition, "condition");
    }

    public static void assertFalse(boolean condition, String message) {
        assertTrue(!condition, message);
    }

    /** Code that must throw. */
    @FunctionalInterface
    public interface Throwing {
        void run() throws Exception;
    }

    public static <T extends Throwable> void assertThrows(Class<T> type, Throwing body, String message) {
        try {
            body.run();
        } catch (Throwable t) {
            if (type.isInstance(t)) {
                return;
            }
            fail(message, message + ": expected " + type.getSimpleName() + ", got " + t);
        }
        fail(message, message + ": expected " + type.getSimpleName() + ", nothing was thrown");
    }

    public static <T extends Throwable> void assertThrows(Class<T> type, Throwing body) {
        assertThrows(type, body, "expected " + type.getSimpleName());
    }

    private static void exact(String name, boolean equal, double expected, double actual) {
        Comparison c = new Comparison(name, 1, equal ? 0 : 1, equal ? 0 : Math.abs(actual - expected), 0, 0, expected,
                actual);
        report(c);
        if (!equal) {
            throw new CheckFailure(name + ": expected <" + expected + "> but was <" + actual + ">", c);
        }
    }

    private static void fail(String name, String message) {
        Comparison c = new Comparison(name, 1, 1, Double.POSITIVE_INFINITY, 0, -1, Double.NaN, Double.NaN);
        report(c);
        throw new CheckFailure(message, c);
    }

    private static double[] toDouble(float[] a) {
        double[] d = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            d[i] = a[i];
        }
        return d;
    }
}
