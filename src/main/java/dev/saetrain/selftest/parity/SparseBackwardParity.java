package dev.saetrain.selftest.parity;

import static dev.saetrain.selftest.DeviceFixtures.down;
import static dev.saetrain.selftest.DeviceFixtures.downInt;
import static dev.saetrain.selftest.DeviceFixtures.gaussian;
import static dev.saetrain.selftest.DeviceFixtures.randomActs;
import static dev.saetrain.selftest.DeviceFixtures.randomFlags;
import static dev.saetrain.selftest.DeviceFixtures.up;
import static dev.saetrain.selftest.DeviceFixtures.upInt;
import static dev.saetrain.selftest.ParityAssert.ATOL_SUM;
import static dev.saetrain.selftest.ParityAssert.RTOL_SUM;
import static dev.saetrain.selftest.ParityAssert.assertClose;
import static dev.saetrain.selftest.ParityAssert.assertSameInts;
import static dev.saetrain.selftest.ParityAssert.maskRows;

import dev.saetrain.device.Device;
import dev.saetrain.device.FloatBuf;
import dev.saetrain.device.IntBuf;
import dev.saetrain.device.ReferenceOps;
import dev.saetrain.device.SaeGrads;
import dev.saetrain.device.SparseActs;
import dev.saetrain.selftest.DeviceFixtures;
import dev.saetrain.selftest.DeviceFixtures.FastDevice;
import dev.saetrain.selftest.DeviceFixtures.HostActs;
import dev.saetrain.selftest.DeviceFixtures.Shape;

/**
 * {@link Device#sparseBackward} (decoder and encoder backward fused) against ReferenceOps' two separate ops, with
 * and without l1PerLatent, with separate encoder and decoder gradients (each with its own pre-flagged rows, which
 * must be added to, and garbage in unflagged rows, which must be zeroed) and tied (one gradient and one set of
 * flags receiving both terms). Compares acts.grad, both gradients on flagged rows, dBEnc and the flags.
 */
public final class SparseBackwardParity {

    private record Out(float[] grad, float[] dWDec, int[] decFlags, float[] dWEnc, int[] encFlags, float[] dBEnc) {
    }

    private static Out run(Device dev, HostActs acts, float[] err, float[] xIn, float[] wDec, float[] l1, float[] dDec0,
                           int[] decFlags0, float[] dEnc0, int[] encFlags0, float[] dB0, boolean tied, Shape s) {
        int d = s.dIn();
        int m = s.nLatents();
        SparseActs a = acts.upload(dev);
        FloatBuf dDec = up(dev, dDec0);
        IntBuf decFlags = upInt(dev, decFlags0);
        FloatBuf dEnc = tied ? dDec : up(dev, dEnc0);
        IntBuf encFlags = tied ? decFlags : upInt(dev, encFlags0);
        FloatBuf dB = up(dev, dB0);
        dev.sparseBackward(a, up(dev, err), 2f / s.batch(), up(dev, wDec), l1 == null ? null : up(dev, l1),
                up(dev, xIn), s.step(), new SaeGrads(dEnc, encFlags, dB, dDec, decFlags));
        int[] fd = downInt(dev, decFlags, m);
        int[] fe = downInt(dev, encFlags, m);
        return new Out(down(dev, a.grad(), Math.max(1, acts.nnz())), maskRows(down(dev, dDec, m * d), fd, d), fd,
                maskRows(down(dev, dEnc, m * d), fe, d), fe, down(dev, dB, m));
    }

    public static void sparseBackwardMatchesTheTwoReferenceOps(FastDevice fd, Shape s) {
        int d = s.dIn();
        int m = s.nLatents();
        HostActs acts = randomActs(91, s.batch(), m, Math.max(2, s.k()));
        float[] err = gaussian(92, s.batch() * d, 1.0);
        float[] xIn = gaussian(93, s.batch() * d, 1.0);
        float[] wDec = gaussian(94, m * d, 1 / Math.sqrt(d));
        float[] l1 = DeviceFixtures.l1PerLatent(95, m);
        int[] decFlags0 = randomFlags(96, m, 0.2);
        int[] encFlags0 = randomFlags(97, m, 0.3);
        float[] dDec0 = SparseDecoderBackwardParity.startingGradient(98, decFlags0, m, d);
        float[] dEnc0 = SparseDecoderBackwardParity.startingGradient(99, encFlags0, m, d);
        float[] dB0 = gaussian(100, m, 0.1);
        try (Device fast = fd.open().get()) {
            for (boolean tied : new boolean[] {false, true}) {
                for (float[] l1PerLatent : new float[][] {null, l1}) {
                    String tag = (tied ? " tied" : "") + (l1PerLatent == null ? " (no l1)" : " (l1)");
                    Out want = run(new ReferenceOps(), acts, err, xIn, wDec, l1PerLatent, dDec0, decFlags0, dEnc0,
                            encFlags0, dB0, tied, s);
                    Out got = run(fast, acts, err, xIn, wDec, l1PerLatent, dDec0, decFlags0, dEnc0, encFlags0, dB0,
                            tied, s);
                    assertSameInts("decActive" + tag, want.decFlags, got.decFlags);
                    assertSameInts("encActive" + tag, want.encFlags, got.encFlags);
                    assertClose("acts.grad" + tag, want.grad, got.grad, ATOL_SUM, RTOL_SUM);
                    assertClose("dWDec" + tag, want.dWDec, got.dWDec, ATOL_SUM, RTOL_SUM);
                    assertClose("dWEnc" + tag, want.dWEnc, got.dWEnc, ATOL_SUM, RTOL_SUM);
                    assertClose("dBEnc" + tag, want.dBEnc, got.dBEnc, ATOL_SUM, RTOL_SUM);
                }
            }
        }
    }
}
