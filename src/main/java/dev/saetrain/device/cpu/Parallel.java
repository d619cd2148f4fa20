package dev.saetrain.device.cpu;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntConsumer;

/**
 * Runs loops split into contiguous chunks on the calling thread plus {@code threads - 1} helper threads.
 *
 * <p>Each loop is a {@link Job}: the caller and the helpers it wakes claim chunk numbers from one counter until none
 * are left, and the caller returns once every chunk has finished. No fork/join machinery: this used to be a parallel
 * stream run inside a ForkJoinPool, and under a full test run on JDK 17.0.15 the pool once stopped with its only
 * worker parked waiting for stream subtasks that no thread ran (seen in a thread dump; not reproduced). Here a waiting
 * thread only ever waits for chunks another thread has claimed and is running, so a loop cannot stall, nested loops
 * included. Results do not depend on which thread runs a chunk (partial sums are kept per chunk and added in chunk
 * order), so they are deterministic for a fixed thread count.
 */
final class Parallel implements AutoCloseable {
    /** Body of a chunked loop over [from, to). */
    @FunctionalInterface
    interface Range {
        void run(int from, int to);
    }

    /** Body of a chunked loop over [from, to) that returns a partial sum. */
    @FunctionalInterface
    interface RangeSum {
        double run(int from, int to);
    }

    /** Body of a chunked loop over [from, to) of elements past 2^31 - 1 (a buffer's flat range). */
    @FunctionalInterface
    interface LongRange {
        void run(long from, long to);
    }

    /** Body of a chunked loop over a long range that returns a partial sum. */
    @FunctionalInterface
    interface LongRangeSum {
        double run(long from, long to);
    }

    /** Body of a chunked loop that knows its chunk number and returns a partial sum. */
    @FunctionalInterface
    interface ChunkSum {
        double run(int chunk, int from, int to);
    }

    /** Body of a loop that knows its chunk number. */
    @FunctionalInterface
    interface ChunkBody {
        void run(int chunk, int from, int to);
    }

    /** Slots of per-thread float scratch ({@link #floats}). */
    static final int SCRATCH_SLOTS = 4;
    /** How long a caller spins for the last chunks before it blocks (a loop's tail is often microseconds). */
    private static final long SPIN_NANOS = 20_000;

    private final int threads;
    private final ExecutorService helpers; // null with one thread
    private final ThreadLocal<float[][]> scratch = ThreadLocal.withInitial(() -> new float[SCRATCH_SLOTS][0]);

    Parallel(int threads) {
        this.threads = threads;
        if (threads > 1) {
            AtomicInteger n = new AtomicInteger();
            this.helpers = Executors.newFixedThreadPool(threads - 1, r -> {
                Thread t = new Thread(r, "sae-cpu-" + n.getAndIncrement());
                t.setDaemon(true);
                return t;
            });
        } else {
            this.helpers = null;
        }
    }

    int threads() {
        return threads;
    }

    /**
     * The calling thread's scratch array {@code slot} (0 .. {@link #SCRATCH_SLOTS} - 1), at least n floats, zero
     * over [0, n). For chunk bodies: a body runs on one thread and starts no loop of its own, so each thread needs
     * one array per slot, kept for the device's life, where the ops would otherwise allocate a few row-sized
     * arrays per chunk and call (tens of them per step, each a few KiB: young-generation churn).
     */
    float[] floats(int slot, int n) {
        float[][] s = scratch.get();
        float[] a = s[slot];
        if (a.length < n) {
            a = new float[n];
            s[slot] = a;
        } else {
            java.util.Arrays.fill(a, 0, n, 0f);
        }
        return a;
    }

    /** Runs body over [0, n) in about 4 chunks per thread (at least {@code grain} items each). */
    void forRange(int n, int grain, Range body) {
        forLongRange(n, grain, (lo, hi) -> body.run((int) lo, (int) hi));
    }

    /** Like forRange, summing the chunks' results in chunk order (deterministic for fixed threads). */
    double sumRange(int n, int grain, RangeSum body) {
        return sumLongRange(n, grain, (lo, hi) -> body.run((int) lo, (int) hi));
    }

    /** forRange over [0, n) for n that may exceed an int (elements of a whole buffer). */
    void forLongRange(long n, int grain, LongRange body) {
        int chunks = chunks(n, grain);
        if (chunks <= 1) {
            body.run(0, n);
            return;
        }
        run(chunks, c -> body.run(bound(n, chunks, c), bound(n, chunks, c + 1)));
    }

