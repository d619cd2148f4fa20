package dev.saetrain.synth;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.saetrain.error.UsageException;
import dev.saetrain.export.TestTensorFiles;
import dev.saetrain.io.DType;
import dev.saetrain.io.Half;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributeView;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SynthWriterTest {
    private static final SynthOptions OPTIONS = new SynthOptions(12, 30, 3, 0.95, 250, 100, 7, DType.F32);

    @TempDir
    Path tmp;

    @Test
    void writesShardsAndGroundTruthThatMatchTheGenerator() throws IOException {
        SyntheticData data = new SyntheticData(OPTIONS);
        SynthWriter.Result result = SynthWriter.write(data, tmp.resolve("out"));
        assertEquals(List.of("shard-00000.npy", "shard-00001.npy", "shard-00002.npy"),
                result.shards().stream().map(p -> p.getFileName().toString()).toList());
        TestTensorFiles.Loaded last = TestTensorFiles.readNpy(result.shards().get(2));
        assertEquals(DType.F32, last.dtype());
        assertArrayEquals(new long[] {50, 12}, last.shape());

        TestTensorFiles.Loaded gt = TestTensorFiles.readNpy(result.groundTruth());
        assertEquals(DType.F32, gt.dtype());
        assertArrayEquals(new long[] {30, 12}, gt.shape());
        assertArrayEquals(data.groundTruth(), gt.values());

        long active = 0;
        float[] row = new float[12];
        for (int s = 0; s < 3; s++) {
            float[] shard = TestTensorFiles.readNpy(result.shards().get(s)).values();
            for (int r = 0; r < shard.length / 12; r++) {
                active += data.row(s * 100L + r, row).size();
                assertArrayEquals(row, Arrays.copyOfRange(shard, r * 12, r * 12 + 12), "shard " + s + " row " + r);
            }
        }
        assertEquals(active, result.activeTotal());
        assertEquals(250, result.rows());
    }

    @Test
    void sameSeedSameBytesAndShardingDoesNotChangeTheRows() throws IOException {
        SynthWriter.Result a = SynthWriter.write(new SyntheticData(OPTIONS), tmp.resolve("a"));
        SynthWriter.Result b = SynthWriter.write(new SyntheticData(OPTIONS), tmp.resolve("b"));
        for (int s = 0; s < 3; s++) {
            assertArrayEquals(Files.readAllBytes(a.shards().get(s)), Files.readAllBytes(b.shards().get(s)));
        }
        assertArrayEquals(Files.readAllBytes(a.groundTruth()), Files.readAllBytes(b.groundTruth()));

        SynthWriter.Result one = SynthWriter.write(new SyntheticData(OPTIONS.withRowsPerShard(250)), tmp.resolve("one"));
        float[] all = TestTensorFiles.readNpy(one.shards().get(0)).values();
        float[] second = TestTensorFiles.readNpy(a.shards().get(1)).values();
        assertArrayEquals(second, Arrays.copyOfRange(all, 100 * 12, 200 * 12));
    }

    @Test
    void differentSeedDifferentBytes() throws IOException {
        SynthWriter.Result a = SynthWriter.write(new SyntheticData(OPTIONS), tmp.resolve("a"));
        SynthWriter.Result c = SynthWriter.write(new SyntheticData(OPTIONS.withSeed(8)), tmp.resolve("c"));
        assertFalse(Arrays.equals(Files.readAllBytes(a.shards().get(0)), Files.readAllBytes(c.shards().get(0))));
        assertFalse(Arrays.equals(Files.readAllBytes(a.groundTruth()), Files.readAllBytes(c.groundTruth())));
    }

    @Test
    void f16ShardsHoldTheRoundedRows() throws IOException {
        SyntheticData data = new SyntheticData(OPTIONS.withDtype(DType.F16));
        SynthWriter.Result r = SynthWriter.write(data, tmp.resolve("h"));
        TestTensorFiles.Loaded shard = TestTensorFiles.readNpy(r.shards().get(0));
        assertEquals(DType.F16, shard.dtype());
        float[] row = new float[12];
        data.row(5, row);
        for (int j = 0; j < 12; j++) {
            assertEquals(Half.f16ToFloat(Half.floatToF16(row[j])), shard.values()[5 * 12 + j]);
        }
        assertEquals(DType.F32, TestTensorFiles.readNpy(r.groundTruth()).dtype());
    }

    @Test
    void shardsGetTheDefaultFilePermissions() throws IOException {
        assumeTrue(Files.getFileAttributeView(tmp, PosixFileAttributeView.class) != null, "POSIX permissions only");
        Path plain = Files.createFile(tmp.resolve("plain.npy"));
        SynthWriter.Result r = SynthWriter.write(new SyntheticData(OPTIONS), tmp.resolve("p"));
        assertEquals(Files.getPosixFilePermissions(plain), Files.getPosixFilePermissions(r.shards().get(0)));
        assertEquals(Files.getPosixFilePermissions(plain), Files.getPosixFilePermissions(r.groundTruth()));
    }

    @Test
    void refusesADirectoryThatAlreadyHoldsShards() throws IOException {
        Path dir = tmp.resolve("d");
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("README"), "other files are fine");
        SynthWriter.checkOutputDir(dir);
        Files.writeString(dir.resolve("shard-00003.npy"), "old");
        UsageException e = assertThrows(UsageException.class,
                () -> SynthWriter.write(new SyntheticData(OPTIONS), dir));
        assertTrue(e.getMessage().contains("shard-00003.npy"), e.getMessage());
        assertEquals("old", Files.readString(dir.resolve("shard-00003.npy")));
        assertFalse(Files.exists(dir.resolve("shard-00000.npy")));
    }
}
