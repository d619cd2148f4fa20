package dev.saetrain.synth;

import static dev.saetrain.error.Setting.ACTIVE;
import static dev.saetrain.error.Setting.DTYPE;
import static dev.saetrain.error.Setting.FEATURES;
import static dev.saetrain.error.Setting.ROWS_PER_SHARD;
import static dev.saetrain.error.Setting.SYNTH_D;
import static dev.saetrain.error.Setting.SYNTH_DECAY;
import static dev.saetrain.error.Setting.SYNTH_ROWS;

import dev.saetrain.error.UsageException;
import dev.saetrain.io.DType;

/**
 * Settings of a synthetic activation data set (Sharkey, Braun and Millidge 2022, "Taking features out of
 * superposition with sparse autoencoders"): {@code features} ground-truth directions in R^d, feature i firing
 * with probability proportional to {@code decay^i}, {@code active} features per row on average.
 *
 * @param d            width of each activation row (the SAE's d_in), >= 1
 * @param features     number of ground-truth features, >= 1; more than d puts them in superposition
 * @param active       expected number of features active per row, in (0, features]
 * @param decay        ratio of firing probabilities of consecutive features, in (0, 1]; 1 = all equally frequent
 * @param rows         total rows to generate, >= 1
 * @param rowsPerShard rows per .npy shard, >= 1 (the last shard holds the remainder)
 * @param seed         seed of every random draw; the same options give byte-identical files
 * @param dtype        on-disk element type of the shards, F32 or F16 (ground truth is always F32)
 */
public record SynthOptions(int d, int features, double active, double decay, long rows, int rowsPerShard, long seed,
                           DType dtype) {
    /** Largest Java array, so that one shard ([rowsPerShard, d]) and the ground truth fit in a float[]. */
    private static final long MAX_ELEMENTS = Integer.MAX_VALUE - 8;

    public SynthOptions {
        if (d < 1) {
            throw new UsageException(SYNTH_D, "must be >= 1, got " + d);
        }
        if (features < 1) {
            throw new UsageException(FEATURES, "must be >= 1, got " + features);
        }
        if ((long) features * d > MAX_ELEMENTS) {
            throw new UsageException(FEATURES, "* ", SYNTH_D, " = " + (long) features * d
                    + " does not fit in one array; use fewer features or a smaller d");
        }
        if (!(active > 0) || active > features) {
            throw new UsageException(ACTIVE, "must be in (0, ", FEATURES, " = " + features + "], got " + active);
        }
        if (!(decay > 0) || decay > 1) {
            throw new UsageException(SYNTH_DECAY, "must be in (0, 1], got " + decay
                    + "; 1 makes every feature equally frequent");
        }
        if (rows < 1) {
            throw new UsageException(SYNTH_ROWS, "must be >= 1, got " + rows);
        }
        if (rowsPerShard < 1) {
            throw new UsageException(ROWS_PER_SHARD, "must be >= 1, got " + rowsPerShard);
        }
        if ((long) rowsPerShard * d > MAX_ELEMENTS) {
            throw new UsageException(ROWS_PER_SHARD, "* ", SYNTH_D, " = " + (long) rowsPerShard * d
                    + " elements is too large for one shard; use at most " + MAX_ELEMENTS / d + " rows per shard");
        }
        if (dtype != DType.F32 && dtype != DType.F16) {
            throw new UsageException(DTYPE, "must be f32 or f16, got " + dtype);
        }
    }

    /** The defaults of {@code sae-train synth}: d 256, 512 features, 5 active, decay 0.99, 1M rows, F32. */
    public static SynthOptions defaults() {
        return new SynthOptions(256, 512, 5, 0.99, 1_000_000, 262_144, 0, DType.F32);
    }

    /** Number of shard files: ceil(rows / rowsPerShard). */
    public long shardCount() {
        return (rows + rowsPerShard - 1) / rowsPerShard;
    }

    /** Rows in shard {@code shard} (all full but the last). */
    public int rowsInShard(long shard) {
        return (int) Math.min(rowsPerShard, rows - shard * rowsPerShard);
    }

    public SynthOptions withRowsPerShard(int n) {
        return new SynthOptions(d, features, active, decay, rows, n, seed, dtype);
    }

    public SynthOptions withSeed(long s) {
        return new SynthOptions(d, features, active, decay, rows, rowsPerShard, s, dtype);
    }

    public SynthOptions withDtype(DType t) {
        return new SynthOptions(d, features, active, decay, rows, rowsPerShard, seed, t);
    }
}
