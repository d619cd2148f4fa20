package dev.saetrain.error;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;

/**
 * Input the user gave us is wrong: a shard that cannot be read as promised, a value that is not finite, a directory
 * with nothing in it, a config file that is damaged. The message names the file (and the row, for values) and says
 * what to do; like every {@link UsageException} it is one line on stderr and exit code 2, and the settings its fix
 * names are {@link Setting}s, named by the CLI as options.
 */
public final class BadInputException extends UsageException {
    private final Path file;

    public BadInputException(Path file, String problem) {
        this(file, Collections.singletonList(problem), null);
    }

    public BadInputException(Path file, String problem, Throwable cause) {
        this(file, Collections.singletonList(problem), cause);
    }

    /**
     * A problem whose text names settings, e.g. {@code new BadInputException(dir, "no column 'x'; give one of them
     * to ", Setting.COLUMN)}.
     */
    public BadInputException(Path file, Object... problem) {
        this(file, Arrays.asList(problem), null);
    }

    private BadInputException(Path file, List<?> problem, Throwable cause) {
        super(null, prefixed(List.of(file + ": "), problem.toArray()), cause);
        this.file = file;
    }

    /** The offending file or directory. */
    public Path file() {
        return file;
    }

    /** This problem, about the same file, with {@code more} appended; this exception is its cause. */
    public BadInputException extended(Object... more) {
        List<Object> problem = new ArrayList<>(parts().subList(1, parts().size()));
        problem.addAll(Arrays.asList(more));
        return new BadInputException(file, problem, this);
    }
}
