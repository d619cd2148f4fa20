package dev.saetrain.analysis;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.saetrain.data.ShardSet;
import dev.saetrain.error.BadInputException;
import dev.saetrain.error.UsageException;
import dev.saetrain.model.Architecture;
import dev.saetrain.model.SaeConfig;
import dev.saetrain.model.SaeWeights;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Planted data: a ReLU dictionary that is the identity (W_enc = W_dec = I, no biases), so latent j fires exactly
 * where column j of the data is positive. Each column is built with a known firing pattern (always, never, on one
 * row, at a set rate), and the expected statistics are counted straight from the data array.
 */
class FeatureStatsTest {
    private static final int D = 8;
    private static final int ROWS = 20_000;
    private static final int LONE_ROW = 780;

    @TempDir
    Path tmp;

    private float[] data;
    private SaeWeights identity;

    @BeforeEach
    void plant() throws IOException {
        SplittableRandom rng = new SplittableRandom(11);
        data = new float[ROWS * D];
        for (int r = 0; r < ROWS; r++) {
            float[] x = new float[D];
            x[0] = 1 + (float) rng.nextDouble();                                     // always fires: dense
            x[1] = rng.nextDouble() < 0.3 ? 0.01f + 2 * (float) rng.nextDouble() : -0.2f;
            x[2] = rng.nextDouble() < 0.05 ? 0.5f + (float) rng.nextDouble() : 0;
            x[3] = -1;                                                               // never fires: dead
            x[4] = r == LONE_ROW ? 5 : 0;                                            // one row: ultra-low density
            x[5] = rng.nextDouble() < 0.12 ? (float) rng.nextDouble() + 0.1f : 0;
            x[6] = 0;                                                                // dead, and no error
            x[7] = rng.nextDouble() < 0.5 ? 3 * (float) rng.nextDouble() + 0.01f : -0.5f;
            System.arraycopy(x, 0, data, r * D, D);
        }
        AnalysisFixtures.shard(tmp.resolve("shards/a.npy"), java.util.Arrays.copyOfRange(data, 0, 12_000 * D), D);
        AnalysisFixtures.shard(tmp.resolve("shards/b.npy"), java.util.Arrays.copyOfRange(data, 12_000 * D, ROWS * D), D);
        float[] eye = new float[D * D];
        for (int j = 0; j < D; j++) {
            eye[j * D + j] = 1;
        }
        identity = SaeWeights.of(new SaeConfig(Architecture.RELU, D, D, 0, 1, true), eye, new float[D], eye.clone(),
                new float[D]);
    }

    @Test
    void statisticsMatchTheCountsOfThePlantedData() throws IOException {
        long[] fires = new long[D];
        double[] sum = new double[D];
        double[] max = new double[D];
        double[] mean = new double[D];
        double err = 0;
        long active = 0;
        for (int r = 0; r < ROWS; r++) {
            for (int j = 0; j < D; j++) {
                float v = data[r * D + j];
                mean[j] += v / (double) ROWS;
                if (v > 0) {
                    fires[j]++;
                    sum[j] += v;
                    max[j] = Math.max(max[j], v);
                    active++;
                } else {
                    err += (double) v * v;
                }
            }
        }
        double var = 0;
        for (int r = 0; r < ROWS; r++) {
            for (int j = 0; j < D; j++) {
                double c = data[r * D + j] - mean[j];
                var += c * c;
            }
        }
        Path out = tmp.resolve("out");
        FeatureStats.Result res = FeatureStats.run("eye", identity, ShardSet.open(tmp.resolve("shards")), ROWS, out);
        assertEquals(ROWS, res.rows());
        assertArrayEquals(fires, res.fires());
        for (int j = 0; j < D; j++) {
            assertEquals(fires[j] == 0 ? 0 : sum[j] / fires[j], res.meanActive()[j], 1e-9, "mean of latent " + j);
            assertEquals(max[j], res.maxAct()[j], 0, "max of latent " + j);
        }
        assertEquals((double) active / ROWS, res.l0(), 1e-12);
        assertEquals(err / var, res.fvu(), 1e-9);
        // The planted facts themselves.
        assertEquals(ROWS, res.fires()[0]);
        assertEquals(0, res.fires()[3]);
        assertEquals(1, res.fires()[4]);
        assertEquals(5.0, res.maxAct()[4], 0);
        assertEquals(2, res.dead());
        assertEquals(1, res.ultralow());
        long dense = java.util.stream.IntStream.range(0, D).filter(j -> fires[j] > 0.1 * ROWS).count();
        assertEquals(dense, res.dense());
        assertTrue(res.dense() >= 3, "latents 0, 1 and 7 fire on well over 10 % of rows");

        JsonNode s = StudyFiles.JSON.readTree(out.resolve("summary.json").toFile());
        assertEquals(2, s.get("dead").asInt());
        assertEquals(1, s.get("ultralow").asInt());
        assertEquals(res.fvu(), s.get("fvu").asDouble(), 0);
        long inHistogram = 0;
        for (JsonNode c : s.get("log10_density_histogram").get("counts")) {
            inHistogram += c.asLong();
        }
        assertEquals(D - 2, inHistogram, "every alive latent lands in the density histogram");
        assertEquals(D + 1, Files.readAllLines(out.resolve("latents.csv")).size());
        assertTrue(Files.readAllLines(out.resolve("latents.csv")).get(5).startsWith("4,1,5.0E-5,"));
        for (String png : new String[] {"density.png", "frequency-vs-activation.png"}) {
            BufferedImage img = ImageIO.read(out.resolve(png).toFile());
            assertEquals(800, img.getWidth(), png);
        }
    }

    @Test
    void aSmallerSampleTakesEvenlySpacedRowsAcrossShards() {
        assertArrayEquals(new long[] {0, 2, 5, 7}, RowSample.rows(10, 4));
        FeatureStats.Result res = FeatureStats.compute(identity, ShardSet.open(tmp.resolve("shards")), 1000);
        assertEquals(1000, res.rows());
        assertEquals(1000, res.fires()[0]);
        assertEquals(1, res.fires()[4], "row 780 = 39 * 20 is in the sample of every 20th row");
        long fromData = 0;
        for (int i = 0; i < 1000; i++) {
            fromData += data[(i * 20) * D + 7] > 0 ? 1 : 0;
        }
        assertEquals(fromData, res.fires()[7]);
    }

    @Test
    void aNonFiniteRowIsBadInputNamingFileAndRow() throws IOException {
        float[] rows = new float[10 * D];
        rows[4 * D + 2] = Float.NaN;
        AnalysisFixtures.shard(tmp.resolve("bad/x.npy"), rows, D);
        BadInputException e = assertThrows(BadInputException.class,
                () -> FeatureStats.compute(identity, ShardSet.open(tmp.resolve("bad")), 100));
        assertTrue(e.getMessage().contains("x.npy") && e.getMessage().contains("row 4"), e.getMessage());
    }

    @Test
    void aWidthMismatchIsRefused() throws IOException {
        AnalysisFixtures.shard(tmp.resolve("wide/x.npy"), new float[10 * 16], 16);
        UsageException e = assertThrows(UsageException.class,
                () -> FeatureStats.compute(identity, ShardSet.open(tmp.resolve("wide")), 100));
        assertTrue(e.getMessage().contains("d = 16") && e.getMessage().contains("d_in = 8"), e.getMessage());
    }
}
