package dev.saetrain.data;

import dev.saetrain.error.BadInputException;

/**
 * Estimates the input scale factor c such that the mean L2 norm of a scaled row is sqrt(dIn):
 * {@code c = sqrt(dIn) / mean_i |x_i|} over the first rows of the data set in file order (shards in name
 * order, rows in order). This is the normalisation of Anthropic's April 2024 update and of SAELens'
 * {@code expected_average_only_in} norm scaling; the trainer records c and folds it into the exported weights.
 *
 * <p>File order rather than a spread over shards, because that is what "the first rows" in a run's
 * config.json can be checked against by anyone with numpy, and because norms vary little across shards
 * of one hook compared with the precision this factor needs.
 */
public final class ScaleEstimator {
    /** Rows the estimate uses by default (or all rows, if fewer). */
    public static final int DEFAULT_SAMPLE_ROWS = 32768;
    /** Rows converted per read. */
    private static final int CHUNK = 256;

    private ScaleEstimator() {
    }

    /**
     * Returns {@code sqrt(dIn) / mean |x|} over the first {@code min(sampleRows, totalRows)} rows.
     *
     * @param skipNonFinite leave rows with NaN or Inf out of the mean instead of failing on them
     * @throws BadInputException if a row is not finite (unless skipped) or the mean norm is 0
     */
    public static float estimate(ShardSet set, int sampleRows, boolean skipNonFinite) {
        if (sampleRows < 1) {
            throw new IllegalArgumentException("the scale estimate needs at least one row, got " + sampleRows);
        }
        int dIn = set.dIn();
        long want = Math.min(sampleRows, set.totalRows());
        float[] buf = new float[CHUNK * dIn];
        double normSum = 0;
        long used = 0;
        long seen = 0;
        for (Shard s : set.shards()) {
            for (long r = 0; r < s.rows() && seen < want; ) {
                int n = (int) Math.min(CHUNK, Math.min(s.rows() - r, want - seen));
                s.readRows(r, n, 1f, buf, 0);
                for (int i = 0; i < n; i++) {
                    int bad = Shard.firstNonFinite(buf, i * dIn, dIn);
                    if (bad >= 0) {
                        if (!skipNonFinite) {
                            throw ShardSet.nonFinite(s, r + i, bad, buf[i * dIn + bad]);
                        }
                        continue;
                    }
                    double sq = 0;
                    for (int j = i * dIn; j < (i + 1) * dIn; j++) {
                        sq += (double) buf[j] * buf[j];
                    }
                    normSum += Math.sqrt(sq);
                    used++;
                }
                r += n;
                seen += n;
            }
        }
        if (used == 0) {
            throw new BadInputException(set.source(), "all of the first " + want + " rows hold NaN or Inf; "
                    + "cannot estimate the input scale, regenerate the activation cache");
        }
        double mean = normSum / used;
        if (!(mean > 0) || !Double.isFinite(mean)) {
            throw new BadInputException(set.source(), "the mean L2 norm of the first " + used + " rows is " + mean
                    + ", so no scale factor makes it sqrt(d); the activations are all zero, check the cache");
        }
        float c = (float) (Math.sqrt(dIn) / mean);
        if (!(c > 0) || !Float.isFinite(c)) {
            throw new BadInputException(set.source(), "the scale factor sqrt(d) / mean norm = " + c
                    + " is out of float range (mean norm " + mean + "); check the activation cache");
        }
        return c;
    }
}
