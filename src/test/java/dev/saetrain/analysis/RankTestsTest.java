package dev.saetrain.analysis;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class RankTestsTest {
    @Test
    void ranksAverageTiesAndOrderNegativeValues() {
        RankTests.Ranking r = RankTests.Ranking.of(new float[] {2f, -1f, 2f, -3f, 0f, -0f, 7f}, 0, 7);
        assertArrayEquals(new double[] {5.5, 2, 5.5, 1, 3.5, 3.5, 7}, r.ranks(), 0);
        assertEquals(2 * (8 - 2), r.tieTerm(), 0); // two ties of 2: (8 - 2) each
        assertArrayEquals(new int[] {3, 1, 4, 5, 0, 2, 6}, r.order());
    }

    @Test
    void benjaminiHochbergByHand() {
        double[] q = RankTests.benjaminiHochberg(new double[] {0.01, 0.04, 0.03, 0.005, Double.NaN});
        // sorted: 0.005 (x4/1 = 0.02), 0.01 (x4/2 = 0.02), 0.03 (x4/3 = 0.04), 0.04 (x4/4 = 0.04)
        assertArrayEquals(new double[] {0.02, 0.04, 0.04, 0.02}, java.util.Arrays.copyOf(q, 4), 1e-12);
        assertTrue(Double.isNaN(q[4]));
    }

    @Test
    void completeSeparationGivesAucOneAndTiesAreCorrected() {
        float[] v = {5, 6, 7, 1, 2, 3, 4};
        boolean[] mask = {true, true, true, false, false, false, false};
        RankTests.UTest u = RankTests.mannWhitney(RankTests.Ranking.of(v, 0, 7), mask, 3);
        assertEquals(1.0, u.auc(), 0);
        assertTrue(u.z() > 2, "z " + u.z());
        // all values tied: no information, p = 1
        RankTests.UTest flat = RankTests.mannWhitney(RankTests.Ranking.of(new float[7], 0, 7), mask, 3);
        assertEquals(1.0, flat.p(), 0);
        assertEquals(0.5, flat.auc(), 0);
    }
}
