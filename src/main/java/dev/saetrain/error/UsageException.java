package dev.saetrain.error;

/**
 * The user asked for something the program cannot do as asked: an option value out of range, options that do not
 * go together, a file or a config that cannot be used ({@link BadInputException}, which names the file). The CLI
 * prints {@link #getMessage()} as one line and exits with code 2, without a stack trace; the message says what is
 * wrong and how to fix it.
 *
 * <p>Not for broken internal contracts: a method called with arguments its callers should never pass throws
 * {@link IllegalArgumentException} or {@link IllegalStateException}, which the CLI reports as an internal failure
 * (exit 1, stack trace in the log).
 */
public class UsageException extends RuntimeException {

    public UsageException(String message) {
        super(message);
    }

    public UsageException(String message, Throwable cause) {
        super(message, cause);
    }
}
