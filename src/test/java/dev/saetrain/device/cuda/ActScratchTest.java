package dev.saetrain.device.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** The host arithmetic of {@link ActScratch}: growth of the buffers and the decoding of 64-bit words. */
class ActScratchTest {

    @Test
    void scratchGrowsByHalfOrToTheNeedAndNeverShrinks() {
        assertEquals(10, ActScratch.grown(0, 10));
        assertEquals(100, ActScratch.grown(100, 60));
        assertEquals(150, ActScratch.grown(100, 101));
        assertEquals(400, ActScratch.grown(100, 400));
    }

    @Test
    void sixtyFourBitWordsDecodeLittleEndian() {
        assertEquals(0x1_0000_0005L, ActScratch.longOf(5, 1));
        assertEquals(0xffff_ffffL, ActScratch.longOf(-1, 0), "the low word is unsigned");
        assertEquals(-1L, ActScratch.longOf(-1, -1));
        long bits = Double.doubleToRawLongBits(-3.75);
        assertArrayEquals(new double[] {-3.75, 0.0},
                ActScratch.doublesOf(new int[] {(int) bits, (int) (bits >>> 32), 0, 0}));
    }
}
