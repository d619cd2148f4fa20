package dev.saetrain.analysis;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.saetrain.data.Shard;
import dev.saetrain.data.ShardSet;
import dev.saetrain.error.BadInputException;
import dev.saetrain.export.SaeLensReader;
import dev.saetrain.io.NpyWriter;
import dev.saetrain.io.Tensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Synthetic activations on planted clustered data ({@link ClusterFixture}). Tolerances, as two-sample KS distances
 * between the real codes and the generated codes (4000 rows each; two samples of one distribution would give a KS
 * distance above 0.03 with probability about 5 %): L0 and activation magnitudes of both kinds &lt;= 0.03; structured
 * cosine-to-top &lt;= 0.06; the baseline's cosine-to-top, which ignores structure, must differ, &gt;= 0.4.
 */
class SyntheticActivationsTest {
    static final int ROWS = 4000;

    @TempDir
    static Path tmp;

    private static ClusterFixture fx;
    private static SaeLensReader.Loaded sae;
    private static Path shards;
    private static Path out;
    private static SyntheticActivations.Result result;
    private static final SyntheticActivations.Options OPTIONS = new SyntheticActivations.Options(ROWS, ROWS, 1500, 1, 512, 5);

    @BeforeAll
    static void runOnce() throws Exception {
        fx = new ClusterFixture(3);
        sae = new SaeLensReader.Loaded(tmp.resolve("x2"), fx.sae, new ObjectMapper().createObjectNode(), null);
        shards = tmp.resolve("real");
        fx.writeShard(shards.resolve("shard-00000.npy"), ROWS, 11);
        out = tmp.resolve("analysis/x2/synthetic");
        result = SyntheticActivations.run(sae, shards, OPTIONS, out);
    }

    @Test
    void generatedCodesMatchTheRealDistributionsWithinTolerance() {
        for (String kind : List.of("baseline", "structured")) {
            assertTrue(result.ks("l0", kind, "codes") <= 0.03, kind + " L0 KS " + result.ks("l0", kind, "codes"));
            assertTrue(result.ks("magnitude", kind, "codes") <= 0.03,
                    kind + " magnitude KS " + result.ks("magnitude", kind, "codes"));
        }
        assertTrue(result.ks("cosine_to_top", "structured", "codes") <= 0.06,
                "structured cosine KS " + result.ks("cosine_to_top", "structured", "codes"));
        assertTrue(result.ks("cosine_to_top", "baseline", "codes") >= 0.4,
                "baseline cosine KS " + result.ks("cosine_to_top", "baseline", "codes"));
        // the shards, encoded again by the SAE, keep the ordering: structured is closer to real in geometry
        assertTrue(result.ks("cosine_to_top", "structured", "re-encoded")
                < result.ks("cosine_to_top", "baseline", "re-encoded"));
        assertEquals(ROWS, result.real().l0().length);
        assertTrue(Distributions.mean(result.real().l0()) > 2, "the planted rows fire several latents");
    }

    @Test
    void baselineKeepsEachLatentsOwnMagnitudes() throws Exception {
        int m = ClusterFixture.M;
        SaeEncoder.Codes real = SyntheticActivations.encodeSample(ShardSet.open(shards),
                new SaeEncoder(fx.sae), ROWS, ClusterFixture.D);
        double[] realSum = new double[m];
        int[] realN = new int[m];
        for (int e = 0; e < real.idx().length; e++) {
            realSum[real.idx()[e]] += real.val()[e];
            realN[real.idx()[e]]++;
        }
        int[] idx = readI32(out.resolve("codes/baseline-indices.npy"));
        float[] val = readF32(out.resolve("codes/baseline-values.npy"));
        double[] synSum = new double[m];
        int[] synN = new int[m];
        for (int e = 0; e < idx.length; e++) {
            if (idx[e] >= 0) {
                synSum[idx[e]] += val[e];
                synN[idx[e]]++;
            }
        }
        int checked = 0;
        for (int i = 0; i < m; i++) {
            if (realN[i] >= 300) {
                checked++;
                double rm = realSum[i] / realN[i];
                double sm = synSum[i] / synN[i];
                assertEquals(rm, sm, 0.1 * rm, "mean activation of latent " + i);
                assertEquals(realN[i], synN[i], 0.2 * realN[i], "firing count of latent " + i);
            }
        }
        assertTrue(checked >= 20, "latents with enough firings: " + checked);
    }

