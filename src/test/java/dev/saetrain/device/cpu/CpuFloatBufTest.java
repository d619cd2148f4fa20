package dev.saetrain.device.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.saetrain.device.FloatBuf;
import dev.saetrain.device.SparseActs;
import dev.saetrain.device.StepShape;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * A CPU buffer is addressed by 64-bit element index through pages of FloatBuffers: single elements and bulk copies
 * that cross page boundaries agree with a plain array (small pages, so every case is cheap), and one buffer past
 * 2^31 bytes works under the ops whose flat or row offsets cross that mark.
 */
class CpuFloatBufTest {
    @Test
    void pagedAccessMatchesAPlainArrayAcrossPageBoundaries() {
        int n = 100;
        float[] want = new float[n];
        Random r = new Random(3);
        try (CpuFloatBuf b = new CpuFloatBuf(n, 4)) { // pages of 16 floats
            assertEquals(n, b.size());
            for (int i = 0; i < n; i++) {
                want[i] = r.nextFloat();
                b.put(i, want[i]);
            }
            for (int i = 0; i < n; i++) {
                assertEquals(want[i], b.get(i), "element " + i);
            }
            // bulk copies: within a page, ending on a boundary, across one boundary, across several
            int[][] spans = {{1, 5}, {10, 6}, {14, 4}, {15, 40}, {0, n}, {96, 4}, {32, 0}};
            for (int[] sp : spans) {
                float[] got = new float[sp[1] + 3];
                b.get(sp[0], got, 3, sp[1]);
                assertArrayEquals(Arrays.copyOfRange(want, sp[0], sp[0] + sp[1]),
                        Arrays.copyOfRange(got, 3, 3 + sp[1]), "get " + Arrays.toString(sp));
                java.nio.FloatBuffer direct = java.nio.ByteBuffer.allocateDirect(4 * (sp[1] + 2))
                        .order(java.nio.ByteOrder.nativeOrder()).asFloatBuffer();
                b.copyTo(sp[0], direct, 2, sp[1]);
                for (int j = 0; j < sp[1]; j++) {
                    assertEquals(want[sp[0] + j], direct.get(2 + j), "copyTo " + Arrays.toString(sp) + " at " + j);
                }
                float[] src = new float[sp[1] + 1];
                for (int j = 0; j < src.length; j++) {
                    src[j] = -r.nextFloat();
                }
                b.put(sp[0], src, 1, sp[1]);
                System.arraycopy(src, 1, want, sp[0], sp[1]);
                for (int i = 0; i < n; i++) {
                    assertEquals(want[i], b.get(i), "after put " + Arrays.toString(sp) + ", element " + i);
                }
            }
            assertThrows(IndexOutOfBoundsException.class, () -> b.get(n));
            assertThrows(IndexOutOfBoundsException.class, () -> b.get(90, new float[20], 0, 20));
        }
    }

    @Test
    void aBufferPastTwoGiBUnderFillTopkReluAndDot() {
        // 4096 rows of 131,100 latents: 537,497,600 floats, 2.15 GB. Row 2047 crosses the first 1 GiB page boundary,
        // row 4095 crosses 2^31 bytes (element 2^29).
        int batch = 4096;
        int nLatents = 131_100;
        long n = (long) batch * nLatents;
        int k = 2;
        try (CpuDevice dev = new CpuDevice(2); FloatBuf pre = dev.allocFloat(n);
             SparseActs out = SparseActs.allocate(dev, batch, batch * k)) {
            assertEquals(n, pre.size());
            dev.fill(pre, n, -1f);
            // Two positive entries a row, one of them on the row's last latent (the highest offset of the row).
            Random r = new Random(7);
            int[][] picks = new int[batch][];
            double squares = 0;
            for (int b = 0; b < batch; b++) {
                int a = r.nextInt(nLatents - 1);
                picks[b] = new int[] {a, nLatents - 1};
                for (int q = 0; q < k; q++) {
                    float v = 1 + b + q / 4f;
                    dev.upload(new float[] {v}, 0, pre, (long) b * nLatents + picks[b][q], 1);
                    squares += (double) v * v;
                }
            }
            float[] last = new float[1];
            dev.download(pre, n - 1, last, 0, 1);
            assertEquals(batch + 0.25f, last[0], "the buffer's last element");
            dev.topk(pre, new StepShape(batch, 1, nLatents), k, null, 0, out);
            int[] idx = new int[batch * k];
            float[] val = new float[batch * k];
            dev.downloadInt(out.idx(), 0, idx, 0, batch * k);
            dev.download(out.val(), 0, val, 0, batch * k);
            for (int b = 0; b < batch; b++) {
                int[] got = {idx[b * k], idx[b * k + 1]};
                Arrays.sort(got);
                int[] want = picks[b].clone();
                Arrays.sort(want);
                assertArrayEquals(want, got, "row " + b + "'s picks");
                float[] gv = {val[b * k], val[b * k + 1]};
                Arrays.sort(gv);
                assertArrayEquals(new float[] {1 + b, 1 + b + 0.25f}, gv, "row " + b + "'s values");
            }
            assertEquals((long) batch * k, dev.reluDense(pre, new StepShape(batch, 1, nLatents)), "entries > 0");
            assertEquals(squares, dev.dot(pre, pre, n), 1e-9 * squares, "sum of squares after relu");
        }
    }

    /** A view shares its owner's memory both ways, refuses a range past the owner, and its close frees nothing. */
    @Test
    void aViewSharesTheOwnersMemoryAndFreesNothing() {
        try (CpuDevice dev = new CpuDevice(1)) {
            FloatBuf whole = dev.allocFloat(10);
            float[] init = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
            dev.upload(init, 0, whole, 0, 10);
            FloatBuf view = dev.floatView(whole, 3, 4);
            assertEquals(4, view.size());
            float[] seen = new float[4];
            dev.download(view, 0, seen, 0, 4);
            assertArrayEquals(new float[] {3, 4, 5, 6}, seen);
            dev.fill(view, 4, -1f); // an op through the view writes the owner's elements 3..6 alone
            view.close();
            float[] after = new float[10];
            dev.download(whole, 0, after, 0, 10);
            assertArrayEquals(new float[] {0, 1, 2, -1, -1, -1, -1, 7, 8, 9}, after);
            assertThrows(IndexOutOfBoundsException.class, () -> dev.floatView(whole, 7, 4));
            whole.close();
        }
    }
}
