package dev.saetrain.cli;

import dev.saetrain.data.ShardInspector;
import dev.saetrain.data.ShardInspector.Report;
import dev.saetrain.data.ShardInspector.ShardReport;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code sae-train inspect SHARD_DIR}: a table of the shards (format, dtype, shape, rows, d, mean norm and
 * non-finite values over a sample) on stdout, then every problem found as {@code error: <file>: ...} on stderr.
 * Exit code 0 if all is well, 2 if anything is wrong.
 */
@Command(name = "inspect", mixinStandardHelpOptions = true,
        description = "Checks a shard directory (or file) and prints what the trainer would read from it.")
public final class InspectCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "SHARD_DIR", description = "Directory of .npy / .safetensors shards, or one shard file.")
    Path shardDir;

    @Option(names = "--sample-rows", paramLabel = "N", defaultValue = "" + ShardInspector.DEFAULT_SAMPLE_ROWS,
            description = "Rows per shard read for the mean norm and the NaN/Inf check (default: ${DEFAULT-VALUE}).")
    int sampleRows;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        Report report = ShardInspector.inspect(shardDir, sampleRows);
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (!report.shards().isEmpty()) {
            String fmt = "%-32s %-11s %-5s %-20s %12s %6s %12s %10s%n";
            out.printf(Locale.ROOT, fmt, "file", "format", "dtype", "shape", "rows", "d", "mean |x|", "non-finite");
            for (ShardReport s : report.shards()) {
                out.printf(Locale.ROOT, fmt, s.path().getFileName(), s.format(), s.dtype(), Arrays.toString(s.shape()),
                        s.rows(), s.dIn(), String.format(Locale.ROOT, "%.4g", s.meanNorm()), s.nonFiniteValues());
            }
            out.printf(Locale.ROOT, "total: %d shard(s), %d rows%n", report.shards().size(), report.totalRows());
        }
        out.flush();
        for (String p : report.problems()) {
            err.println("error: " + p);
        }
        err.flush();
        return report.ok() ? Main.OK : Main.BAD_INPUT;
    }
}
