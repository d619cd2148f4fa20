package dev.saetrain.selftest.parity;

import static dev.saetrain.selftest.DeviceFixtures.down;
import static dev.saetrain.selftest.DeviceFixtures.gaussian;
import static dev.saetrain.selftest.DeviceFixtures.up;
import static dev.saetrain.selftest.DeviceFixtures.upInt;
import static dev.saetrain.selftest.ParityAssert.assertClose;
import static dev.saetrain.selftest.ParityAssert.assertEquals;

import dev.saetrain.device.Device;
import dev.saetrain.device.FloatBuf;
import dev.saetrain.device.ReferenceOps;
import dev.saetrain.device.SaeParams;
import dev.saetrain.selftest.DeviceFixtures.FastDevice;
import dev.saetrain.selftest.DeviceFixtures.Shape;
import dev.saetrain.selftest.DeviceFixtures;
import java.util.Arrays;
import java.util.Random;

/**
 * {@link Device#resampleRows} against {@link ReferenceOps}: a random subset of latents (about a third, at least
 * one) gets rows of x (repeats allowed, as sampling with replacement gives), one of them, when batch > 1, a row
 * equal to b_dec (|x_b - b_dec| = 0: zero rows). Every other row of W_dec, W_enc, b_enc must be left bit for bit. A normalised
 * row is d squares summed then one division: atol 1e-6, rtol 1e-5.
 */
public final class ResampleRowsParity {

    public static void resampleRowsMatchesReference(FastDevice fd, Shape s) {
        int b = s.batch();
        int d = s.dIn();
        int m = s.nLatents();
        Random r = new Random(121);
        float[] bDec = gaussian(122, d, 0.3);
        float[] x = gaussian(123, b * d, 1.0);
        boolean zeroCase = b > 1; // the last row equals b_dec and only latents[0] takes it
        if (zeroCase) {
            System.arraycopy(bDec, 0, x, (b - 1) * d, d);
        }
        int[] perm = DeviceFixtures.permutation(r, m);
        int count = Math.max(1, m / 3);
        int[] latents = Arrays.copyOf(perm, count);
        int[] rows = new int[count];
        for (int q = 0; q < count; q++) {
            rows[q] = zeroCase ? (q == 0 ? b - 1 : r.nextInt(b - 1)) : 0;
        }
        float[] wDec = gaussian(124, m * d, 0.5);
        float[] wEnc = gaussian(125, m * d, 0.5);
        float[] bEnc = gaussian(126, m, 0.5);
        float encNorm = 0.37f;
        Device ref = new ReferenceOps();
        try (Device fast = fd.open().get()) {
            FloatBuf[] rw = {up(ref, wDec), up(ref, wEnc), up(ref, bEnc)};
            FloatBuf[] fw = {up(fast, wDec), up(fast, wEnc), up(fast, bEnc)};
            ref.resampleRows(up(ref, x), new SaeParams(rw[1], rw[2], rw[0], up(ref, bDec)), upInt(ref, latents),
                    upInt(ref, rows), count, d, encNorm);
            fast.resampleRows(up(fast, x), new SaeParams(fw[1], fw[2], fw[0], up(fast, bDec)), upInt(fast, latents),
                    upInt(fast, rows), count, d, encNorm);
            String[] names = {"W_dec", "W_enc", "b_enc"};
            int[] sizes = {m * d, m * d, m};
            float[][] before = {wDec, wEnc, bEnc};
            boolean[] chosen = new boolean[m];
            for (int i : latents) {
                chosen[i] = true;
            }
            for (int t = 0; t < 3; t++) {
                float[] want = down(ref, rw[t], sizes[t]);
                float[] got = down(fast, fw[t], sizes[t]);
                assertClose("resampleRows " + names[t], want, got, 1e-6, 1e-5);
                int cols = t == 2 ? 1 : d;
                for (int i = 0; i < m; i++) {
                    if (!chosen[i]) {
                        assertEquals(Arrays.toString(Arrays.copyOfRange(before[t], i * cols, (i + 1) * cols)),
                                Arrays.toString(Arrays.copyOfRange(got, i * cols, (i + 1) * cols)),
                                names[t] + " row " + i + " is not resampled and must not change");
                    }
                }
            }
            float[] dec = down(ref, rw[0], m * d);
            float[] enc = down(ref, rw[1], m * d);
            // The reference itself: the zero input gives a zero row; another gives a unit row, encoder = encNorm x it.
            if (zeroCase) {
                assertClose("zero input", new float[d], Arrays.copyOfRange(dec, latents[0] * d, (latents[0] + 1) * d), 0, 0);
            }
            if (count > 1) {
                int i = latents[1];
                double n = 0;
                for (int j = 0; j < d; j++) {
                    n += (double) dec[i * d + j] * dec[i * d + j];
                    assertClose("encoder row", encNorm * dec[i * d + j], enc[i * d + j], 1e-7, 1e-6);
                }
                assertClose("unit decoder row", 1.0, Math.sqrt(n), 0, 1e-6);
            }
        }
    }
}
