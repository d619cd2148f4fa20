package dev.saetrain.device;

import java.util.Locale;

/**
 * The operating system (or the GPU) refused the memory of a device buffer. An OutOfMemoryError, so it travels like
 * one, with a message that names the size, and the SAE once a caller that knows it adds it ({@link #forSae}). The
 * command line turns it into one line on stderr and exit code 3 (the machine refused), never a JVM crash.
 */
public final class DeviceMemoryError extends OutOfMemoryError {
    private static final long serialVersionUID = 1L;

    /** @param bytes the size refused; @param what the buffer, e.g. "a CPU buffer of 268435456 floats" */
    public DeviceMemoryError(long bytes, String what) {
        super("the operating system refused " + human(bytes) + " (" + bytes + " bytes) for " + what);
    }

    private DeviceMemoryError(String message, DeviceMemoryError cause) {
        super(message);
        initCause(cause);
    }

    /** The same refusal with the SAE it was for named first. */
    public DeviceMemoryError forSae(String sae) {
        return new DeviceMemoryError("SAE " + sae + ": " + getMessage(), this);
    }

    private static String human(long bytes) {
        return bytes >= 1L << 30 ? String.format(Locale.ROOT, "%.1f GiB", bytes / (double) (1L << 30))
                : String.format(Locale.ROOT, "%.1f MiB", bytes / (double) (1L << 20));
    }
}
