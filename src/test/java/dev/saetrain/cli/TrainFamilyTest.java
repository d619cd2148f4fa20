package dev.saetrain.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.saetrain.io.DType;
import dev.saetrain.synth.SynthOptions;
import dev.saetrain.synth.SynthWriter;
import dev.saetrain.synth.SyntheticData;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A family of SAEs trains in one process and one pass: one folder per SAE, metrics tagged by SAE. */
class TrainFamilyTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    private int train(StringWriter err, String... extra) throws IOException {
        Path data = tmp.resolve("d32");
        if (!Files.exists(data)) {
            SynthWriter.write(new SyntheticData(new SynthOptions(32, 64, 3, 0.99, 12_000, 8_192, 0, DType.F32)), data);
        }
        String[] base = {"train", data.toString(), "--batch", "512", "--out", tmp.resolve("runs").toString(),
            "--threads", "2", "--log-every", "5"};
        String[] args = new String[base.length + extra.length];
        System.arraycopy(base, 0, args, 0, base.length);
        System.arraycopy(extra, 0, args, base.length, extra.length);
        return Main.run(new PrintWriter(new StringWriter(), true), new PrintWriter(err, true), args);
    }

    @Test
    void expansionsOneToTwoFiftySixInOnePass() throws IOException {
        StringWriter err = new StringWriter();
        assertEquals(0, train(err, "--expansion", "1,2,4,8,16,32,64,128,256", "--k", "4", "--name", "fam"), err.toString());
        Path run = tmp.resolve("runs/fam");
        List<String> expected = List.of("x1-k4", "x2-k4", "x4-k4", "x8-k4", "x16-k4", "x32-k4", "x64-k4", "x128-k4",
                "x256-k4");
        for (String name : expected) {
            Path w = run.resolve("saes").resolve(name).resolve("sae_weights.safetensors");
            assertTrue(Files.exists(w), name);
        }
        JsonNode config = JSON.readTree(run.resolve("config.json").toFile());
        assertEquals(9, config.get("saes").size());
        assertEquals(23, config.at("/training/steps").asInt(), "one pass: 12000 rows / 512 per step");
        Set<String> tagged = new HashSet<>();
        for (String line : Files.readAllLines(run.resolve("metrics.jsonl"))) {
            tagged.add(JSON.readTree(line).get("sae").asText());
        }
        assertEquals(new HashSet<>(expected), tagged);
    }

    @Test
    void kListAndL1ListMakeOneSaePerValue() throws IOException {
        StringWriter err = new StringWriter();
        assertEquals(0, train(err, "--expansion", "2", "--k", "2,4", "--name", "ks"), err.toString());
        assertTrue(Files.exists(tmp.resolve("runs/ks/saes/x2-k2/cfg.json")));
        assertTrue(Files.exists(tmp.resolve("runs/ks/saes/x2-k4/cfg.json")));
        assertEquals(0, train(err, "--arch", "relu", "--expansion", "1,2", "--l1", "0.5,1", "--name", "ls"), err.toString());
        for (String n : List.of("x1-l1_0.5", "x1-l1_1.0", "x2-l1_0.5", "x2-l1_1.0")) {
            assertTrue(Files.exists(tmp.resolve("runs/ls/saes").resolve(n).resolve("cfg.json")), n);
        }
    }

    @Test
    void aFamilyThatDoesNotFitStopsBeforeAnythingIsWritten() throws IOException {
        StringWriter err = new StringWriter();
        assertEquals(2, train(err, "--expansion", "1,256", "--k", "4", "--max-memory", "20m", "--name", "big"));
        assertTrue(err.toString().contains("x256-k4"), err.toString());
        assertFalse(err.toString().contains("x1-k4"), err.toString());
        assertFalse(Files.exists(tmp.resolve("runs/big")));
    }

    @Test
    void aFamilyPastTheMachineNamesTheDefaultLimitAndHowToChangeIt() throws IOException {
        StringWriter err = new StringWriter();
        // x1000000 at d = 32: tens of GiB of parameters, [512, 32M] pre-activations; checked before anything is built.
        assertEquals(2, train(err, "--expansion", "1,1000000", "--k", "4", "--name", "huge"));
        assertTrue(err.toString().contains("the machine's memory") && err.toString().contains("head room")
                && err.toString().contains("--max-memory") && err.toString().contains("x1000000-k4"), err.toString());
        assertFalse(err.toString().contains("MaxDirectMemorySize"), err.toString());
        assertFalse(Files.exists(tmp.resolve("runs/huge")));
    }

    @Test
    void aRepeatedValueIsRefused() throws IOException {
        StringWriter err = new StringWriter();
        assertEquals(2, train(err, "--expansion", "2,2", "--name", "rep"));
        assertTrue(err.toString().contains("twice"), err.toString());
    }
}
