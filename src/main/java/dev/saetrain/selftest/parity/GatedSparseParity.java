package dev.saetrain.selftest.parity;

import static dev.saetrain.selftest.DeviceFixtures.down;
import static dev.saetrain.selftest.DeviceFixtures.downInt;
import static dev.saetrain.selftest.DeviceFixtures.gaussian;
import static dev.saetrain.selftest.DeviceFixtures.up;
import static dev.saetrain.selftest.ParityAssert.assertArrayEquals;
import static dev.saetrain.selftest.ParityAssert.assertEquals;
import static dev.saetrain.selftest.ParityAssert.assertTrue;

import dev.saetrain.device.Device;
import dev.saetrain.device.FloatBuf;
import dev.saetrain.device.IntBuf;
import dev.saetrain.device.ReferenceOps;
import dev.saetrain.device.SparseActs;
import dev.saetrain.device.arch.GatedOps;
import dev.saetrain.selftest.DeviceFixtures.FastDevice;
import dev.saetrain.selftest.DeviceFixtures.HostActs;
import dev.saetrain.selftest.DeviceFixtures.Shape;

/**
 * {@link GatedOps#gatedSparse} against ReferenceOps. About half the gates are open; b_mag and exp(r_mag) vary per
 * latent so that some open gates carry f = 0 (pi_mag <= 0). pi_mag is rounded once from double on both sides and
 * the per-latent sums add in CSR order, so everything must match exactly; overflow must be reported.
 */
public final class GatedSparseParity {

    /** The gated activation's inputs: pre = pi_gate [batch, m] and bGate, bMag, magScale = exp(r_mag) [m]. */
    record Inputs(float[] pre, float[] bGate, float[] bMag, float[] magScale) {
        /** bGate, bMag and magScale uploaded to {@code dev} (no l1PerLatent: the forward does not read it). */
        GatedOps.Latents latents(Device dev) {
            return new GatedOps.Latents(up(dev, bGate), up(dev, bMag), up(dev, magScale), null);
        }

        static Inputs of(long seed, int batch, int nLatents) {
            float[] pre = gaussian(seed, batch * nLatents, 0.5);
            if (batch > 1) {
                for (int i = 0; i < nLatents; i++) {
                    pre[nLatents + i] = -Math.abs(pre[nLatents + i]); // row 1: every gate closed
                }
            }
            float[] r = gaussian(seed + 1, nLatents, 0.3);
            float[] scale = new float[nLatents];
            for (int i = 0; i < nLatents; i++) {
                scale[i] = (float) Math.exp(r[i]);
            }
            return new Inputs(pre, gaussian(seed + 2, nLatents, 0.3), gaussian(seed + 3, nLatents, 0.3), scale);
        }
    }

    public static void gatedSparseMatchesReference(FastDevice fd, Shape s) {
        int b = s.batch();
        int m = s.nLatents();
        int n = b * m;
        Inputs in = Inputs.of(41, b, m);
        Device ref = new ReferenceOps();
        SparseActs want = SparseActs.allocate(ref, b, n);
        FloatBuf wantGate = ref.allocFloat(n);
        FloatBuf wantSums = ref.allocFloat(m);
        IntBuf wantFired = ref.allocInt(1);
        long wantCount = ref.gatedOps().gatedSparse(up(ref, in.pre), in.latents(ref), s.step(), want, wantGate,
                wantSums, wantFired);
        HostActs w = HostActs.download(ref, want);
        int wantOn = downInt(ref, wantFired, 1)[0];
        assertTrue(wantCount > 0 && wantCount < n, "some but not all gates open: " + wantCount);
        assertTrue(wantOn > 0 && wantOn < wantCount, "some open gates with f = 0: " + wantOn + " of " + wantCount);
        try (Device fast = fd.open().get()) {
            SparseActs got = SparseActs.allocate(fast, b, n);
            FloatBuf gotGate = fast.allocFloat(n);
            FloatBuf gotSums = fast.allocFloat(m);
            IntBuf gotFired = fast.allocInt(1);
            assertEquals(wantCount, fast.gatedOps().gatedSparse(up(fast, in.pre), in.latents(fast), s.step(), got,
                    gotGate, gotSums, gotFired));
            HostActs g = HostActs.download(fast, got);
            assertArrayEquals(w.rowPtr(), g.rowPtr(), "rowPtr");
            assertArrayEquals(w.idx(), g.idx(), "idx");
            assertArrayEquals(w.val(), g.val(), "f = relu(pi_mag)");
            int nnz = (int) wantCount;
            assertArrayEquals(down(ref, wantGate, nnz), down(fast, gotGate, nnz), "relu(pi_gate)");
            assertArrayEquals(down(ref, wantSums, m), down(fast, gotSums, m), "gateSums");
            assertEquals(wantOn, downInt(fast, gotFired, 1)[0], "fired");

            SparseActs tooSmall = SparseActs.allocate(fast, b, nnz - 1);
            assertEquals(-1, fast.gatedOps().gatedSparse(up(fast, in.pre), in.latents(fast), s.step(), tooSmall,
                    fast.allocFloat(nnz), gotSums, gotFired), "overflow is reported, not written");
        }
    }
}
