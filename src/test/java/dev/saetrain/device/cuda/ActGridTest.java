package dev.saetrain.device.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** The launch and scratch arithmetic of {@link ActGrid}. */
class ActGridTest {

    @Test
    void streamBlocksCoverTheElementsUpToACapAndNeverZero() {
        assertEquals(1, ActGrid.streamBlocks(0, 256, 132));
        assertEquals(1, ActGrid.streamBlocks(256, 256, 132));
        assertEquals(2, ActGrid.streamBlocks(257, 256, 132));
        assertEquals(132L * ActGrid.BLOCKS_PER_SM, ActGrid.streamBlocks(4096L * 131072, 256, 132));
        assertEquals(ActGrid.BLOCKS_PER_SM, ActGrid.streamBlocks(1L << 40, 256, 0), "at least one multiprocessor");
    }

    @Test
    void columnBlocksGiveOneThreadPerColumn() {
        assertEquals(1, ActGrid.columnBlocks(0, 256));
        assertEquals(1, ActGrid.columnBlocks(100, 256));
        assertEquals(5, ActGrid.columnBlocks(1031, 256));
        assertEquals(96, ActGrid.columnBlocks(24576, 256));
    }

    @Test
    void scratchGrowsByHalfOrToTheNeedAndNeverShrinks() {
        assertEquals(10, ActGrid.grown(0, 10));
        assertEquals(100, ActGrid.grown(100, 60));
        assertEquals(150, ActGrid.grown(100, 101));
        assertEquals(400, ActGrid.grown(100, 400));
    }

    @Test
    void sixtyFourBitWordsDecodeLittleEndian() {
        assertEquals(0x1_0000_0005L, ActGrid.longOf(5, 1));
        assertEquals(0xffff_ffffL, ActGrid.longOf(-1, 0), "the low word is unsigned");
        assertEquals(-1L, ActGrid.longOf(-1, -1));
        long bits = Double.doubleToRawLongBits(-3.75);
        assertArrayEquals(new double[] {-3.75, 0.0},
                ActGrid.doublesOf(new int[] {(int) bits, (int) (bits >>> 32), 0, 0}));
    }

    @Test
    void groupEndsMustPartitionTheLatents() {
        assertDoesNotThrow(() -> ActGrid.checkGroupEnds(new int[] {2, 4, 8}, 3, 8));
        for (int[] ends : new int[][] {{4, 4, 8}, {0, 8}, {3, 7}, {}}) {
            assertThrows(IllegalArgumentException.class,
                    () -> ActGrid.checkGroupEnds(ends, Math.max(1, ends.length), 8), java.util.Arrays.toString(ends));
        }
    }
}
