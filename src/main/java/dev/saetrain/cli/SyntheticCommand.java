package dev.saetrain.cli;

import dev.saetrain.analysis.Distributions;
import dev.saetrain.analysis.SyntheticActivations;
import dev.saetrain.export.SaeLensReader;
import dev.saetrain.train.RunLock;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code sae-train synthetic SAE SHARD_DIR}: synthetic activations composed of SAE latents (Giglemiani et al. 2024)
 * for every dictionary under SAE, each into {@code OUT/synthetic/<sae-name>/}, the layout of
 * {@code sae-train analyze}, so a later {@code analyze} of the run shows it in its report.
 */
@Command(name = "synthetic", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
        description = {"Synthetic activations composed of SAE latents (Giglemiani et al. 2024): measures real L0,",
                "activations and cosine similarity to the top latent, writes synthetic-baseline and",
                "synthetic-structured .npy shards, and compares real vs synthetic (KS distances, CDF plots)."})
public final class SyntheticCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "SAE", description = "A dictionary folder, a run directory or a directory of dictionary folders.")
    Path sae;

    @Parameters(index = "1", paramLabel = "SHARD_DIR", description = "The real activations (the shards the SAE was trained on).")
    Path shards;

    @Option(names = "--rows", paramLabel = "N", description = "Real rows sampled, evenly spaced (default: ${DEFAULT-VALUE}).")
    int rows = SyntheticActivations.Options.DEFAULT.realRows();

    @Option(names = "--synthetic-rows", paramLabel = "N", description = "Rows of each synthetic kind (default: as many as --rows).")
    int syntheticRows = 0;

    @Option(names = "--rows-per-shard", paramLabel = "N", description = "Rows per written shard (default: ${DEFAULT-VALUE}).")
    int rowsPerShard = SyntheticActivations.Options.DEFAULT.rowsPerShard();

    @Option(names = "--candidates", paramLabel = "N",
            description = "Structured: latents nearest the target cosine similarity to draw from (default: ${DEFAULT-VALUE}).")
    int candidates = SyntheticActivations.Options.DEFAULT.candidates();

    @Option(names = "--seed", paramLabel = "S", description = "Random seed (default: ${DEFAULT-VALUE}).")
    long seed = 0;

    @Option(names = "--out", paramLabel = "DIR",
            description = "Output directory (default: RUN/analysis for a run's dictionaries, else SAE/analysis).")
    Path out;

    @Override
    public Integer call() throws Exception {
        SyntheticActivations.Options options = new SyntheticActivations.Options(rows, syntheticRows, rowsPerShard,
                candidates, SyntheticActivations.Options.DEFAULT.reservoir(), seed);
        Path outDir = out != null ? out : AnalysisOutput.defaultDir(sae);
        try (RunLock lock = AnalysisOutput.lockRun(outDir)) {
            PrintWriter o = spec.commandLine().getOut();
            List<Path> dirs = SaeLensReader.findSaeDirs(sae, spec.commandLine().getErr()::println);
            // Every dictionary's output is checked before the first study writes anything.
            for (Path dir : dirs) {
                SyntheticActivations.refuseExistingShards(outDir.resolve(SyntheticActivations.STUDY)
                        .resolve(dir.getFileName().toString()));
            }
            for (Path dir : dirs) {
                SaeLensReader.Loaded loaded = SaeLensReader.read(dir);
                Path studyDir = outDir.resolve(SyntheticActivations.STUDY).resolve(loaded.name());
                SyntheticActivations.Result r = SyntheticActivations.run(loaded, shards, options, studyDir);
                o.printf(Locale.ROOT,
                        "%s: %d real rows, mean L0 %.2f; KS distance to real (codes / re-encoded by the SAE):%n",
                        loaded.name(), r.real().l0().length, Distributions.mean(r.real().l0()));
                o.printf(Locale.ROOT, "  %-11s %-17s %-17s %-17s%n", "kind", "L0", "magnitude", "cosine to top");
                for (String kind : List.of("baseline", "structured")) {
                    o.printf(Locale.ROOT, "  %-11s %-17s %-17s %-17s%n", kind, pair(r, "l0", kind),
                            pair(r, "magnitude", kind), pair(r, "cosine_to_top", kind));
                }
                o.printf(Locale.ROOT, "  wrote %s (%s/, %s/)%n", studyDir, SyntheticActivations.BASELINE_DIR,
                        SyntheticActivations.STRUCTURED_DIR);
            }
            o.flush();
            return Main.OK;
        }
    }

    private static String pair(SyntheticActivations.Result r, String what, String kind) {
        return String.format(Locale.ROOT, "%.3f / %.3f", r.ks(what, kind, "codes"), r.ks(what, kind, "re-encoded"));
    }
}
