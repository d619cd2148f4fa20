package dev.saetrain.train;

import dev.saetrain.error.UsageException;

/**
 * Firing counts of one SAE's latents for the exported sparsity: counted over the LR-decay phase (the last
 * 20 % of steps, where the dictionary has settled), or over the whole run when that phase saw no tokens.
 */
final class FiringTracker {
    private final long[] all;
    private final long[] late;
    private final long lateFrom;
    private long allRows;
    private long lateRows;

    /** @param lateFrom first step of the late window */
    FiringTracker(int nLatents, long lateFrom) {
        this.all = new long[nLatents];
        this.late = new long[nLatents];
        this.lateFrom = lateFrom;
    }

    /** Adds counts gathered over {@code rows} rows ending at {@code step} (intervals never straddle lateFrom). */
    void add(int[] counts, long rows, long step) {
        boolean isLate = step >= lateFrom;
        for (int i = 0; i < counts.length; i++) {
            all[i] += counts[i];
            if (isLate) {
                late[i] += counts[i];
            }
        }
        allRows += rows;
        if (isLate) {
            lateRows += rows;
        }
    }

    /** Counts as they stand, for a checkpoint: per-latent firings over all rows and over the late window. */
    record Counts(long[] all, long[] late, long allRows, long lateRows) {
        Counts {
            if (all.length != late.length || allRows < 0 || lateRows < 0) {
                throw new UsageException("firing counts of " + all.length + " and " + late.length
                        + " latents over " + allRows + " / " + lateRows + " rows do not fit; the checkpoint is corrupt");
            }
        }
    }

    /** A copy of the counts (see {@link Counts}). */
    Counts counts() {
        return new Counts(all.clone(), late.clone(), allRows, lateRows);
    }

    /** Replaces the counts with a checkpoint's; the latent count must match. */
    void restore(Counts c) {
        if (c.all().length != all.length) {
            throw new UsageException("checkpoint firing counts cover " + c.all().length + " latents, the SAE has "
                    + all.length + "; the checkpoint belongs to another configuration");
        }
        System.arraycopy(c.all(), 0, all, 0, all.length);
        System.arraycopy(c.late(), 0, late, 0, late.length);
        allRows = c.allRows();
        lateRows = c.lateRows();
    }

    /** Fraction of rows on which each latent fired. */
    double[] frequencies() {
        long[] c = lateRows > 0 ? late : all;
        long rows = lateRows > 0 ? lateRows : allRows;
        double[] f = new double[c.length];
        for (int i = 0; i < c.length; i++) {
            f[i] = rows > 0 ? (double) c[i] / rows : 0;
        }
        return f;
    }

    /** Fraction of latents whose count over {@code rows} rows exceeds {@code threshold} (dense latents: 10 %). */
    static double fractionAbove(int[] counts, long rows, double threshold) {
        if (rows == 0) {
            return 0;
        }
        int n = 0;
        for (int c : counts) {
            if (c > threshold * rows) {
                n++;
            }
        }
        return (double) n / counts.length;
    }
}
