package dev.saetrain.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.saetrain.device.Device;
import dev.saetrain.device.FloatBuf;
import dev.saetrain.device.IntBuf;
import dev.saetrain.device.SparseSwitch;
import dev.saetrain.device.cpu.CpuDevice;
import dev.saetrain.error.Setting;
import dev.saetrain.error.UsageException;
import dev.saetrain.model.Architecture;
import dev.saetrain.model.Philox;
import dev.saetrain.model.SaeConfig;
import dev.saetrain.model.SaeInit;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class MemoryPlanTest {
    /**
     * A Device that forwards every call to a CpuDevice and adds up the bytes it allocates; it answers sparseSwitch
     * with {@code sparseSwitch} (the CPU's, or another device's).
     */
    private static Device counting(Device inner, AtomicLong bytes, SparseSwitch sparseSwitch) {
        return (Device) Proxy.newProxyInstance(Device.class.getClassLoader(), new Class<?>[] {Device.class},
                (proxy, method, args) -> {
                    if (method.getName().equals("sparseSwitch")) {
                        return sparseSwitch;
                    }
                    if (method.getName().equals("allocFloat") || method.getName().equals("allocInt")) {
                        bytes.addAndGet(4L * (long) args[0]);
                    }
                    try {
                        return method.invoke(inner, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
    }

    /** A device whose dense and sparse paths would cross at higher densities than the CPU's. */
    private static final SparseSwitch LATER = new SparseSwitch(1.0 / 4, 1.0 / 3, 1.0 / 2);

    @Test
    void estimateEqualsWhatTheEngineAllocates() {
        int batch = 24;
        for (SparseSwitch sw : List.of(SparseSwitch.MEASURED_ON_CPU, LATER)) {
            for (SaeConfig cfg : List.of(SaeConfig.topk(20, 3, 4), SaeConfig.relu(20, 3, 0.5),
                    SaeConfig.relu2023(20, 3, 0.5), SaeConfig.topk(20, 3, 4).withTied(true),
                    SaeConfig.relu(20, 3, 0.5).withTied(true), SaeConfig.batchTopk(20, 3, 4),
                    SaeConfig.jumpRelu(20, 3, 0.5), SaeConfig.matryoshka(20, 3, 4),
                    SaeConfig.matryoshka(20, 3, 4).withGroups(List.of(1, 2, 57)), SaeConfig.gated(20, 3, 0.5))) {
                AtomicLong bytes = new AtomicLong();
                // relu-2023 as the trainer builds it: with its resampler.
                Resampler.Plan plan = cfg.arch() == Architecture.RELU_2023 ? new Resampler.Plan(5, 10, 5, 100) : null;
                try (CpuDevice cpu = new CpuDevice(1)) {
                    Device dev = counting(cpu, bytes, sw);
                    try (Engine e = new Engine(dev, SaeInit.initial(cfg, 1, new float[20]), batch, 1000, plan);
                         FloatBuf x = dev.allocFloat((long) batch * 20)) {
                        float[] h = new float[batch * 20];
                        Philox.fillNormal(3, 4, h);
                        dev.upload(h, 0, x, 0, h.length);
                        e.step(x, 1e-3, 0.1); // relu's, jumprelu's and gated's first step is dense: its scratch
                        long batchBuffer = 4L * batch * 20;
                        assertEquals(Engine.memoryNeed(cfg, batch, sw).total(), bytes.get() - batchBuffer,
                                cfg.name() + " " + sw);
                    }
                }
            }
        }
        // Tied holds one [m, d] matrix with its gradient and Adam moments instead of two.
        SaeConfig topk = SaeConfig.topk(20, 3, 4);
        assertEquals(4L * 4 * 60 * 20, Engine.memoryNeed(topk, batch, SparseSwitch.MEASURED_ON_CPU).parameterBytes()
                - Engine.memoryNeed(topk.withTied(true), batch, SparseSwitch.MEASURED_ON_CPU).parameterBytes());
    }

    /** The steps that switch size their sparse activations by the device's densities; the others do not ask. */
    @Test
    void sparseActivationsFollowTheDevicesSwitch() {
        int batch = 24;
        for (SaeConfig cfg : List.of(SaeConfig.relu(20, 3, 0.5), SaeConfig.relu2023(20, 3, 0.5),
                SaeConfig.jumpRelu(20, 3, 0.5), SaeConfig.gated(20, 3, 0.5))) {
            assertTrue(Engine.memoryNeed(cfg, batch, LATER).bufferBytes()
                    > Engine.memoryNeed(cfg, batch, SparseSwitch.MEASURED_ON_CPU).bufferBytes(), cfg.name());
        }
        for (SaeConfig cfg : List.of(SaeConfig.topk(20, 3, 4), SaeConfig.batchTopk(20, 3, 4),
                SaeConfig.matryoshka(20, 3, 4))) {
            assertEquals(Engine.memoryNeed(cfg, batch, SparseSwitch.MEASURED_ON_CPU),
                    Engine.memoryNeed(cfg, batch, LATER), cfg.name());
        }
    }

    @Test
    void namesTheLargestSaesWhenTheFamilyDoesNotFit() {
        List<SaeConfig> family = List.of(SaeConfig.topk(32, 1, 4), SaeConfig.topk(32, 64, 4), SaeConfig.topk(32, 256, 4));
        MemoryPlan plan = new MemoryPlan(family, 512, 0, SparseSwitch.MEASURED_ON_CPU);
        long small = plan.lines().get(0).need().total();
        UsageException e = assertThrows(UsageException.class,
                () -> plan.check(plan.total() - 1, true));
        assertTrue(e.getMessage().contains("x256-k4") && !e.getMessage().contains("x1-k4"), e.getMessage());
        assertTrue(e.settings().contains(Setting.MAX_MEMORY), e.getMessage());
        plan.check(plan.total(), true);
        assertTrue(small < plan.lines().get(2).need().total());
        assertTrue(plan.table().contains("x64-k4"), plan.table());
    }

    /** d = 768 x256 at batch 4096 (3.2 GB of pre-activations): every architecture's are counted and logged as row blocks. */
    @Test
    void countsAndLogsPreActivationsInRowBlocks() {
        SaeConfig wide = SaeConfig.topk(768, 256, 32);
        SaeConfig narrow = SaeConfig.topk(768, 8, 32);
        MemoryPlan plan = new MemoryPlan(List.of(narrow, wide), 4096, 0, SparseSwitch.MEASURED_ON_CPU);
        int rows = plan.lines().get(1).preRows();
        assertEquals(4096, plan.lines().get(0).preRows(), "x8 keeps the whole batch");
        assertTrue(rows < 4096, "x256 in blocks: " + rows);
        assertTrue(plan.table().contains(wide.name() + ": pre-activations in blocks of " + rows + " of the batch's 4096"),
                plan.table());
        assertFalse(plan.table().contains(narrow.name() + ": pre-activations"), plan.table());
        // Every architecture holds them in the same blocks.
        for (SaeConfig other : List.of(SaeConfig.batchTopk(768, 256, 32), SaeConfig.matryoshka(768, 256, 32),
                SaeConfig.relu(768, 256, 1), SaeConfig.relu2023(768, 256, 1), SaeConfig.jumpRelu(768, 256, 1),
                SaeConfig.gated(768, 256, 1))) {
            MemoryPlan otherPlan = new MemoryPlan(List.of(other), 4096, 0, SparseSwitch.MEASURED_ON_CPU);
            assertEquals(rows, otherPlan.lines().get(0).preRows(), other.name());
            assertTrue(otherPlan.table().contains(other.name() + ": pre-activations in blocks of " + rows),
                    otherPlan.table());
        }
        // The whole matrix would be 3 GiB; the block is at most 1 GiB, and the plan counts the block.
        long whole = 4L * 4096 * wide.nLatents();
        assertTrue(plan.lines().get(1).need().bufferBytes() < whole, "buffers below the whole pre-activations alone");
    }

    /**
     * A family over its budget with 1 GiB blocks is planned with smaller ones when they let it fit: the largest cap
     * that does, each halving saving (batch - rows) m floats, and the table says why the blocks are smaller.
     */
    @Test
    void smallerBlocksWhenTheBudgetAsksForThem() {
        List<SaeConfig> family = List.of(SaeConfig.topk(768, 8, 32), SaeConfig.topk(768, 256, 32));
        SparseSwitch sw = SparseSwitch.MEASURED_ON_CPU;
        MemoryPlan roomy = MemoryPlan.fitting(family, 4096, 0, sw, Long.MAX_VALUE);
        assertEquals(SharedParts.PRE_BLOCK_BYTES, roomy.preBlockBytes());
        assertEquals(new MemoryPlan(family, 4096, 0, sw).total(), roomy.total());

        MemoryPlan quarter = new MemoryPlan(family, 4096, 0, sw, SharedParts.PRE_BLOCK_BYTES / 4);
        MemoryPlan half = new MemoryPlan(family, 4096, 0, sw, SharedParts.PRE_BLOCK_BYTES / 2);
        assertTrue(quarter.total() < half.total() && half.total() < roomy.total(),
                quarter.total() + " < " + half.total() + " < " + roomy.total());
        MemoryPlan fit = MemoryPlan.fitting(family, 4096, 0, sw, quarter.total());
        assertEquals(SharedParts.PRE_BLOCK_BYTES / 4, fit.preBlockBytes(), "the largest cap that fits");
        assertEquals(quarter.total(), fit.total());
        fit.check(quarter.total(), true);
        int rows = fit.lines().get(1).preRows();
        assertEquals(SharedParts.PRE_BLOCK_BYTES / 4 / (4L * 768 * 256), rows);
        assertEquals(4096, fit.lines().get(0).preRows(), "x8 stays whole");
        assertTrue(fit.table().contains("blocks of " + rows + " of the batch's 4096 rows (blocks of at most 256.0 MiB "
                + "let the family fit its memory limit)"), fit.table());

        // Nothing fits: the smallest cap tried, and its check names the SAEs to drop.
        MemoryPlan none = MemoryPlan.fitting(family, 4096, 0, sw, 1);
        assertEquals(MemoryPlan.MIN_PRE_BLOCK_BYTES, none.preBlockBytes());
        assertThrows(UsageException.class, () -> none.check(1, true));
    }

    @Test
    void theDefaultBudgetIsPhysicalMemoryLessHeadRoomAndHeap() {
        long g = 1L << 30;
        assertEquals(32 * g - (long) (3.2 * g) - 8 * g, MemoryPlan.budget(32 * g, 8 * g), "10 % head room");
        assertEquals(4 * g - g - g, MemoryPlan.budget(4 * g, g), "at least 1 GiB head room");
        assertEquals(0, MemoryPlan.budget(g, 256L << 20), "never negative");
        long physical = MemoryPlan.physicalMemory();
        assertEquals(MemoryPlan.budget(physical, Runtime.getRuntime().maxMemory()), MemoryPlan.defaultBudget());
        // The direct-memory limit (the heap limit unless -XX:MaxDirectMemorySize) no longer bounds it.
        assertTrue(MemoryPlan.hardLimit() >= MemoryPlan.defaultBudget());
        String source = MemoryPlan.defaultBudgetSource();
        assertTrue(source.contains("head room") && !source.contains("MaxDirectMemorySize"), source);
        MemoryPlan plan = new MemoryPlan(List.of(SaeConfig.topk(64, 16, 8)), 1024, 4L * 1024 * 64,
                SparseSwitch.MEASURED_ON_CPU);
        UsageException e = assertThrows(UsageException.class, () -> plan.check(1, false));
        String withHint = source.substring(0, source.length() - 1) + "; max_memory sets another limit)";
        assertTrue(e.getMessage().contains(withHint), e.getMessage());
        assertEquals(List.of(Setting.MAX_MEMORY, Setting.BATCH), e.settings());
    }

    @Test
    void maxMemoryCapsWhatTheDefaultWouldAllow() {
        MemoryPlan plan = new MemoryPlan(List.of(SaeConfig.topk(64, 16, 8)), 1024, 4L * 1024 * 64,
                SparseSwitch.MEASURED_ON_CPU);
        plan.check(MemoryPlan.defaultBudget(), false);
        UsageException e = assertThrows(UsageException.class,
                () -> plan.check(MemoryPlan.parseBytes("1m"), true));
        assertTrue(e.getMessage().contains("max_memory allows 1.0 MiB"), e.getMessage());
    }

    @Test
    void parsesMemorySizes() {
        assertEquals(512L << 20, MemoryPlan.parseBytes("512m"));
        assertEquals(8L << 30, MemoryPlan.parseBytes("8G"));
        assertEquals(1536L << 30, MemoryPlan.parseBytes("1.5t"));
        assertEquals(1000, MemoryPlan.parseBytes("1000"));
        assertThrows(UsageException.class, () -> MemoryPlan.parseBytes("lots"));
        assertThrows(UsageException.class, () -> MemoryPlan.parseBytes("-3g"));
    }
}
