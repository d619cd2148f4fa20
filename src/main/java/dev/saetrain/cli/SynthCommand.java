package dev.saetrain.cli;

import dev.saetrain.error.UsageException;
import dev.saetrain.io.DType;
import dev.saetrain.synth.SynthOptions;
import dev.saetrain.synth.SynthWriter;
import dev.saetrain.synth.SyntheticData;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code sae-train synth OUT_DIR}: writes toy activations with known ground-truth features
 * (Sharkey, Braun and Millidge 2022) as a shard directory, for demos and feature-recovery tests.
 */
@Command(name = "synth", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
        description = {"Writes synthetic activations with known ground-truth features (Sharkey, Braun & Millidge 2022):",
                "feature i fires with probability ~ decay^i, coefficients uniform in [0, 1).",
                "OUT_DIR gets shard-00000.npy, ... ([rows-per-shard, d]) and ground_truth.npy ([features, d], f32)."})
public final class SynthCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "OUT_DIR", description = "Directory to write into (created; must hold no shards).")
    Path outDir;

    @Option(names = "--d", paramLabel = "D", description = "Width of each row (default: ${DEFAULT-VALUE}).")
    int d = 256;

    @Option(names = "--features", paramLabel = "N", description = "Ground-truth features (default: ${DEFAULT-VALUE}).")
    int features = 512;

    @Option(names = "--active", paramLabel = "X", description = "Expected active features per row (default: ${DEFAULT-VALUE}).")
    double active = 5;

    @Option(names = "--decay", paramLabel = "R",
            description = "Firing-probability ratio of consecutive features, in (0, 1] (default: ${DEFAULT-VALUE}).")
    double decay = 0.99;

    @Option(names = "--rows", paramLabel = "N", description = "Total rows (default: ${DEFAULT-VALUE}).")
    long rows = 1_000_000;

    @Option(names = "--rows-per-shard", paramLabel = "N", description = "Rows per shard file (default: ${DEFAULT-VALUE}).")
    int rowsPerShard = 262_144;

    @Option(names = "--dtype", paramLabel = "f32|f16", converter = DTypeConverter.class,
            description = "Element type of the shards: f32 or f16 (default: f32).")
    DType dtype = DType.F32;

    @Option(names = "--seed", paramLabel = "S", description = "Random seed; same seed, same bytes (default: ${DEFAULT-VALUE}).")
    long seed = 0;

    @Override
    public Integer call() throws Exception {
        PrintWriter err = spec.commandLine().getErr();
        SynthOptions options;
        try {
            options = new SynthOptions(d, features, active, decay, rows, rowsPerShard, seed, dtype);
            SynthWriter.checkOutputDir(outDir);
        } catch (UsageException e) {
            // Bad options or an output directory we must not write into: report as bad usage (exit 2)
            // whether or not this command runs under Main's handlers.
            err.println("error: " + OptionNames.message(e));
            return Main.BAD_INPUT;
        }
        SynthWriter.Result result = SynthWriter.write(new SyntheticData(options), outDir);
        PrintWriter out = spec.commandLine().getOut();
        int n = result.shards().size();
        out.printf(Locale.ROOT, "wrote %d shard%s (%s%s) and %s to %s%n", n, n == 1 ? "" : "s",
                result.shards().get(0).getFileName(), n == 1 ? "" : " .. " + result.shards().get(n - 1).getFileName(),
                result.groundTruth().getFileName(), outDir);
        out.printf(Locale.ROOT, "rows %d, d %d, %s, features %d, decay %s, seed %d%n", result.rows(), d,
                dtype.name().toLowerCase(Locale.ROOT), features, decay, seed);
        out.printf(Locale.ROOT, "mean active features per row: %.4f measured, %s expected%n", result.meanActive(), active);
        out.flush();
        return Main.OK;
    }

    /** Parses f32 / f16 (any case). */
    static final class DTypeConverter implements CommandLine.ITypeConverter<DType> {
        @Override
        public DType convert(String value) {
            return switch (value.toLowerCase(Locale.ROOT)) {
                case "f32", "float32" -> DType.F32;
                case "f16", "float16" -> DType.F16;
                default -> throw new CommandLine.TypeConversionException("'" + value + "' is not f32 or f16");
            };
        }
    }
}
