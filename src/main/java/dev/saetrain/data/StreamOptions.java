package dev.saetrain.data;

import static dev.saetrain.error.Setting.BATCH;

import dev.saetrain.error.UsageException;

/**
 * How an {@link ActivationStream} delivers rows. Validated here, once.
 *
 * @param batch           rows per batch, >= 1; batches are {@code [batch, dIn]} fp32, row-major
 * @param maxRows         rows to deliver in total (epochs * totalRows, or a token budget); only whole batches
 *                        are delivered, so the stream ends after {@code maxRows / batch} batches
 * @param seed            seed of the row order; equal seeds and options give bit-identical batches
 * @param shuffleRows     capacity of the shuffle buffer in rows, or 0 for the default rule
 *                        {@code max(8 * batch, 256 MiB / (4 * dIn))}; either way capped at the total rows
 * @param scale           factor every value is multiplied by after conversion to fp32 (finite, > 0)
 * @param skipNonFinite   skip (and count) rows holding NaN or Inf instead of failing on the first
 * @param prefetchBatches ready batches the background thread keeps queued, >= 1
 */
public record StreamOptions(int batch, long maxRows, long seed, int shuffleRows, float scale, boolean skipNonFinite,
                            int prefetchBatches) {
    /** Default shuffle buffer size in bytes of fp32 rows. */
    public static final long DEFAULT_SHUFFLE_BYTES = 256L << 20;
    /** Default queue depth of the prefetch thread. */
    public static final int DEFAULT_PREFETCH = 4;

    public StreamOptions {
        if (batch < 1) {
            throw new UsageException(BATCH, "must be >= 1, got " + batch);
        }
        if (maxRows < 0) {
            throw new IllegalArgumentException("the number of rows to train on must be >= 0, got " + maxRows);
        }
        if (shuffleRows < 0) {
            throw new IllegalArgumentException("the shuffle buffer must be >= 0 rows (0 = automatic), got "
                    + shuffleRows);
        }
        if (!(scale > 0) || !Float.isFinite(scale)) {
            throw new IllegalArgumentException("the input scale must be a finite number > 0, got " + scale);
        }
        if (prefetchBatches < 1) {
            throw new IllegalArgumentException("prefetch depth must be >= 1 batch, got " + prefetchBatches);
        }
    }

    /** Options with scale 1, the automatic shuffle buffer, failing on non-finite rows and 4 batches prefetched. */
    public static StreamOptions of(int batch, long maxRows, long seed) {
        return new StreamOptions(batch, maxRows, seed, 0, 1f, false, DEFAULT_PREFETCH);
    }

    /** A copy with another scale factor. */
    public StreamOptions withScale(float newScale) {
        return new StreamOptions(batch, maxRows, seed, shuffleRows, newScale, skipNonFinite, prefetchBatches);
    }

    /** A copy with another shuffle buffer capacity (0 = automatic). */
    public StreamOptions withShuffleRows(int rows) {
        return new StreamOptions(batch, maxRows, seed, rows, scale, skipNonFinite, prefetchBatches);
    }

    /** A copy that skips or fails on non-finite rows. */
    public StreamOptions withSkipNonFinite(boolean skip) {
        return new StreamOptions(batch, maxRows, seed, shuffleRows, scale, skip, prefetchBatches);
    }

    /** Number of whole batches the stream delivers. */
    public long batches() {
        return maxRows / batch;
    }

    /**
     * The shuffle buffer capacity for rows of width {@code dIn} and a data set of {@code totalRows} rows:
     * {@link #shuffleRows()} if set, else {@code max(8 * batch, 256 MiB / (4 * dIn))}, capped at totalRows.
     */
    public int resolvedShuffleRows(int dIn, long totalRows) {
        long rows = shuffleRows > 0 ? shuffleRows : Math.max(8L * batch, DEFAULT_SHUFFLE_BYTES / (4L * dIn));
        rows = Math.max(1, Math.min(rows, totalRows));
        if (rows * dIn > Integer.MAX_VALUE - 8) {
            throw UsageException.of("a shuffle buffer of " + rows + " rows x " + dIn
                    + " floats exceeds the 2^31 limit of a Java array; lower ", BATCH);
        }
        return (int) rows;
    }
}
