package dev.saetrain.data;

import static dev.saetrain.error.Setting.SAMPLE_ROWS;
import static dev.saetrain.error.Setting.SKIP_NONFINITE;

import dev.saetrain.error.BadInputException;
import dev.saetrain.error.UsageException;
import dev.saetrain.io.DType;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Checks a shard directory (or file) and describes it, reporting every problem it can find rather than
 * stopping at the first: a file that cannot be opened is reported and skipped, the others are still read.
 */
public final class ShardInspector {
    /** Rows per shard sampled for the norm and the finiteness check, by default. */
    public static final int DEFAULT_SAMPLE_ROWS = 4096;

    /**
     * One readable shard.
     *
     * @param path             the file
     * @param format           "npy" or "safetensors"
     * @param dtype            on-disk element type
     * @param shape            the stored shape
     * @param rows             rows (all dimensions but the last multiplied)
     * @param dIn              row width
     * @param sampledRows      rows read for the statistics: the first min(sample, rows)
     * @param meanNorm         mean L2 norm of the finite sampled rows (NaN if none)
     * @param nonFiniteValues  NaN or Inf values among the sampled rows
     */
    public record ShardReport(Path path, String format, DType dtype, long[] shape, long rows, int dIn,
                              long sampledRows, double meanNorm, long nonFiniteValues) {
        public ShardReport {
            shape = shape.clone();
        }

        @Override
        public long[] shape() {
            return shape.clone();
        }
    }

    /**
     * What was found.
     *
     * @param source   the directory or file inspected
     * @param shards   the shards that could be opened, in name order
     * @param problems one per problem, each naming its file, what is wrong and what to do
     */
    public record Report(Path source, List<ShardReport> shards, List<BadInputException> problems) {
        public Report {
            shards = List.copyOf(shards);
            problems = List.copyOf(problems);
        }

        /** Rows over the readable shards. */
        public long totalRows() {
            return shards.stream().mapToLong(ShardReport::rows).sum();
        }

        /** Whether nothing is wrong. */
        public boolean ok() {
            return problems.isEmpty();
        }
    }

    private ShardInspector() {
    }

    /** Inspects {@code dirOrFile}, sampling the first {@code sampleRows} rows of each shard. */
    public static Report inspect(Path dirOrFile, int sampleRows) {
        if (sampleRows < 0) {
            throw new UsageException(SAMPLE_ROWS, "must be >= 0, got " + sampleRows);
        }
        List<ShardReport> reports = new ArrayList<>();
        List<BadInputException> problems = new ArrayList<>();
        if (ArrowCache.isCache(dirOrFile)) {
            // A SAELens cache is checked whole (schema, offsets, dataset_info.json) by opening it; then sampled per file.
            try {
                for (Shard s : ShardSet.open(dirOrFile).shards()) {
                    reports.add(sample(s, sampleRows, problems));
                }
            } catch (BadInputException e) {
                problems.add(e);
            }
            return new Report(dirOrFile, reports, problems);
        }
        List<Path> files;
        try {
            files = ShardSet.shardFiles(dirOrFile);
        } catch (BadInputException e) {
            return new Report(dirOrFile, reports, List.of(e));
        }
        Shard first = null;
        for (Path f : files) {
            Shard s;
            try {
                s = Shard.open(f);
            } catch (BadInputException e) {
                problems.add(e);
                continue;
            }
            if (first == null) {
                first = s;
            } else if (s.dIn() != first.dIn()) {
                problems.add(new BadInputException(f, "d = " + s.dIn() + " differs from d = " + first.dIn()
                        + " of the first shard " + first.path().getFileName() + "; every shard of a directory must come from the same hook"));
            }
            reports.add(sample(s, sampleRows, problems));
        }
        if (first != null && reports.stream().allMatch(r -> r.rows() == 0)) {
            problems.add(new BadInputException(dirOrFile, "the shards hold no rows; regenerate the activation cache"));
        }
        return new Report(dirOrFile, reports, problems);
    }

    private static ShardReport sample(Shard s, int sampleRows, List<BadInputException> problems) {
        int dIn = s.dIn();
        int n = (int) Math.min(sampleRows, s.rows());
        float[] row = new float[dIn];
        double normSum = 0;
        long finiteRows = 0;
        long nonFinite = 0;
        long firstBadRow = -1;
        for (int r = 0; r < n; r++) {
            s.readRows(r, 1, 1f, row, 0);
            double sq = 0;
            int bad = 0;
            for (float v : row) {
                if (Float.isFinite(v)) {
                    sq += (double) v * v;
                } else {
                    bad++;
                }
            }
            if (bad == 0) {
                normSum += Math.sqrt(sq);
                finiteRows++;
            } else if (firstBadRow < 0) {
                firstBadRow = r;
            }
            nonFinite += bad;
        }
        if (nonFinite > 0) {
            problems.add(new BadInputException(s.path(), nonFinite + " NaN or Inf values in the first " + n
                    + " rows (first in row " + firstBadRow + "); training fails on them unless ", SKIP_NONFINITE,
                    " is given"));
        }
        double mean = finiteRows == 0 ? Double.NaN : normSum / finiteRows;
        return new ShardReport(s.path(), s.layout().format(), s.dtype(), s.layout().shape(), s.rows(), dIn, n, mean,
                nonFinite);
    }
}
