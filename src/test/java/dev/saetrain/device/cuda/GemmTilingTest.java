package dev.saetrain.device.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** {@link GemmTiling}: tile counts, edge tiles, 64-bit products, the grid limits, the block -> tile mapping. */
class GemmTilingTest {
    @Test
    void edgeTilesRoundUp() {
        assertTiles(1, 1, 1, 1);
        assertTiles(128, 128, 1, 1);
        assertTiles(129, 128, 2, 1);
        assertTiles(128, 129, 1, 2);
        assertTiles(769, 1031, 7, 9);
        assertTiles(4096, 24576, 32, 192);
        GemmTiling t = GemmTiling.of(769, 1031);
        assertEquals(63, t.gridX());
        assertEquals(1, t.gridY());
    }

    @Test
    void hugeSizesUseBothGridDimensionsWithoutOverflow() {
        // 2^23 x 2^13 tiles = 2^36 blocks: more than gridDim.x can hold, so gridDim.y carries the rest.
        GemmTiling t = GemmTiling.of(1 << 30, 1 << 20);
        assertEquals(1L << 36, t.tiles());
        assertTrue(t.gridX() <= GemmTiling.MAX_GRID_X, "gridX " + t.gridX());
        assertTrue(t.gridY() > 1 && t.gridY() <= GemmTiling.MAX_GRID_Y, "gridY " + t.gridY());
        assertTrue(t.gridX() * t.gridY() >= t.tiles(), "every tile gets a block");
        assertTrue(t.gridX() * (t.gridY() - 1) < t.tiles(), "no whole row of idle blocks");
        // the last block maps to the last tile row's last group, all in range
        long last = t.tiles() - 1;
        assertEquals((1 << 23) - 1, t.tileM(last));
        assertEquals((1 << 13) - 1, t.tileN(last));
        GemmTiling max = GemmTiling.of(Integer.MAX_VALUE, 1);
        assertEquals(16777216, max.tilesM());
        assertEquals(16777216L, max.gridX());
    }

    @Test
    void sizesBeyondOneLaunchAndEmptySizesAreRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> GemmTiling.of(Integer.MAX_VALUE, Integer.MAX_VALUE));
        assertTrue(e.getMessage().contains("more than one launch"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> GemmTiling.of(0, 5));
        assertThrows(IllegalArgumentException.class, () -> GemmTiling.of(5, -1));
    }

    @Test
    void blocksMapOntoTilesOneToOne() {
        int[][] shapes = {{1, 1}, {3, 5}, {8, 8}, {9, 2}, {17, 13}, {1, 40}, {40, 1}, {16, 3}};
        for (int[] s : shapes) {
            GemmTiling t = GemmTiling.of(s[0] * GemmTiling.BM - 3, s[1] * GemmTiling.BN);
            assertEquals(s[0], t.tilesM());
            assertEquals(s[1], t.tilesN());
            boolean[] seen = new boolean[s[0] * s[1]];
            for (long block = 0; block < t.tiles(); block++) {
                int tm = t.tileM(block);
                int tn = t.tileN(block);
                assertTrue(tm >= 0 && tm < s[0] && tn >= 0 && tn < s[1], "block " + block + " -> " + tm + "," + tn);
                int id = tm * s[1] + tn;
                assertTrue(!seen[id], "tile " + tm + "," + tn + " twice in " + s[0] + "x" + s[1]);
                seen[id] = true;
            }
        }
    }

    @Test
    void consecutiveBlocksWalkDownAGroupOfTileRowsFirst() {
        GemmTiling t = GemmTiling.of(16 * 128, 16 * 128);
        for (int b = 0; b < 8; b++) {
            assertEquals(b, t.tileM(b));
            assertEquals(0, t.tileN(b));
        }
        assertEquals(0, t.tileM(8));
        assertEquals(1, t.tileN(8));
        assertEquals(8, t.tileM(8 * 16));
        // the last group is short when the tile rows are not a multiple of GROUP_M
        GemmTiling odd = GemmTiling.of(10 * 128, 4 * 128);
        assertEquals(8, odd.tileM(32));
        assertEquals(9, odd.tileM(33));
        assertEquals(1, odd.tileN(34));
    }

    private static void assertTiles(int m, int n, int tilesM, int tilesN) {
        GemmTiling t = GemmTiling.of(m, n);
        assertEquals(tilesM, t.tilesM(), "tilesM of m = " + m);
        assertEquals(tilesN, t.tilesN(), "tilesN of n = " + n);
        assertEquals((long) tilesM * tilesN, t.gridX() * t.gridY());
    }
}
