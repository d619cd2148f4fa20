package dev.saetrain.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.saetrain.io.NpyWriter;
import dev.saetrain.io.Tensor;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class InspectCommandTest {
    @TempDir
    Path dir;

    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();

    private static void writeNpy(Path file, float[] x, int d) throws IOException {
        NpyWriter.write(file, Tensor.f32(x, x.length / d, d));
    }

    private int run(String... args) {
        CommandLine cl = new CommandLine(new InspectCommand());
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        return cl.execute(args);
    }

    @Test
    void healthyDirectoryPrintsTableAndExitsZero() throws Exception {
        float[] x = new float[10 * 4];
        for (int i = 0; i < 10; i++) {
            x[i * 4] = 3;
            x[i * 4 + 1] = 4;
        }
        writeNpy(dir.resolve("a.npy"), x, 4);
        writeNpy(dir.resolve("b.npy"), x, 4);
        assertEquals(0, run(dir.toString()), err.toString());
        String table = out.toString();
        assertTrue(table.contains("a.npy") && table.contains("b.npy"), table);
        assertTrue(table.contains("5.000"), "mean norm 5: " + table);
        assertTrue(table.contains("total: 2 shard(s), 20 rows"), table);
        assertEquals("", err.toString());
    }

    @Test
    void reportsEveryProblemAndExitsTwo() throws Exception {
        float[] x = new float[6 * 4];
        x[5] = Float.NaN;
        writeNpy(dir.resolve("a.npy"), x, 4);
        Files.writeString(dir.resolve("b.npy"), "garbage");
        writeNpy(dir.resolve("c.npy"), new float[6], 3);
        writeNpy(dir.resolve("d.npy"), new float[8], 4);
        assertEquals(2, run(dir.toString()));
        String[] lines = err.toString().strip().split("\\R");
        assertEquals(3, lines.length, err.toString());
        for (String l : lines) {
            assertTrue(l.startsWith("error: " + dir), l);
        }
        assertTrue(lines[0].contains("a.npy") && lines[0].contains("NaN or Inf"), lines[0]);
        assertTrue(lines[1].contains("b.npy") && lines[1].contains("bad magic"), lines[1]);
        assertTrue(lines[2].contains("c.npy") && lines[2].contains("d = 3 differs"), lines[2]);
        assertTrue(out.toString().contains("d.npy"), "readable shards are still listed: " + out);
    }

    @Test
    void emptyDirectoryIsAProblem() {
        assertEquals(2, run(dir.toString()));
        assertTrue(err.toString().startsWith("error: " + dir + ": no .npy or .safetensors"), err.toString());
    }
}
