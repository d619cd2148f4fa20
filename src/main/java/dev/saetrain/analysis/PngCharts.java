package dev.saetrain.analysis;

import dev.saetrain.io.AtomicFiles;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.internal.chartpart.Chart;
import org.knowm.xchart.style.markers.SeriesMarkers;
import org.knowm.xchart.XYSeries;

/**
 * The PNG plots of the logit-lens and synthetic-activation studies, drawn with XChart on a headless AWT (no display
 * needed) and written atomically.
 */
final class PngCharts {
    static {
        System.setProperty("java.awt.headless", "true");
    }

    static final int WIDTH = 800;
    static final int HEIGHT = 500;

    private PngCharts() {
    }

    /** A scatter plot with one series per name. */
    static XYChart scatter(String title, String xTitle, String yTitle) {
        XYChart c = new XYChartBuilder().width(WIDTH).height(HEIGHT).title(title).xAxisTitle(xTitle).yAxisTitle(yTitle)
                .build();
        c.getStyler().setDefaultSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
        c.getStyler().setMarkerSize(4);
        return c;
    }

    /** A line chart (for CDFs and histograms drawn as steps). */
    static XYChart lines(String title, String xTitle, String yTitle) {
        XYChart c = new XYChartBuilder().width(WIDTH).height(HEIGHT).title(title).xAxisTitle(xTitle).yAxisTitle(yTitle)
                .build();
        c.getStyler().setDefaultSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Line);
        return c;
    }

    /** Adds the empirical CDF of {@code values} as a line of at most 400 points. */
    static void addCdf(XYChart chart, String name, double[] values) {
        chart.getStyler().setYAxisMin(0.0);
        chart.getStyler().setYAxisMax(1.0);
        chart.getStyler().setYAxisDecimalPattern("0.0");
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
        XYSeries s = chart.addSeries(name, x, y);
        s.setMarker(SeriesMarkers.NONE);
    }

    /** Adds a histogram of {@code values} over {@code bins} equal bins as a line through the bin centres. */
    static void addHistogram(XYChart chart, String name, double[] values, int bins) {
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
        XYSeries s = chart.addSeries(name, x, y);
        s.setMarker(SeriesMarkers.NONE);
    }

    /** A bar chart of one or more series over the same categories. */
    static CategoryChart bars(String title, String xTitle, String yTitle) {
        return new CategoryChartBuilder().width(WIDTH).height(HEIGHT).title(title).xAxisTitle(xTitle).yAxisTitle(yTitle)
                .build();
    }

    /** Adds a bar series. */
    static void addBars(CategoryChart chart, String name, List<String> categories, List<? extends Number> values) {
        chart.addSeries(name, categories, values);
    }

    /** Writes {@code chart} to {@code file} as PNG, atomically. */
    static void write(Chart<?, ?> chart, Path file) throws IOException {
        java.awt.image.BufferedImage image = BitmapEncoder.getBufferedImage(chart);
        AtomicFiles.write(file, out -> {
            if (!javax.imageio.ImageIO.write(image, "png", out)) {
                throw new IOException("no PNG writer in this Java runtime; cannot write " + file);
            }
        });
    }
}