    /** sumRange over [0, n) for n that may exceed an int; chunks summed in order. */
    double sumLongRange(long n, int grain, LongRangeSum body) {
        int chunks = chunks(n, grain);
        if (chunks <= 1) {
            return body.run(0, n);
        }
        double[] partial = new double[chunks];
        run(chunks, c -> partial[c] = body.run(bound(n, chunks, c), bound(n, chunks, c + 1)));
        return sumInOrder(partial);
    }

    /** Number of chunks used for n items (callers that keep per-chunk scratch size it with this). */
    int chunks(long n, int grain) {
        if (n <= 0) {
            return 0;
        }
        return (int) Math.max(1, Math.min((long) threads * 4, n / Math.max(1, grain)));
    }

    private static long bound(long n, int chunks, int c) {
        return n / chunks * c + n % chunks * c / chunks; // floor(n c / chunks) without overflowing n c
    }

    /** Runs body(c, from, to) for each chunk c of chunks(n, grain). */
    void forChunks(int n, int grain, ChunkBody body) {
        int chunks = chunks(n, grain);
        if (chunks <= 1) {
            if (chunks == 1) {
                body.run(0, 0, n);
            }
            return;
        }
        run(chunks, c -> body.run(c, (int) bound(n, chunks, c), (int) bound(n, chunks, c + 1)));
    }

    /** Like forChunks, summing the chunks' results in chunk order (deterministic for fixed threads). */
    double sumChunks(int n, int grain, ChunkSum body) {
        int chunks = chunks(n, grain);
        if (chunks <= 1) {
            return chunks == 1 ? body.run(0, 0, n) : 0;
        }
        double[] partial = new double[chunks];
        run(chunks, c -> partial[c] = body.run(c, (int) bound(n, chunks, c), (int) bound(n, chunks, c + 1)));
        return sumInOrder(partial);
    }

    private static double sumInOrder(double[] partial) {
        double s = 0;
        for (double p : partial) {
            s += p;
        }
        return s;
    }

    /** Runs chunk(c) for every c in [0, chunks) on the caller and the helpers; rethrows the first failure. */
    private void run(int chunks, IntConsumer chunk) {
        Job job = new Job(chunks, chunk);
        if (helpers != null) {
            for (int h = Math.min(threads - 1, chunks - 1); h > 0; h--) {
                helpers.execute(job);
            }
        }
        job.run();
        job.awaitAll();
        Throwable t = job.failure;
        if (t instanceof RuntimeException e) {
            throw e;
        }
        if (t instanceof Error e) {
            throw e;
        }
        if (t != null) {
            throw new IllegalStateException(t);
        }
    }

    /** One loop: chunks claimed from a counter by whoever runs it; done counts finished chunks. */
    private static final class Job implements Runnable {
        private final int chunks;
        private final IntConsumer chunk;
        private final AtomicInteger next = new AtomicInteger();
        private final AtomicInteger done = new AtomicInteger();
        private volatile Throwable failure;

        Job(int chunks, IntConsumer chunk) {
            this.chunks = chunks;
            this.chunk = chunk;
        }

        @Override
        public void run() {
            for (int c = next.getAndIncrement(); c < chunks; c = next.getAndIncrement()) {
                try {
                    if (failure == null) {
                        chunk.accept(c);
                    }
                } catch (Throwable t) {
                    synchronized (this) {
                        if (failure == null) {
                            failure = t;
                        }
                    }
                } finally {
                    if (done.incrementAndGet() == chunks) {
                        synchronized (this) {
                            notifyAll();
                        }
                    }
                }
            }
        }

        /** Returns once every chunk has finished (the caller has claimed all it could, so the rest are running). */
        void awaitAll() {
            long until = System.nanoTime() + SPIN_NANOS;
            while (done.get() < chunks) {
                if (System.nanoTime() < until) {
                    Thread.onSpinWait();
                    continue;
                }
                synchronized (this) {
                    boolean interrupted = false;
                    while (done.get() < chunks) {
                        try {
                            wait();
                        } catch (InterruptedException e) {
                            interrupted = true; // chunks in flight must finish before their buffers are reused
                        }
                    }
                    if (interrupted) {
                        Thread.currentThread().interrupt();
                    }
                }
            }
        }
    }

    @Override
    public void close() {
        if (helpers != null) {
            helpers.shutdownNow();
        }
    }
}
