package dev.saetrain.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.saetrain.error.BadInputException;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ScaleEstimatorTest {
    @TempDir
    Path dir;

    /** Rows of random direction whose norms are given. */
    private static float[] rowsWithNorms(double[] norms, int d, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        float[] x = new float[norms.length * d];
        for (int i = 0; i < norms.length; i++) {
            double sq = 0;
            double[] v = new double[d];
            for (int j = 0; j < d; j++) {
                v[j] = rng.nextGaussian();
                sq += v[j] * v[j];
            }
            for (int j = 0; j < d; j++) {
                x[i * d + j] = (float) (v[j] * norms[i] / Math.sqrt(sq));
            }
        }
        return x;
    }

    @Test
    void factorMakesTheMeanNormSqrtD() throws Exception {
        int d = 16;
        double[] norms = new double[300];
        for (int i = 0; i < norms.length; i++) {
            norms[i] = 1 + i % 7; // mean 4 over whole cycles of 7: 294 rows give exactly 4; all 300 give 1194/300
        }
        TestShards.writeNpy(dir.resolve("a.npy"), rowsWithNorms(java.util.Arrays.copyOf(norms, 150), d, 1), d);
        TestShards.writeNpy(dir.resolve("b.npy"),
                rowsWithNorms(java.util.Arrays.copyOfRange(norms, 150, 300), d, 2), d);
        ShardSet set = ShardSet.open(dir);
        double mean = 0;
        for (double n : norms) {
            mean += n;
        }
        mean /= norms.length;
        assertEquals(Math.sqrt(d) / mean, ScaleEstimator.estimate(set, ScaleEstimator.DEFAULT_SAMPLE_ROWS, false), 1e-5);
        // Only the first 7 rows (file order): norms 1..7, mean 4.
        assertEquals(1.0, ScaleEstimator.estimate(set, 7, false), 1e-5);
    }

    @Test
    void skippedRowsAreLeftOutOfTheMean() throws Exception {
        float[] x = rowsWithNorms(new double[] {2, 100, 2}, 4, 3);
        x[4] = Float.NaN;
        ShardSet set = ShardSet.open(TestShards.writeNpy(dir.resolve("n.npy"), x, 4));
        assertEquals(1.0, ActivationStream.estimateScale(set, 10, true), 1e-6);
    }

    @Test
    void zeroActivationsFailClearly() throws Exception {
        ShardSet set = ShardSet.open(TestShards.writeNpy(dir.resolve("z.npy"), new float[40], 4));
        BadInputException e = assertThrows(BadInputException.class, () -> ScaleEstimator.estimate(set, 100, false));
        assertTrue(e.getMessage().contains("all zero"), e.getMessage());
    }
}
