package dev.saetrain.device.cpu;

import dev.saetrain.device.SparseActs;

/**
 * Compacts the entries of pre [batch, nLatents] above a per-latent threshold into CSR rows, reading pre once.
 *
 * <p>pre is far larger than any cache (d = 512 x16, batch 4096: 134 MB), so each pass over it costs a read from
 * memory. A count pass then a fill pass read it twice; here each chunk of rows copies a row into a heap array, counts
 * and appends its entries to the chunk's own entry buffer in one pass over that copy (the buffer always has room for
 * a whole row), so pre is read once and each entry compared once. Once every chunk is done the row counts give the
 * CSR offsets and each chunk copies its buffer into place. A chunk's buffer is kept
 * across calls and grows to at most {@link #MAX_ENTRIES} / chunks entries (32 MiB of heap for all chunks): a chunk
 * without room for another whole row keeps only counting, and its remaining rows are read from pre again in the copy
 * phase (the two-pass behaviour), so memory stays bounded at any size and density.
 */
final class Compaction {
    /** Entries held by all chunk buffers together at most. */
    static final int MAX_ENTRIES = 1 << 22;

    private final Parallel par;
    private final int grain;
    private final int maxEntries;
    private int[][] idx = new int[0][];
    private float[][] val = new float[0][];
    private int[] used = new int[0];
    private int[] spill = new int[0]; // first row of a chunk not held in its buffer (hi when all are)
    private float[] thr = new float[0]; // the thresholds on the heap (zeros for > 0)

    Compaction(Parallel par, int grain) {
        this(par, grain, MAX_ENTRIES);
    }

    /** With the chunk buffers holding {@code maxEntries} entries in all (tests make chunks spill with a small one). */
    Compaction(Parallel par, int grain, int maxEntries) {
        this.par = par;
        this.grain = grain;
        this.maxEntries = maxEntries;
    }

    /**
     * The entries of pre with pre[b, i] > threshold[i] (> 0 when threshold is null) as CSR rows of {@code out},
     * latents in increasing order, values as they are. Returns the number of entries, or -1 when they exceed
     * out.capacity(): then only rowPtr is written, idx and val are left as they were.
     */
    long compactAbove(CpuFloatBuf pre, CpuFloatBuf threshold, int batch, int nLatents, SparseActs out) {
        int[] rowPtr = CpuDevice.ia(out.rowPtr());
        if (thr.length != nLatents) {
            thr = new float[nLatents];
        }
        float[] thr = this.thr;
        if (threshold != null) {
            threshold.get(0, thr, 0, nLatents);
        } else {
            java.util.Arrays.fill(thr, 0f);
        }
        int chunks = par.chunks(batch, grain);
        ensure(chunks);
        int limit = Math.max(1, maxEntries / Math.max(1, chunks));
        par.forChunks(batch, grain, (ch, lo, hi) -> {
            float[] row = par.floats(0, nLatents);
            int n = 0;
            int firstSpilled = hi;
            for (int b = lo; b < hi; b++) {
                pre.get((long) b * nLatents, row, 0, nLatents);
                if (firstSpilled == hi && n + nLatents > limit) {
                    firstSpilled = b;
                }
                if (firstSpilled < hi) {
                    int c = 0;
                    for (int i = 0; i < nLatents; i++) {
                        c += row[i] > thr[i] ? 1 : 0;
                    }
                    rowPtr[b + 1] = c;
                    continue;
                }
                int[] bi = room(ch, n + nLatents, limit); // room for a full row: one pass appends and counts
                float[] bv = val[ch];
                int start = n;
                for (int i = 0; i < nLatents; i++) {
                    float v = row[i];
                    if (v > thr[i]) {
                        bi[n] = i;
                        bv[n] = v;
                        n++;
                    }
                }
                rowPtr[b + 1] = n - start;
            }
            used[ch] = n;
            spill[ch] = firstSpilled;
        });
        long total = prefixRowCounts(rowPtr, batch);
        if (total > out.capacity()) {
            return -1;
        }
        int[] outIdx = CpuDevice.ia(out.idx());
        CpuFloatBuf outVal = CpuDevice.fb(out.val());
        par.forChunks(batch, grain, (ch, lo, hi) -> {
            int n = used[ch];
            System.arraycopy(idx[ch], 0, outIdx, rowPtr[lo], n);
            outVal.put(rowPtr[lo], val[ch], 0, n);
            for (int b = spill[ch]; b < hi; b++) {
                long base = (long) b * nLatents;
                int e = rowPtr[b];
                for (int i = 0; i < nLatents; i++) {
                    float v = pre.get(base + i);
                    if (v > thr[i]) {
                        outIdx[e] = i;
                        outVal.put(e, v);
                        e++;
                    }
                }
            }
        });
        return total;
    }

    /** Per-chunk state for {@code chunks} chunks (buffers kept when the count is unchanged). */
    private void ensure(int chunks) {
        if (idx.length != chunks) {
            idx = new int[chunks][0];
            val = new float[chunks][0];
            used = new int[chunks];
            spill = new int[chunks];
        }
    }

    /** Chunk ch's index buffer with room for n <= limit entries (both buffers grown together, by doubling). */
    private int[] room(int ch, int n, int limit) {
        if (idx[ch].length < n) {
            int size = Math.min(limit, Math.max(n, 2 * idx[ch].length));
            idx[ch] = java.util.Arrays.copyOf(idx[ch], size);
            val[ch] = java.util.Arrays.copyOf(val[ch], size);
        }
        return idx[ch];
    }

    /**
     * Turns per-row counts held in rowPtr[1..batch] into CSR row pointers (rowPtr[0] = 0) and returns the total
     * number of entries (pointers past 2^31 - 1 saturate; callers refuse totals above their capacity).
     */
    static long prefixRowCounts(int[] rowPtr, int batch) {
        rowPtr[0] = 0;
        long total = 0;
        for (int b = 1; b <= batch; b++) {
            total += rowPtr[b];
            rowPtr[b] = (int) Math.min(total, Integer.MAX_VALUE);
        }
        return total;
    }
}
