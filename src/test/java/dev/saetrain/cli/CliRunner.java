package dev.saetrain.cli;

import java.io.PrintWriter;
import java.io.StringWriter;

/**
 * Runs command lines in-process through {@link Main#run(PrintWriter, PrintWriter, String...)}, as the real entry
 * point does (exit codes, one-line failures), and keeps what they wrote to stdout and stderr. Output accumulates
 * over runs until it is cleared.
 */
final class CliRunner {
    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();

    /** Runs {@code args} and returns the exit code. */
    int run(String... args) {
        return Main.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
    }

    /** What the runs so far wrote to stdout. */
    String out() {
        return out.toString();
    }

    /** What the runs so far wrote to stderr. */
    String err() {
        return err.toString();
    }

    /** Forgets stdout so far. */
    void clearOut() {
        out.getBuffer().setLength(0);
    }

    /** Forgets stderr so far. */
    void clearErr() {
        err.getBuffer().setLength(0);
    }
}
