package dev.saetrain.train;

import static dev.saetrain.selftest.DeviceFixtures.up;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.saetrain.device.Device;
import dev.saetrain.device.cpu.CpuDevice;
import dev.saetrain.io.DType;
import dev.saetrain.model.Activations;
import dev.saetrain.model.SaeConfig;
import dev.saetrain.model.SaeInit;
import dev.saetrain.model.SaeWeights;
import dev.saetrain.synth.SynthOptions;
import dev.saetrain.synth.SyntheticData;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * The prefix structure matters (Bussmann et al. 2025, section 3: "forcing the smaller dictionaries to
 * independently reconstruct the inputs"). A matryoshka SAE and a batchtopk SAE with the same initial weights, k,
 * learning rate and batches are trained on toy data whose features fire with decaying frequency; on held-out rows,
 * in the inference form (f = pre * 1[pre > theta] with each SAE's own threshold), the reconstruction from the first
 * group alone (8 of 128 latents) must explain at least twice the variance for matryoshka that the same prefix of
 * batchtopk explains, whose latent order carries no meaning (measured: about 0.36 against 0.11). The price, the full reconstruction, must stay within a factor of
 * batchtopk's, and matryoshka's nested reconstructions must improve as groups are added.
 */
class MatryoshkaPrefixTest {
    private static final int D = 32;
    private static final int BATCH = 256;
    private static final int STEPS = 300;
    private static final SyntheticData DATA =
            new SyntheticData(new SynthOptions(D, 64, 3, 0.95, 1, 1, 11, DType.F32));

    /** Rows [first, first + n) of the toy data, [n, D]. */
    private static float[] rows(long first, int n) {
        float[] x = new float[n * D];
        float[] row = new float[D];
        for (int r = 0; r < n; r++) {
            DATA.row(first + r, row);
            System.arraycopy(row, 0, x, r * D, D);
        }
        return x;
    }

    private static SaeWeights train(SaeConfig cfg) {
        SaeWeights init = SaeInit.initial(cfg, 21, new float[D]);
        try (Device dev = new CpuDevice(2); Engine e = new Engine(dev, init, BATCH, 50L * BATCH)) {
            for (int t = 0; t < STEPS; t++) {
                e.step(up(dev, rows((long) t * BATCH, BATCH)), 3e-3, 0);
            }
            return e.weights();
        }
    }

    /** FVU of the inference-form reconstruction from latents [0, end) of w, on x [n, D], for each end. */
    private static double[] prefixFvu(SaeWeights w, float[] x, int n, int[] ends) {
        int m = w.config().nLatents();
        double[] mean = new double[D];
        for (int r = 0; r < n; r++) {
            for (int j = 0; j < D; j++) {
                mean[j] += x[r * D + j] / (double) n;
            }
        }
        double[] sse = new double[ends.length];
        double centered = 0;
        for (int r = 0; r < n; r++) {
            double[] pre = new double[m];
            for (int i = 0; i < m; i++) {
                double s = w.bEnc()[i];
                for (int j = 0; j < D; j++) {
                    s += (x[r * D + j] - w.bDec()[j]) * (double) w.wEnc().get((long) j * m + i);
                }
                pre[i] = s;
            }
            double[] f = Activations.apply(w.config(), pre, w.extras().get("threshold"));
            for (int q = 0; q < ends.length; q++) {
                for (int j = 0; j < D; j++) {
                    double s = w.bDec()[j];
                    for (int i = 0; i < ends[q]; i++) {
                        s += f[i] * w.wDec().get((long) i * D + j);
                    }
                    double e = s - x[r * D + j];
                    sse[q] += e * e;
                }
            }
            for (int j = 0; j < D; j++) {
                centered += (x[r * D + j] - mean[j]) * (x[r * D + j] - mean[j]);
            }
        }
        for (int q = 0; q < ends.length; q++) {
            sse[q] /= centered;
        }
        return sse;
    }

    @Test
    void theFirstGroupAloneReconstructsBetterThanTheSamePrefixOfBatchTopk() {
        SaeConfig mk = SaeConfig.matryoshka(D, 4, 3);
        assertEquals(java.util.List.of(8, 8, 16, 32, 64), mk.groups());
        int[] ends = mk.groupEnds();
        SaeWeights wMk = train(mk);
        SaeWeights wBtk = train(SaeConfig.batchTopk(D, 4, 3));
        int n = 2048;
        float[] held = rows(1_000_000, n);
        double[] fvuMk = prefixFvu(wMk, held, n, ends);
        double[] fvuBtk = prefixFvu(wBtk, held, n, ends);
        String both = "matryoshka " + Arrays.toString(fvuMk) + ", batchtopk " + Arrays.toString(fvuBtk);
        // About a third of the variance is in the 8 most frequent of the 64 features (p_i ~ 0.95^i); the first 8
        // latents of batchtopk hold whatever features they happened to learn.
        assertTrue(1 - fvuMk[0] > 2 * (1 - fvuBtk[0]), "first group alone explains twice the variance: " + both);
        for (int q = 1; q < ends.length; q++) {
            assertTrue(fvuMk[q] < fvuMk[q - 1], "nested reconstructions improve with each group: " + both);
        }
        int last = ends.length - 1;
        assertTrue(fvuMk[last] < 0.3 && fvuMk[last] < 2 * fvuBtk[last] + 0.02, "full dictionaries: " + both);
    }
}
