package dev.saetrain.train;

import static dev.saetrain.selftest.DeviceFixtures.down;
import static dev.saetrain.selftest.DeviceFixtures.gaussian;
import static dev.saetrain.selftest.DeviceFixtures.up;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.saetrain.analysis.EncoderRows;
import dev.saetrain.device.Device;
import dev.saetrain.device.cpu.CpuDevice;
import dev.saetrain.export.ExportInfo;
import dev.saetrain.export.SaeLensWriter;
import dev.saetrain.export.TestTensorFiles;
import dev.saetrain.model.SaeConfig;
import dev.saetrain.model.SaeInit;
import dev.saetrain.model.SaeWeights;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A trained gated engine, exported with the input scale c folded in, is reproduced by a plain gated forward pass
 * written here from the files alone, as SAELens's GatedSAE computes it: pi_gate = (x - b_dec) W_enc + b_gate,
 * pi_mag = (x - b_dec) (W_enc * exp(r_mag)) + b_mag, f = 1[pi_gate > 0] relu(pi_mag), x_hat = f W_dec + b_dec. On raw
 * rows x / c it gives the engine's own training reconstruction divided by c, and so does
 * the project's host encoder (analysis.SaeEncoder). The file holds no b_enc (SAELens's gated SAE has none). Tolerance: fp32 engine vs
 * double forward over d = 40, m = 120: 2e-5 of the largest output.
 */
class GatedExportTest {
    private static final int BATCH = 32;
    private static final int D = 40;
    private static final float C = 2.5f;

    @TempDir
    Path tmp;

    @Test
    void exportedFilesReproduceTheEngine() throws IOException {
        SaeConfig cfg = SaeConfig.gated(D, 3, 1.0);
        // r_mag and b_mag start away from 0 (b_mag ~ N(0, 0.5)): some open gates then keep pi_mag <= 0.
        SaeWeights w0 = SaeInit.initial(cfg, 701, gaussian(702, D, 0.2));
        SaeWeights init = new SaeWeights(cfg, w0.wEnc(), w0.bEnc(), w0.wDec(), w0.bDec(), Map.of(
                "r_mag", gaussian(703, cfg.nLatents(), 0.3), "b_mag", gaussian(704, cfg.nLatents(), 0.5)));
        try (Device dev = new CpuDevice(2); Engine e = new Engine(dev, init, BATCH, 100 * BATCH)) {
            for (int t = 0; t < 20; t++) {
                e.step(up(dev, gaussian(710 + t, BATCH * D, 2.0)), 1e-2, cfg.l1());
            }
            float[] x = gaussian(750, BATCH * D, 2.0);
            e.computeGradients(up(dev, x), cfg.l1());
            float[] trainHat = down(dev, e.shared().xHat, BATCH * D);
            SaeWeights w = e.weights();
            Path dir = tmp.resolve(cfg.name());
            SaeLensWriter.write(dir, w.foldScale(C), new double[cfg.nLatents()], ExportInfo.minimal("r", "dev", 1, C));
            JsonNode json = new ObjectMapper().readTree(dir.resolve("cfg.json").toFile());
            assertEquals("gated", json.get("architecture").asText());
            Map<String, TestTensorFiles.Loaded> t = TestTensorFiles.readSafetensors(dir.resolve("sae_weights.safetensors"));
            assertEquals(Set.of("W_enc", "W_dec", "b_dec", "b_gate", "b_mag", "r_mag"), t.keySet());
            assertTrue(maxAbsDiff(t.get("r_mag").values(), init.extras().get("r_mag")) > 1e-3
                    && maxAbsDiff(t.get("b_mag").values(), init.extras().get("b_mag")) > 1e-3,
                    "r_mag and b_mag are trained and exported as they are now");
            int[] counts = new int[2];
            double scale = 0;
            for (float v : trainHat) {
                scale = Math.max(scale, Math.abs(v / C));
            }
            SaeWeights folded = w.foldScale(C);
            for (int b = 0; b < BATCH; b++) {
                float[] raw = new float[D];
                for (int j = 0; j < D; j++) {
                    raw[j] = x[b * D + j] / C;
                }
                double[] fromFile = forward(t, raw, json.get("apply_b_dec_to_input").booleanValue(), counts);
                float[] fromWeights = new float[D];
                EncoderRows.reconstruct(folded, raw, fromWeights);
                for (int j = 0; j < D; j++) {
                    assertEquals(trainHat[b * D + j] / C, fromFile[j], 2e-5 * scale, "file, row " + b + " dim " + j);
                    assertEquals(fromFile[j], fromWeights[j], 2e-5 * scale, "SaeEncoder, row " + b + " dim " + j);
                }
            }
            assertTrue(counts[1] > 0 && counts[1] < counts[0] && counts[0] < BATCH * cfg.nLatents(),
                    "some gates open, some of those with pi_mag <= 0: " + counts[1] + " firing of " + counts[0] + " open");
        }
    }

    private static double maxAbsDiff(float[] a, float[] b) {
        double m = 0;
        for (int i = 0; i < a.length; i++) {
            m = Math.max(m, Math.abs(a[i] - b[i]));
        }
        return m;
    }

    /** The gated forward from the file's tensors; counts[0] += open gates, counts[1] += firing latents. */
    private static double[] forward(Map<String, TestTensorFiles.Loaded> t, float[] x, boolean applyBDec, int[] counts) {
        float[] wEnc = t.get("W_enc").values();
        float[] wDec = t.get("W_dec").values();
        float[] bDec = t.get("b_dec").values();
        float[] bGate = t.get("b_gate").values();
        float[] bMag = t.get("b_mag").values();
        float[] rMag = t.get("r_mag").values();
        int m = bGate.length;
        double[] out = new double[D];
        for (int j = 0; j < D; j++) {
            out[j] = bDec[j];
        }
        for (int i = 0; i < m; i++) {
            double gate = bGate[i];
            double mag = bMag[i];
            for (int j = 0; j < D; j++) {
                double xin = x[j] - (applyBDec ? bDec[j] : 0f);
                gate += xin * wEnc[j * m + i];
                mag += xin * (wEnc[j * m + i] * Math.exp(rMag[i]));
            }
            if (gate > 0) {
                counts[0]++;
                if (mag > 0) {
                    counts[1]++;
                    for (int j = 0; j < D; j++) {
                        out[j] += mag * wDec[i * D + j];
                    }
                }
            }
        }
        return out;
    }
}
