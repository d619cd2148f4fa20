package dev.saetrain.train;

import static dev.saetrain.selftest.DeviceFixtures.gaussian;
import static dev.saetrain.selftest.DeviceFixtures.up;
import static dev.saetrain.train.RowBlockParity.assertSameGradients;
import static dev.saetrain.train.RowBlockParity.assertUpdates;
import static dev.saetrain.train.RowBlockParity.withPreRows;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.saetrain.device.SparseSwitch;
import dev.saetrain.model.SaeConfig;
import dev.saetrain.model.SaeInit;
import dev.saetrain.model.SaeWeights;
import dev.saetrain.selftest.ParityAssert;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The row-blocked gated step (SharedParts.preRows below the batch: encode a block of rows at a time) against the
 * same step over the whole batch at once, on CpuDevice: a quarter of the batch, a block size that does not divide
 * it, and one row; in the dense phase (b_gate = 0: about half of the gates open) and in the sparse phase (b_gate
 * below the pre-activations' spread: step 1 dense, the later steps sparse, in both engines). A row's gates,
 * magnitudes and residuals do not depend on the rows beside it (the L0 counts must be equal); the backward adds
 * block by block into the gradients (b_mag's and r_mag's included), a float sum grouped otherwise, so gradients and
 * losses are held to EngineGradientParityTest's tolerances at every step, and the weights after four Adam steps to
 * {@link RowBlockParity#UPDATE_TOL}, as RowBlockedTopkTest holds topk's.
 */
class RowBlockedGatedTest {
    private static final int BATCH = 33;
    private static final int D = 48;
    private static final int M = 257;
    private static final double LAMBDA = 3.0;
    private static final String[] NAMES = {"W_enc", "b_enc", "W_dec", "b_dec", "r_mag", "b_mag"};

    private static SaeConfig config() {
        return SaeConfig.gated(D, 1, LAMBDA).withNLatents(M);
    }

    /** A gated init with r_mag, b_mag ~ N(0, 0.3) (some open gates then have f = 0) and b_gate = {@code bGate}. */
    private static SaeWeights init(long seed, float bGate) {
        SaeConfig cfg = config();
        SaeWeights w0 = SaeInit.initial(cfg, seed, gaussian(seed + 1, D, 0.2));
        float[] bg = new float[M];
        Arrays.fill(bg, bGate);
        return new SaeWeights(cfg, w0.wEnc(), bg, w0.wDec(), w0.bDec(), Map.of(
                "r_mag", gaussian(seed + 2, M, 0.3), "b_mag", gaussian(seed + 3, M, 0.3)));
    }

    private static void assertSameStats(String tag, StepStats want, StepStats got) {
        ParityAssert.assertClose(tag + " mse", want.mse(), got.mse(), 0, 1e-5);
        ParityAssert.assertClose(tag + " sparsityLoss", want.sparsityLoss(), got.sparsityLoss(), 1e-12, 1e-5);
        ParityAssert.assertClose(tag + " auxLoss", want.auxLoss(), got.auxLoss(), 1e-12, 1e-5);
        assertEquals(want.activeSum(), got.activeSum(), tag + " active");
        ParityAssert.assertClose(tag + " gradNorm", want.gradNorm(), got.gradNorm(), 0, 1e-4);
    }

    /**
     * Four steps on the same batches of a whole engine, a blocked one that steps on its own, and a blocked one
     * restored from the whole engine's snapshot before each step (the same weights, Adam state and last density):
     * the latter's stats and gradients against the whole engine's at every step, with each step's path
     * ({@code sparseFrom}: the first step, 1-based, that must be sparse; 0: none); the former's updates after four
     * steps. The gradients are compared on the same weights because Adam's first steps move each weight by about
     * lr whatever its gradient's size, so a gradient element near zero whose sign the grouping of a sum flips moves
     * its weight the other way, and the next gradients then differ by more than summation order (the gates of
     * the few pre-activations near zero flip with it).
     */
    private static void compare(String phase, SaeWeights init, int sparseFrom) {
        for (int rows : new int[] {BATCH / 4, 5, 1}) {
            String tag = phase + " rows " + rows;
            try (RowBlockParity.Engines e = RowBlockParity.Engines.open(tag, init, BATCH, rows, null);
                 Engine synced = withPreRows(rows, () -> new Engine(e.dev(), init, BATCH, BATCH))) {
                assertTrue(synced.shared().rowBlocked(), tag);
                for (int t = 1; t <= 4; t++) {
                    float[] x = gaussian(470 + t, BATCH * D, 1.0);
                    synced.restore(e.whole().snapshot());
                    StepStats a = e.whole().step(up(e.dev(), x), 1e-3, LAMBDA);
                    StepStats b = synced.step(up(e.dev(), x), 1e-3, LAMBDA);
                    String st = tag + " step " + t;
                    boolean dense = sparseFrom == 0 || t < sparseFrom;
                    assertEquals(dense, a.dense(), st + ": the whole batch's path");
                    assertEquals(dense, b.dense(), st + ": the blocks' path");
                    assertSameStats(st, a, b);
                    assertSameGradients(st, EngineFixtures.grads(e.dev(), e.whole()),
                            EngineFixtures.grads(e.dev(), synced), g -> " d" + NAMES[g]);
                    assertEquals(dense, e.blocked().step(up(e.dev(), x), 1e-3, LAMBDA).dense(),
                            st + ": the blocks' path");
                }
                assertUpdates(tag, init, e.whole().weights(), e.blocked().weights(), true,
                        List.of("r_mag", "b_mag"));
            }
        }
    }

    @Test
    void denseBlocksMatchTheWholeBatch() {
        compare("dense", init(461, 0f), 0);
    }

    @Test
    void sparseBlocksMatchTheWholeBatch() {
        // b_gate = -0.3 against pi_gate of std ~0.1 (decoder rows of norm 0.1, unit-variance inputs): under 1 % of
        // the gates open, below the CPU's SparseSwitch.gated(), and few enough per row that a one-row block's
        // capacity (m / 24 entries) holds them: from step 2 on both engines take the sparse path.
        compare("sparse", init(481, -0.3f), 2);
    }

    @Test
    void aBlockPastItsCapacityFallsBackToDenseBlocks() {
        // b_gate = -0.21: about 2 % of the gates open, below the switch, so step 2 goes sparse; one-row blocks hold
        // m / 24 = 10 entries, and a row with more open gates sends the blocked step to its dense blocks while the
        // whole batch (capacity B m / 24) stays sparse. Both compute the same step.
        SaeWeights init = init(391, -0.21f);
        try (RowBlockParity.Engines e = RowBlockParity.Engines.open("one-row blocks", init, BATCH, 1, null)) {
            Engine synced = e.blocked();
            boolean fellBack = false;
            for (int t = 1; t <= 4; t++) {
                float[] x = gaussian(490 + t, BATCH * D, 1.0);
                synced.restore(e.whole().snapshot());
                StepStats a = e.whole().step(up(e.dev(), x), 1e-3, LAMBDA);
                StepStats b = synced.step(up(e.dev(), x), 1e-3, LAMBDA);
                String st = "step " + t;
                assertSameStats(st, a, b);
                assertSameGradients(st, EngineFixtures.grads(e.dev(), e.whole()),
                        EngineFixtures.grads(e.dev(), synced), g -> " d" + NAMES[g]);
                fellBack |= !a.dense() && b.dense();
            }
            assertTrue(fellBack, "the case needs a sparse whole-batch step whose one-row blocks overflow");
        }
    }

    @Test
    void theMemoryPlanCountsTheBlockNotTheBatch() {
        SaeConfig cfg = config();
        SparseSwitch sw = SparseSwitch.MEASURED_ON_CPU;
        long whole = Engine.memoryNeed(cfg, BATCH, sw).bufferBytes();
        long wholeCapacity = ArchitectureStep.sparseCapacity(BATCH, M, sw.gated());
        for (int rows : new int[] {8, 5, 1}) {
            long blocked = withPreRows(rows, () -> Engine.memoryNeed(cfg, BATCH, sw)).bufferBytes();
            int blocks = (BATCH + rows - 1) / rows;
            long capacity = 0;
            for (int j = 0; j < blocks; j++) {
                capacity += ArchitectureStep.sparseCapacity(Math.min(rows, BATCH - j * rows), M, sw.gated());
            }
            // pre, f and the dense scratch hold rows * m instead of batch * m; each block's open gates (idx, f, its
            // gradient, gate values and their gradient) its own capacity, and its row pointers one more word.
            long want = whole - 3 * 4L * (BATCH - rows) * M + 5 * 4L * (capacity - wholeCapacity) + 4L * (blocks - 1);
            assertEquals(want, blocked, "rows " + rows);
        }
        String table = withPreRows(8, () -> new MemoryPlan(List.of(cfg), BATCH, 0, sw)).table();
        assertTrue(table.contains("pre-activations in blocks of 8 of the batch's 33 rows (forced by "
                + SharedParts.PRE_ROWS_PROPERTY + ")"), table);
    }

    @Test
    void theProgramKeepsTodaysSizesWholeAndBlocksOnlyWidePreActivations() {
        // d = 768 x8 (25 MB of pre-activations at batch 4096) and x64 (0.8 GB): whole, the step they ran before.
        assertEquals(4096, SharedParts.preRows(SaeConfig.gated(768, 8, 1), 4096));
        assertEquals(4096, SharedParts.preRows(SaeConfig.gated(768, 64, 1), 4096));
        // x256 at 4096 (3.2 GB): blocks of at most PRE_BLOCK_BYTES, as topk's.
        SaeConfig wide = SaeConfig.gated(768, 256, 1);
        assertEquals(SharedParts.preRows(SaeConfig.topk(768, 256, 32), 4096), SharedParts.preRows(wide, 4096));
        assertTrue(SharedParts.preRows(wide, 4096) < 4096);
    }
}
