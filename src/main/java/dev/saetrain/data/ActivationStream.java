package dev.saetrain.data;

import dev.saetrain.error.BadInputException;
import java.nio.file.Path;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;

/**
 * Batches of activation rows for training: {@code [batch, dIn]} fp32, row-major, every value multiplied by
 * {@link StreamOptions#scale()}, rows mixed across shards by a seeded shuffle buffer (see {@link RowOrder}).
 * Runs whole epochs (each row once per epoch, a fresh order per epoch) until {@code maxRows / batch} whole
 * batches have been delivered.
 *
 * <p>A daemon thread ("sae-train-prefetch") converts batches ahead into a pool of
 * {@code prefetchBatches} reused buffers. Batches depend only on the data, the options and the seed, never
 * on thread timing. An error in that thread (a NaN row, a truncated file) is delivered to the consumer in
 * order: the batches before it, then the exception on the next call to {@link #next}, and on every call after.
 *
 * <p>{@link #position()} describes what the consumer has received; a stream built with the same shards and
 * options and that position continues with exactly the batches this one would have delivered next.
 * One consumer thread; not thread-safe otherwise.
 */
public final class ActivationStream implements AutoCloseable {
    private record Item(float[] data, StreamPosition after, RuntimeException failure) {
    }

    private static final Item END = new Item(null, null, null);
    private static final Item DIED = new Item(null, null, null);

    private final StreamOptions options;
    private final int dIn;
    private final BlockingQueue<float[]> free;
    private final BlockingQueue<Item> ready;
    private final Thread producer;
    private volatile boolean closed;
    private StreamPosition position;
    private RuntimeException failure;
    private boolean finished;

    /** A stream from the start of epoch 0. */
    public ActivationStream(ShardSet set, StreamOptions options) {
        this(set, options, null);
    }

    /**
     * A stream that continues from {@code restoreFrom} (null: from the start).
     *
     * @throws UsageException if the position was made with another seed, other shards or options
     */
    public ActivationStream(ShardSet set, StreamOptions options, StreamPosition restoreFrom) {
        this.options = options;
        this.dIn = set.dIn();
        BatchFiller filler = new BatchFiller(set, options);
        this.position = restoreFrom == null ? filler.start() : restoreFrom;
        if (restoreFrom != null) {
            // Validate here so that a wrong checkpoint fails in the caller; the slow replay runs on the thread.
            filler.checkRestorable(restoreFrom);
        }
        int depth = options.prefetchBatches();
        this.free = new ArrayBlockingQueue<>(depth);
        for (int i = 0; i < depth; i++) {
            free.add(new float[Math.multiplyExact(options.batch(), dIn)]);
        }
        // One slot more than buffers exist, so the final END or failure item always fits without blocking.
        this.ready = new ArrayBlockingQueue<>(depth + 1);
        long firstBatch = position.rowsDelivered() / options.batch();
        this.producer = new Thread(() -> produce(set.source(), filler, restoreFrom, firstBatch), "sae-train-prefetch");
        producer.setDaemon(true);
        producer.start();
    }

    private void produce(Path source, BatchFiller filler, StreamPosition restoreFrom, long firstBatch) {
        boolean handedOver = false;
        try {
            if (restoreFrom != null && !filler.restore(restoreFrom)) {
                handedOver = true;
                return;
            }
            for (long b = firstBatch; b < options.batches() && !closed; b++) {
                float[] buf = free.take();
                StreamPosition after = filler.fill(buf);
                ready.put(new Item(buf, after, null));
            }
            ready.put(END);
            handedOver = true;
        } catch (InterruptedException e) {
            // close() interrupts us: stop without handing anything over.
            handedOver = true;
        } catch (RuntimeException e) {
            handedOver = ready.offer(new Item(null, null, e));
        } catch (InternalError e) {
            // A page fault on a mapped shard that the JVM delivered after Shard's own read returned (it reports
            // faults in compiled code late): the file is no longer known, the directory is.
            handedOver = ready.offer(new Item(null, null, new BadInputException(source, "a shard changed or was "
                    + "truncated while the run was reading it (shards are memory-mapped): leave shards unchanged "
                    + "during a run; restore the files and resume, or start again", e)));
        } finally {
            if (!handedOver) {
                // Only an Error gets here; it still reaches the uncaught-exception handler after this.
                ready.offer(DIED);
            }
        }
    }

    /**
     * Copies the next batch into {@code dst[0 .. batch * dIn)}.
     *
     * @return true if a batch was delivered, false once {@code maxRows / batch} batches have been
     * @throws BadInputException for bad data met while producing (a non-finite row, unless skipped)
     */
    public boolean next(float[] dst) {
        if (closed) {
            throw new IllegalStateException("the activation stream is closed");
        }
        if (failure != null) {
            throw failure;
        }
        if (finished) {
            return false;
        }
        int n = options.batch() * dIn;
        if (dst.length < n) {
            throw new IllegalArgumentException("batch buffer holds " + dst.length + " floats, needs batch * dIn = " + n);
        }
        Item item;
        try {
            item = ready.take();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for the next batch", e);
        }
        if (item == END) {
            finished = true;
            return false;
        }
        if (item == DIED) {
            failure = new IllegalStateException("the prefetch thread died; see the error it printed");
            throw failure;
        }
        if (item.failure() != null) {
            failure = item.failure();
            throw failure;
        }
        System.arraycopy(item.data(), 0, dst, 0, n);
        position = item.after();
        free.add(item.data());
        return true;
    }

    /** What the consumer has received so far; pass it to the constructor to continue from here. */
    public StreamPosition position() {
        return position;
    }

    /** Rows skipped because they held NaN or Inf, up to the consumer's position. */
    public long skippedNonFinite() {
        return position.skippedNonFinite();
    }

    /** Width of a row. */
    public int dIn() {
        return dIn;
    }

    /** The options this stream runs with. */
    public StreamOptions options() {
        return options;
    }

    /**
     * The factor c with E|c x| = sqrt(dIn) over the first {@code sampleRows} rows in file order, so that
     * scaled inputs have the norm the training recipes assume; see {@link ScaleEstimator}.
     */
    public static float estimateScale(ShardSet set, int sampleRows, boolean skipNonFinite) {
        return ScaleEstimator.estimate(set, sampleRows, skipNonFinite);
    }

    /** Stops the prefetch thread and waits for it; idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        producer.interrupt();
        boolean interrupted = false;
        while (producer.isAlive()) {
            try {
                producer.join();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}
