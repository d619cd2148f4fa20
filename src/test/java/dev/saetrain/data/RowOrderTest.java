package dev.saetrain.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class RowOrderTest {
    private static final long[] ROWS = {130, 0, 7, 200};

    private static long[] epoch(RowOrder o, long epoch) {
        o.startEpoch(epoch);
        long[] ids = new long[337];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = o.next(null);
        }
        assertTrue(o.epochDone());
        return ids;
    }

    @Test
    void eachEpochIsAPermutation() {
        RowOrder o = new RowOrder(ROWS, 100, 64, 9);
        for (int e = 0; e < 3; e++) {
            long[] ids = epoch(o, e);
            long[] sorted = ids.clone();
            Arrays.sort(sorted);
            for (int i = 0; i < sorted.length; i++) {
                assertEquals(i, sorted[i], "epoch " + e);
            }
        }
    }

    @Test
    void replayIsAPureFunctionOfSeedAndEpoch() {
        long[] a = epoch(new RowOrder(ROWS, 100, 64, 9), 2);
        RowOrder other = new RowOrder(ROWS, 100, 64, 9);
        epoch(other, 0);
        assertTrue(Arrays.equals(a, epoch(other, 2)), "epoch 2 does not depend on what ran before");
        RowOrder skipped = new RowOrder(ROWS, 100, 64, 9);
        skipped.startEpoch(2);
        skipped.skip(50);
        assertEquals(a[50], skipped.next(null));
    }

    @Test
    void loadsAreSequentialBlocksPerShard() {
        List<long[]> loads = new ArrayList<>();
        RowOrder o = new RowOrder(ROWS, 100, 64, 1);
        o.startEpoch(0);
        RowOrder.Sink sink = new RowOrder.Sink() {
            @Override
            public void load(int slot, int shard, long firstRow, int count) {
                loads.add(new long[] {shard, firstRow, count});
            }

            @Override
            public void draw(int slot, long row) {
            }

            @Override
            public void move(int from, int to) {
            }
        };
        for (int i = 0; i < 337; i++) {
            o.next(sink);
        }
        long[] next = new long[ROWS.length];
        for (long[] l : loads) {
            assertEquals(next[(int) l[0]], l[1], "shard " + l[0] + " read out of order");
            assertTrue(l[2] == 64 || l[1] + l[2] == ROWS[(int) l[0]], "short block not at the end of a shard");
            next[(int) l[0]] += l[2];
        }
        assertEquals(Arrays.toString(ROWS), Arrays.toString(next));
    }
}
