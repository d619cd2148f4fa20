package dev.saetrain.cli;

import static dev.saetrain.cli.FaultFixture.assertFailure;
import static dev.saetrain.cli.FaultFixture.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The commands sweep plan prints are quoted (a pasted path never runs what it holds), plan checks
 * every task's train options as train does, and sweep collect reports a broken run and goes on with the others.
 */
class FaultInjectionSweepTest {
    @TempDir
    Path tmp;
    private Path data;

    @BeforeEach
    void data() throws IOException {
        data = FaultFixture.shard(tmp.resolve("data/a.npy"), 512, 8, 1).getParent();
    }

    private Path sweep(String out, String train) throws IOException {
        String json = "{\"name\": \"s\", \"shard_dir\": " + quote(data.toString()) + ", \"out\": " + quote(out)
                + ", \"architectures\": [\"topk\"], \"expansion\": [2], \"k\": [4], \"train\": {\"batch\": 64"
                + (train.isEmpty() ? "" : ", " + train) + "}}";
        return Files.writeString(tmp.resolve("sweep.json"), json);
    }

    private static String quote(String s) {
        return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }

    @ParameterizedTest
    @ValueSource(strings = {"out $(touch PWNED)", "out`touch PWNED`", "it's \"out\"; touch PWNED", "a b\\c & touch PWNED"})
    void printedCommandsAreQuotedSoAPastedPathRunsNothing(String name) throws Exception {
        Path out = tmp.resolve(name);
        FaultFixture.Outcome o = run("sweep", "plan", sweep(out.toString(), "").toString());
        assertEquals(0, o.code(), o.err());
        List<String> commands = o.out().lines().map(String::strip)
                .filter(l -> l.startsWith("sbatch ") || l.startsWith("then: ")).map(l -> l.replaceFirst("^then: ", ""))
                .toList();
        assertEquals(2, commands.size(), o.out());
        for (String c : commands) {
            assumeTrue(FaultFixture.sh("bash", "-c", "true") == 0, "no bash here to parse the printed command with");
            assertEquals("", FaultFixture.shOut(tmp, "bash", "-n", "-c", c), "parses: " + c);
            // The command's program stands in for sbatch / sae-train and prints each word it gets on its own line.
            String words = FaultFixture.shOut(tmp, "bash", "-c",
                    "sbatch() { printf '%s\\n' \"$@\"; }; sae-train() { printf '%s\\n' \"$@\"; }; " + c);
            assertFalse(Files.exists(tmp.resolve("PWNED")), "the payload did not run: " + c);
            String last = words.strip().lines().reduce((a, b) -> b).orElseThrow();
            assertTrue(last.equals(out.resolve("manifest.tsv").toString()) || last.equals(out.toString()),
                    "the path arrives as one word: " + words);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"\"max_memory\": \"lots\"", "\"hook_name\": \"a\\u0007b\"", "\"tokens\": 10",
        "\"lr\": 1e400"})
    void everyTaskIsCheckedAsTrainChecksIt(String option) throws IOException {
        Path out = tmp.resolve("out");
        Path f = sweep(out.toString(), option);
        FaultFixture.Outcome o = run("sweep", "plan", f.toString());
        assertFailure(o, 2, f.toString());
        assertFalse(Files.exists(out.resolve("manifest.tsv")), "no manifest for " + option);
    }

    @Test
    void collectReportsABrokenRunAndGoesOn() throws IOException {
        Path runs = tmp.resolve("runs");
        for (String name : List.of("good", "broken")) {
            assertEquals(0, run("train", data.toString(), "--batch", "64", "--expansion", "2", "--k", "4", "--threads",
                    "1", "--device", "cpu", "--out", runs.toString(), "--name", name).code());
        }
        Files.writeString(runs.resolve("broken/config.json"), "{\"options\": ");
        FaultFixture.Outcome o = run("sweep", "collect", runs.toString());
        assertEquals(0, o.code(), o.err());
        assertFalse(o.err().contains("\tat "), o.err());
        assertTrue(o.out().contains("good"), "the good run is collected: " + o.out());
        assertTrue(o.out().contains("1 finished SAE(s)"), o.out());
        assertTrue(o.err().contains("broken: " + runs.resolve("broken/config.json")), o.err());
    }

    /** A finished run whose config.json holds a wrong-typed value is reported broken by key, never tabled as 0. */
    @Test
    void collectReportsAWrongTypedResultByKey() throws IOException {
        Path runs = tmp.resolve("runs");
        for (String name : List.of("good", "typed")) {
            assertEquals(0, run("train", data.toString(), "--batch", "64", "--expansion", "2", "--k", "4", "--threads",
                    "1", "--device", "cpu", "--out", runs.toString(), "--name", name).code());
        }
        Path config = runs.resolve("typed/config.json");
        Files.writeString(config, Files.readString(config).replaceFirst("\"tokens\"\\s*:\\s*(\\d+)\\s*,\\s*\"seconds\"",
                "\"tokens\": \"$1\", \"seconds\""));
        assertTrue(Files.readString(config).matches("(?s).*\"tokens\"\\s*:\\s*\"\\d+\".*"), "the test did not edit the file");
        FaultFixture.Outcome o = run("sweep", "collect", runs.toString());
        assertEquals(0, o.code(), o.err());
        assertTrue(o.out().contains("1 finished SAE(s)"), o.out());
        assertTrue(o.err().contains("broken: " + config) && o.err().contains("'result.tokens'"), o.err());
    }
}
