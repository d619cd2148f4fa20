package dev.saetrain.sweep;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.saetrain.error.BadInputException;
import dev.saetrain.error.UsageException;
import dev.saetrain.io.JsonFiles;
import dev.saetrain.io.StrictJson;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Gathers the SAEs of a sweep from its run directories. A run records everything needed: config.json names
 * the SAEs (architecture, n_latents, k, l1) and, once it has ended, {@code result} (status, tokens, training
 * seconds over all sessions, diverged SAEs); metrics.jsonl's last row of each SAE is its final log interval
 * (the loop always logs the last step), which gives the final L0, FVU and dead fraction; an SAE is finished when
 * its exported {@code saes/<name>/cfg.json} exists.
 */
public final class SweepCollector {
    private static final ObjectMapper JSON = new ObjectMapper();

    private SweepCollector() {
    }

    /**
     * One finished SAE.
     *
     * @param task        its array task (-1 when the folder has no manifest)
     * @param coefficient l1 (relu, relu-2023, gated) or the L0 coefficient (jumprelu); NaN for k architectures
     * @param k           0 for coefficient architectures
     * @param l0          mean active latents per row over the final log interval
     * @param wallSeconds training time of the run (all its sessions; shared by the SAEs of a family)
     * @param onFrontier  no other SAE of the sweep has both a lower-or-equal L0 and a lower-or-equal FVU (one lower)
     */
    public record Row(int task, Path runDir, String name, String architecture, int dSae, int k, double coefficient,
                      double l0, double fvu, double deadFraction, long tokens, double wallSeconds, boolean onFrontier) {
        Row withFrontier(boolean f) {
            return new Row(task, runDir, name, architecture, dSae, k, coefficient, l0, fvu, deadFraction, tokens,
                    wallSeconds, f);
        }
    }

    /** A task (or one SAE of it) that has no finished dictionary, with where to look. */
    public record Unfinished(int task, Path runDir, String status, Path log, String lastLogLine) {
    }

    /** What a sweep folder holds. */
    public record Result(List<Row> rows, List<Unfinished> unfinished) {
    }

