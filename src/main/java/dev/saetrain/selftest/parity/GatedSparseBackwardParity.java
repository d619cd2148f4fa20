package dev.saetrain.selftest.parity;

import static dev.saetrain.selftest.DeviceFixtures.down;
import static dev.saetrain.selftest.DeviceFixtures.gaussian;
import static dev.saetrain.selftest.DeviceFixtures.up;
import static dev.saetrain.selftest.ParityAssert.ATOL_SUM;
import static dev.saetrain.selftest.ParityAssert.RTOL_SUM;
import static dev.saetrain.selftest.ParityAssert.assertClose;
import static dev.saetrain.selftest.ParityAssert.assertTrue;

import dev.saetrain.device.Device;
import dev.saetrain.device.FloatBuf;
import dev.saetrain.device.ReferenceOps;
import dev.saetrain.device.SaeGrads;
import dev.saetrain.device.SparseActs;
import dev.saetrain.device.arch.GatedOps;
import dev.saetrain.selftest.DeviceFixtures;
import dev.saetrain.selftest.DeviceFixtures.FastDevice;
import dev.saetrain.selftest.DeviceFixtures.HostActs;
import dev.saetrain.selftest.DeviceFixtures.Shape;
import dev.saetrain.selftest.ParityAssert;
import dev.saetrain.selftest.parity.GatedSparseParity.Inputs;
import java.util.Arrays;

/**
 * {@link GatedOps#gatedSparseBackward} against ReferenceOps, on the open gates of {@link GatedSparseParity}'s
 * inputs (row 1 has none), with dL/dpi_mag random where f > 0 and 0 elsewhere (as sparseDecoderBackward leaves it).
 * gate.grad and the three per-latent sums start as garbage, to show they are overwritten; then, accumulating (a row
 * block after the first), the sums start from random values that they must be added to. ParityAssert's fp32-sum
 * tolerance (dot products of length d <= 769).
 */
public final class GatedSparseBackwardParity {

    private record Out(float[] dpre, float[] dBGate, float[] dBMag, float[] dRMag) {
    }

    /** The op on {@code dev}; {@code accumulate}: the per-latent sums start from seeded random values. */
    private static Out run(Device dev, HostActs f, float[] gateVal, float[] auxErr, float[] wDec, float[] l1,
                           Inputs in, Shape s, boolean accumulate) {
        int m = s.nLatents();
        int nnz = f.nnz();
        float[] garbage = new float[Math.max(nnz, m)];
        Arrays.fill(garbage, 1e6f);
        SparseActs acts = f.upload(dev);
        SparseActs gate = new SparseActs(acts.rowPtr(), acts.idx(), up(dev, gateVal), up(dev, garbage), s.batch(),
                acts.capacity());
        FloatBuf dBGate = up(dev, accumulate ? gaussian(66, m, 1.0) : garbage);
        FloatBuf dBMag = up(dev, accumulate ? gaussian(67, m, 1.0) : garbage);
        FloatBuf dRMag = up(dev, accumulate ? gaussian(68, m, 1.0) : garbage);
        GatedOps.Residuals r = new GatedOps.Residuals(null, 0f, up(dev, auxErr), 2f / s.batch());
        dev.gatedOps().gatedSparseBackward(acts, gate, r, up(dev, wDec), new GatedOps.Latents(null, up(dev, in.bMag()), up(dev, in.magScale()), up(dev, l1)),
                s.step(), new GatedOps.Grads(new SaeGrads(null, null, dBGate, null, null), dBMag, dRMag, null),
                accumulate);
        return new Out(down(dev, gate.grad(), nnz), down(dev, dBGate, m), down(dev, dBMag, m), down(dev, dRMag, m));
    }

    public static void gatedSparseBackwardMatchesReference(FastDevice fd, Shape s) {
        int b = s.batch();
        int d = s.dIn();
        int m = s.nLatents();
        Inputs in = Inputs.of(61, b, m);
        Device ref = new ReferenceOps();
        SparseActs open = SparseActs.allocate(ref, b, b * m);
        FloatBuf gateVal = ref.allocFloat((long) b * m);
        long nnz = ref.gatedOps().gatedSparse(up(ref, in.pre()), new GatedOps.Latents(up(ref, in.bGate()),
                up(ref, in.bMag()), up(ref, in.magScale()), null), s.step(), open, gateVal, ref.allocFloat(m),
                ref.allocInt(1));
        HostActs h = HostActs.download(ref, open);
        float[] dMag = gaussian(62, (int) nnz, 1.0);
        for (int e = 0; e < nnz; e++) {
            dMag[e] = h.val()[e] > 0 ? dMag[e] : 0f;
        }
        HostActs f = new HostActs(h.rowPtr(), h.idx(), h.val(), dMag);
        float[] gv = down(ref, gateVal, (int) nnz);
        float[] auxErr = gaussian(63, b * d, 1.0);
        float[] wDec = gaussian(64, m * d, 1 / Math.sqrt(d));
        float[] l1 = DeviceFixtures.l1PerLatent(65, m);
        for (boolean accumulate : new boolean[] {false, true}) {
            String tag = accumulate ? " (accumulate)" : "";
            Out want = run(ref, f, gv, auxErr, wDec, l1, in, s, accumulate);
            assertTrue(Arrays.stream(toDouble(want.dRMag)).anyMatch(v -> v != 0), "r_mag must get a gradient");
            try (Device fast = fd.open().get()) {
                Out got = run(fast, f, gv, auxErr, wDec, l1, in, s, accumulate);
                assertClose("gate.grad = dL/dpre" + tag, want.dpre, got.dpre, ATOL_SUM, RTOL_SUM);
                assertClose("dBGate" + tag, want.dBGate, got.dBGate, ATOL_SUM, RTOL_SUM);
                assertClose("dBMag" + tag, want.dBMag, got.dBMag, ATOL_SUM, RTOL_SUM);
                assertClose("dRMag" + tag, want.dRMag, got.dRMag, ATOL_SUM, RTOL_SUM);
            }
        }
    }

    private static double[] toDouble(float[] a) {
        double[] o = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            o[i] = a[i];
        }
        return o;
    }
}
