package dev.saetrain.analysis;

import dev.saetrain.io.AtomicFiles;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A CSV table built row by row and written atomically (RFC 4180: comma-separated, a header line, fields with a
 * comma, quote or newline quoted). Doubles are written with {@link Double#toString} (shortest exact form), so
 * a reader gets back the computed value.
 */
public final class Csv {
    private final List<String> header;
    private final List<String> lines = new ArrayList<>();

    public Csv(String... header) {
        this.header = List.of(header);
    }

    /** Appends one row; it must have one value per column. */
    public Csv row(Object... values) {
        if (values.length != header.size()) {
            throw new IllegalArgumentException("a row of " + values.length + " values for " + header.size()
                    + " columns " + header);
        }
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < values.length; i++) {
            if (i > 0) {
                sb.append(',');
            }
            sb.append(field(values[i]));
        }
        lines.add(sb.toString());
        return this;
    }

    /** Rows so far. */
    public int size() {
        return lines.size();
    }

    /** Writes the table to {@code file} (atomically). */
    public void write(Path file) throws IOException {
        StringBuilder sb = new StringBuilder(String.join(",", header.stream().map(Csv::field).toList())).append('\n');
        for (String l : lines) {
            sb.append(l).append('\n');
        }
        AtomicFiles.writeString(file, sb.toString());
    }

    private static String field(Object v) {
        return quote(v == null ? "" : v.toString());
    }

    /** One field as RFC 4180 writes it: wrapped in quotes, quotes doubled, when it holds a comma, quote or line break. */
    public static String quote(String s) {
        if (s.indexOf(',') >= 0 || s.indexOf('"') >= 0 || s.indexOf('\n') >= 0 || s.indexOf('\r') >= 0) {
            return '"' + s.replace("\"", "\"\"") + '"';
        }
        return s;
    }
}
