package dev.saetrain.cli;

import dev.saetrain.export.DictionaryExport;
import dev.saetrain.export.SaeLensReader;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code sae-train export SAE_DIR --format saelens|sparsify|npy --out DIR}: writes a dictionary in another tool's
 * layout ({@link DictionaryExport}). SAE_DIR may also be a run or a directory of dictionaries: then each goes to
 * {@code DIR/<name>}.
 */
@Command(name = "export", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
        description = {"Writes a dictionary for SAELens, sparsify or numpy.",
                "saelens:  cfg.json, sae_weights.safetensors, sparsity.safetensors (copied)",
                "sparsify: cfg.json + sae.safetensors (encoder.weight [m,d],",
                "          encoder.bias [m], W_dec [m,d], b_dec [d]); TopK only",
                "npy:      W_enc.npy, W_dec.npy, b_enc.npy, b_dec.npy (+ extras), cfg.json"})
public final class ExportCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "SAE_DIR",
            description = "A dictionary folder (cfg.json + sae_weights.safetensors), a run, or a directory of them.")
    Path saeDir;

    @Option(names = "--format", required = true, paramLabel = "saelens|sparsify|npy", description = "Output layout.")
    String format;

    @Option(names = "--out", required = true, paramLabel = "DIR",
            description = "Folder to create (must not exist); for several dictionaries, DIR/<name> each.")
    Path out;

    @Override
    public Integer call() throws Exception {
        DictionaryExport.Format f = DictionaryExport.Format.parse(format);
        List<Path> dirs = SaeLensReader.findSaeDirs(saeDir, spec.commandLine().getErr()::println);
        boolean single = SaeLensReader.isSaeDir(saeDir);
        PrintWriter pw = spec.commandLine().getOut();
        // Every target and every dictionary first: a refusal must not come after some dictionaries were written.
        // (Each dictionary is read twice; exports are rare and small next to training.)
        for (Path d : dirs) {
            DictionaryExport.check(d, f, single ? out : out.resolve(d.getFileName().toString()));
        }
        for (Path d : dirs) {
            Path target = single ? out : out.resolve(d.getFileName().toString());
            DictionaryExport.export(d, f, target);
            pw.println("wrote " + target + " (" + f.name().toLowerCase(java.util.Locale.ROOT) + ")");
        }
        pw.flush();
        return Main.OK;
    }
}
