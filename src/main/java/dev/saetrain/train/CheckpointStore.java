package dev.saetrain.train;

import dev.saetrain.error.UsageException;
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
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code checkpoints/} folder of a run:
 * <pre>
 *   checkpoints/
 *     step-&lt;N&gt;/          one complete checkpoint: checkpoint.json and &lt;sae&gt;.safetensors per SAE
 *     latest              one line, the folder name of the newest complete checkpoint ("step-1200")
 *     .tmp-step-&lt;N&gt;-&lt;random&gt;/   a checkpoint being written (or left by a crash: ignored, deleted by the next write)
 * </pre>
 * Crash safety comes from the order of operations: every file is written inside the temporary folder, the
 * checksums of all of them are written last ({@link CheckpointManifest}), every file is fsynced, the folder is fsynced
 * and renamed to {@code step-<N>}, the parent is fsynced, and only then is {@code latest} replaced atomically; older
 * checkpoints are deleted last. So {@code latest} always names a complete checkpoint, and the one before it survives
 * until a newer one is complete.
 *
 * <p>Pruning keeps the newest checkpoint and, going back from it, every older one down to the first that still
 * verifies: a damaged previous checkpoint never leaves the newest as the only one a resume could fall back from.
 */
final class CheckpointStore {
    private static final Logger LOG = LoggerFactory.getLogger(CheckpointStore.class);
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
            throw new UsageException(pointer + " names '" + name + "', which is not a checkpoint folder there; "
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

    /** The {@code step-*} folders, newest first. */
    List<Path> stepDirs() throws IOException {
        List<Path> out = new ArrayList<>();
        if (!Files.isDirectory(dir)) {
            return out;
        }
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : s.toList()) {
                if (STEP_DIR.matcher(p.getFileName().toString()).matches() && Files.isDirectory(p)) {
                    out.add(p);
                }
            }
        }
        out.sort(Comparator.comparingLong(CheckpointStore::stepOf).reversed());
        return out;
    }

    /**
     * Publishes a fully written temporary folder as {@code step-<step>}: writes its checksums, points {@code latest}
     * at it, prunes.
     */
    void commit(Path tmp, long step) throws IOException {
        CheckpointManifest.write(tmp);
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

    /**
     * Deletes step folders above {@code latestStep} (stale: left by a crash between a rename and the pointer update, or
     * damaged ones a resume fell back past) and those older than the newest verifying one below {@code latestStep}.
     * The previous checkpoint is read back for this (its checksums), so that a resume always has a sound one to fall
     * back to if the newest is damaged later; damaged ones between them stay until a newer sound one replaces them.
     */
    private void prune(long latestStep) throws IOException {
        boolean fallbackFound = false;
        for (Path p : stepDirs()) {
            long s = stepOf(p);
            if (s > latestStep) {
                deleteTree(p);
            } else if (s == latestStep) {
                continue;
            } else if (fallbackFound) {
                deleteTree(p);
            } else {
                String problem = CheckpointCheck.quickProblem(p);
                if (problem == null) {
                    fallbackFound = true;
                } else {
                    LOG.warn("checkpoint {} is damaged ({}); it is kept with every older one until a newer sound "
                            + "checkpoint replaces it", p, problem);
                }
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
