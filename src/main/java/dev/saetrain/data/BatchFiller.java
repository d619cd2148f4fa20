package dev.saetrain.data;

import dev.saetrain.error.BadInputException;
import dev.saetrain.error.UsageException;
import java.util.List;

/**
 * The producer side of an {@link ActivationStream}, single-threaded: follows a {@link RowOrder} through the
 * epochs and converts each drawn row straight from its mapped shard into the batch (fp32 times the scale).
 * The shuffle buffer holds row ids only, never data: a copy of the rows in fp32 would cost
 * {@code capacity * dIn * 4} bytes (256 MiB by default), a conversion on load, a copy on every draw and on
 * every swap-remove, where reading the row once at draw time costs one conversion and no copy. A load
 * touches the block's pages so that a cold file is still read sequentially, block by block.
 * Everything here depends only on the data, the options and the position, never on timing, which is what
 * makes batches reproducible and positions restorable.
 */
final class BatchFiller implements RowOrder.Sink {
    /** Consecutive rows read from one shard per load: big enough for sequential reads, small enough to mix. */
    static final int BLOCK_ROWS = 64;
    /** How often (in draws) a long replay checks whether the stream was closed. */
    private static final int REPLAY_CHECK = 1 << 20;

    private final ShardSet set;
    private final List<Shard> shards;
    private final StreamOptions options;
    private final int dIn;
    private final long fingerprint;
    private final RowOrder order;
    private long delivered;
    private long skipped;
    /** Draws since the last finite row; more than a whole epoch of them means no row is usable. */
    private long badRun;
    private float[] out;
    private int outRow;

    BatchFiller(ShardSet set, StreamOptions options) {
        this.set = set;
        this.shards = set.shards();
        this.options = options;
        this.dIn = set.dIn();
        int capacity = options.resolvedShuffleRows(dIn, set.totalRows());
        this.fingerprint = RowOrder.fingerprint(set.shardRows(), capacity, BLOCK_ROWS);
        this.order = new RowOrder(set.shardRows(), capacity, BLOCK_ROWS, options.seed());
    }

    /** The position of a stream that has delivered nothing yet. */
    StreamPosition start() {
        order.startEpoch(0);
        return position();
    }

    /** Refuses a position made with another seed, other shards or other options. */
    void checkRestorable(StreamPosition p) {
        if (p.seed() != options.seed() || p.fingerprint() != fingerprint) {
            throw new UsageException("the saved stream position was made with another seed, other shards "
                    + "or another shuffle buffer size (seed " + p.seed() + " vs " + options.seed() + ", fingerprint "
                    + Long.toHexString(p.fingerprint()) + " vs " + Long.toHexString(fingerprint)
                    + "); resume with the data and options of the original run");
        }
        if (p.rowsDelivered() % options.batch() != 0 || p.rowsDelivered() > options.maxRows()
                || p.drawnInEpoch() > set.totalRows()) {
            throw new UsageException("the saved stream position " + p + " does not fit batch "
                    + options.batch() + " and " + options.maxRows() + " rows; resume with the original options");
        }
    }

    /**
     * Replays the row order up to {@code p} without reading data (rows are read when drawn). Returns false
     * if the thread was interrupted during the replay.
     */
    boolean restore(StreamPosition p) {
        checkRestorable(p);
        order.startEpoch(p.epoch());
        for (long done = 0; done < p.drawnInEpoch(); done += REPLAY_CHECK) {
            order.skip(Math.min(REPLAY_CHECK, p.drawnInEpoch() - done));
            if (Thread.currentThread().isInterrupted()) {
                return false;
            }
        }
        delivered = p.rowsDelivered();
        skipped = p.skippedNonFinite();
        return true;
    }

    /** Fills {@code batch[0 .. options.batch() * dIn)} with the next rows and returns the position after them. */
    StreamPosition fill(float[] batch) {
        out = batch;
        outRow = 0;
        while (outRow < options.batch()) {
            if (order.epochDone()) {
                order.startEpoch(order.epoch() + 1);
            }
            order.next(this);
        }
        out = null;
        delivered += options.batch();
        return position();
    }

    private StreamPosition position() {
        return new StreamPosition(options.seed(), fingerprint, order.epoch(), order.drawnInEpoch(), delivered, skipped);
    }

    @Override
    public void load(int slot, int shard, long firstRow, int count) {
        shards.get(shard).touchRows(firstRow, count);
    }

    @Override
    public void draw(int slot, long row) {
        int at = outRow * dIn;
        int s = set.shardOf(row);
        shards.get(s).readRows(row - set.offset(s), 1, options.scale(), out, at);
        int bad = Shard.firstNonFinite(out, at, dIn);
        if (bad < 0) {
            outRow++;
            badRun = 0;
            return;
        }
        if (!options.skipNonFinite()) {
            throw ShardSet.nonFinite(shards.get(s), row - set.offset(s), bad, out[at + bad]);
        }
        skipped++;
        if (++badRun > set.totalRows()) {
            throw new BadInputException(set.source(), "every row holds NaN or Inf; there is nothing to train on, "
                    + "regenerate the activation cache");
        }
    }

    @Override
    public void move(int from, int to) {
        // Nothing to move: the buffer holds ids only, and RowOrder moves those itself.
    }
}
