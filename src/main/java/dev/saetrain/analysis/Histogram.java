package dev.saetrain.analysis;

/**
 * Counts of values in {@code bins} equal-width bins over [lo, hi]: bin b holds [edges[b], edges[b + 1]), the last
 * bin also hi itself. Values below lo or above hi (and NaN, counted as above) are counted apart, not clamped.
 *
 * @param edges  [bins + 1] bin edges, increasing
 * @param counts [bins]
 * @param below  values < lo
 * @param above  values > hi or NaN
 */
public record Histogram(double[] edges, long[] counts, long below, long above) {
    /** The histogram of {@code values} over [lo, hi] with {@code bins} bins. */
    public static Histogram of(double[] values, double lo, double hi, int bins) {
        if (!(hi > lo) || bins < 1) {
            throw new IllegalArgumentException("a histogram needs lo < hi and bins >= 1, got [" + lo + ", " + hi
                    + "] with " + bins + " bins");
        }
        double[] edges = new double[bins + 1];
        for (int b = 0; b <= bins; b++) {
            edges[b] = lo + (hi - lo) * b / bins;
        }
        long[] counts = new long[bins];
        long below = 0;
        long above = 0;
        for (double v : values) {
            if (v < lo) {
                below++;
            } else if (!(v <= hi)) {
                above++;
            } else {
                int b = (int) Math.floor((v - lo) / (hi - lo) * bins);
                counts[Math.min(b, bins - 1)]++;
            }
        }
        return new Histogram(edges, counts, below, above);
    }

    /** Bin centres, [bins]. */
    public double[] centres() {
        double[] c = new double[counts.length];
        for (int b = 0; b < c.length; b++) {
            c[b] = (edges[b] + edges[b + 1]) / 2;
        }
        return c;
    }
}
