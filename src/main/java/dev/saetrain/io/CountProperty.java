package dev.saetrain.io;

/**
 * A count that a {@code -D} system property may set in place of the program's own (tests use these to make small
 * inputs take the paths of large ones: pages of a few floats, blocks of a few rows).
 */
public final class CountProperty {
    private CountProperty() {
    }

    /**
     * The value of system property {@code name} as a whole number of at least 1, or {@code otherwise} where it is not
     * set.
     *
     * @param what what the count counts, for the message ("a float count", "a row count")
     * @throws IllegalArgumentException naming the property, where it is set to anything else
     */
    public static long get(String name, String what, long otherwise) {
        String forced = System.getProperty(name);
        if (forced == null) {
            return otherwise;
        }
        try {
            long v = Long.parseLong(forced.trim());
            if (v >= 1) {
                return v;
            }
        } catch (NumberFormatException e) {
            // named below
        }
        throw new IllegalArgumentException("-D" + name + "=" + forced + " is not " + what + " >= 1");
    }
}
