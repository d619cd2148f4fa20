package dev.saetrain.train;

import static dev.saetrain.selftest.DeviceFixtures.gaussian;
import static dev.saetrain.selftest.DeviceFixtures.up;
import static dev.saetrain.train.RowBlockParity.assertSameGradients;
import static dev.saetrain.train.RowBlockParity.assertUpdates;
import static dev.saetrain.train.RowBlockParity.withPreRows;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.saetrain.device.Device;
import dev.saetrain.device.SparseSwitch;
import dev.saetrain.device.cpu.CpuDevice;
import dev.saetrain.model.Architecture;
import dev.saetrain.model.SaeConfig;
import dev.saetrain.model.SaeInit;
import dev.saetrain.model.SaeWeights;
import dev.saetrain.selftest.ParityAssert;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.IntFunction;
import org.junit.jupiter.api.Test;

/**
 * The row-blocked relu, relu-2023 and jumprelu steps (SharedParts.preRows below the batch: each block of rows
 * encoded, activated, decoded and backpropagated before the next) against the same steps over the whole batch, on
 * CpuDevice: blocks of 8 rows (the last one 1), 5 (the last one 3) and 1; the dense phase (step 1, and every step
 * at the default init's density) and the sparse phase (b_enc or theta set for about 2 % firing: steps 2-4); tied
 * relu; relu-2023 with a resampling at step 3; jumprelu's threshold gradient; and sparse blocks whose firing pairs
 * overflow the block's sparse activations (they split, where the whole batch turns dense).
 *
 * <p>A row's encode and activation do not depend on the rows beside it, so L0, dead and per-latent firing counts must
 * be equal; the backward adds block by block, a float sum grouped otherwise, so the losses, gradients (log_threshold's
 * included) and gradient norm are held to EngineGradientParityTest's tolerances at every step, and the update after
 * four Adam steps to {@link RowBlockParity#UPDATE_TOL} relative L2, as in RowBlockedTopkTest.
 */
class RowBlockedReluTest {
    private static final int BATCH = 33;
    private static final int D = 48;
    private static final int M = 257;
    private static final int STEPS = 4;
    private static final int[] BLOCK_ROWS = {8, 5, 1};

    /** Which path a step of the whole batch must take (so that each case covers what it says). */
    private enum Path { DENSE, SPARSE_AFTER_STEP_1, ANY }

    private static void assertSameStats(String tag, StepStats want, StepStats got, boolean sameDense) {
        ParityAssert.assertClose(tag + " mse", want.mse(), got.mse(), 0, 1e-5);
        ParityAssert.assertClose(tag + " sparsityLoss", want.sparsityLoss(), got.sparsityLoss(), 1e-12, 1e-5);
        assertEquals(want.activeSum(), got.activeSum(), tag + " active");
        assertEquals(want.dead(), got.dead(), tag + " dead");
        ParityAssert.assertClose(tag + " gradNorm", want.gradNorm(), got.gradNorm(), 0, 1e-4);
        if (sameDense) {
            assertEquals(want.dense(), got.dense(), tag + " dense");
        }
    }

