package dev.saetrain.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.saetrain.error.BadInputException;
import dev.saetrain.error.UsageException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ActivationStreamTest {
    private static final int D = 3;

    @TempDir
    Path dir;

    /** Reads every batch of a stream; each row's id is its first value (see TestShards.idRows). */
    private static List<float[]> drain(ActivationStream s, int limit) {
        List<float[]> out = new ArrayList<>();
        float[] b = new float[s.options().batch() * s.dIn()];
        while (out.size() < limit && s.next(b)) {
            out.add(b.clone());
        }
        return out;
    }

    private static List<Long> ids(List<float[]> batches) {
        List<Long> ids = new ArrayList<>();
        for (float[] b : batches) {
            for (int r = 0; r < b.length / D; r++) {
                assertEquals(b[r * D], b[r * D + D - 1], "a row was torn");
                ids.add((long) b[r * D]);
            }
        }
        return ids;
    }

    @Test
    void everyRowOncePerEpochAndEpochsDiffer() throws Exception {
        ShardSet set = ShardSet.open(TestShards.idShards(dir, D, 37, 0, 64, 100));
        int total = 201;
        StreamOptions o = StreamOptions.of(7, 3L * total, 11).withShuffleRows(50);
        List<Long> ids;
        try (ActivationStream s = new ActivationStream(set, o)) {
            ids = ids(drain(s, Integer.MAX_VALUE));
        }
        assertEquals(3 * total / 7 * 7, ids.size(), "whole batches only, the partial last one dropped");
        Set<Long> all = new HashSet<>();
        for (long i = 0; i < total; i++) {
            all.add(i);
        }
        List<Long> e0 = ids.subList(0, total);
        List<Long> e1 = ids.subList(total, 2 * total);
        assertEquals(all, new HashSet<>(e0));
        assertEquals(all, new HashSet<>(e1));
        assertNotEquals(e0, e1, "each epoch has its own order");
        assertNotEquals(all.stream().sorted().toList(), e0, "rows are shuffled");
    }

    @Test
    void shardsInterleaveEarly() throws Exception {
        ShardSet set = ShardSet.open(TestShards.idShards(dir, D, 500, 500, 500));
        // 640 rows = 10 blocks of 64 before the first draw.
        try (ActivationStream s = new ActivationStream(set, StreamOptions.of(32, 1500, 5).withShuffleRows(640))) {
            Set<Long> shardsSeen = new HashSet<>();
            for (long id : ids(drain(s, 2))) {
                shardsSeen.add(id / 500);
            }
            assertEquals(3, shardsSeen.size(), "the first batches mix all three shards");
        }
    }

    @Test
    void sameSeedSameBatchesBitForBitOtherSeedDiffers() throws Exception {
        ShardSet set = ShardSet.open(TestShards.idShards(dir, D, 90, 70));
        StreamOptions o = new StreamOptions(8, 400, 42, 40, 0.5f, false, 2);
        List<float[]> a;
        List<float[]> b;
        List<float[]> c;
        try (ActivationStream s = new ActivationStream(set, o)) {
            a = drain(s, Integer.MAX_VALUE);
        }
        try (ActivationStream s = new ActivationStream(set, o.withShuffleRows(40))) {
            b = drain(s, Integer.MAX_VALUE);
        }
        try (ActivationStream s = new ActivationStream(set, new StreamOptions(8, 400, 43, 40, 0.5f, false, 2))) {
            c = drain(s, Integer.MAX_VALUE);
        }
        assertEquals(50, a.size());
        for (int i = 0; i < a.size(); i++) {
            assertArrayEquals(a.get(i), b.get(i), "batch " + i);
        }
        assertNotEquals(ids(a), ids(c));
        // The scale applies to every value: ids are halved.
        assertEquals(0f, a.get(0)[0] * 2 - Math.round(a.get(0)[0] * 2));
    }

    @Test
    void restoredStreamContinuesWithTheSameBatches() throws Exception {
        ShardSet set = ShardSet.open(TestShards.idShards(dir, D, 45, 13, 80));
        StreamOptions o = new StreamOptions(6, 1000, 7, 30, 1f, false, 3);
        List<float[]> reference;
        try (ActivationStream s = new ActivationStream(set, o)) {
            reference = drain(s, Integer.MAX_VALUE);
        }
        // Positions inside the first epoch, right at an epoch boundary (138 = 23 batches) and in a later epoch.
        for (int n : new int[] {0, 1, 5, 23, 24, 60, 165}) {
            StreamPosition p;
            try (ActivationStream a = new ActivationStream(set, o)) {
                drain(a, n);
                p = a.position();
            }
            assertEquals((long) n * 6, p.rowsDelivered());
            try (ActivationStream b = new ActivationStream(set, o, p)) {
                List<float[]> rest = drain(b, Integer.MAX_VALUE);
                assertEquals(reference.size() - n, rest.size(), "after " + n);
                for (int i = 0; i < rest.size(); i++) {
                    assertArrayEquals(reference.get(n + i), rest.get(i), "batch " + (n + i) + " after restoring at " + n);
                }
            }
        }
    }

    @Test
    void restoreRefusesAnotherSeedOrShuffleSize() throws Exception {
        ShardSet set = ShardSet.open(TestShards.idShards(dir, D, 40));
        StreamOptions o = new StreamOptions(4, 40, 1, 16, 1f, false, 2);
        StreamPosition p;
        try (ActivationStream a = new ActivationStream(set, o)) {
            drain(a, 2);
            p = a.position();
        }
        assertThrows(UsageException.class, () -> new ActivationStream(set,
                new StreamOptions(4, 40, 2, 16, 1f, false, 2), p));
        assertThrows(UsageException.class, () -> new ActivationStream(set, o.withShuffleRows(17), p));
    }

    @Test
    void skipNonFiniteSkipsCountsAndKeepsBatchesFull() throws Exception {
        float[] x = TestShards.idRows(100, D, 0);
        int[] bad = {0, 13, 14, 57, 99};
        for (int r : bad) {
            x[r * D + 1] = r % 2 == 0 ? Float.NaN : Float.POSITIVE_INFINITY;
        }
        TestShards.writeNpy(dir.resolve("x.npy"), x, D);
        ShardSet set = ShardSet.open(dir);
        StreamOptions o = new StreamOptions(5, 95, 3, 20, 1f, true, 2);
        List<float[]> batches;
        StreamPosition end;
        try (ActivationStream s = new ActivationStream(set, o)) {
            batches = drain(s, Integer.MAX_VALUE);
            end = s.position();
            assertEquals(end.skippedNonFinite(), s.skippedNonFinite());
        }
        assertEquals(19, batches.size());
        Set<Long> got = new HashSet<>();
        for (float[] b : batches) {
            assertEquals(-1, Shard.firstNonFinite(b, 0, b.length));
        }
        got.addAll(ids(batches));
        Set<Long> good = new HashSet<>();
        for (long i = 0; i < 100; i++) {
            good.add(i);
        }
        Arrays.stream(bad).forEach(r -> good.remove((long) r));
        assertEquals(good, got, "every finite row exactly once");
        assertEquals(95 + end.skippedNonFinite(), end.drawnInEpoch());
        assertTrue(end.skippedNonFinite() >= 1 && end.skippedNonFinite() <= 5);
    }

    @Test
    void producerErrorReachesConsumerAfterTheBatchesBeforeIt() throws Exception {
        float[] x = TestShards.idRows(64, D, 0);
        x[40 * D] = Float.NaN;
        TestShards.writeNpy(dir.resolve("n.npy"), x, D);
        ShardSet set = ShardSet.open(dir);
        // No shuffle mixing (capacity 1): rows arrive in file order, so batches 0..9 are clean and batch 10 fails.
        StreamOptions o = new StreamOptions(4, 64, 0, 1, 1f, false, 4);
        try (ActivationStream s = new ActivationStream(set, o)) {
            float[] b = new float[4 * D];
            for (int i = 0; i < 10; i++) {
                assertTrue(s.next(b), "batch " + i);
                assertEquals(4f * i, b[0]);
            }
            BadInputException e = assertThrows(BadInputException.class, () -> s.next(b));
            assertTrue(e.getMessage().contains("n.npy") && e.getMessage().contains("row 40 "), e.getMessage());
            assertThrows(BadInputException.class, () -> s.next(b), "the error sticks");
        }
    }

    @Test
    void endsAfterWholeBatchesAndCloseStopsTheThread() throws Exception {
        ShardSet set = ShardSet.open(TestShards.idShards(dir, D, 10));
        try (ActivationStream s = new ActivationStream(set, StreamOptions.of(5, 23, 0))) {
            assertEquals(4, drain(s, Integer.MAX_VALUE).size());
            assertFalse(s.next(new float[5 * D]));
        }
        ActivationStream s = new ActivationStream(set, StreamOptions.of(2, Long.MAX_VALUE, 0));
        assertEquals(3, drain(s, 3).size());
        s.close();
        assertTrue(Thread.getAllStackTraces().keySet().stream()
                .noneMatch(t -> t.getName().equals("sae-train-prefetch") && t.isAlive()), "prefetch thread still alive");
        assertThrows(IllegalStateException.class, () -> s.next(new float[2 * D]));
    }

    @Test
    void defaultShuffleRule() {
        StreamOptions o = StreamOptions.of(4096, 1, 0);
        assertEquals(65536, o.resolvedShuffleRows(1024, Long.MAX_VALUE));
        assertEquals(32768, o.resolvedShuffleRows(4096, Long.MAX_VALUE));
        assertEquals(1000, o.resolvedShuffleRows(4096, 1000));
        assertEquals(77, o.withShuffleRows(77).resolvedShuffleRows(4096, 1000));
        assertThrows(UsageException.class, () -> new StreamOptions(0, 1, 0, 0, 1f, false, 1));
        assertThrows(IllegalArgumentException.class, () -> new StreamOptions(1, 1, 0, 0, Float.NaN, false, 1));
    }

    @Test
    void shuffleRowsAutoAllOrANumber() {
        StreamOptions o = StreamOptions.of(4096, 1, 0);
        assertEquals(StreamOptions.AUTO_ROWS, StreamOptions.parseShuffleRows("auto"));
        assertEquals(StreamOptions.ALL_ROWS, StreamOptions.parseShuffleRows("all"));
        assertEquals(123_456, StreamOptions.parseShuffleRows("123456"));
        for (String text : List.of("auto", "all", "1", "123456")) {
            assertEquals(text, StreamOptions.shuffleRowsText(StreamOptions.parseShuffleRows(text)));
        }
        // all: the whole data set, past the automatic rule's 32768 rows at d = 4096.
        assertEquals(5_000_000, o.withShuffleRows(StreamOptions.ALL_ROWS).resolvedShuffleRows(4096, 5_000_000));
        assertEquals(32768, o.resolvedShuffleRows(4096, 5_000_000));
        for (String bad : List.of("0", "-1", "-7", "All", "", "1e6", "2147483640", "2147483648", "lots")) {
            UsageException e = assertThrows(UsageException.class, () -> StreamOptions.parseShuffleRows(bad), bad);
            assertTrue(e.getMessage().contains("must be auto, all or a number of rows") && e.getMessage()
                    .contains("'" + bad + "'"), e.getMessage());
        }
        assertThrows(UsageException.class, () -> o.withShuffleRows(-2));
    }

    @Test
    void aShuffleBufferPastOneArrayOrTheHeapIsRefused() {
        StreamOptions all = StreamOptions.of(4096, 1, 0).withShuffleRows(StreamOptions.ALL_ROWS);
        UsageException e = assertThrows(UsageException.class, () -> all.resolvedShuffleRows(4096, 1L << 32));
        assertTrue(e.getMessage().contains("is all: a buffer of 4294967296 rows, more than"), e.getMessage());
        // Row ids are 8 bytes: a buffer whose ids pass a quarter of the heap is refused before it is allocated.
        long rows = Runtime.getRuntime().maxMemory() / 4 / Long.BYTES + 1;
        if (rows < StreamOptions.MAX_BUFFER_ROWS) {
            e = assertThrows(UsageException.class, () -> all.resolvedShuffleRows(4096, rows));
            assertTrue(e.getMessage().contains("more than a quarter of the Java heap"), e.getMessage());
            assertEquals(rows - 1, all.resolvedShuffleRows(4096, rows - 1));
        }
    }
}
