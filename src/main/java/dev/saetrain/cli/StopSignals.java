package dev.saetrain.cli;

import dev.saetrain.train.Trainer;
import java.util.LinkedHashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import sun.misc.Signal;
import sun.misc.SignalHandler;

/**
 * While training runs, SIGTERM and SIGINT ask the trainer to write a checkpoint at the next step boundary and
 * stop; the command then exits with {@link #exitCode} (143 for SIGTERM, 130 for SIGINT: 128 + the signal
 * number, what a shell reports for a process killed by that signal, so Slurm requeue scripts that test for
 * 143 work unchanged). A second signal exits at once: the checkpoint being written is abandoned, but the
 * previous one is intact (checkpoints are published atomically).
 *
 * <p>sun.misc.Signal (module jdk.unsupported) rather than a shutdown hook: a hook runs after the JVM has begun
 * to exit, so it cannot choose the exit code or let the main thread finish the checkpoint in an orderly way.
 * javac warns that it is an internal API; it has been stable since Java 1.4 and is exported on purpose.
 */
final class StopSignals implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(StopSignals.class);
    /** Exit code after a checkpoint on SIGTERM (128 + 15). */
    static final int TERM_EXIT = 143;
    /** Exit code after a checkpoint on SIGINT (128 + 2). */
    static final int INT_EXIT = 130;

    private final Map<Signal, SignalHandler> previous = new LinkedHashMap<>();
    private volatile String received;

    /** Routes SIGTERM and SIGINT to {@code trainer.requestStop} until {@link #close()}. */
    StopSignals(Trainer trainer) {
        for (String name : new String[] {"TERM", "INT"}) {
            Signal sig = new Signal(name);
            previous.put(sig, Signal.handle(sig, s -> onSignal(trainer, "SIG" + s.getName())));
        }
    }

    private void onSignal(Trainer trainer, String name) {
        if (received != null) {
            LOG.warn("{} again: exiting now without finishing the checkpoint; the previous checkpoint is intact", name);
            Runtime.getRuntime().halt(exitCode(name));
        }
        received = name;
        LOG.warn("{} received: writing a checkpoint at the next step boundary, then exiting with code {}", name,
                exitCode(name));
        trainer.requestStop(name);
    }

    /** The signal that stopped the run, or null. */
    String received() {
        return received;
    }

    /** The exit code for a run stopped by {@code signal} ("SIGTERM" or "SIGINT"). */
    static int exitCode(String signal) {
        return "SIGINT".equals(signal) ? INT_EXIT : TERM_EXIT;
    }

    @Override
    public void close() {
        previous.forEach(Signal::handle);
    }
}
