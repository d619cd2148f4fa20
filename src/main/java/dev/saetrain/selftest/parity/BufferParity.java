package dev.saetrain.selftest.parity;

import static dev.saetrain.selftest.DeviceFixtures.down;
import static dev.saetrain.selftest.DeviceFixtures.downInt;
import static dev.saetrain.selftest.DeviceFixtures.gaussian;
import static dev.saetrain.selftest.DeviceFixtures.randomFlags;
import static dev.saetrain.selftest.DeviceFixtures.upInt;
import static dev.saetrain.selftest.ParityAssert.assertArrayEquals;
import static dev.saetrain.selftest.ParityAssert.assertSameInts;

import dev.saetrain.device.BatchUpload;
import dev.saetrain.device.Device;
import dev.saetrain.device.FloatBuf;
import dev.saetrain.device.IntBuf;
import dev.saetrain.device.ReferenceOps;
import dev.saetrain.selftest.DeviceFixtures.FastDevice;
import dev.saetrain.selftest.DeviceFixtures.Shape;
import dev.saetrain.selftest.ParityAssert;
import java.util.Arrays;

/**
 * The memory ops every other check relies on, checked on their own so that a broken copy is named as such:
 * {@link Device#allocFloat} / {@link Device#allocInt} return zero-filled buffers; {@link Device#upload},
 * {@link Device#download}, {@link Device#uploadInt} and {@link Device#downloadInt} copy exactly, at offsets into
 * both the host array and the buffer, and leave the rest of the buffer as it was; a {@link Device#floatView} reads
 * and writes its owner's range alone and its close frees nothing; {@link Device#batchUpload} hands back each batch
 * as given (three batches in turn, so a double-buffered upload is seen switching buffers);
 * a fill is complete once {@link Device#synchronize} returns; and {@link Device#clearFlags} zeroes the first {@code rows} flags and no
 * other, as {@link ReferenceOps} does. Copies are bit-exact: tolerance 0.
 */
public final class BufferParity {
    private BufferParity() {
    }

    public static void buffersCopyExactly(FastDevice fd, Shape s) {
        int n = s.batch() * s.dIn();
        try (Device fast = fd.open().get()) {
            ParityAssert.op("allocFloat");
            FloatBuf buf = fast.allocFloat(n + 5L);
            assertArrayEquals(new float[n + 5], down(fast, buf, n + 5), "allocFloat is zero-filled");
            ParityAssert.op("allocInt");
            IntBuf ints = fast.allocInt(s.nLatents() + 3L);
            assertSameInts("allocInt is zero-filled", new int[s.nLatents() + 3], downInt(fast, ints, s.nLatents() + 3));

            ParityAssert.op("upload");
            float[] host = gaussian(141, n + 7, 1.0);
            fast.upload(host, 7, buf, 3, n);
            fast.synchronize();
            float[] want = new float[n + 5];
            System.arraycopy(host, 7, want, 3, n);
            assertArrayEquals(want, down(fast, buf, n + 5), "upload at offsets (host 7, buffer 3)");
            ParityAssert.op("download");
            float[] back = new float[n + 4];
            Arrays.fill(back, -9f);
            fast.download(buf, 3, back, 4, n);
            float[] wantBack = back.clone();
            System.arraycopy(host, 7, wantBack, 4, n);
            assertArrayEquals(wantBack, back, "download at offsets (buffer 3, host 4)");

            ParityAssert.op("floatView");
            FloatBuf view = fast.floatView(buf, 3, n); // the uploaded range, shared both ways
            assertArrayEquals(Arrays.copyOfRange(host, 7, 7 + n), down(fast, view, n), "floatView reads its range");
            fast.fill(view, n - 1, 2.5f); // an op through the view writes the owner's elements 3 .. n + 1 alone
            view.close(); // frees nothing: the owner stays valid
            float[] wantFilled = want.clone();
            Arrays.fill(wantFilled, 3, n + 2, 2.5f);
            assertArrayEquals(wantFilled, down(fast, buf, n + 5), "fill through floatView lands in the owner's range");
            fast.upload(host, 7, buf, 3, n); // as before, for the checks below
            fast.synchronize();

            ParityAssert.op("uploadInt");
            int[] flags = randomFlags(142, s.nLatents() + 3, 0.5);
            for (int i = 0; i < flags.length; i++) {
                flags[i] = flags[i] * (i + 1) - 7 * (i % 3);
            }
            fast.uploadInt(flags, 2, ints, 1, s.nLatents());
            int[] wantInts = new int[s.nLatents() + 3];
            System.arraycopy(flags, 2, wantInts, 1, s.nLatents());
            assertSameInts("uploadInt at offsets (host 2, buffer 1)", wantInts, downInt(fast, ints, s.nLatents() + 3));
            ParityAssert.op("downloadInt");
            int[] intsBack = new int[s.nLatents() + 1];
            fast.downloadInt(ints, 1, intsBack, 1, s.nLatents());
            int[] wantIntsBack = new int[s.nLatents() + 1];
            System.arraycopy(flags, 2, wantIntsBack, 1, s.nLatents());
            assertSameInts("downloadInt at offsets (buffer 1, host 1)", wantIntsBack, intsBack);

            ParityAssert.op("clearFlags");
            int[] f0 = randomFlags(143, s.nLatents() + 3, 0.6);
            Device ref = new ReferenceOps();
            IntBuf rf = upInt(ref, f0);
            IntBuf ff = upInt(fast, f0);
            ref.clearFlags(rf, s.nLatents());
            fast.clearFlags(ff, s.nLatents());
            assertSameInts("clearFlags (3 flags past rows)", downInt(ref, rf, f0.length), downInt(fast, ff, f0.length));

            ParityAssert.op("batchUpload");
            try (BatchUpload up = fast.batchUpload(n)) {
                for (int q = 0; q < 3; q++) {
                    float[] batch = gaussian(144 + q, n, 1.0);
                    FloatBuf x = up.next(batch);
                    assertArrayEquals(batch, down(fast, x, n), "batchUpload batch " + q);
                }
            }
            ParityAssert.op("synchronize");
            fast.fill(buf, n, 1.5f);
            fast.synchronize();
            float[] filled = new float[n];
            Arrays.fill(filled, 1.5f);
            assertArrayEquals(filled, down(fast, buf, n), "a fill is complete after synchronize");
        }
    }
}
