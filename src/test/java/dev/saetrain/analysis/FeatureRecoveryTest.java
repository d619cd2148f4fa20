package dev.saetrain.analysis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.saetrain.error.BadInputException;
import dev.saetrain.model.Architecture;
import dev.saetrain.model.SaeConfig;
import dev.saetrain.model.SaeWeights;
import java.io.IOException;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FeatureRecoveryTest {
    private static final int D = 32;
    private static final int F = 24;

    @TempDir
    Path tmp;

    private static SaeWeights dictionary(float[] rows, int m) {
        return SaeWeights.of(new SaeConfig(Architecture.TOPK, D, m, 1, 0, true), AnalysisFixtures.transpose(rows, m, D),
                new float[m], rows, new float[D]);
    }

    @Test
    void aDictionaryEqualToTheGroundTruthRecoversEveryFeature() throws IOException {
        float[] truth = AnalysisFixtures.unitRows(new SplittableRandom(1), F, D);
        Path gt = tmp.resolve("ground_truth.npy");
        AnalysisFixtures.shard(gt, truth, D);
        // The same directions, permuted (latent i = feature (i * 7) % F) and scaled by 2 + i.
        float[] dec = new float[F * D];
        for (int i = 0; i < F; i++) {
            int f = (i * 7) % F;
            for (int j = 0; j < D; j++) {
                dec[i * D + j] = truth[f * D + j] * (2 + i);
            }
        }
        Path out = tmp.resolve("recovery");
        FeatureRecovery.Result r = FeatureRecovery.run("same", dictionary(dec, F), gt, out);
        assertEquals(1.0, r.meanMaxCos(), 1e-6);
        assertEquals(1.0, r.fractionAbove(0.9));
        assertEquals(1.0, r.fractionAbove(0.99));
        assertEquals(1.0, r.oneToOneMean(), 1e-6);
        for (int i = 0; i < F; i++) {
            assertEquals(i, (r.best()[i] * 7) % F, "feature " + i + " is matched to the latent holding it");
        }
        JsonNode s = StudyFiles.JSON.readTree(out.resolve("summary.json").toFile());
        assertEquals(1.0, s.get("mean_max_cos").asDouble(), 1e-6);
        assertEquals(1.0, s.get("fraction_above_0.9").asDouble(), 0);
    }

    @Test
    void plantedPartialRecoveryGivesKnownFractions() {
        float[] truth = AnalysisFixtures.unitRows(new SplittableRandom(2), F, D);
        float[] noise = AnalysisFixtures.unitRows(new SplittableRandom(3), F, D);
        // Latents 0..11 hold features 0..11 exactly; latents 12..17 hold features 12..17 at cosine 0.95 (in the plane of
        // the feature and a direction orthogonal to it); features 18..23 get no latent of their own: latents 18..23
        // repeat feature 0, which the one-to-one matching can use once only.
        float[] dec = new float[F * D];
        for (int i = 0; i < F; i++) {
            for (int j = 0; j < D; j++) {
                dec[i * D + j] = truth[(i < 18 ? i : 0) * D + j];
            }
        }
        double sin = Math.sqrt(1 - 0.95 * 0.95);
        for (int i = 12; i < 18; i++) {
            double dot = 0;
            for (int j = 0; j < D; j++) {
                dot += noise[i * D + j] * truth[i * D + j];
            }
            double[] o = new double[D];
            double n = 0;
            for (int j = 0; j < D; j++) {
                o[j] = noise[i * D + j] - dot * truth[i * D + j];
                n += o[j] * o[j];
            }
            for (int j = 0; j < D; j++) {
                dec[i * D + j] = (float) (0.95 * truth[i * D + j] + sin * o[j] / Math.sqrt(n));
            }
        }
        FeatureRecovery.Result r = FeatureRecovery.compute(dictionary(dec, F), truth);
        for (int i = 12; i < 18; i++) {
            assertEquals(0.95, r.bestCos()[i], 1e-6);
        }
        double expectedMean = 0;
        for (int f = 0; f < F; f++) {
            double best = -1;
            for (int i = 0; i < F; i++) {
                best = Math.max(best, cosine(truth, f, dec, i));
            }
            expectedMean += best / F;
        }
        assertEquals(expectedMean, r.meanMaxCos(), 1e-9);
        assertEquals(18.0 / F, r.fractionAbove(0.9), 1e-12, "12 exact + 6 at 0.95 (random features stay below 0.9)");
        assertEquals(12.0 / F, r.fractionAbove(0.99), 1e-12);
        // One-to-one: feature 0 takes one of its six copies; the other copies go to features 18..23 at their cosine
        // with feature 0, so the matched mean is below the best-match mean.
        assertTrue(r.oneToOneMean() < r.meanMaxCos());
        for (int f = 0; f < 18; f++) {
            assertTrue(r.oneToOneCos()[f] >= 0.95 - 1e-6, "feature " + f + " keeps its own latent");
        }
    }

    @Test
    void groundTruthOfAnotherWidthIsBadInput() throws IOException {
        Path gt = tmp.resolve("gt.npy");
        AnalysisFixtures.shard(gt, new float[4 * 16], 16);
        BadInputException e = assertThrows(BadInputException.class, () -> FeatureRecovery.readGroundTruth(gt, D));
        assertTrue(e.getMessage().contains("gt.npy") && e.getMessage().contains("d = 16"), e.getMessage());
    }

    private static double cosine(float[] a, int i, float[] b, int k) {
        double dot = 0;
        double na = 0;
        double nb = 0;
        for (int j = 0; j < D; j++) {
            dot += (double) a[i * D + j] * b[k * D + j];
            na += (double) a[i * D + j] * a[i * D + j];
            nb += (double) b[k * D + j] * b[k * D + j];
        }
        return dot / Math.sqrt(na * nb);
    }
}
