package dev.saetrain.data;

/**
 * The order in which rows are drawn, as a pure function of (seed, epoch, rows per shard, capacity): an
 * id-level simulation of the shuffle buffer, cheap enough to replay to any position without reading data.
 *
 * <p>Per epoch: while the buffer has room for a block, a shard is chosen with probability proportional to
 * its rows not yet read this epoch and its next {@code blockRows} consecutive rows are appended (so each
 * shard is read sequentially and all shards interleave); each drawn row is taken uniformly from the buffer
 * and its slot is refilled by the last one (swap-remove). Every row of an epoch is drawn exactly once.
 * A {@link Sink} mirrors loads, draws and moves onto the buffer that holds the actual data.
 */
final class RowOrder {
    /** Receives the buffer operations so that a data buffer can mirror the id buffer slot for slot. */
    interface Sink {
        /** Rows {@code [firstRow, firstRow + count)} of shard {@code shard} enter slots {@code [slot, slot + count)}. */
        void load(int slot, int shard, long firstRow, int count);

        /** The row in {@code slot} (global id {@code row}) is drawn. */
        void draw(int slot, long row);

        /** The row in slot {@code from} moves to slot {@code to}. */
        void move(int from, int to);
    }

    private final long[] shardRows;
    private final long[] offsets;
    private final long totalRows;
    private final int capacity;
    private final int blockRows;
    private final long seed;
    private final long[] ids;
    private final long[] remaining;
    private SplitMix64 rng;
    private long remainingTotal;
    private int size;
    private long epoch = -1;
    private long drawnInEpoch;

    RowOrder(long[] shardRows, int capacity, int blockRows, long seed) {
        assert capacity >= 1 && blockRows >= 1;
        this.shardRows = shardRows.clone();
        this.offsets = new long[shardRows.length];
        long t = 0;
        for (int i = 0; i < shardRows.length; i++) {
            offsets[i] = t;
            t += shardRows[i];
        }
        this.totalRows = t;
        this.capacity = capacity;
        this.blockRows = Math.min(blockRows, capacity);
        this.seed = seed;
        this.ids = new long[capacity];
        this.remaining = new long[shardRows.length];
    }

    /** Hash of what the order depends on besides the seed; a restore checks it. */
    static long fingerprint(long[] shardRows, int capacity, int blockRows) {
        long h = SplitMix64.mix(capacity * 31L + blockRows);
        for (long r : shardRows) {
            h = SplitMix64.mix(h ^ r) + 0x9E3779B97F4A7C15L;
        }
        return h;
    }

    /** Starts {@code epoch} with an empty buffer and its own seeded generator. */
    void startEpoch(long newEpoch) {
        epoch = newEpoch;
        rng = SplitMix64.forEpoch(seed, newEpoch);
        System.arraycopy(shardRows, 0, remaining, 0, remaining.length);
        remainingTotal = totalRows;
        size = 0;
        drawnInEpoch = 0;
    }

    long epoch() {
        return epoch;
    }

    long drawnInEpoch() {
        return drawnInEpoch;
    }

    /** Whether every row of the current epoch has been drawn. */
    boolean epochDone() {
        return remainingTotal == 0 && size == 0;
    }

    /** Rows now in the buffer. */
    int size() {
        return size;
    }

    /** Draws the next row of the epoch, telling {@code sink} (may be null) what happens; returns its global id. */
    long next(Sink sink) {
        assert !epochDone();
        while (remainingTotal > 0 && capacity - size >= blockRows) {
            loadBlock(sink);
        }
        int slot = (int) rng.nextLong(size);
        long row = ids[slot];
        if (sink != null) {
            sink.draw(slot, row);
        }
        size--;
        if (slot != size) {
            ids[slot] = ids[size];
            if (sink != null) {
                sink.move(size, slot);
            }
        }
        drawnInEpoch++;
        return row;
    }

    /** Advances {@code n} draws without a sink: the replay used to restore a position. */
    void skip(long n) {
        for (long i = 0; i < n; i++) {
            next(null);
        }
    }

    private void loadBlock(Sink sink) {
        long r = rng.nextLong(remainingTotal);
        int s = 0;
        while (r >= remaining[s]) {
            r -= remaining[s];
            s++;
        }
        int count = (int) Math.min(blockRows, remaining[s]);
        long first = shardRows[s] - remaining[s];
        for (int i = 0; i < count; i++) {
            ids[size + i] = offsets[s] + first + i;
        }
        if (sink != null) {
            sink.load(size, s, first, count);
        }
        size += count;
        remaining[s] -= count;
        remainingTotal -= count;
    }
}
