package dev.saetrain.train;

import dev.saetrain.data.BadInputException;
import dev.saetrain.data.Shard;
import dev.saetrain.data.ShardSet;

/** Reads the first rows of a shard set in file order, scaled (for the geometric-median init of b_dec). */
final class InitRows {
    private InitRows() {
    }

    /** Up to {@code n} finite rows [rows, dIn], row-major, times {@code scale}. */
    static float[] read(ShardSet set, int n, float scale, boolean skipNonFinite) {
        int d = set.dIn();
        int want = (int) Math.min(n, set.totalRows());
        float[] out = new float[want * d];
        float[] row = new float[d];
        int got = 0;
        for (Shard s : set.shards()) {
            for (long r = 0; r < s.rows() && got < want; r++) {
                s.readRows(r, 1, scale, row, 0);
                if (Shard.firstNonFinite(row, 0, d) >= 0) {
                    if (skipNonFinite) {
                        continue;
                    }
                    throw new BadInputException(s.path(), "row " + r + " holds NaN or Inf; clean the data or pass --skip-nonfinite");
                }
                System.arraycopy(row, 0, out, got * d, d);
                got++;
            }
        }
        if (got == 0) {
            throw new BadInputException(set.source(), "no finite rows to initialise from");
        }
        return got == want ? out : java.util.Arrays.copyOf(out, got * d);
    }
}