    /**
     * Runs {@link #STEPS} steps of the whole batch and of each block size side by side and compares them.
     * {@code overflowAt}: at this step, the whole batch must turn dense (its sparse activations overflow) while the
     * blocked step stays sparse (0: no such step).
     */
    private static void compare(String tag, SaeWeights init, double lambda, Resampler.Plan plan,
                                IntFunction<float[]> batches, Path path, int overflowAt) {
        for (int rows : BLOCK_ROWS) {
            String rt = tag + ", rows " + rows;
            try (RowBlockParity.Engines e = RowBlockParity.Engines.open(rt, init, BATCH, rows, plan)) {
                Engine whole = e.whole();
                Engine blocked = e.blocked();
                for (int t = 1; t <= STEPS; t++) {
                    float[] x = batches.apply(t);
                    StepStats a = whole.step(up(e.dev(), x), 1e-3, lambda);
                    StepStats b = blocked.step(up(e.dev(), x), 1e-3, lambda);
                    String st = rt + " step " + t;
                    boolean overflow = t == overflowAt;
                    if (path == Path.DENSE || t == 1) {
                        assertTrue(a.dense(), st + " takes the dense path");
                    } else if (path == Path.SPARSE_AFTER_STEP_1 && !overflow) {
                        assertFalse(a.dense(), st + " takes the sparse path");
                    }
                    if (overflow) {
                        assertTrue(a.dense(), st + ": the whole batch's sparse activations overflow, it turns dense");
                        assertFalse(b.dense(), st + ": the blocked step splits its blocks and stays sparse");
                    }
                    assertSameStats(st, a, b, !overflow);
                    assertSameGradients(st, EngineFixtures.allGrads(e.dev(), whole),
                            EngineFixtures.allGrads(e.dev(), blocked));
                    assertArrayEquals(whole.takeFireCounts(), blocked.takeFireCounts(), st + " fire counts");
                }
                if (plan != null) {
                    int[] done = whole.snapshot().ints().get(Resampler.STATE_KEY);
                    assertTrue(done[0] > 0, rt + ": the case must resample");
                    assertArrayEquals(done, blocked.snapshot().ints().get(Resampler.STATE_KEY), rt + " resamplings");
                }
                assertUpdates(rt, init, whole.weights(), blocked.weights(), !init.config().tied(),
                        init.extras().keySet());
            }
        }
    }

    private static float[] batch(int t) {
        return gaussian(410 + t, BATCH * D, 1.0);
    }

    /**
     * An init of {@code cfg} with b_enc = bEnc everywhere: about 2 % firing (the sparse path) at -0.21 for relu
     * (decoder rows of norm 0.1, and W_enc their transpose), at -2.1 for tied relu and relu-2023 (unit-norm rows).
     */
    private static SaeWeights withBEnc(SaeConfig cfg, long seed, float bEnc) {
        SaeWeights w0 = SaeInit.initial(cfg, seed, gaussian(seed + 1, D, 0.2));
        float[] be = new float[cfg.nLatents()];
        Arrays.fill(be, bEnc);
        return new SaeWeights(cfg, w0.wEnc(), be, w0.wDec(), w0.bDec(), w0.extras());
    }

    @Test
    void reluMatchesTheWholeBatchOnBothPaths() {
        SaeConfig cfg = new SaeConfig(Architecture.RELU, D, M, 0, 3.0, true);
        compare("relu dense", SaeInit.initial(cfg, 401, gaussian(402, D, 0.2)), 3.0, null,
                RowBlockedReluTest::batch, Path.DENSE, 0);
        compare("relu sparse", withBEnc(cfg, 403, -0.21f), 3.0, null, RowBlockedReluTest::batch,
                Path.SPARSE_AFTER_STEP_1, 0);
    }

    @Test
    void tiedReluMatchesTheWholeBatchOnBothPaths() {
        SaeConfig cfg = new SaeConfig(Architecture.RELU, D, M, 0, 3.0, true, true);
        compare("tied relu dense", SaeInit.initial(cfg, 411, gaussian(412, D, 0.2)), 3.0, null,
                RowBlockedReluTest::batch, Path.DENSE, 0);
        compare("tied relu sparse", withBEnc(cfg, 413, -2.1f), 3.0, null, RowBlockedReluTest::batch,
                Path.SPARSE_AFTER_STEP_1, 0);
    }

