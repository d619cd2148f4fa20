package dev.saetrain.analysis;

import dev.saetrain.io.AtomicFiles;
import java.awt.Color;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * PNG plots rendered with XChart, headless (no display needed: {@code java.awt.headless} is set before any AWT
 * class loads here), written atomically. 800 x 500 pixels.
 */
public final class Plots {
    static {
        System.setProperty("java.awt.headless", "true");
    }

    private static final int WIDTH = 800;
    private static final int HEIGHT = 500;

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
        write(png, chart(title, xLabel, "count", false, false, s));
    }

    /** Any number of series on one chart; log axes need every value > 0. */
    public static void xy(Path png, String title, String xLabel, String yLabel, boolean logX, boolean logY,
                          Map<String, Series> series) throws IOException {
        write(png, chart(title, xLabel, yLabel, logX, logY, series));
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

    private static void write(Path png, XYChart chart) throws IOException {
        byte[] bytes = BitmapEncoder.getBitmapBytes(chart, BitmapEncoder.BitmapFormat.PNG);
        AtomicFiles.write(png, out -> out.write(bytes));
    }
}
