package dev.saetrain.export;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.saetrain.analysis.EncoderRows;
import dev.saetrain.model.SaeConfig;
import dev.saetrain.model.SaeWeights;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The exported dictionary takes raw activations: folding the training scale c into the weights
 * (b_enc / c, b_dec / c; W_enc and W_dec as trained) gives the same reconstruction divided by c, and the files, run through a forward pass
 * (ExportedSae, written from cfg.json's semantics, not the project's encoder), give what the trainer's weights give.
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
            int l0Folded = EncoderRows.reconstruct(folded, raw, fromFolded);
            int l0Scaled = EncoderRows.reconstruct(trained, scaled, fromScaled);
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
        ExportedSae fromFile = ExportedSae.saeLens(dir);
        SplittableRandom rng = new SplittableRandom(8);
        for (int r = 0; r < ROWS; r++) {
            float[] raw = rawRow(rng);
            float[] expected = new float[D];
            EncoderRows.reconstruct(w, raw, expected);
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
}
