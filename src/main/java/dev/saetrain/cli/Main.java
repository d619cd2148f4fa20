package dev.saetrain.cli;

import dev.saetrain.data.BadInputException;
import picocli.CommandLine;

/**
 * Entry point: {@code sae-train [COMMAND] ...}; a bare {@code sae-train SHARD_DIR} means {@code train SHARD_DIR}.
 * Exit codes: 0 ok, 1 internal failure, 2 bad usage or bad input; train also returns 143 / 130 when SIGTERM /
 * SIGINT stopped it after a checkpoint (see StopSignals). The only place that calls System.exit.
 */
public final class Main {
    /** Exit code for success. */
    public static final int OK = 0;
    /** Exit code for an internal failure (a bug, an I/O error on our own output). */
    public static final int INTERNAL = 1;
    /** Exit code for bad usage or bad input. */
    public static final int BAD_INPUT = 2;

    private Main() {
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the command line and returns the exit code. */
    public static int run(String... args) {
        return run(new java.io.PrintWriter(System.out, true), new java.io.PrintWriter(System.err, true), args);
    }

    /** Runs the command line with the given output and error writers (tests call this). */
    public static int run(java.io.PrintWriter out, java.io.PrintWriter err, String... args) {
        CommandLine cl = commandLine();
        cl.setOut(out);
        cl.setErr(err);
        if (args.length > 0 && !args[0].startsWith("-") && cl.getSubcommands().get(args[0]) == null) {
            String[] withTrain = new String[args.length + 1];
            withTrain[0] = "train";
            System.arraycopy(args, 0, withTrain, 1, args.length);
            args = withTrain;
        }
        return cl.execute(args);
    }

    /** The picocli command tree with the project's exit codes and error handling. */
    static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new RootCommand());
        cl.setExitCodeExceptionMapper(e -> e instanceof BadInputException || e instanceof IllegalArgumentException
                ? BAD_INPUT : INTERNAL);
        cl.setExecutionExceptionHandler((e, cmd, parsed) -> {
            if (e instanceof BadInputException || e instanceof IllegalArgumentException) {
                cmd.getErr().println("error: " + e.getMessage());
                return BAD_INPUT;
            }
            cmd.getErr().println("internal error: " + e);
            e.printStackTrace(cmd.getErr());
            return INTERNAL;
        });
        cl.setParameterExceptionHandler((e, a) -> {
            CommandLine cmd = e.getCommandLine();
            cmd.getErr().println("error: " + e.getMessage());
            cmd.getErr().println("Try '" + cmd.getCommandSpec().qualifiedName() + " --help' for more information.");
            return BAD_INPUT;
        });
        return cl;
    }
}