    @Test
    void relu2023MatchesTheWholeBatchOnBothPathsAndResamples() {
        SaeConfig cfg = new SaeConfig(Architecture.RELU_2023, D, M, 0, 3.0, true);
        compare("relu-2023 dense", SaeInit.initial(cfg, 421, gaussian(422, D, 0.2)), 3.0, null,
                RowBlockedReluTest::batch, Path.DENSE, 0);
        compare("relu-2023 sparse", withBEnc(cfg, 423, -2.1f), 3.0, null, RowBlockedReluTest::batch,
                Path.SPARSE_AFTER_STEP_1, 0);
        // Every fourth latent silent (b_enc = -100): dead by step 3 (window 2), resampled there from the step's
        // residuals, which the blocks fill row by row.
        SaeWeights w0 = SaeInit.initial(cfg, 425, gaussian(426, D, 0.2));
        float[] bEnc = w0.bEnc().clone();
        for (int i = 0; i < M; i += 4) {
            bEnc[i] = -100f;
        }
        compare("relu-2023 resampling", new SaeWeights(cfg, w0.wEnc(), bEnc, w0.wDec(), w0.bDec()), 3.0,
                new Resampler.Plan(7, 3, 2, 100), RowBlockedReluTest::batch, Path.DENSE, 0);
    }

    @Test
    void jumpReluMatchesTheWholeBatchWithItsThresholdGradient() {
        double lambda = 2.0;
        SaeConfig cfg = new SaeConfig(Architecture.JUMPRELU, D, M, 0, lambda, true);
        SaeWeights w0 = SaeInit.initial(cfg, 431, gaussian(432, D, 0.2));
        for (float theta : new float[] {0.001f, 0.21f}) {
            // theta = 0.001: about half the pairs fire (dense); 0.21 against pre-activations of std ~0.1: about
            // 2 % (sparse after step 1), as in EngineGradientParityTest. The bandwidth finds entries near theta
            // either way, so the threshold gradient is compared where it is not zero.
            float[] th = new float[M];
            Arrays.fill(th, theta);
            SaeWeights init = new SaeWeights(cfg, w0.wEnc(), w0.bEnc(), w0.wDec(), w0.bDec(), Map.of("threshold", th));
            try (Device dev = new CpuDevice(3); Engine e = new Engine(dev, init, BATCH, BATCH)) {
                e.step(up(dev, batch(1)), 1e-3, lambda);
                double[] dLogThreshold = EngineFixtures.allGrads(dev, e)[4];
                assertTrue(Arrays.stream(dLogThreshold).filter(v -> v != 0).count() > 10,
                        "theta " + theta + ": entries must fall in the kernel window");
            }
            compare("jumprelu theta " + theta, init, lambda, null, RowBlockedReluTest::batch,
                    theta < 0.01f ? Path.DENSE : Path.SPARSE_AFTER_STEP_1, 0);
        }
    }

    @Test
    void sparseBlocksThatOverflowSplitWhereTheWholeBatchTurnsDense() {
        // At step 2, rows 0-3 are x30: about half their pairs fire, against 2 % elsewhere. The whole batch (room
        // for 1/16 of its pairs, relu; 1/24, jumprelu) turns dense; a block holding those rows has more pairs than
        // its sparse activations hold (at least one row, M entries) and splits. Step 3 (after 7 % firing) is dense
        // for both, step 4 sparse again.
        IntFunction<float[]> heavy = t -> {
            float[] x = batch(t);
            if (t == 2) {
                for (int q = 0; q < 4 * D; q++) {
                    x[q] *= 30;
                }
            }
            return x;
        };
        for (boolean tied : new boolean[] {false, true}) {
            SaeConfig cfg = new SaeConfig(Architecture.RELU, D, M, 0, 3.0, true, tied);
            compare((tied ? "tied " : "") + "relu, overflowing blocks", withBEnc(cfg, 441, tied ? -2.1f : -0.21f), 3.0,
                    null, heavy,
                    Path.ANY, 2);
        }
        SaeConfig jr = new SaeConfig(Architecture.JUMPRELU, D, M, 0, 2.0, true);
        SaeWeights w0 = SaeInit.initial(jr, 443, gaussian(444, D, 0.2));
        float[] th = new float[M];
        Arrays.fill(th, 0.21f);
        compare("jumprelu, overflowing blocks", new SaeWeights(jr, w0.wEnc(), w0.bEnc(), w0.wDec(), w0.bDec(),
                Map.of("threshold", th)), 2.0, null, heavy, Path.ANY, 2);
    }

