package dev.saetrain.device.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;

/**
 * {@link Parallel}: every index of a loop runs exactly once, chunk sums add in chunk order (the same bits every
 * time), a failing chunk's exception reaches the caller and the pool keeps working, nested loops and many tiny loops
 * in a row finish, and the caller's thread takes part.
 */
class ParallelTest {

    @Test
    void everyIndexRunsOnceAndSumsAreDeterministic() {
        try (Parallel par = new Parallel(3)) {
            for (int n : new int[] {0, 1, 7, 64, 1000, 4097}) {
                for (int grain : new int[] {1, 8, 5000}) {
                    AtomicIntegerArray hits = new AtomicIntegerArray(Math.max(1, n));
                    par.forRange(n, grain, (lo, hi) -> {
                        for (int i = lo; i < hi; i++) {
                            hits.incrementAndGet(i);
                        }
                    });
                    AtomicIntegerArray chunkHits = new AtomicIntegerArray(Math.max(1, n));
                    par.forChunks(n, grain, (c, lo, hi) -> {
                        for (int i = lo; i < hi; i++) {
                            chunkHits.incrementAndGet(i);
                        }
                    });
                    for (int i = 0; i < n; i++) {
                        assertEquals(1, hits.get(i), "forRange n=" + n + " grain=" + grain + " index " + i);
                        assertEquals(1, chunkHits.get(i), "forChunks n=" + n + " grain=" + grain + " index " + i);
                    }
                    double first = par.sumRange(n, grain, (lo, hi) -> {
                        double s = 0;
                        for (int i = lo; i < hi; i++) {
                            s += 1.0 / (i + 1);
                        }
                        return s;
                    });
                    for (int rep = 0; rep < 20; rep++) {
                        double again = par.sumChunks(n, grain, (c, lo, hi) -> {
                            double s = 0;
                            for (int i = lo; i < hi; i++) {
                                s += 1.0 / (i + 1);
                            }
                            return s;
                        });
                        assertEquals(Double.doubleToLongBits(first), Double.doubleToLongBits(again),
                                "chunk sums in chunk order, n=" + n);
                    }
                }
            }
        }
    }

    @Test
    void aFailingChunkReachesTheCallerAndThePoolGoesOn() {
        try (Parallel par = new Parallel(2)) {
            IllegalStateException boom = new IllegalStateException("chunk 3 failed");
            IllegalStateException got = assertThrows(IllegalStateException.class, () -> par.forChunks(64, 8,
                    (c, lo, hi) -> {
                        if (c == 3) {
                            throw boom;
                        }
                    }));
            assertSame(boom, got);
            assertEquals(64.0, par.sumRange(64, 8, (lo, hi) -> hi - lo), 0.0);
        }
    }

    @Test
    void nestedAndManyTinyLoopsFinishAndTheCallerTakesPart() {
        assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
            try (Parallel par = new Parallel(2)) {
                double total = par.sumChunks(16, 1, (c, lo, hi) -> par.sumRange(100, 10, (a, b) -> b - a));
                assertEquals(par.chunks(16, 1) * 100.0, total, 0.0);
                Set<Thread> runners = ConcurrentHashMap.newKeySet();
                long s = 0;
                for (int i = 0; i < 20_000; i++) {
                    s += (long) par.sumRange(16, 2, (lo, hi) -> {
                        runners.add(Thread.currentThread());
                        return hi - lo;
                    });
                }
                assertEquals(20_000L * 16, s);
                assertTrue(runners.contains(Thread.currentThread()), "the caller runs chunks too: " + runners);
                assertTrue(runners.size() <= 2, "at most the caller and one helper: " + runners);
                // Chunks that outlast the caller's spin: it must block and be woken by the last one to finish.
                for (int i = 0; i < 10; i++) {
                    assertEquals(8.0, par.sumChunks(8, 1, (c, lo, hi) -> {
                        try {
                            Thread.sleep(2);
                        } catch (InterruptedException e) {
                            throw new IllegalStateException(e);
                        }
                        return hi - lo;
                    }), 0.0);
                }
            }
        });
    }
}
