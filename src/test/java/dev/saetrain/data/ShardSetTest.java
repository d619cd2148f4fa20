package dev.saetrain.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.saetrain.io.SafetensorsWriter;
import dev.saetrain.io.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ShardSetTest {
    @TempDir
    Path dir;

    @Test
    void takesShardFilesSortedByNameAndIgnoresOthers() throws Exception {
        TestShards.writeNpy(dir.resolve("b.npy"), TestShards.idRows(3, 2, 4), 2);
        SafetensorsWriter.write(dir.resolve("a.safetensors"), Map.of("x", Tensor.f32(TestShards.idRows(4, 2, 0), 4, 2)), null);
        TestShards.writeNpy(dir.resolve("c.npy"), TestShards.idRows(0, 2, 0), 2);
        Files.writeString(dir.resolve("notes.txt"), "ignored");
        Files.writeString(dir.resolve(".d.npy.123.tmp"), "ignored");
        Files.createDirectory(dir.resolve("sub.npy"));
        ShardSet set = ShardSet.open(dir);
        assertEquals(3, set.shards().size());
        assertEquals("a.safetensors", set.shards().get(0).path().getFileName().toString());
        assertEquals(7, set.totalRows());
        assertEquals(2, set.dIn());
        assertEquals(0, set.shardOf(3));
        assertEquals(1, set.shardOf(4));
        assertEquals(1, set.shardOf(6));
        assertArrayEquals(new long[] {4, 3, 0}, set.shardRows());
        assertArrayEquals(TestShards.idRows(6, 2, 0), set.readFirstRows(6, 1f, false));
        assertEquals(14, set.readFirstRows(100, 1f, false).length);
    }

    @Test
    void shardOfSkipsEmptyShards() throws Exception {
        TestShards.idShards(dir, 2, 0, 3, 0, 0, 2);
        ShardSet set = ShardSet.open(dir);
        assertEquals(1, set.shardOf(0));
        assertEquals(1, set.shardOf(2));
        assertEquals(4, set.shardOf(3));
    }

    @Test
    void singleFile() throws Exception {
        Path f = TestShards.writeNpy(dir.resolve("one.npy"), TestShards.idRows(5, 3, 0), 3);
        ShardSet set = ShardSet.open(f);
        assertEquals(5, set.totalRows());
        assertArrayEquals(TestShards.idRows(2, 3, 0), set.readFirstRows(2, 1f, false));
    }
}
