package dev.saetrain.analysis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.saetrain.export.ExportedSae;
import dev.saetrain.model.Architecture;
import dev.saetrain.model.SaeConfig;
import dev.saetrain.model.SaeWeights;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The host encoder gives what the exported files give when run as SAELens documents them ({@link ExportedSae}: read
 * from the files alone, plain loops in double, TopK by repeated selection), for every architecture.
 */
class SaeEncoderTest {
    @TempDir
    Path tmp;

    /** {@code w} written as a SAELens folder and read back by the test's own reader. */
    private ExportedSae reference(SaeWeights w, String name) throws IOException {
        return ExportedSae.saeLens(AnalysisFixtures.saeDir(tmp.resolve(name), w));
    }

    private static int l0(double[] f) {
        int n = 0;
        for (double v : f) {
            n += v != 0 ? 1 : 0;
        }
        return n;
    }

    @Test
    void matchesTheReferenceForwardPassForEveryArchitecture() throws IOException {
        int d = 48;
        int seed = 3;
        for (Architecture arch : Architecture.values()) {
            for (boolean applyBDec : new boolean[] {true, false}) {
                SaeConfig base = SaeConfig.of(arch, d, 2, 5, 0.5);
                SaeConfig cfg = new SaeConfig(arch, d, 101, base.k(), base.l1(), applyBDec, false, arch
                        == Architecture.MATRYOSHKA ? SaeConfig.defaultGroups(101) : java.util.List.of());
                SaeWeights w = AnalysisFixtures.random(cfg, seed++);
                SaeEncoder enc = new SaeEncoder(w);
                SaeEncoder.Scratch s = enc.scratch();
                ExportedSae file = reference(w, arch.cliName() + "-" + applyBDec);
                SplittableRandom rng = new SplittableRandom(seed);
                double[] xHat = new double[d];
                int activeRows = 0;
                for (int r = 0; r < 40; r++) {
                    float[] x = AnalysisFixtures.uniform(rng, d, 1);
                    int n = enc.encode(x, 0, s);
                    double[] f = file.latents(x);
                    double[] ref = file.decode(f);
                    int l0 = l0(f);
                    String what = arch.cliName() + " applyBDec=" + applyBDec + " row " + r;
                    assertEquals(l0, n, what);
                    for (int a = 1; a < n; a++) {
                        assertTrue(s.idx[a - 1] < s.idx[a], what + ": latents in increasing order");
                    }
                    enc.decode(s, n, xHat);
                    for (int j = 0; j < d; j++) {
                        assertEquals(ref[j], xHat[j], 1e-5, what + " x_hat[" + j + "]");
                    }
                    activeRows += n > 0 ? 1 : 0;
                }
                assertTrue(activeRows > 0, arch.cliName() + ": some rows must activate latents");
            }
        }
    }

    @Test
    void topkKeepsOnlyPositiveValuesAndBreaksTiesByLowerIndex() {
        int d = 2;
        int m = 5;
        // pre_i = x . W_enc[:, i] with x = (1, 0): pre = (0.5, 2, 2, -1, 2); k = 2 keeps latents 1 and 2.
        float[] wEnc = {0.5f, 2, 2, -1, 2, 0, 0, 0, 0, 0};
        SaeConfig cfg = new SaeConfig(Architecture.TOPK, d, m, 2, 0, false);
        SaeWeights w = SaeWeights.of(cfg, wEnc, new float[m], new float[m * d], new float[d]);
        SaeEncoder enc = new SaeEncoder(w);
        SaeEncoder.Scratch s = enc.scratch();
        assertEquals(2, enc.encode(new float[] {1, 0}, 0, s));
        assertEquals(1, s.idx[0]);
        assertEquals(2, s.idx[1]);
        // x = (-1, 0): only latent 3 is positive (pre = 1); TopK(2) then ReLU leaves one active latent.
        assertEquals(1, enc.encode(new float[] {-1, 0}, 0, s));
        assertEquals(3, s.idx[0]);
        assertEquals(1.0, s.val[0], 0);
    }

    /** The CSR codes of a block of rows (what the synthetic study uses) decode to the reference, awkward sizes. */
    @Test
    void blockCodesDecodeToTheReferenceReconstruction() throws IOException {
        int d = 24;
        int rows = 37;
        for (Architecture arch : Architecture.values()) {
            SaeConfig cfg = SaeConfig.of(arch, d, 2, 5, 0.5);
            int m = cfg.nLatents();
            SplittableRandom r = new SplittableRandom(arch.ordinal() + 1);
            Map<String, float[]> extras = new LinkedHashMap<>();
            if (arch == Architecture.GATED) {
                extras.put("b_mag", uniformBlock(r, m, 0.2));
                extras.put("r_mag", uniformBlock(r, m, 0.3));
            } else if (arch.exportsThreshold()) {
                float[] th = uniformBlock(r, m, 0.2);
                for (int i = 0; i < m; i++) {
                    th[i] = Math.abs(th[i]);
                }
                extras.put("threshold", th);
            }
            SaeWeights w = SaeWeights.of(cfg, uniformBlock(r, d * m, 0.3), uniformBlock(r, m, 0.1), uniformBlock(r, m * d, 0.3),
                    uniformBlock(r, d, 0.1), extras);
            float[] x = uniformBlock(r, rows * d, 1);
            SaeEncoder.Codes c = new SaeEncoder(w).encode(x, rows);
            ExportedSae file = reference(w, arch.cliName());
            float[] row = new float[d];
            for (int i = 0; i < rows; i++) {
                System.arraycopy(x, i * d, row, 0, d);
                double[] f = file.latents(row);
                double[] ref = file.decode(f);
                int l0 = l0(f);
                assertEquals(l0, c.l0(i), arch + " row " + i + " L0");
                for (int j = 0; j < d; j++) {
                    double v = w.bDec()[j];
                    for (int e = c.rowPtr()[i]; e < c.rowPtr()[i + 1]; e++) {
                        v += c.val()[e] * w.wDec().get((long) c.idx()[e] * d + j);
                    }
                    assertEquals(ref[j], v, 1e-4, arch + " row " + i + " column " + j);
                }
            }
        }
    }

    private static float[] uniformBlock(SplittableRandom r, int n, double scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) ((2 * r.nextDouble() - 1) * scale);
        }
        return a;
    }
}