    /** Collects the sweep in {@code dir} (with manifest.tsv), or every run folder directly under it. */
    public static Result collect(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new BadInputException(dir, "is not a directory; sweep collect takes the sweep's \"out\" folder");
        }
        List<SweepTask> tasks = new ArrayList<>();
        Path manifest = dir.resolve(Manifest.FILE);
        boolean planned = Files.exists(manifest);
        if (planned) {
            tasks.addAll(Manifest.read(manifest));
        } else {
            try (Stream<Path> s = Files.list(dir)) {
                for (Path run : s.filter(p -> Files.isRegularFile(p.resolve("config.json"))).sorted().toList()) {
                    tasks.add(new SweepTask(tasks.size(), run, List.of("train"), List.of()));
                }
            }
            if (tasks.isEmpty()) {
                throw new BadInputException(dir, "holds no " + Manifest.FILE + " and no run folders (with config.json); "
                        + "give the \"out\" folder of a sweep");
            }
        }
        List<Row> rows = new ArrayList<>();
        List<Unfinished> unfinished = new ArrayList<>();
        for (SweepTask t : tasks) {
            int task = planned ? t.index() : -1;
            Path log = planned ? Manifest.log(dir, t.index()) : t.runDir().resolve("train.log");
            try {
                collectRun(task, t.runDir(), log, rows, unfinished);
            } catch (UsageException | IOException | IllegalArgumentException e) {
                // One damaged run (malformed config.json, truncated metrics) must not hide the others' results.
                unfinished.add(new Unfinished(task, t.runDir(), "broken: " + e.getMessage(), log, lastLine(log)));
            }
        }
        return new Result(markFrontier(rows), unfinished);
    }

    private static void collectRun(int task, Path run, Path log, List<Row> rows, List<Unfinished> unfinished)
            throws IOException {
        Path configFile = run.resolve("config.json");
        if (!Files.isRegularFile(configFile)) {
            unfinished.add(new Unfinished(task, run, Files.exists(log) ? "started, no run folder yet (or it failed "
                    + "before writing one)" : "not started", log, lastLine(log)));
            return;
        }
        JsonNode config = readJson(configFile);
        JsonNode result = config.get("result");
        if (result == null) {
            Path latest = run.resolve("checkpoints").resolve("latest");
            String at = Files.isRegularFile(latest) ? "last checkpoint " + Files.readString(latest, StandardCharsets.UTF_8).trim()
                    : "no checkpoint yet";
            unfinished.add(new Unfinished(task, run, "not finished (running, pending or stopped; " + at + ")", log,
                    lastLine(log)));
            return;
        }
        Map<String, JsonNode> last = lastMetrics(run.resolve("metrics.jsonl"));
        Map<String, String> diverged = new HashMap<>();
        for (JsonNode d : result.path("diverged")) {
            diverged.put(d.path("sae").asText(), "diverged at step " + d.path("step").asLong() + " ("
                    + d.path("reason").asText() + ")");
        }
        // Read strictly: a wrong-typed value would otherwise enter the table as 0 (the run is then reported broken).
        StrictJson j = new StrictJson(configFile);
        long tokens = j.integer(result, "result", "tokens", 0, Long.MAX_VALUE);
        double seconds = j.number(result, "result", "seconds", 0, Double.MAX_VALUE);
        JsonNode saes = j.array(config, "", "saes");
        for (int i = 0; i < saes.size(); i++) {
            JsonNode sae = saes.get(i);
            String at = "saes[" + i + "]";
            String name = j.text(sae, at, "name");
            if (!Files.isRegularFile(run.resolve("saes").resolve(name).resolve("cfg.json"))) {
                String why = diverged.getOrDefault(name, "run " + result.path("status").asText()
                        + " but saes/" + name + " is missing");
                unfinished.add(new Unfinished(task, run, "SAE " + name + ": " + why, log, lastLine(log)));
                continue;
            }
            JsonNode m = last.get(name);
            if (m == null) {
                throw new BadInputException(run.resolve("metrics.jsonl"), "has no row for SAE " + name
                        + ", which config.json lists as finished; the file was truncated or edited");
            }
            String arch = j.text(sae, at, "architecture");
            int k = j.intValue(sae, at, "k", 0, Integer.MAX_VALUE);
            rows.add(new Row(task, run, name, arch, j.intValue(sae, at, "n_latents", 1, Integer.MAX_VALUE), k,
                    k > 0 ? Double.NaN : j.number(sae, at, "l1", 0, Double.MAX_VALUE), number(m, "l0"),
                    number(m, "fvu"), number(m, "dead_fraction"), tokens, seconds, false));
        }
    }

    private static double number(JsonNode row, String key) {
        JsonNode v = row.get(key);
        return v == null || !v.isNumber() ? Double.NaN : v.asDouble();
    }

    /** The last metrics row of each SAE. */
    private static Map<String, JsonNode> lastMetrics(Path file) throws IOException {
        Map<String, JsonNode> last = new HashMap<>();
        if (!Files.exists(file)) {
            return last;
        }
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).isBlank()) {
                continue;
            }
            try {
                JsonNode row = JSON.readTree(lines.get(i));
                last.put(row.path("sae").asText(), row);
            } catch (JsonProcessingException e) {
                throw new BadInputException(file, "line " + (i + 1) + " is not JSON (" + e.getOriginalMessage() + ")", e);
            }
        }
        return last;
    }

    private static JsonNode readJson(Path file) throws IOException {
        return JsonFiles.read(file);
    }

    private static String lastLine(Path log) throws IOException {
        if (!Files.isRegularFile(log)) {
            return "";
        }
        List<String> lines = Files.readAllLines(log, StandardCharsets.ISO_8859_1);
        for (int i = lines.size() - 1; i >= 0; i--) {
            String l = lines.get(i).strip();
            if (!l.isEmpty()) {
                return l.length() > 200 ? l.substring(0, 200) + "..." : l;
            }
        }
        return "";
    }

    /** Marks the rows on the L0 / FVU Pareto frontier (both lower is better). */
    static List<Row> markFrontier(List<Row> rows) {
        List<Row> out = new ArrayList<>();
        for (Row r : rows) {
            boolean finite = Double.isFinite(r.l0()) && Double.isFinite(r.fvu());
            boolean dominated = !finite || rows.stream().anyMatch(o -> o != r && Double.isFinite(o.l0())
                    && Double.isFinite(o.fvu()) && o.l0() <= r.l0() && o.fvu() <= r.fvu()
                    && (o.l0() < r.l0() || o.fvu() < r.fvu()));
            out.add(r.withFrontier(!dominated));
        }
        return out;
    }
}
