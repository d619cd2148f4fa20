package dev.saetrain.cli;

import dev.saetrain.analysis.LogitLens;
import dev.saetrain.analysis.LogitStats;
import dev.saetrain.analysis.LogitStats.FeatureClass;
import dev.saetrain.analysis.TokenSet;
import dev.saetrain.export.SaeLensReader;
import dev.saetrain.train.RunLock;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code sae-train logit-lens SAE --unembed W_U --vocab FILE}: the logit-lens study (Bloom &amp; Lin 2024) of every
 * dictionary found under SAE, each into {@code OUT/logit-lens/<sae-name>/}, the layout of
 * {@code sae-train analyze}, so a later {@code analyze} of the run shows it in its report.
 */
@Command(name = "logit-lens", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
        description = {"Logit-lens statistics of each latent's logit weights W_dec[i] . W_U (Bloom & Lin 2024):",
                "std, skewness, kurtosis, top/bottom tokens, prediction/suppression/partition classes, and token-set",
                "enrichment (Mann-Whitney U per latent, Benjamini-Hochberg across latents)."})
public final class LogitLensCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "SAE", description = "A dictionary folder, a run directory or a directory of dictionary folders.")
    Path sae;

    @Option(names = "--unembed", required = true, paramLabel = "W_U",
            description = "The model's unembedding, [d, vocab] (or [vocab, d]), .npy or .safetensors.")
    Path unembed;

    @Option(names = "--unembed-key", paramLabel = "KEY", description = "Tensor name in a .safetensors W_U with several tensors.")
    String unembedKey;

    @Option(names = "--vocab", required = true, paramLabel = "FILE",
            description = "Tokens by id: vocab.json, tokenizer.json, a JSON array, or text with one token per line.")
    Path vocab;

    @Option(names = "--token-set", paramLabel = "NAME=regex:RE|NAME=list:FILE",
            description = "An extra token set to test (repeatable); built in: leading_space, capitalised, all_caps, digits, punctuation.")
    List<String> tokenSets = new ArrayList<>();

    @Option(names = "--no-builtin-sets", description = "Test only the --token-set sets.")
    boolean noBuiltIn;

    @Option(names = "--top-tokens", paramLabel = "N", description = "Top and bottom tokens listed per latent (default: ${DEFAULT-VALUE}).")
    int topTokens = 10;

    @Option(names = "--alpha", paramLabel = "Q", description = "False-discovery rate for enrichment (default: ${DEFAULT-VALUE}).")
    double alpha = 0.05;

    @Option(names = "--min-kurtosis", paramLabel = "K", description = "Kurtosis of prediction/suppression latents (default: ${DEFAULT-VALUE}).")
    double minKurtosis = LogitStats.Thresholds.DEFAULT.minKurtosis();

    @Option(names = "--min-skew", paramLabel = "S", description = "|Skewness| of prediction/suppression latents (default: ${DEFAULT-VALUE}).")
    double minSkew = LogitStats.Thresholds.DEFAULT.minSkew();

    @Option(names = "--min-bimodality", paramLabel = "B", description = "Bimodality coefficient of partition latents (default: 5/9).")
    double minBimodality = LogitStats.Thresholds.DEFAULT.minBimodality();

    @Option(names = "--out", paramLabel = "DIR",
            description = "Output directory (default: RUN/analysis for a run's dictionaries, else SAE/analysis).")
    Path out;

    @Override
    public Integer call() throws Exception {
        LogitLens.Options options = new LogitLens.Options(
                new LogitStats.Thresholds(minKurtosis, minSkew, minBimodality), topTokens, alpha);
        // Checked before the first dictionary's study is written, not when the second one needs them.
        dev.saetrain.io.InputFiles.requireRegularFile(unembed, "unembedding (--unembed)");
        dev.saetrain.io.InputFiles.requireRegularFile(vocab, "vocabulary (--vocab)");
        List<TokenSet> sets = TokenSet.fromOptions(noBuiltIn, tokenSets);
        List<Path> dirs = SaeLensReader.findSaeDirs(sae, spec.commandLine().getErr()::println);
        Path outDir = out != null ? out : AnalysisOutput.defaultDir(sae);
        try (RunLock lock = AnalysisOutput.lockRun(outDir)) {
            PrintWriter o = spec.commandLine().getOut();
            for (Path dir : dirs) {
                SaeLensReader.Loaded loaded = SaeLensReader.read(dir);
                Path studyDir = outDir.resolve(LogitLens.STUDY).resolve(loaded.name());
                LogitLens.Result r = LogitLens.run(loaded, unembed, unembedKey, vocab, sets, options, studyDir);
                o.printf(Locale.ROOT, "%s: %d latents: %d prediction, %d suppression, %d partition, %d none%n",
                        loaded.name(), r.stats().size(), r.count(FeatureClass.PREDICTION), r.count(FeatureClass.SUPPRESSION),
                        r.count(FeatureClass.PARTITION), r.count(FeatureClass.NONE));
                for (int s = 0; s < r.sets().size(); s++) {
                    o.printf(Locale.ROOT, "  %-16s %6d tokens: %5d latents promote it, %5d suppress it (BH q < %s)%n",
                            r.sets().get(s).name(), r.setSizes()[s], r.significant(s, alpha, 1),
                            r.significant(s, alpha, -1), alpha);
                }
                o.printf(Locale.ROOT, "  wrote %s%n", studyDir);
            }
            o.flush();
            return Main.OK;
        }
    }
}
