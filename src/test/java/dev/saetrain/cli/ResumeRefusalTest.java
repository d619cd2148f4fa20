package dev.saetrain.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.saetrain.io.DType;
import dev.saetrain.io.NpyWriter;
import dev.saetrain.io.Tensor;
import dev.saetrain.synth.SynthOptions;
import dev.saetrain.synth.SynthWriter;
import dev.saetrain.synth.SyntheticData;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** --resume refuses, with exit code 2 and one line naming the problem, what it cannot continue bit for bit. */
class ResumeRefusalTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path tmp;
    static Path data;
    static Path finished;

    @BeforeAll
    static void finishedRun() throws IOException {
        data = tmp.resolve("d16");
        SynthWriter.write(new SyntheticData(new SynthOptions(16, 32, 3, 0.99, 4_000, 2_048, 0, DType.F32)), data);
        StringWriter err = new StringWriter();
        assertEquals(0, Main.run(new PrintWriter(new StringWriter(), true), new PrintWriter(err, true), "train",
                data.toString(), "--out", tmp.resolve("runs").toString(), "--name", "done", "--batch", "256",
                "--expansion", "2", "--k", "2", "--threads", "1", "--checkpoint-every", "1024"), err.toString());
        finished = tmp.resolve("runs/done");
    }

    /** A copy of the finished run that looks interrupted: its result is removed from config.json. */
    private static Path unfinishedCopy(String name) throws IOException {
        Path dst = tmp.resolve("runs").resolve(name);
        try (Stream<Path> walk = Files.walk(finished)) {
            for (Path p : walk.sorted(Comparator.naturalOrder()).toList()) {
                Files.copy(p, dst.resolve(finished.relativize(p).toString()));
            }
        }
        ObjectNode config = (ObjectNode) JSON.readTree(dst.resolve("config.json").toFile());
        config.remove("result");
        Files.writeString(dst.resolve("config.json"), config.toString());
        return dst;
    }

    private static String refused(String... args) {
        StringWriter err = new StringWriter();
        assertEquals(2, Main.run(new PrintWriter(new StringWriter(), true), new PrintWriter(err, true), args),
                err.toString());
        String e = err.toString().strip();
        assertFalse(e.contains("\n"), "one line expected: " + e);
        assertTrue(e.startsWith("error: "), e);
        return e;
    }

    @Test
    void aFinishedRun() {
        String e = refused("train", "--resume", finished.toString());
        assertTrue(e.contains("already ended") && e.contains("finished"), e);
    }

    @Test
    void aRunWithoutCheckpoint() throws IOException {
        Path run = unfinishedCopy("nockpt");
        try (Stream<Path> walk = Files.walk(run.resolve("checkpoints"))) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
        String e = refused("train", "--resume", run.toString());
        assertTrue(e.contains("no checkpoint"), e);
    }

    @Test
    void changedData() throws IOException {
        Path run = unfinishedCopy("changed");
        Path other = tmp.resolve("d16-more");
        try (Stream<Path> s = Files.list(data)) {
            Files.createDirectories(other);
            for (Path p : s.toList()) {
                Files.copy(p, other.resolve(p.getFileName()));
            }
        }
        NpyWriter.write(other.resolve("shard-99999.npy"), Tensor.f32(new float[16 * 100], 100, 16));
        String e = refused("train", other.toString(), "--resume", run.toString());
        assertTrue(e.contains("differs") && e.contains("config.json"), e);
    }

    @Test
    void runOptionsWithResume() throws IOException {
        Path run = unfinishedCopy("opts");
        String e = refused("train", "--resume", run.toString(), "--k", "4");
        assertTrue(e.contains("--k cannot be combined with --resume"), e);
    }

    @Test
    void notARunDirectory() {
        String e = refused("train", "--resume", tmp.resolve("nothing-here").toString());
        assertTrue(e.contains("config.json does not exist"), e);
    }

    /** config.json's options are read strictly: a wrong type or a missing key is refused by name, never read as 0. */
    @Test
    void wrongTypedOrMissingOptionsInConfigJson() throws IOException {
        String[][] cases = {{"batch", "\"256\""}, {"seed", "0.5"}, {"skip_nonfinite", "0"}, {"tokens", null}};
        for (int c = 0; c < cases.length; c++) {
            Path run = unfinishedCopy("strict" + c);
            ObjectNode config = (ObjectNode) JSON.readTree(run.resolve("config.json").toFile());
            ObjectNode options = (ObjectNode) config.get("options");
            if (cases[c][1] == null) {
                options.remove(cases[c][0]);
            } else {
                options.set(cases[c][0], JSON.readTree(cases[c][1]));
            }
            String before = config.toString();
            Files.writeString(run.resolve("config.json"), before);
            String e = refused("train", "--resume", run.toString());
            assertTrue(e.contains("config.json") && e.contains("'options." + cases[c][0] + "'"), e);
            assertEquals(before, Files.readString(run.resolve("config.json")), "config.json was rewritten");
        }
    }
}
