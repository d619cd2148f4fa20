package dev.saetrain.train;

import static dev.saetrain.selftest.DeviceFixtures.down;
import static dev.saetrain.selftest.DeviceFixtures.gaussian;
import static dev.saetrain.selftest.DeviceFixtures.up;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.saetrain.device.Device;
import dev.saetrain.selftest.ParityAssert;
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
import java.util.Arrays;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * relu-2023 and tied SAEs export as ordinary SAELens dictionaries: after a few training steps (relu-2023 with a
 * resampling among them), the files, run through a plain forward pass written here from cfg.json's semantics on
 * raw inputs (the scale c folded in), reproduce the engine's own x_hat / c; a tied SAE is written untied, with
 * W_enc = W_dec^T (before folding) as its own tensor. Awkward sizes: d = 48, m = 100.
 *
 * <p>Tolerance: the engine's fp32 forward against a double one over d = 48 and up to m = 100 terms: atol 1e-4
 * (inputs of unit scale), rtol 1e-4.
 */
class Relu2023TiedExportTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int D = 48;
    private static final int M = 100;
    private static final int BATCH = 16;
    private static final double C = 1.5;

    @TempDir
    Path tmp;

    static Stream<SaeConfig> configs() {
        return Stream.of(new SaeConfig(Architecture.RELU_2023, D, M, 0, 0.3, true),
                new SaeConfig(Architecture.TOPK, D, M, 7, 0, true, true),
                new SaeConfig(Architecture.RELU, D, M, 0, 0.3, true, true));
    }

    @ParameterizedTest
    @MethodSource("configs")
    void exportedFileReproducesTheEngine(SaeConfig cfg) throws IOException {
        SaeWeights init = SaeInit.initial(cfg, 51, gaussian(52, D, 0.2));
        boolean resample = cfg.arch() == Architecture.RELU_2023;
        Resampler.Plan plan = resample ? new Resampler.Plan(3, 2, 1, 100) : null;
        if (resample) {
            // Latents 0, 10, 20, ... never fire, so step 2 resamples them (b_enc back to 0).
            float[] bEnc = new float[M];
            for (int i = 0; i < M; i += 10) {
                bEnc[i] = -100f;
            }
            init = new SaeWeights(cfg, init.wEnc(), bEnc, init.wDec(), init.bDec());
        }
        float[] x = gaussian(60, BATCH * D, 1.0);
        float[] xHat;
        SaeWeights trained;
        try (Device dev = new CpuDevice(2); Engine e = new Engine(dev, init, BATCH, 1_000_000, plan)) {
            for (int t = 1; t <= 3; t++) {
                e.step(up(dev, gaussian(60 + t, BATCH * D, 1.0)), 1e-2, cfg.l1());
            }
            trained = e.weights();
            if (resample) {
                for (int i = 0; i < M; i += 10) {
                    assertTrue(trained.bEnc()[i] > -1, "latent " + i + " was resampled: b_enc " + trained.bEnc()[i]);
                }
            }
            e.computeGradients(up(dev, x), cfg.l1());
            xHat = down(dev, e.shared().xHat, BATCH * D);
        }
        if (cfg.tied()) {
            for (int i = 0; i < M; i++) {
                for (int j = 0; j < D; j++) {
                    assertEquals(trained.wDec().get((long) i * D + j), trained.wEnc().get((long) j * M + i), "W_enc = W_dec^T at " + i + "," + j);
                }
            }
        }
        Path dir = tmp.resolve(cfg.name());
        double[] freq = new double[M];
        SaeLensWriter.write(dir, trained.foldScale(C), freq, ExportInfo.minimal("t", "dev", 48, C));
        Map<String, TestTensorFiles.Loaded> w = TestTensorFiles.readSafetensors(dir.resolve(SaeLensWriter.WEIGHTS_FILE));
        assertEquals("[48, 100]", Arrays.toString(w.get("W_enc").shape()), "W_enc is written out");
        JsonNode json = JSON.readTree(dir.resolve(SaeLensWriter.CFG_FILE).toFile());
        assertEquals(cfg.arch() == Architecture.TOPK ? "topk" : "standard", json.get("architecture").asText());
        assertEquals(cfg.tied(), json.at("/metadata/sae_train/tied").asBoolean());
        assertEquals(cfg.arch().cliName(), json.at("/metadata/sae_train/architecture").asText());

        float[] wEnc = w.get("W_enc").values();
        float[] wDec = w.get("W_dec").values();
        float[] bEnc = w.get("b_enc").values();
        float[] bDec = w.get("b_dec").values();
        double[] want = new double[BATCH * D];
        double[] got = new double[BATCH * D];
        long active = 0;
        for (int b = 0; b < BATCH; b++) {
            double[] pre = new double[M];
            for (int i = 0; i < M; i++) {
                double s = bEnc[i];
                for (int j = 0; j < D; j++) {
                    s += (x[b * D + j] / C - bDec[j]) * wEnc[j * M + i];
                }
                pre[i] = s;
            }
            double[] f = new double[M];
            double kth = Double.NEGATIVE_INFINITY;
            if (json.has("k")) {
                double[] sorted = pre.clone();
                Arrays.sort(sorted);
                kth = sorted[M - json.get("k").asInt()];
            }
            for (int i = 0; i < M; i++) {
                f[i] = pre[i] >= kth ? Math.max(0, pre[i]) : 0;
                active += f[i] > 0 ? 1 : 0;
            }
            for (int j = 0; j < D; j++) {
                double s = bDec[j];
                for (int i = 0; i < M; i++) {
                    s += f[i] * wDec[i * D + j];
                }
                got[b * D + j] = s * C;
                want[b * D + j] = xHat[b * D + j];
            }
        }
        assertTrue(active > 0, "some latents must fire");
        ParityAssert.assertClose(cfg.name() + " x_hat from the exported file", want, got, 1e-4, 1e-4);
    }
}
