package dev.saetrain.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

class GeometricMedianTest {
    @Test
    void ignoresAFarOutlierThatMovesTheMean() {
        // Four corners of the square [0, 2]^2 and one outlier far out on its diagonal: the mean moves to ~200,
        // the median only to where the corners' unit pulls balance the outlier's, 1 + 1/sqrt(3) on the diagonal.
        float[] rows = {0, 0, 2, 0, 0, 2, 2, 2, 1000, 1000};
        float[] med = GeometricMedian.of(rows, 5, 2, 1000, 1e-12);
        double expected = 1 + 1 / Math.sqrt(3);
        assertEquals(expected, med[0], 1e-4);
        assertEquals(expected, med[1], 1e-4);
    }

    @Test
    void minimisesTheSumOfDistances() {
        Random r = new Random(3);
        int n = 200;
        int d = 5;
        float[] rows = new float[n * d];
        for (int i = 0; i < rows.length; i++) {
            rows[i] = (float) (r.nextGaussian() + (i % d == 0 ? 3 : 0) + (r.nextDouble() < 0.05 ? 50 : 0));
        }
        float[] med = GeometricMedian.of(rows, n, d, 500, 1e-10);
        double best = cost(rows, n, d, med);
        for (int trial = 0; trial < 50; trial++) {
            float[] p = med.clone();
            p[trial % d] += (float) (r.nextGaussian() * 0.05);
            assertTrue(cost(rows, n, d, p) >= best - 1e-6, "a nearby point is better");
        }
    }

    @Test
    void ofOneRowIsThatRow() {
        float[] med = GeometricMedian.of(new float[] {3, -4}, 1, 2, 10, 1e-9);
        assertEquals(3, med[0], 1e-6);
        assertEquals(-4, med[1], 1e-6);
    }

    private static double cost(float[] rows, int n, int d, float[] p) {
        double s = 0;
        for (int r = 0; r < n; r++) {
            double t = 0;
            for (int j = 0; j < d; j++) {
                double v = rows[r * d + j] - p[j];
                t += v * v;
            }
            s += Math.sqrt(t);
        }
        return s;
    }
}
