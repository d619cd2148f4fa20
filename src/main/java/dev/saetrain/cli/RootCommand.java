package dev.saetrain.cli;

import picocli.CommandLine.Command;

/** {@code sae-train}: the command group. */
@Command(name = "sae-train", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
        description = "Trains sparse autoencoders on cached language-model activations.%n"
                + "A bare 'sae-train SHARD_DIR' is 'sae-train train SHARD_DIR'.",
        subcommands = {TrainCommand.class, SynthCommand.class, InspectCommand.class, BenchCommand.class})
final class RootCommand implements Runnable {
    @Override
    public void run() {
        new picocli.CommandLine(this).usage(System.out);
    }
}
