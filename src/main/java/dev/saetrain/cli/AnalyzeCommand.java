package dev.saetrain.cli;

import dev.saetrain.analysis.Analysis;
import dev.saetrain.analysis.DecoderGeometry;
import dev.saetrain.data.BadInputException;
import dev.saetrain.export.SaeLensReader;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code sae-train analyze PATH}: the standard studies of a dictionary or a family (see {@link Analysis}) and the
 * offline HTML report. PATH is a run directory (analyses go to {@code PATH/analysis/}, the report to
 * {@code PATH/report/index.html}, the shards and ground truth default to the run's data), a dictionary folder, or a
 * directory of dictionary folders (then {@code --out} is required).
 */
@Command(name = "analyze", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
        description = {"Analyses trained dictionaries: feature statistics, decoder geometry,",
                "feature recovery, feature splitting and the L0/FVU frontier of a family.",
                "Writes CSV/JSON/PNG per study and an offline HTML report."})
public final class AnalyzeCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "PATH",
            description = "A run directory (runs/NAME), a dictionary folder, or a directory of dictionary folders.")
    Path target;

    @Option(names = "--shards", paramLabel = "DIR",
            description = "Shard directory for feature statistics and the frontier (default for a run: its data).")
    Path shards;

    @Option(names = "--rows", paramLabel = "N",
            description = "Rows sampled evenly from the shards (default: ${DEFAULT-VALUE}).")
    long rows = 65_536;

    @Option(names = "--ground-truth", paramLabel = "FILE",
            description = "True features [features, d] (.npy/.safetensors) for feature recovery "
                    + "(default: ground_truth.npy beside the shards, when there).")
    Path groundTruth;

    @Option(names = "--duplicate-cos", paramLabel = "C",
            description = "Decoder cosine from which two latents count as near-duplicates (default: ${DEFAULT-VALUE}).")
    double duplicateCos = DecoderGeometry.DEFAULT_DUPLICATE_COS;

    @Option(names = "--out", paramLabel = "DIR",
            description = "Analysis folder (default for a run: PATH/analysis; required otherwise). "
                    + "The report goes to PATH/report for a run, else to DIR/report.")
    Path out;

    @Option(names = "--no-report", description = "Do not build the HTML report.")
    boolean noReport;

    @Override
    public Integer call() throws Exception {
        boolean isRun = Files.isDirectory(target.resolve("saes")) && Files.isRegularFile(target.resolve("config.json"));
        if (!Files.exists(target)) {
            throw new BadInputException(target, "no such file or directory; give a run directory or a dictionary folder");
        }
        List<Path> saeDirs = SaeLensReader.findSaeDirs(target);
        Path outDir = out != null ? out : isRun ? target.resolve("analysis") : null;
        if (outDir == null) {
            throw new IllegalArgumentException("--out DIR is required when PATH (" + target + ") is not a run directory");
        }
        Path reportDir = noReport ? null : isRun && out == null ? target.resolve("report") : outDir.resolve("report");
        Path shardDir = shards != null ? shards : isRun ? Analysis.runShards(target) : null;
        Path gt = groundTruth;
        if (gt == null && shardDir != null && Files.isRegularFile(shardDir.resolve("ground_truth.npy"))) {
            gt = shardDir.resolve("ground_truth.npy");
        }
        String title = "sae-train analysis: " + (target.toAbsolutePath().normalize().getFileName());
        // Studies of other modules, run per dictionary into <out>/<study>/<sae>/ (e.g. the logit lens when --unembed
        // and --vocab are given, synthetic activations when --synthetic is): add them here.
        List<Analysis.ExtraStudy> extra = new java.util.ArrayList<>();
        Analysis.Outcome outcome = Analysis.run(new Analysis.Options(saeDirs, shardDir, rows, gt, duplicateCos, outDir,
                reportDir, title, extra));
        PrintWriter pw = spec.commandLine().getOut();
        outcome.lines().forEach(pw::println);
        pw.flush();
        return Main.OK;
    }
}
