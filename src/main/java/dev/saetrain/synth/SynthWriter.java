package dev.saetrain.synth;

import dev.saetrain.error.UsageException;
import dev.saetrain.io.DType;
import dev.saetrain.io.NpyWriter;
import dev.saetrain.io.Tensor;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Writes a synthetic data set into a directory as a shard directory sae-train reads (docs/design.md, "Formats"):
 * <pre>
 *   shard-00000.npy, shard-00001.npy, ...   [rowsInShard, d], options.dtype() (&lt;f4 or &lt;f2), C order
 *   ground_truth.npy                        [features, d] &lt;f4, unit-norm rows
 * </pre>
 * Every file is written atomically by {@link NpyWriter}. The ground truth is written last, so a directory
 * that has it holds every shard. A directory that already holds shards or a ground truth is refused rather
 * than mixed with new data. Memory: one shard (rowsPerShard * d floats) at a time.
 */
public final class SynthWriter {
    /** Name of the ground-truth file. */
    public static final String GROUND_TRUTH_FILE = "ground_truth.npy";
    private static final Pattern OUTPUT_NAME = Pattern.compile("shard-\\d+\\.npy|" + Pattern.quote(GROUND_TRUTH_FILE));

    /**
     * What was written.
     *
     * @param shards      the shard files in order
     * @param groundTruth the ground-truth file
     * @param rows        total rows
     * @param activeTotal total number of active features over all rows
     */
    public record Result(List<Path> shards, Path groundTruth, long rows, long activeTotal) {
        public Result {
            shards = List.copyOf(shards);
        }

        /** Measured mean number of active features per row. */
        public double meanActive() {
            return (double) activeTotal / rows;
        }
    }

    private SynthWriter() {
    }

    /** Shard file name of shard {@code i}: shard-00000.npy. */
    public static String shardName(long i) {
        return String.format("shard-%05d.npy", i);
    }

    /**
     * Throws UsageException, naming the file and the fix, if {@code dir} is not a directory or already
     * holds a shard or ground truth; a directory that does not exist yet is fine.
     */
    public static void checkOutputDir(Path dir) throws IOException {
        if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        if (!Files.isDirectory(dir)) {
            throw new UsageException(dir + " exists and is not a directory; give a directory for the data");
        }
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
            for (Path e : entries) {
                if (OUTPUT_NAME.matcher(e.getFileName().toString()).matches()) {
                    throw new UsageException(dir + " already contains " + e.getFileName()
                            + "; choose an empty directory or delete the old shards first");
                }
            }
        }
    }

    /** Generates every row of {@code data} and writes the shards and the ground truth into {@code dir}. */
    public static Result write(SyntheticData data, Path dir) throws IOException {
        checkOutputDir(dir);
        Files.createDirectories(dir);
        SynthOptions o = data.options();
        int d = o.d();
        int[] idx = new int[o.features()];
        double[] coef = new double[o.features()];
        double[] acc = new double[d];
        float[] full = new float[Math.toIntExact((long) o.rowsInShard(0) * d)];
        List<Path> shards = new ArrayList<>();
        long activeTotal = 0;
        for (long s = 0; s < o.shardCount(); s++) {
            int n = o.rowsInShard(s);
            float[] buf = n * d == full.length ? full : new float[n * d];
            long first = s * o.rowsPerShard();
            for (int r = 0; r < n; r++) {
                activeTotal += data.fillRow(first + r, buf, r * d, idx, coef, acc);
            }
            Path file = dir.resolve(shardName(s));
            NpyWriter.write(file, new Tensor(o.dtype(), new long[] {n, d}, buf));
            shards.add(file);
        }
        Path gt = dir.resolve(GROUND_TRUTH_FILE);
        NpyWriter.write(gt, new Tensor(DType.F32, new long[] {o.features(), d}, data.groundTruth()));
        return new Result(shards, gt, o.rows(), activeTotal);
    }
}
