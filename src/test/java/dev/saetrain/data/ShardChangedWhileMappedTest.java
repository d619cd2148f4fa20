package dev.saetrain.data;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.saetrain.error.BadInputException;
import dev.saetrain.io.NpyWriter;
import dev.saetrain.io.Tensor;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A shard truncated under a run is one BadInputException naming it: the stream checks each shard's size whenever it
 * loads a block (a small shuffle buffer here, so that loads go on after the cut), since a read of the cut mapping
 * faults and the JVM may report that late or, in compiled code, not at all.
 */
class ShardChangedWhileMappedTest {
    private static final int ROWS = 40_000;
    private static final int D = 64;

    @TempDir
    Path tmp;

    private Path shard() throws IOException {
        Path file = tmp.resolve("data").resolve("a.npy");
        NpyWriter.write(file, Tensor.f32(new float[ROWS * D], ROWS, D));
        return file;
    }

    private static void truncate(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.truncate(256);
        }
    }

    @Test
    void loadingABlockOfACutFileNamesIt() throws IOException {
        Path file = shard();
        Shard s = Shard.open(file);
        s.touchRows(0, 64); // whole: no error
        truncate(file);
        BadInputException e = assertThrows(BadInputException.class, () -> s.touchRows(ROWS - 64, 64));
        assertTrue(e.getMessage().contains("a.npy") && e.getMessage().contains("truncated"), e.getMessage());
    }

    @Test
    void theStreamFailsWithOneErrorInsteadOfDying() throws IOException {
        Path file = shard();
        ShardSet set = ShardSet.open(file.getParent());
        try (ActivationStream stream = new ActivationStream(set, StreamOptions.of(256, ROWS, 3).withShuffleRows(1024))) {
            truncate(file);
            float[] batch = new float[256 * D];
            BadInputException e = assertThrows(BadInputException.class, () -> {
                while (stream.next(batch)) {
                    // drain until the truncated part is read
                }
            });
            assertTrue(e.getMessage().contains("data") && e.getMessage().contains("truncated"), e.getMessage());
        }
    }
}
