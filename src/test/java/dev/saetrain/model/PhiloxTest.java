package dev.saetrain.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * Philox-4x32-10 against the known-answer vectors of Random123 (kat_vectors, philox4x32 10 rounds), mapped
 * onto {@link Philox#block}: counter = c0 | c1 << 32, stream = c2 | c3 << 32, seed = k0 | k1 << 32. Then the
 * normal fill: determinism, independence of streams, and moments.
 */
class PhiloxTest {

    private static long pair(int lo, int hi) {
        return (lo & 0xffffffffL) | ((long) hi << 32);
    }

    private static void assertKat(int[] ctr, int[] key, int[] expected) {
        int[] out = new int[4];
        Philox.block(pair(key[0], key[1]), pair(ctr[2], ctr[3]), pair(ctr[0], ctr[1]), out);
        assertArrayEquals(expected, out, () -> String.format("philox4x32-10 ctr %08x %08x %08x %08x key %08x %08x:"
                + " got %08x %08x %08x %08x, expected %08x %08x %08x %08x", ctr[0], ctr[1], ctr[2], ctr[3], key[0],
                key[1], out[0], out[1], out[2], out[3], expected[0], expected[1], expected[2], expected[3]));
    }

    @Test
    void zeroCounterZeroKey() {
        assertKat(new int[] {0, 0, 0, 0}, new int[] {0, 0},
                new int[] {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8});
    }

    @Test
    void allOnes() {
        assertKat(new int[] {-1, -1, -1, -1}, new int[] {-1, -1},
                new int[] {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd});
    }

    @Test
    void piDigits() {
        assertKat(new int[] {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, new int[] {0xa4093822, 0x299f31d0},
                new int[] {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1});
    }

    @Test
    void normalFillIsDeterministicAndStreamsDiffer() {
        float[] a = new float[1001];
        float[] b = new float[1001];
        float[] c = new float[1001];
        float[] d = new float[1001];
        Philox.fillNormal(42, 1, a);
        Philox.fillNormal(42, 1, b);
        Philox.fillNormal(42, 2, c);
        Philox.fillNormal(43, 1, d);
        assertArrayEquals(a, b, "same seed and stream, same numbers");
        int sameStream = 0;
        int sameSeed = 0;
        for (int i = 0; i < a.length; i++) {
            sameStream += a[i] == c[i] ? 1 : 0;
            sameSeed += a[i] == d[i] ? 1 : 0;
        }
        assertEquals(0, sameStream, "another stream gives other numbers");
        assertEquals(0, sameSeed, "another seed gives other numbers");
        float[] prefix = new float[7];
        Philox.fillNormal(42, 1, prefix);
        for (int i = 0; i < prefix.length; i++) {
            assertEquals(a[i], prefix[i], "element " + i + " does not depend on the fill length");
        }
    }

    @Test
    void normalFillHasStandardMoments() {
        int n = 100_000;
        float[] z = new float[n];
        Philox.fillNormal(7, 3, z);
        double sum = 0;
        double sq = 0;
        double fourth = 0;
        int beyond2 = 0;
        for (float v : z) {
            assertTrue(Float.isFinite(v), "finite");
            sum += v;
            sq += (double) v * v;
            fourth += (double) v * v * v * v;
            beyond2 += Math.abs(v) > 2 ? 1 : 0;
        }
        double mean = sum / n;
        double var = sq / n - mean * mean;
        // Standard errors for 1e5 samples: mean 0.0032, variance 0.0045, fourth moment 0.031, P(|z| > 2) 0.00067;
        // bounds at about 5 of them.
        assertEquals(0, mean, 0.016, "mean");
        assertEquals(1, var, 0.022, "variance");
        assertEquals(3, fourth / n, 0.16, "fourth moment (a Gaussian's is 3)");
        assertEquals(0.0455, beyond2 / (double) n, 0.0034, "P(|z| > 2)");
    }

    @Test
    void uniformIsInUnitInterval() {
        double sum = 0;
        for (int i = 0; i < 10_000; i++) {
            double u = Philox.uniform(5, 9, i);
            assertTrue(u >= 0 && u < 1, "uniform in [0, 1): " + u);
            sum += u;
        }
        // Standard error of the mean of 1e4 uniforms: 0.0029.
        assertEquals(0.5, sum / 10_000, 0.015, "mean");
    }
}
