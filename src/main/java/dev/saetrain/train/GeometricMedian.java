package dev.saetrain.train;

/**
 * The geometric median of rows by Weiszfeld's algorithm, used to initialise b_dec (Towards
 * Monosemanticity; Gao et al. 2024, section 2.4): the point minimising the sum of distances to the rows.
 */
public final class GeometricMedian {
    private GeometricMedian() {
    }

    /**
     * @param rows  [n, d] row-major
     * @return the median [d], to within {@code tol} relative movement or {@code maxIter} iterations
     */
    public static float[] of(float[] rows, int n, int d, int maxIter, double tol) {
        if (n < 1) {
            throw new IllegalArgumentException("geometric median of no rows");
        }
        double[] y = new double[d];
        for (int r = 0; r < n; r++) {
            for (int j = 0; j < d; j++) {
                y[j] += rows[r * d + j];
            }
        }
        for (int j = 0; j < d; j++) {
            y[j] /= n;
        }
        double[] next = new double[d];
        for (int it = 0; it < maxIter; it++) {
            java.util.Arrays.fill(next, 0);
            double wsum = 0;
            for (int r = 0; r < n; r++) {
                double dist = 0;
                for (int j = 0; j < d; j++) {
                    double t = rows[r * d + j] - y[j];
                    dist += t * t;
                }
                dist = Math.sqrt(dist);
                if (dist < 1e-12) {
                    continue; // a row at the current estimate: Weiszfeld's update skips it
                }
                double w = 1 / dist;
                wsum += w;
                for (int j = 0; j < d; j++) {
                    next[j] += w * rows[r * d + j];
                }
            }
            if (wsum == 0) {
                break;
            }
            double move = 0;
            double norm = 0;
            for (int j = 0; j < d; j++) {
                next[j] /= wsum;
                move += (next[j] - y[j]) * (next[j] - y[j]);
                norm += next[j] * next[j];
            }
            System.arraycopy(next, 0, y, 0, d);
            if (Math.sqrt(move) <= tol * Math.max(1e-12, Math.sqrt(norm))) {
                break;
            }
        }
        float[] out = new float[d];
        for (int j = 0; j < d; j++) {
            out[j] = (float) y[j];
        }
        return out;
    }
}
