package dev.saetrain.train;

import static dev.saetrain.selftest.DeviceFixtures.gaussian;
import static dev.saetrain.selftest.DeviceFixtures.up;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.saetrain.device.Device;
import dev.saetrain.device.FloatBuf;
import dev.saetrain.device.SparseSwitch;
import dev.saetrain.selftest.ParityAssert;
import dev.saetrain.device.cpu.CpuDevice;
import dev.saetrain.model.Architecture;
import dev.saetrain.model.SaeConfig;
import dev.saetrain.model.SaeInit;
import dev.saetrain.model.SaeWeights;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * {@link Engine#computeGradients} on CpuDevice against {@link ReferenceSae} (double, itself checked by finite
 * differences): every gradient (flag-0 rows as zero; unit-norm decoders' gradient projected for the constraint)
 * and the step's statistics, for topk (no dead latents; dead latents with AuxK), relu and relu-2023 (the dense
 * warm-up path and the sparse path), and tied topk and relu (the shared matrix's gradient is the projected sum
 * of both paths; EngineFixtures reads it into both the wEnc and wDec places).
 *
 * <p>Tolerance: the engine computes in fp32 (pre from d = 48 products, err, then sums over 33 rows), so each
 * gradient element is good to ~1e-6 of the tensor's scale; atol = 1e-5 * max|reference tensor|, rtol 1e-4.
 * Loss terms and the gradient norm, summed in double from fp32 parts: rtol 1e-5 (1e-4 for the norm).
 */
class EngineGradientParityTest {
    private static final int BATCH = 33;
    private static final int D = 48;
    private static final int M = 257;
    /** The switch the CPU device answers (the densities below name which side of it each case lies). */
    private static final SparseSwitch CPU_SWITCH = SparseSwitch.MEASURED_ON_CPU;
    private static final String[] NAMES = {"wEnc", "bEnc", "wDec", "bDec", "rMag", "bMag"};

    private static void assertGradients(String tag, double[][] want, double[][] got) {
        for (int t = 0; t < want.length; t++) {
            ParityAssert.assertClose(tag + " d" + NAMES[t], want[t], got[t], 1e-5 * EngineFixtures.maxAbs(want[t]), 1e-4);
        }
    }

    /** The reference's gradients as the engine leaves them: the topk decoder gradient projected. */
    private static double[][] expectedGrads(ReferenceSae ref, ReferenceSae.Result r) {
        double[][] g = r.grads().clone();
        if (ref.arch.unitNormDecoder() || ref.tied) {
            g[2] = ReferenceSae.projectUnitNorm(g[2], ref.wDec, ref.nLatents, ref.dIn);
            if (ref.tied) {
                g[0] = g[2];
            }
        }
        return g;
    }

    private static void assertStats(String tag, ReferenceSae ref, ReferenceSae.Result r, StepStats s, double[][] want) {
        assertEquals(BATCH, s.rows(), tag + " rows");
        ParityAssert.assertClose(tag + " mse", r.mse(), s.mse(), 0, 1e-5);
        ParityAssert.assertClose(tag + " sparsityLoss", r.sparsity(), s.sparsityLoss(), 1e-12, 1e-5);
        ParityAssert.assertClose(tag + " auxLoss", r.aux(), s.auxLoss(), 1e-12, 1e-5);
        // Tied: the shared matrix is one parameter, counted once in the norm.
        double[][] params = ref.tied ? new double[][] {want[1], want[2], want[3]} : want;
        double logThresholdSq = r.dLogThreshold() == null ? 0 : Arrays.stream(r.dLogThreshold()).map(v -> v * v).sum();
        ParityAssert.assertClose(tag + " gradNorm", Math.sqrt(EngineFixtures.sumSquares(params) + logThresholdSq),
                s.gradNorm(), 0, 1e-4);
        assertEquals(r.active(), s.activeSum(), tag + " active pairs");
    }

