package dev.saetrain.train;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CheckpointHoldTest {
    @TempDir
    Path dir;

    @Test
    void noReleaseFileNeverHolds() {
        CheckpointHold.NONE.await(1, () -> null);
        CheckpointHold.fromEnvironment(); // the test JVM does not set the variable: must not throw
    }

    @Test
    void holdsUntilTheReleaseFileExists() throws Exception {
        Path release = dir.resolve("release");
        CompletableFuture<Void> held = CompletableFuture.runAsync(() -> new CheckpointHold(release).await(5, () -> null));
        assertFalse(waitDone(held, 300), "returned before the release file existed");
        Files.createFile(release);
        assertTrue(waitDone(held, 30_000), "still holding after the release file was created");
    }

    @Test
    void aStopSignalEndsTheHold() throws Exception {
        AtomicReference<String> signal = new AtomicReference<>();
        CompletableFuture<Void> held = CompletableFuture.runAsync(
                () -> new CheckpointHold(dir.resolve("never")).await(5, signal::get));
        assertFalse(waitDone(held, 300), "returned with neither a release file nor a signal");
        signal.set("SIGTERM");
        assertTrue(waitDone(held, 30_000), "still holding after a stop signal");
    }

    @Test
    void anExistingReleaseFileDoesNotHold() throws Exception {
        Path release = Files.createFile(dir.resolve("release"));
        CompletableFuture<Void> held = CompletableFuture.runAsync(() -> new CheckpointHold(release).await(5, () -> null));
        assertTrue(waitDone(held, 30_000));
    }

    private static boolean waitDone(CompletableFuture<Void> f, long ms) throws Exception {
        try {
            f.get(ms, TimeUnit.MILLISECONDS);
            return true;
        } catch (java.util.concurrent.TimeoutException e) {
            return false;
        }
    }
}
