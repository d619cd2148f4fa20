package dev.saetrain.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.saetrain.io.NpyWriter;
import dev.saetrain.io.Tensor;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bad input through {@code sae-train train}: one line on stderr naming the file, exit code 2, and no run
 * directory left behind, including when the problem is only met mid-stream. (Every case of docs/design.md,
 * "Formats", is tested on crafted files at the reader level in data/BadInputTest.)
 */
class TrainBadInputTest {
    @TempDir
    Path tmp;

    private final StringWriter err = new StringWriter();

    private int train(Path shards) {
        return Main.run(new PrintWriter(new StringWriter(), true), new PrintWriter(err, true), "train", shards.toString(),
                "--out", tmp.resolve("runs").toString(), "--name", "bad", "--batch", "64", "--expansion", "2",
                "--k", "4", "--threads", "1");
    }

    private void assertRejected(Path shards, String file, String phrase) {
        assertEquals(2, train(shards), err.toString());
        String e = err.toString().strip();
        assertFalse(e.contains("\n"), "one line expected: " + e);
        assertTrue(e.startsWith("error: "), e);
        assertTrue(e.contains(file), e);
        assertTrue(e.toLowerCase().contains(phrase), e);
        assertFalse(Files.exists(tmp.resolve("runs/bad")), "a run directory was left behind");
    }

