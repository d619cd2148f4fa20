package dev.saetrain.train;

import dev.saetrain.device.Device;
import dev.saetrain.device.FloatBuf;
import dev.saetrain.device.SparseActs;
import dev.saetrain.device.StepShape;

/**
 * The batch as consecutive blocks of at most {@link SharedParts#preRows} rows, for a step that encodes and selects
 * one block at a time into the [preRows, m] pre-activations (every architecture does, when the whole matrix would pass
 * the block cap; docs/design.md, "Pre-activations in row blocks"). Block j holds rows [first(j), first(j) + rows(j)); the last block may be shorter. Its [B, cols] buffers are seen per block
 * through {@link Device#floatView} (no copy); its sparse activations are one {@link SparseActs} per block, so that
 * every op of the block takes the block's own shape.
 */
final class RowBlocks {
    private final int batch;
    private final int per;
    private final int count;
    private final int d;
    private final int m;

    RowBlocks(int batch, int per, int d, int m) {
        if (per < 1 || per > batch) {
            throw new IllegalArgumentException("block of " + per + " rows for a batch of " + batch);
        }
        this.batch = batch;
        this.per = per;
        this.count = (batch + per - 1) / per;
        this.d = d;
        this.m = m;
    }

    int count() {
        return count;
    }

    int first(int j) {
        return j * per;
    }

    int rows(int j) {
        return Math.min(per, batch - j * per);
    }

    /** The step's shape (rows(j), d, m) for block j. */
    StepShape shape(int j) {
        return new StepShape(rows(j), d, m);
    }

    /** Block j's rows of {@code whole} [batch, cols], one view each. */
    FloatBuf[] views(Device dev, FloatBuf whole, int cols) {
        FloatBuf[] v = new FloatBuf[count];
        for (int j = 0; j < count; j++) {
            v[j] = rows(dev, whole, first(j), rows(j), cols);
        }
        return v;
    }

    /** Rows [first, first + n) of {@code whole} [batch, cols] as one view (no copy). */
    static FloatBuf rows(Device dev, FloatBuf whole, int first, int n, int cols) {
        return dev.floatView(whole, (long) first * cols, (long) n * cols);
    }

    /**
     * {@code acts}' buffers as sparse activations of {@code rows} rows (at most its own): one buffer serving blocks of
     * fewer rows than it was allocated for, since the ops read a SparseActs' row count.
     */
    static SparseActs firstRows(SparseActs acts, int rows) {
        return rows == acts.batch() ? acts
                : new SparseActs(acts.rowPtr(), acts.idx(), acts.val(), acts.grad(), rows, acts.capacity());
    }

    /** One {@link SparseActs} per block with {@code perRow} entries a row, allocated by {@code a}. */
    SparseActs[] sparse(Allocator a, int perRow) {
        SparseActs[] s = new SparseActs[count];
        for (int j = 0; j < count; j++) {
            s[j] = a.sparse(rows(j), (long) rows(j) * perRow);
        }
        return s;
    }
}
