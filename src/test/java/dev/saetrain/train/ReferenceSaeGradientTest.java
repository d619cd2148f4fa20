package dev.saetrain.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.saetrain.selftest.ParityAssert;
import dev.saetrain.model.Architecture;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Central finite differences (double, eps 1e-6) of {@link ReferenceSae}'s loss against its analytic
 * gradients, on tiny SAEs. Within one activation pattern the loss is a polynomial in each coordinate (the
 * relu decoder-norm term aside), so the central difference is exact up to O(eps^2) and roundoff
 * |L| 1e-16 / eps ~ 1e-10: tolerance atol 1e-8, rtol 1e-5. Coordinates whose perturbation changes the
 * TopK / AuxK picks or the sign of a pre-activation are skipped, and most coordinates must be checked.
 */
class ReferenceSaeGradientTest {
    private static final double EPS = 1e-6;
    private static final String[] NAMES = {"wEnc", "bEnc", "wDec", "bDec", "rMag", "bMag"};

    private static double[] gaussian(Random r, int n, double std) {
        double[] a = new double[n];
        for (int i = 0; i < n; i++) {
            a[i] = r.nextGaussian() * std;
        }
        return a;
    }

    private static ReferenceSae randomSae(Architecture arch, int d, int m, int k, int kAux, boolean applyBDec, long seed) {
        Random r = new Random(seed);
        return new ReferenceSae(arch, d, m, k, kAux, applyBDec, gaussian(r, m * d, 0.5), gaussian(r, m, 0.3),
                gaussian(r, m * d, 0.5), gaussian(r, d, 0.3));
    }

    /** Checks every coordinate whose perturbation keeps the activation pattern; at least 90 % must. */
    private static void checkGradients(ReferenceSae sae, double[] x, int batch, double lambda, boolean[] dead) {
        ReferenceSae.Result base = sae.run(x, batch, lambda, dead, null);
        assertTrue(base.loss() > 0, "loss");
        double[][] params = sae.params();
        int total = 0;
        int checked = 0;
        for (int t = 0; t < params.length; t++) {
            int n = params[t].length;
            double[] fd = new double[n];
            double[] an = new double[n];
            boolean[] skip = new boolean[n];
            for (int q = 0; q < n; q++) {
                total++;
                ReferenceSae plus = sae.copy();
                plus.params()[t][q] += EPS;
                ReferenceSae minus = sae.copy();
                minus.params()[t][q] -= EPS;
                ReferenceSae.Result rp = plus.run(x, batch, lambda, dead, base.resid());
                ReferenceSae.Result rm = minus.run(x, batch, lambda, dead, base.resid());
                if (!Arrays.equals(rp.pattern(), base.pattern()) || !Arrays.equals(rm.pattern(), base.pattern())) {
                    skip[q] = true;
                    continue;
                }
                checked++;
                fd[q] = (rp.loss() - rm.loss()) / (2 * EPS);
                an[q] = base.grads()[t][q];
            }
            ParityAssert.assertClose("d loss / d " + NAMES[t] + " (finite differences vs analytic)", fd, an, 1e-8, 1e-5);
            double norm = 0;
            for (int q = 0; q < n; q++) {
                norm += skip[q] ? 0 : an[q] * an[q];
            }
            assertTrue(norm > 1e-6, "the gradient of " + NAMES[t] + " must not vanish: " + norm);
        }
        assertTrue(checked >= 0.9 * total, "only " + checked + " of " + total + " coordinates kept the pattern");
    }

    @Test
    void topkWithAuxKGradientsMatchFiniteDifferences() {
        int d = 7;
        int m = 13;
        int batch = 5;
        ReferenceSae sae = randomSae(Architecture.TOPK, d, m, 3, 2, true, 201);
        double[] x = gaussian(new Random(202), batch * d, 1.0);
        boolean[] dead = new boolean[m];
        for (int i : new int[] {1, 4, 7, 9, 12}) {
            dead[i] = true;
        }
        ReferenceSae.Result r = sae.run(x, batch, 0, dead, null);
        assertTrue(r.aux() > 0, "AuxK must contribute: " + r.aux());
        checkGradients(sae, x, batch, 0, dead);
    }

