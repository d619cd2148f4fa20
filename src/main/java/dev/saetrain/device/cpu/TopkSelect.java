package dev.saetrain.device.cpu;

import java.util.Arrays;

/**
 * TopK of one row of pre-activations: the k largest entries with their latent index. One instance per chunk of rows
 * (its arrays are scratch, kept across steps).
 *
 * <p>A k-slot min-heap over the whole row costs about k ln(n/k) sift-downs (~180 for k = 32 of 8192), each a
 * chain of mispredicted branches, and they, not the scan, dominate. So for n >= {@link #SAMPLED_MIN_RATIO} k the
 * row is first sampled (every {@link #STRIDE}-th entry); the J-th largest sample, with J about 1.5 times the k/STRIDE
 * top-k entries a sample holds on average, is a threshold t that usually lies just below the k-th largest value. One
 * pass collects the entries >= t (a branch that is rarely taken), and a partial quickselect picks among those
 * candidates only (~J STRIDE of them). The result is exact whatever t is: when at least k entries are >= t, the k-th largest is
 * >= t, so every top-k entry is a candidate; when fewer are, the 2J-th sample is tried, then the whole row.
 */
final class TopkSelect {
    /** Sampling stride. */
    static final int STRIDE = 16;
    /** Rows shorter than this many times k use the heap over the whole row (sampling would not pay). */
    static final int SAMPLED_MIN_RATIO = 64;

    private final float[] cv;     // candidate values
    private final int[] ci;       // candidate indices
    private float[] sample = new float[0];
    final float[] hv;             // the heap: k picked values (unordered after select)
    final int[] hix;              // and their indices

    /** Scratch for rows of up to n entries and k up to kMax. */
    TopkSelect(int n, int kMax) {
        cv = new float[n];
        ci = new int[n];
        hv = new float[Math.max(1, kMax)];
        hix = new int[Math.max(1, kMax)];
    }

    /** Whether this scratch fits rows of up to n entries and k up to kMax. */
    boolean fits(int n, int kMax) {
        return cv.length >= n && hv.length >= kMax;
    }

    /** The k largest of row[i], i in [0, n), into hv/hix[0..k). Needs 1 <= k <= n. */
    void select(float[] row, int n, int k) {
        if ((long) n < (long) SAMPLED_MIN_RATIO * k) {
            heapOverRow(row, n, k);
            return;
        }
        int j = (3 * k) / (2 * STRIDE) + 2;
        int keep = 2 * j;
        if (sample.length < keep) {
            sample = new float[keep];
        }
        float[] top = sample; // the `keep` largest samples, descending
        Arrays.fill(top, 0, keep, Float.NEGATIVE_INFINITY);
        for (int i = 0; i < n; i += STRIDE) {
            float v = row[i];
            if (v > top[keep - 1]) {
                int p = keep - 1;
                while (p > 0 && top[p - 1] < v) {
                    top[p] = top[p - 1];
                    p--;
                }
                top[p] = v;
            }
        }
        for (int attempt = 0; attempt < 2; attempt++) {
            float t = top[attempt == 0 ? j - 1 : keep - 1];
            if (t == Float.NEGATIVE_INFINITY) {
                break;
            }
            int c = collect(row, n, t);
            if (c >= k) {
                pickCandidates(c, k);
                return;
            }
        }
        heapOverRow(row, n, k);
    }

