package dev.saetrain.io;

import dev.saetrain.error.BadInputException;
import dev.saetrain.error.Setting;
import java.io.IOException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Locale;

/**
 * The type check every input file gets before it is opened. Opening a FIFO for reading waits for a writer, which a
 * mistaken path never gets: the command would hang without a word. A device or socket is no data file either, and a
 * dangling symbolic link or a link loop deserves a name, not "no such file".
 */
public final class InputFiles {
    /** {@link #problem}'s answer for a path that does not exist and is no link. */
    public static final String NO_SUCH_FILE = "no such file";

    private InputFiles() {
    }

    /**
     * Refuses {@code file} unless it is (or links to) a regular file. A path that does not exist at all (and is no
     * dangling link) passes: the opener reports a missing file in its own words.
     *
     * @param what what the file is for, for the message (e.g. "shard", "vocabulary")
     * @throws BadInputException naming the file, what it is instead, and the fix
     */
    public static void requireRegularFile(Path file, String what) {
        String problem = problem(file);
        if (problem != null && !problem.equals(NO_SUCH_FILE)) {
            throw new BadInputException(file, problem + "; give the " + what + " as a regular file");
        }
    }

    /** {@link #requireRegularFile(Path, String)} for a file the user gives as {@code setting}, which the fix names. */
    public static void requireRegularFile(Path file, String what, Setting setting) {
        String problem = problem(file);
        if (problem != null && !problem.equals(NO_SUCH_FILE)) {
            throw new BadInputException(file, problem + "; give the " + what + " (", setting, ") as a regular file");
        }
    }

    /** Why {@code path} is not a readable regular file (following links), or null when it is one. */
    public static String problem(Path path) {
        BasicFileAttributes a;
        try {
            a = Files.readAttributes(path, BasicFileAttributes.class);
        } catch (NoSuchFileException e) {
            if (Files.isSymbolicLink(path)) {
                return "a dangling symbolic link (to " + target(path) + ", which does not exist)";
            }
            return NO_SUCH_FILE;
        } catch (FileSystemException e) {
            String reason = String.valueOf(e.getReason()).toLowerCase(Locale.ROOT);
            if (reason.contains("levels of symbolic links")) {
                return "a symbolic link loop (to " + target(path) + ")";
            }
            return "cannot be read (" + e.getReason() + ")";
        } catch (IOException e) {
            return "cannot be read (" + e.getMessage() + ")";
        }
        if (a.isDirectory()) {
            return "a directory, not a file";
        }
        if (a.isOther()) {
            return "a FIFO, socket or device, not a regular file (reading it could wait forever)";
        }
        return a.isRegularFile() ? null : "not a regular file";
    }

    private static String target(Path link) {
        try {
            return Files.readSymbolicLink(link).toString();
        } catch (IOException | UnsupportedOperationException e) {
            return "?";
        }
    }
}