    private static void check(String tag, Device dev, Engine e, StepStats s, ReferenceSae ref, ReferenceSae.Result r) {
        double[][] want = expectedGrads(ref, r);
        assertGradients(tag, want, EngineFixtures.grads(dev, e));
        assertStats(tag, ref, r, s, want);
    }

    private static float[] bDec(long seed) {
        return gaussian(seed, D, 0.2);
    }

    @Test
    void topkGradientsMatchReference() {
        SaeConfig cfg = new SaeConfig(Architecture.TOPK, D, M, 7, 0, true);
        SaeWeights init = SaeInit.initial(cfg, 301, bDec(302));
        float[] x = gaussian(303, BATCH * D, 1.0);
        try (Device dev = new CpuDevice(3); Engine e = new Engine(dev, init, BATCH, 10_000_000)) {
            StepStats s = e.computeGradients(up(dev, x), 0);
            ReferenceSae ref = ReferenceSae.of(init);
            ReferenceSae.Result r = ref.run(ReferenceSae.toDouble(x), BATCH, 0, null, null);
            assertEquals(0, s.dead(), "no latent is dead at step 1");
            check("topk step 1", dev, e, s, ref, r);
        }
    }

    @Test
    void topkWithDeadLatentsMatchesReference() {
        // deadTokens = batch: a latent that did not fire at step 1 is dead at step 2, and AuxK runs on those
        // (the dead set as it stood before step 2's batch, as in Gao et al. and sparsify).
        SaeConfig cfg = new SaeConfig(Architecture.TOPK, D, M, 7, 0, true);
        SaeWeights init = SaeInit.initial(cfg, 311, bDec(312));
        float[] x1 = gaussian(313, BATCH * D, 1.0);
        float[] x2 = gaussian(314, BATCH * D, 1.0);
        try (Device dev = new CpuDevice(3); Engine e = new Engine(dev, init, BATCH, BATCH)) {
            e.computeGradients(up(dev, x1), 0);
            int[] fired = e.takeFireCounts();
            boolean[] dead = new boolean[M];
            int nDead = 0;
            for (int i = 0; i < M; i++) {
                dead[i] = fired[i] == 0;
                nDead += dead[i] ? 1 : 0;
            }
            assertTrue(nDead > cfg.kAux(), "the case needs more dead latents than k_aux: " + nDead);
            StepStats s = e.computeGradients(up(dev, x2), 0);
            assertEquals(nDead, s.dead(), "dead latents at step 2");
            ReferenceSae ref = ReferenceSae.of(init);
            ReferenceSae.Result r = ref.run(ReferenceSae.toDouble(x2), BATCH, 0, dead, null);
            assertTrue(r.aux() > 0, "AuxK must contribute");
            check("topk step 2 (AuxK)", dev, e, s, ref, r);
        }
    }

    @Test
    void reluDensePathGradientsMatchReference() {
        double lambda = 3.0;
        SaeConfig cfg = new SaeConfig(Architecture.RELU, D, M, 0, lambda, true);
        SaeWeights init = SaeInit.initial(cfg, 321, bDec(322));
        float[] x = gaussian(323, BATCH * D, 1.0);
        try (Device dev = new CpuDevice(3); Engine e = new Engine(dev, init, BATCH, 10_000_000)) {
            StepStats s = e.computeGradients(up(dev, x), lambda);
            assertTrue(s.dense(), "step 1 of relu takes the dense path");
            ReferenceSae ref = ReferenceSae.of(init);
            check("relu dense", dev, e, s, ref, ref.run(ReferenceSae.toDouble(x), BATCH, lambda, null, null));
        }
    }

    @Test
    void reluSparsePathGradientsMatchReference() {
        // b_enc = -0.21 against pre-activations of std ~0.1 (decoder rows of norm 0.1, unit-variance inputs):
        // about 2 % of pairs fire, below the CPU's SparseSwitch.relu(), so step 2 takes the sparse path.
        reluSparsePath(-0.21f, 0, CPU_SWITCH.jumpRelu());
    }

