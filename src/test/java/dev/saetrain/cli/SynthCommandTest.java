package dev.saetrain.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.saetrain.export.TestTensorFiles;
import dev.saetrain.io.DType;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class SynthCommandTest {
    @TempDir
    Path tmp;

    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();

    private int run(String... args) {
        CommandLine cl = new CommandLine(new SynthCommand());
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        return cl.execute(args);
    }

    @Test
    void writesTheShardsAndSaysWhatItWrote() throws IOException {
        Path dir = tmp.resolve("data");
        int code = run(dir.toString(), "--d", "16", "--features", "40", "--active", "4", "--decay", "0.9",
                "--rows", "3000", "--rows-per-shard", "1024", "--dtype", "f16", "--seed", "3");
        assertEquals(0, code, err.toString());
        for (String f : new String[] {"shard-00000.npy", "shard-00001.npy", "shard-00002.npy", "ground_truth.npy"}) {
            assertTrue(Files.exists(dir.resolve(f)), f);
        }
        TestTensorFiles.Loaded last = TestTensorFiles.readNpy(dir.resolve("shard-00002.npy"));
        assertEquals(DType.F16, last.dtype());
        assertEquals(952, last.shape()[0]);
        assertEquals(16, last.shape()[1]);
        String text = out.toString();
        assertTrue(text.contains("3 shards"), text);
        assertTrue(text.contains("rows 3000, d 16"), text);
        String mean = text.replaceAll("(?s).*per row: ([0-9.]+) measured.*", "$1");
        assertEquals(4, Double.parseDouble(mean), 0.3, text);
    }

    @Test
    void refusesAnOutputDirectoryWithShardsWithExitCode2() throws IOException {
        Path dir = tmp.resolve("data");
        assertEquals(0, run(dir.toString(), "--d", "4", "--features", "8", "--rows", "10"));
        byte[] before = Files.readAllBytes(dir.resolve("shard-00000.npy"));
        err.getBuffer().setLength(0);
        assertEquals(2, run(dir.toString(), "--d", "4", "--features", "8", "--rows", "10", "--seed", "1"));
        assertTrue(err.toString().contains("already contains"), err.toString());
        assertTrue(err.toString().contains(dir.toString()), err.toString());
        assertTrue(java.util.Arrays.equals(before, Files.readAllBytes(dir.resolve("shard-00000.npy"))));
    }

    @Test
    void badOptionsExitWith2AndWriteNothing() {
        Path dir = tmp.resolve("data");
        assertEquals(2, run(dir.toString(), "--decay", "1.5"));
        assertTrue(err.toString().contains("--decay"), err.toString());
        assertEquals(2, run(dir.toString(), "--dtype", "bf16"));
        assertTrue(err.toString().contains("bf16"), err.toString());
        assertEquals(2, run(dir.toString(), "--features", "4", "--active", "5"));
        assertFalse(Files.exists(dir));
    }
}
