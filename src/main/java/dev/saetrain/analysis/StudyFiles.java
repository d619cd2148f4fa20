package dev.saetrain.analysis;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.saetrain.io.AtomicFiles;
import java.io.IOException;
import java.nio.file.Path;

/**
 * The files every study writes into its folder {@code <out>/<study>/[<sae>/]}: {@value #SUMMARY} (the headline
 * numbers, read by the report), CSV tables ({@link Csv}) and PNG plots ({@link Plots}).
 */
public final class StudyFiles {
    /** Each study folder's headline numbers. */
    public static final String SUMMARY = "summary.json";

    static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private StudyFiles() {
    }

    /** A new empty JSON object. */
    public static ObjectNode object() {
        return JSON.createObjectNode();
    }

    /** Writes {@code node} pretty-printed to {@code file}, atomically. */
    public static void writeJson(Path file, JsonNode node) throws IOException {
        String text;
        try {
            text = JSON.writeValueAsString(node) + "\n";
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot serialise an in-memory JSON tree", e);
        }
        AtomicFiles.writeString(file, text);
    }

    /** {@code values} as a JSON array. */
    public static ArrayNode array(double[] values) {
        ArrayNode a = JSON.createArrayNode();
        for (double v : values) {
            a.add(v);
        }
        return a;
    }

    /** {@code values} as a JSON array. */
    public static ArrayNode array(long[] values) {
        ArrayNode a = JSON.createArrayNode();
        for (long v : values) {
            a.add(v);
        }
        return a;
    }

    /** A histogram as {@code {"edges": [...], "counts": [...]}}. */
    public static ObjectNode histogram(Histogram h) {
        ObjectNode o = object();
        o.set("edges", array(h.edges()));
        o.set("counts", array(h.counts()));
        o.put("below", h.below());
        o.put("above", h.above());
        return o;
    }
}
