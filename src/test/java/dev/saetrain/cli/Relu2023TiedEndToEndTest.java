package dev.saetrain.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.saetrain.export.TestTensorFiles;
import java.io.IOException;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * relu-2023 (with its resampling), tied topk and tied relu trained through the command line on TrainEndToEndTest's toy data
 * (d = 64, 128 true features, 3 active per row; Sharkey et al. 2022) recover the true features: mean over
 * them of the best decoder cosine >= 0.9.
 */
class Relu2023TiedEndToEndTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path tmp;
    static Path data;

    @BeforeAll
    static void makeData() throws IOException {
        data = TrainEndToEndTest.toyData(tmp);
    }

    private static int run(StringWriter err, String... args) {
        return TrainEndToEndTest.run(err, args);
    }

    @Test
    void relu2023WithResamplingRecoversTheGroundTruthFeatures() throws IOException {
        Path out = tmp.resolve("runs-relu2023");
        StringWriter err = new StringWriter();
        int code = run(err, "train", data.toString(), "--arch", "relu-2023", "--l1", "3", "--lr", "3e-3",
                "--expansion", "4", "--batch", "1024", "--epochs", "4", "--threads", "2", "--out", out.toString(),
                "--name", "r", "--log-every", "20", "--device", "cpu");
        assertEquals(0, code, err.toString());
        Path sae = out.resolve("r/saes/x4-l1_3.0");
        double mmcs = TrainEndToEndTest.meanMaxCosine(sae.resolve("sae_weights.safetensors"),
                data.resolve("ground_truth.npy"));
        assertTrue(mmcs >= 0.9, "mean max cosine " + mmcs);
        JsonNode cfg = JSON.readTree(sae.resolve("cfg.json").toFile());
        assertEquals("standard", cfg.get("architecture").asText());
        assertEquals("relu-2023", cfg.at("/metadata/sae_train/architecture").asText());
        JsonNode config = JSON.readTree(out.resolve("r/config.json").toFile());
        // 468 steps: resample every 93 (a fifth), window 46.
        assertEquals(93, config.at("/saes/0/resample_every").asInt());
        String log = Files.readString(out.resolve("r/train.log"));
        assertTrue(log.contains("resampled"), "the run must resample dead latents");
        assertFvuFalls(out.resolve("r/metrics.jsonl"));
    }

    @Test
    void tiedTopkRecoversTheGroundTruthFeatures() throws IOException {
        Path out = tmp.resolve("runs-tied");
        StringWriter err = new StringWriter();
        int code = run(err, data.toString(), "--k", "3", "--expansion", "4", "--tied", "--batch", "1024",
                "--epochs", "4", "--threads", "2", "--out", out.toString(), "--name", "t", "--log-every", "20",
                "--device", "cpu");
        assertEquals(0, code, err.toString());
        Path sae = out.resolve("t/saes/x4-k3-tied");
        double mmcs = TrainEndToEndTest.meanMaxCosine(sae.resolve("sae_weights.safetensors"),
                data.resolve("ground_truth.npy"));
        assertTrue(mmcs >= 0.9, "mean max cosine " + mmcs);
        Map<String, TestTensorFiles.Loaded> w = TestTensorFiles.readSafetensors(sae.resolve("sae_weights.safetensors"));
        assertTrue(w.containsKey("W_enc"), "exported untied");
        JsonNode cfg = JSON.readTree(sae.resolve("cfg.json").toFile());
        assertEquals("topk", cfg.get("architecture").asText());
        assertTrue(cfg.at("/metadata/sae_train/tied").asBoolean());
        assertFvuFalls(out.resolve("t/metrics.jsonl"));
    }

    @Test
    void tiedReluRecoversTheGroundTruthFeatures() throws IOException {
        // A tied ReLU SAE has no separate encoder to suppress interference between features, so it needs a weaker
        // penalty and more passes than the untied one (measured: lambda 3 / 4 epochs gives 0.52; these give 0.98).
        Path out = tmp.resolve("runs-tied-relu");
        StringWriter err = new StringWriter();
        int code = run(err, "train", data.toString(), "--arch", "relu", "--tied", "--l1", "1", "--lr", "5e-3",
                "--expansion", "4", "--batch", "1024", "--epochs", "12", "--threads", "2", "--out", out.toString(),
                "--name", "tr", "--log-every", "50", "--device", "cpu");
        assertEquals(0, code, err.toString());
        Path sae = out.resolve("tr/saes/x4-l1_1.0-tied");
        double mmcs = TrainEndToEndTest.meanMaxCosine(sae.resolve("sae_weights.safetensors"),
                data.resolve("ground_truth.npy"));
        assertTrue(mmcs >= 0.9, "mean max cosine " + mmcs);
        assertEquals("standard", JSON.readTree(sae.resolve("cfg.json").toFile()).get("architecture").asText());
        assertFvuFalls(out.resolve("tr/metrics.jsonl"));
    }

    private static void assertFvuFalls(Path metrics) throws IOException {
        TrainEndToEndTest.assertFvuFalls(metrics, 0.2);
    }
}
