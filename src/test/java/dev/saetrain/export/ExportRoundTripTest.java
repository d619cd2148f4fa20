package dev.saetrain.export;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.saetrain.analysis.EncoderRows;
import dev.saetrain.io.HostMatrix;
import dev.saetrain.model.Architecture;
import dev.saetrain.model.SaeConfig;
import dev.saetrain.model.SaeWeights;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every architecture, trained on inputs scaled by c, written with the scale folded in and exported to every format
 * it has, is read back from the files alone: where a config promises unit-norm decoder rows (SAELens
 * {@code metadata.sae_train.decoder_unit_norm}, sparsify {@code normalize_decoder}) every row has norm 1, and a
 * forward pass written here from each format's documented semantics, on raw rows x, gives the trained weights'
 * reconstruction of c x divided by c. d = 24, m = 60, c = 3.7: awkward sizes and a scale far from 1.
 */
class ExportRoundTripTest {
    private static final int D = 24;
    private static final int M = 60;
    private static final double C = 3.7;
    private static final int ROWS = 16;
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    static Stream<SaeConfig> configs() {
        return Stream.of(SaeConfig.topk(D, 2, 5).withNLatents(M), SaeConfig.topk(D, 2, 5).withNLatents(M).withTied(true),
                SaeConfig.relu(D, 2, 1.0).withNLatents(M), SaeConfig.relu2023(D, 2, 1.0).withNLatents(M),
                SaeConfig.batchTopk(D, 2, 5).withNLatents(M), SaeConfig.jumpRelu(D, 2, 1.0).withNLatents(M),
                SaeConfig.matryoshka(D, 2, 5).withNLatents(M).withGroups(List.of(20, 40)),
                SaeConfig.gated(D, 2, 1.0).withNLatents(M));
    }

    /** Weights as training leaves them: unit-norm decoder rows where the architecture keeps them, W_enc = W_dec^T if tied. */
    static SaeWeights trained(SaeConfig cfg, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        SaeWeights r = TestWeights.random(cfg, seed);
        float[] wDec = r.wDec().toArray("test");
        if (cfg.unitNormDecoder()) {
            for (int i = 0; i < M; i++) {
                double s = 0;
                for (int j = 0; j < D; j++) {
                    s += (double) wDec[i * D + j] * wDec[i * D + j];
                }
                for (int j = 0; j < D; j++) {
                    wDec[i * D + j] = (float) (wDec[i * D + j] / Math.sqrt(s));
                }
            }
        }
        float[] wEnc = r.wEnc().toArray("test");
        if (cfg.tied()) {
            for (int i = 0; i < M; i++) {
                for (int j = 0; j < D; j++) {
                    wEnc[j * M + i] = wDec[i * D + j];
                }
            }
        }
        Map<String, float[]> extras = new LinkedHashMap<>();
        if (cfg.arch().exportsThreshold()) {
            // Thresholds among the pre-activations' values, so the jump decides some latents.
            extras.put("threshold", TestWeights.uniform(rng, M, 0.3));
            for (int i = 0; i < M; i++) {
                extras.get("threshold")[i] = Math.abs(extras.get("threshold")[i]);
            }
        }
        if (cfg.arch() == Architecture.GATED) {
            extras.put("b_mag", TestWeights.uniform(rng, M, 0.1));
            extras.put("r_mag", TestWeights.uniform(rng, M, 0.5));
        }
        return SaeWeights.of(cfg, wEnc, r.bEnc(), wDec, r.bDec(), extras);
    }

    @ParameterizedTest
    @MethodSource("configs")
    void everyExportKeepsUnitRowsAndReproducesTheTrainedSaeOnRawInputs(SaeConfig cfg) throws IOException {
        SaeWeights trained = trained(cfg, 91);
        Path dir = tmp.resolve(cfg.name());
        SaeLensWriter.write(dir, trained.foldScale(C), new double[M], ExportInfo.minimal("r", "dev", 1, C));
        List<DictionaryExport.Format> formats = cfg.arch() == Architecture.TOPK
                ? List.of(DictionaryExport.Format.SAELENS, DictionaryExport.Format.NPY, DictionaryExport.Format.SPARSIFY)
                : List.of(DictionaryExport.Format.SAELENS, DictionaryExport.Format.NPY);
        for (DictionaryExport.Format f : formats) {
            Path out = tmp.resolve(cfg.name() + "-" + f);
            DictionaryExport.export(dir, f, out);
            ExportedSae sae = switch (f) {
                case SAELENS -> ExportedSae.saeLens(out);
                case NPY -> ExportedSae.npy(out);
                case SPARSIFY -> ExportedSae.sparsify(out);
            };
            String what = cfg.name() + " as " + f;
            assertEquals(cfg.unitNormDecoder(), sae.promisesUnitNorm(), what + ": the config's promise");
            if (sae.promisesUnitNorm()) {
                for (int i = 0; i < M; i++) {
                    assertEquals(1.0, sae.decoderRowNorm(i), 1e-6, what + ": norm of decoder row " + i);
                }
            }
            checkForward(trained, sae, what);
        }
    }

