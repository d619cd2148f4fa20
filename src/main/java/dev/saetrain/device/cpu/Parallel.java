package dev.saetrain.device.cpu;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinWorkerThread;
import java.util.stream.IntStream;

/** A fixed pool of worker threads that runs loops split into contiguous chunks. */
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

    /** Slots of per-thread float scratch ({@link #floats}). */
    static final int SCRATCH_SLOTS = 4;

    private final ForkJoinPool pool;
    private final int threads;
    private final ThreadLocal<float[][]> scratch = ThreadLocal.withInitial(() -> new float[SCRATCH_SLOTS][0]);

    Parallel(int threads) {
        this.threads = threads;
        this.pool = new ForkJoinPool(threads, p -> {
            ForkJoinWorkerThread t = ForkJoinPool.defaultForkJoinWorkerThreadFactory.newThread(p);
            t.setName("sae-cpu-" + t.getPoolIndex());
            t.setDaemon(true);
            return t;
        }, null, false);
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
        int chunks = chunks(n, grain);
        if (chunks <= 1) {
            body.run(0, n);
            return;
        }
        pool.submit(() -> IntStream.range(0, chunks).parallel().forEach(c -> {
            body.run(bound(n, chunks, c), bound(n, chunks, c + 1));
        })).join();
    }

    /** Like forRange, summing the chunks' results in chunk order (deterministic for fixed threads). */
    double sumRange(int n, int grain, RangeSum body) {
        int chunks = chunks(n, grain);
        if (chunks <= 1) {
            return body.run(0, n);
        }
        double[] partial = new double[chunks];
        pool.submit(() -> IntStream.range(0, chunks).parallel().forEach(c -> {
            partial[c] = body.run(bound(n, chunks, c), bound(n, chunks, c + 1));
        })).join();
        double s = 0;
        for (double p : partial) {
            s += p;
        }
        return s;
    }

    /** Number of chunks used for n items (callers that keep per-chunk scratch size it with this). */
    int chunks(int n, int grain) {
        if (n <= 0) {
            return 0;
        }
        return (int) Math.max(1, Math.min((long) threads * 4, n / Math.max(1, (long) grain)));
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
        pool.submit(() -> IntStream.range(0, chunks).parallel().forEach(c -> {
            body.run(c, bound(n, chunks, c), bound(n, chunks, c + 1));
        })).join();
    }

    /** Like forChunks, summing the chunks' results in chunk order (deterministic for fixed threads). */
    double sumChunks(int n, int grain, ChunkSum body) {
        int chunks = chunks(n, grain);
        if (chunks <= 1) {
            return chunks == 1 ? body.run(0, 0, n) : 0;
        }
        double[] partial = new double[chunks];
        pool.submit(() -> IntStream.range(0, chunks).parallel().forEach(c -> {
            partial[c] = body.run(c, bound(n, chunks, c), bound(n, chunks, c + 1));
        })).join();
        double s = 0;
        for (double p : partial) {
            s += p;
        }
        return s;
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

    private static int bound(int n, int chunks, int c) {
        return (int) ((long) n * c / chunks);
    }

    @Override
    public void close() {
        pool.shutdownNow();
    }
}
