package dev.saetrain.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.saetrain.export.ExportInfo;
import dev.saetrain.export.SaeLensWriter;
import dev.saetrain.io.AtomicFiles;
import dev.saetrain.io.DType;
import dev.saetrain.io.NpyWriter;
import dev.saetrain.io.Tensor;
import dev.saetrain.model.Architecture;
import dev.saetrain.model.SaeConfig;
import dev.saetrain.model.SaeWeights;
import dev.saetrain.synth.SynthOptions;
import dev.saetrain.synth.SynthWriter;
import dev.saetrain.synth.SyntheticData;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code sae-train analyze} on a run whose family holds the ground truth itself (W_dec = the true features, TopK with
 * k = 3) and a random dictionary of 64 latents, on synth data (d = 32, 48 features): every study is written, the
 * recovery of the ground-truth dictionary is exactly 1, and the report shows every plot.
 */
class AnalyzeCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    private final CliRunner cli = new CliRunner();

    private Path runWithFamily() throws IOException {
        Path data = tmp.resolve("data");
        SyntheticData synth = new SyntheticData(new SynthOptions(32, 48, 3, 0.99, 6000, 3000, 4, DType.F32));
        SynthWriter.write(synth, data);
        float[] gt = synth.groundTruth();
        float[] enc = new float[32 * 48];
        for (int i = 0; i < 48; i++) {
            for (int j = 0; j < 32; j++) {
                enc[j * 48 + i] = gt[i * 32 + j];
            }
        }
        Path runDir = tmp.resolve("runs/r");
        SaeLensWriter.write(runDir.resolve("saes/truth"), SaeWeights.of(new SaeConfig(Architecture.TOPK, 32, 48, 3, 0,
                true), enc, new float[48], gt, new float[32]), new double[48], ExportInfo.minimal("r", "dev", 0, 1));
        SplittableRandom rng = new SplittableRandom(1);
        float[] we = new float[32 * 64];
        float[] wd = new float[64 * 32];
        for (int i = 0; i < we.length; i++) {
            we[i] = (float) rng.nextGaussian();
            wd[i] = (float) rng.nextGaussian();
        }
        SaeLensWriter.write(runDir.resolve("saes/random"), SaeWeights.of(new SaeConfig(Architecture.TOPK, 32, 64, 3, 0,
                true), we, new float[64], wd, new float[32]), new double[64], ExportInfo.minimal("r", "dev", 0, 1));
        AtomicFiles.writeString(runDir.resolve("config.json"), "{\"data\": {\"path\": "
                + JSON.writeValueAsString(data.toString()) + "}}\n");
        return runDir;
    }

    @Test
    void analysesARunAndBuildsTheReport() throws IOException {
        Path runDir = runWithFamily();
        assertEquals(0, cli.run("analyze", runDir.toString(), "--rows", "4000"), cli.err());
        String text = cli.out();
        assertTrue(text.contains("recovery truth: 48 true features, mean max cos 1.0000, 100.0 % >= 0.9"), text);
        assertTrue(text.contains("feature-stats truth: 4000 rows"), text);
        Path a = runDir.resolve("analysis");
        for (String study : new String[] {"feature-stats", "geometry", "recovery"}) {
            for (String sae : new String[] {"truth", "random"}) {
                assertTrue(Files.isRegularFile(a.resolve(study).resolve(sae).resolve("summary.json")), study + "/" + sae);
            }
        }
        JsonNode rec = JSON.readTree(a.resolve("recovery/truth/summary.json").toFile());
        assertEquals(1.0, rec.get("mean_max_cos").asDouble(), 1e-6);
        assertEquals(1.0, rec.get("fraction_above_0.99").asDouble(), 0);
        JsonNode randomRec = JSON.readTree(a.resolve("recovery/random/summary.json").toFile());
        assertTrue(randomRec.get("mean_max_cos").asDouble() < 0.9, "a random dictionary recovers little");
        // The ground-truth dictionary reconstructs the synth rows far better than a random one (not perfectly: with
        // 48 features in 32 dimensions its encoder, W_dec^T, picks up interference, and TopK(3) drops features).
        JsonNode stats = JSON.readTree(a.resolve("feature-stats/truth/summary.json").toFile());
        JsonNode randomStats = JSON.readTree(a.resolve("feature-stats/random/summary.json").toFile());
        assertTrue(stats.get("fvu").asDouble() < 0.5, stats.toString());
        assertTrue(randomStats.get("fvu").asDouble() > 1, randomStats.get("fvu").toString());
        assertTrue(stats.get("l0").asDouble() <= 3, stats.toString());
        JsonNode family = JSON.readTree(a.resolve("family/summary.json").toFile());
        assertEquals(2, family.get("members").size());
        assertTrue(Files.isRegularFile(a.resolve("family/frontier.png")));
        String html = Files.readString(runDir.resolve("report/index.html"));
        Matcher m = Pattern.compile("<img src=\"([^\"]+)\"").matcher(html);
        int images = 0;
        while (m.find()) {
            assertTrue(Files.isRegularFile(runDir.resolve("report").resolve(m.group(1))), m.group(1));
            images++;
        }
        // 2 per feature-stats, 2 per geometry, 1 per recovery, for two dictionaries, and the frontier.
        assertEquals(2 * (2 + 2 + 1) + 1, images);
    }

    /**
     * The logit lens and synthetic activations through analyze: W_U is the ground truth transposed ([d, vocab], one
     * token per true feature), so the truth dictionary's latent i has logit weights gt_i . gt_j, 1 at token i and small
     * interference elsewhere: its top token is token i, and many are prediction features. Both studies land in
     * {@code analysis/<study>/<sae>/} and in the report; the shard folders do not.
     */
    @Test
    void logitLensAndSyntheticRunThroughAnalyze() throws IOException {
        Path runDir = runWithFamily();
        float[] gt = new SyntheticData(new SynthOptions(32, 48, 3, 0.99, 6000, 3000, 4, DType.F32)).groundTruth();
        float[] wU = new float[32 * 48];
        for (int i = 0; i < 48; i++) {
            for (int j = 0; j < 32; j++) {
                wU[j * 48 + i] = gt[i * 32 + j];
            }
        }
        Path wUFile = tmp.resolve("W_U.npy");
        NpyWriter.write(wUFile, Tensor.f32(wU, 32, 48));
        java.util.List<String> tokens = new java.util.ArrayList<>();
        for (int v = 0; v < 48; v++) {
            tokens.add(v < 8 ? "7" + v : " tok" + v);
        }
        Path vocab = Files.write(tmp.resolve("vocab.txt"), tokens);
        assertEquals(0, cli.run("analyze", runDir.toString(), "--rows", "2000", "--unembed", wUFile.toString(), "--vocab",
                vocab.toString(), "--token-set", "sevens=regex:^7", "--synthetic"), cli.err());
        String text = cli.out();
        // A one-token spike in 48 tokens reaches the kurtosis cut-off (10) for only part of the truth latents; a
        // random dictionary has none.
        Matcher lens = Pattern.compile("logit-lens truth: 48 latents: (\\d+) prediction").matcher(text);
        assertTrue(lens.find() && Integer.parseInt(lens.group(1)) >= 10, text);
        assertTrue(text.contains("logit-lens random: 64 latents: 0 prediction"), text);
        assertTrue(text.contains("synthetic truth: 2000 real rows"), text);
        Path a = runDir.resolve("analysis");
        java.util.List<String> truthTop = Files.readAllLines(a.resolve("logit-lens/truth/latents.csv"));
        assertTrue(truthTop.get(1).startsWith("0,") && truthTop.get(1).contains("[\"\"70\"\""), truthTop.get(1));
        assertTrue(Files.readString(a.resolve("logit-lens/truth/enrichment.csv")).contains("sevens"));
        for (String sae : new String[] {"truth", "random"}) {
            assertTrue(Files.isRegularFile(a.resolve("logit-lens").resolve(sae).resolve("skew-kurtosis.png")), sae);
            assertTrue(Files.isRegularFile(a.resolve("synthetic").resolve(sae).resolve("ks.csv")), sae);
            assertTrue(Files.isRegularFile(a.resolve("synthetic").resolve(sae)
                    .resolve("synthetic-structured/shard-00000.npy")), sae);
        }
        String html = Files.readString(runDir.resolve("report/index.html"));
        for (String section : new String[] {"<h2>logit-lens/truth</h2>", "<h2>logit-lens/random</h2>",
                "<h2>synthetic/truth</h2>", "<h2>synthetic/random</h2>", "files/synthetic/truth/cdf-l0.png",
                "files/logit-lens/truth/skew-kurtosis.png"}) {
            assertTrue(html.contains(section), section);
        }
        for (String npyOnly : new String[] {"synthetic-baseline", "synthetic-structured", "codes"}) {
            assertFalse(html.contains("<h2>synthetic/truth/" + npyOnly + "</h2>"), npyOnly + " is not a report section");
            assertFalse(html.contains("files/synthetic/truth/" + npyOnly + "/"), npyOnly + "'s shards are not copied");
        }
        // 48 latents: latents.csv is shown as its first rows and a link, not as a 48-row table.
        assertTrue(html.contains("48 rows, first " + dev.saetrain.analysis.Report.CSV_ROWS + " shown"), "latents.csv");

        cli.clearErr();
        long reportTime = Files.getLastModifiedTime(runDir.resolve("report/index.html")).toMillis();
        assertEquals(2, cli.run("analyze", runDir.toString(), "--synthetic"));
        assertTrue(cli.err().contains("already holds synthetic shards; remove " + a.resolve("synthetic")),
                cli.err());
        assertEquals(reportTime, Files.getLastModifiedTime(runDir.resolve("report/index.html")).toMillis(),
                "refused before any study ran");
        cli.clearErr();
        assertEquals(2, cli.run("analyze", runDir.resolve("saes").toString(), "--out", tmp.resolve("o").toString(),
                "--synthetic"));
        assertTrue(cli.err().contains("--synthetic needs real activations"), cli.err());
        cli.clearErr();
        assertEquals(2, cli.run("analyze", runDir.toString(), "--unembed", wUFile.toString(), "--out",
                tmp.resolve("o2").toString()));
        assertTrue(cli.err().contains("needs both --unembed W_U and --vocab FILE"), cli.err());
        assertEquals(1, cli.err().strip().lines().count(), cli.err());
    }

    /** A family trained by 'train' (so config.json is the trainer's own) is analysed with every default. */
    @Test
    void analysesAFamilyTrainedByTrain() throws IOException {
        Path data = tmp.resolve("data");
        assertEquals(0, cli.run("synth", data.toString(), "--d", "32", "--features", "48", "--active", "3", "--rows", "12000",
                "--rows-per-shard", "6000"), cli.err());
        Path runs = tmp.resolve("runs");
        assertEquals(0, cli.run("train", data.toString(), "--expansion", "1,2", "--k", "3", "--lr", "4e-3", "--out",
                runs.toString(), "--name", "fam", "--threads", "2"), cli.err());
        cli.clearOut();
        assertEquals(0, cli.run("analyze", runs.resolve("fam").toString(), "--rows", "3000"), cli.err());
        assertTrue(cli.out().contains("recovery x2-k3: 48 true features"), cli.out());
        JsonNode family = JSON.readTree(runs.resolve("fam/analysis/family/summary.json").toFile());
        assertEquals(2, family.get("members").size());
        for (JsonNode m : family.get("members")) {
            double l0 = m.get("l0").asDouble();
            assertTrue(l0 > 0 && l0 <= 3, "TopK(3) has at most 3 active latents per row: " + m);
            assertTrue(m.get("fvu").asDouble() < 1, m.toString());
        }
        assertTrue(Files.isRegularFile(runs.resolve("fam/report/index.html")));
    }

    @Test
    void badInputIsOneLineAndExitCode2() throws IOException {
        Path empty = Files.createDirectories(tmp.resolve("nothing"));
        assertEquals(2, cli.run("analyze", empty.toString(), "--out", tmp.resolve("o").toString()));
        assertTrue(cli.err().startsWith("error: ") && cli.err().contains("no dictionary folder found"),
                cli.err());
        assertEquals(1, cli.err().strip().lines().count(), cli.err());
        Path runDir = runWithFamily();
        cli.clearErr();
        assertEquals(2, cli.run("analyze", runDir.resolve("saes/truth").toString()));
        assertTrue(cli.err().contains("--out DIR is required"), cli.err());
        cli.clearErr();
        assertEquals(2, cli.run("analyze", runDir.toString(), "--shards", tmp.resolve("missing").toString()));
        assertTrue(cli.err().contains("missing: no such file or directory"), cli.err());
        assertFalse(Files.exists(runDir.resolve("report")));
    }
}
