package dev.saetrain.cli;

import java.nio.file.Path;
import picocli.CommandLine;

/**
 * Entry point: {@code sae-train [COMMAND] ...}; a bare {@code sae-train SHARD_DIR} means {@code train SHARD_DIR}.
 * Exit codes: 0 ok, 1 internal failure (a bug: the stack trace goes to the run's train.log or a file in the temporary
 * directory, stderr gets one line naming it), 2 bad usage or bad input, 3 the machine refused (disk full, read-only
 * or forbidden output, out of memory, too many open files); train also returns 143 / 130 when SIGTERM / SIGINT
 * stopped it after a checkpoint (see StopSignals). Every failure is one line on stderr (see {@link Failure}), never a
 * stack trace. The only place that calls System.exit.
 */
public final class Main {
    /** Exit code for success. */
    public static final int OK = 0;
    /** Exit code for an internal failure (a bug). */
    public static final int INTERNAL = 1;
    /** Exit code for bad usage or bad input. */
    public static final int BAD_INPUT = 2;
    /** Exit code for a failure of the machine: disk full, read-only or forbidden output, out of memory. */
    public static final int ENVIRONMENT = 3;

    private Main() {
    }

    public static void main(String[] args) {
        Thread.setDefaultUncaughtExceptionHandler((thread, e) -> {
            Failure f = Failure.of(e);
            Path trace = CrashLog.write(f, args);
            System.err.println(f.message() + " (in thread " + thread.getName() + ")"
                    + (trace != null ? "; stack trace in " + trace : ""));
        });
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
        try {
            return cl.execute(args);
        } catch (Error e) {
            // picocli hands only Exceptions to the handler below; an OutOfMemoryError gets here.
            return report(Failure.of(e), err, args);
        }
    }

    /** Prints {@code f} as one line (its trace, unless it is bad input, to {@link CrashLog}) and returns its code. */
    static int report(Failure f, java.io.PrintWriter err, String[] args) {
        if (f.code() == BAD_INPUT) {
            err.println(f.message());
            return f.code();
        }
        Path trace = CrashLog.write(f, args);
        String where = trace != null ? "; stack trace in " + trace : "";
        err.println(f.message() + where + (f.code() == INTERNAL ? "; please report it" : ""));
        return f.code();
    }

    /** The picocli command tree with the project's exit codes and error handling. */
    static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new RootCommand());
        cl.setExitCodeExceptionMapper(e -> Failure.of(e).code());
        cl.setExecutionExceptionHandler((e, cmd, parsed) ->
                report(Failure.of(e), cmd.getErr(), parsed.originalArgs().toArray(new String[0])));
        cl.setParameterExceptionHandler((e, a) -> {
            CommandLine cmd = e.getCommandLine();
            // One line, as every failure: the problem, then where the options are described.
            cmd.getErr().println("error: " + e.getMessage().strip().replaceAll("\\s*\\R\\s*", "; ") + " (see '"
                    + cmd.getCommandSpec().qualifiedName() + " --help')");
            return BAD_INPUT;
        });
        return cl;
    }
}
