package dev.saetrain.device.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.saetrain.device.Device;
import dev.saetrain.device.DeviceMemoryError;
import dev.saetrain.device.FloatBuf;
import dev.saetrain.device.IntBuf;
import dev.saetrain.device.ReferenceOps;
import dev.saetrain.device.SaeGrads;
import dev.saetrain.device.SaeParams;
import dev.saetrain.device.SparseActs;
import dev.saetrain.device.StepShape;
import java.util.Random;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The CPU kernels' index arithmetic past 2^31 elements: weight rows [nLatents, dIn] of a dictionary with
 * (2^21 + 1) x 1024 elements, where latent 2^21's row starts at element 2^31 and latent 2^21 - 1's ends there. The
 * ops that touch only the rows of active or listed latents run on it, and must give what ReferenceOps gives on the
 * same problem with the three latents renumbered 0, 1, 2. The large buffers are calloc'ed and only the rows in use
 * are ever touched, so each costs address space (8 GiB), not memory.
 */
class CpuKernelOffsetsTest {
    private static final int D = 1024;
    private static final int BIG = (1 << 21) + 1;
    /** Latent s of the small problem is latent LAT[s] of the big one. */
    private static final int[] LAT = {5, (1 << 21) - 1, 1 << 21};
    private static final int BATCH = 4;
    private static final int[] ROW_PTR = {0, 2, 3, 6, 6};
    private static final int[] IDX = {0, 2, 1, 2, 1, 0};
    private static final float[] VAL = {0.7f, 1.3f, 0.4f, 2.1f, 0f, 0.9f}; // one 0 entry: no gradient

