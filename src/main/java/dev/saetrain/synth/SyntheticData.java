package dev.saetrain.synth;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Toy activations with known ground truth, after Sharkey, Braun and Millidge (2022), "Taking features out of
 * superposition with sparse autoencoders" (interim research report, LessWrong/AI Alignment Forum):
 * <ul>
 *   <li>ground truth: {@code features} unit vectors in R^d, each a standard Gaussian vector normalised to length 1;</li>
 *   <li>feature i fires independently with probability p_i proportional to decay^i, scaled so that the expected
 *       number of active features per row is exactly {@code active};</li>
 *   <li>an active feature gets a coefficient uniform in [0, 1); row = sum_i c_i * feature_i.</li>
 * </ul>
 * Where the scaled p_i would exceed 1 (few features or a steep decay), the most frequent features are
 * clamped at 1 and the excess is spread over the others in proportion to decay^i ("water filling"), so the
 * expectation still equals {@code active}.
 *
 * <p>Randomness: {@link SplittableRandom}. The features come from {@code new SplittableRandom(seed)}; row r is
 * drawn from its own generator seeded with a hash of (seed, r), so any row can be regenerated alone with its
 * codes ({@link #row}), the data do not depend on how rows are split into shards, and two seeds give unrelated
 * rows. Box-Muller from {@code nextDouble} rather than {@code nextGaussian}, whose algorithm the JDK does not fix.
 *
 * <p>Sampling scans every feature with one Bernoulli draw per row (O(features) per row). At 512 features that
 * is about a microsecond per row, fast enough that the geometric skip-ahead is not worth its complexity.
 * Instances are immutable and thread-safe.
 */
public final class SyntheticData {
    private static final long GOLDEN_GAMMA = 0x9e3779b97f4a7c15L;
    /** Keeps row streams apart from the feature stream, which is seeded with the bare seed. */
    private static final long ROW_SALT = 0x5851f42d4c957f2dL;

    private final SynthOptions options;
    /** [features, d] row-major, F32, each row unit norm. */
    private final float[] groundTruth;
    /** [features] firing probability of each feature, decreasing, summing to options.active(). */
    private final double[] probabilities;
    /** Features past this index have p = 0 (decay^i underflowed) and are not scanned. */
    private final int scanned;

    public SyntheticData(SynthOptions options) {
        this.options = options;
        this.groundTruth = unitGaussianRows(options.features(), options.d(), new SplittableRandom(options.seed()));
        this.probabilities = firingProbabilities(options.features(), options.active(), options.decay());
        int last = probabilities.length;
        while (last > 0 && probabilities[last - 1] == 0) {
            last--;
        }
        this.scanned = last;
    }

    public SynthOptions options() {
        return options;
    }

    /** The ground-truth features, [features, d] row-major F32 (a copy). */
    public float[] groundTruth() {
        return groundTruth.clone();
    }

    /** Firing probability p_i of each feature, [features] (a copy). */
    public double[] probabilities() {
        return probabilities.clone();
    }

    /**
     * Generates row {@code index} into {@code out} [d] and returns its codes; the same values
     * {@link SynthWriter} writes for that row (before any F16 rounding of the file).
     */
    public Codes row(long index, float[] out) {
        int[] idx = new int[options.features()];
        double[] coef = new double[options.features()];
        int n = fillRow(index, out, 0, idx, coef, new double[options.d()]);
        return new Codes(Arrays.copyOf(idx, n), Arrays.copyOf(coef, n));
    }

    /**
     * Writes row {@code index} into {@code out[offset, offset + d)} using the caller's scratch arrays
     * (idx and coef [features], acc [d]) and returns the number of active features, listed in idx/coef.
     */
    int fillRow(long index, float[] out, int offset, int[] idx, double[] coef, double[] acc) {
        SplittableRandom rng = new SplittableRandom(rowSeed(options.seed(), index));
        int n = 0;
        for (int i = 0; i < scanned; i++) {
            if (rng.nextDouble() < probabilities[i]) {
                idx[n] = i;
                coef[n] = rng.nextDouble();
                n++;
            }
        }
        int d = options.d();
        Arrays.fill(acc, 0);
        for (int r = 0; r < n; r++) {
            int base = idx[r] * d;
            double c = coef[r];
            for (int j = 0; j < d; j++) {
                acc[j] += c * groundTruth[base + j];
            }
        }
        for (int j = 0; j < d; j++) {
            out[offset + j] = (float) acc[j];
        }
        return n;
    }

    /**
     * p_i = min(1, s * decay^i) with the clamped mass redistributed: the first j features get p = 1 and the rest
     * (active - j) * decay^i / sum_{l >= j} decay^l, for the smallest j that keeps every p_i <= 1.
     */
    static double[] firingProbabilities(int features, double active, double decay) {
        double[] w = new double[features];
        double v = 1;
        for (int i = 0; i < features; i++) {
            w[i] = v;
            v *= decay;
        }
        double[] tail = new double[features + 1];
        for (int i = features - 1; i >= 0; i--) {
            tail[i] = tail[i + 1] + w[i];
        }
        double[] p = new double[features];
        for (int j = 0; j <= features; j++) {
            double rest = active - j;
            if (rest <= 0 || j == features) {
                Arrays.fill(p, 0, j, 1);
                return p;
            }
            if (tail[j] > 0 && rest * w[j] / tail[j] <= 1) {
                Arrays.fill(p, 0, j, 1);
                for (int i = j; i < features; i++) {
                    p[i] = rest * w[i] / tail[j];
                }
                return p;
            }
        }
        throw new AssertionError("unreachable: j = features returns above");
    }

    /** [n, d] rows of independent standard Gaussians (Box-Muller), each normalised to unit length. */
    private static float[] unitGaussianRows(int n, int d, SplittableRandom rng) {
        float[] out = new float[n * d];
        double[] g = new double[d];
        for (int i = 0; i < n; i++) {
            double norm2;
            do {
                for (int j = 0; j < d; j += 2) {
                    double u1 = 1 - rng.nextDouble(); // (0, 1], so log is finite
                    double u2 = rng.nextDouble();
                    double r = Math.sqrt(-2 * Math.log(u1));
                    g[j] = r * Math.cos(2 * Math.PI * u2);
                    if (j + 1 < d) {
                        g[j + 1] = r * Math.sin(2 * Math.PI * u2);
                    }
                }
                norm2 = 0;
                for (double x : g) {
                    norm2 += x * x;
                }
            } while (norm2 == 0); // only possible for tiny d; redraw rather than divide by zero
            double inv = 1 / Math.sqrt(norm2);
            for (int j = 0; j < d; j++) {
                out[i * d + j] = (float) (g[j] * inv);
            }
        }
        return out;
    }

    /** A 64-bit hash of (seed, row): SplitMix64's finaliser (Steele, Lea and Flood 2014) applied twice. */
    static long rowSeed(long seed, long row) {
        return mix64(mix64(seed ^ ROW_SALT) + row * GOLDEN_GAMMA);
    }

    private static long mix64(long z) {
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }
}
