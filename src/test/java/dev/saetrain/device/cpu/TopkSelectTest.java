package dev.saetrain.device.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.saetrain.selftest.DeviceFixtures;
import java.util.Arrays;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * {@link TopkSelect} against a full sort, on rows built to reach every path: the whole-row heap (short rows), the
 * sampled threshold that holds at the first try, the second try, and the fall back to the whole row (the largest
 * values all placed on sampled positions, so the sample's thresholds sit above the k-th largest), plus ties and
 * constant rows. The picked values are compared as sorted multisets (exact), and each picked index must hold its
 * value; with distinct values the index sets must match too.
 */
class TopkSelectTest {

    /** The k largest of row, descending (the reference). */
    private static float[] topValues(float[] row, int k) {
        float[] s = row.clone();
        Arrays.sort(s);
        float[] t = new float[k];
        for (int r = 0; r < k; r++) {
            t[r] = s[s.length - 1 - r];
        }
        return t;
    }

    private static void check(String what, float[] row, int k, TopkSelect sel, boolean distinct) {
        sel.select(row, row.length, k);
        float[] got = Arrays.copyOf(sel.hv, k);
        for (int r = 0; r < k; r++) {
            assertEquals(row[sel.hix[r]], sel.hv[r], what + ": pick " + r + " holds its index's value");
        }
        assertEquals(k, Arrays.stream(sel.hix, 0, k).distinct().count(), what + ": distinct indices");
        Arrays.sort(got);
        float[] want = topValues(row, k);
        Arrays.sort(want);
        assertArrayEquals(want, got, what + ": picked values");
        if (distinct) {
            int[] idx = Arrays.copyOf(sel.hix, k);
            Arrays.sort(idx);
            int[] wantIdx = new int[k];
            float kth = want[0];
            int c = 0;
            for (int i = 0; i < row.length; i++) {
                if (row[i] >= kth) {
                    wantIdx[c++] = i;
                }
            }
            assertArrayEquals(wantIdx, idx, what + ": picked indices");
        }
    }

    /** A random permutation of n distinct values (a grid), scaled. */
    private static float[] distinct(Random r, int n, float scale) {
        int[] perm = DeviceFixtures.permutation(r, n);
        float[] row = new float[n];
        for (int i = 0; i < n; i++) {
            row[i] = (perm[i] - n / 2) * scale;
        }
        return row;
    }

    @Test
    void randomRowsMatchTheSortOnEveryShape() {
        Random r = new Random(1);
        for (int n : new int[] {1, 5, 100, 1031, 2048, 8192, 16411}) {
            for (int k : new int[] {1, 2, 7, 32, 128}) {
                if (k > n) {
                    continue;
                }
                TopkSelect sel = new TopkSelect(n, k);
                for (int rep = 0; rep < 20; rep++) {
                    check("n " + n + " k " + k + " distinct", distinct(r, n, 1 / 64f), k, sel, true);
                    float[] g = new float[n];
                    for (int i = 0; i < n; i++) {
                        g[i] = (float) (r.nextGaussian() * (1 + rep));
                    }
                    check("n " + n + " k " + k + " gaussian", g, k, sel, false);
                }
            }
        }
    }

    /**
     * The largest values placed on the sampled positions (every STRIDE-th): the sample's J-th and 2J-th largest are
     * then among the row's top few, fewer than k entries reach them, and selection must fall back to the whole row.
     * With a few large values sampled and the rest of the top spread out, the second try is the one that holds.
     */
    @Test
    void samplesThatOvershootFallBackAndStayExact() {
        Random r = new Random(2);
        int n = 8192;
        for (int k : new int[] {1, 7, 32, 100}) {
            TopkSelect sel = new TopkSelect(n, k);
            for (int sampledTop : new int[] {0, 3, 6, 12, 40, n / TopkSelect.STRIDE}) {
                float[] row = distinct(r, n, 1 / 64f);
                // Rank the values; put the sampledTop largest on sampled positions, the next ones elsewhere.
                float[] sorted = row.clone();
                Arrays.sort(sorted);
                float[] out = new float[n];
                boolean[] used = new boolean[n];
                int v = n - 1;
                for (int q = 0; q < sampledTop; q++) {
                    int pos = q * TopkSelect.STRIDE;
                    out[pos] = sorted[v--];
                    used[pos] = true;
                }
                for (int i = 0; i < n; i++) {
                    if (!used[i]) {
                        out[i] = sorted[v--];
                    }
                }
                // The remaining values went in index order: shuffle the unsampled ones so the top is spread out.
                for (int i = n - 1; i > 0; i--) {
                    int j = r.nextInt(i + 1);
                    if (!used[i] && !used[j]) {
                        float t = out[i];
                        out[i] = out[j];
                        out[j] = t;
                    }
                }
                check("k " + k + ", " + sampledTop + " largest on sampled positions", out, k, sel, true);
            }
        }
    }

    @Test
    void tiesAndConstantRowsPickValidSets() {
        Random r = new Random(3);
        int n = 4096;
        for (int k : new int[] {1, 16, 32}) {
            TopkSelect sel = new TopkSelect(n, k);
            check("constant row, k " + k, new float[n], k, sel, false);
            float[] few = new float[n];
            for (int i = 0; i < n; i++) {
                few[i] = r.nextInt(4) - 2; // four values, thousands of ties at the k-th
            }
            check("four values, k " + k, few, k, sel, false);
            float[] allNeg = distinct(r, n, 1 / 64f);
            for (int i = 0; i < n; i++) {
                allNeg[i] -= 1000f;
            }
            check("all negative, k " + k, allNeg, k, sel, true);
        }
    }

    @Test
    void deadFilterPicksOnlyDeadLatentsAndCountsShortfalls() {
        Random r = new Random(4);
        int n = 2048;
        int k = 32;
        TopkSelect sel = new TopkSelect(n, k);
        float[] row = distinct(r, n, 1 / 64f);
        int[] lastFired = new int[n];
        int deadCount = 0;
        for (int i = 0; i < n; i++) {
            lastFired[i] = r.nextInt(10);
            deadCount += lastFired[i] <= 1 ? 1 : 0;
        }
        assertEquals(k, sel.selectAmong(CpuFloatBuf.of(row), 0, deadList(lastFired, 1), deadCount, k));
        float[] dead = new float[deadCount];
        int c = 0;
        for (int i = 0; i < n; i++) {
            if (lastFired[i] <= 1) {
                dead[c++] = row[i];
            }
        }
        float[] want = topValues(dead, k);
        Arrays.sort(want);
        float[] got = Arrays.copyOf(sel.hv, k);
        Arrays.sort(got);
        assertArrayEquals(want, got, "dead-filtered picks");
        for (int q = 0; q < k; q++) {
            assertEquals(true, lastFired[sel.hix[q]] <= 1, "pick " + q + " is dead");
        }
        // The same row as the second of two in one buffer: read at its offset.
        CpuFloatBuf two = new CpuFloatBuf(2 * n);
        two.put(0, distinct(r, n, 1 / 64f), 0, n);
        two.put(n, row, 0, n);
        assertEquals(k, sel.selectAmong(two, n, deadList(lastFired, 1), deadCount, k));
        float[] again = Arrays.copyOf(sel.hv, k);
        Arrays.sort(again);
        assertArrayEquals(want, again, "dead-filtered picks at an offset");
        int[] fewDead = new int[n];
        Arrays.fill(fewDead, 100);
        fewDead[5] = 0;
        fewDead[700] = 0;
        assertEquals(2, sel.selectAmong(CpuFloatBuf.of(row), 0, deadList(fewDead, 1), 2, k), "only two candidates");
        assertEquals(true, Set.of(5, 700).equals(Set.of(sel.hix[0], sel.hix[1])), "both picked");
        // NaN counts as -infinity: never picked over a number (every 7th entry NaN, the 8 largest numbers picked).
        float[] withNan = row.clone();
        for (int i = 0; i < n; i += 7) {
            withNan[i] = Float.NaN;
        }
        float[] numbers = new float[n - (n + 6) / 7];
        for (int i = 0, c2 = 0; i < n; i++) {
            if (i % 7 != 0) {
                numbers[c2++] = row[i];
            }
        }
        float[] top8 = topValues(numbers, 8);
        Arrays.sort(top8);
        assertEquals(8, sel.selectAmong(CpuFloatBuf.of(withNan), 0, deadList(new int[n], 0), n, 8));
        float[] picked = Arrays.copyOf(sel.hv, 8);
        Arrays.sort(picked);
        assertArrayEquals(top8, picked, "the 8 largest numbers, no NaN");
    }

    /** The latents with lastFired <= deadBefore, in order (what SparseKernels.topk lists once per call). */
    private static int[] deadList(int[] lastFired, int deadBefore) {
        return java.util.stream.IntStream.range(0, lastFired.length).filter(i -> lastFired[i] <= deadBefore).toArray();
    }
}
