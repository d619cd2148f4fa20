package dev.saetrain.sweep;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.saetrain.io.AtomicFiles;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * Writes a collected sweep as {@code sweep-results.csv} (one row per finished SAE) and {@code sweep-results.json}
 * (the same rows under "saes", plus "unfinished": the tasks or SAEs without a dictionary and their logs).
 * Columns: task, run, name, architecture, d_sae, k, l1 (the sparsity coefficient: l1, or jumprelu's L0
 * coefficient), l0, fvu, dead_fraction, tokens, wall_s, on_frontier. Empty CSV cells (null in JSON) mean the
 * column does not apply (k for relu, l1 for topk) or the value is not finite.
 */
public final class SweepTable {
    public static final String CSV = "sweep-results.csv";
    public static final String JSON_FILE = "sweep-results.json";
    static final List<String> COLUMNS = List.of("task", "run", "name", "architecture", "d_sae", "k", "l1", "l0", "fvu",
            "dead_fraction", "tokens", "wall_s", "on_frontier");
    private static final ObjectMapper JSON = new ObjectMapper();

    private SweepTable() {
    }

    /** Writes both files into {@code dir} atomically. */
    public static void write(Path dir, SweepCollector.Result r) throws IOException {
        AtomicFiles.writeString(dir.resolve(CSV), csv(r.rows()));
        AtomicFiles.writeString(dir.resolve(JSON_FILE), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(json(r)));
    }

    static String csv(List<SweepCollector.Row> rows) {
        StringBuilder sb = new StringBuilder(String.join(",", COLUMNS)).append('\n');
        for (SweepCollector.Row w : rows) {
            sb.append(String.join(",", List.of(w.task() < 0 ? "" : Integer.toString(w.task()),
                    cell(w.runDir().getFileName().toString()), cell(w.name()), w.architecture(), Integer.toString(w.dSae()),
                    w.k() > 0 ? Integer.toString(w.k()) : "", num(w.coefficient()), num(w.l0()), num(w.fvu()),
                    num(w.deadFraction()), Long.toString(w.tokens()), num(w.wallSeconds()),
                    Boolean.toString(w.onFrontier())))).append('\n');
        }
        return sb.toString();
    }

    static ObjectNode json(SweepCollector.Result r) {
        ObjectNode root = JSON.createObjectNode();
        ArrayNode saes = root.putArray("saes");
        for (SweepCollector.Row w : r.rows()) {
            ObjectNode o = saes.addObject();
            if (w.task() >= 0) {
                o.put("task", w.task());
            } else {
                o.putNull("task");
            }
            o.put("run", w.runDir().getFileName().toString());
            o.put("run_dir", w.runDir().toString());
            o.put("name", w.name());
            o.put("architecture", w.architecture());
            o.put("d_sae", w.dSae());
            if (w.k() > 0) {
                o.put("k", w.k());
            } else {
                o.putNull("k");
            }
            putNumber(o, "l1", w.coefficient());
            putNumber(o, "l0", w.l0());
            putNumber(o, "fvu", w.fvu());
            putNumber(o, "dead_fraction", w.deadFraction());
            o.put("tokens", w.tokens());
            putNumber(o, "wall_s", w.wallSeconds());
            o.put("on_frontier", w.onFrontier());
        }
        ArrayNode un = root.putArray("unfinished");
        for (SweepCollector.Unfinished u : r.unfinished()) {
            ObjectNode o = un.addObject();
            if (u.task() >= 0) {
                o.put("task", u.task());
            } else {
                o.putNull("task");
            }
            o.put("run_dir", u.runDir().toString());
            o.put("status", u.status());
            o.put("log", u.log().toString());
            o.put("last_log_line", u.lastLogLine());
        }
        return root;
    }

    private static void putNumber(ObjectNode o, String key, double v) {
        if (Double.isFinite(v)) {
            o.put(key, v);
        } else {
            o.putNull(key);
        }
    }

    private static String num(double v) {
        return Double.isFinite(v) ? String.format(Locale.ROOT, "%.6g", v) : "";
    }

    /** A CSV cell, quoted when it holds a comma, a quote or a line break (RFC 4180). */
    static String cell(String s) {
        if (s.contains(",") || s.contains("\"") || s.contains("\n") || s.contains("\r")) {
            return '"' + s.replace("\"", "\"\"") + '"';
        }
        return s;
    }
}
