package dev.saetrain.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code sae-train}: the command group; without a command it prints usage and exits 2. */
@Command(name = "sae-train", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
        description = "Trains sparse autoencoders on cached language-model activations.%n"
                + "A bare 'sae-train SHARD_DIR' is 'sae-train train SHARD_DIR'.",
        subcommands = {TrainCommand.class, SynthCommand.class, InspectCommand.class, BenchCommand.class,
                SweepCommand.class, AnalyzeCommand.class, ExportCommand.class, LogitLensCommand.class,
                SyntheticCommand.class, SelftestCommand.class})
final class RootCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        spec.commandLine().usage(spec.commandLine().getErr());
        return Main.BAD_INPUT;
    }
}
