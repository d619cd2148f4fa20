package dev.saetrain.selftest.parity;

import static dev.saetrain.selftest.DeviceFixtures.down;
import static dev.saetrain.selftest.DeviceFixtures.downInt;
import static dev.saetrain.selftest.DeviceFixtures.gaussian;
import static dev.saetrain.selftest.DeviceFixtures.randomFlags;
import static dev.saetrain.selftest.DeviceFixtures.up;
import static dev.saetrain.selftest.DeviceFixtures.upInt;
import static dev.saetrain.selftest.ParityAssert.ATOL_SUM;
import static dev.saetrain.selftest.ParityAssert.RTOL_SUM;
import static dev.saetrain.selftest.ParityAssert.assertClose;
import static dev.saetrain.selftest.ParityAssert.assertSameInts;

import dev.saetrain.device.Device;
import dev.saetrain.device.FloatBuf;
import dev.saetrain.device.IntBuf;
import dev.saetrain.device.ReferenceOps;
import dev.saetrain.device.SaeGrads;
import dev.saetrain.device.arch.GatedOps;
import dev.saetrain.selftest.DeviceFixtures.FastDevice;
import dev.saetrain.selftest.DeviceFixtures.Shape;
import dev.saetrain.selftest.DeviceFixtures;
import dev.saetrain.selftest.ParityAssert;
import dev.saetrain.selftest.parity.GatedSparseParity.Inputs;
import java.util.Arrays;

/**
 * {@link GatedOps#gatedDenseBackward} against ReferenceOps, on gate = relu(pi_gate) and f from the reference
 * {@link GatedOps#gatedDense} of {@link GatedSparseParity}'s inputs (row 1 all closed). Every output starts as
 * garbage (overwritten) and every flag must end set; then, accumulating (a row block after the first), every
 * gradient starts from seeded random values that it must be added to. ParityAssert's fp32-sum tolerance (dot
 * products of length d <= 769, sums over <= 33 rows); on CUDA, TF32-exact operands and the TF32 tolerance.
 */
public final class GatedDenseBackwardParity {

    private record Out(float[] dWDec, float[] dWEnc, float[] dBGate, float[] dBMag, float[] dRMag, float[] dpreSums,
                       int[] decFlags, int[] encFlags) {
    }

    /** The op on {@code dev}; {@code accumulate}: every gradient starts from seeded random values. */
    private static Out run(Device dev, float[] gate, float[] f, float[] err, float[] auxErr, float[] wDec, float[] l1,
                           float[] xIn, Inputs in, Shape s, boolean accumulate) {
        int b = s.batch();
        int d = s.dIn();
        int m = s.nLatents();
        float[] garbage = new float[Math.max(b, d) * m];
        Arrays.fill(garbage, 1e6f);
        FloatBuf dWDec = up(dev, accumulate ? gaussian(87, m * d, 1.0) : garbage);
        FloatBuf dWEnc = up(dev, accumulate ? gaussian(88, m * d, 1.0) : garbage);
        FloatBuf dBGate = up(dev, accumulate ? gaussian(89, m, 1.0) : garbage);
        FloatBuf dBMag = up(dev, accumulate ? gaussian(90, m, 1.0) : garbage);
        FloatBuf dRMag = up(dev, accumulate ? gaussian(91, m, 1.0) : garbage);
        FloatBuf dpreSums = up(dev, accumulate ? gaussian(92, m, 1.0) : garbage);
        IntBuf decFlags = upInt(dev, randomFlags(71, m, 0.3));
        IntBuf encFlags = upInt(dev, new int[m]);
        dev.gatedOps().gatedDenseBackward(up(dev, gate), up(dev, f),
                new GatedOps.Residuals(up(dev, err), 2f / b, up(dev, auxErr), 2f / b), up(dev, wDec), up(dev, xIn),
                new GatedOps.Latents(null, up(dev, in.bMag()), up(dev, in.magScale()), up(dev, l1)), s.step(),
                up(dev, garbage), new GatedOps.Grads(new SaeGrads(dWEnc, encFlags, dBGate, dWDec, decFlags), dBMag,
                        dRMag, dpreSums), accumulate);
        return new Out(down(dev, dWDec, m * d), down(dev, dWEnc, m * d), down(dev, dBGate, m), down(dev, dBMag, m),
                down(dev, dRMag, m), down(dev, dpreSums, m), downInt(dev, decFlags, m), downInt(dev, encFlags, m));
    }

    public static void gatedDenseBackwardMatchesReference(FastDevice fd, Shape s) {
        int b = s.batch();
        int d = s.dIn();
        int m = s.nLatents();
        Inputs in = Inputs.of(81, b, m);
        Device ref = new ReferenceOps();
        FloatBuf pre = up(ref, in.pre());
        FloatBuf fBuf = ref.allocFloat((long) b * m);
        ref.gatedOps().gatedDense(pre, new GatedOps.Latents(up(ref, in.bGate()), up(ref, in.bMag()),
                up(ref, in.magScale()), null), s.step(), fBuf, ref.allocFloat(m), ref.allocInt(1));
        float[] gate = down(ref, pre, b * m);
        // The operands of the products are TF32-exact on CUDA (see DeviceFixtures.tf32Exact): dWEnc is a product
        // of x and a gradient that is itself two products of err, auxErr and W_dec.
        float[] f = DeviceFixtures.tf32Exact(fd, down(ref, fBuf, b * m));
        float[] err = DeviceFixtures.tf32Exact(fd, gaussian(82, b * d, 1.0));
        float[] auxErr = DeviceFixtures.tf32Exact(fd, gaussian(83, b * d, 1.0));
        float[] wDec = DeviceFixtures.tf32Exact(fd, gaussian(84, m * d, 1 / Math.sqrt(d)));
        float[] l1 = DeviceFixtures.l1PerLatent(85, m);
        float[] xIn = DeviceFixtures.tf32Exact(fd, gaussian(86, b * d, 1.0));
        int[] allSet = new int[m];
        Arrays.fill(allSet, 1);
        for (boolean accumulate : new boolean[] {false, true}) {
            String tag = accumulate ? " (accumulate)" : "";
            Out want = run(ref, gate, f, err, auxErr, wDec, l1, xIn, in, s, accumulate);
            try (Device fast = fd.open().get()) {
                Out got = run(fast, gate, f, err, auxErr, wDec, l1, xIn, in, s, accumulate);
                assertSameInts("decActive" + tag, allSet, got.decFlags);
                assertSameInts("encActive" + tag, allSet, got.encFlags);
                double[] tol = DeviceFixtures.denseProductTolerance(fd, ATOL_SUM, RTOL_SUM); // TF32 on CUDA
                assertClose("dWDec" + tag, want.dWDec, got.dWDec, tol[0], tol[1]);
                assertClose("dWEnc" + tag, want.dWEnc, got.dWEnc, tol[0], tol[1]);
                assertClose("dBGate" + tag, want.dBGate, got.dBGate, tol[0], tol[1]);
                assertClose("dBMag" + tag, want.dBMag, got.dBMag, tol[0], tol[1]);
                assertClose("dRMag" + tag, want.dRMag, got.dRMag, tol[0], tol[1]);
                assertClose("dpreSums" + tag, want.dpreSums, got.dpreSums, tol[0], tol[1]);
            }
        }
    }
}
