package dev.saetrain.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class HalfTest {
    private static void f16(int bits, float f) {
        assertEquals((short) bits, Half.floatToF16(f), "fp16 bits of " + f);
    }

    @Test
    void fp16KnownBitPatterns() {
        f16(0x3c00, 1f);
        f16(0x7bff, 65504f);
        f16(0x0000, 1e-8f);
        f16(0x2e66, 0.1f);
        f16(0xc000, -2f);
        f16(0x8000, -0f);
        f16(0x0001, 0x1p-24f);
        f16(0x0000, 0x1p-25f); // exactly half the smallest subnormal: ties to even, down to 0
        f16(0x0003, 0x1.8p-23f); // 3 * 2^-24, exactly representable
        f16(0x0002, 0x1.4p-23f); // 2.5 * 2^-24, a subnormal tie: to even (2)
        f16(0x0004, 0x1.cp-23f); // 3.5 * 2^-24, a subnormal tie: to even (4)
        f16(0x0400, 0x1p-14f);
        f16(0x7c00, 65520f); // rounds past the largest finite value
        f16(0x7bff, 65519f);
        f16(0xfc00, Float.NEGATIVE_INFINITY);
        f16(0x3c00, 1.00048828125f); // 1 + 2^-11, a tie: to even (1.0)
        f16(0x3c02, 1.00146484375f); // 1 + 3 * 2^-11, a tie: to even (1 + 2^-9)
        assertTrue(Float.isNaN(Half.f16ToFloat(Half.floatToF16(Float.NaN))));
        assertEquals(1f, Half.f16ToFloat((short) 0x3c00));
        assertEquals(0.0999755859375f, Half.f16ToFloat((short) 0x2e66));
    }

    @Test
    void bf16KnownBitPatterns() {
        assertEquals((short) 0x3f80, Half.floatToBf16(1f));
        assertEquals((short) 0xc000, Half.floatToBf16(-2f));
        assertEquals((short) 0x4049, Half.floatToBf16((float) Math.PI));
        assertEquals((short) 0x3f80, Half.floatToBf16(Float.intBitsToFloat(0x3f808000))); // tie to even
        assertEquals((short) 0x3f82, Half.floatToBf16(Float.intBitsToFloat(0x3f818000))); // tie to even, up
        assertEquals((short) 0x7f80, Half.floatToBf16(Float.POSITIVE_INFINITY));
        assertTrue(Float.isNaN(Half.bf16ToFloat(Half.floatToBf16(Float.NaN))));
        assertEquals(3.140625f, Half.bf16ToFloat((short) 0x4049));
    }

    @Test
    void everyFiniteFp16AndBf16RoundTrips() {
        for (int b = 0; b < 1 << 16; b++) {
            float f = Half.f16ToFloat((short) b);
            if (!Float.isNaN(f)) {
                assertEquals((short) b, Half.floatToF16(f), "fp16 " + Integer.toHexString(b));
            }
            float g = Half.bf16ToFloat((short) b);
            if (!Float.isNaN(g)) {
                assertEquals((short) b, Half.floatToBf16(g), "bf16 " + Integer.toHexString(b));
            }
        }
    }
}