    @Test
    void topkWithoutDeadLatentsAndRawInputGradientsMatchFiniteDifferences() {
        int d = 5;
        int m = 9;
        int batch = 6;
        ReferenceSae sae = randomSae(Architecture.TOPK, d, m, 3, 2, false, 203);
        double[] x = gaussian(new Random(204), batch * d, 1.0);
        assertTrue(sae.run(x, batch, 0, null, null).aux() == 0, "no AuxK without dead latents");
        checkGradients(sae, x, batch, 0, null);
    }

    @Test
    void reluGradientsMatchFiniteDifferences() {
        int d = 8;
        int m = 11;
        int batch = 4;
        ReferenceSae sae = randomSae(Architecture.RELU, d, m, 0, 0, true, 205);
        double[] x = gaussian(new Random(206), batch * d, 1.0);
        ReferenceSae.Result r = sae.run(x, batch, 0.7, null, null);
        assertTrue(r.sparsity() > 0, "the sparsity term must contribute");
        checkGradients(sae, x, batch, 0.7, null);
    }

    @Test
    void relu2023PlainL1GradientsMatchFiniteDifferences() {
        int d = 8;
        int m = 11;
        int batch = 4;
        ReferenceSae sae = randomSae(Architecture.RELU_2023, d, m, 0, 0, true, 207);
        double[] x = gaussian(new Random(208), batch * d, 1.0);
        ReferenceSae.Result r = sae.run(x, batch, 0.7, null, null);
        assertTrue(r.sparsity() > 0, "the L1 term must contribute");
        // Plain L1 is lambda / B times the sum of activations, independent of the decoder norms.
        ReferenceSae scaled = sae.copy();
        for (int q = 0; q < scaled.wDec.length; q++) {
            scaled.wDec[q] *= 3;
        }
        assertEquals(r.sparsity(), scaled.run(x, batch, 0.7, null, null).sparsity(), 1e-12);
        checkGradients(sae, x, batch, 0.7, null);
    }

    /** A tied SAE: one array for W_enc (latent-major) and W_dec. */
    private static ReferenceSae randomTied(Architecture arch, int d, int m, int k, int kAux, long seed) {
        Random r = new Random(seed);
        double[] w = gaussian(r, m * d, 0.5);
        return new ReferenceSae(arch, d, m, k, kAux, true, true, w, gaussian(r, m, 0.3), w, gaussian(r, d, 0.3));
    }

    @Test
    void tiedTopkWithAuxKGradientIsTheSumOfBothPathsAndMatchesFiniteDifferences() {
        int d = 7;
        int m = 13;
        int batch = 5;
        ReferenceSae sae = randomTied(Architecture.TOPK, d, m, 3, 2, 209);
        double[] x = gaussian(new Random(210), batch * d, 1.0);
        boolean[] dead = new boolean[m];
        for (int i : new int[] {0, 5, 8, 11}) {
            dead[i] = true;
        }
        ReferenceSae.Result r = sae.run(x, batch, 0, dead, null);
        assertTrue(r.aux() > 0, "AuxK must contribute: " + r.aux());
        assertSame(r.grads()[0], r.grads()[2], "one gradient for the shared matrix");
        // The summed gradient is that of the untied SAE with the same values: dW_enc + dW_dec.
        ReferenceSae untied = new ReferenceSae(Architecture.TOPK, d, m, 3, 2, true, sae.wDec.clone(), sae.bEnc,
                sae.wDec.clone(), sae.bDec);
        ReferenceSae.Result u = untied.run(x, batch, 0, dead, null);
        double[] sum = new double[m * d];
        for (int q = 0; q < sum.length; q++) {
            sum[q] = u.grads()[0][q] + u.grads()[2][q];
        }
        ParityAssert.assertClose("tied = encoder + decoder path", sum, r.grads()[2], 1e-14, 1e-12);
        checkGradients(sae, x, batch, 0, dead);
    }

    @Test
    void tiedReluGradientsMatchFiniteDifferences() {
        int d = 6;
        int m = 10;
        int batch = 4;
        ReferenceSae sae = randomTied(Architecture.RELU, d, m, 0, 0, 211);
        double[] x = gaussian(new Random(212), batch * d, 1.0);
        assertTrue(sae.run(x, batch, 0.5, null, null).sparsity() > 0, "the sparsity term must contribute");
        checkGradients(sae, x, batch, 0.5, null);
    }

