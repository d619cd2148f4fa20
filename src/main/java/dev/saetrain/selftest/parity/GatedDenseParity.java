package dev.saetrain.selftest.parity;

import static dev.saetrain.selftest.DeviceFixtures.down;
import static dev.saetrain.selftest.DeviceFixtures.downInt;
import static dev.saetrain.selftest.DeviceFixtures.up;
import static dev.saetrain.selftest.ParityAssert.ATOL_SUM;
import static dev.saetrain.selftest.ParityAssert.RTOL_SUM;
import static dev.saetrain.selftest.ParityAssert.assertArrayEquals;
import static dev.saetrain.selftest.ParityAssert.assertClose;
import static dev.saetrain.selftest.ParityAssert.assertEquals;
import static dev.saetrain.selftest.ParityAssert.assertTrue;

import dev.saetrain.device.Device;
import dev.saetrain.device.FloatBuf;
import dev.saetrain.device.IntBuf;
import dev.saetrain.device.ReferenceOps;
import dev.saetrain.device.arch.GatedOps;
import dev.saetrain.selftest.DeviceFixtures.FastDevice;
import dev.saetrain.selftest.DeviceFixtures.Shape;
import dev.saetrain.selftest.ParityAssert;
import dev.saetrain.selftest.parity.GatedSparseParity.Inputs;
import java.util.Arrays;

/**
 * {@link GatedOps#gatedDense} against ReferenceOps: f and the in-place relu(pi_gate) must match exactly (comparisons
 * and one rounding from double on both sides), the counts exactly, and gateSums (partial sums per chunk of rows)
 * to ParityAssert's fp32-sum tolerance. f starts as garbage, to show it is overwritten.
 */
public final class GatedDenseParity {

    public static void gatedDenseMatchesReference(FastDevice fd, Shape s) {
        int b = s.batch();
        int m = s.nLatents();
        int n = b * m;
        Inputs in = Inputs.of(51, b, m);
        float[] garbage = new float[n];
        Arrays.fill(garbage, 1e6f);
        Device ref = new ReferenceOps();
        FloatBuf preRef = up(ref, in.pre());
        FloatBuf fRef = up(ref, garbage);
        FloatBuf sumsRef = ref.allocFloat(m);
        IntBuf firedRef = ref.allocInt(1);
        long open = ref.gatedOps().gatedDense(preRef, in.latents(ref), s.step(), fRef, sumsRef, firedRef);
        int on = downInt(ref, firedRef, 1)[0];
        assertTrue(open > 0 && open < n && on > 0 && on < open, "open " + open + ", firing " + on + " of " + n);
        try (Device fast = fd.open().get()) {
            FloatBuf pre = up(fast, in.pre());
            FloatBuf f = up(fast, garbage);
            FloatBuf sums = fast.allocFloat(m);
            IntBuf fired = fast.allocInt(1);
            assertEquals(open, fast.gatedOps().gatedDense(pre, in.latents(fast), s.step(), f, sums, fired),
                    "open gates");
            assertEquals(on, downInt(fast, fired, 1)[0], "fired");
            assertArrayEquals(down(ref, fRef, n), down(fast, f, n), "f");
            assertArrayEquals(down(ref, preRef, n), down(fast, pre, n), "pre = relu(pi_gate) in place");
            assertClose("gateSums", down(ref, sumsRef, m), down(fast, sums, m), ATOL_SUM, RTOL_SUM);
        }
    }
}
