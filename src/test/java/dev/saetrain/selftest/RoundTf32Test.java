package dev.saetrain.selftest;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import org.junit.jupiter.api.Test;

/** DeviceFixtures.roundTf32 rounds as cvt.rna.tf32.f32 does; tf32Exact applies it on CUDA only. */
class RoundTf32Test {
    private static final float ULP_TF32 = (float) Math.scalb(1.0, -10); // spacing of TF32 values in [1, 2)

    @Test
    void roundsToTenMantissaBitsToNearestTiesAway() {
        assertEquals(1f, DeviceFixtures.roundTf32(1f));
        assertEquals(1f, DeviceFixtures.roundTf32(1f + ULP_TF32 / 4));
        assertEquals(1f + ULP_TF32, DeviceFixtures.roundTf32(1f + ULP_TF32 * 3 / 4));
        assertEquals(1f + ULP_TF32, DeviceFixtures.roundTf32(1f + ULP_TF32 / 2), "a tie goes away from zero");
        assertEquals(-1f - ULP_TF32, DeviceFixtures.roundTf32(-1f - ULP_TF32 / 2), "a tie goes away from zero");
        assertEquals(0.5f + ULP_TF32 / 2, DeviceFixtures.roundTf32(0.5f + ULP_TF32 / 2), "already TF32");
        assertEquals(Float.POSITIVE_INFINITY, DeviceFixtures.roundTf32(Float.POSITIVE_INFINITY));
        assertEquals(Float.NaN, DeviceFixtures.roundTf32(Float.NaN));
    }

    @Test
    void roundsOnCudaOnly() {
        float[] a = {1f + ULP_TF32 / 4, 3.14159f};
        DeviceFixtures.FastDevice cuda = new DeviceFixtures.FastDevice("cuda", () -> null);
        DeviceFixtures.FastDevice cpu = new DeviceFixtures.FastDevice("cpu-1", () -> null);
        assertSame(a, DeviceFixtures.tf32Exact(cpu, a));
        float[] r = DeviceFixtures.tf32Exact(cuda, a);
        assertArrayEquals(new float[] {1f, DeviceFixtures.roundTf32(3.14159f)}, r);
        assertEquals(0, Float.floatToRawIntBits(r[1]) & 0x1fff, "the low 13 bits are zero");
    }
}
