package dev.saetrain.export;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.saetrain.model.SaeConfig;
import dev.saetrain.model.SaeWeights;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The exported dictionary takes raw activations: folding the training scale c into the weights
 * (b_enc / c, b_dec / c; W_enc and W_dec as trained) gives the same reconstruction divided by c, and the files, run through a forward pass
 * written here from cfg.json's semantics (not {@link SaeWeights#reconstruct}), give what the trainer's weights give.
 * Awkward sizes per docs/design.md, "Testing": d = 48, m = 100, k = 1 and 7.
 */
class FoldedExportTest {
    private static final int D = 48;
    private static final int M = 100;
    private static final double C = 3.7;
    private static final int ROWS = 20;

    @TempDir
    Path tmp;

    static Stream<SaeConfig> configs() {
        return Stream.of(
                SaeConfig.topk(D, 2, 1).withNLatents(M),
                SaeConfig.topk(D, 2, 7).withNLatents(M),
                SaeConfig.relu(D, 2, 1.0).withNLatents(M));
    }

    private static float[] rawRow(SplittableRandom rng) {
        return TestWeights.uniform(rng, D, 2.0);
    }

    @ParameterizedTest
    @MethodSource("configs")
    void foldedWeightsOnRawInputsMatchTrainedWeightsOnScaledInputs(SaeConfig cfg) {
        SaeWeights trained = TestWeights.random(cfg, 42);
        SaeWeights folded = trained.foldScale(C);
        SplittableRandom rng = new SplittableRandom(7);
        for (int r = 0; r < ROWS; r++) {
            float[] raw = rawRow(rng);
            float[] scaled = new float[D];
            for (int j = 0; j < D; j++) {
                scaled[j] = (float) (C * raw[j]);
            }
            float[] fromFolded = new float[D];
            float[] fromScaled = new float[D];
            int l0Folded = folded.reconstruct(raw, fromFolded);
            int l0Scaled = trained.reconstruct(scaled, fromScaled);
            assertEquals(l0Scaled, l0Folded, "row " + r + ": same latents fire");
            double[] expected = new double[D];
            for (int j = 0; j < D; j++) {
                expected[j] = fromScaled[j] / C;
            }
            assertClose(expected, fromFolded, 1e-5, cfg + " row " + r);
        }
    }

    @ParameterizedTest
    @MethodSource("configs")
    void exportedFilesReproduceTheTrainersForwardPass(SaeConfig cfg) throws IOException {
        SaeWeights w = TestWeights.random(cfg, 43).foldScale(C);
        Path dir = tmp.resolve(cfg.name());
        SaeLensWriter.write(dir, w, new double[M], ExportInfo.minimal("r", "dev", 1000, C));
        FileSae fromFile = FileSae.load(dir);
        SplittableRandom rng = new SplittableRandom(8);
        for (int r = 0; r < ROWS; r++) {
            float[] raw = rawRow(rng);
            float[] expected = new float[D];
            w.reconstruct(raw, expected);
            double[] reference = fromFile.forward(raw);
            assertTrue(Arrays.stream(reference).anyMatch(v -> Math.abs(v) > 1e-3),
                    "a reconstruction of all zeros would prove nothing");
            assertClose(reference, expected, 1e-6, cfg + " row " + r);
        }
    }

    private static void assertClose(double[] expected, float[] actual, double rel, String what) {
        double scale = 0;
        for (double v : expected) {
            scale = Math.max(scale, Math.abs(v));
        }
        for (int j = 0; j < expected.length; j++) {
            assertEquals(expected[j], actual[j], rel * scale, what + " element " + j);
        }
    }

    /** An SAE as SAELens would run it from the folder: pre = (x - b_dec*apply) W_enc + b_enc, act, f W_dec + b_dec. */
    private record FileSae(String arch, int k, boolean applyBDec, int d, int m,
                           float[] wEnc, float[] bEnc, float[] wDec, float[] bDec) {
        static FileSae load(Path dir) throws IOException {
            JsonNode cfg = new ObjectMapper().readTree(dir.resolve("cfg.json").toFile());
            Map<String, TestTensorFiles.Loaded> t = TestTensorFiles.readSafetensors(dir.resolve("sae_weights.safetensors"));
            String arch = cfg.get("architecture").textValue();
            return new FileSae(arch, arch.equals("topk") ? cfg.get("k").intValue() : 0,
                    cfg.get("apply_b_dec_to_input").booleanValue(), cfg.get("d_in").intValue(),
                    cfg.get("d_sae").intValue(), t.get("W_enc").values(), t.get("b_enc").values(),
                    t.get("W_dec").values(), t.get("b_dec").values());
        }

        double[] forward(float[] x) {
            double[] pre = new double[m];
            for (int i = 0; i < m; i++) {
                double s = bEnc[i];
                for (int j = 0; j < d; j++) {
                    s += (x[j] - (applyBDec ? bDec[j] : 0f)) * (double) wEnc[j * m + i];
                }
                pre[i] = s;
            }
            double[] f = new double[m];
            if (arch.equals("topk")) {
                // The k largest by repeated selection: independent of Activations' sort-based TopK.
                boolean[] taken = new boolean[m];
                for (int r = 0; r < k; r++) {
                    int best = -1;
                    for (int i = 0; i < m; i++) {
                        if (!taken[i] && (best < 0 || pre[i] > pre[best])) {
                            best = i;
                        }
                    }
                    taken[best] = true;
                    f[best] = Math.max(0, pre[best]);
                }
            } else if (arch.equals("standard")) {
                for (int i = 0; i < m; i++) {
                    f[i] = Math.max(0, pre[i]);
                }
            } else {
                throw new AssertionError("unexpected architecture " + arch);
            }
            double[] out = new double[d];
            for (int j = 0; j < d; j++) {
                out[j] = bDec[j];
            }
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < d; j++) {
                    out[j] += f[i] * wDec[i * d + j];
                }
            }
            return out;
        }
    }
}
