package dev.saetrain.analysis;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.saetrain.analysis.LogitStats.FeatureClass;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import javax.imageio.ImageIO;
import org.apache.commons.math3.stat.descriptive.DescriptiveStatistics;
import org.apache.commons.math3.stat.inference.MannWhitneyUTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LogitLensTest {
    @TempDir
    Path tmp;

    private final LensFixture fx = new LensFixture(7);

    private LogitLens.Result analyse() {
        return LogitLens.analyse(fx.sae, Unembedding.of(fx.wU, LensFixture.D, LensFixture.VOCAB), fx.vocab,
                TokenSet.builtIn(), LogitLens.Options.DEFAULT);
    }

    @Test
    void wUInColumnBlocksGivesTheWholeMatrixsStudy() {
        // Blocks of 7 columns (the last one shorter), as a W_U past 2 GiB is split into blocks of at most 2 GiB.
        Unembedding blocked = Unembedding.of(fx.wU, LensFixture.D, LensFixture.VOCAB, 7L * LensFixture.D);
        assertEquals(7, blocked.blockCols());
        assertTrue(blocked.blocks().length > 2 && LensFixture.VOCAB % 7 != 0, "a partial last block");
        for (int j = 0; j < LensFixture.D; j++) {
            for (int v = 0; v < LensFixture.VOCAB; v++) {
                assertEquals(fx.wU[j * LensFixture.VOCAB + v], blocked.get(j, v), 0);
            }
        }
        LogitLens.Result whole = analyse();
        LogitLens.Result r = LogitLens.analyse(fx.sae, blocked, fx.vocab, TokenSet.builtIn(), LogitLens.Options.DEFAULT);
        for (int i = 0; i < LensFixture.M; i++) {
            LogitStats a = whole.stats().get(i);
            LogitStats b = r.stats().get(i);
            assertEquals(a.mean(), b.mean(), 1e-6 * (1 + Math.abs(a.mean())), "latent " + i);
            assertEquals(a.std(), b.std(), 1e-6 * a.std(), "latent " + i);
            assertEquals(a.kurtosis(), b.kurtosis(), 1e-5 * Math.abs(a.kurtosis()), "latent " + i);
            assertArrayEquals(whole.topTokens()[i], r.topTokens()[i], "latent " + i);
            assertArrayEquals(whole.bottomTokens()[i], r.bottomTokens()[i], "latent " + i);
        }
    }

    @Test
    void momentsMatchCommonsMathBiasCorrectedEstimatesConvertedToPopulationOnes() {
        LogitLens.Result r = analyse();
        int n = LensFixture.VOCAB;
        for (int i = 0; i < LensFixture.M; i++) {
            DescriptiveStatistics ds = new DescriptiveStatistics(fx.row(i));
            // Commons Math gives the sample (bias-corrected) skewness G1 and excess kurtosis G2; convert to population.
            double g1 = ds.getSkewness() * (n - 2) / Math.sqrt((double) n * (n - 1));
            // population excess kurtosis, from G2 = ((n+1) g2 + 6)(n-1) / ((n-2)(n-3))
            double g2 = ((double) (n - 2) * (n - 3) / ((n + 1) * (n - 1.0))) * ds.getKurtosis() - 6.0 / (n + 1);
            double popStd = ds.getStandardDeviation() * Math.sqrt((n - 1.0) / n);
            LogitStats s = r.stats().get(i);
            assertEquals(ds.getMean(), s.mean(), 1e-6, "mean of latent " + i);
            assertEquals(popStd, s.std(), 1e-6 * popStd, "std of latent " + i);
            assertEquals(g1, s.skewness(), 1e-6 * Math.max(1, Math.abs(g1)), "skewness of latent " + i);
            assertEquals(g2 + 3, s.kurtosis(), 1e-6 * Math.max(1, g2 + 3), "kurtosis of latent " + i);
        }
    }

    @Test
    void plantedLatentsGetTheirClasses() {
        LogitLens.Result r = analyse();
        assertEquals(List.of(FeatureClass.PREDICTION, FeatureClass.SUPPRESSION, FeatureClass.PARTITION,
                FeatureClass.NONE), r.classes());
        assertTrue(r.stats().get(0).skewness() > 3 && r.stats().get(0).kurtosis() > 10, "prediction " + r.stats().get(0));
        assertTrue(r.stats().get(2).bimodality() > 0.9, "partition " + r.stats().get(2));
    }

    @Test
    void topAndBottomTokensAreThePlantedOnes() {
        LogitLens.Result r = analyse();
        int[] top0 = r.topTokens()[0].clone();
        Arrays.sort(top0);
        assertArrayEquals(new int[] {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, top0, "prediction latent promotes the digits");
        int[] bottom1 = r.bottomTokens()[1].clone();
        Arrays.sort(bottom1);
        assertArrayEquals(new int[] {10, 11, 12, 13, 14, 15, 16, 17, 18, 19}, bottom1, "suppression latent, punctuation");
        // ordering: the top token has the largest weight
        int best = 0;
        for (int v = 1; v < LensFixture.VOCAB; v++) {
            if (fx.wU[v] > fx.wU[best]) {
                best = v;
            }
        }
        assertEquals(best, r.topTokens()[0][0]);
    }

    @Test
    void plantedTokenSetsAreEnrichedAndTheNoiseLatentIsNot() {
        LogitLens.Result r = analyse();
        List<String> names = r.sets().stream().map(TokenSet::name).toList();
        int space = names.indexOf("leading_space");
        int digits = names.indexOf("digits");
        int punct = names.indexOf("punctuation");
        assertEquals(90, r.setSizes()[space]);
        assertEquals(10, r.setSizes()[digits]);
        assertEquals(10, r.setSizes()[punct]);
        assertTrue(r.q()[space][2] < 1e-10 && r.auc()[space][2] > 0.99, "partition latent separates leading spaces");
        assertTrue(r.q()[digits][0] < 1e-4 && r.auc()[digits][0] == 1.0, "prediction latent promotes digits");
        assertTrue(r.q()[punct][1] < 1e-4 && r.auc()[punct][1] == 0.0, "suppression latent suppresses punctuation");
        assertTrue(r.q()[space][3] > 0.05, "noise latent: leading space not enriched, q = " + r.q()[space][3]);
        assertTrue(r.q()[digits][3] > 0.05, "noise latent: digits not enriched, q = " + r.q()[digits][3]);
    }

    @Test
    void mannWhitneyPValueMatchesCommonsMath() {
        LogitLens.Result r = analyse();
        int space = 0; // leading_space is the first built-in set
        double[] row = fx.row(3);
        double[] in = new double[90];
        double[] out = new double[110];
        int a = 0;
        int b = 0;
        for (int v = 0; v < LensFixture.VOCAB; v++) {
            if (fx.vocab.token(v).startsWith(" ")) {
                in[a++] = row[v];
            } else {
                out[b++] = row[v];
            }
        }
        double expected = new MannWhitneyUTest().mannWhitneyUTest(in, out);
        assertEquals(expected, r.p()[space][3], 1e-9);
    }

    @Test
    void runWritesTablesSummaryAndLoadablePlots() throws Exception {
        Path out = tmp.resolve("analysis/x1/logit-lens");
        LogitLens.Result r = analyse();
        LogitLens.write(r, "x1", Unembedding.of(fx.wU, LensFixture.D, LensFixture.VOCAB), fx.vocab,
                LogitLens.Options.DEFAULT, out);
        List<String> lines = Files.readAllLines(out.resolve("latents.csv"));
        assertEquals(LensFixture.M + 1, lines.size());
        assertTrue(lines.get(1).startsWith("0,") && lines.get(1).contains(",prediction,"), lines.get(1));
        assertEquals(1 + LensFixture.M * TokenSet.builtIn().size(), Files.readAllLines(out.resolve("enrichment.csv")).size());
        JsonNode summary = new ObjectMapper().readTree(out.resolve("summary.json").toFile());
        assertEquals(1, summary.path("classes").path("prediction").asInt());
        assertEquals(1, summary.path("classes").path("partition").asInt());
        assertEquals(0, summary.path("examples").path("prediction").get(0).path("latent").asInt());
        for (String png : List.of("skew-kurtosis.png", "enrichment.png", "kurtosis.png")) {
            BufferedImage img = ImageIO.read(out.resolve(png).toFile());
            assertNotNull(img, png + " is not a readable image");
            assertEquals(Plots.WIDTH, img.getWidth());
        }
    }
}
