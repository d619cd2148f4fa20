package dev.saetrain.io;

import com.fasterxml.jackson.databind.JsonNode;
import dev.saetrain.error.BadInputException;
import java.nio.file.Path;

/**
 * Typed reads of JSON fields that refuse what Jackson's {@code asInt()} family would quietly turn into 0 or a default:
 * a string where a number belongs, a fraction where an integer belongs, a value out of its range, a missing key. Every
 * refusal is a {@link BadInputException} naming the file and the key's path (e.g. {@code saes[1].interval.sse}), so a
 * damaged checkpoint or dictionary config says which value is wrong instead of resuming or loading a wrong one.
 *
 * <p>One instance reads one file; {@code key} arguments are paths relative to the node given, and {@code at} is that
 * node's own path ("" for the root) so messages carry the full path.
 */
public final class StrictJson {
    private final Path file;

    public StrictJson(Path file) {
        this.file = file;
    }

    public Path file() {
        return file;
    }

    /** The refusal for {@code key}, e.g. "file: 'step' must be an integer >= 0, got "12" (a string)". */
    public BadInputException bad(String at, String key, String expected, JsonNode got) {
        return new BadInputException(file, "'" + join(at, key) + "' must be " + expected + ", got " + describe(got)
                + "; the file is damaged or was edited");
    }

    /** The node at {@code key}, which must be present and not null. */
    public JsonNode need(JsonNode node, String at, String key) {
        JsonNode v = node.get(key);
        if (v == null || v.isNull()) {
            throw new BadInputException(file, "'" + join(at, key) + "' is missing; the file is damaged or was edited");
        }
        return v;
    }

    /** An object at {@code key}. */
    public JsonNode object(JsonNode node, String at, String key) {
        JsonNode v = need(node, at, key);
        if (!v.isObject()) {
            throw bad(at, key, "an object", v);
        }
        return v;
    }

    /** An array at {@code key}. */
    public JsonNode array(JsonNode node, String at, String key) {
        JsonNode v = need(node, at, key);
        if (!v.isArray()) {
            throw bad(at, key, "an array", v);
        }
        return v;
    }

    /** An integer in [{@code min}, {@code max}] at {@code key}; a fraction or a string is refused. */
    public long integer(JsonNode node, String at, String key, long min, long max) {
        return integerValue(need(node, at, key), at, key, min, max);
    }

    /** {@code v} itself as an integer in [{@code min}, {@code max}]. */
    public long integerValue(JsonNode v, String at, String key, long min, long max) {
        if (!v.isIntegralNumber() || !v.canConvertToLong() || v.asLong() < min || v.asLong() > max) {
            throw bad(at, key, "an integer" + range(min, max), v);
        }
        return v.asLong();
    }

    /** {@link #integer} within int range. */
    public int intValue(JsonNode node, String at, String key, int min, int max) {
        return (int) integer(node, at, key, min, max);
    }

    /** A finite number in [{@code min}, {@code max}] at {@code key} (an integer literal is a number too). */
    public double number(JsonNode node, String at, String key, double min, double max) {
        JsonNode v = need(node, at, key);
        if (!v.isNumber() || !Double.isFinite(v.asDouble()) || v.asDouble() < min || v.asDouble() > max) {
            throw bad(at, key, "a finite number" + range(min, max), v);
        }
        return v.asDouble();
    }

    /** A non-blank string at {@code key}. */
    public String text(JsonNode node, String at, String key) {
        JsonNode v = need(node, at, key);
        if (!v.isTextual() || v.asText().isBlank()) {
            throw bad(at, key, "a non-empty string", v);
        }
        return v.asText();
    }

    /** A boolean at {@code key}. */
    public boolean bool(JsonNode node, String at, String key) {
        JsonNode v = need(node, at, key);
        if (!v.isBoolean()) {
            throw bad(at, key, "true or false", v);
        }
        return v.asBoolean();
    }

    public static String join(String at, String key) {
        return at.isEmpty() ? key : key.startsWith("[") ? at + key : at + "." + key;
    }

    private static String range(long min, long max) {
        if (min == Long.MIN_VALUE && max == Long.MAX_VALUE) {
            return "";
        }
        if (max == Long.MAX_VALUE) {
            return " >= " + min;
        }
        return " in [" + min + ", " + max + "]";
    }

    private static String range(double min, double max) {
        if (min == Double.NEGATIVE_INFINITY && max == Double.POSITIVE_INFINITY) {
            return "";
        }
        if (max == Double.POSITIVE_INFINITY) {
            return " >= " + min;
        }
        return " in [" + min + ", " + max + "]";
    }

    private static String describe(JsonNode v) {
        if (v == null || v.isMissingNode()) {
            return "nothing";
        }
        String kind = v.isTextual() ? "a string" : v.isBoolean() ? "a boolean" : v.isObject() ? "an object"
                : v.isArray() ? "an array" : v.isNull() ? "null" : v.isIntegralNumber() ? "an integer" : "a number";
        String text = v.toString();
        return (text.length() > 40 ? text.substring(0, 40) + "..." : text) + " (" + kind + ")";
    }
}
