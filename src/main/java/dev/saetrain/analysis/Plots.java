package dev.saetrain.analysis;

import dev.saetrain.io.AtomicFiles;
import java.awt.Color;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.internal.chartpart.Chart;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * PNG plots rendered with XChart, headless (no display needed: {@code java.awt.headless} is set before any AWT
 * class loads here), written atomically. 800 x 500 pixels. Two ways in: whole plots from data ({@link #histogram},
 * {@link #xy}), or a chart built here ({@link #scatter}, {@link #lines}, {@link #bars}), filled by the caller and
 * written with {@link #write(Chart, Path)}.
 */
public final class Plots {
    static {
        System.setProperty("java.awt.headless", "true");
    }

    static final int WIDTH = 800;
    static final int HEIGHT = 500;

    /** One named series of points. */
    public record Series(double[] x, double[] y, XYSeries.XYSeriesRenderStyle style) {
        public Series {
            if (x.length != y.length) {
                throw new IllegalArgumentException("a series needs as many x as y values, got " + x.length + " and "
                        + y.length);
            }
        }

        public static Series line(double[] x, double[] y) {
            return new Series(x, y, XYSeries.XYSeriesRenderStyle.Line);
        }

        public static Series scatter(double[] x, double[] y) {
            return new Series(x, y, XYSeries.XYSeriesRenderStyle.Scatter);
        }
    }

    private Plots() {
    }

    /** A histogram as a filled step curve; {@code note} (may be null) goes into the legend. */
    public static void histogram(Path png, String title, String xLabel, Histogram h, String note) throws IOException {
        double[] x = h.edges();
        double[] y = new double[x.length];
        for (int b = 0; b < h.counts().length; b++) {
            y[b] = h.counts()[b];
        }
        y[x.length - 1] = y[Math.max(0, x.length - 2)];
        Map<String, Series> s = new LinkedHashMap<>();
        s.put(note == null ? "count" : note, new Series(x, y, XYSeries.XYSeriesRenderStyle.StepArea));
        write(chart(title, xLabel, "count", false, false, s), png);
    }

    /** Any number of series on one chart; log axes need every value > 0. */
    public static void xy(Path png, String title, String xLabel, String yLabel, boolean logX, boolean logY,
                          Map<String, Series> series) throws IOException {
        write(chart(title, xLabel, yLabel, logX, logY, series), png);
    }

    private static XYChart chart(String title, String xLabel, String yLabel, boolean logX, boolean logY,
                                 Map<String, Series> series) {
        XYChart chart = new XYChartBuilder().width(WIDTH).height(HEIGHT).title(title).xAxisTitle(xLabel)
                .yAxisTitle(yLabel).build();
        Styler st = chart.getStyler();
        st.setChartBackgroundColor(Color.WHITE);
        st.setLegendPosition(Styler.LegendPosition.InsideNE);
        chart.getStyler().setXAxisLogarithmic(logX);
        chart.getStyler().setYAxisLogarithmic(logY);
        for (Map.Entry<String, Series> e : series.entrySet()) {
            Series s = e.getValue();
            if (s.x().length == 0) {
                continue;
            }
            XYSeries xs = chart.addSeries(e.getKey(), s.x(), s.y());
            xs.setXYSeriesRenderStyle(s.style());
            if (s.style() != XYSeries.XYSeriesRenderStyle.Scatter) {
                xs.setMarker(SeriesMarkers.NONE);
            }
        }
        return chart;
    }

    /** A scatter plot with one series per name. */
    public static XYChart scatter(String title, String xTitle, String yTitle) {
        XYChart c = new XYChartBuilder().width(WIDTH).height(HEIGHT).title(title).xAxisTitle(xTitle).yAxisTitle(yTitle)
                .build();
        c.getStyler().setDefaultSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
        c.getStyler().setMarkerSize(4);
        return c;
    }

    /** A line chart (for CDFs and histograms drawn as steps). */
    public static XYChart lines(String title, String xTitle, String yTitle) {
        XYChart c = new XYChartBuilder().width(WIDTH).height(HEIGHT).title(title).xAxisTitle(xTitle).yAxisTitle(yTitle)
                .build();
        c.getStyler().setDefaultSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Line);
        return c;
    }

    /** Adds the empirical CDF of {@code values} as a line of at most 400 points. */
    public static void addCdf(XYChart chart, String name, double[] values) {
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
    public static void addHistogram(XYChart chart, String name, double[] values, int bins) {
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
    public static CategoryChart bars(String title, String xTitle, String yTitle) {
        return new CategoryChartBuilder().width(WIDTH).height(HEIGHT).title(title).xAxisTitle(xTitle).yAxisTitle(yTitle)
                .build();
    }

    /** Adds a bar series. */
    public static void addBars(CategoryChart chart, String name, List<String> categories, List<? extends Number> values) {
        chart.addSeries(name, categories, values);
    }

    /** Writes {@code chart} to {@code file} as PNG, atomically. */
    public static void write(Chart<?, ?> chart, Path file) throws IOException {
        java.awt.image.BufferedImage image = BitmapEncoder.getBufferedImage(chart);
        AtomicFiles.write(file, out -> {
            if (!javax.imageio.ImageIO.write(image, "png", out)) {
                throw new IOException("no PNG writer in this Java runtime; cannot write " + file);
            }
        });
    }
}
