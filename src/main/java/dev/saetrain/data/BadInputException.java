package dev.saetrain.data;

import java.nio.file.Path;

/**
 * Input the user gave us is wrong: a shard that cannot be read as promised, a value that is not finite,
 * a directory with nothing in it. The CLI prints {@link #getMessage()} as one line and exits with code 2.
 * The message names the file (and the row, for values) and says what to do.
 */
public final class BadInputException extends RuntimeException {
    private final Path file;

    public BadInputException(Path file, String problem) {
        super(file + ": " + problem);
        this.file = file;
    }

    public BadInputException(Path file, String problem, Throwable cause) {
        super(file + ": " + problem, cause);
        this.file = file;
    }

    /** The offending file or directory. */
    public Path file() {
        return file;
    }
}
