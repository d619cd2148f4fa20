package dev.saetrain.data;

import static dev.saetrain.error.Setting.BATCH;
import static dev.saetrain.error.Setting.SHUFFLE_ROWS;

import dev.saetrain.error.UsageException;

/**
 * How an {@link ActivationStream} delivers rows. Validated here, once.
 *
 * @param batch           rows per batch, >= 1; batches are {@code [batch, dIn]} fp32, row-major
 * @param maxRows         rows to deliver in total (epochs * totalRows, or a token budget); only whole batches
 *                        are delivered, so the stream ends after {@code maxRows / batch} batches
 * @param seed            seed of the row order; equal seeds and options give bit-identical batches
 * @param shuffleRows     capacity of the shuffle buffer in rows, {@link #AUTO_ROWS} (0) for the default rule
 *                        {@code max(8 * batch, 256 MiB / (4 * dIn))}, or {@link #ALL_ROWS} (-1) for the whole
 *                        data set (a uniform permutation per epoch); always capped at the total rows
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
    /** {@link #shuffleRows()} for the default rule. */
    public static final int AUTO_ROWS = 0;
    /** {@link #shuffleRows()} for a buffer as large as the data set. */
    public static final int ALL_ROWS = -1;
    /** Most rows a buffer can hold: its row ids are one Java array. */
    static final long MAX_BUFFER_ROWS = Integer.MAX_VALUE - 8;

    public StreamOptions {
        if (batch < 1) {
            throw new UsageException(BATCH, "must be >= 1, got " + batch);
        }
        if (maxRows < 0) {
            throw new IllegalArgumentException("the number of rows to train on must be >= 0, got " + maxRows);
        }
        requireShuffleRows(shuffleRows);
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

    /** A copy with another shuffle buffer capacity ({@link #AUTO_ROWS}, {@link #ALL_ROWS} or rows). */
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
     * {@link #shuffleRows()} if set, the total rows for {@link #ALL_ROWS}, else
     * {@code max(8 * batch, 256 MiB / (4 * dIn))}; capped at totalRows. The buffer holds row ids (8 bytes a row),
     * never data ({@link BatchFiller}), so its limit is that of one Java array and of the heap.
     */
    public int resolvedShuffleRows(int dIn, long totalRows) {
        long rows = shuffleRows == ALL_ROWS ? totalRows
                : shuffleRows > 0 ? shuffleRows : Math.max(8L * batch, DEFAULT_SHUFFLE_BYTES / (4L * dIn));
        rows = Math.max(1, Math.min(rows, totalRows));
        if (rows > MAX_BUFFER_ROWS) {
            throw new UsageException(SHUFFLE_ROWS, "is " + shuffleRowsText(shuffleRows) + ": a buffer of " + rows
                    + " rows, more than the " + MAX_BUFFER_ROWS + " a shuffle buffer can hold; give fewer rows");
        }
        long idBytes = rows * Long.BYTES;
        long heap = Runtime.getRuntime().maxMemory();
        if (idBytes > heap / 4) {
            throw new UsageException(SHUFFLE_ROWS, "is " + shuffleRowsText(shuffleRows) + ": a buffer of " + rows
                    + " rows, whose ids take " + (idBytes >> 20) + " MiB, more than a quarter of the Java heap ("
                    + (heap >> 20) + " MiB); give fewer rows or raise the heap (java -Xmx)");
        }
        return (int) rows;
    }

    /** Parses {@code auto}, {@code all} or a number of rows >= 1, as train's option and config.json give it. */
    public static int parseShuffleRows(String text) {
        if ("auto".equals(text)) {
            return AUTO_ROWS;
        }
        if ("all".equals(text)) {
            return ALL_ROWS;
        }
        try {
            int rows = Integer.parseInt(text);
            if (rows >= 1 && rows <= MAX_BUFFER_ROWS) {
                return rows;
            }
        } catch (NumberFormatException e) {
            // Not a number: refused below with the choices (numbers past 2^31 are refused the same way).
        }
        throw new UsageException(SHUFFLE_ROWS, "must be auto, all or a number of rows in [1, " + MAX_BUFFER_ROWS
                + "], got '" + text + "'");
    }

    /** Refuses a {@link #shuffleRows()} value that is none of {@link #AUTO_ROWS}, {@link #ALL_ROWS} or rows >= 1. */
    public static void requireShuffleRows(int shuffleRows) {
        if (shuffleRows < ALL_ROWS) {
            throw new UsageException(SHUFFLE_ROWS, "must be auto, all or a number of rows >= 1, got " + shuffleRows);
        }
    }

    /** {@code shuffleRows} as {@link #parseShuffleRows} reads it back. */
    public static String shuffleRowsText(int shuffleRows) {
        return shuffleRows == AUTO_ROWS ? "auto" : shuffleRows == ALL_ROWS ? "all" : Integer.toString(shuffleRows);
    }
}