    /**
     * About 5 % of pairs fire (b_enc = -0.165): between the switch of jumprelu and gated and relu's, where relu's
     * sparse step is still the faster one; more entries per latent than above.
     */
    @Test
    void reluTakesTheSparsePathUpToItsOwnSwitch() {
        reluSparsePath(-0.165f, CPU_SWITCH.jumpRelu(), CPU_SWITCH.relu());
    }

    /** Step 1 (dense) at the density b_enc gives, which must lie in (lo, hi); step 2 sparse; both match the reference. */
    private void reluSparsePath(float bEncValue, double lo, double hi) {
        double lambda = 3.0;
        SaeConfig cfg = new SaeConfig(Architecture.RELU, D, M, 0, lambda, true);
        SaeWeights w0 = SaeInit.initial(cfg, 331, bDec(332));
        float[] bEnc = new float[M];
        Arrays.fill(bEnc, bEncValue);
        SaeWeights init = new SaeWeights(cfg, w0.wEnc(), bEnc, w0.wDec(), w0.bDec());
        float[] x1 = gaussian(333, BATCH * D, 1.0);
        float[] x2 = gaussian(334, BATCH * D, 1.0);
        ReferenceSae ref = ReferenceSae.of(init);
        try (Device dev = new CpuDevice(3); Engine e = new Engine(dev, init, BATCH, 10_000_000)) {
            StepStats s1 = e.computeGradients(up(dev, x1), lambda);
            assertTrue(s1.dense(), "step 1 takes the dense path");
            check("relu step 1 (dense, low density)", dev, e, s1, ref,
                    ref.run(ReferenceSae.toDouble(x1), BATCH, lambda, null, null));
            double density = s1.activeSum() / ((double) BATCH * M);
            assertTrue(density > lo && density < hi, "density must fall in (" + lo + ", " + hi + "): " + density);
            FloatBuf xb = up(dev, x2);
            StepStats s2 = e.computeGradients(xb, lambda);
            assertFalse(s2.dense(), "step 2 takes the sparse path");
            check("relu step 2 (sparse)", dev, e, s2, ref, ref.run(ReferenceSae.toDouble(x2), BATCH, lambda, null, null));
        }
    }

