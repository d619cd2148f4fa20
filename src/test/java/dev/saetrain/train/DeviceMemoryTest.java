package dev.saetrain.train;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.saetrain.device.SparseSwitch;
import dev.saetrain.error.UsageException;
import dev.saetrain.model.SaeConfig;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The GPU memory check before the first step, on plain numbers. */
class DeviceMemoryTest {
    private static final long GIB = 1L << 30;

    @Test
    void headRoomIsFivePercentAndAtLeast256MiB() {
        assertEquals(80 * GIB - 4 * GIB, DeviceMemory.usable(80 * GIB));
        assertEquals(GIB - (256L << 20), DeviceMemory.usable(GIB));
        assertEquals(0, DeviceMemory.usable(100L << 20));
    }

    @Test
    void familyThatFitsPasses() {
        // d = 768: x32 (24576 latents) with k = 32 at batch 4096 needs a few hundred MiB to ~1.5 GiB.
        MemoryPlan plan = new MemoryPlan(List.of(SaeConfig.topk(768, 32, 32)), 4096, 4L * 4096 * 768,
                SparseSwitch.MEASURED_ON_CPU);
        assertTrue(plan.total() < 20 * GIB);
        assertDoesNotThrow(() -> DeviceMemory.check(plan, 80 * GIB, "cuda (test)"));
    }

    @Test
    void familyThatDoesNotFitNamesTheLargestSaesAndTheMemory() {
        MemoryPlan plan = new MemoryPlan(List.of(SaeConfig.topk(2048, 1, 32), SaeConfig.topk(2048, 32, 32),
                SaeConfig.topk(2048, 128, 32)), 4096, 4L * 4096 * 2048, SparseSwitch.MEASURED_ON_CPU);
        long free = plan.total() / 2;
        var e = assertThrows(UsageException.class, () -> DeviceMemory.check(plan, free, "cuda (H100)"));
        String m = e.getMessage();
        assertTrue(m.contains("x128-k32"), m);
        assertFalse(m.contains("x1-k32 ("), "the smallest SAE need not be dropped: " + m);
        assertTrue(m.contains("GPU's free memory") && m.contains(MemoryPlan.human(free)) && m.contains("cuda (H100)"), m);
        assertFalse(m.contains("\n"), m);
    }

    @Test
    void headRoomDecidesAtTheEdge() {
        MemoryPlan plan = new MemoryPlan(List.of(SaeConfig.topk(768, 8, 32)), 1024, 4L * 1024 * 768,
                SparseSwitch.MEASURED_ON_CPU);
        long exact = plan.total();
        assertThrows(UsageException.class, () -> DeviceMemory.check(plan, exact, "gpu"));
        long enough = exact + Math.max(DeviceMemory.MIN_HEADROOM, (long) Math.ceil(exact * 0.06)) + (256L << 20);
        assertDoesNotThrow(() -> DeviceMemory.check(plan, enough, "gpu"));
    }
}
