package dev.saetrain.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.saetrain.export.TestTensorFiles;
import dev.saetrain.io.DType;
import dev.saetrain.synth.SynthOptions;
import dev.saetrain.synth.SynthWriter;
import dev.saetrain.synth.SyntheticData;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Trains through the command line on toy data with known features (Sharkey et al. 2022) and checks that
 * the exported dictionary recovers them: mean over true features of the best decoder cosine >= 0.9.
 */
class TrainEndToEndTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path tmp;
    static Path data;

    @BeforeAll
    static void makeData() throws IOException {
        data = toyData(tmp);
    }

    /** The toy data of the recovery tests in {@code dir/synth}: d = 64, 128 true features, 3 active per row. */
    static Path toyData(Path dir) throws IOException {
        Path d = dir.resolve("synth");
        SynthOptions o = new SynthOptions(64, 128, 3, 0.99, 120_000, 65_536, 0, DType.F16);
        SynthWriter.write(new SyntheticData(o), d);
        return d;
    }

    /** Runs the command line with its output discarded and its errors in {@code err}. */
    static int run(StringWriter err, String... args) {
        return Main.run(new PrintWriter(new StringWriter(), true), new PrintWriter(err, true), args);
    }

    @Test
    void topkRecoversTheGroundTruthFeatures() throws IOException {
        Path out = tmp.resolve("runs-topk");
        StringWriter err = new StringWriter();
        int code = run(err, data.toString(), "--k", "3", "--expansion", "4", "--batch", "1024", "--epochs", "4",
                "--threads", "2", "--out", out.toString(), "--name", "t", "--log-every", "20", "--device", "cpu");
        assertEquals(0, code, err.toString());
        Path sae = out.resolve("t/saes/x4-k3");
        double mmcs = meanMaxCosine(sae.resolve("sae_weights.safetensors"), data.resolve("ground_truth.npy"));
        assertTrue(mmcs >= 0.9, "mean max cosine " + mmcs);

        JsonNode cfg = JSON.readTree(sae.resolve("cfg.json").toFile());
        assertEquals("topk", cfg.get("architecture").asText());
        assertEquals(3, cfg.get("k").asInt());
        assertEquals(256, cfg.get("d_sae").asInt());
        JsonNode config = JSON.readTree(out.resolve("t/config.json").toFile());
        assertEquals(2, config.at("/data/shards").asInt(), "ground_truth.npy must not be read as a shard");
        assertEquals("finished", config.at("/result/status").asText());
        assertTrue(config.at("/data/scale").asDouble() > 0);
        assertFvuFalls(out.resolve("t/metrics.jsonl"), 0.2);
        assertTrue(Files.size(out.resolve("t/train.log")) > 0);
    }

    @Test
    void reluRecoversTheGroundTruthFeatures() throws IOException {
        Path out = tmp.resolve("runs-relu");
        StringWriter err = new StringWriter();
        int code = run(err, "train", data.toString(), "--arch", "relu", "--l1", "3", "--lr", "3e-3", "--expansion", "4",
                "--batch", "1024", "--epochs", "4", "--threads", "2", "--out", out.toString(), "--name", "r",
                "--log-every", "20");
        assertEquals(0, code, err.toString());
        Path sae = out.resolve("r/saes/x4-l1_3.0");
        double mmcs = meanMaxCosine(sae.resolve("sae_weights.safetensors"), data.resolve("ground_truth.npy"));
        assertTrue(mmcs >= 0.9, "mean max cosine " + mmcs);
        assertEquals("standard", JSON.readTree(sae.resolve("cfg.json").toFile()).get("architecture").asText());
        assertFvuFalls(out.resolve("r/metrics.jsonl"), 0.2);
    }

    @Test
    void batchTopkRecoversTheGroundTruthFeatures() throws IOException {
        Path out = tmp.resolve("runs-batchtopk");
        StringWriter err = new StringWriter();
        int code = run(err, "train", data.toString(), "--arch", "batchtopk", "--k", "3", "--expansion", "4",
                "--batch", "1024", "--epochs", "4", "--threads", "2", "--out", out.toString(), "--name", "b",
                "--log-every", "20");
        assertEquals(0, code, err.toString());
        Path sae = out.resolve("b/saes/x4-btk3");
        double mmcs = meanMaxCosine(sae.resolve("sae_weights.safetensors"), data.resolve("ground_truth.npy"));
        assertTrue(mmcs >= 0.9, "mean max cosine " + mmcs);
        assertEquals("jumprelu", JSON.readTree(sae.resolve("cfg.json").toFile()).get("architecture").asText());
        assertThresholdIsOneValue(sae.resolve("sae_weights.safetensors"));
        assertFvuFalls(out.resolve("b/metrics.jsonl"), 0.2);
    }

    /**
     * Matryoshka with its default groups (prefixes of 16, 32, 64, 128 and 256 latents): the inner prefixes learn broad
     * directions, the rest of the dictionary still recovers the features.
     */
    @Test
    void matryoshkaRecoversTheGroundTruthFeatures() throws IOException {
        Path out = tmp.resolve("runs-matryoshka");
        StringWriter err = new StringWriter();
        int code = run(err, "train", data.toString(), "--arch", "matryoshka", "--k", "3", "--expansion", "4",
                "--batch", "1024", "--epochs", "4", "--threads", "2", "--out", out.toString(), "--name", "m",
                "--log-every", "20");
        assertEquals(0, code, err.toString());
        Path sae = out.resolve("m/saes/x4-mk3");
        double mmcs = meanMaxCosine(sae.resolve("sae_weights.safetensors"), data.resolve("ground_truth.npy"));
        assertTrue(mmcs >= 0.9, "mean max cosine " + mmcs);
        JsonNode cfg = JSON.readTree(sae.resolve("cfg.json").toFile());
        assertEquals("jumprelu", cfg.get("architecture").asText());
        assertEquals("[16,16,32,64,128]", cfg.at("/metadata/sae_train/groups").toString());
        assertThresholdIsOneValue(sae.resolve("sae_weights.safetensors"));
        assertFvuFalls(out.resolve("m/metrics.jsonl"), 0.2);
    }

    @Test
    void jumpReluRecoversTheGroundTruthFeatures() throws IOException {
        Path out = tmp.resolve("runs-jumprelu");
        StringWriter err = new StringWriter();
        int code = run(err, "train", data.toString(), "--arch", "jumprelu", "--l0-coef", L0_COEF, "--lr", JR_LR,
                "--expansion", "4", "--batch", "1024", "--epochs", "4", "--threads", "2", "--out", out.toString(),
                "--name", "j", "--log-every", "20");
        assertEquals(0, code, err.toString());
        Path sae = out.resolve("j/saes/x4-jr" + Double.parseDouble(L0_COEF));
        double mmcs = meanMaxCosine(sae.resolve("sae_weights.safetensors"), data.resolve("ground_truth.npy"));
        assertTrue(mmcs >= 0.9, "mean max cosine " + mmcs);
        JsonNode cfg = JSON.readTree(sae.resolve("cfg.json").toFile());
        assertEquals("jumprelu", cfg.get("architecture").asText());
        // 2e-2 over these 470-odd steps is past the threshold's travel of 7: its LR is the weights' (factor 1).
        assertEquals(1.0, cfg.at("/metadata/sae_train/threshold_lr_factor").asDouble(-1), 0);
        assertFvuFalls(out.resolve("j/metrics.jsonl"), 0.2);
    }

    @Test
    void gatedRecoversTheGroundTruthFeatures() throws IOException {
        Path out = tmp.resolve("runs-gated");
        StringWriter err = new StringWriter();
        int code = run(err, "train", data.toString(), "--arch", "gated", "--l1", GATED_L1, "--lr", "3e-3",
                "--expansion", "4", "--batch", "1024", "--epochs", "4", "--threads", "2", "--out", out.toString(),
                "--name", "g", "--log-every", "20");
        assertEquals(0, code, err.toString());
        Path sae = out.resolve("g/saes/x4-g" + Double.parseDouble(GATED_L1));
        double mmcs = meanMaxCosine(sae.resolve("sae_weights.safetensors"), data.resolve("ground_truth.npy"));
        assertTrue(mmcs >= 0.9, "mean max cosine " + mmcs);
        JsonNode cfg = JSON.readTree(sae.resolve("cfg.json").toFile());
        assertEquals("gated", cfg.get("architecture").asText());
        assertEquals(java.util.Set.of("W_enc", "W_dec", "b_dec", "b_gate", "b_mag", "r_mag"),
                TestTensorFiles.readSafetensors(sae.resolve("sae_weights.safetensors")).keySet(),
                "SAELens's gated SAE has no b_enc");
        assertFvuFalls(out.resolve("g/metrics.jsonl"), 0.2);
    }

    /**
     * The gated sparsity coefficient of the recovery test, at relu's test learning rate. lambda = 6 brings L0 to
     * about the data's 3 active features (lambda = 3 stops near L0 7 with a mean max cosine just above 0.9).
     */
    private static final String GATED_L1 = "6";

    /**
     * lambda = 1 trades about one latent of L0 for one unit of mse (inputs scaled to E|x| = sqrt(64) = 8). The
     * threshold starts at 0.008 and must grow about a hundredfold to the scale of these pre-activations; Adam
     * moves log theta by about lr per step, so 470 steps need an lr near 1e-2 (Gemma Scope's 7e-5 assumes
     * millions of steps).
     */
    private static final String L0_COEF = "1";
    private static final String JR_LR = "2e-2";

    /** BatchTopK exports one threshold, theta > 0, for every latent. */
    private static void assertThresholdIsOneValue(Path weights) throws IOException {
        float[] t = TestTensorFiles.readSafetensors(weights).get("threshold").values();
        for (float v : t) {
            assertEquals(t[0], v, "one threshold for every latent");
        }
        assertTrue(t[0] > 0, "threshold " + t[0]);
    }

    static void assertFvuFalls(Path metrics, double below) throws IOException {
        List<String> lines = Files.readAllLines(metrics);
        assertTrue(lines.size() >= 3, "metrics rows: " + lines.size());
        double first = JSON.readTree(lines.get(0)).get("fvu").asDouble();
        double last = JSON.readTree(lines.get(lines.size() - 1)).get("fvu").asDouble();
        assertTrue(last < first && last < below, "fvu " + first + " -> " + last);
    }

    /** Mean over ground-truth features of the largest cosine with any decoder row. */
    static double meanMaxCosine(Path weights, Path groundTruth) throws IOException {
        Map<String, TestTensorFiles.Loaded> w = TestTensorFiles.readSafetensors(weights);
        TestTensorFiles.Loaded dec = w.get("W_dec");
        TestTensorFiles.Loaded gt = TestTensorFiles.readNpy(groundTruth);
        int m = (int) dec.shape()[0];
        int d = (int) dec.shape()[1];
        int f = (int) gt.shape()[0];
        double total = 0;
        for (int g = 0; g < f; g++) {
            double best = -1;
            for (int i = 0; i < m; i++) {
                double dot = 0;
                double n1 = 0;
                double n2 = 0;
                for (int j = 0; j < d; j++) {
                    double a = gt.values()[g * d + j];
                    double b = dec.values()[i * d + j];
                    dot += a * b;
                    n1 += a * a;
                    n2 += b * b;
                }
                best = Math.max(best, dot / Math.sqrt(n1 * n2));
            }
            total += best;
        }
        return total / f;
    }
}
