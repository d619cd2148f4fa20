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

    /** Block j's rows of the batch buffers x_in, x_hat and err, [rows(j), d] each ({@link SharedParts#blockViews()}). */
    record Views(FloatBuf[] xIn, FloatBuf[] xHat, FloatBuf[] err) {
    }

    /** Firing pairs and sum of squared residuals of some rows of the batch. */
    record Part(long active, double sse) {
        Part plus(Part o) {
            return new Part(active + o.active, sse + o.sse);
        }
    }

    /**
     * The sparse path, over some rows of the batch, of an activation that reads each row alone (relu, relu-2023,
     * jumprelu): what {@link #sparseInHalves} runs.
     */
    interface SparseRows {
        /** Compacts the activations of {@code pre} [rows, m] into {@code acts}: their firing pairs, or < 0 on overflow. */
        long compact(FloatBuf pre, StepShape shape, SparseActs acts);

        /**
         * Records, decodes and backpropagates rows [first, first + shape.batch()) of the batch, whose pre-activations are
         * {@code pre} and whose activations {@code acts} holds. {@code firstRows}: these are the batch's first rows
         * (they overwrite what the later rows add to). Returns their sum of squared residuals.
         */
        double finish(SparseActs acts, FloatBuf pre, StepShape shape, int first, boolean firstRows);
    }

    /**
     * {@code path} over rows [first, first + rows) of the batch, held in rows [preRow, preRow + rows) of {@code s.pre},
     * with {@code acts} for their sparse activations (it holds at least one whole row). When their firing pairs
     * overflow acts, the rows are split in halves, down to single rows, where the whole batch would turn dense: the
     * same step, summed in another order.
     */
    static Part sparseInHalves(SharedParts s, SparseActs acts, int first, int preRow, int rows, boolean firstRows,
                               SparseRows path) {
        StepShape shape = new StepShape(rows, s.d, s.m);
        SparseActs a = firstRows(acts, rows);
        FloatBuf pre = rows(s.dev, s.pre, preRow, rows, s.m);
        long nnz = path.compact(pre, shape, a);
        if (nnz < 0) {
            if (rows == 1) {
                throw new IllegalStateException("one row's firing pairs overflow " + acts.capacity() + " entries");
            }
            int half = rows / 2;
            return sparseInHalves(s, acts, first, preRow, half, firstRows, path)
                    .plus(sparseInHalves(s, acts, first + half, preRow + half, rows - half, false, path));
        }
        return new Part(nnz, path.finish(a, pre, shape, first, firstRows));
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
