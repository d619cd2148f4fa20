package dev.saetrain.analysis;

import java.util.stream.IntStream;

/** Cosine similarities between the rows of matrices stored row-major [rows, d], in double. */
public final class Cosines {
    private Cosines() {
    }

    /** The rows of {@code a} [n, d] divided by their L2 norms; a zero row stays zero (its cosines are 0). */
    public static double[] unitRows(float[] a, int n, int d) {
        double[] u = new double[n * d];
        for (int i = 0; i < n; i++) {
            double s = 0;
            for (int j = 0; j < d; j++) {
                s += (double) a[i * d + j] * a[i * d + j];
            }
            double inv = s > 0 ? 1 / Math.sqrt(s) : 0;
            for (int j = 0; j < d; j++) {
                u[i * d + j] = a[i * d + j] * inv;
            }
        }
        return u;
    }

    /** {@link #unitRows} rounded to float, for the synthetic study's decoder products. */
    public static float[] unitRowsFloat(float[] a, int n, int d) {
        double[] u = unitRows(a, n, d);
        float[] f = new float[u.length];
        for (int i = 0; i < u.length; i++) {
            f[i] = (float) u[i];
        }
        return f;
    }

    /** L2 norm of row i of {@code a} [n, d]. */
    public static double rowNorm(float[] a, int i, int d) {
        double s = 0;
        for (int j = 0; j < d; j++) {
            s += (double) a[i * d + j] * a[i * d + j];
        }
        return Math.sqrt(s);
    }

    /** Dot product of row i of {@code a} and row j of {@code b}, both unit rows of width d. */
    public static double dot(double[] a, int i, double[] b, int j, int d) {
        double s = 0;
        int ai = i * d;
        int bj = j * d;
        for (int t = 0; t < d; t++) {
            s += a[ai + t] * b[bj + t];
        }
        return s;
    }

    /** {@link #dot(double[], int, double[], int, int)} for unit rows kept in float (the synthetic study's). */
    public static double dot(float[] a, int i, float[] b, int j, int d) {
        double s = 0;
        int ai = i * d;
        int bj = j * d;
        for (int t = 0; t < d; t++) {
            s += a[ai + t] * b[bj + t];
        }
        return s;
    }

    /**
     * For each row i of {@code a} [n, d] (unit rows), the row of {@code b} [nb, d] with the largest cosine, skipping
     * j == i when {@code excludeSelf} (a against itself). Ties go to the lower index. Returns {@code best[i]}
     * (-1 if there is no candidate) and fills {@code bestCos[i]}.
     */
    public static int[] nearest(double[] a, int n, double[] b, int nb, int d, boolean excludeSelf, double[] bestCos) {
        int[] best = new int[n];
        IntStream.range(0, n).parallel().forEach(i -> {
            int arg = -1;
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < nb; j++) {
                if (excludeSelf && j == i) {
                    continue;
                }
                double c = dot(a, i, b, j, d);
                if (c > max) {
                    max = c;
                    arg = j;
                }
            }
            best[i] = arg;
            bestCos[i] = arg < 0 ? Double.NaN : max;
        });
        return best;
    }
}
