package dev.saetrain.io;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.saetrain.error.BadInputException;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Reads the project's JSON files (config.json, checkpoint.json, sweep files) strictly: malformed JSON and a key
 * given twice are errors naming the file, never a silent last-one-wins.
 */
public final class JsonFiles {
    private static final ObjectMapper JSON = new ObjectMapper().enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    private JsonFiles() {
    }

    /**
     * The tree of {@code file}.
     *
     * @throws BadInputException naming the file, line and column when it is not valid JSON
     */
    public static JsonNode read(Path file) throws IOException {
        InputFiles.requireRegularFile(file, "JSON file");
        try {
            return JSON.readTree(file.toFile());
        } catch (JsonProcessingException e) {
            JsonLocation at = e.getLocation();
            throw new BadInputException(file, "not valid JSON: " + e.getOriginalMessage()
                    + (at == null ? "" : " at line " + at.getLineNr() + ", column " + at.getColumnNr())
                    + "; fix the file or restore it", e);
        }
    }
}