    @Test
    void shardsAreTheDecodedCodesInShardsOfTheRequestedSize() throws Exception {
        for (String kind : List.of("baseline", "structured")) {
            Path dir = out.resolve("synthetic-" + kind);
            ShardSet set = ShardSet.open(dir);
            assertEquals(ROWS, set.totalRows());
            assertArrayEquals(new long[] {1500, 1500, 1000}, set.shardRows());
            int[] idx = readI32(out.resolve("codes/" + kind + "-indices.npy"));
            float[] val = readF32(out.resolve("codes/" + kind + "-values.npy"));
            int width = idx.length / ROWS;
            int d = ClusterFixture.D;
            float[] x = new float[d];
            for (int row : new int[] {0, 1, 1499, 1500, 3999}) {
                int s = set.shardOf(row);
                set.shards().get(s).readRows(row - set.offset(s), 1, 1f, x, 0);
                for (int j = 0; j < d; j++) {
                    double expect = 0; // b_dec = 0 in the fixture
                    for (int k = 0; k < width; k++) {
                        int i = idx[row * width + k];
                        if (i >= 0) {
                            expect += val[row * width + k] * fx.wDec[i * d + j];
                        }
                    }
                    assertEquals(expect, x[j], 1e-5, kind + " row " + row + " column " + j);
                }
            }
        }
    }

    @Test
    void summaryCsvAndPlotsAreWritten() throws Exception {
        var summary = new ObjectMapper().readTree(out.resolve("summary.json").toFile());
        assertEquals("synthetic", summary.path("study").asText());
        assertEquals(result.ks("l0", "structured", "codes"), summary.path("ks").path("structured/codes/l0").asDouble(), 1e-12);
        assertEquals(1 + 12, Files.readAllLines(out.resolve("ks.csv")).size());
        List<String> latents = Files.readAllLines(out.resolve("latents.csv"));
        assertEquals(1 + ClusterFixture.M, latents.size());
        long realFires = latents.stream().skip(1).mapToLong(l -> Long.parseLong(l.split(",")[1])).sum();
        assertEquals(result.real().magnitudes().length, realFires, "real firing counts add up to the active pairs");
        for (String png : List.of("cdf-l0.png", "cdf-magnitude.png", "cdf-cosine.png")) {
            assertNotNull(ImageIO.read(out.resolve(png).toFile()), png);
        }
    }

    @Test
    void sameSeedSameShards() throws Exception {
        Path again = tmp.resolve("again");
        SyntheticActivations.run(sae, shards, OPTIONS, again);
        for (String f : List.of("synthetic-baseline/shard-00002.npy", "synthetic-structured/shard-00000.npy")) {
            assertArrayEquals(Files.readAllBytes(out.resolve(f)), Files.readAllBytes(again.resolve(f)), f);
        }
    }

    @Test
    void wrongWidthAndExistingShardsAreRefusedNamingTheDirectory() throws Exception {
        Path narrow = tmp.resolve("narrow");
        NpyWriter.write(narrow.resolve("a.npy"), Tensor.f32(new float[16 * 4], 4, 16));
        BadInputException e = assertThrows(BadInputException.class,
                () -> SyntheticActivations.run(sae, narrow, OPTIONS, tmp.resolve("o1")));
        assertTrue(e.getMessage().startsWith(narrow.toString()) && e.getMessage().contains("d = 16"), e.getMessage());
        BadInputException e2 = assertThrows(BadInputException.class,
                () -> SyntheticActivations.run(sae, shards, OPTIONS, out));
        assertTrue(e2.getMessage().contains("already holds shards"), e2.getMessage());
    }

    /** The payload of a version-1.0 .npy file of little-endian int32. */
    static int[] readI32(Path f) throws Exception {
        ByteBuffer b = payload(f);
        int[] out = new int[b.remaining() / 4];
        b.asIntBuffer().get(out);
        return out;
    }

    static float[] readF32(Path f) throws Exception {
        Shard s = Shard.open(f);
        float[] out = new float[(int) s.rows() * s.dIn()];
        s.readRows(0, (int) s.rows(), 1f, out, 0);
        return out;
    }

    private static ByteBuffer payload(Path f) throws Exception {
        byte[] all = Files.readAllBytes(f);
        assertEquals(1, all[6], "npy version 1.0");
        int headerLen = (all[8] & 0xff) | (all[9] & 0xff) << 8;
        String header = new String(all, 10, headerLen, java.nio.charset.StandardCharsets.US_ASCII);
        assertTrue(header.contains("'<i4'"), header);
        return ByteBuffer.wrap(all, 10 + headerLen, all.length - 10 - headerLen).slice().order(ByteOrder.LITTLE_ENDIAN);
    }
}
