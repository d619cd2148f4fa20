package dev.saetrain.analysis;

import java.util.SplittableRandom;

/**
 * What the synthetic generators sample from, gathered from the real codes (Giglemiani et al. 2024): the L0 of every
 * real row, each latent's firing count and a reservoir of its activations, how often each latent is its row's top
 * latent with a reservoir of its activations when it is, and the pooled cosine similarities of active latents to
 * their row's top latent. Reservoirs hold at most {@code reservoirSize} values (Vitter's algorithm R, seeded).
 */
final class LatentProfile {
    final int nLatents;
    final int reservoirSize;
    private final SplittableRandom rng;
    final double[] l0;
    final long[] fires;
    final long[] tops;
    final float[][] values;
    final float[][] topValues;
    private final long[] valuesSeen;
    private final long[] topSeen;
    final double[] cosToTop;

    LatentProfile(SparseEncoder.Codes codes, Distributions measured, int nLatents, int reservoirSize, long seed) {
        this.nLatents = nLatents;
        this.reservoirSize = reservoirSize;
        this.rng = new SplittableRandom(seed);
        this.l0 = measured.l0();
        this.cosToTop = measured.cosToTop();
        this.fires = new long[nLatents];
        this.tops = new long[nLatents];
        this.values = new float[nLatents][];
        this.topValues = new float[nLatents][];
        this.valuesSeen = new long[nLatents];
        this.topSeen = new long[nLatents];
        for (int r = 0; r < codes.rows(); r++) {
            int top = -1;
            for (int e = codes.rowPtr()[r]; e < codes.rowPtr()[r + 1]; e++) {
                int i = codes.idx()[e];
                fires[i]++;
                values[i] = offer(values[i], valuesSeen, i, codes.val()[e]);
                if (top < 0 || codes.val()[e] > codes.val()[top]) {
                    top = e;
                }
            }
            if (top >= 0) {
                int t = codes.idx()[top];
                tops[t]++;
                topValues[t] = offer(topValues[t], topSeen, t, codes.val()[top]);
            }
        }
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

    /** A uniform draw from latent i's activations when it was its row's top latent. */
    float topValue(int i, SplittableRandom r) {
        return topValues[i][r.nextInt((int) Math.min(topSeen[i], reservoirSize))];
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
