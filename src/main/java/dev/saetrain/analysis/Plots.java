package dev.saetrain.analysis;

import dev.saetrain.io.AtomicFiles;
import dev.saetrain.plot.BarChart;
import dev.saetrain.plot.XyChart;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * The analyses' PNG plots (the plot package: plain Java, no AWT), 800 x 500 pixels, written atomically. Two ways in:
 * whole plots from data ({@link #histogram}, {@link #xy}), or a chart made here ({@link #scatter}, {@link #lines},
 * {@link #bars}), filled by the caller and written with {@link #write(XyChart, Path)} /
 * {@link #write(BarChart, Path)}.
 */
public final class Plots {
    static final int WIDTH = 800;
    static final int HEIGHT = 500;

    /** One named series of points. */
    public record Series(double[] x, double[] y, XyChart.Style style) {
        public Series {
            if (x.length != y.length) {
                throw new IllegalArgumentException("a series needs as many x as y values, got " + x.length + " and "
                        + y.length);
            }
        }

        public static Series line(double[] x, double[] y) {
            return new Series(x, y, XyChart.Style.LINE);
        }

        public static Series scatter(double[] x, double[] y) {
            return new Series(x, y, XyChart.Style.SCATTER);
        }
    }

    private Plots() {
    }

    /** A histogram as filled bars over its bins; {@code note} (may be null) goes into the legend. */
    public static void histogram(Path png, String title, String xLabel, Histogram h, String note) throws IOException {
        double[] x = h.edges();
        double[] y = new double[x.length];
        for (int b = 0; b < h.counts().length; b++) {
            y[b] = h.counts()[b];
        }
        y[x.length - 1] = y[Math.max(0, x.length - 2)];
        XyChart chart = new XyChart(title, xLabel, "count", WIDTH, HEIGHT);
        chart.add(note == null ? "count" : note, x, y, XyChart.Style.STEP_AREA);
        write(chart, png);
    }

    /** Any number of series on one chart; log axes leave out values <= 0. Empty series are left out. */
    public static void xy(Path png, String title, String xLabel, String yLabel, boolean logX, boolean logY,
                          Map<String, Series> series) throws IOException {
        XyChart chart = new XyChart(title, xLabel, yLabel, WIDTH, HEIGHT).logX(logX).logY(logY);
        for (Map.Entry<String, Series> e : series.entrySet()) {
            Series s = e.getValue();
            if (s.x().length > 0) {
                chart.add(e.getKey(), s.x(), s.y(), s.style());
            }
        }
        write(chart, png);
    }

    /** A chart for scatter series (discs of radius 2). */
    public static XyChart scatter(String title, String xTitle, String yTitle) {
        return new XyChart(title, xTitle, yTitle, WIDTH, HEIGHT).markerRadius(2);
    }

    /** A chart for line series (CDFs, histograms drawn through their bin centres). */
    public static XyChart lines(String title, String xTitle, String yTitle) {
        return new XyChart(title, xTitle, yTitle, WIDTH, HEIGHT);
    }

    /** Adds the empirical CDF of {@code values} as a line of at most 400 points; the y axis becomes 0 to 1. */
    public static void addCdf(XyChart chart, String name, double[] values) {
        chart.yRange(0.0, 1.0);
        double[] v = values.clone();
        Arrays.sort(v);
        int points = Math.min(400, v.length);
        double[] x = new double[points];
        double[] y = new double[points];
        for (int i = 0; i < points; i++) {
            int at = points == 1 ? v.length - 1 : (int) ((long) i * (v.length - 1) / (points - 1));
            x[i] = v[at];
            y[i] = (at + 1) / (double) v.length;
        }
        chart.add(name, x, y, XyChart.Style.LINE);
    }

    /** Adds a histogram of {@code values} over {@code bins} equal bins as a line through the bin centres. */
    public static void addHistogram(XyChart chart, String name, double[] values, int bins) {
        double lo = Arrays.stream(values).min().orElse(0);
        double hi = Arrays.stream(values).max().orElse(1);
        if (hi <= lo) {
            hi = lo + 1;
        }
        double[] x = new double[bins];
        double[] y = new double[bins];
        double w = (hi - lo) / bins;
        for (int b = 0; b < bins; b++) {
            x[b] = lo + (b + 0.5) * w;
        }
        for (double v : values) {
            y[Math.min(bins - 1, (int) ((v - lo) / w))]++;
        }
        chart.add(name, x, y, XyChart.Style.LINE);
    }

    /** A bar chart over {@code categories}; series are added with {@link #addBars}. */
    public static BarChart bars(String title, String xTitle, String yTitle, List<String> categories) {
        return new BarChart(title, xTitle, yTitle, WIDTH, HEIGHT, categories);
    }

    /** Adds a bar series, a value per category. */
    public static void addBars(BarChart chart, String name, List<? extends Number> values) {
        chart.add(name, values.stream().mapToDouble(Number::doubleValue).toArray());
    }

    /** Writes {@code chart} to {@code file} as PNG, atomically. */
    public static void write(XyChart chart, Path file) throws IOException {
        byte[] png = chart.png();
        AtomicFiles.write(file, out -> out.write(png));
    }

    /** Writes {@code chart} to {@code file} as PNG, atomically. */
    public static void write(BarChart chart, Path file) throws IOException {
        byte[] png = chart.png();
        AtomicFiles.write(file, out -> out.write(png));
    }
}
