package dev.saetrain.analysis;

import java.util.Arrays;
import org.apache.commons.math3.distribution.NormalDistribution;

/**
 * Mann-Whitney U tests of many subsets against the rest of one sample, from one ranking, and the Benjamini-Hochberg
 * correction. One sort per latent serves every token set, which is what makes the enrichment affordable over a
 * 50k-token vocabulary (Commons Math's {@code MannWhitneyUTest} sorts again for every pair of samples).
 */
public final class RankTests {
    private static final NormalDistribution STANDARD_NORMAL = new NormalDistribution(null, 0, 1);

    private RankTests() {
    }

    /**
     * The ranks of one sample, 1-based, ties averaged.
     *
     * @param ranks    rank of each value, by position
     * @param order    positions sorted by value, ascending (ties by position)
     * @param tieTerm  sum over tie groups of t^3 - t, for the variance correction
     */
    public record Ranking(double[] ranks, int[] order, double tieTerm) {
        /** Ranks {@code v[off .. off + n)}. */
        public static Ranking of(float[] v, int off, int n) {
            long[] keys = new long[n];
            for (int i = 0; i < n; i++) {
                int bits = Float.floatToIntBits(v[off + i] == 0f ? 0f : v[off + i]); // -0 ranks as 0
                bits ^= (bits >> 31) & 0x7fffffff; // negative floats: reverse their order, so ints sort as floats do
                keys[i] = ((long) bits << 32) | i;
            }
            Arrays.sort(keys);
            int[] order = new int[n];
            for (int i = 0; i < n; i++) {
                order[i] = (int) keys[i];
            }
            double[] ranks = new double[n];
            double tie = 0;
            int i = 0;
            while (i < n) {
                int j = i + 1;
                while (j < n && (keys[j] >> 32) == (keys[i] >> 32)) {
                    j++;
                }
                double avg = (i + 1 + j) / 2.0; // ranks i+1 .. j
                for (int r = i; r < j; r++) {
                    ranks[order[r]] = avg;
                }
                long t = j - i;
                tie += (double) t * t * t - t;
                i = j;
            }
            return new Ranking(ranks, order, tie);
        }
    }

    /**
     * One two-sided Mann-Whitney U test (normal approximation with the tie correction) of the set against the rest.
     *
     * @param auc U_set / (n_set * n_rest): the probability that a set member outranks a non-member (0.5: no difference)
     * @param z   standardised U_set
     * @param p   two-sided p-value
     */
    public record UTest(double auc, double z, double p) {
    }

    /** The test of the members of {@code mask} ({@code nSet} of them) against the rest, from {@code r}. */
    public static UTest mannWhitney(Ranking r, boolean[] mask, int nSet) {
        int n = r.ranks().length;
        int nRest = n - nSet;
        if (nSet == 0 || nRest == 0) {
            return new UTest(Double.NaN, Double.NaN, Double.NaN);
        }
        double rankSum = 0;
        double[] ranks = r.ranks();
        for (int i = 0; i < n; i++) {
            if (mask[i]) {
                rankSum += ranks[i];
            }
        }
        double n1 = nSet;
        double n2 = nRest;
        double u = rankSum - n1 * (n1 + 1) / 2;
        double mean = n1 * n2 / 2;
        double var = n1 * n2 / 12 * ((n + 1) - r.tieTerm() / ((double) n * (n - 1)));
        if (var <= 0) {
            return new UTest(u / (n1 * n2), 0, 1);
        }
        double z = (u - mean) / Math.sqrt(var);
        double p = Math.min(1, 2 * STANDARD_NORMAL.cumulativeProbability(-Math.abs(z)));
        return new UTest(u / (n1 * n2), z, p);
    }

    /**
     * Benjamini-Hochberg adjusted p-values (q-values): q_(i) = min over j &gt;= i of p_(j) * n / j, at most 1, for the
     * p-values sorted ascending. NaN p-values (untestable) stay NaN and do not count in n.
     */
    public static double[] benjaminiHochberg(double[] p) {
        int n = 0;
        for (double v : p) {
            if (!Double.isNaN(v)) {
                n++;
            }
        }
        Integer[] idx = new Integer[n];
        int c = 0;
        for (int i = 0; i < p.length; i++) {
            if (!Double.isNaN(p[i])) {
                idx[c++] = i;
            }
        }
        Arrays.sort(idx, (a, b) -> Double.compare(p[a], p[b]));
        double[] q = new double[p.length];
        Arrays.fill(q, Double.NaN);
        double running = 1;
        for (int rank = n; rank >= 1; rank--) {
            int i = idx[rank - 1];
            running = Math.min(running, p[i] * n / rank);
            q[i] = running;
        }
        return q;
    }
}
