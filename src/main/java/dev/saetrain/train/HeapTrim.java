package dev.saetrain.train;

import com.sun.management.HotSpotDiagnosticMXBean;
import dev.saetrain.model.SaeConfig;
import java.lang.management.ManagementFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the Java heap's resident pages near what the run keeps alive. Every SAE buffer is off-heap (direct
 * memory, counted by {@link MemoryPlan}); the heap only holds bookkeeping and per-step scratch. Left alone, G1
 * lets the young generation spread over the initial heap (1/64 of the machine's memory) and every page it ever
 * touched stays resident. So this lowers the free-heap ratios (both are manageable flags) and asks for a full
 * collection, which shrinks the committed heap to the live set plus head room; the collector then grows it only
 * under real pressure. The trainer trims after building each large SAE and after exporting it (their heap copies
 * would otherwise pile up while every SAE's off-heap buffers are resident) and once after the first step (the
 * stream and the steps' scratch exist by then; the heap had grown under set-up's large arrays).
 */
final class HeapTrim {
    private static final Logger LOG = LoggerFactory.getLogger(HeapTrim.class);
    /** 8 MiB: a full collection costs tens of milliseconds, so smaller SAEs are not worth one each. */
    static final long LARGE_BYTES = 8L << 20;
    private static boolean ratiosSet;

    private HeapTrim() {
    }

    /**
     * Trims after a step that left one SAE's matrices as heap garbage (its initial weights, its export copy) when
     * they are large enough to matter: 2 m d floats of at least {@link #LARGE_BYTES}. Without it those copies pile
     * up across a family (G1 reclaims them only at its next collection) while every SAE's off-heap buffers are
     * already resident: that pile was the run's peak.
     */
    static void afterLarge(SaeConfig c, String when) {
        if (2L * c.dIn() * c.nLatents() * Float.BYTES >= LARGE_BYTES) {
            now(when);
        }
    }

    /** Lowers the free-heap ratios (once per JVM) and runs one full collection; logs what it did. */
    static void now(String when) {
        if (!ratiosSet) {
            ratiosSet = true;
            try {
                HotSpotDiagnosticMXBean hs = ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
                hs.setVMOption("MinHeapFreeRatio", "10");
                hs.setVMOption("MaxHeapFreeRatio", "30");
            } catch (IllegalArgumentException | UnsupportedOperationException | SecurityException e) {
                LOG.info("heap: cannot lower the free-heap ratios ({}); the heap keeps the JVM's sizing", e.getMessage());
            }
        }
        Runtime rt = Runtime.getRuntime();
        long before = rt.totalMemory();
        System.gc();
        LOG.debug("heap {}: committed {} MiB -> {} MiB, {} MiB in use", when, before >> 20, rt.totalMemory() >> 20,
                (rt.totalMemory() - rt.freeMemory()) >> 20);
    }
}
