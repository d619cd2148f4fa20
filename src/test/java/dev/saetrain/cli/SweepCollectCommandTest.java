package dev.saetrain.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.saetrain.io.DType;
import dev.saetrain.synth.SynthOptions;
import dev.saetrain.synth.SynthWriter;
import dev.saetrain.synth.SyntheticData;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * sae-train sweep collect on a planned sweep whose tasks were run as scripts/slurm/sweep.sbatch runs them (the manifest
 * line's arguments): the table holds every finished SAE with its final metrics; unfinished tasks are listed with logs.
 */
class SweepCollectCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;
    private final CliRunner cli = new CliRunner();

    /** Runs {@code args} with fresh output. */
    private int run(String... args) {
        cli.clearOut();
        cli.clearErr();
        return cli.run(args);
    }

    /** Plans topk x2 k2, topk x2 k4, relu x2 l1 2.0 (3 tasks) and runs the given tasks' manifest lines. */
    private Path sweep(int... runTasks) throws IOException {
        Path data = tmp.resolve("d16");
        SynthWriter.write(new SyntheticData(new SynthOptions(16, 32, 3, 0.99, 6144, 2048, 0, DType.F32)), data);
        Path f = tmp.resolve("sweep.json");
        Files.writeString(f, "{\"name\": \"c\", \"shard_dir\": \"" + data + "\", \"out\": \"" + tmp.resolve("out") + "\", "
                + "\"architectures\": [\"topk\", \"relu\"], \"expansion\": [2], \"k\": [2, 4], \"l1\": [2.0], "
                + "\"train\": {\"batch\": 512, \"lr\": 0.003, \"device\": \"cpu\", \"threads\": 1, \"log_every\": 4}}");
        assertEquals(0, run("sweep", "plan", f.toString()), cli.err());
        List<String> lines = Files.readAllLines(tmp.resolve("out/manifest.tsv"));
        for (int t : runTasks) {
            String[] fields = lines.get(t).split("\t");
            assertEquals(0, run(List.of(fields).subList(1, fields.length).toArray(String[]::new)), cli.err());
        }
        return tmp.resolve("out");
    }

    @Test
    void finishedSaesMakeTheTableUnfinishedTasksAreListedWithTheirLogs() throws IOException {
        Path dir = sweep(0, 1);
        // Task 1 was killed before it ended: its config.json has no result yet; its log says why.
        Path run1 = dir.resolve("t001-topk-s0");
        ObjectNode config1 = (ObjectNode) JSON.readTree(run1.resolve("config.json").toFile());
        config1.remove("result");
        Files.writeString(run1.resolve("config.json"), config1.toString());
        Files.writeString(dir.resolve("logs/task-1.log"), "starting\nslurmstepd: error: *** JOB 7 CANCELLED ***\n\n");

        assertEquals(0, run("sweep", "collect", dir.toString()), cli.err());
        JsonNode r = JSON.readTree(dir.resolve("sweep-results.json").toFile());
        assertEquals(1, r.get("saes").size());
        JsonNode sae = r.at("/saes/0");
        assertEquals("x2-k2", sae.get("name").asText());
        assertEquals("topk", sae.get("architecture").asText());
        assertEquals(32, sae.get("d_sae").asInt());
        assertEquals(2, sae.get("k").asInt());
        assertTrue(sae.get("l1").isNull());
        Path run0 = dir.resolve("t000-topk-s0");
        List<String> metrics = Files.readAllLines(run0.resolve("metrics.jsonl"));
        JsonNode last = JSON.readTree(metrics.get(metrics.size() - 1));
        assertEquals(last.get("l0").asDouble(), sae.get("l0").asDouble(), "final L0 = the last interval's");
        assertEquals(last.get("fvu").asDouble(), sae.get("fvu").asDouble());
        assertEquals(last.get("dead_fraction").asDouble(), sae.get("dead_fraction").asDouble());
        JsonNode result = JSON.readTree(run0.resolve("config.json").toFile()).get("result");
        assertEquals(6144, sae.get("tokens").asLong());
        assertEquals(result.get("tokens").asLong(), sae.get("tokens").asLong());
        assertEquals(result.get("seconds").asDouble(), sae.get("wall_s").asDouble());
        assertTrue(sae.get("on_frontier").asBoolean());

        JsonNode un = r.get("unfinished");
        assertEquals(2, un.size(), un.toString());
        assertEquals(1, un.at("/0/task").asInt());
        assertTrue(un.at("/0/status").asText().startsWith("not finished"), un.toString());
        assertTrue(un.at("/0/status").asText().contains("last checkpoint step-12"), un.toString());
        assertEquals(dir.resolve("logs/task-1.log").toString(), un.at("/0/log").asText());
        assertEquals("slurmstepd: error: *** JOB 7 CANCELLED ***", un.at("/0/last_log_line").asText());
        assertEquals(2, un.at("/1/task").asInt());
        assertEquals("not started", un.at("/1/status").asText());
        assertTrue(cli.err().contains("unfinished: task 2 "), cli.err());
        assertTrue(cli.err().contains("2 task(s) or SAE(s) not finished"), cli.err());

        List<String> csv = Files.readAllLines(dir.resolve("sweep-results.csv"));
        assertEquals(2, csv.size());
        assertTrue(csv.get(1).startsWith("0,t000-topk-s0,x2-k2,topk,32,2,,"), csv.get(1));
        BufferedImage png = ImageIO.read(dir.resolve("frontier.png").toFile());
        assertEquals(800, png.getWidth());
        assertEquals(600, png.getHeight());
    }

    @Test
    void everyTaskDoneGivesTheFullTableAndAFrontier() throws IOException {
        Path dir = sweep(0, 1, 2);
        assertEquals(0, run("sweep", "collect", dir.toString()), cli.err());
        JsonNode r = JSON.readTree(dir.resolve("sweep-results.json").toFile());
        assertEquals(List.of("x2-k2", "x2-k4", "x2-l1_2.0"),
                List.of(r.at("/saes/0/name").asText(), r.at("/saes/1/name").asText(), r.at("/saes/2/name").asText()));
        assertEquals(2.0, r.at("/saes/2/l1").asDouble());
        assertTrue(r.at("/saes/2/k").isNull());
        assertEquals(0, r.get("unfinished").size());
        assertEquals("", cli.err());
        int front = 0;
        for (JsonNode s : r.get("saes")) {
            assertTrue(s.get("fvu").asDouble() > 0 && s.get("fvu").asDouble() < 1, s.toString());
            front += s.get("on_frontier").asBoolean() ? 1 : 0;
        }
        assertTrue(front >= 1);
        assertTrue(cli.out().contains("3 finished SAE(s)"), cli.out());

        // A diverged SAE (config.json lists it under result.diverged and it has no dictionary) is listed, not tabled.
        Path run2 = dir.resolve("t002-relu-s0");
        ObjectNode config = (ObjectNode) JSON.readTree(run2.resolve("config.json").toFile());
        ((ObjectNode) config.get("result")).putArray("diverged").addObject().put("sae", "x2-l1_2.0").put("step", 5)
                .put("reason", "loss NaN");
        Files.writeString(run2.resolve("config.json"), config.toString());
        Path saeDir = run2.resolve("saes/x2-l1_2.0");
        try (var files = Files.list(saeDir)) {
            for (Path p : files.toList()) {
                Files.delete(p);
            }
        }
        Files.delete(saeDir);
        assertEquals(0, run("sweep", "collect", dir.toString()), cli.err());
        r = JSON.readTree(dir.resolve("sweep-results.json").toFile());
        assertEquals(2, r.get("saes").size());
        assertEquals("SAE x2-l1_2.0: diverged at step 5 (loss NaN)", r.at("/unfinished/0/status").asText());
    }

    @Test
    void aFolderOfRunsWithoutManifestIsCollectedAndANonSweepIsRefused() throws IOException {
        Path dir = sweep(2);
        Files.delete(dir.resolve("manifest.tsv"));
        assertEquals(0, run("sweep", "collect", dir.toString()), cli.err());
        JsonNode r = JSON.readTree(dir.resolve("sweep-results.json").toFile());
        assertEquals(1, r.get("saes").size());
        assertTrue(r.at("/saes/0/task").isNull());
        assertFalse(cli.out().contains("unfinished"));

        Path empty = Files.createDirectories(tmp.resolve("empty"));
        assertEquals(2, run("sweep", "collect", empty.toString()));
        assertEquals("error: " + empty + ": holds no manifest.tsv and no run folders (with config.json); give the "
                + "\"out\" folder of a sweep", cli.err().strip());
        assertEquals(2, run("sweep", "collect", tmp.resolve("nope").toString()));
        assertTrue(cli.err().startsWith("error: " + tmp.resolve("nope") + ": is not a directory"), cli.err());
    }
}