    /** Bytes of sparse activations for {@code rows} rows and {@code capacity} entries (row pointers, idx, val, grad). */
    private static long sparseBytes(int rows, long capacity) {
        return 4L * (rows + 1) + 12L * capacity;
    }

    @Test
    void theMemoryPlanCountsTheBlockNotTheBatch() {
        SparseSwitch sw = SparseSwitch.MEASURED_ON_CPU;
        for (SaeConfig cfg : List.of(new SaeConfig(Architecture.RELU, D, M, 0, 1, true),
                new SaeConfig(Architecture.RELU, D, M, 0, 1, true, true), new SaeConfig(Architecture.RELU_2023, D, M, 0, 1, true),
                new SaeConfig(Architecture.JUMPRELU, D, M, 0, 1, true))) {
            double density = cfg.arch() == Architecture.JUMPRELU ? sw.jumpRelu() : sw.relu();
            long whole = Engine.memoryNeed(cfg, BATCH, sw).bufferBytes();
            for (int rows : BLOCK_ROWS) {
                long blocked = withPreRows(rows, () -> Engine.memoryNeed(cfg, BATCH, sw)).bufferBytes();
                // pre and the dense scratch (relu: dL/dpre; jumprelu: f) hold rows * m instead of batch * m; the
                // sparse activations one block's, at least one whole row; and a [m] scratch for a block's sums.
                long want = whole - 2 * 4L * (BATCH - rows) * M
                        - sparseBytes(BATCH, ArchitectureStep.sparseCapacity(BATCH, M, density))
                        + sparseBytes(rows, Math.max(M, ArchitectureStep.sparseCapacity(rows, M, density)))
                        + 4L * M;
                assertEquals(want, blocked, cfg.name() + ", rows " + rows);
            }
        }
        SaeConfig relu = new SaeConfig(Architecture.RELU, D, M, 0, 1, true);
        String table = withPreRows(8, () -> new MemoryPlan(List.of(relu), BATCH, 0, sw)).table();
        assertTrue(table.contains(relu.name() + ": pre-activations in blocks of 8 of the batch's 33 rows (forced by "
                + SharedParts.PRE_ROWS_PROPERTY + ")"), table);
    }

    @Test
    void theProgramKeepsTodaysSizesWholeAndBlocksOnlyWidePreActivations() {
        for (SaeConfig narrow : List.of(SaeConfig.relu(768, 64, 1), SaeConfig.relu2023(768, 64, 1),
                SaeConfig.jumpRelu(768, 64, 1))) {
            assertEquals(4096, SharedParts.preRows(narrow, 4096), narrow.name() + ": 0.8 GB of pre-activations, whole");
        }
        for (SaeConfig wide : List.of(SaeConfig.relu(768, 256, 1), SaeConfig.relu2023(768, 256, 1),
                SaeConfig.jumpRelu(768, 256, 1))) {
            int rows = SharedParts.preRows(wide, 4096);
            assertTrue(rows < 4096 && 4L * rows * wide.nLatents() <= SharedParts.PRE_BLOCK_BYTES, wide.name() + ": " + rows);
            MemoryPlan plan = new MemoryPlan(List.of(wide), 4096, 0, SparseSwitch.MEASURED_ON_CPU);
            assertEquals(rows, plan.lines().get(0).preRows(), wide.name());
            assertTrue(plan.table().contains(wide.name() + ": pre-activations in blocks of " + rows
                    + " of the batch's 4096 rows (the whole matrix would pass 1.0 GiB)"), plan.table());
            // Neither pre nor the dense scratch exists whole: the buffers stay below the whole matrix alone.
            assertTrue(plan.lines().get(0).need().bufferBytes() < 4L * 4096 * wide.nLatents(), wide.name());
        }
    }
}
