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
import dev.saetrain.model.SaeConfig;
import dev.saetrain.model.SaeInit;
import dev.saetrain.model.SaeWeights;
import dev.saetrain.selftest.ParityAssert;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The row-blocked batchtopk and matryoshka steps (SharedParts.preRows below the batch: encode a block of rows at a
 * time, keep its candidates, select the batch's k * B largest from them) against the same steps over the whole
 * batch at once, on CpuDevice: a quarter of the batch, a block size that does not divide it, and one row; steps
 * with dead latents (AuxK selects from each block's pre-activations). The selection over the candidates is the
 * whole batch's, so the L0 and dead counts must be equal and the inference threshold theta (the moving average of
 * the smallest kept value, exported as the jumprelu threshold) the same. The encode of a block rounds its products
 * otherwise than the whole batch's (OpenBLAS picks its kernels by the row count), so theta is held to 1e-6
 * relative, and the gradients and losses, on the same weights at every step, to EngineGradientParityTest's
 * tolerances; after four Adam steps, which grow last-bit differences where a gradient is near zero, the weights
 * are held to {@link RowBlockParity#UPDATE_TOL} (as in RowBlockedTopkTest) and the exported threshold to 1e-5 relative.
 */
class RowBlockedBatchTopkTest {
    private static final int BATCH = 33;
    private static final int D = 48;
    private static final int M = 257;
    private static final int K = 7;

    private static void assertSameStats(String tag, StepStats want, StepStats got) {
        ParityAssert.assertClose(tag + " mse", want.mse(), got.mse(), 0, 1e-5);
        ParityAssert.assertClose(tag + " sparsity", want.sparsityLoss(), got.sparsityLoss(), 0, 1e-5);
        ParityAssert.assertClose(tag + " auxLoss", want.auxLoss(), got.auxLoss(), 1e-12, 1e-5);
        assertEquals(want.activeSum(), got.activeSum(), tag + " active");
        assertEquals(want.dead(), got.dead(), tag + " dead");
        ParityAssert.assertClose(tag + " gradNorm", want.gradNorm(), got.gradNorm(), 0, 1e-4);
    }

    @Test
    void blockedGradientsMatchTheWholeBatch() {
        for (Architecture arch : new Architecture[] {Architecture.BATCHTOPK, Architecture.MATRYOSHKA}) {
            SaeConfig cfg = new SaeConfig(arch, D, M, K, 0, true);
            SaeWeights init = SaeInit.initial(cfg, 501, gaussian(502, D, 0.2));
            for (int rows : new int[] {BATCH / 4, 5, 1}) {
                String tag = arch + " rows " + rows;
                try (RowBlockParity.Engines e = RowBlockParity.Engines.open(tag, init, BATCH, rows, null)) {
                    boolean auxRan = false;
                    // Gradients without updates: both engines keep the same weights, so every step compares the
                    // step's own work (the firing record, and with it the dead latents, moves on).
                    for (int t = 0; t < 4; t++) {
                        float[] x = gaussian(510 + t, BATCH * D, 1.0);
                        StepStats a = e.whole().computeGradients(up(e.dev(), x), 0);
                        StepStats b = e.blocked().computeGradients(up(e.dev(), x), 0);
                        String st = tag + " step " + (t + 1);
                        assertSameStats(st, a, b);
                        float ta = EngineFixtures.batchTopkThreshold(e.whole());
                        assertTrue(ta > 0, st + ": theta is set");
                        assertEquals(ta, EngineFixtures.batchTopkThreshold(e.blocked()), 1e-6 * ta, st + " theta");
                        assertSameGradients(st, EngineFixtures.grads(e.dev(), e.whole()),
                                EngineFixtures.grads(e.dev(), e.blocked()));
                        auxRan |= a.auxLoss() > 0;
                    }
                    assertTrue(auxRan, tag + ": the case needs dead latents, so that AuxK runs");
                }
            }
        }
    }

    @Test
    void blockedStepsMatchTheWholeBatch() {
        for (Architecture arch : new Architecture[] {Architecture.BATCHTOPK, Architecture.MATRYOSHKA}) {
            SaeConfig cfg = new SaeConfig(arch, D, M, K, 0, true);
            SaeWeights init = SaeInit.initial(cfg, 521, gaussian(522, D, 0.2));
            for (int rows : new int[] {BATCH / 4, 5, 1}) {
                String tag = arch + " rows " + rows;
                try (RowBlockParity.Engines e = RowBlockParity.Engines.open(tag, init, BATCH, rows, null)) {
                    for (int t = 0; t < 4; t++) {
                        float[] x = gaussian(530 + t, BATCH * D, 1.0);
                        StepStats a = e.whole().step(up(e.dev(), x), 1e-3, 0);
                        StepStats b = e.blocked().step(up(e.dev(), x), 1e-3, 0);
                        String st = tag + " step " + (t + 1);
                        assertEquals(a.activeSum(), b.activeSum(), st + " active");
                        assertEquals(a.dead(), b.dead(), st + " dead");
                    }
                    SaeWeights wa = e.whole().weights();
                    SaeWeights wb = e.blocked().weights();
                    assertUpdates(tag, init, wa, wb, true, List.of());
                    float theta = wa.extras().get("threshold")[0];
                    assertEquals(theta, wb.extras().get("threshold")[0], 1e-5 * theta, tag + " exported threshold");
                }
            }
        }
    }

    @Test
    void theMemoryPlanCountsTheBlockAndItsCandidates() {
        for (Architecture arch : new Architecture[] {Architecture.BATCHTOPK, Architecture.MATRYOSHKA}) {
            SaeConfig cfg = new SaeConfig(arch, D, M, K, 0, true);
            long whole = Engine.memoryNeed(cfg, BATCH, SparseSwitch.MEASURED_ON_CPU).bufferBytes();
            long kTotal = (long) K * BATCH;
            for (int rows : new int[] {8, 5, 1}) {
                long blocked = withPreRows(rows, () -> Engine.memoryNeed(cfg, BATCH, SparseSwitch.MEASURED_ON_CPU))
                        .bufferBytes();
                int blocks = (BATCH + rows - 1) / rows;
                // pre holds rows * m instead of batch * m; AuxK's row pointers one more word per block; each block's
                // candidates: its row pointers, latents and values, and one gradient buffer for all.
                long candidates = 4 * Math.min(kTotal, (long) rows * M);
                for (int j = 0; j < blocks; j++) {
                    int n = Math.min(rows, BATCH - j * rows);
                    candidates += 4L * (n + 1) + 8 * Math.min(kTotal, (long) n * M);
                }
                assertEquals(whole - 4L * (BATCH - rows) * M + 4L * (blocks - 1) + candidates, blocked,
                        arch + " rows " + rows);
            }
        }
    }

    @Test
    void wideSaesHoldTheirPreActivationsInBlocks() {
        for (SaeConfig c : List.of(SaeConfig.batchTopk(768, 64, 32), SaeConfig.matryoshka(768, 64, 32))) {
            assertEquals(4096, SharedParts.preRows(c, 4096), c.name() + ": 0.8 GB stays whole");
        }
        for (SaeConfig c : List.of(SaeConfig.batchTopk(768, 256, 32), SaeConfig.matryoshka(768, 256, 32))) {
            int rows = SharedParts.preRows(c, 4096);
            assertTrue(rows < 4096 && 4L * rows * c.nLatents() <= SharedParts.PRE_BLOCK_BYTES, c.name() + " " + rows);
            String table = new MemoryPlan(List.of(c), 4096, 0, SparseSwitch.MEASURED_ON_CPU).table();
            assertTrue(table.contains("pre-activations in blocks of " + rows + " of the batch's 4096 rows"), table);
        }
    }
}
