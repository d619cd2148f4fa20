package dev.saetrain.device;

import java.util.ArrayList;
import java.util.List;

/**
 * Closeness checks of a fast result against a reference: element i passes when
 * {@code |actual - expected| <= atol + |expected| * rtol} (the llm.c rule). A failure names the buffer,
 * counts the mismatches and prints the first few with their indices.
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

    private ParityAssert() {
    }

    public static void assertClose(String name, float[] expected, float[] actual, double atol, double rtol) {
        double[] e = new double[expected.length];
        for (int i = 0; i < e.length; i++) {
            e[i] = expected[i];
        }
        assertClose(name, e, actual, atol, rtol);
    }

    public static void assertClose(String name, double[] expected, float[] actual, double atol, double rtol) {
        double[] a = new double[actual.length];
        for (int i = 0; i < a.length; i++) {
            a[i] = actual[i];
        }
        assertClose(name, expected, a, atol, rtol);
    }

    public static void assertClose(String name, double[] expected, double[] actual, double atol, double rtol) {
        if (expected.length != actual.length) {
            throw new AssertionError(name + ": length " + actual.length + ", expected " + expected.length);
        }
        List<String> bad = new ArrayList<>();
        int count = 0;
        double worst = 0;
        for (int i = 0; i < expected.length; i++) {
            double diff = Math.abs(actual[i] - expected[i]);
            double tol = atol + Math.abs(expected[i]) * rtol;
            if (!(diff <= tol)) {
                count++;
                worst = Math.max(worst, Double.isNaN(diff) ? Double.POSITIVE_INFINITY : diff / tol);
                if (bad.size() < SHOW) {
                    bad.add(String.format("  [%d] expected %.9g, got %.9g (diff %.3g, tol %.3g)",
                            i, expected[i], actual[i], diff, tol));
                }
            }
        }
        if (count > 0) {
            throw new AssertionError(name + ": " + count + " of " + expected.length + " elements differ (atol "
                    + atol + ", rtol " + rtol + ", worst " + String.format("%.3g", worst) + "x tol); first:\n"
                    + String.join("\n", bad));
        }
    }

    public static void assertClose(String name, double expected, double actual, double atol, double rtol) {
        assertClose(name, new double[] {expected}, new double[] {actual}, atol, rtol);
    }

    /** Exact equality of int arrays, with the first differing indices in the message. */
    public static void assertSameInts(String name, int[] expected, int[] actual) {
        if (expected.length != actual.length) {
            throw new AssertionError(name + ": length " + actual.length + ", expected " + expected.length);
        }
        List<String> bad = new ArrayList<>();
        int count = 0;
        for (int i = 0; i < expected.length; i++) {
            if (expected[i] != actual[i]) {
                count++;
                if (bad.size() < SHOW) {
                    bad.add("  [" + i + "] expected " + expected[i] + ", got " + actual[i]);
                }
            }
        }
        if (count > 0) {
            throw new AssertionError(name + ": " + count + " of " + expected.length + " differ; first:\n"
                    + String.join("\n", bad));
        }
    }

    /** Rows of a [rows, cols] gradient whose flag is 0 hold no gradient: compare them as zeros. */
    public static float[] maskRows(float[] g, int[] flags, int cols) {
        float[] out = g.clone();
        for (int i = 0; i < flags.length; i++) {
            if (flags[i] == 0) {
                java.util.Arrays.fill(out, i * cols, (i + 1) * cols, 0f);
            }
        }
        return out;
    }
}
