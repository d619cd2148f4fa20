package dev.saetrain.cli;

import dev.saetrain.analysis.Analysis;
import dev.saetrain.analysis.DecoderGeometry;
import dev.saetrain.analysis.LogitLens;
import dev.saetrain.analysis.LogitStats.FeatureClass;
import dev.saetrain.analysis.SyntheticActivations;
import dev.saetrain.analysis.TokenSet;
import dev.saetrain.error.BadInputException;
import dev.saetrain.error.UsageException;
import dev.saetrain.export.SaeLensReader;
import dev.saetrain.train.RunLock;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
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
                "feature recovery, feature splitting and the L0/FVU frontier of a family;",
                "the logit lens (--unembed, --vocab) and synthetic activations (--synthetic).",
                "Writes CSV/JSON/PNG per study and an offline HTML report."})
public final class AnalyzeCommand implements Callable<Integer> {
    private static final Logger LOG = LoggerFactory.getLogger(AnalyzeCommand.class);
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

    @Option(names = "--unembed", paramLabel = "W_U",
            description = "Unembedding [d, vocab] (or [vocab, d]), .npy/.safetensors: runs the logit lens (needs --vocab).")
    Path unembed;

    @Option(names = "--unembed-key", paramLabel = "KEY", description = "Tensor name in a .safetensors W_U with several tensors.")
    String unembedKey;

    @Option(names = "--vocab", paramLabel = "FILE",
            description = "Tokens by id for the logit lens: vocab.json, tokenizer.json, a JSON array or one per line.")
    Path vocab;

    @Option(names = "--token-set", paramLabel = "NAME=regex:RE|NAME=list:FILE",
            description = "Logit lens: an extra token set to test for enrichment (repeatable).")
    List<String> tokenSets = new ArrayList<>();

    @Option(names = "--no-builtin-sets",
            description = "Logit lens: test only the --token-set sets (built in: leading_space, capitalised, all_caps, digits, punctuation).")
    boolean noBuiltIn;

    @Option(names = "--synthetic",
            description = "Also build synthetic activations (needs shards): at most min(--rows, 16384) real rows.")
    boolean synthetic;

    @Option(names = "--no-report", description = "Do not build the HTML report.")
    boolean noReport;

    @Override
    public Integer call() throws Exception {
        boolean isRun = Files.isDirectory(target.resolve("saes")) && Files.isRegularFile(target.resolve("config.json"));
        if (!Files.exists(target)) {
            throw new BadInputException(target, "no such file or directory; give a run directory or a dictionary folder");
        }
        List<Path> saeDirs = SaeLensReader.findSaeDirs(target, spec.commandLine().getErr()::println);
        Path outDir = out != null ? out : isRun ? target.resolve("analysis") : null;
        if (outDir == null) {
            throw new UsageException("--out DIR is required when PATH (" + target + ") is not a run directory");
        }
        try (RunLock lock = AnalysisOutput.lockRun(outDir)) {
            Path reportDir = noReport ? null : isRun && out == null ? target.resolve("report") : outDir.resolve("report");
            Path shardDir = shards != null ? shards : isRun ? Analysis.runShards(target) : null;
            if (shardDir == null) {
                LOG.info("no shards given: feature statistics and the L0/FVU frontier are skipped (give --shards DIR)");
            }
            Path gt = groundTruth;
            if (gt == null && shardDir != null && Files.isRegularFile(shardDir.resolve("ground_truth.npy"))) {
                gt = shardDir.resolve("ground_truth.npy");
            }
            String title = "sae-train analysis: " + (target.toAbsolutePath().normalize().getFileName());
            // Studies of other modules, run per dictionary into <out>/<study>/<sae>/ after the built-in ones.
            List<Analysis.ExtraStudy> extra = new ArrayList<>();
            if (unembed != null || vocab != null) {
                extra.add(logitLens());
            } else if (!tokenSets.isEmpty() || noBuiltIn || unembedKey != null) {
                throw new UsageException("--token-set, --no-builtin-sets and --unembed-key belong to the logit lens;"
                        + " give --unembed W_U and --vocab FILE too");
            }
            if (synthetic) {
                if (shardDir == null) {
                    throw new UsageException("--synthetic needs real activations: give --shards DIR (or a run whose"
                            + " config.json names its data)");
                }
                refuseExistingShards(saeDirs, outDir.resolve(SyntheticActivations.STUDY));
                extra.add(synthetic(shardDir));
            }
            Analysis.Outcome outcome = Analysis.run(new Analysis.Options(saeDirs, shardDir, rows, gt, duplicateCos, outDir,
                    reportDir, title, extra));
            PrintWriter pw = spec.commandLine().getOut();
            outcome.lines().forEach(pw::println);
            pw.flush();
            return Main.OK;
        }
    }

    /** The logit lens of each dictionary into {@code <out>/logit-lens/<sae>/}; inputs are checked before any study. */
    private Analysis.ExtraStudy logitLens() throws java.io.IOException {
        if (unembed == null || vocab == null) {
            throw new UsageException("the logit lens needs both --unembed W_U and --vocab FILE");
        }
        dev.saetrain.io.InputFiles.requireRegularFile(unembed, "unembedding (--unembed)");
        dev.saetrain.io.InputFiles.requireRegularFile(vocab, "vocabulary (--vocab)");
        List<TokenSet> sets = TokenSet.fromOptions(noBuiltIn, tokenSets);
        if (sets.isEmpty()) {
            throw new UsageException("--no-builtin-sets without any --token-set leaves no token set to test");
        }
        return new Analysis.ExtraStudy(LogitLens.STUDY, (sae, dir) -> {
            LogitLens.Result r = LogitLens.run(sae, unembed, unembedKey, vocab, sets, LogitLens.Options.DEFAULT, dir);
            return String.format(Locale.ROOT, "%s %s: %d latents: %d prediction, %d suppression, %d partition",
                    LogitLens.STUDY, sae.name(), r.stats().size(), r.count(FeatureClass.PREDICTION),
                    r.count(FeatureClass.SUPPRESSION), r.count(FeatureClass.PARTITION));
        });
    }

    /** Checked for every dictionary before any study runs, rather than after the first dictionaries' studies. */
    private static void refuseExistingShards(List<Path> saeDirs, Path studyDir) throws java.io.IOException {
        for (Path sae : saeDirs) {
            Path dir = SyntheticActivations.existingShards(studyDir.resolve(sae.getFileName().toString()));
            if (dir != null) {
                throw new BadInputException(dir, "already holds synthetic shards; remove " + studyDir
                        + " to build them again, or leave out --synthetic");
            }
        }
    }

    /** Synthetic activations of each dictionary into {@code <out>/synthetic/<sae>/}. */
    private Analysis.ExtraStudy synthetic(Path shardDir) {
        SyntheticActivations.Options d = SyntheticActivations.Options.DEFAULT;
        SyntheticActivations.Options o = new SyntheticActivations.Options((int) Math.min(rows, d.realRows()),
                d.syntheticRows(), d.rowsPerShard(), d.candidates(), d.reservoir(), d.seed());
        return new Analysis.ExtraStudy(SyntheticActivations.STUDY, (sae, dir) -> {
            SyntheticActivations.Result r = SyntheticActivations.run(sae, shardDir, o, dir);
            return String.format(Locale.ROOT, "%s %s: %d real rows, KS distance of L0 to real: baseline %.3f,"
                            + " structured %.3f", SyntheticActivations.STUDY, sae.name(), r.real().l0().length,
                    r.ks("l0", "baseline", "codes"), r.ks("l0", "structured", "codes"));
        });
    }
}