    @Test
    void dictionariesReadInPagesExportTheBytesOfWholeOnes() throws IOException {
        // Read back in pages of 50 floats (W_enc [24, 60]: one row a page; W_dec [60, 24]: two rows a page), as a
        // dictionary past 2^31 elements is: every format's files are the bytes the whole matrices give.
        SaeConfig cfg = SaeConfig.topk(D, 2, 5).withNLatents(M);
        cfg = new SaeConfig(cfg.arch(), D, M, 5, 0, false); // b_dec folded into sparsify's encoder bias
        Path dir = tmp.resolve("paged-src");
        SaeLensWriter.write(dir, trained(cfg, 44).foldScale(C), new double[M], ExportInfo.minimal("r", "dev", 1, C));
        for (DictionaryExport.Format f : DictionaryExport.Format.values()) {
            Path whole = tmp.resolve("whole-" + f);
            DictionaryExport.export(dir, f, whole);
            Path paged = tmp.resolve("paged-" + f);
            String old = System.setProperty(HostMatrix.PAGE_PROPERTY, "50");
            try {
                assertEquals(24, SaeLensReader.read(dir).weights().wEnc().pageCount());
                DictionaryExport.export(dir, f, paged);
            } finally {
                if (old == null) {
                    System.clearProperty(HostMatrix.PAGE_PROPERTY);
                } else {
                    System.setProperty(HostMatrix.PAGE_PROPERTY, old);
                }
            }
            try (var files = java.nio.file.Files.list(whole)) {
                for (Path w : files.toList()) {
                    org.junit.jupiter.api.Assertions.assertArrayEquals(java.nio.file.Files.readAllBytes(w),
                            java.nio.file.Files.readAllBytes(paged.resolve(w.getFileName())), f + " " + w.getFileName());
                }
            }
        }
    }

    private static void checkForward(SaeWeights trained, ExportedSae sae, String what) {
        SplittableRandom rng = new SplittableRandom(5);
        int fired = 0;
        for (int r = 0; r < ROWS; r++) {
            float[] raw = TestWeights.uniform(rng, D, 0.5);
            float[] scaled = new float[D];
            for (int j = 0; j < D; j++) {
                scaled[j] = (float) (C * raw[j]);
            }
            float[] fromTrained = new float[D];
            fired += EncoderRows.reconstruct(trained, scaled, fromTrained);
            double[] fromFile = sae.forward(raw);
            double max = 0;
            for (float v : fromTrained) {
                max = Math.max(max, Math.abs(v / C));
            }
            for (int j = 0; j < D; j++) {
                assertEquals(fromTrained[j] / C, fromFile[j], 1e-5 * max, what + ": row " + r + " element " + j);
            }
        }
        assertTrue(fired > ROWS, what + ": latents must fire, or the comparison proves little (" + fired + ")");
    }

    @Test
    void sparsifyDoesNotPromiseUnitRowsThatAreNot() throws IOException {
        // A dictionary folded the old way (W_dec / c): its rows have norm 1 / c, so normalize_decoder must be false.
        SaeConfig cfg = SaeConfig.topk(D, 2, 5).withNLatents(M);
        SaeWeights t = trained(cfg, 17);
        float[] wDec = t.wDec().toArray("test").clone();
        for (int i = 0; i < wDec.length; i++) {
            wDec[i] /= (float) C;
        }
        Path dir = tmp.resolve("old");
        SaeLensWriter.write(dir, new SaeWeights(cfg, t.wEnc(), t.bEnc(), HostMatrix.wrap(wDec, M, D), t.bDec()), new double[M],
                ExportInfo.minimal("r", "dev", 1, C));
        assertFalse(JSON.readTree(dir.resolve("cfg.json").toFile()).at("/metadata/sae_train/decoder_unit_norm").asBoolean(true));
        Path out = tmp.resolve("old-sparsify");
        DictionaryExport.export(dir, DictionaryExport.Format.SPARSIFY, out);
        JsonNode sc = JSON.readTree(out.resolve("cfg.json").toFile());
        assertFalse(sc.get("normalize_decoder").asBoolean(true), "rows of norm 1/c are not unit-norm");
    }
}
