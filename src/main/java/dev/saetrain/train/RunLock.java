package dev.saetrain.train;

import dev.saetrain.error.UsageException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The lock that makes one process at a time the writer of a run directory: {@code RUN/run.lock}, held with an OS file
 * lock ({@link FileChannel#tryLock}, fcntl on Linux) for as long as the process trains, resumes or writes analyses
 * into the run. The file holds the holder's PID and host so that a refusal can name them.
 *
 * <p>The OS releases the lock when its process ends however it ends (SIGKILL, node failure), so a lock file whose
 * lock nobody holds is stale: it is taken over with a warning naming the process that left it. The file is never
 * deleted, only emptied on release: deleting it would let a process that opened the old file and one that creates a
 * new one both hold "the" lock.
 */
public final class RunLock implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(RunLock.class);
    public static final String FILE = "run.lock";

    private final FileChannel channel;
    private final FileLock lock;
    private final Path file;
    /** The holder named by a stale lock file this lock took over, or null. */
    private final String tookOver;

    private RunLock(FileChannel channel, FileLock lock, Path file, String tookOver) {
        this.channel = channel;
        this.lock = lock;
        this.file = file;
        this.tookOver = tookOver;
    }

    /**
     * Logs that a stale lock was taken over, if one was. Separate from {@link #acquire} so that a run logs it once its
     * train.log is open (the lock is taken before anything else of the run is touched).
     */
    public void warnIfTakenOver() {
        if (tookOver != null) {
            LOG.warn("took over the stale lock {} left by {} (that process no longer holds it: it was killed or its "
                    + "machine went down)", file, tookOver);
        }
    }

    /**
     * Takes the lock of {@code runDir} for this process.
     *
     * @param what what the process is about to do, for the refusal ("resume", "train", "write analyses into")
     * @throws UsageException naming the holder's PID and host when another process (or this one) holds it
     */
    public static RunLock acquire(Path runDir, String what) throws IOException {
        Path file = runDir.resolve(FILE);
        FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ,
                StandardOpenOption.WRITE);
        FileLock lock;
        try {
            lock = ch.tryLock();
        } catch (OverlappingFileLockException sameProcess) {
            ch.close();
            throw refusal(runDir, file, what, holder(file));
        } catch (IOException unsupported) {
            // Some network file systems have no locks (ENOLCK); refusing would stop every run there.
            ch.close();
            LOG.warn("cannot lock {} ({}); the file system does not support locks, so nothing stops a second process "
                    + "from writing {} at the same time", file, unsupported.getMessage(), runDir);
            return new RunLock(null, null, file, null);
        }
        if (lock == null) {
            ch.close();
            throw refusal(runDir, file, what, holder(file));
        }
        String previous;
        try {
            previous = read(ch);
            byte[] me = (self() + "\n").getBytes(StandardCharsets.UTF_8);
            ch.truncate(0);
            ch.write(ByteBuffer.wrap(me), 0);
            ch.force(true);
        } catch (IOException | RuntimeException e) {
            lock.release();
            ch.close();
            throw e;
        }
        return new RunLock(ch, lock, file, previous.isEmpty() ? null : previous);
    }

    /** "pid 1234 on host node7" for this process. */
    static String self() {
        return "pid " + ProcessHandle.current().pid() + " on host " + host();
    }

    private static UsageException refusal(Path runDir, Path file, String what, String holder) {
        return new UsageException("cannot " + what + " " + runDir + ": it is in use by "
                + (holder.isEmpty() ? "another process" : holder) + " (lock " + file + "); wait for that process to "
                + "end or stop it, then try again");
    }

    private static String holder(Path file) {
        try {
            return Files.readString(file, StandardCharsets.UTF_8).strip();
        } catch (IOException e) {
            return "";
        }
    }

    private static String read(FileChannel ch) throws IOException {
        long size = Math.min(ch.size(), 4096);
        ByteBuffer b = ByteBuffer.allocate((int) size);
        while (b.hasRemaining() && ch.read(b, b.position()) >= 0) {
            // read until full or end of file
        }
        return new String(b.array(), 0, b.position(), StandardCharsets.UTF_8).strip();
    }

    private static String host() {
        try {
            // The kernel's name, without a DNS lookup (InetAddress.getLocalHost can stall on a misconfigured node).
            return Files.readString(Path.of("/proc/sys/kernel/hostname")).strip();
        } catch (IOException | RuntimeException e) {
            try {
                return java.net.InetAddress.getLocalHost().getHostName();
            } catch (IOException unknown) {
                return "unknown";
            }
        }
    }

    /** Empties the file (a clean release leaves no holder behind) and releases the lock. */
    @Override
    public void close() throws IOException {
        if (channel == null) {
            return;
        }
        try {
            if (channel.isOpen()) {
                channel.truncate(0);
            }
        } catch (IOException ignored) {
            // The run directory may have been removed under the lock (a run void from bad data); nothing to empty.
        } finally {
            try {
                lock.release();
            } finally {
                channel.close();
            }
        }
    }
}
