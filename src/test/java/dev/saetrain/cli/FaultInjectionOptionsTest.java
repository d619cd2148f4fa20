package dev.saetrain.cli;

import static dev.saetrain.cli.FaultFixture.assertFailure;
import static dev.saetrain.cli.FaultFixture.run;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every train option is checked before the run directory exists (nothing is written
 * for a refused option), nonsense values are refused by name, and a failed --resume leaves the run as it was.
 */
class FaultInjectionOptionsTest {
    @TempDir
    Path tmp;
    private Path data;
    private Path runs;

    @BeforeEach
    void data() throws IOException {
        data = FaultFixture.shard(tmp.resolve("data/a.npy"), 512, 8, 1).getParent();
        runs = tmp.resolve("runs");
    }

    private String[] train(String... extra) {
        List<String> a = new ArrayList<>(List.of("train", data.toString(), "--batch", "64", "--expansion", "2", "--k",
                "4", "--device", "cpu", "--out", runs.toString(), "--name", "r"));
        a.addAll(List.of(extra));
        if (!a.contains("--threads")) {
            a.addAll(List.of("--threads", "1"));
        }
        return a.toArray(String[]::new);
    }

    static Stream<Arguments> hostileOptions() {
        return Stream.of(
                Arguments.of(new String[] {"--lr", "NaN"}, "--lr"),
                Arguments.of(new String[] {"--lr", "-1e-3"}, "--lr"),
                Arguments.of(new String[] {"--lr", "Infinity"}, "--lr"),
                Arguments.of(new String[] {"--lr", "0"}, "--lr"),
                Arguments.of(new String[] {"--context-size", "0"}, "--context-size"),
                Arguments.of(new String[] {"--hook-name", ""}, "--hook-name"),
                Arguments.of(new String[] {"--model-name", "  "}, "--model-name"),
                Arguments.of(new String[] {"--hook-name", "blocks.0\nhook"}, "--hook-name"),
                Arguments.of(new String[] {"--threads", "-2"}, "--threads"),
                Arguments.of(new String[] {"--threads", "100000"}, "--threads"),
                Arguments.of(new String[] {"--tokens", "1"}, "--tokens 1 is less than one batch"),
                Arguments.of(new String[] {"--max-memory", "lots"}, "--max-memory"),
                Arguments.of(new String[] {"--max-memory", "1000000t"}, "--max-memory 1000000.0 TiB is more than this JVM"),
                Arguments.of(new String[] {"--checkpoint-every", "-5"}, "--checkpoint-every"),
                Arguments.of(new String[] {"--dead-tokens", "0"}, "--dead-tokens"),
                Arguments.of(new String[] {"--log-every", "0"}, "--log-every"));
    }

    @ParameterizedTest
    @MethodSource("hostileOptions")
    void aHostileOptionIsOneLineAndWritesNothing(String[] option, String expected) {
        FaultFixture.Outcome o = run(train(option));
        assertFailure(o, 2, expected);
        assertFalse(Files.exists(runs.resolve("r")), "no run directory for " + String.join(" ", option));
    }

    @Test
    void controlCharactersInTheNameAreRefusedVisibly() {
        List<String> a = new ArrayList<>(List.of(train()));
        a.set(a.indexOf("r"), "bell\u0007name");
        FaultFixture.Outcome o = run(a.toArray(String[]::new));
        assertFailure(o, 2, "--name", "U+0007");
        assertFalse(o.err().contains("\u0007"), "the control character itself is not echoed");
        assertFalse(Files.exists(runs), "nothing written");
    }

    @Test
    void tokensBelowABatchBlameTheOptionNotTheData() {
        FaultFixture.Outcome o = run(train("--tokens", "10"));
        assertFailure(o, 2, "--tokens 10", "--batch 64");
        assertFalse(o.err().contains(data.toString()), "the data is not blamed: " + o.err());
    }

    @Test
    void aValidRunStillTrains() {
        FaultFixture.Outcome o = run(train("--hook-name", "blocks.0.hook_resid_post", "--context-size", "128",
                "--lr", "1e-3"));
        assertEquals(0, o.code(), o.err());
        assertTrue(Files.isRegularFile(runs.resolve("r/saes/x2-k4/cfg.json")));
    }

    /** A run directory whose config.json says it has not ended, with its final checkpoint. */
    private Path resumableRun() throws IOException {
        assertEquals(0, run(train()).code());
        Path run = runs.resolve("r");
        ObjectMapper json = new ObjectMapper();
        ObjectNode config = (ObjectNode) json.readTree(run.resolve("config.json").toFile());
        config.remove("result");
        Files.writeString(run.resolve("config.json"), json.writerWithDefaultPrettyPrinter().writeValueAsString(config));
        return run;
    }

    @Test
    void aResumeWithABadRecordedOptionChangesNothing() throws IOException {
        Path run = resumableRun();
        ObjectMapper json = new ObjectMapper();
        ObjectNode config = (ObjectNode) json.readTree(run.resolve("config.json").toFile());
        ((ObjectNode) config.get("options")).put("context_size", 0);
        Files.writeString(run.resolve("config.json"), json.writeValueAsString(config));
        byte[] configBefore = Files.readAllBytes(run.resolve("config.json"));
        byte[] metricsBefore = Files.readAllBytes(run.resolve("metrics.jsonl"));
        // config.json is read strictly: the refusal names the file's key (see RunConfig.trainOptions).
        assertFailure(run("train", "--resume", run.toString()), 2, "'options.context_size'");
        assertArrayEquals(configBefore, Files.readAllBytes(run.resolve("config.json")));
        assertArrayEquals(metricsBefore, Files.readAllBytes(run.resolve("metrics.jsonl")));
    }

    @Test
    void aResumeFromADamagedCheckpointChangesNeitherConfigNorMetrics() throws IOException {
        Path run = resumableRun();
        Path latest = run.resolve("checkpoints").resolve(Files.readString(run.resolve("checkpoints/latest")).strip());
        Path state = latest.resolve("x2-k4.safetensors");
        byte[] bytes = Files.readAllBytes(state);
        Files.write(state, java.util.Arrays.copyOf(bytes, bytes.length - 4));
        // Metrics past the checkpoint's recorded length would be cut by a resume that went ahead.
        Files.writeString(run.resolve("metrics.jsonl"), "{\"sae\":\"x2-k4\",\"step\":999}\n",
                java.nio.file.StandardOpenOption.APPEND);
        byte[] configBefore = Files.readAllBytes(run.resolve("config.json"));
        byte[] metricsBefore = Files.readAllBytes(run.resolve("metrics.jsonl"));
        assertFailure(run("train", "--resume", run.toString(), "--threads", "1"), 2, state.getFileName().toString());
        assertArrayEquals(configBefore, Files.readAllBytes(run.resolve("config.json")), "config.json untouched");
        assertArrayEquals(metricsBefore, Files.readAllBytes(run.resolve("metrics.jsonl")), "metrics.jsonl untouched");
    }
}
