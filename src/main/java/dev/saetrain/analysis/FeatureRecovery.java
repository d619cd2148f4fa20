package dev.saetrain.analysis;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.saetrain.data.Shard;
import dev.saetrain.error.BadInputException;
import dev.saetrain.model.SaeWeights;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Feature recovery against known ground-truth features (Sharkey, Braun and Millidge 2022, "Taking features out of
 * superposition with sparse autoencoders"): for each true feature g, the decoder row with the largest cosine;
 * the mean of those maxima (mean max cosine similarity, MMCS), and the fractions of features recovered above
 * {@value #GOOD} and {@value #EXCELLENT}. The matching is reported two ways: each feature's best latent (several
 * features may share one), and a one-to-one matching (greedy: pairs taken by decreasing cosine, each feature and
 * latent used once), whose mean cosine penalises a dictionary that covers many features with one latent; it is
 * skipped, with a log line, past {@link #MAX_PAIRS} pairs.
 *
 * <p>Writes {@code matching.csv}, {@code summary.json} and {@code max-cosine.png}.
 */
public final class FeatureRecovery {
    /** The study's folder name. */
    public static final String STUDY = "recovery";
    public static final double GOOD = 0.9;
    public static final double EXCELLENT = 0.99;
    /** Most (feature, latent) pairs the one-to-one matching sorts (memory: about 24 bytes each). */
    public static final long MAX_PAIRS = 1L << 24;
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(FeatureRecovery.class);

    /**
     * @param best       [features] the latent with the largest decoder cosine
     * @param bestCos    [features] that cosine
     * @param oneToOne   [features] the latent of the one-to-one matching, -1 where latents ran out
     * @param oneToOneCos [features] its cosine (NaN where unmatched)
     */
    public record Result(int[] best, double[] bestCos, int[] oneToOne, double[] oneToOneCos) {
        public double meanMaxCos() {
            return Distributions.mean(bestCos);
        }

        public double fractionAbove(double t) {
            return (double) Arrays.stream(bestCos).filter(c -> c >= t).count() / bestCos.length;
        }

        /** Mean cosine of the one-to-one matching, unmatched features counting 0. */
        public double oneToOneMean() {
            return Arrays.stream(oneToOneCos).map(c -> Double.isNaN(c) ? 0 : c).sum() / oneToOneCos.length;
        }
    }

    private FeatureRecovery() {
    }

    /** Reads ground-truth features from an .npy or .safetensors file [features, d]. */
    public static float[] readGroundTruth(Path file, int d) {
        Shard s = Shard.open(file);
        if (s.dIn() != d) {
            throw new BadInputException(file, "ground-truth features have d = " + s.dIn() + " but the dictionary has"
                    + " d_in = " + d + "; give the features of the data it was trained on");
        }
        if (s.rows() < 1 || s.rows() > Integer.MAX_VALUE / d) {
            throw new BadInputException(file, "holds " + s.rows() + " features; expected [features, d] with at least one");
        }
        float[] g = new float[(int) s.rows() * d];
        s.readRows(0, (int) s.rows(), 1f, g, 0);
        if (Shard.firstNonFinite(g, 0, g.length) >= 0) {
            throw new BadInputException(file, "holds NaN or Inf; regenerate the ground-truth features");
        }
        return g;
    }

    /** Matches {@code truth} [features, d] against the decoder rows of {@code w}. */
    public static Result compute(SaeWeights w, float[] truth) {
        int d = w.config().dIn();
        int m = w.config().nLatents();
        int f = truth.length / d;
        double[] g = Cosines.unitRows(truth, f, d);
        // Every true feature against every decoder row, over one array of unit rows: a whole matrix.
        double[] u = Cosines.unitRows(w.wDec().toArray("feature recovery (nearest decoder row of each true feature)"),
                m, d);
        double[] bestCos = new double[f];
        int[] best = Cosines.nearest(g, f, u, m, d, false, bestCos);
        if ((long) f * m > MAX_PAIRS) {
            LOG.info("recovery: {} features x {} latents is more than {} pairs; the one-to-one matching is skipped"
                    + " (best matches are complete)", f, m, MAX_PAIRS);
            int[] none = new int[f];
            double[] nan = new double[f];
            Arrays.fill(none, -1);
            Arrays.fill(nan, Double.NaN);
            return new Result(best, bestCos, none, nan);
        }
        // Greedy one-to-one: all pairs sorted by decreasing cosine (ties: lower feature, then lower latent).
        double[] all = new double[f * m];
        java.util.stream.IntStream.range(0, f).parallel().forEach(i -> {
            for (int j = 0; j < m; j++) {
                all[i * m + j] = Cosines.dot(g, i, u, j, d);
            }
        });
        Integer[] order = new Integer[f * m];
        for (int p = 0; p < order.length; p++) {
            order[p] = p;
        }
        Arrays.sort(order, (p, q) -> all[p] != all[q] ? Double.compare(all[q], all[p]) : Integer.compare(p, q));
        int[] oneToOne = new int[f];
        double[] oneCos = new double[f];
        Arrays.fill(oneToOne, -1);
        Arrays.fill(oneCos, Double.NaN);
        boolean[] used = new boolean[m];
        int matched = 0;
        for (int p = 0; p < order.length && matched < Math.min(f, m); p++) {
            int i = order[p] / m;
            int j = order[p] % m;
            if (oneToOne[i] < 0 && !used[j]) {
                oneToOne[i] = j;
                oneCos[i] = all[order[p]];
                used[j] = true;
                matched++;
            }
        }
        return new Result(best, bestCos, oneToOne, oneCos);
    }

    public static Result run(String saeName, SaeWeights w, Path groundTruthFile, Path outDir) throws IOException {
        Result r = compute(w, readGroundTruth(groundTruthFile, w.config().dIn()));
        Csv csv = new Csv("feature", "best_latent", "best_cos", "one_to_one_latent", "one_to_one_cos");
        for (int i = 0; i < r.best().length; i++) {
            csv.row(i, r.best()[i], r.bestCos()[i], r.oneToOne()[i], Double.isNaN(r.oneToOneCos()[i]) ? ""
                    : r.oneToOneCos()[i]);
        }
        csv.write(outDir.resolve("matching.csv"));
        Histogram h = Histogram.of(r.bestCos(), -1, 1, 100);
        ObjectNode s = StudyFiles.object();
        s.put("sae", saeName);
        s.put("ground_truth", groundTruthFile.toString());
        s.put("features", r.best().length);
        s.put("n_latents", w.config().nLatents());
        s.put("mean_max_cos", r.meanMaxCos());
        s.put("fraction_above_0.9", r.fractionAbove(GOOD));
        s.put("fraction_above_0.99", r.fractionAbove(EXCELLENT));
        s.put("one_to_one_mean_cos", r.oneToOneMean());
        s.set("max_cos_histogram", StudyFiles.histogram(h));
        StudyFiles.writeJson(outDir.resolve(StudyFiles.SUMMARY), s);
        Plots.histogram(outDir.resolve("max-cosine.png"), saeName + ": recovery of " + r.best().length
                + " true features", "max_i cos(feature, W_dec[i])", h, "true features");
        return r;
    }
}
