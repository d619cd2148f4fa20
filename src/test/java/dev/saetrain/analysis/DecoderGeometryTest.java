package dev.saetrain.analysis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.saetrain.model.Architecture;
import dev.saetrain.model.SaeConfig;
import dev.saetrain.model.SaeWeights;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A dictionary with known duplicates: random unit decoder rows in R^64 (pairwise cosines about N(0, 1/64), far below
 * 0.9), then latent 5 = 3 x latent 2 (cosine 1 at another norm) and latent 7 = 0.95 latent 3 + sqrt(1 - 0.95^2) u with
 * u a unit vector orthogonal to latent 3 (cosine 0.95). Encoder columns equal the decoder rows but for latent 0
 * (negated: cosine -1) and latent 1 (orthogonal: cosine 0).
 */
class DecoderGeometryTest {
    private static final int D = 64;
    private static final int M = 40;

    @TempDir
    Path tmp;

    @Test
    void findsThePlantedDuplicatesAndEncoderDecoderCosines() throws IOException {
        SplittableRandom rng = new SplittableRandom(5);
        float[] dec = AnalysisFixtures.unitRows(rng, M, D);
        for (int j = 0; j < D; j++) {
            dec[5 * D + j] = 3 * dec[2 * D + j];
        }
        double[] u = orthogonalUnit(dec, 3, AnalysisFixtures.unitRows(rng, 1, D));
        double s = Math.sqrt(1 - 0.95 * 0.95);
        for (int j = 0; j < D; j++) {
            dec[7 * D + j] = (float) (0.95 * dec[3 * D + j] + s * u[j]);
        }
        float[] enc = AnalysisFixtures.transpose(dec, M, D);
        double[] v = orthogonalUnit(dec, 1, AnalysisFixtures.unitRows(rng, 1, D));
        for (int j = 0; j < D; j++) {
            enc[j * M] = -dec[j];
            enc[j * M + 1] = (float) v[j];
        }
        SaeWeights w = SaeWeights.of(new SaeConfig(Architecture.RELU, D, M, 0, 1, true), enc, new float[M], dec,
                new float[D]);
        Path out = tmp.resolve("geometry");
        DecoderGeometry.Result r = DecoderGeometry.run("planted", w, 0.9, out);

        assertEquals(2, r.duplicates().size(), "exactly the two planted pairs: " + r.duplicates());
        DecoderGeometry.Pair first = r.duplicates().get(0);
        DecoderGeometry.Pair second = r.duplicates().get(1);
        assertEquals(List.of(2, 5), List.of(first.a(), first.b()));
        assertEquals(1.0, first.cos(), 1e-6);
        assertEquals(List.of(3, 7), List.of(second.a(), second.b()));
        assertEquals(0.95, second.cos(), 1e-6);
        assertEquals(2, r.nearest()[5]);
        assertEquals(5, r.nearest()[2]);
        assertEquals(7, r.nearest()[3]);
        assertEquals(0.95, r.nearestCos()[7], 1e-6);
        assertEquals(3.0, r.decNorm()[5], 1e-6);
        // Every other nearest-neighbour cosine is the largest over all the other latents (brute force).
        for (int i = 0; i < M; i++) {
            for (int k = 0; k < M; k++) {
                if (k != i) {
                    assertTrue(r.nearestCos()[i] >= cosine(dec, i, dec, k) - 1e-12, i + " vs " + k);
                }
            }
        }
        assertEquals(-1.0, r.encDecCos()[0], 1e-6);
        assertEquals(0.0, r.encDecCos()[1], 1e-6);
        for (int i = 2; i < M; i++) {
            assertEquals(1.0, r.encDecCos()[i], 1e-6, "latent " + i);
        }
        JsonNode summary = StudyFiles.JSON.readTree(out.resolve("summary.json").toFile());
        assertEquals(2, summary.get("duplicate_pairs").asInt());
        assertEquals(4, summary.get("latents_in_duplicate_pairs").asInt());
        assertEquals((M - 3) / (double) M, summary.get("mean_encoder_decoder_cos").asDouble(), 1e-6);
        List<String> lines = Files.readAllLines(out.resolve("duplicates.csv"));
        assertEquals(3, lines.size());
        assertTrue(lines.get(1).startsWith("2,5,"), lines.get(1));
        assertTrue(Files.size(out.resolve("nearest-cosine.png")) > 1000);
        assertTrue(Files.size(out.resolve("encoder-decoder-cosine.png")) > 1000);
    }

    /** The component of {@code r} [1, d] orthogonal to row i of {@code rows}, normalised. */
    private static double[] orthogonalUnit(float[] rows, int i, float[] r) {
        double dot = 0;
        double nn = 0;
        for (int j = 0; j < D; j++) {
            dot += r[j] * rows[i * D + j];
            nn += rows[i * D + j] * rows[i * D + j];
        }
        double[] u = new double[D];
        double norm = 0;
        for (int j = 0; j < D; j++) {
            u[j] = r[j] - dot / nn * rows[i * D + j];
            norm += u[j] * u[j];
        }
        for (int j = 0; j < D; j++) {
            u[j] /= Math.sqrt(norm);
        }
        return u;
    }

    static double cosine(float[] a, int i, float[] b, int k) {
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
