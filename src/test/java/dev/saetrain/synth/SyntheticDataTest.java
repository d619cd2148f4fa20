package dev.saetrain.synth;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.saetrain.error.Setting;
import dev.saetrain.error.UsageException;
import dev.saetrain.io.DType;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class SyntheticDataTest {
    private static SynthOptions options(int d, int features, double active, double decay, long rows, long seed) {
        return new SynthOptions(d, features, active, decay, rows, 1000, seed, DType.F32);
    }

    @Test
    void meanActiveCountMatchesTheRequestedExpectation() {
        SyntheticData data = new SyntheticData(options(16, 64, 5, 0.95, 20_000, 1));
        assertEquals(5, Arrays.stream(data.probabilities()).sum(), 1e-12);
        float[] row = new float[16];
        long total = 0;
        for (long r = 0; r < 20_000; r++) {
            total += data.row(r, row).size();
        }
        // Per-row count has variance sum p(1-p) < 5, so the mean of 20k rows has sd < 0.016.
        assertEquals(5, total / 20_000.0, 0.1);
    }

    @Test
    void firingFrequencyDecaysAsDecayToTheI() {
        SyntheticData data = new SyntheticData(options(8, 64, 5, 0.97, 100_000, 2));
        double[] p = data.probabilities();
        for (int i = 1; i < p.length; i++) {
            assertEquals(0.97, p[i] / p[i - 1], 1e-12, "feature " + i);
        }
        long[] fired = new long[64];
        float[] row = new float[8];
        for (long r = 0; r < 100_000; r++) {
            for (int f : data.row(r, row).features()) {
                fired[f]++;
            }
        }
        double expectedRatio = Math.pow(0.97, -49); // about 4.45
        double measured = (double) fired[0] / fired[49];
        // About 17,500 and 3,900 firings: the ratio's relative sd is about 1.8 %.
        assertEquals(expectedRatio, measured, 0.1 * expectedRatio);
    }

    @Test
    void clampedProbabilitiesStillGiveTheExpectedActiveCount() {
        double[] p = SyntheticData.firingProbabilities(10, 8, 0.5);
        assertEquals(8, Arrays.stream(p).sum(), 1e-12);
        assertTrue(Arrays.stream(p).allMatch(x -> x >= 0 && x <= 1));
        assertEquals(1, p[0]);
        for (int i = 1; i < p.length; i++) {
            assertTrue(p[i] <= p[i - 1], "decreasing at " + i);
        }
        // decay 0.001, 3 of 5 active: features 0 and 1 are clamped; the last unit of mass goes to features 2..4
        // in proportion to 0.001^i, i.e. 1 : 1e-3 : 1e-6.
        double[] steep = SyntheticData.firingProbabilities(5, 3, 0.001);
        assertEquals(1, steep[0]);
        assertEquals(1, steep[1]);
        assertEquals(1 / (1 + 1e-3 + 1e-6), steep[2], 1e-15);
        assertEquals(1e-3 / (1 + 1e-3 + 1e-6), steep[3], 1e-15);
        assertEquals(3, Arrays.stream(steep).sum(), 1e-12);
        double[] all = SyntheticData.firingProbabilities(4, 4, 0.9);
        assertArrayEquals(new double[] {1, 1, 1, 1}, all);
        double[] uniform = SyntheticData.firingProbabilities(8, 2, 1);
        assertTrue(Arrays.stream(uniform).allMatch(x -> Math.abs(x - 0.25) < 1e-15));
    }

    @Test
    void groundTruthRowsAreUnitNormAndDistinct() {
        SyntheticData data = new SyntheticData(options(33, 40, 3, 0.99, 10, 3));
        float[] gt = data.groundTruth();
        for (int i = 0; i < 40; i++) {
            double n2 = 0;
            for (int j = 0; j < 33; j++) {
                n2 += gt[i * 33 + j] * (double) gt[i * 33 + j];
            }
            assertEquals(1, Math.sqrt(n2), 1e-6, "feature " + i);
        }
        assertFalse(Arrays.equals(Arrays.copyOfRange(gt, 0, 33), Arrays.copyOfRange(gt, 33, 66)));
    }

    @Test
    void aRowIsTheSumOfItsCodesTimesTheFeatures() {
        SyntheticData data = new SyntheticData(options(24, 50, 6, 0.98, 1000, 4));
        float[] gt = data.groundTruth();
        float[] row = new float[24];
        int nonEmpty = 0;
        for (long r = 0; r < 50; r++) {
            Codes codes = data.row(r, row);
            nonEmpty += codes.size() > 0 ? 1 : 0;
            double[] expected = new double[24];
            int[] f = codes.features();
            double[] c = codes.coefficients();
            for (int a = 0; a < f.length; a++) {
                assertTrue(c[a] >= 0 && c[a] < 1);
                assertTrue(a == 0 || f[a] > f[a - 1], "indices increase");
                for (int j = 0; j < 24; j++) {
                    expected[j] += c[a] * gt[f[a] * 24 + j];
                }
            }
            for (int j = 0; j < 24; j++) {
                assertEquals(expected[j], row[j], Math.ulp((float) expected[j]), "row " + r + " element " + j);
            }
            Codes again = data.row(r, new float[24]);
            assertEquals(codes, again, "regenerating a row gives the same codes");
        }
        assertTrue(nonEmpty > 40, "rows with no active feature prove nothing");
    }

    @Test
    void seedsGiveDifferentFeaturesAndRows() {
        SyntheticData a = new SyntheticData(options(16, 32, 4, 0.9, 10, 5));
        SyntheticData b = new SyntheticData(options(16, 32, 4, 0.9, 10, 6));
        assertFalse(Arrays.equals(a.groundTruth(), b.groundTruth()));
        assertArrayEquals(a.groundTruth(), new SyntheticData(options(16, 32, 4, 0.9, 10, 5)).groundTruth());
        assertFalse(a.row(0, new float[16]).equals(b.row(0, new float[16])));
        assertFalse(a.row(0, new float[16]).equals(a.row(1, new float[16])));
    }

    @Test
    void optionsAreValidatedWithTheSettingName() {
        UsageException e = assertThrows(UsageException.class,
                () -> new SynthOptions(8, 4, 5, 0.9, 10, 10, 0, DType.F32));
        assertEquals(Setting.ACTIVE, e.setting(), e.getMessage());
        assertThrows(UsageException.class, () -> new SynthOptions(8, 4, 0, 0.9, 10, 10, 0, DType.F32));
        assertThrows(UsageException.class, () -> new SynthOptions(8, 4, 2, 0, 10, 10, 0, DType.F32));
        assertThrows(UsageException.class, () -> new SynthOptions(8, 4, 2, 1.01, 10, 10, 0, DType.F32));
        assertThrows(UsageException.class, () -> new SynthOptions(8, 4, 2, Double.NaN, 10, 10, 0, DType.F32));
        assertThrows(UsageException.class, () -> new SynthOptions(0, 4, 2, 0.9, 10, 10, 0, DType.F32));
        assertThrows(UsageException.class, () -> new SynthOptions(8, 4, 2, 0.9, 0, 10, 0, DType.F32));
        assertThrows(UsageException.class, () -> new SynthOptions(8, 4, 2, 0.9, 10, 0, 0, DType.F32));
        assertThrows(UsageException.class, () -> new SynthOptions(8, 4, 2, 0.9, 10, 10, 0, DType.BF16));
        assertEquals(3, new SynthOptions(8, 4, 2, 0.9, 25, 10, 0, DType.F16).shardCount());
        assertEquals(5, new SynthOptions(8, 4, 2, 0.9, 25, 10, 0, DType.F16).rowsInShard(2));
    }
}