    @Test
    void deadLatentFiringInThisBatchStillTakesPartInAuxK() {
        // d = 8, m = 9, k = 8: latents 0..7 are the unit axes, latent 8 the unit diagonal. Step 1's rows have
        // their smallest coordinate on axis 0, so latent 0 alone stays silent and is dead at step 2
        // (deadTokens = batch); step 2's rows put axis 0 first, so latent 0 fires there and is also the
        // single AuxK pick.
        int d = 8;
        int m = 9;
        int batch = 2;
        SaeConfig cfg = new SaeConfig(Architecture.TOPK, d, m, 8, 0, true);
        float[] wDec = new float[m * d];
        for (int j = 0; j < d; j++) {
            wDec[j * d + j] = 1f;
            wDec[8 * d + j] = (float) (1 / Math.sqrt(d));
        }
        float[] wEnc = new float[d * m];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < d; j++) {
                wEnc[j * m + i] = wDec[i * d + j];
            }
        }
        SaeWeights init = SaeWeights.of(cfg, wEnc, new float[m], wDec, new float[d]);
        float[] x1 = {1, 2, 3, 4, 5, 6, 7, 8, 1.5f, 3, 2, 5, 4, 7, 6, 8};
        float[] x2 = {8, 7, 6, 5, 4, 3, 2, 1, 9, 2, 6, 3, 5, 1, 4, 7};
        try (Device dev = new CpuDevice(1); Engine e = new Engine(dev, init, batch, batch)) {
            e.computeGradients(up(dev, x1), 0);
            int[] fired = e.takeFireCounts();
            assertEquals(0, fired[0], "latent 0 is silent at step 1");
            boolean[] dead = new boolean[m];
            for (int i = 0; i < m; i++) {
                dead[i] = fired[i] == 0;
            }
            StepStats s = e.computeGradients(up(dev, x2), 0);
            ReferenceSae ref = ReferenceSae.of(init);
            ReferenceSae.Result r = ref.run(ReferenceSae.toDouble(x2), batch, 0, dead, null);
            assertTrue(r.aux() > 0, "AuxK must contribute");
            double[][] want = expectedGrads(ref, r);
            for (int t = 0; t < want.length; t++) {
                ParityAssert.assertClose("dead latent firing now: d" + NAMES[t], want[t],
                        EngineFixtures.grads(dev, e)[t], 1e-5 * EngineFixtures.maxAbs(want[t]), 1e-4);
            }
            ParityAssert.assertClose("auxLoss", r.aux(), s.auxLoss(), 1e-12, 1e-5);
        }
    }

    /** An init of {@code cfg} with b_enc = bEnc everywhere (low density: the relu sparse path). */
    private static SaeWeights withBEnc(SaeConfig cfg, long seed, float bEnc) {
        SaeWeights w0 = SaeInit.initial(cfg, seed, bDec(seed + 1));
        float[] be = new float[cfg.nLatents()];
        Arrays.fill(be, bEnc);
        return new SaeWeights(cfg, w0.wEnc(), be, w0.wDec(), w0.bDec());
    }

    /** Steps 1 (dense) and 2 (sparse, when {@code sparseBEnc} makes density low) of a relu-family SAE. */
    private static void reluTwoSteps(String tag, SaeConfig cfg, SaeWeights init, double lambda, boolean expectSparse) {
        float[] x1 = gaussian(341, BATCH * D, 1.0);
        float[] x2 = gaussian(342, BATCH * D, 1.0);
        ReferenceSae ref = ReferenceSae.of(init);
        try (Device dev = new CpuDevice(3); Engine e = new Engine(dev, init, BATCH, 10_000_000)) {
            StepStats s1 = e.computeGradients(up(dev, x1), lambda);
            assertTrue(s1.dense(), tag + ": step 1 takes the dense path");
            check(tag + " step 1 (dense)", dev, e, s1, ref, ref.run(ReferenceSae.toDouble(x1), BATCH, lambda, null, null));
            StepStats s2 = e.computeGradients(up(dev, x2), lambda);
            assertEquals(!expectSparse, s2.dense(), tag + ": step 2 path");
            check(tag + " step 2", dev, e, s2, ref, ref.run(ReferenceSae.toDouble(x2), BATCH, lambda, null, null));
        }
    }

    @Test
    void relu2023GradientsMatchReferenceOnBothPaths() {
        SaeConfig cfg = new SaeConfig(Architecture.RELU_2023, D, M, 0, 3.0, true);
        reluTwoSteps("relu-2023 dense", cfg, SaeInit.initial(cfg, 351, bDec(352)), 3.0, false);
        // Unit-norm rows and unit-variance inputs: pre-activations of std ~1; b_enc = -2.1 leaves ~2 % firing.
        reluTwoSteps("relu-2023 sparse", cfg, withBEnc(cfg, 353, -2.1f), 3.0, true);
    }

    @Test
    void tiedReluGradientsMatchReferenceOnBothPaths() {
        SaeConfig cfg = new SaeConfig(Architecture.RELU, D, M, 0, 3.0, true, true);
        reluTwoSteps("tied relu dense", cfg, SaeInit.initial(cfg, 361, bDec(362)), 3.0, false);
        reluTwoSteps("tied relu sparse", cfg, withBEnc(cfg, 363, -2.1f), 3.0, true);
    }

    @Test
    void tiedTopkWithAuxKMatchesReference() {
        SaeConfig cfg = new SaeConfig(Architecture.TOPK, D, M, 7, 0, true, true);
        SaeWeights init = SaeInit.initial(cfg, 371, bDec(372));
        float[] x1 = gaussian(373, BATCH * D, 1.0);
        float[] x2 = gaussian(374, BATCH * D, 1.0);
        try (Device dev = new CpuDevice(3); Engine e = new Engine(dev, init, BATCH, BATCH)) {
            assertNull(e.shared().wEnc, "a tied engine holds one matrix");
            ReferenceSae ref = ReferenceSae.of(init);
            StepStats s1 = e.computeGradients(up(dev, x1), 0);
            check("tied topk step 1", dev, e, s1, ref, ref.run(ReferenceSae.toDouble(x1), BATCH, 0, null, null));
            int[] fired = e.takeFireCounts();
            boolean[] dead = new boolean[M];
            for (int i = 0; i < M; i++) {
                dead[i] = fired[i] == 0;
            }
            StepStats s2 = e.computeGradients(up(dev, x2), 0);
            ReferenceSae.Result r = ref.run(ReferenceSae.toDouble(x2), BATCH, 0, dead, null);
            assertTrue(r.aux() > 0, "AuxK must contribute");
            check("tied topk step 2 (AuxK)", dev, e, s2, ref, r);
        }
    }

    /**
     * apply_b_dec_to_input off (--apply-b-dec-to-input false): pre = x W_enc + b_enc, and b_dec's gradient has no
     * centring term. b_dec starts away from zero (bDec: std 0.2), so an engine that still subtracted it would miss.
     */
    @Test
    void withoutBDecOnTheInputGradientsMatchReference() {
        SaeConfig relu = new SaeConfig(Architecture.RELU, D, M, 0, 3.0, false);
        reluTwoSteps("relu, x not centred, dense", relu, SaeInit.initial(relu, 401, bDec(402)), 3.0, false);
        reluTwoSteps("relu, x not centred, sparse", relu, withBEnc(relu, 403, -0.21f), 3.0, true);
        SaeConfig gated = SaeConfig.gated(D, 1, 3.0).withNLatents(M).withApplyBDecToInput(false);
        reluTwoSteps("gated, x not centred, dense", gated, gatedInit(gated, 405, 0f), 3.0, false);
        SaeConfig topk = new SaeConfig(Architecture.TOPK, D, M, 7, 0, false);
        SaeWeights init = SaeInit.initial(topk, 407, bDec(408));
        float[] x = gaussian(409, BATCH * D, 1.0);
        try (Device dev = new CpuDevice(3); Engine e = new Engine(dev, init, BATCH, 10_000_000)) {
            StepStats s = e.computeGradients(up(dev, x), 0);
            ReferenceSae ref = ReferenceSae.of(init);
            check("topk, x not centred", dev, e, s, ref, ref.run(ReferenceSae.toDouble(x), BATCH, 0, null, null));
        }
    }

    @Test
    void batchTopkGradientsMatchReference() {
        SaeConfig cfg = new SaeConfig(Architecture.BATCHTOPK, D, M, 7, 0, true);
        SaeWeights init = SaeInit.initial(cfg, 341, bDec(342));
        float[] x = gaussian(343, BATCH * D, 1.0);
        try (Device dev = new CpuDevice(3); Engine e = new Engine(dev, init, BATCH, 10_000_000)) {
            StepStats s = e.computeGradients(up(dev, x), 0);
            ReferenceSae ref = ReferenceSae.of(init);
            ReferenceSae.Result r = ref.run(ReferenceSae.toDouble(x), BATCH, 0, null, null);
            assertEquals(7L * BATCH, r.active(), "k * B positive picks");
            check("batchtopk step 1", dev, e, s, ref, r);
        }
    }

    @Test
    void batchTopkWithDeadLatentsMatchesReferenceAndTracksTheThreshold() {
        SaeConfig cfg = new SaeConfig(Architecture.BATCHTOPK, D, M, 7, 0, true);
        SaeWeights init = SaeInit.initial(cfg, 351, bDec(352));
        float[] x1 = gaussian(353, BATCH * D, 1.0);
        float[] x2 = gaussian(354, BATCH * D, 1.0);
        try (Device dev = new CpuDevice(3); Engine e = new Engine(dev, init, BATCH, BATCH)) {
            e.computeGradients(up(dev, x1), 0);
            float theta1 = EngineFixtures.batchTopkThreshold(e);
            ReferenceSae ref = ReferenceSae.of(init);
            assertEquals(smallestKept(ref, x1), theta1, 1e-5 * theta1, "the first batch sets theta");
            int[] fired = e.takeFireCounts();
            boolean[] dead = new boolean[M];
            for (int i = 0; i < M; i++) {
                dead[i] = fired[i] == 0;
            }
            StepStats s = e.computeGradients(up(dev, x2), 0);
            assertTrue(s.dead() > cfg.kAux(), "the case needs more dead latents than k_aux: " + s.dead());
            ReferenceSae.Result r = ref.run(ReferenceSae.toDouble(x2), BATCH, 0, dead, null);
            assertTrue(r.aux() > 0, "AuxK must contribute");
            check("batchtopk step 2 (AuxK)", dev, e, s, ref, r);
            double want = 0.99 * theta1 + 0.01 * smallestKept(ref, x2);
            assertEquals(want, EngineFixtures.batchTopkThreshold(e), 1e-5 * want, "theta is an EMA at rate 0.01");
        }
    }

    /** The smallest activation the reference keeps on x. */
    private static float smallestKept(ReferenceSae ref, float[] x) {
        ReferenceSae.Result r = ref.run(ReferenceSae.toDouble(x), BATCH, 0, null, null);
        double[] pre = new double[BATCH * M];
        double min = Double.POSITIVE_INFINITY;
        double[] xd = ReferenceSae.toDouble(x);
        for (int b = 0; b < BATCH; b++) {
            for (int i = 0; i < M; i++) {
                if (r.pattern()[b * M + i] == 2) {
                    double s = ref.bEnc[i];
                    for (int j = 0; j < D; j++) {
                        s += (xd[b * D + j] - ref.bDec[j]) * ref.wEnc[i * D + j];
                    }
                    pre[b * M + i] = s;
                    min = Math.min(min, s);
                }
            }
        }
        return (float) min;
    }

    private static void checkJumpRelu(String tag, Device dev, Engine e, StepStats s, ReferenceSae ref,
                                      ReferenceSae.Result r) {
        check(tag, dev, e, s, ref, r);
        double[] want = r.dLogThreshold();
        double[] got = EngineFixtures.allGrads(dev, e)[4];
        assertTrue(Arrays.stream(want).filter(v -> v != 0).count() > M / 4,
                tag + ": entries must fall in the kernel window for many latents");
        ParityAssert.assertClose(tag + " dLogThreshold", want, got, 1e-5 * EngineFixtures.maxAbs(want), 1e-4);
    }

    @Test
    void jumpReluDensePathGradientsMatchReference() {
        double lambda = 2.0;
        SaeConfig cfg = new SaeConfig(Architecture.JUMPRELU, D, M, 0, lambda, true);
        SaeWeights init = SaeInit.initial(cfg, 361, bDec(362));
        float[] x = gaussian(363, BATCH * D, 1.0);
        try (Device dev = new CpuDevice(3); Engine e = new Engine(dev, init, BATCH, 10_000_000)) {
            StepStats s = e.computeGradients(up(dev, x), lambda);
            assertTrue(s.dense(), "step 1 of jumprelu takes the dense path");
            ReferenceSae ref = ReferenceSae.of(init);
            ReferenceSae.Result r = ref.run(ReferenceSae.toDouble(x), BATCH, lambda, null, null);
            checkJumpRelu("jumprelu dense", dev, e, s, ref, r);
        }
    }

    @Test
    void jumpReluSparsePathGradientsMatchReference() {
        // theta = 0.21 for every latent against pre-activations of std ~0.1: about 2 % of pairs fire, below
        // the CPU's SparseSwitch.jumpRelu(), so step 2 takes the sparse path; the bandwidth (0.001 sqrt(48)) still
        // finds entries near the threshold.
        double lambda = 2.0;
        SaeConfig cfg = new SaeConfig(Architecture.JUMPRELU, D, M, 0, lambda, true);
        SaeWeights w0 = SaeInit.initial(cfg, 371, bDec(372));
        float[] th = new float[M];
        Arrays.fill(th, 0.21f);
        SaeWeights init = new SaeWeights(cfg, w0.wEnc(), w0.bEnc(), w0.wDec(), w0.bDec(), java.util.Map.of("threshold", th));
        float[] x1 = gaussian(373, BATCH * D, 1.0);
        float[] x2 = gaussian(374, BATCH * D, 1.0);
        ReferenceSae ref = ReferenceSae.of(init);
        try (Device dev = new CpuDevice(3); Engine e = new Engine(dev, init, BATCH, 10_000_000)) {
            StepStats s1 = e.computeGradients(up(dev, x1), lambda);
            assertTrue(s1.dense(), "step 1 takes the dense path");
            assertTrue(s1.activeSum() > 0 && s1.activeSum() < CPU_SWITCH.jumpRelu() * BATCH * M,
                    "density must fall below the switch: " + s1.activeSum());
            StepStats s2 = e.computeGradients(up(dev, x2), lambda);
            assertFalse(s2.dense(), "step 2 takes the sparse path");
            ReferenceSae.Result r = ref.run(ReferenceSae.toDouble(x2), BATCH, lambda, null, null);
            check("jumprelu sparse", dev, e, s2, ref, r);
            double[] want = r.dLogThreshold();
            assertTrue(EngineFixtures.maxAbs(want) > 0, "some entries must fall in the kernel window");
            ParityAssert.assertClose("jumprelu sparse dLogThreshold", want, EngineFixtures.allGrads(dev, e)[4],
                    1e-5 * EngineFixtures.maxAbs(want), 1e-4);
        }
    }

    /**
     * Matryoshka (Bussmann et al. 2025) with the default groups of 257 latents (16, 16, 32, 64, 129): step 1, and
     * step 2 with dead latents and AuxK; the engine's suffix-sum backward against the reference's prefix-by-prefix one.
     */
    @Test
    void matryoshkaGradientsMatchReferenceWithAndWithoutAuxK() {
        SaeConfig cfg = new SaeConfig(Architecture.MATRYOSHKA, D, M, 7, 0, true);
        assertEquals(java.util.List.of(16, 16, 32, 64, 129), cfg.groups());
        SaeWeights init = SaeInit.initial(cfg, 381, bDec(382));
        float[] x1 = gaussian(383, BATCH * D, 1.0);
        float[] x2 = gaussian(384, BATCH * D, 1.0);
        try (Device dev = new CpuDevice(3); Engine e = new Engine(dev, init, BATCH, BATCH)) {
            ReferenceSae ref = ReferenceSae.of(init);
            StepStats s1 = e.computeGradients(up(dev, x1), 0);
            ReferenceSae.Result r1 = ref.run(ReferenceSae.toDouble(x1), BATCH, 0, null, null);
            assertTrue(r1.sparsity() > r1.mse(), "the inner prefixes' terms must count: " + r1.sparsity());
            check("matryoshka step 1", dev, e, s1, ref, r1);
            float theta = EngineFixtures.batchTopkThreshold(e);
            assertEquals(smallestKept(ref, x1), theta, 1e-5 * theta, "the first batch sets theta");
            int[] fired = e.takeFireCounts();
            boolean[] dead = new boolean[M];
            for (int i = 0; i < M; i++) {
                dead[i] = fired[i] == 0;
            }
            StepStats s2 = e.computeGradients(up(dev, x2), 0);
            assertTrue(s2.dead() > cfg.kAux(), "the case needs more dead latents than k_aux: " + s2.dead());
            ReferenceSae.Result r2 = ref.run(ReferenceSae.toDouble(x2), BATCH, 0, dead, null);
            assertTrue(r2.aux() > 0, "AuxK must contribute");
            check("matryoshka step 2 (AuxK)", dev, e, s2, ref, r2);
        }
    }

    /** A gated init with r_mag ~ N(0, 0.3) and b_mag ~ N(0, 0.3) (some open gates then have pi_mag <= 0), b_gate = bGate. */
    private static SaeWeights gatedInit(SaeConfig cfg, long seed, float bGate) {
        SaeWeights w0 = SaeInit.initial(cfg, seed, bDec(seed + 1));
        float[] bg = new float[cfg.nLatents()];
        Arrays.fill(bg, bGate);
        return new SaeWeights(cfg, w0.wEnc(), bg, w0.wDec(), w0.bDec(), java.util.Map.of(
                "r_mag", gaussian(seed + 2, cfg.nLatents(), 0.3), "b_mag", gaussian(seed + 3, cfg.nLatents(), 0.3)));
    }

    @Test
    void gatedDensePathGradientsMatchReference() {
        double lambda = 3.0;
        SaeConfig cfg = SaeConfig.gated(D, 1, lambda).withNLatents(M);
        SaeWeights init = gatedInit(cfg, 381, 0f);
        float[] x = gaussian(384, BATCH * D, 1.0);
        try (Device dev = new CpuDevice(3); Engine e = new Engine(dev, init, BATCH, 10_000_000)) {
            StepStats s = e.computeGradients(up(dev, x), lambda);
            assertTrue(s.dense(), "step 1 of gated takes the dense path");
            ReferenceSae ref = ReferenceSae.of(init);
            ReferenceSae.Result r = ref.run(ReferenceSae.toDouble(x), BATCH, lambda, null, null);
            assertTrue(r.aux() > 0 && r.sparsity() > 0, "aux and sparsity terms");
            check("gated dense", dev, e, s, ref, r);
        }
    }

    @Test
    void gatedSparsePathGradientsMatchReference() {
        // b_gate = -0.21 against pi_gate of std ~0.1 (decoder rows of norm 0.1, unit-variance inputs): about 2 % of
        // the gates open, below the CPU's SparseSwitch.gated(), so step 2 takes the sparse path.
        double lambda = 3.0;
        SaeConfig cfg = SaeConfig.gated(D, 1, lambda).withNLatents(M);
        SaeWeights init = gatedInit(cfg, 391, -0.21f);
        float[] x1 = gaussian(395, BATCH * D, 1.0);
        float[] x2 = gaussian(396, BATCH * D, 1.0);
        ReferenceSae ref = ReferenceSae.of(init);
        try (Device dev = new CpuDevice(3); Engine e = new Engine(dev, init, BATCH, 10_000_000)) {
            StepStats s1 = e.computeGradients(up(dev, x1), lambda);
            assertTrue(s1.dense(), "step 1 takes the dense path");
            check("gated step 1 (dense, low density)", dev, e, s1, ref,
                    ref.run(ReferenceSae.toDouble(x1), BATCH, lambda, null, null));
            assertTrue(e.lastDensity() > 0 && e.lastDensity() < CPU_SWITCH.gated(),
                    "open-gate density must fall below the switch: " + e.lastDensity());
            StepStats s2 = e.computeGradients(up(dev, x2), lambda);
            assertFalse(s2.dense(), "step 2 takes the sparse path");
            ReferenceSae.Result r = ref.run(ReferenceSae.toDouble(x2), BATCH, lambda, null, null);
            long open = Arrays.stream(r.pattern()).filter(p -> p > 0).count();
            assertTrue(r.active() > 0 && r.active() < open, "open gates with and without f > 0: " + r.active()
                    + " of " + open);
            check("gated step 2 (sparse)", dev, e, s2, ref, r);
        }
    }
}
