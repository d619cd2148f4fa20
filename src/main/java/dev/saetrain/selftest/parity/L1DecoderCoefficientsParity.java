package dev.saetrain.selftest.parity;

import static dev.saetrain.selftest.DeviceFixtures.down;
import static dev.saetrain.selftest.DeviceFixtures.gaussian;
import static dev.saetrain.selftest.DeviceFixtures.up;
import static dev.saetrain.selftest.ParityAssert.assertClose;

import dev.saetrain.device.Device;
import dev.saetrain.device.FloatBuf;
import dev.saetrain.device.ReferenceOps;
import dev.saetrain.selftest.DeviceFixtures.FastDevice;
import dev.saetrain.selftest.DeviceFixtures.Shape;

/**
 * {@link Device#l1DecoderCoefficients}, into a separate buffer and in place over norms. Norms 0 and 3 are zero
 * (coefficient 0); some sums are zero (latents that did not fire). One product and one division in fp32:
 * atol 1e-7, rtol 1e-6.
 */
public final class L1DecoderCoefficientsParity {
    private static final float LAMBDA_OVER_B = 5f / 4096;

    public static void l1DecoderCoefficientsMatchReference(FastDevice fd, Shape s) {
        int m = s.nLatents();
        float[] sums = gaussian(121, m, 30.0);
        float[] norms = gaussian(122, m, 0.5);
        for (int i = 0; i < m; i++) {
            sums[i] = i % 5 == 1 ? 0f : Math.abs(sums[i]);
            norms[i] = i == 0 || i == 3 ? 0f : Math.abs(norms[i]) + 0.01f;
        }
        Device ref = new ReferenceOps();
        FloatBuf want = up(ref, new float[m]);
        ref.l1DecoderCoefficients(up(ref, sums), up(ref, norms), LAMBDA_OVER_B, m, want);
        float[] wantHost = down(ref, want, m);
        try (Device fast = fd.open().get()) {
            FloatBuf got = up(fast, gaussian(123, m, 1.0));
            fast.l1DecoderCoefficients(up(fast, sums), up(fast, norms), LAMBDA_OVER_B, m, got);
            assertClose("coef", wantHost, down(fast, got, m), 1e-7, 1e-6);
            FloatBuf inPlace = up(fast, norms);
            fast.l1DecoderCoefficients(up(fast, sums), inPlace, LAMBDA_OVER_B, m, inPlace);
            assertClose("coef in place", wantHost, down(fast, inPlace, m), 1e-7, 1e-6);
        }
    }
}