    /**
     * The k largest of row[base + i] over the nIdx latents i listed in idx (AuxK's dead latents), into hv/hix by the
     * same quickselect: O(nIdx) a row, where a k-slot heap over the dead entries cost nIdx log k (k_aux is d/2:
     * 256 and more). NaN entries count as -infinity (they are never picked over a number; a NaN pre-activation is
     * a diverged step, caught by its loss). Returns min(k, nIdx): with fewer listed latents than k, all are picked.
     */
    int selectAmong(CpuFloatBuf row, long base, int[] idx, int nIdx, int k) {
        for (int q = 0; q < nIdx; q++) {
            int i = idx[q];
            float v = row.get(base + i);
            cv[q] = v == v ? v : Float.NEGATIVE_INFINITY;
            ci[q] = i;
        }
        if (nIdx <= k) {
            System.arraycopy(cv, 0, hv, 0, nIdx);
            System.arraycopy(ci, 0, hix, 0, nIdx);
            return nIdx;
        }
        pickCandidates(nIdx, k);
        return k;
    }

    /** Writes the k picks, ReLU'd, to idx[o..o+k) and val[o..o+k). */
    void write(int[] idx, CpuFloatBuf val, int o, int k) {
        for (int r = 0; r < k; r++) {
            idx[o + r] = hix[r];
            val.put(o + r, Math.max(0f, hv[r]));
        }
    }

    /** Copies the entries with row[i] >= t into cv/ci; returns their number. */
    private int collect(float[] row, int n, float t) {
        int c = 0;
        for (int i = 0; i < n; i++) {
            float v = row[i];
            if (v >= t) {
                cv[c] = v;
                ci[c] = i;
                c++;
            }
        }
        return c;
    }

    private void heapOverRow(float[] row, int n, int k) {
        int i = 0;
        for (; i < k; i++) {
            hv[i] = row[i];
            hix[i] = i;
            siftUp(i);
        }
        float min = hv[0];
        for (; i < n; i++) {
            float v = row[i];
            if (v > min) {
                hv[0] = v;
                hix[0] = i;
                siftDown(k);
                min = hv[0];
            }
        }
    }

    /**
     * The k largest of the c candidates into hv/hix, by partial quickselect on cv/ci (Hoare partitions around a
     * median of three, larger values first, narrowing to the side that holds position k - 1): about 2c comparisons,
     * against the heap's ~c log k, for the ~80 candidates a row leaves (1.7 -> ~0.8 us a row, measured).
     */
    private void pickCandidates(int c, int k) {
        int lo = 0;
        int hi = c - 1;
        while (lo < hi) {
            float pv = median(cv[lo], cv[(lo + hi) >>> 1], cv[hi]);
            int i = lo;
            int j = hi;
            while (i <= j) {
                while (cv[i] > pv) {
                    i++;
                }
                while (cv[j] < pv) {
                    j--;
                }
                if (i <= j) {
                    swap(cv, ci, i, j);
                    i++;
                    j--;
                }
            }
            // [lo, j] >= pv >= [i, hi], and (j, i) == pv
            if (k - 1 <= j) {
                hi = j;
            } else if (k - 1 >= i) {
                lo = i;
            } else {
                break;
            }
        }
        System.arraycopy(cv, 0, hv, 0, k);
        System.arraycopy(ci, 0, hix, 0, k);
    }

    private static float median(float a, float b, float c) {
        return Math.max(Math.min(a, b), Math.min(Math.max(a, b), c));
    }

    private void siftUp(int c) {
        while (c > 0) {
            int p = (c - 1) >>> 1;
            if (hv[p] <= hv[c]) {
                return;
            }
            swap(hv, hix, p, c);
            c = p;
        }
    }

    private void siftDown(int n) {
        int p = 0;
        while (true) {
            int l = 2 * p + 1;
            if (l >= n) {
                return;
            }
            int c = l + 1 < n && hv[l + 1] < hv[l] ? l + 1 : l;
            if (hv[p] <= hv[c]) {
                return;
            }
            swap(hv, hix, p, c);
            p = c;
        }
    }

    /** Swaps entries a and b of a value array and its index array (the heap's, or the candidates'). */
    private static void swap(float[] v, int[] ix, int a, int b) {
        float t = v[a];
        v[a] = v[b];
        v[b] = t;
        int u = ix[a];
        ix[a] = ix[b];
        ix[b] = u;
    }
}