    @Test
    void batchTopkWithAuxKGradientsMatchFiniteDifferences() {
        int d = 7;
        int m = 13;
        int batch = 5;
        ReferenceSae sae = randomSae(Architecture.BATCHTOPK, d, m, 3, 2, true, 207);
        double[] x = gaussian(new Random(208), batch * d, 1.0);
        boolean[] dead = new boolean[m];
        for (int i : new int[] {0, 3, 8, 11}) {
            dead[i] = true;
        }
        ReferenceSae.Result r = sae.run(x, batch, 0, dead, null);
        assertTrue(r.aux() > 0, "AuxK must contribute: " + r.aux());
        int[] perRow = new int[batch];
        for (int b = 0; b < batch; b++) {
            for (int i = 0; i < m; i++) {
                perRow[b] += r.pattern()[b * m + i] % 3 == 2 ? 1 : 0;
            }
        }
        assertTrue(Arrays.stream(perRow).sum() == 3 * batch && Arrays.stream(perRow).distinct().count() > 1,
                "k * batch picks, unevenly spread over rows: " + Arrays.toString(perRow));
        checkGradients(sae, x, batch, 0, dead);
    }

    private static ReferenceSae randomJumpRelu(int d, int m, long seed) {
        ReferenceSae sae = randomSae(Architecture.JUMPRELU, d, m, 0, 0, true, seed);
        Random r = new Random(seed + 1);
        sae.logThreshold = new double[m];
        for (int i = 0; i < m; i++) {
            sae.logThreshold[i] = Math.log(0.05 + 0.5 * r.nextDouble());
        }
        sae.bandwidth = 0.3;
        return sae;
    }

    /** The weights' gradients are true derivatives (the threshold only gates): finite differences apply. */
    @Test
    void jumpReluWeightGradientsMatchFiniteDifferences() {
        int d = 8;
        int m = 11;
        int batch = 4;
        ReferenceSae sae = randomJumpRelu(d, m, 209);
        double[] x = gaussian(new Random(210), batch * d, 1.0);
        ReferenceSae.Result r = sae.run(x, batch, 0.7, null, null);
        assertTrue(r.active() > 0 && r.active() < batch * m, "some but not all latents fire: " + r.active());
        assertTrue(Math.abs(r.sparsity() - 0.7 * r.active() / batch) < 1e-12, "L0 term");
        checkGradients(sae, x, batch, 0.7, null);
    }

    /**
     * The threshold's straight-through gradient is not a derivative of the loss; it is the derivative of the
     * surrogate in which the rectangle kernel's ramp replaces the step around the current theta
     * ({@link ReferenceSae#jumpReluSurrogateLoss}). Central differences of that surrogate in log theta against
     * the closed form; the ramp is linear inside its window, so only latents with an entry within the
     * difference step of a window edge would be inexact, and at these seeded values none is (else this fails).
     */
    @Test
    void jumpReluThresholdGradientIsTheRectangleKernelPseudoDerivative() {
        int d = 8;
        int m = 11;
        int batch = 6;
        double lambda = 0.7;
        ReferenceSae sae = randomJumpRelu(d, m, 211);
        double[] x = gaussian(new Random(212), batch * d, 1.0);
        ReferenceSae.Result r = sae.run(x, batch, lambda, null, null);
        double[] fd = new double[m];
        int inWindow = 0;
        for (int i = 0; i < m; i++) {
            double[] plus = sae.logThreshold.clone();
            plus[i] += EPS;
            double[] minus = sae.logThreshold.clone();
            minus[i] -= EPS;
            fd[i] = (sae.jumpReluSurrogateLoss(x, batch, lambda, plus) - sae.jumpReluSurrogateLoss(x, batch, lambda, minus))
                    / (2 * EPS);
            inWindow += r.dLogThreshold()[i] != 0 ? 1 : 0;
        }
        assertTrue(inWindow >= m / 2, "most latents need entries in the kernel window: " + inWindow);
        ParityAssert.assertClose("d surrogate / d log theta vs the pseudo-gradient", fd, r.dLogThreshold(), 1e-8, 1e-5);
    }

