package dev.saetrain.train;

import com.sun.management.HotSpotDiagnosticMXBean;
import java.lang.management.ManagementFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the Java heap's resident pages near what the run keeps alive. Every SAE buffer is off-heap (direct
 * memory, counted by {@link MemoryPlan}); the heap only holds bookkeeping and per-step scratch. Left alone, G1
 * lets the young generation spread over the initial heap (1/64 of the machine's memory) and every page it ever
 * touched stays resident. So, once set-up garbage (initial weights, the geometric-median sample) is dead, this
 * lowers the free-heap ratios (both are manageable flags) and asks for one full collection, which shrinks the
 * committed heap to the live set plus head room; the collector then grows it only under real pressure.
 */
final class HeapTrim {
    private static final Logger LOG = LoggerFactory.getLogger(HeapTrim.class);
    private static boolean ratiosSet;

    private HeapTrim() {
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
