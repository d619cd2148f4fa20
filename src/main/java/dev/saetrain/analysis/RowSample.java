package dev.saetrain.analysis;

import dev.saetrain.data.Shard;
import dev.saetrain.data.ShardSet;
import dev.saetrain.error.BadInputException;
import java.util.List;
import java.util.function.BiConsumer;
import java.util.function.Supplier;
import java.util.stream.IntStream;

/**
 * A pass over evenly spaced rows of a shard set: sample row i of n is global row floor(i * total / n), so a sample
 * spans every shard (shards are usually in token order, and their first rows are not representative). Rows are read
 * as fp32 (raw values, no scaling) and checked for NaN and Inf. The rows are split into fixed chunks processed in
 * parallel, each with its own accumulator; the accumulators come back in chunk order, so a merge in that order gives
 * the same result whatever the thread count.
 */
public final class RowSample {
    /** Chunks of a pass: enough to balance the load over the cores, few enough to keep accumulators cheap. */
    private static final int CHUNKS = 64;

    private RowSample() {
    }

    /** Rows a pass over {@code set} with a limit of {@code maxRows} reads. */
    public static int count(ShardSet set, long maxRows) {
        return (int) Math.min(Math.min(maxRows, set.totalRows()), Integer.MAX_VALUE);
    }

    /** Global row numbers of the sample, [n]. */
    public static long[] rows(long total, int n) {
        long[] r = new long[n];
        for (int i = 0; i < n; i++) {
            r[i] = (long) ((double) i * total / n);
        }
        return r;
    }

    /**
     * Calls {@code perRow(row, acc)} for each of the {@code n} sample rows ({@code row} is [dIn], reused), with one
     * accumulator per chunk.
     *
     * @throws BadInputException naming the shard and row if a row holds NaN or Inf
     */
    public static <A> List<A> run(ShardSet set, int n, Supplier<A> newAcc, BiConsumer<float[], A> perRow) {
        long[] rows = rows(set.totalRows(), n);
        int chunks = Math.max(1, Math.min(CHUNKS, n));
        int d = set.dIn();
        return IntStream.range(0, chunks).parallel().mapToObj(c -> {
            A acc = newAcc.get();
            float[] x = new float[d];
            int from = (int) ((long) c * n / chunks);
            int to = (int) ((long) (c + 1) * n / chunks);
            for (int i = from; i < to; i++) {
                long g = rows[i];
                int si = set.shardOf(g);
                Shard s = set.shards().get(si);
                long local = g - set.offset(si);
                s.readRows(local, 1, 1f, x, 0);
                int bad = Shard.firstNonFinite(x, 0, d);
                if (bad >= 0) {
                    throw new BadInputException(s.path(), "row " + local + " has a non-finite value (" + x[bad]
                            + " in column " + bad + "); fix the activation cache");
                }
                perRow.accept(x, acc);
            }
            return acc;
        }).toList();
    }
}
