package dev.saetrain.analysis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.saetrain.model.SaeConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The analysis without shards or ground truth runs geometry only, and a study added by the caller lands in the report. */
class AnalysisTest {
    @TempDir
    Path tmp;

    @Test
    void anAddedStudyIsRunPerDictionaryAndShowsUpInTheReport() throws IOException {
        Path sae = AnalysisFixtures.saeDir(tmp.resolve("saes/x2-k2"),
                AnalysisFixtures.random(SaeConfig.topk(16, 2, 2), 1));
        Analysis.ExtraStudy extra = new Analysis.ExtraStudy("logit-lens", (loaded, dir) -> {
            Plots.histogram(dir.resolve("planted.png"), "p", "x", Histogram.of(new double[] {0.5}, 0, 1, 4), null);
            new Csv("latent", "n").row(0, loaded.weights().config().nLatents()).write(dir.resolve("t.csv"));
            return "logit-lens " + loaded.name() + ": ran";
        });
        Path out = tmp.resolve("analysis");
        Analysis.Outcome o = Analysis.run(new Analysis.Options(List.of(sae), null, 100, null, 0.9, out,
                out.resolve("report"), "t", List.of(extra)));
        assertTrue(o.lines().contains("logit-lens x2-k2: ran"), o.lines().toString());
        assertTrue(Files.isRegularFile(out.resolve("logit-lens/x2-k2/planted.png")));
        assertTrue(Files.isRegularFile(out.resolve("geometry/x2-k2/summary.json")));
        assertFalse(Files.exists(out.resolve("feature-stats")), "no shards, no feature statistics");
        assertFalse(Files.exists(out.resolve("recovery")), "no ground truth, no recovery");
        String html = Files.readString(o.report());
        assertTrue(html.contains("<h2>logit-lens/x2-k2</h2>"));
        assertTrue(html.contains("<img src=\"files/logit-lens/x2-k2/planted.png\""));
        assertTrue(html.contains("<td>32</td>"), "the added study's CSV is shown");
        assertEquals(3, o.lines().size(), "geometry, the added study and the report: " + o.lines());
    }
}
