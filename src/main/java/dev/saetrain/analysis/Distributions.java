package dev.saetrain.analysis;

import java.util.Arrays;

/**
 * The three distributions the synthetic-activation study compares (Giglemiani et al. 2024): L0 per row, the
 * activation of every active latent, and the cosine similarity between the decoder direction of each active latent
 * and that of its row's top latent (the one with the largest activation; the top latent itself is not counted).
 *
 * @param l0         [rows]
 * @param magnitudes [active pairs]
 * @param cosToTop   [active pairs - rows with L0 &gt; 0]
 */
public record Distributions(double[] l0, double[] magnitudes, double[] cosToTop) {
    /** Measures {@code codes}; {@code unitDec} is W_dec with rows scaled to unit norm, [m, d]. */
    public static Distributions of(SaeEncoder.Codes codes, float[] unitDec, int d) {
        double[] l0 = new double[codes.rows()];
        double[] mags = new double[codes.idx().length];
        double[] cos = new double[codes.idx().length];
        int nCos = 0;
        for (int r = 0; r < codes.rows(); r++) {
            int lo = codes.rowPtr()[r];
            int hi = codes.rowPtr()[r + 1];
            l0[r] = hi - lo;
            int top = -1;
            for (int e = lo; e < hi; e++) {
                mags[e] = codes.val()[e];
                if (top < 0 || codes.val()[e] > codes.val()[top]) {
                    top = e;
                }
            }
            for (int e = lo; e < hi; e++) {
                if (e != top) {
                    cos[nCos++] = Cosines.dot(unitDec, codes.idx()[top], unitDec, codes.idx()[e], d);
                }
            }
        }
        return new Distributions(l0, mags, Arrays.copyOf(cos, nCos));
    }

    /** Mean of an array (NaN when empty); the one mean of the analyses. */
    public static double mean(double[] a) {
        return a.length == 0 ? Double.NaN : Arrays.stream(a).average().orElse(Double.NaN);
    }
}
