package dev.saetrain.train;

import dev.saetrain.io.AtomicFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The {@code checkpoints/} folder of a run:
 * <pre>
 *   checkpoints/
 *     step-&lt;N&gt;/          one complete checkpoint: checkpoint.json and &lt;sae&gt;.safetensors per SAE
 *     latest              one line, the folder name of the newest complete checkpoint ("step-1200")
 *     .tmp-step-&lt;N&gt;-&lt;random&gt;/   a checkpoint being written (or left by a crash: ignored, deleted by the next write)
 * </pre>
 * Crash safety comes from the order of operations: every file is fsynced inside the temporary folder, the
 * folder is fsynced and renamed to {@code step-<N>}, the parent is fsynced, and only then is {@code latest}
 * replaced atomically; older checkpoints are deleted last. So {@code latest} always names a complete
 * checkpoint, and the one before it survives until a newer one is complete. {@link #KEEP} are kept.
 */
final class CheckpointStore {
    /** Checkpoints kept: the newest, and the one before it in case the newest is damaged on disk. */
    static final int KEEP = 2;
    static final String LATEST = "latest";
    private static final Pattern STEP_DIR = Pattern.compile("step-(\\d+)");

    private final Path dir;

    CheckpointStore(Path runDir) {
        this.dir = runDir.resolve("checkpoints");
    }

    Path dir() {
        return dir;
    }

    /** The newest complete checkpoint's folder, or null when the run has none. */
    Path latest() throws IOException {
        Path pointer = dir.resolve(LATEST);
        if (!Files.isRegularFile(pointer)) {
            return null;
        }
        String name = Files.readString(pointer).strip();
        if (!STEP_DIR.matcher(name).matches() || !Files.isDirectory(dir.resolve(name))) {
            throw new IllegalArgumentException(pointer + " names '" + name + "', which is not a checkpoint folder there; "
                    + "write the name of an existing step-* folder into it");
        }
        return dir.resolve(name);
    }

    /** The step of the newest complete checkpoint, or -1. */
    long latestStep() throws IOException {
        Path p = latest();
        return p == null ? -1 : stepOf(p);
    }

    static long stepOf(Path checkpointDir) {
        Matcher m = STEP_DIR.matcher(checkpointDir.getFileName().toString());
        if (!m.matches()) {
            throw new IllegalArgumentException(checkpointDir + " is not a step-<N> checkpoint folder");
        }
        return Long.parseLong(m.group(1));
    }

    /** A fresh temporary folder to write the checkpoint of {@code step} into; leftovers of crashes are removed first. */
    Path begin(long step) throws IOException {
        Files.createDirectories(dir);
        removeTemporaries();
        String random = Long.toUnsignedString(ThreadLocalRandom.current().nextLong(), 36);
        return Files.createDirectory(dir.resolve(".tmp-step-" + step + "-" + random));
    }

    /** Publishes a fully written temporary folder as {@code step-<step>}, points {@code latest} at it, prunes. */
    void commit(Path tmp, long step) throws IOException {
        try (Stream<Path> files = Files.list(tmp)) {
            for (Path f : files.toList()) {
                fsync(f, false);
            }
        }
        fsync(tmp, true);
        Path target = dir.resolve("step-" + step);
        if (Files.exists(target)) {
            // Only a crash between this rename and the pointer update leaves a step folder that latest does not
            // name; it is complete but stale (the run resumed from an older one), so it is replaced.
            deleteTree(target);
        }
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
        fsync(dir, true);
        AtomicFiles.writeString(dir.resolve(LATEST), target.getFileName() + "\n");
        fsync(dir, true);
        prune(step);
    }

    /** Deletes a temporary folder after a failed write (the previous checkpoint stays the latest). */
    void abort(Path tmp) throws IOException {
        deleteTree(tmp);
    }

    /** Deletes every step folder but the newest {@link #KEEP} at or below {@code latestStep}. */
    private void prune(long latestStep) throws IOException {
        List<Long> steps = new ArrayList<>();
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : s.toList()) {
                Matcher m = STEP_DIR.matcher(p.getFileName().toString());
                if (m.matches() && Files.isDirectory(p)) {
                    steps.add(Long.parseLong(m.group(1)));
                }
            }
        }
        steps.sort(Comparator.reverseOrder());
        int kept = 0;
        for (long s : steps) {
            if (s <= latestStep && kept < KEEP) {
                kept++;
            } else {
                deleteTree(dir.resolve("step-" + s));
            }
        }
    }

    /** Removes folders of checkpoints that were being written when a process died. */
    void removeTemporaries() throws IOException {
        if (!Files.isDirectory(dir)) {
            return;
        }
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : s.toList()) {
                if (p.getFileName().toString().startsWith(".tmp-step-") && Files.isDirectory(p)) {
                    deleteTree(p);
                }
            }
        }
    }

    private static void fsync(Path p, boolean directory) throws IOException {
        // Linux fsyncs a directory through a read-only descriptor; that makes the renames inside it durable.
        try (FileChannel ch = FileChannel.open(p, directory ? StandardOpenOption.READ : StandardOpenOption.WRITE)) {
            ch.force(true);
        }
    }

    static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }
}
