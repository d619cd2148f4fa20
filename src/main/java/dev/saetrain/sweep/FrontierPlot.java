package dev.saetrain.sweep;

import dev.saetrain.io.AtomicFiles;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * The sweep's L0 vs FVU plot ({@code frontier.png}, XChart, headless): one scatter series per architecture and
 * the Pareto frontier (lower L0 and lower FVU are both better) as a line through its SAEs, in L0 order. FVU is on
 * a log axis when every value is positive.
 */
public final class FrontierPlot {
    public static final String FILE = "frontier.png";

    private FrontierPlot() {
    }

    /** Writes {@code dir/frontier.png} atomically; false (and nothing written) when no SAE has finite L0 and FVU. */
    public static boolean write(Path dir, List<SweepCollector.Row> rows) throws IOException {
        List<SweepCollector.Row> finite = rows.stream()
                .filter(r -> Double.isFinite(r.l0()) && Double.isFinite(r.fvu())).toList();
        if (finite.isEmpty()) {
            return false;
        }
        if (System.getProperty("java.awt.headless") == null) {
            System.setProperty("java.awt.headless", "true");
        }
        XYChart chart = new XYChartBuilder().width(800).height(600).title("L0 vs FVU")
                .xAxisTitle("L0 (mean active latents per token)").yAxisTitle("FVU (fraction of variance unexplained)")
                .build();
        chart.getStyler().setDefaultSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
        chart.getStyler().setYAxisLogarithmic(finite.stream().allMatch(r -> r.fvu() > 0));
        chart.getStyler().setMarkerSize(8);
        Map<String, List<SweepCollector.Row>> byArch = new LinkedHashMap<>();
        for (SweepCollector.Row r : finite) {
            byArch.computeIfAbsent(r.architecture(), a -> new ArrayList<>()).add(r);
        }
        for (var e : byArch.entrySet()) {
            chart.addSeries(e.getKey(), e.getValue().stream().mapToDouble(SweepCollector.Row::l0).toArray(),
                    e.getValue().stream().mapToDouble(SweepCollector.Row::fvu).toArray());
        }
        List<SweepCollector.Row> front = finite.stream().filter(SweepCollector.Row::onFrontier)
                .sorted(Comparator.comparingDouble(SweepCollector.Row::l0)).toList();
        if (!front.isEmpty()) {
            XYSeries s = chart.addSeries("frontier", front.stream().mapToDouble(SweepCollector.Row::l0).toArray(),
                    front.stream().mapToDouble(SweepCollector.Row::fvu).toArray());
            s.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Line);
            s.setMarker(SeriesMarkers.NONE);
        }
        byte[] png = BitmapEncoder.getBitmapBytes(chart, BitmapEncoder.BitmapFormat.PNG);
        AtomicFiles.write(dir.resolve(FILE), out -> out.write(png));
        return true;
    }
}
