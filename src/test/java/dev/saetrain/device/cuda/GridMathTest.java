package dev.saetrain.device.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The launch shapes of CudaDevice and CudaActivationOps: every element, row and column covered, grids within limits. */
class GridMathTest {
    @Test
    void elementwiseAndReductionGrids() {
        assertEquals(1, GridMath.elementwiseBlocks(0, 132));
        assertEquals(1, GridMath.elementwiseBlocks(256, 132));
        assertEquals(2, GridMath.elementwiseBlocks(257, 132));
        assertEquals(132 * 32, GridMath.elementwiseBlocks(4096L * 24576, 132));
        assertEquals(1, GridMath.reductionBlocks(1));
        assertEquals(4, GridMath.reductionBlocks(1000));
        assertEquals(GridMath.MAX_REDUCTION_BLOCKS, GridMath.reductionBlocks(1L << 40));
        assertEquals(3, GridMath.rowBlocks(3, 108));
        assertEquals(108 * 32, GridMath.rowBlocks(1 << 20, 108));
        assertEquals(1, GridMath.rowBlocks(0, 108));
    }

    @Test
    void streamBlocksCoverTheElementsUpToACapAndNeverZero() {
        assertEquals(1, GridMath.streamBlocks(0, 132));
        assertEquals(1, GridMath.streamBlocks(256, 132));
        assertEquals(2, GridMath.streamBlocks(257, 132));
        assertEquals(132L * GridMath.BLOCKS_PER_SM, GridMath.streamBlocks(4096L * 131072, 132));
        assertEquals(GridMath.BLOCKS_PER_SM, GridMath.streamBlocks(1L << 40, 0), "at least one multiprocessor");
    }

    @Test
    void topkKeepsRowsInSharedMemoryWhileTheyFit() {
        int h200 = 227 * 1024;
        // 24,576 keys + up to 3 words of alignment offset, rounded up to 4 words: 98,320 bytes, two blocks per SM.
        assertEquals(4 * 24_580, GridMath.topkSharedBytes(24_576, h200));
        assertEquals(GridMath.TOPK_BLOCK, GridMath.topkBlock(4 * 24_580, h200));
        assertEquals(4 * 4, GridMath.topkSharedBytes(1, h200), "offset 3 + 1 key");
        assertEquals(4 * 8, GridMath.topkSharedBytes(2, h200), "offset 3 + 2 keys, rounded up");
        assertEquals(4 * 8, GridMath.topkSharedBytes(5, h200), "offset 3 + 5 keys = 8 words");
        assertEquals(4 * 12, GridMath.topkSharedBytes(6, h200));
        // 36,864 keys (d = 2304 x 16): one block fills the SM's shared memory, so it gets 1024 threads.
        assertEquals(GridMath.TOPK_WIDE_BLOCK, GridMath.topkBlock(GridMath.topkSharedBytes(36_864, h200), h200));
        int widest = (h200 - GridMath.TOPK_STATIC_SHARED) / 4 - 6;
        assertTrue(GridMath.topkSharedBytes(widest, h200) > 0);
        assertEquals(0, GridMath.topkSharedBytes(widest + 4, h200), "past shared memory: the global-memory path");
        assertEquals(0, GridMath.topkSharedBytes(256 * 4096, h200));
        assertEquals(0, GridMath.topkSharedBytes(Integer.MAX_VALUE, h200), "no overflow");
        assertEquals(GridMath.TOPK_BLOCK, GridMath.topkBlock(0, h200));
    }

    @Test
    void columnBlocksGiveOneThreadPerColumn() {
        assertEquals(1, GridMath.columnBlocks(0));
        assertEquals(1, GridMath.columnBlocks(100));
        assertEquals(5, GridMath.columnBlocks(1031));
        assertEquals(96, GridMath.columnBlocks(24576));
    }

    @Test
    void columnChunksCoverEveryRowOnce() {
        int[][] cases = {{4096, 768, 132}, {1, 48, 108}, {33, 769, 108}, {24576, 768, 132}, {7, 1031, 1}, {0, 10, 8}};
        for (int[] c : cases) {
            int rows = c[0];
            int per = GridMath.rowsPerChunk(rows, c[1], c[2]);
            int chunks = GridMath.chunks(rows, per);
            assertTrue(per >= 1 && chunks >= 1 && chunks <= 65535, "rows " + rows + ": " + per + " x " + chunks);
            assertTrue((long) per * chunks >= rows, "rows " + rows + " not covered");
            assertTrue((long) per * (chunks - 1) < Math.max(1, rows), "rows " + rows + ": an empty chunk");
        }
        // Enough chunks to occupy the device when there are few column blocks.
        assertTrue(GridMath.chunks(4096, GridMath.rowsPerChunk(4096, 768, 132)) >= 100);
    }

    @Test
    void doublesSurviveTheFloatDownload() {
        for (double v : new double[] {0.0, -1.5, Math.PI * 1e12, Double.MIN_VALUE, 123456.789}) {
            long bits = Double.doubleToRawLongBits(v);
            float lo = Float.intBitsToFloat((int) bits);
            float hi = Float.intBitsToFloat((int) (bits >>> 32));
            assertEquals(v, CudaDevice.doubleOf(lo, hi));
        }
    }

    @Test
    void rowColumnGridCoversARowAndStaysWithinLimits() {
        int[][] cases = {{4096, 24576, 132}, {1, 48, 108}, {33, 1031, 108}, {100000, 8, 8}, {7, 300000000, 132}};
        for (int[] c : cases) {
            int[] g = GridMath.rowColumnGrid(c[0], c[1], c[2]);
            assertTrue(g[0] >= 1 && g[0] <= 65535 && g[1] >= 1 && g[1] <= 65535 && g[1] <= Math.max(1, c[0]),
                    java.util.Arrays.toString(c) + " -> " + java.util.Arrays.toString(g));
            assertTrue((long) g[0] * GridMath.BLOCK >= Math.min(c[1], 65535L * GridMath.BLOCK), "columns not covered");
        }
        assertEquals(96, GridMath.rowColumnGrid(4096, 24576, 132)[0]);
        assertEquals(44, GridMath.rowColumnGrid(4096, 24576, 132)[1]);
    }
}