    /**
     * Matryoshka (Bussmann et al. 2025): batchtopk picks, mse summed over the prefixes [0, 2), [0, 5), [0, 13), and
     * AuxK. Finite differences of the nested loss against the reference's per-prefix gradients; the inner prefixes
     * must reconstruct worse than the full one, and their terms must be part of the loss.
     */
    @Test
    void matryoshkaWithAuxKGradientsMatchFiniteDifferences() {
        int d = 7;
        int m = 13;
        int batch = 5;
        ReferenceSae sae = randomSae(Architecture.MATRYOSHKA, d, m, 3, 2, true, 213);
        sae.groupEnds = new int[] {2, 5, 13};
        double[] x = gaussian(new Random(214), batch * d, 1.0);
        boolean[] dead = new boolean[m];
        for (int i : new int[] {1, 6, 9, 12}) {
            dead[i] = true;
        }
        ReferenceSae.Result r = sae.run(x, batch, 0, dead, null);
        assertTrue(r.aux() > 0, "AuxK must contribute: " + r.aux());
        assertTrue(r.sparsity() > 2 * r.mse(), "two inner prefixes, each worse than the full one: " + r.sparsity()
                + " vs " + r.mse());
        checkGradients(sae, x, batch, 0, dead);
    }

    /** With a single group the nested loss is batchtopk's, term for term and gradient for gradient. */
    @Test
    void matryoshkaWithOneGroupIsBatchTopk() {
        int d = 6;
        int m = 11;
        int batch = 4;
        ReferenceSae mk = randomSae(Architecture.MATRYOSHKA, d, m, 3, 2, true, 215);
        mk.groupEnds = new int[] {m};
        ReferenceSae btk = new ReferenceSae(Architecture.BATCHTOPK, d, m, 3, 2, true, mk.wEnc, mk.bEnc, mk.wDec, mk.bDec);
        double[] x = gaussian(new Random(216), batch * d, 1.0);
        boolean[] dead = new boolean[m];
        dead[3] = true;
        dead[7] = true;
        ReferenceSae.Result a = mk.run(x, batch, 0, dead, null);
        ReferenceSae.Result b = btk.run(x, batch, 0, dead, null);
        assertEquals(b.loss(), a.loss(), 1e-12);
        assertEquals(0, a.sparsity());
        for (int t = 0; t < 4; t++) {
            ParityAssert.assertClose("one group: d" + NAMES[t], b.grads()[t], a.grads()[t], 1e-12, 1e-12);
        }
    }

    @Test
    void gatedGradientsOfEveryParameterMatchFiniteDifferences() {
        int d = 8;
        int m = 11;
        int batch = 5;
        ReferenceSae sae = randomSae(Architecture.GATED, d, m, 0, 0, true, 213);
        Random r = new Random(214);
        sae.rMag = gaussian(r, m, 0.3);
        sae.bMag = gaussian(r, m, 0.3);
        double[] x = gaussian(new Random(215), batch * d, 1.0);
        ReferenceSae.Result res = sae.run(x, batch, 0.7, null, null);
        assertTrue(res.sparsity() > 0 && res.aux() > 0, "the sparsity and auxiliary terms must contribute");
        long open = Arrays.stream(res.pattern()).filter(p -> p > 0).count();
        assertTrue(res.active() > 0 && res.active() < open && open < batch * m,
                "some gates open, some open gates with pi_mag <= 0: " + res.active() + " firing, " + open + " open");
        assertEquals(6, res.grads().length, "W_gate, b_gate, W_dec, b_dec, r_mag, b_mag");
        checkGradients(sae, x, batch, 0.7, null);
    }

    /**
     * The frozen decoder is what the gradients assume: moving W_dec changes the sparsity and auxiliary terms of the
     * live loss, but a copy's (frozen at the original decoder) only through the mse.
     */
    @Test
    void gatedDecoderIsFrozenInTheSparsityAndAuxiliaryTerms() {
        int d = 6;
        int m = 9;
        int batch = 4;
        ReferenceSae sae = randomSae(Architecture.GATED, d, m, 0, 0, true, 217);
        sae.rMag = new double[m];
        sae.bMag = new double[m];
        double[] x = gaussian(new Random(218), batch * d, 1.0);
        ReferenceSae.Result base = sae.run(x, batch, 0.7, null, null);
        ReferenceSae moved = sae.copy();
        for (int q = 0; q < moved.wDec.length; q++) {
            moved.wDec[q] *= 1.5;
        }
        ReferenceSae.Result frozen = moved.run(x, batch, 0.7, null, null);
        assertEquals(base.sparsity(), frozen.sparsity(), 1e-12, "sparsity with the frozen decoder");
        assertEquals(base.aux(), frozen.aux(), 1e-12, "aux with the frozen decoder");
        moved.frozenWDec = moved.wDec;
        assertTrue(Math.abs(moved.run(x, batch, 0.7, null, null).aux() - base.aux()) > 1e-3,
                "the live decoder does move the aux term");
    }
}
