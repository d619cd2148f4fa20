package dev.saetrain.train;

import com.sun.management.HotSpotDiagnosticMXBean;
import dev.saetrain.model.SaeConfig;
import java.lang.management.ManagementFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the Java heap's resident pages near what the run keeps alive. Every SAE buffer is off-heap (native
 * memory, counted by {@link MemoryPlan}); the heap only holds bookkeeping and per-step scratch. Left alone, G1
 * lets the young generation spread over the initial heap (1/64 of the machine's memory) and every page it ever
 * touched stays resident. So this lowers the free-heap ratios (both are manageable flags) and asks for a full
 * collection, which shrinks the committed heap to the live set plus head room. The trainer trims after building
 * each large SAE and after exporting it (their heap copies would otherwise pile up while every SAE's off-heap
 * buffers are resident), once after the first step (the stream and the steps' scratch exist by then; the heap had
 * grown under set-up's large arrays), and after any later step at which the collector has grown the heap well past
 * that ({@link #ifGrown}).
 */
final class HeapTrim {
    private static final Logger LOG = LoggerFactory.getLogger(HeapTrim.class);
    /** 8 MiB: a full collection costs tens of milliseconds, so smaller SAEs are not worth one each. */
    static final long LARGE_BYTES = 8L << 20;
    /** Head room above twice the last trim's committed heap before {@link #ifGrown} trims again. */
    static final long GROWTH_SLACK = 32L << 20;
    private static boolean ratiosSet;
    private static long trimmedTo; // committed heap after the last trim; 0 before the first

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

    /**
     * Trims again when the committed heap has grown past twice what the last trim left plus {@link #GROWTH_SLACK}.
     * G1 now and then expands a small heap under the steps' short-lived allocations (its pause-time heuristics, not
     * live data), and the young generation then spreads over the new room page by page in the seconds after: one
     * full collection at the next step takes it back before much of it is touched. A no-op until the first trim; a
     * heap that cannot shrink (a large -Xms) raises the bar with it, so this cannot repeat every step.
     */
    static void ifGrown() {
        if (trimmedTo > 0 && Runtime.getRuntime().totalMemory() > 2 * trimmedTo + GROWTH_SLACK) {
            now("after the collector grew it");
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
        trimmedTo = rt.totalMemory();
        LOG.debug("heap {}: committed {} MiB -> {} MiB, {} MiB in use", when, before >> 20, rt.totalMemory() >> 20,
                (rt.totalMemory() - rt.freeMemory()) >> 20);
    }
}
