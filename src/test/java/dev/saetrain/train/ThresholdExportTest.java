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
import dev.saetrain.model.Architecture;
import dev.saetrain.model.SaeConfig;
import dev.saetrain.model.SaeInit;
import dev.saetrain.model.SaeWeights;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A trained batchtopk, jumprelu or matryoshka engine, exported with the input scale c folded in, is reproduced by a plain
 * forward pass written here from the files alone (cfg.json's "jumprelu": f = relu(pre) * 1[pre > threshold]).
 * jumprelu: on raw rows x / c the file gives the engine's own training reconstruction divided by c. batchtopk and
 * matryoshka (whose nesting is a training loss only; the groups are recorded in cfg.json's metadata):
 * training selects over the batch, so the file is compared with the engine's inference form
 * (the host encoder, analysis.SaeEncoder, with the estimated threshold), and that form must keep latents active.
 * Tolerance: fp32 engine vs double forward over d = 40, m = 120: 2e-5 of the largest output.
 */
class ThresholdExportTest {
    private static final int BATCH = 32;
    private static final int D = 40;
    private static final float C = 2.5f;

    @TempDir
    Path tmp;

    static List<SaeConfig> configs() {
        return List.of(SaeConfig.batchTopk(D, 3, 5), SaeConfig.jumpRelu(D, 3, 1.0),
                SaeConfig.matryoshka(D, 3, 5).withGroups(List.of(10, 30, 80)));
    }

    @ParameterizedTest
    @MethodSource("configs")
    void exportedFilesReproduceTheEngine(SaeConfig cfg) throws IOException {
        try (Device dev = new CpuDevice(2);
             Engine e = new Engine(dev, SaeInit.initial(cfg, 601, gaussian(602, D, 0.2)), BATCH, 100 * BATCH)) {
            for (int t = 0; t < 20; t++) {
                e.step(up(dev, gaussian(610 + t, BATCH * D, 2.0)), 1e-2, cfg.l1());
            }
            float[] x = gaussian(650, BATCH * D, 2.0);
            e.computeGradients(up(dev, x), cfg.l1());
            float[] trainHat = down(dev, e.shared().xHat, BATCH * D);
            SaeWeights w = e.weights();
            Path dir = tmp.resolve(cfg.name());
            SaeLensWriter.write(dir, w.foldScale(C), new double[cfg.nLatents()], ExportInfo.minimal("r", "dev", 1, C));
            JsonNode json = new ObjectMapper().readTree(dir.resolve("cfg.json").toFile());
            assertEquals("jumprelu", json.get("architecture").asText());
            if (cfg.arch() == Architecture.MATRYOSHKA) {
                assertEquals("[10,30,80]", json.at("/metadata/sae_train/groups").toString(), "groups in the metadata");
                assertEquals(5, json.at("/metadata/sae_train/k").asInt());
            }
            Map<String, TestTensorFiles.Loaded> t = TestTensorFiles.readSafetensors(dir.resolve("sae_weights.safetensors"));
            int active = 0;
            double scale = 0;
            double[][] fromFile = new double[BATCH][];
            float[][] expected = new float[BATCH][D];
            for (int b = 0; b < BATCH; b++) {
                float[] raw = new float[D];
                for (int j = 0; j < D; j++) {
                    raw[j] = x[b * D + j] / C;
                }
                int[] l0 = new int[1];
                fromFile[b] = forward(t, raw, json.get("apply_b_dec_to_input").booleanValue(), l0);
                active += l0[0];
                if (cfg.arch() == Architecture.JUMPRELU) {
                    for (int j = 0; j < D; j++) {
                        expected[b][j] = trainHat[b * D + j] / C;
                    }
                } else {
                    float[] scaled = new float[D];
                    System.arraycopy(x, b * D, scaled, 0, D);
                    EncoderRows.reconstruct(w, scaled, expected[b]);
                    for (int j = 0; j < D; j++) {
                        expected[b][j] /= C;
                    }
                }
                for (float v : expected[b]) {
                    scale = Math.max(scale, Math.abs(v));
                }
            }
            assertTrue(active > 0 && active < BATCH * cfg.nLatents(), "some but not all latents active: " + active);
            for (int b = 0; b < BATCH; b++) {
                for (int j = 0; j < D; j++) {
                    assertEquals(expected[b][j], fromFile[b][j], 2e-5 * scale, cfg.name() + " row " + b + " dim " + j);
                }
            }
        }
    }

    /** pre = (x - b_dec) W_enc + b_enc; f = relu(pre) * 1[pre > threshold]; f W_dec + b_dec; l0[0] = active. */
    private static double[] forward(Map<String, TestTensorFiles.Loaded> t, float[] x, boolean applyBDec, int[] l0) {
        float[] wEnc = t.get("W_enc").values();
        float[] bEnc = t.get("b_enc").values();
        float[] wDec = t.get("W_dec").values();
        float[] bDec = t.get("b_dec").values();
        float[] th = t.get("threshold").values();
        int m = bEnc.length;
        double[] out = new double[D];
        for (int j = 0; j < D; j++) {
            out[j] = bDec[j];
        }
        for (int i = 0; i < m; i++) {
            double pre = bEnc[i];
            for (int j = 0; j < D; j++) {
                pre += (x[j] - (applyBDec ? bDec[j] : 0f)) * (double) wEnc[j * m + i];
            }
            if (pre > 0 && pre > th[i]) {
                l0[0]++;
                for (int j = 0; j < D; j++) {
                    out[j] += pre * wDec[i * D + j];
                }
            }
        }
        return out;
    }
}
