package dev.saetrain.train;

import static dev.saetrain.selftest.DeviceFixtures.gaussian;
import static dev.saetrain.selftest.DeviceFixtures.up;
import static dev.saetrain.train.RowBlockParity.assertSameGradients;
import static dev.saetrain.train.RowBlockParity.assertUpdates;
import static dev.saetrain.train.RowBlockParity.withPreRows;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.saetrain.device.SparseSwitch;
import dev.saetrain.model.Architecture;
import dev.saetrain.selftest.ParityAssert;
import dev.saetrain.model.SaeConfig;
import dev.saetrain.model.SaeInit;
import dev.saetrain.model.SaeWeights;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The row-blocked topk step (SharedParts.preRows below the batch: encode and select a block of rows at a time)
 * against the same step over the whole batch at once, on CpuDevice: a quarter of the batch, a block size that does
 * not divide it, and one row; untied and tied; steps with dead latents (AuxK selects from each block's
 * pre-activations). A row's encode, selection and decode do not depend on the rows beside it (the L0 and dead
 * counts must be equal); the backward adds block by block into the gradients, a float sum grouped otherwise, so
 * gradients and losses are held to EngineGradientParityTest's tolerances at every step, and the weights after four
 * Adam steps to {@link RowBlockParity#UPDATE_TOL}.
 */
class RowBlockedTopkTest {
    private static final int BATCH = 33;
    private static final int D = 48;
    private static final int M = 257;
    private static final int K = 7;

    private static void assertSameStats(String tag, StepStats want, StepStats got) {
        // The losses are sums whose grouping follows the rows an op is given (CPU: float lanes flushed every few
        // rows), so they agree to the tolerance of EngineGradientParityTest, not to the bit.
        ParityAssert.assertClose(tag + " mse", want.mse(), got.mse(), 0, 1e-5);
        ParityAssert.assertClose(tag + " auxLoss", want.auxLoss(), got.auxLoss(), 1e-12, 1e-5);
        assertEquals(want.activeSum(), got.activeSum(), tag + " active");
        assertEquals(want.dead(), got.dead(), tag + " dead");
        ParityAssert.assertClose(tag + " gradNorm", want.gradNorm(), got.gradNorm(), 0, 1e-4);
    }

    @Test
    void blockedStepsMatchTheWholeBatch() {
        for (boolean tied : new boolean[] {false, true}) {
            SaeConfig cfg = new SaeConfig(Architecture.TOPK, D, M, K, 0, true).withTied(tied);
            SaeWeights init = SaeInit.initial(cfg, 401, gaussian(402, D, 0.2));
            for (int rows : new int[] {BATCH / 4, 5, 1}) {
                String tag = (tied ? "tied " : "") + "rows " + rows;
                try (RowBlockParity.Engines e = RowBlockParity.Engines.open(tag, init, BATCH, rows, null)) {
                    boolean auxRan = false;
                    for (int t = 0; t < 4; t++) {
                        float[] x = gaussian(410 + t, BATCH * D, 1.0);
                        StepStats a = e.whole().step(up(e.dev(), x), 1e-3, 0);
                        StepStats b = e.blocked().step(up(e.dev(), x), 1e-3, 0);
                        String st = tag + " step " + (t + 1);
                        assertSameStats(st, a, b);
                        assertSameGradients(st, EngineFixtures.grads(e.dev(), e.whole()),
                                EngineFixtures.grads(e.dev(), e.blocked()));
                        auxRan |= a.auxLoss() > 0;
                    }
                    assertTrue(auxRan, tag + ": the case needs dead latents, so that AuxK runs");
                    assertUpdates(tag, init, e.whole().weights(), e.blocked().weights(), true, List.of());
                }
            }
        }
    }

    @Test
    void theMemoryPlanCountsTheBlockNotTheBatch() {
        SaeConfig cfg = new SaeConfig(Architecture.TOPK, D, M, K, 0, true);
        long whole = Engine.memoryNeed(cfg, BATCH, SparseSwitch.MEASURED_ON_CPU).bufferBytes();
        for (int rows : new int[] {8, 5, 1}) {
            long blocked = withPreRows(rows, () -> Engine.memoryNeed(cfg, BATCH, SparseSwitch.MEASURED_ON_CPU))
                    .bufferBytes();
            int blocks = (BATCH + rows - 1) / rows;
            // pre holds rows * m instead of batch * m; the step's and AuxK's row pointers one more word per block.
            assertEquals(whole - 4L * (BATCH - rows) * M + 4L * 2 * (blocks - 1), blocked, "rows " + rows);
        }
        String table = withPreRows(8, () -> new MemoryPlan(List.of(cfg), BATCH, 0, SparseSwitch.MEASURED_ON_CPU))
                .table();
        assertTrue(table.contains("pre-activations in blocks of 8 of the batch's 33 rows (forced by "
                + SharedParts.PRE_ROWS_PROPERTY + ")"), table);
    }

    @Test
    void theProgramKeepsTodaysSizesWholeAndBlocksOnlyWidePreActivations() {
        // d = 768 x8 at batch 4096 (25 MB of pre-activations) and x64 at 4096 (0.8 GB): whole, as before.
        assertEquals(4096, SharedParts.preRows(SaeConfig.topk(768, 8, 32), 4096));
        assertEquals(4096, SharedParts.preRows(SaeConfig.topk(768, 64, 32), 4096));
        // x256 at 4096 (3.2 GB): blocks of at most PRE_BLOCK_BYTES.
        SaeConfig wide = SaeConfig.topk(768, 256, 32);
        int rows = SharedParts.preRows(wide, 4096);
        assertTrue(rows < 4096 && 4L * rows * wide.nLatents() <= SharedParts.PRE_BLOCK_BYTES, "rows " + rows);
        assertTrue(4L * (rows + 1) * wide.nLatents() > SharedParts.PRE_BLOCK_BYTES, "the most rows that fit: " + rows);
        // Every architecture blocks the same way.
        for (SaeConfig c : List.of(SaeConfig.batchTopk(768, 256, 32), SaeConfig.matryoshka(768, 256, 32),
                SaeConfig.relu(768, 256, 1), SaeConfig.jumpRelu(768, 256, 1), SaeConfig.gated(768, 256, 1))) {
            assertEquals(rows, SharedParts.preRows(c, 4096), c.name());
        }
    }
}
