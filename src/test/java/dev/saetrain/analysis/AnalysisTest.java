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

    @Test
    void aDecoderPastOneArrayIsLeftOutOfTheAllRowsStudiesByName() throws IOException {
        // d = 16: the x2 decoders hold 512 floats, x4's 1024; with the limit at 600, x4 takes the path of a decoder
        // past 2^31 - 8 floats (d_in 4096 at x128), which a test cannot allocate.
        Path a = AnalysisFixtures.saeDir(tmp.resolve("saes/x2-k2"), AnalysisFixtures.random(SaeConfig.topk(16, 2, 2), 1));
        Path b = AnalysisFixtures.saeDir(tmp.resolve("saes/x2-k4"), AnalysisFixtures.random(SaeConfig.topk(16, 2, 4), 2));
        Path c = AnalysisFixtures.saeDir(tmp.resolve("saes/x4-k2"), AnalysisFixtures.random(SaeConfig.topk(16, 4, 2), 3));
        java.util.SplittableRandom rng = new java.util.SplittableRandom(4);
        Path shards = tmp.resolve("shards");
        AnalysisFixtures.shard(shards.resolve("a.npy"), AnalysisFixtures.unitRows(rng, 300, 16), 16);
        Path truth = tmp.resolve("ground_truth.npy");
        AnalysisFixtures.shard(truth, AnalysisFixtures.unitRows(rng, 8, 16), 16);
        Path out = tmp.resolve("analysis");
        System.setProperty(Analysis.WHOLE_FLOATS_PROPERTY, "600");
        Analysis.Outcome o;
        try {
            o = Analysis.run(new Analysis.Options(List.of(a, b, c), shards, 300, truth, 0.9, out, null, "t", List.of()));
        } finally {
            System.clearProperty(Analysis.WHOLE_FLOATS_PROPERTY);
        }
        String skipped = ": skipped: its decoder has 1024 floats (d_in 16 x d_sae 64), more than the 600 one array "
                + "holds, and this study compares all rows with all rows";
        assertTrue(o.lines().contains(DecoderGeometry.STUDY + " x4-k2" + skipped), o.lines().toString());
        assertTrue(o.lines().contains(FeatureRecovery.STUDY + " x4-k2" + skipped), o.lines().toString());
        assertFalse(Files.exists(out.resolve(DecoderGeometry.STUDY).resolve("x4-k2")));
        assertFalse(Files.exists(out.resolve(FeatureRecovery.STUDY).resolve("x4-k2")));
        for (String kept : List.of("x2-k2", "x2-k4")) {
            assertTrue(Files.isRegularFile(out.resolve(DecoderGeometry.STUDY).resolve(kept).resolve("summary.json")));
            assertTrue(Files.isDirectory(out.resolve(FeatureRecovery.STUDY).resolve(kept)), kept);
        }
        // The studies that read rows one by one still run for it.
        assertTrue(Files.isRegularFile(out.resolve(FeatureStats.STUDY).resolve("x4-k2").resolve("summary.json")));
        String family = Files.readString(out.resolve(FamilyStudy.STUDY).resolve("summary.json"));
        assertTrue(family.contains("x2-k2") && family.contains("x2-k4") && !family.contains("x4-k2"), family);
    }
}
