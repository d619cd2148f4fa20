package dev.saetrain.analysis;

import java.util.SplittableRandom;

/**
 * What the synthetic generators sample from, gathered from the real codes (Giglemiani et al. 2024): the real rows
 * themselves (L0, top latent, activations, and each non-top latent's decoder cosine similarity to the top latent),
 * each latent's firing count, and a reservoir of each latent's activations (at most {@code reservoirSize} values,
 * Vitter's algorithm R, seeded).
 */
final class LatentProfile {
    final int nLatents;
    final int reservoirSize;
    private final SplittableRandom rng;
    /** The real codes. */
    final SaeEncoder.Codes codes;
    final double[] l0;
    final long[] fires;
    final float[][] values;
    private final long[] valuesSeen;
    /** Per real row: the CSR position of its top latent (largest activation; -1 for an empty row). */
    final int[] rowTopEntry;
    /** Per real row: where its non-top latents' similarities start in {@link #cosToTop}. */
    final int[] rowCosStart;
    /** Pooled decoder cosine similarities of non-top latents to their row's top latent, row by row, CSR order. */
    final double[] cosToTop;

    LatentProfile(SaeEncoder.Codes codes, Distributions measured, int nLatents, int reservoirSize, long seed) {
        this.codes = codes;
        this.nLatents = nLatents;
        this.reservoirSize = reservoirSize;
        this.rng = new SplittableRandom(seed);
        this.l0 = measured.l0();
        this.cosToTop = measured.cosToTop();
        this.fires = new long[nLatents];
        this.values = new float[nLatents][];
        this.valuesSeen = new long[nLatents];
        this.rowTopEntry = new int[codes.rows()];
        this.rowCosStart = new int[codes.rows()];
        int pairs = 0;
        for (int r = 0; r < codes.rows(); r++) {
            int top = -1;
            for (int e = codes.rowPtr()[r]; e < codes.rowPtr()[r + 1]; e++) {
                int i = codes.idx()[e];
                fires[i]++;
                values[i] = offer(values[i], valuesSeen, i, codes.val()[e]);
                if (top < 0 || codes.val()[e] > codes.val()[top]) { // the same rule as Distributions.of
                    top = e;
                }
            }
            rowTopEntry[r] = top;
            rowCosStart[r] = pairs;
            pairs += top < 0 ? 0 : codes.l0(r) - 1;
        }
        assert pairs == cosToTop.length : pairs + " pairs, " + cosToTop.length + " similarities";
    }

    private float[] offer(float[] res, long[] seen, int i, float v) {
        long n = seen[i]++;
        if (n < reservoirSize) {
            float[] r = res == null ? new float[Math.min(reservoirSize, 16)] : res;
            if (n >= r.length) {
                r = java.util.Arrays.copyOf(r, Math.min(reservoirSize, r.length * 2));
            }
            r[(int) n] = v;
            return r;
        }
        long j = rng.nextLong(n + 1);
        if (j < reservoirSize) {
            res[(int) j] = v;
        }
        return res;
    }

    /** A uniform draw from latent i's activations. */
    float value(int i, SplittableRandom r) {
        return values[i][r.nextInt((int) Math.min(valuesSeen[i], reservoirSize))];
    }

    /** Latents that fired at least once. */
    int alive() {
        int n = 0;
        for (long f : fires) {
            n += f > 0 ? 1 : 0;
        }
        return n;
    }
}