    private static float[] gaussian(Random r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) r.nextGaussian();
        }
        return a;
    }

    private static FloatBuf up(Device dev, float[] a) {
        FloatBuf b = dev.allocFloat(a.length);
        dev.upload(a, 0, b, 0, a.length);
        return b;
    }

    private static float[] down(Device dev, FloatBuf b, long off, int n) {
        float[] a = new float[n];
        dev.download(b, off, a, 0, n);
        return a;
    }

    private static SparseActs acts(Device dev, int[] idx) {
        SparseActs a = SparseActs.allocate(dev, BATCH, idx.length);
        dev.uploadInt(ROW_PTR, 0, a.rowPtr(), 0, ROW_PTR.length);
        dev.uploadInt(idx, 0, a.idx(), 0, idx.length);
        dev.upload(VAL, 0, a.val(), 0, VAL.length);
        return a;
    }

    private static FloatBuf bigRows(CpuDevice dev) {
        try {
            return dev.allocFloat((long) BIG * D);
        } catch (DeviceMemoryError e) {
            Assumptions.abort("the operating system refused 8 GiB of address space: " + e.getMessage());
            throw e;
        }
    }

    @Test
    void rowsPastTwoToThe31ElementsMatchTheRenumberedProblem() {
        Random r = new Random(11);
        float[] wDec = gaussian(r, 3 * D);
        float[] bDec = gaussian(r, D);
        float[] target = gaussian(r, BATCH * D);
        float[] err = gaussian(r, BATCH * D);
        float[] xIn = gaussian(r, BATCH * D);
        int[] bigIdx = new int[IDX.length];
        for (int e = 0; e < IDX.length; e++) {
            bigIdx[e] = LAT[IDX[e]];
        }
        Device ref = new ReferenceOps();
        try (CpuDevice dev = new CpuDevice(2); FloatBuf wBig = bigRows(dev); FloatBuf gDecBig = bigRows(dev);
             FloatBuf gEncBig = bigRows(dev)) {
            for (int s = 0; s < 3; s++) {
                dev.upload(wDec, s * D, wBig, (long) LAT[s] * D, D);
            }
            // sparseDecode: W_dec rows gathered at their 64-bit offsets.
            SparseActs aRef = acts(ref, IDX);
            SparseActs aBig = acts(dev, bigIdx);
            FloatBuf xHatRef = ref.allocFloat(BATCH * D);
            FloatBuf errRef = ref.allocFloat(BATCH * D);
            FloatBuf xHatBig = dev.allocFloat(BATCH * D);
            FloatBuf errBig = dev.allocFloat(BATCH * D);
            double sseRef = ref.sparseDecode(aRef, up(ref, wDec), up(ref, bDec), up(ref, target),
                    new StepShape(BATCH, D, 3), xHatRef, errRef);
            double sseBig = dev.sparseDecode(aBig, wBig, up(dev, bDec), up(dev, target), new StepShape(BATCH, D, BIG),
                    xHatBig, errBig);
            assertEquals(sseRef, sseBig, 1e-4 * sseRef, "sse");
            assertClose("xHat", down(ref, xHatRef, 0, BATCH * D), down(dev, xHatBig, 0, BATCH * D));

            // sparseBackward: gradient rows claimed, accumulated and written at their offsets.
            FloatBuf gDecRef = ref.allocFloat(3 * D);
            FloatBuf gEncRef = ref.allocFloat(3 * D);
            FloatBuf dBRef = ref.allocFloat(3);
            IntBuf decFlagsRef = ref.allocInt(3);
            IntBuf encFlagsRef = ref.allocInt(3);
            FloatBuf dBBig = dev.allocFloat(BIG);
            IntBuf decFlagsBig = dev.allocInt(BIG);
            IntBuf encFlagsBig = dev.allocInt(BIG);
            ref.sparseBackward(aRef, up(ref, err), 0.5f, up(ref, wDec), null, up(ref, xIn), new StepShape(BATCH, D, 3),
                    new SaeGrads(gEncRef, encFlagsRef, dBRef, gDecRef, decFlagsRef));
            dev.sparseBackward(aBig, up(dev, err), 0.5f, wBig, null, up(dev, xIn), new StepShape(BATCH, D, BIG),
                    new SaeGrads(gEncBig, encFlagsBig, dBBig, gDecBig, decFlagsBig));
            assertClose("dL/dpre", down(ref, aRef.grad(), 0, VAL.length), down(dev, aBig.grad(), 0, VAL.length));
            int[] flagsRef = new int[3];
            ref.downloadInt(decFlagsRef, 0, flagsRef, 0, 3);
            float[] dbRef = down(ref, dBRef, 0, 3);
            for (int s = 0; s < 3; s++) {
                String at = "latent " + LAT[s];
                assertClose("dWDec " + at, down(ref, gDecRef, (long) s * D, D), down(dev, gDecBig, (long) LAT[s] * D, D));
                assertClose("dWEnc " + at, down(ref, gEncRef, (long) s * D, D), down(dev, gEncBig, (long) LAT[s] * D, D));
                assertClose("dBEnc " + at, new float[] {dbRef[s]}, down(dev, dBBig, LAT[s], 1));
                int[] flag = new int[1];
                dev.downloadInt(decFlagsBig, LAT[s], flag, 0, 1);
                assertEquals(flagsRef[s], flag[0], "decoder flag of " + at);
            }

            // resampleRows then zeroRows: rows written and cleared at their offsets (gEncBig serves as W_enc).
            float[] bEnc = gaussian(r, 3);
            FloatBuf wRef = up(ref, wDec);
            FloatBuf wEncRef = ref.allocFloat(3 * D);
            FloatBuf bEncRef = up(ref, bEnc);
            FloatBuf bEncBig = dev.allocFloat(BIG);
            for (int s = 0; s < 3; s++) {
                dev.upload(bEnc, s, bEncBig, LAT[s], 1);
            }
            int[] rows = {1, 3};
            ref.resampleRows(up(ref, xIn), new SaeParams(wEncRef, bEncRef, wRef, up(ref, bDec)),
                    upInt(ref, new int[] {2, 0}), upInt(ref, rows), 2, D, 0.3f);
            dev.resampleRows(up(dev, xIn), new SaeParams(gEncBig, bEncBig, wBig, up(dev, bDec)),
                    upInt(dev, new int[] {LAT[2], LAT[0]}), upInt(dev, rows), 2, D, 0.3f);
            for (int s : new int[] {0, 2}) {
                String at = "resampled latent " + LAT[s];
                assertClose("wDec " + at, down(ref, wRef, (long) s * D, D), down(dev, wBig, (long) LAT[s] * D, D));
                assertClose("wEnc " + at, down(ref, wEncRef, (long) s * D, D), down(dev, gEncBig, (long) LAT[s] * D, D));
                assertEquals(0f, down(dev, bEncBig, LAT[s], 1)[0], "bEnc " + at);
            }
            dev.zeroRows(wBig, upInt(dev, new int[] {LAT[2]}), 1, D);
            assertArrayEquals(new float[D], down(dev, wBig, (long) LAT[2] * D, D), "row 2^21 zeroed");
            assertClose("row 2^21 - 1 kept", wDec, D, down(dev, wBig, (long) LAT[1] * D, D));
        }
    }

    private static IntBuf upInt(Device dev, int[] a) {
        IntBuf b = dev.allocInt(a.length);
        dev.uploadInt(a, 0, b, 0, a.length);
        return b;
    }

    private static void assertClose(String what, float[] want, float[] got) {
        assertEquals(want.length, got.length, what + ": length");
        for (int i = 0; i < want.length; i++) {
            assertEquals(want[i], got[i], 1e-5 + 1e-4 * Math.abs(want[i]), what + " at " + i);
        }
    }

    /** want[off .. off + got.length) against got. */
    private static void assertClose(String what, float[] want, int off, float[] got) {
        assertClose(what, java.util.Arrays.copyOfRange(want, off, off + got.length), got);
    }
}
