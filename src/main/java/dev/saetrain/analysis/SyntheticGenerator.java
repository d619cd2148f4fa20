package dev.saetrain.analysis;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Draws synthetic sparse codes from a {@link LatentProfile}, the two kinds of Giglemiani et al. 2024 ("Evaluating
 * Synthetic Activations composed of SAE Latents in GPT-2"):
 * <ul>
 *   <li><b>baseline</b> ("bag of latents"): L0 drawn from the real rows' L0s; that many distinct latents drawn with
 *       probability proportional to their real firing counts; each activation drawn from that latent's real
 *       activations. Sparsity and magnitudes match; which latents co-occur does not.</li>
 *   <li><b>structured</b>: a real row is drawn at random as a template: its L0, its top latent (largest
 *       activation) and every activation are kept; each non-top latent is replaced by a different latent whose decoder
 *       cosine similarity to the top latent is near the replaced one's: drawn, in proportion to firing count, among
 *       the {@code candidates} alive latents (not the replaced latent, not already in the row) nearest that similarity.
 *       So L0, activations and the similarity-to-top distribution follow the real ones, while which latents appear
 *       together is new. (The paper matches the similarity distribution; taking activations from the template keeps
 *       the dependence between a row's top activation and the others, which independent draws lose.)</li>
 * </ul>
 * A row is the latents' decoder directions weighted by their activations, plus b_dec (no SAE error term).
 */
final class SyntheticGenerator {
    private final LatentProfile profile;
    private final float[] unitDec;
    private final int d;
    private final int candidates;
    private final double[] cumFires;
    private final int alive;
    private final Map<Integer, Neighbours> cache;

    /** Latents sorted by their decoder cosine similarity to one anchor latent. */
    private record Neighbours(float[] cos, int[] ids) {
    }

    SyntheticGenerator(LatentProfile profile, float[] unitDec, int d, int candidates) {
        this.profile = profile;
        this.unitDec = unitDec;
        this.d = d;
        this.candidates = candidates;
        this.cumFires = cumulative(profile.fires);
        this.alive = profile.alive();
        int maxEntries = (int) Math.max(16, (64L << 20) / (8L * profile.nLatents));
        this.cache = new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<Integer, Neighbours> e) {
                return size() > maxEntries;
            }
        };
    }

    private static double[] cumulative(long[] counts) {
        double[] c = new double[counts.length];
        double s = 0;
        for (int i = 0; i < counts.length; i++) {
            s += counts[i];
            c[i] = s;
        }
        return c;
    }

    private static int draw(double[] cum, SplittableRandom r) {
        double u = r.nextDouble() * cum[cum.length - 1];
        int i = Arrays.binarySearch(cum, u);
        i = i >= 0 ? i + 1 : -i - 1; // first index whose cumulative count exceeds u
        while (i < cum.length - 1 && cum[i] == (i == 0 ? 0 : cum[i - 1])) {
            i++; // never land on a latent with a zero count
        }
        return Math.min(i, cum.length - 1);
    }

    /** {@code rows} codes of the given kind. */
    SaeEncoder.Codes generate(boolean structured, int rows, SplittableRandom r) {
        int[] rowPtr = new int[rows + 1];
        SaeEncoder.IntList idx = new SaeEncoder.IntList();
        SaeEncoder.FloatList val = new SaeEncoder.FloatList();
        int[] used = new int[Math.max(1, alive)];
        for (int row = 0; row < rows; row++) {
            int real = r.nextInt(profile.l0.length);
            int l0 = Math.min((int) profile.l0[real], alive);
            int n = 0;
            if (structured && l0 > 0) {
                SaeEncoder.Codes real0 = profile.codes;
                int topEntry = profile.rowTopEntry[real];
                int top = real0.idx()[topEntry];
                used[n++] = top;
                idx.add(top);
                val.add(real0.val()[topEntry]);
                Neighbours nb = neighbours(top);
                int pair = profile.rowCosStart[real];
                for (int e = real0.rowPtr()[real]; e < real0.rowPtr()[real + 1]; e++) {
                    if (e == topEntry) {
                        continue;
                    }
                    int j = nearest(nb, profile.cosToTop[pair++], used, n, real0.idx()[e], r);
                    if (j < 0) {
                        break;
                    }
                    used[n++] = j;
                    idx.add(j);
                    val.add(real0.val()[e]);
                }
            } else {
                int tries = 0;
                while (n < l0 && tries++ < 50 * l0) {
                    int j = draw(cumFires, r);
                    if (contains(used, n, j)) {
                        continue;
                    }
                    used[n++] = j;
                    idx.add(j);
                    val.add(profile.value(j, r));
                }
            }
            rowPtr[row + 1] = idx.size;
        }
        return new SaeEncoder.Codes(rows, rowPtr, idx.toArray(), val.toArray());
    }

    private static boolean contains(int[] a, int n, int v) {
        for (int i = 0; i < n; i++) {
            if (a[i] == v) {
                return true;
            }
        }
        return false;
    }

    /** Among the alive latents not in {@code used} and not {@code exclude}, the {@code candidates} nearest in similarity to target; one drawn by firing count. */
    private int nearest(Neighbours nb, double target, int[] used, int nUsed, int exclude, SplittableRandom r) {
        float[] cos = nb.cos;
        int hi = Arrays.binarySearch(cos, (float) target);
        hi = hi >= 0 ? hi : -hi - 1;
        int lo = hi - 1;
        int[] pick = new int[candidates];
        int got = 0;
        while (got < candidates && (lo >= 0 || hi < cos.length)) {
            boolean takeLo = hi >= cos.length || (lo >= 0 && target - cos[lo] <= cos[hi] - target);
            int at = takeLo ? lo-- : hi++;
            int id = nb.ids[at];
            if (id != exclude && !contains(used, nUsed, id)) {
                pick[got++] = id;
            }
        }
        if (got == 0) {
            return -1;
        }
        double total = 0;
        for (int i = 0; i < got; i++) {
            total += profile.fires[pick[i]];
        }
        double u = r.nextDouble() * total;
        for (int i = 0; i < got; i++) {
            u -= profile.fires[pick[i]];
            if (u < 0) {
                return pick[i];
            }
        }
        return pick[got - 1];
    }

    private Neighbours neighbours(int anchor) {
        Neighbours nb = cache.get(anchor);
        if (nb != null) {
            return nb;
        }
        int m = profile.nLatents;
        long[] keys = new long[alive];
        int n = 0;
        for (int j = 0; j < m; j++) {
            if (j != anchor && profile.fires[j] > 0) {
                float c = (float) Cosines.dot(unitDec, anchor, unitDec, j, d);
                int bits = Float.floatToIntBits(c == 0f ? 0f : c);
                bits ^= (bits >> 31) & 0x7fffffff;
                keys[n++] = ((long) bits << 32) | j;
            }
        }
        keys = Arrays.copyOf(keys, n);
        Arrays.sort(keys);
        float[] cos = new float[n];
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) {
            ids[i] = (int) keys[i];
            cos[i] = (float) Cosines.dot(unitDec, anchor, unitDec, ids[i], d);
        }
        nb = new Neighbours(cos, ids);
        cache.put(anchor, nb);
        return nb;
    }
}
