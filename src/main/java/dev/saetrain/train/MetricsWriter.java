package dev.saetrain.train;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Appends one JSON object per line to metrics.jsonl, flushed after each line so a crash keeps what was logged.
 * A checkpoint records {@link #syncedLength()}; a resume reopens the file truncated to it, dropping the rows
 * that the interrupted session wrote after its checkpoint (the resumed run writes them again).
 */
final class MetricsWriter implements AutoCloseable {
    private final FileChannel channel;
    private final BufferedWriter out;

    MetricsWriter(Path file) throws IOException {
        this(file, -1);
    }

    /** Opens {@code file} for appending, first truncated to {@code truncateTo} bytes when that is >= 0. */
    MetricsWriter(Path file, long truncateTo) throws IOException {
        channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        if (truncateTo >= 0) {
            channel.truncate(truncateTo);
        }
        channel.position(channel.size());
        out = new BufferedWriter(new OutputStreamWriter(Channels.newOutputStream(channel), StandardCharsets.UTF_8));
    }

    /** Forces every row written so far to disk and returns the file's length. */
    long syncedLength() throws IOException {
        out.flush();
        channel.force(false);
        return channel.size();
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
