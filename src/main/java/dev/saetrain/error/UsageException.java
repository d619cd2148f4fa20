package dev.saetrain.error;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.function.Function;

/**
 * The user asked for something the program cannot do as asked: an option value out of range, options that do not
 * go together, a file or a config that cannot be used ({@link BadInputException}, which names the file). The CLI
 * prints the message as one line and exits with code 2, without a stack trace; the message says what is wrong and
 * how to fix it.
 *
 * <p>A message is text and {@link Setting}s: where it blames or names a setting, it holds the constant, not a
 * spelling of it. {@link #message(Function)} names each setting as the caller wants (the CLI: by its option,
 * {@code --k}); {@link #getMessage()} names it by its {@link Setting#key()}, the domain's name ({@code k}), as it
 * reads inside a config.json or sweep file's message.
 *
 * <p>Not for broken internal contracts: a method called with arguments its callers should never pass throws
 * {@link IllegalArgumentException} or {@link IllegalStateException}, which the CLI reports as an internal failure
 * (exit 1, stack trace in the log).
 */
public class UsageException extends RuntimeException {
    private final Setting setting;
    /** Strings and Settings, joined without separators. */
    private final List<Object> parts;

    public UsageException(String message) {
        this(null, Collections.singletonList(message), null);
    }

    public UsageException(String message, Throwable cause) {
        this(null, Collections.singletonList(message), cause);
    }

    /**
     * Blames {@code setting}: the message is its name, a space, then {@code problem}, whose parts are text and the
     * other settings it names, e.g. {@code new UsageException(TOKENS, tokens + " is less than one batch (", BATCH,
     * " " + batch + ")")}. A cause is given with {@link #because}, not among the parts.
     */
    public UsageException(Setting setting, Object... problem) {
        this(setting, prefixed(List.of(setting, " "), problem), null);
    }

    /**
     * A message that blames no one setting but names some, e.g. in its fix: {@code UsageException.of("the run has no
     * whole batch; give more tokens or a smaller ", BATCH)}.
     */
    public static UsageException of(Object... parts) {
        return new UsageException(null, Arrays.asList(parts), null);
    }

    /** Message parts (Strings and Settings; anything else becomes its string) and an optional cause. */
    protected UsageException(Setting setting, List<?> parts, Throwable cause) {
        super((String) null);
        this.setting = setting;
        this.parts = normalized(parts);
        if (cause != null) {
            initCause(cause);
        }
    }

    /** The setting this blames, or null when the message is about a file or no one setting. */
    public Setting setting() {
        return setting;
    }

    /** Every setting the message names, in order (a fix may name others than the one blamed). */
    public List<Setting> settings() {
        return parts.stream().filter(Setting.class::isInstance).map(Setting.class::cast).toList();
    }

    /** The message with each setting named by {@code name}. */
    public String message(Function<? super Setting, String> name) {
        StringBuilder b = new StringBuilder();
        for (Object p : parts) {
            b.append(p instanceof Setting s ? name.apply(s) : (String) p);
        }
        return b.toString();
    }

    /** The message with each setting named by its {@link Setting#key()}. */
    @Override
    public String getMessage() {
        return message(Setting::key);
    }

    /** This exception with {@code cause} as its cause (for the constructors that take none); returns this. */
    public UsageException because(Throwable cause) {
        initCause(cause);
        return this;
    }

    /** The parts, for a subclass that extends a message. */
    protected final List<Object> parts() {
        return parts;
    }

    static List<Object> prefixed(List<Object> head, Object[] rest) {
        List<Object> all = new ArrayList<>(head);
        all.addAll(Arrays.asList(rest));
        return all;
    }

    private static List<Object> normalized(List<?> parts) {
        List<Object> out = new ArrayList<>(parts.size());
        for (Object p : parts) {
            out.add(p instanceof Setting ? p : String.valueOf(p));
        }
        return List.copyOf(out);
    }
}
