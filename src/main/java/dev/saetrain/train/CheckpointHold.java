package dev.saetrain.train;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Test seam for interrupting a run at a known point, read from the environment (no option sets it): with
 * {@code SAE_TRAIN_HOLD_AFTER_CHECKPOINT=FILE}, the step loop waits after each periodic checkpoint until FILE
 * exists or a stop is requested (SIGTERM/SIGINT), whichever comes first. The cluster test
 * (scripts/slurm/test-local-slurm.sh) holds the tasks it requeues this way, so that they cannot finish before it has
 * interrupted them however fast the machine is; it creates FILE once the task is back in the queue, and the
 * resumed attempt then runs through.
 */
final class CheckpointHold {
    private static final Logger LOG = LoggerFactory.getLogger(CheckpointHold.class);
    static final String ENV = "SAE_TRAIN_HOLD_AFTER_CHECKPOINT";
    private static final long POLL_MS = 50;

    static final CheckpointHold NONE = new CheckpointHold(null);

    /** The file whose existence releases the hold; null for never holding. */
    private final Path release;

    CheckpointHold(Path release) {
        this.release = release;
    }

    static CheckpointHold fromEnvironment() {
        String v = System.getenv(ENV);
        return v == null || v.isEmpty() ? NONE : new CheckpointHold(Path.of(v));
    }

    /**
     * Returns at once without a release file or once it exists; otherwise waits, polling, until it exists or
     * {@code stopSignal} names a signal (the loop then stops as for any signal, its checkpoint already written).
     */
    void await(long step, Supplier<String> stopSignal) {
        if (release == null || Files.exists(release)) {
            return;
        }
        LOG.info("holding after the checkpoint of step {} until {} exists or a stop signal arrives ({} is set)",
                step, release, ENV);
        while (!Files.exists(release) && stopSignal.get() == null) {
            try {
                Thread.sleep(POLL_MS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        LOG.info("hold released at step {} ({})", step,
                stopSignal.get() != null ? "stop signal " + stopSignal.get() : release + " exists");
    }
}
