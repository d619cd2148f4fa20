package dev.saetrain.analysis;

import dev.saetrain.error.UsageException;

/**
 * The shape of one latent's logit weight distribution, the vector W_dec[i] . W_U over the vocabulary (Bloom &amp; Lin
 * 2024, "Understanding SAE Features with the Logit Lens"). Population moments, as SAELens's {@code get_stats_df}
 * computes them: skewness = E[z^3], kurtosis = E[z^4] (Pearson's, 3 for a normal distribution) with
 * z = (w - mean) / std.
 *
 * @param mean        mean logit weight
 * @param std         standard deviation (population)
 * @param skewness    E[z^3]
 * @param kurtosis    E[z^4]
 */
public record LogitStats(double mean, double std, double skewness, double kurtosis) {
    /** The moments of {@code w[off .. off + n)}, accumulated in double. */
    public static LogitStats of(float[] w, int off, int n) {
        double sum = 0;
        for (int i = 0; i < n; i++) {
            sum += w[off + i];
        }
        double mean = sum / n;
        double m2 = 0;
        double m3 = 0;
        double m4 = 0;
        for (int i = 0; i < n; i++) {
            double c = w[off + i] - mean;
            double c2 = c * c;
            m2 += c2;
            m3 += c2 * c;
            m4 += c2 * c2;
        }
        m2 /= n;
        m3 /= n;
        m4 /= n;
        if (m2 == 0) {
            return new LogitStats(mean, 0, 0, 0);
        }
        return new LogitStats(mean, Math.sqrt(m2), m3 / Math.pow(m2, 1.5), m4 / (m2 * m2));
    }

    /**
     * Sarle's bimodality coefficient (skewness^2 + 1) / kurtosis: 1/3 for a normal distribution, 5/9 for a uniform
     * one, 1 for two equal spikes. Above 5/9 suggests two modes.
     */
    public double bimodality() {
        return kurtosis == 0 ? 0 : (skewness * skewness + 1) / kurtosis;
    }

    /** The latent classes of the post, plus none. */
    public enum FeatureClass {
        /** Promotes a small set of tokens: heavy right tail (high kurtosis, positive skew). */
        PREDICTION,
        /** Suppresses a small set of tokens: heavy left tail (high kurtosis, negative skew). */
        SUPPRESSION,
        /** Splits the vocabulary in two, promoting one part and suppressing the other: a bimodal distribution. */
        PARTITION,
        /** None of the above. */
        NONE;

        /** Lower-case name for files and tables. */
        public String label() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /**
     * The cut-offs that turn the post's qualitative classes into a rule. The post describes prediction features as
     * high kurtosis with positive skew, suppression features as high kurtosis with negative skew, and partition
     * features as promoting about half the vocabulary and suppressing the other half; it gives these as regions of its
     * skew / kurtosis scatter plots, not as numbers. Ours, checked in this order:
     * <ol>
     *   <li>prediction: kurtosis &gt;= {@code minKurtosis} and skewness &gt;= {@code minSkew};</li>
     *   <li>suppression: kurtosis &gt;= {@code minKurtosis} and skewness &lt;= -{@code minSkew};</li>
     *   <li>partition: bimodality coefficient &gt;= {@code minBimodality} and kurtosis &lt; {@code minKurtosis};</li>
     *   <li>otherwise none.</li>
     * </ol>
     * Defaults: kurtosis 10 (a normal distribution has 3; a spike on 5 % of the tokens has about 18),
     * |skew| 1, bimodality 5/9 (Sarle's cut-off; a normal distribution has 1/3).
     *
     * @param minKurtosis   kurtosis a prediction or suppression latent reaches
     * @param minSkew       |skewness| a prediction or suppression latent reaches
     * @param minBimodality bimodality coefficient a partition latent reaches
     */
    public record Thresholds(double minKurtosis, double minSkew, double minBimodality) {
        /** The defaults described above. */
        public static final Thresholds DEFAULT = new Thresholds(10, 1, 5.0 / 9);

        public Thresholds {
            if (!(minKurtosis > 3) || !(minSkew > 0) || !(minBimodality > 1.0 / 3 && minBimodality <= 1)) {
                throw new UsageException("classification thresholds: kurtosis must exceed 3 (the normal's), "
                        + "skew must be positive, bimodality must lie in (1/3, 1]; got " + minKurtosis + ", "
                        + minSkew + ", " + minBimodality);
            }
        }
    }

    /** This latent's class under {@code t}. */
    public FeatureClass classify(Thresholds t) {
        if (std == 0) {
            return FeatureClass.NONE;
        }
        if (kurtosis >= t.minKurtosis() && skewness >= t.minSkew()) {
            return FeatureClass.PREDICTION;
        }
        if (kurtosis >= t.minKurtosis() && skewness <= -t.minSkew()) {
            return FeatureClass.SUPPRESSION;
        }
        if (bimodality() >= t.minBimodality() && kurtosis < t.minKurtosis()) {
            return FeatureClass.PARTITION;
        }
        return FeatureClass.NONE;
    }
}
