package dev.saetrain.device.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.saetrain.device.SparseActs;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * {@link Compaction} against plain loops: CSR rows exactly (rowPtr, idx in increasing latent order, values), with and
 * without thresholds, with chunk buffers large enough for every row, small enough that chunks spill part way (their
 * remaining rows read from pre again), and too small for any row (every row read twice), repeated on the same
 * object (kept buffers); an overflow returns -1 and leaves idx and val as they were.
 */
class CompactionTest {
    private static final int BATCH = 67;
    private static final int M = 301;

    /** pre with rows of varied density: row b has about (b % 7) * 5 % of its entries above zero; rows b % 11 == 3 none. */
    private static float[] pre(long seed) {
        Random r = new Random(seed);
        float[] p = new float[BATCH * M];
        for (int b = 0; b < BATCH; b++) {
            double shift = b % 11 == 3 ? -100 : -2.0 + 0.15 * (b % 7);
            for (int i = 0; i < M; i++) {
                p[b * M + i] = (float) (r.nextGaussian() * 0.5 + shift);
            }
        }
        return p;
    }

    private record Csr(int[] rowPtr, int[] idx, float[] val) {
    }

    private static Csr reference(float[] pre, float[] thr) {
        int[] rowPtr = new int[BATCH + 1];
        int[] idx = new int[BATCH * M];
        float[] val = new float[BATCH * M];
        int e = 0;
        for (int b = 0; b < BATCH; b++) {
            for (int i = 0; i < M; i++) {
                float v = pre[b * M + i];
                if (v > (thr == null ? 0f : thr[i])) {
                    idx[e] = i;
                    val[e] = v;
                    e++;
                }
            }
            rowPtr[b + 1] = e;
        }
        return new Csr(rowPtr, Arrays.copyOf(idx, e), Arrays.copyOf(val, e));
    }

    private static CpuFloatBuf direct(float[] a) {
        return CpuFloatBuf.of(a);
    }

    @Test
    void matchesPlainLoopsWhetherChunksSpillOrNot() {
        float[] p = pre(5);
        float[] thr = new float[M];
        Random r = new Random(6);
        for (int i = 0; i < M; i++) {
            thr[i] = (float) (r.nextGaussian() * 0.3 - 0.5);
        }
        try (CpuDevice dev = new CpuDevice(3); Parallel par = new Parallel(3)) {
            for (int maxEntries : new int[] {1 << 20, 4800, 1}) { // 4800: 12 chunks of 400, room for a row while n <= 99
                Compaction c = new Compaction(par, 4, maxEntries);
                for (float[] t : new float[][] {null, thr, null}) {
                    Csr want = reference(p, t);
                    SparseActs out = SparseActs.allocate(dev, BATCH, want.idx.length);
                    long n = c.compactAbove(direct(p), t == null ? null : direct(t), BATCH, M, out);
                    String what = "maxEntries " + maxEntries + (t == null ? ", > 0" : ", thresholds");
                    assertEquals(want.idx.length, n, what);
                    assertArrayEquals(want.rowPtr, CpuDevice.ia(out.rowPtr()), what + ": rowPtr");
                    assertArrayEquals(want.idx, Arrays.copyOf(CpuDevice.ia(out.idx()), (int) n), what + ": idx");
                    float[] got = new float[(int) n];
                    CpuDevice.fb(out.val()).get(0, got, 0, (int) n);
                    assertArrayEquals(want.val, got, what + ": val");
                    out.close();
                }
            }
        }
    }

    @Test
    void overflowReturnsMinusOneAndLeavesEntries() {
        float[] p = pre(7);
        int n = reference(p, null).idx.length;
        try (CpuDevice dev = new CpuDevice(2); Parallel par = new Parallel(2);
             SparseActs out = SparseActs.allocate(dev, BATCH, n - 1)) {
            Arrays.fill(CpuDevice.ia(out.idx()), -7);
            CpuFloatBuf val = CpuDevice.fb(out.val());
            for (int e = 0; e < n - 1; e++) {
                val.put(e, -3f);
            }
            assertEquals(-1, new Compaction(par, 4, 1 << 20).compactAbove(direct(p), null, BATCH, M, out));
            assertEquals(0, Arrays.stream(CpuDevice.ia(out.idx())).filter(v -> v != -7).count(), "idx untouched");
            for (int e = 0; e < n - 1; e++) {
                assertEquals(-3f, val.get(e), "val untouched");
            }
        }
    }
}