    private static float[] rows(int n, int d, long seed) {
        Random r = new Random(seed);
        float[] x = new float[n * d];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
        }
        return x;
    }

    @Test
    void nonFiniteRowMetMidStreamRemovesTheRunDirectory() throws IOException {
        Path dir = tmp.resolve("nan");
        float[] x = rows(40_000, 8, 1);
        x[35_000 * 8 + 3] = Float.NaN; // beyond the 32768 rows read up front: found by the stream
        NpyWriter.write(dir.resolve("a.npy"), Tensor.f32(x, 40_000, 8));
        assertRejected(dir, "a.npy", "row 35000");
    }

    /**
     * A non-finite row met after a checkpoint: the error is the same one line, but the checkpoints are work the user
     * can resume from, so the run directory stays; with the row fixed in place, --resume finishes the run.
     */
    @Test
    void nonFiniteRowAfterACheckpointKeepsTheRunAndResumes() throws IOException {
        Path dir = tmp.resolve("nan-late");
        float[] x = rows(40_000, 8, 1);
        x[35_000 * 8 + 3] = Float.NaN;
        Path shard = dir.resolve("a.npy");
        NpyWriter.write(shard, Tensor.f32(x, 40_000, 8));
        int code = Main.run(new PrintWriter(new StringWriter(), true), new PrintWriter(err, true), "train",
                dir.toString(), "--out", tmp.resolve("runs").toString(), "--name", "late", "--batch", "64",
                "--expansion", "2", "--k", "4", "--threads", "1", "--checkpoint-every", "640");
        assertEquals(2, code, err.toString());
        String e = err.toString().strip();
        assertFalse(e.contains("\n"), "one line expected: " + e);
        assertTrue(e.startsWith("error: ") && e.contains("a.npy") && e.contains("row 35000"), e);
        assertTrue(e.contains("--resume"), e);
        Path run = tmp.resolve("runs/late");
        assertTrue(Files.isRegularFile(run.resolve("checkpoints/latest")), "the checkpoints were deleted");

        x[35_000 * 8 + 3] = 0.5f;
        NpyWriter.write(shard, Tensor.f32(x, 40_000, 8));
        StringWriter err2 = new StringWriter();
        assertEquals(0, Main.run(new PrintWriter(new StringWriter(), true), new PrintWriter(err2, true), "train",
                "--resume", run.toString(), "--threads", "1"), err2.toString());
        assertTrue(Files.exists(run.resolve("saes/x2-k4/sae_weights.safetensors")));
    }

    @Test
    void widthThatDiffersFromTheFirstShard() throws IOException {
        Path dir = tmp.resolve("width");
        NpyWriter.write(dir.resolve("a.npy"), Tensor.f32(rows(256, 8, 1), 256, 8));
        NpyWriter.write(dir.resolve("b.npy"), Tensor.f32(rows(256, 9, 2), 256, 9));
        assertRejected(dir, "b.npy", "differs");
    }

    @Test
    void badMagic() throws IOException {
        Path dir = tmp.resolve("magic");
        Files.createDirectories(dir);
        Files.write(dir.resolve("a.npy"), "not a numpy file at all, just text".getBytes(StandardCharsets.US_ASCII));
        assertRejected(dir, "a.npy", "magic");
    }

    @Test
    void directoryWithoutShards() throws IOException {
        Path dir = tmp.resolve("empty");
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("notes.txt"), "nothing here");
        assertRejected(dir, "empty", "no .npy");
    }

    @Test
    void tooFewRowsForOneBatch() throws IOException {
        Path dir = tmp.resolve("small");
        NpyWriter.write(dir.resolve("a.npy"), Tensor.f32(rows(10, 8, 1), 10, 8));
        assertRejected(dir, "small", "batch");
    }

    @Test
    void skipNonFiniteTrainsAroundTheBadRow() throws IOException {
        Path dir = tmp.resolve("skip");
        float[] x = rows(2_000, 8, 1);
        x[1_500 * 8] = Float.POSITIVE_INFINITY;
        NpyWriter.write(dir.resolve("a.npy"), Tensor.f32(x, 2_000, 8));
        int code = Main.run(new PrintWriter(new StringWriter(), true), new PrintWriter(err, true), "train",
                dir.toString(), "--out", tmp.resolve("runs").toString(), "--name", "ok", "--batch", "64",
                "--expansion", "2", "--k", "4", "--threads", "1", "--skip-nonfinite");
        assertEquals(0, code, err.toString());
        assertTrue(Files.exists(tmp.resolve("runs/ok/saes/x2-k4/sae_weights.safetensors")));
    }

    @Test
    void badUsageExitsTwo() {
        assertEquals(2, Main.run(new PrintWriter(new StringWriter(), true), new PrintWriter(err, true), "train",
                tmp.toString(), "--arch", "nonsense"));
        assertTrue(err.toString().contains("unknown architecture"), err.toString());
        StringWriter usage = new StringWriter();
        assertEquals(2, Main.run(new PrintWriter(new StringWriter(), true), new PrintWriter(usage, true), "train",
                "--batch", "x"));
        String line = usage.toString().strip();
        assertFalse(line.contains("\n"), "a usage error is one line: " + line);
        assertTrue(line.startsWith("error: ") && line.contains("--batch") && line.contains("--help"), line);
    }

    /**
     * A batch is one host array: 524288 rows of d = 4096 (2^31 floats) is refused by --batch before anything is read
     * or written. The shard is a sparse file of that many fp16 zeros (a header and a hole, no 4 GiB on disk).
     */
    @Test
    void aBatchPastOneHostArrayIsRefused() throws IOException {
        Path dir = tmp.resolve("wide");
        Files.createDirectories(dir);
        int rows = 524_288;
        int d = 4096;
        String dict = "{'descr': '<f2', 'fortran_order': False, 'shape': (" + rows + ", " + d + "), }";
        int pad = 64 - (10 + dict.length() + 1) % 64;
        String header = dict + " ".repeat(pad % 64) + "\n";
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(10 + header.length()).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        b.put((byte) 0x93).put("NUMPY".getBytes(StandardCharsets.US_ASCII)).put((byte) 1).put((byte) 0)
                .putShort((short) header.length()).put(header.getBytes(StandardCharsets.US_ASCII));
        try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(dir.resolve("a.npy").toFile(), "rw")) {
            f.write(b.array());
            f.setLength(b.capacity() + 2L * rows * d);
        }
        StringWriter e = new StringWriter();
        int code = Main.run(new PrintWriter(new StringWriter(), true), new PrintWriter(e, true), "train", dir.toString(),
                "--out", tmp.resolve("runs").toString(), "--name", "bad", "--batch", Integer.toString(rows),
                "--expansion", "1", "--k", "4", "--threads", "1", "--normalize", "none", "--b-dec-init", "zero");
        String line = e.toString().strip();
        assertEquals(2, code, line);
        assertEquals("error: --batch 524288 rows of d = 4096 are 2147483648 floats, more than one host buffer holds "
                + "(2147483639); lower --batch to at most 524287", line);
        assertFalse(Files.exists(tmp.resolve("runs/bad")), "a run directory was left behind");
    }

    /** --shuffle-rows takes auto, all or a number of rows; anything else is one line naming it, and nothing is written. */
    @Test
    void aBadShuffleBufferIsRefusedBeforeAnythingIsWritten() throws IOException {
        Path dir = tmp.resolve("ok");
        NpyWriter.write(dir.resolve("a.npy"), Tensor.f32(rows(2_000, 8, 4), 2_000, 8));
        for (String bad : new String[] {"0", "-1", "everything", "1.5", "9999999999"}) {
            StringWriter e = new StringWriter();
            int code = Main.run(new PrintWriter(new StringWriter(), true), new PrintWriter(e, true), "train",
                    dir.toString(), "--out", tmp.resolve("runs").toString(), "--name", "bad", "--batch", "64",
                    "--expansion", "2", "--k", "4", "--threads", "1", "--shuffle-rows", bad);
            String line = e.toString().strip();
            assertEquals(2, code, line);
            assertEquals("error: --shuffle-rows must be auto, all or a number of rows in [1, 2147483639], got '" + bad
                    + "'", line);
            assertFalse(Files.exists(tmp.resolve("runs/bad")), "a run directory was left behind for " + bad);
        }
        StringWriter out = new StringWriter();
        assertEquals(0, Main.run(new PrintWriter(out, true), new PrintWriter(err, true), "train", dir.toString(),
                "--out", tmp.resolve("runs").toString(), "--name", "all", "--batch", "64", "--expansion", "2",
                "--k", "4", "--threads", "1", "--shuffle-rows", "all"), err.toString());
        String config = Files.readString(tmp.resolve("runs/all/config.json"));
        assertTrue(config.contains("\"shuffle_rows\" : 2000") && config.contains("\"shuffle_rows\" : \"all\""), config);
    }

    /** --groups is validated before anything is written: a wrong sum names the SAE's size, other architectures refuse it. */
    @Test
    void matryoshkaGroupsThatDoNotFitAreRefused() throws IOException {
        Path dir = tmp.resolve("ok");
        NpyWriter.write(dir.resolve("a.npy"), Tensor.f32(rows(2_000, 8, 4), 2_000, 8));
        String[][] cases = {{"matryoshka", "4,4"}, {"matryoshka", "0,16"}, {"batchtopk", "8,8"}};
        String[] phrases = {"sum to 8 latents, but the sae has 16", "must be >= 1", "works with --arch matryoshka"};
        for (int c = 0; c < cases.length; c++) {
            StringWriter e = new StringWriter();
            int code = Main.run(new PrintWriter(new StringWriter(), true), new PrintWriter(e, true), "train",
                    dir.toString(), "--out", tmp.resolve("runs").toString(), "--name", "g", "--batch", "64",
                    "--expansion", "2", "--k", "4", "--threads", "1", "--arch", cases[c][0], "--groups", cases[c][1]);
            assertEquals(2, code, e.toString());
            assertTrue(e.toString().toLowerCase().contains(phrases[c]), e.toString());
            assertFalse(Files.exists(tmp.resolve("runs/g")), "a run directory was left behind");
        }
    }
}
