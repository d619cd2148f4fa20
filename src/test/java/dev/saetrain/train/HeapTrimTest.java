package dev.saetrain.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import org.junit.jupiter.api.Test;

/**
 * {@link HeapTrim#ifGrown}: after a trim, a heap the collector has grown well past the trimmed size is trimmed back
 * at the next call, and one that has not grown is left alone (no collection).
 */
class HeapTrimTest {

    private static long collections() {
        long n = 0;
        for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
            n += gc.getCollectionCount();
        }
        return n;
    }

    @Test
    void trimsAgainOnlyAfterTheHeapGrew() {
        Runtime rt = Runtime.getRuntime();
        HeapTrim.now("test start");
        long trimmed = rt.totalMemory();
        long want = 2 * trimmed + HeapTrim.GROWTH_SLACK + (64L << 20);
        assumeTrue(rt.maxMemory() > 2 * want, "the test JVM's heap may grow to " + (want >> 20) + " MiB");

        long collections = collections();
        HeapTrim.ifGrown(); // not grown: must not collect
        assertEquals(collections, collections(), "no collection while the heap is at its trimmed size");

        // Grow the committed heap with live data, then drop it.
        byte[][] held = new byte[(int) (want >> 24)][];
        for (int i = 0; i < held.length; i++) {
            held[i] = new byte[1 << 24];
        }
        long grown = rt.totalMemory();
        assumeTrue(grown > 2 * trimmed + HeapTrim.GROWTH_SLACK, "the collector grew the heap to " + (grown >> 20)
                + " MiB");
        held = null;
        HeapTrim.ifGrown();
        assertTrue(rt.totalMemory() < grown / 2, "trimmed back: " + (grown >> 20) + " MiB -> "
                + (rt.totalMemory() >> 20) + " MiB");
    }
}
