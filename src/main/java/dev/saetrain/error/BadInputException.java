package dev.saetrain.error;

import java.nio.file.Path;

/**
 * Input the user gave us is wrong: a shard that cannot be read as promised, a value that is not finite, a directory
 * with nothing in it, a config file that is damaged. The message names the file (and the row, for values) and says
 * what to do; like every {@link UsageException} it is one line on stderr and exit code 2.
 */
public final class BadInputException extends UsageException {
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
