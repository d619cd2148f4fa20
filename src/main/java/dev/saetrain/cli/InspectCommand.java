package dev.saetrain.cli;

import dev.saetrain.error.BadInputException;
import dev.saetrain.data.ShardInspector;
import dev.saetrain.error.BadInputException;
import dev.saetrain.data.ShardInspector.Report;
import dev.saetrain.error.BadInputException;
import dev.saetrain.data.ShardInspector.ShardReport;
import dev.saetrain.train.CheckpointCheck;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
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
 *
 * <p>{@code sae-train inspect RUN} (a run directory): every checkpoint with its step and whether it verifies
 * ({@link CheckpointCheck}); exit code 2, with one line on stderr, when the newest is damaged.
 */
@Command(name = "inspect", mixinStandardHelpOptions = true,
        description = "Checks a shard directory (or file) and prints what the trainer would read from it; given a run "
                + "directory, checks its checkpoints (exit code 2 when the newest is damaged).")
public final class InspectCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "SHARD_DIR|RUN",
            description = "Directory of .npy / .safetensors shards, one shard file, or a run directory.")
    Path shardDir;

    @Option(names = "--sample-rows", paramLabel = "N", defaultValue = "" + ShardInspector.DEFAULT_SAMPLE_ROWS,
            description = "Rows per shard read for the mean norm and the NaN/Inf check (default: ${DEFAULT-VALUE}).")
    int sampleRows;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        if (Files.isRegularFile(shardDir.resolve("config.json")) || Files.isDirectory(shardDir.resolve("checkpoints"))) {
            return inspectRun();
        }
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
        for (BadInputException p : report.problems()) {
            err.println("error: " + OptionNames.message(p));
        }
        err.flush();
        return report.ok() ? Main.OK : Main.BAD_INPUT;
    }

    /** The checkpoints of a run, newest first; the one a resume would try first decides the exit code. */
    private int inspectRun() throws IOException {
        CheckpointCheck.RunReport r = CheckpointCheck.inspect(shardDir);
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (r.checkpoints().isEmpty()) {
            out.println("no checkpoint in " + shardDir.resolve("checkpoints"));
        } else {
            String fmt = "%-16s %12s  %s%n";
            out.printf(Locale.ROOT, fmt, "checkpoint", "step", "status");
            for (CheckpointCheck.Verdict v : r.checkpoints()) {
                String status = switch (v.status()) {
                    case VERIFIED -> "verified";
                    case UNVERIFIABLE -> "not verifiable (written before checksums; contents sound)";
                    case DAMAGED -> "DAMAGED: " + v.problem();
                };
                boolean isLatest = v.dir().equals(r.latest());
                out.printf(Locale.ROOT, fmt, v.dir().getFileName(), v.step(), status + (isLatest ? " (latest)" : ""));
            }
        }
        out.flush();
        CheckpointCheck.Verdict newest = r.checkpoints().stream()
                .filter(v -> r.latest() == null || v.step() <= r.latestStep())
                .findFirst().orElse(null);
        String fallback = r.checkpoints().stream().filter(v -> newest != null && v.step() < newest.step())
                .filter(CheckpointCheck.Verdict::usable).map(v -> "a resume falls back to " + v.dir().getFileName())
                .findFirst().orElse("no older checkpoint verifies, so the run cannot be resumed");
        if (r.pointer() != null) {
            err.println("error: " + r.pointer() + "; " + (newest != null && newest.usable()
                    ? "a resume falls back to " + newest.dir().getFileName() : fallback));
            return Main.BAD_INPUT;
        }
        if (newest != null && !newest.usable()) {
            err.println("error: the newest checkpoint " + newest.dir() + " is damaged: " + newest.problem() + "; "
                    + fallback);
            return Main.BAD_INPUT;
        }
        return Main.OK;
    }
}
