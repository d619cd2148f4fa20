package dev.saetrain.analysis;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.saetrain.error.UsageException;
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
 * A planted family at d = 64: the small dictionary holds directions a, b, c; the medium one splits a into two
 * children (0.9 a +- 0.436 u, u orthogonal to a), keeps b, and splits c into three (0.9 c + 0.436 v_k), its six rows in
 * a shuffled order; the large one is the medium one permuted plus a second copy of b, so every medium latent has one child
 * but b, which has two.
 */
class FamilyStudyTest {
    private static final int D = 64;

    @TempDir
    Path tmp;

    private static SaeWeights dict(float[] rows) {
        int m = rows.length / D;
        return SaeWeights.of(new SaeConfig(Architecture.TOPK, D, m, 1, 0, true), AnalysisFixtures.transpose(rows, m, D),
                new float[m], rows, new float[D]);
    }

    /** 0.9 p + sqrt(1 - 0.81) (the part of r orthogonal to p, normalised); p and r unit rows. */
    private static float[] child(float[] p, float[] r) {
        double dot = 0;
        for (int j = 0; j < D; j++) {
            dot += p[j] * r[j];
        }
        double[] o = new double[D];
        double n = 0;
        for (int j = 0; j < D; j++) {
            o[j] = r[j] - dot * p[j];
            n += o[j] * o[j];
        }
        float[] c = new float[D];
        for (int j = 0; j < D; j++) {
            c[j] = (float) (0.9 * p[j] + Math.sqrt(1 - 0.81) * o[j] / Math.sqrt(n));
        }
        return c;
    }

    private static float[] row(float[] rows, int i) {
        return java.util.Arrays.copyOfRange(rows, i * D, (i + 1) * D);
    }

    private static float[] stack(List<float[]> rows) {
        float[] out = new float[rows.size() * D];
        for (int i = 0; i < rows.size(); i++) {
            System.arraycopy(rows.get(i), 0, out, i * D, D);
        }
        return out;
    }

    @Test
    void recoversThePlantedSplitTreesAndTheFrontier() throws IOException {
        SplittableRandom rng = new SplittableRandom(9);
        float[] small = AnalysisFixtures.unitRows(rng, 3, D);
        float[] r = AnalysisFixtures.unitRows(rng, 5, D);
        float[] a1 = child(row(small, 0), row(r, 0));
        float[] a2 = child(row(small, 0), row(r, 1));
        float[] b1 = row(small, 1);
        float[] c1 = child(row(small, 2), row(r, 2));
        float[] c2 = child(row(small, 2), row(r, 3));
        float[] c3 = child(row(small, 2), row(r, 4));
        // Medium order: c2, a1, b1, c3, a2, c1 -> a's children {1, 4}, b's {2}, c's {0, 3, 5}.
        float[] medium = stack(List.of(c2, a1, b1, c3, a2, c1));
        // Large = medium reversed (large latent i < 6 is medium latent 5 - i), plus a second copy of b1 as latent 6.
        float[] large = stack(List.of(c1, a2, c3, b1, a1, c2, b1));
        List<FamilyStudy.Member> members = List.of(
                new FamilyStudy.Member("large", dict(large), 3, 0.6),
                new FamilyStudy.Member("small", dict(small), 2, 0.5),
                new FamilyStudy.Member("medium", dict(medium), 4, 0.3));
        Path out = tmp.resolve("family");
        FamilyStudy.Result res = FamilyStudy.run(members, out);

        assertEquals(List.of("small", "medium", "large"), res.members().stream().map(FamilyStudy.Member::name).toList());
        assertEquals(List.of(1, 4), res.children(0, 0));
        assertEquals(List.of(2), res.children(0, 1));
        assertEquals(List.of(0, 3, 5), res.children(0, 2));
        assertEquals(List.of(3, 6), res.children(1, 2), "b1 has its copy and its duplicate");
        for (int i = 0; i < 6; i++) {
            if (i != 2) {
                assertEquals(List.of(5 - i), res.children(1, i), "medium latent " + i);
            }
            assertEquals(1.0, res.nearestCos()[2][1][5 - i], 1e-6);
        }
        assertArrayEquals(new int[] {2, 0, 1, 2, 0, 2}, res.nearest()[1][0]);
        assertEquals(0.9, res.nearestCos()[1][0][1], 1e-6);
        assertEquals(1.0, res.nearestCos()[1][0][2], 1e-6);
        // Large against small directly: large latent i is medium latent 5 - i, whose parent is known.
        assertArrayEquals(new int[] {2, 0, 2, 1, 0, 2, 1}, res.nearest()[2][0]);
        // Frontier: small (L0 2, FVU 0.5) and medium (4, 0.3); large (3, 0.6) is dominated by small.
        assertArrayEquals(new boolean[] {true, true, false}, res.frontier());

        JsonNode trees = StudyFiles.JSON.readTree(out.resolve("split-trees.json").toFile());
        assertEquals(3, trees.size());
        assertEquals(2, trees.get(0).get("children").size());
        assertEquals(4, trees.get(0).get("children").get(1).get("latent").asInt());
        assertEquals(1, trees.get(0).get("children").get(1).get("children").get(0).get("latent").asInt());
        assertEquals(3, trees.get(2).get("children").size());
        JsonNode s = StudyFiles.JSON.readTree(out.resolve("summary.json").toFile());
        assertEquals(2, s.get("consecutive").get(0).get("parents_split").asInt());
        assertEquals(3, s.get("consecutive").get(0).get("max_children").asInt());
        assertEquals(1, s.get("consecutive").get(1).get("parents_split").asInt());
        List<String> frontier = Files.readAllLines(out.resolve("frontier.csv"));
        assertEquals("small,3,2.0,0.5,true", frontier.get(1));
        assertEquals("large,7,3.0,0.6,false", frontier.get(3));
        assertEquals(1 + 6 + 7 + 7, Files.readAllLines(out.resolve("nearest.csv")).size(), "medium->small, large->small, large->medium");
        assertTrue(Files.size(out.resolve("frontier.png")) > 1000);
    }

    @Test
    void dictionariesOfDifferentWidthsAreNotAFamily() {
        SaeWeights a = dict(AnalysisFixtures.unitRows(new SplittableRandom(1), 2, D));
        float[] rows = new float[3 * 8];
        SaeWeights b = SaeWeights.of(new SaeConfig(Architecture.TOPK, 8, 3, 1, 0, true), new float[24], new float[3],
                rows, new float[8]);
        UsageException e = assertThrows(UsageException.class, () -> FamilyStudy.compute(List.of(
                new FamilyStudy.Member("a", a, Double.NaN, Double.NaN),
                new FamilyStudy.Member("b", b, Double.NaN, Double.NaN))));
        assertTrue(e.getMessage().contains("d_in"), e.getMessage());
    }
}
