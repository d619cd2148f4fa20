package dev.saetrain.train;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** Appends one JSON object per line to metrics.jsonl, flushed after each line so a crash keeps what was logged. */
final class MetricsWriter implements AutoCloseable {
    private final BufferedWriter out;

    MetricsWriter(Path file) throws IOException {
        out = Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                StandardOpenOption.APPEND);
    }

    void write(ObjectNode row) throws IOException {
        out.write(row.toString());
        out.write('\n');
        out.flush();
    }

    @Override
    public void close() throws IOException {
        out.close();
    }
}
