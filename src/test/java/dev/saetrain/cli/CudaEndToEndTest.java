package dev.saetrain.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.saetrain.device.cuda.CudaAssume;
import java.io.IOException;
import java.io.StringWriter;
import java.nio.file.Path;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * TrainEndToEndTest's TopK recovery run on {@code --device cuda}: the same toy data with known features, the
 * same bar (mean max cosine >= 0.9, FVU falls below 0.2), and config.json records the GPU.
 */
@Tag("cuda")
class CudaEndToEndTest {
    @TempDir
    Path tmp;

    @Test
    void topkOnCudaRecoversTheGroundTruthFeatures() throws IOException {
        CudaAssume.cudaDevice();
        Path data = TrainEndToEndTest.toyData(tmp);
        Path out = tmp.resolve("runs");
        StringWriter err = new StringWriter();
        int code = TrainEndToEndTest.run(err, data.toString(), "--k", "3", "--expansion", "4", "--batch", "1024",
                "--epochs", "4", "--out", out.toString(), "--name", "g", "--log-every", "20", "--device", "cuda");
        assertEquals(0, code, err.toString());
        Path sae = out.resolve("g/saes/x4-k3");
        double mmcs = TrainEndToEndTest.meanMaxCosine(sae.resolve("sae_weights.safetensors"),
                data.resolve("ground_truth.npy"));
        assertTrue(mmcs >= 0.9, "mean max cosine " + mmcs);
        TrainEndToEndTest.assertFvuFalls(out.resolve("g/metrics.jsonl"), 0.2);
        JsonNode config = new ObjectMapper().readTree(out.resolve("g/config.json").toFile());
        assertTrue(config.get("device").asText().startsWith("cuda ("), config.get("device").asText());
        assertEquals("cuda (asked for with --device cuda)", config.get("device_choice").asText());
    }
}
