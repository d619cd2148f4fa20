package dev.saetrain.sweep;

import dev.saetrain.io.AtomicFiles;
import dev.saetrain.plot.XyChart;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The sweep's L0 vs FVU plot ({@code frontier.png}, 800 x 600, drawn by the plot package): one scatter series per
 * architecture and the Pareto frontier (lower L0 and lower FVU are both better) as a line through its SAEs, in L0
 * order. FVU is on a log axis when every value is positive.
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
        XyChart chart = new XyChart("L0 vs FVU", "L0 (mean active latents per token)",
                "FVU (fraction of variance unexplained)", 800, 600)
                .logY(finite.stream().allMatch(r -> r.fvu() > 0)).markerRadius(4);
        Map<String, List<SweepCollector.Row>> byArch = new LinkedHashMap<>();
        for (SweepCollector.Row r : finite) {
            byArch.computeIfAbsent(r.architecture(), a -> new ArrayList<>()).add(r);
        }
        for (var e : byArch.entrySet()) {
            chart.add(e.getKey(), e.getValue().stream().mapToDouble(SweepCollector.Row::l0).toArray(),
                    e.getValue().stream().mapToDouble(SweepCollector.Row::fvu).toArray(), XyChart.Style.SCATTER);
        }
        List<SweepCollector.Row> front = finite.stream().filter(SweepCollector.Row::onFrontier)
                .sorted(Comparator.comparingDouble(SweepCollector.Row::l0)).toList();
        if (!front.isEmpty()) {
            chart.add("frontier", front.stream().mapToDouble(SweepCollector.Row::l0).toArray(),
                    front.stream().mapToDouble(SweepCollector.Row::fvu).toArray(), XyChart.Style.LINE);
        }
        byte[] png = chart.png();
        AtomicFiles.write(dir.resolve(FILE), out -> out.write(png));
        return true;
    }
}
