package dev.saetrain.device.cuda;

import static dev.saetrain.device.cuda.ActArgs.requirePositive;
import static dev.saetrain.device.cuda.ActArgs.requireSize;
import static dev.saetrain.device.cuda.ActArgs.requireSizeIfPresent;
import static dev.saetrain.device.cuda.GridMath.BLOCK;
import static dev.saetrain.device.cuda.GridMath.SCAN_BLOCK;
import static dev.saetrain.device.cuda.GridMath.columnBlocks;
import static dev.saetrain.device.cuda.ActKernels.*;

import dev.saetrain.device.Device;
import dev.saetrain.device.FloatBuf;
import dev.saetrain.device.GroupEnds;
import dev.saetrain.device.IntBuf;
import dev.saetrain.device.SparseActs;
import dev.saetrain.device.arch.BatchTopkOps;
import dev.saetrain.device.arch.GatedOps;
import dev.saetrain.device.arch.JumpReluOps;
import dev.saetrain.device.arch.MatryoshkaOps;
import java.util.List;

/**
 * The activation, selection, decode and backward ops of {@link Device} and of the architectures' kernel interfaces
 * ({@code dev.saetrain.device.arch}) on CUDA (kernels in {@code src/main/cuda/activation.cu} and
 * {@code src/main/cuda/sparse.cu}, specs in {@link ActKernels}), written against {@link CudaRuntime} only.
 * {@code CudaDevice} and {@code CudaArchOps} delegate here, the sizes and parameter records unpacked into plain
 * arguments; buffers are {@link CudaFloatBuf} / {@link CudaIntBuf}. Formulas, layouts and contracts are those of
 * the interfaces' Javadoc.
 *
 * <p>Batch, dIn and nLatents must be >= 1. Work is queued on the runtime's compute stream; ops that return a count
 * or a sum (and topk with a dead filter, and the Matryoshka ops, which check the group ends) download a few words
 * and so wait for the queued work. Scratch buffers are allocated once and grown on demand ({@link ActScratch}).
 * Sums over the batch that Device states per latent (gateSums, actSums of the dense forms, dBEnc of the dense
 * backward) run in double in row order; sparse per-latent sums run in whatever order the latent index holds, which
 * is within the parity suite's fp32-sum tolerance but not bit-reproducible run to run.
 */
public final class CudaActivationOps implements AutoCloseable {
    /** Every kernel this class launches (checked against the PTX by KernelSignatureTest). */
    public static final List<KernelSpec> KERNELS = ActKernels.ALL;
    /** Buckets of each BatchTopK radix pass (11, 11, then 10 bits of the float; activation.cu's batch_topk_*). */
    private static final int RADIX_BUCKETS = 2048;

    private final CudaRuntime rt;
    private final ActScratch scratch;

    public CudaActivationOps(CudaRuntime rt) {
        this.rt = rt;
        this.scratch = new ActScratch(rt);
    }

    private long stream(long n) {
        return GridMath.streamBlocks(n, rt.multiprocessors());
    }

    private static DevPtr ptr(FloatBuf b) {
        if (!(b instanceof CudaFloatBuf c)) {
            throw new IllegalArgumentException("not a CUDA buffer: " + (b == null ? "null" : b.getClass().getName()));
        }
        return c.at(0);
    }

    private static DevPtr ptr(IntBuf b) {
        if (!(b instanceof CudaIntBuf c)) {
            throw new IllegalArgumentException("not a CUDA buffer: " + (b == null ? "null" : b.getClass().getName()));
        }
        return c.at(0);
    }

    private static void dims(String op, int batch, int nLatents) {
        requirePositive(op, "batch", batch);
        requirePositive(op, "nLatents", nLatents);
    }

    private static void dims(String op, int batch, int dIn, int nLatents) {
        dims(op, batch, nLatents);
        requirePositive(op, "dIn", dIn);
    }

    // ------------------------------------------------------------------------------------------ selection

    /**
     * See {@link Device#topk}: one block per row, radix select on the float keys (no sort), the row's keys in
     * shared memory when they fit ({@link GridMath#topkSharedBytes}), else read from global memory every pass.
     * Picks are written in increasing latent order, ties at the k-th value to the lowest latents (the reference's
     * pick exactly).
     */
    public void topk(FloatBuf pre, int batch, int nLatents, int k, IntBuf lastFired, int deadBefore, SparseActs out) {
        dims("topk", batch, nLatents);
        if (k < 0 || k > nLatents) {
            throw new IllegalArgumentException("topk: k = " + k + " outside [0, nLatents = " + nLatents + "]");
        }
        if ((long) batch * k > out.capacity()) {
            throw new IllegalArgumentException("topk needs " + (long) batch * k + " entries, out holds " + out.capacity());
        }
        requireSize("topk", "pre", pre, (long) batch * nLatents);
        requireSize("topk", "out.rowPtr", out.rowPtr(), batch + 1L);
        if (lastFired != null) {
            requireSize("topk", "lastFired", lastFired, nLatents);
            CudaIntBuf count = scratch.zeroed64("count", 1);
            rt.launch(TOPK_COUNT_CANDIDATES, stream(nLatents), 1, BLOCK, 0, lastFired, nLatents, deadBefore, count);
            long candidates = scratch.readLong(count, 0);
            if (candidates < k) {
                throw new IllegalArgumentException("topk: only " + candidates + " candidate latents for k = " + k
                        + "; the caller must clamp k to the number of candidates");
            }
        }
        int shared = GridMath.topkSharedBytes(nLatents, rt.maxSharedBytesPerBlock());
        rt.launch(TOPK_SELECT, batch, 1, GridMath.topkBlock(shared, rt.maxSharedBytesPerBlock()), shared, pre, batch,
                nLatents, k, lastFired, deadBefore, shared > 0 ? 1 : 0, out.rowPtr(), out.idx(), out.val());
    }

    /**
     * Compacts the entries pre > threshold[i] (> 0 when threshold is null) into CSR rows, latents in increasing
     * order: count per row, scan, fill. Returns the entries, or -1 (only rowPtr written) past out.capacity().
     * Leaves the total in scratch "total" for kernels that follow.
     */
    private long compact(String op, FloatBuf pre, FloatBuf threshold, int batch, int nLatents, SparseActs out) {
        dims(op, batch, nLatents);
        requireSize(op, "pre", pre, (long) batch * nLatents);
        requireSizeIfPresent(op, "threshold", threshold, nLatents);
        requireSize(op, "out.rowPtr", out.rowPtr(), batch + 1L);
        CudaIntBuf counts = scratch.ints("rowCount", batch);
        CudaIntBuf total = scratch.words64("total", 1);
        rt.launch(COMPACT_COUNT, batch, 1, BLOCK, 0, pre, threshold, batch, nLatents, counts);
        rt.launch(ROW_PTR_SCAN, 1, 1, SCAN_BLOCK, 0, counts, batch, out.rowPtr(), total);
        long n = scratch.readLong(total, 0);
        if (n > out.capacity()) {
            return -1;
        }
        rt.launch(COMPACT_FILL, batch, 1, BLOCK, 0, pre, threshold, batch, nLatents, out.rowPtr(), out.idx(),
                out.val());
        return n;
    }

    /** See {@link Device#reluSparse}. */
    public long reluSparse(FloatBuf pre, int batch, int nLatents, SparseActs out) {
        return compact("reluSparse", pre, null, batch, nLatents, out);
    }

    /** One column pass of dense_fires; returns the entries > 0 when {@code count} (a sync), else -1 unread. */
    private long denseFires(String op, FloatBuf f, int batch, int nLatents, boolean relu, IntBuf counts,
                            IntBuf lastFired, int step, FloatBuf actSums, boolean count) {
        dims(op, batch, nLatents);
        requireSize(op, "pre", f, (long) batch * nLatents);
        if (counts != null) {
            requireSize(op, "counts", counts, nLatents);
            requireSize(op, "lastFired", lastFired, nLatents);
        }
        requireSizeIfPresent(op, "actSums", actSums, nLatents);
        CudaIntBuf positives = scratch.zeroed64("positives", 1);
        rt.launch(DENSE_FIRES, columnBlocks(nLatents), 1, BLOCK, 0, f, batch, nLatents, relu ? 1 : 0,
                counts, lastFired, step, actSums, positives);
        return count ? scratch.readLong(positives, 0) : -1;
    }

    /** See {@link Device#reluDense}. */
    public long reluDense(FloatBuf pre, int batch, int nLatents) {
        return denseFires("reluDense", pre, batch, nLatents, true, null, null, 0, null, true);
    }

    /** See {@link Device#recordFires}. */
    public void recordFires(SparseActs acts, int nLatents, IntBuf counts, IntBuf lastFired, int step, FloatBuf actSums) {
        requirePositive("recordFires", "nLatents", nLatents);
        requireSize("recordFires", "counts", counts, nLatents);
        requireSize("recordFires", "lastFired", lastFired, nLatents);
        requireSizeIfPresent("recordFires", "actSums", actSums, nLatents);
        if (actSums != null) {
            rt.memsetZero(ptr(actSums), 4L * nLatents);
        }
        rt.launch(RECORD_FIRES, stream(acts.capacity()), 1, BLOCK, 0, acts.rowPtr(), acts.idx(), acts.val(),
                acts.batch(), counts, lastFired, step, actSums);
    }

    /** See {@link Device#recordFiresDense}. */
    public void recordFiresDense(FloatBuf f, int batch, int nLatents, IntBuf counts, IntBuf lastFired, int step,
                                 FloatBuf actSums) {
        requireSize("recordFiresDense", "counts", counts, nLatents);
        denseFires("recordFiresDense", f, batch, nLatents, false, counts, lastFired, step, actSums, false);
    }

    /** See {@link Device#reluDenseFires}. */
    public long reluDenseFires(FloatBuf pre, int batch, int nLatents, IntBuf counts, IntBuf lastFired, int step,
                               FloatBuf actSums) {
        requireSize("reluDenseFires", "counts", counts, nLatents);
        return denseFires("reluDenseFires", pre, batch, nLatents, true, counts, lastFired, step, actSums, true);
    }

    /**
     * See {@link BatchTopkOps#batchTopk}: the threshold T is the r-th largest positive value, found by a three-pass
     * radix select on the float bits (histograms, no sort); rows then keep their entries > T and hand out the ties at T
     * in row order.
     */
    public long batchTopk(FloatBuf pre, int batch, int nLatents, long kTotal, SparseActs out, FloatBuf minKept) {
        dims("batchTopk", batch, nLatents);
        if (kTotal > out.capacity()) {
            throw new IllegalArgumentException("batchTopk keeps up to " + kTotal + " entries, out holds "
                    + out.capacity());
        }
        long n = (long) batch * nLatents;
        requireSize("batchTopk", "pre", pre, n);
        requireSize("batchTopk", "minKept", minKept, 1);
        requireSize("batchTopk", "out.rowPtr", out.rowPtr(), batch + 1L);
        CudaIntBuf state = scratch.words64("btkState", 4);
        for (int pass = 0; pass < 3; pass++) {
            CudaIntBuf hist = scratch.zeroed64("btkHist", RADIX_BUCKETS);
            rt.launch(BATCH_TOPK_HIST, stream(n), 1, BLOCK, 0, pre, n, pass, state, hist);
            rt.launch(BATCH_TOPK_SELECT, 1, 1, 32, 0, hist, pass, Math.max(0, kTotal), state, minKept);
        }
        CudaIntBuf gt = scratch.ints("rowCount", batch);
        CudaIntBuf eq = scratch.ints("rowAux", batch);
        rt.launch(BATCH_TOPK_ROW_COUNTS, batch, 1, BLOCK, 0, pre, batch, nLatents, state, gt, eq);
        rt.launch(BATCH_TOPK_ROW_PTR, 1, 1, SCAN_BLOCK, 0, gt, eq, batch, state, out.rowPtr());
        rt.launch(BATCH_TOPK_FILL, batch, 1, BLOCK, 0, pre, batch, nLatents, state, out.rowPtr(), eq, out.idx(),
                out.val());
        return scratch.readLong(state, 0);
    }

    /**
     * See {@link BatchTopkOps#batchTopkMerge}: {@link #batchTopk}'s radix select over the blocks' candidate values
     * (each pass's histogram adds every block's), then its row counts and fill over each block's CSR rows, the ties
     * at T handed out in row order over the whole batch. Reads each block's entry count (a word per block).
     */
    public long batchTopkMerge(SparseActs[] blocks, long kTotal, SparseActs out, FloatBuf minKept) {
        if (kTotal > out.capacity()) {
            throw new IllegalArgumentException("batchTopkMerge keeps up to " + kTotal + " entries, out holds "
                    + out.capacity());
        }
        int batch = 0;
        long[] entries = new long[blocks.length];
        int[] w = new int[1];
        for (int j = 0; j < blocks.length; j++) {
            SparseActs c = blocks[j];
            requirePositive("batchTopkMerge", "block rows", c.batch());
            requireSize("batchTopkMerge", "block rowPtr", c.rowPtr(), c.batch() + 1L);
            rt.downloadInt((CudaIntBuf) c.rowPtr(), c.batch(), w, 0, 1);
            entries[j] = w[0];
            batch += c.batch();
        }
        if (batch != out.batch()) {
            throw new IllegalArgumentException("batchTopkMerge: the blocks hold " + batch + " rows, out "
                    + out.batch());
        }
        requireSize("batchTopkMerge", "minKept", minKept, 1);
        requireSize("batchTopkMerge", "out.rowPtr", out.rowPtr(), batch + 1L);
        CudaIntBuf state = scratch.words64("btkState", 4);
        for (int pass = 0; pass < 3; pass++) {
            CudaIntBuf hist = scratch.zeroed64("btkHist", RADIX_BUCKETS);
            for (int j = 0; j < blocks.length; j++) {
                if (entries[j] > 0) {
                    rt.launch(BATCH_TOPK_HIST, stream(entries[j]), 1, BLOCK, 0, blocks[j].val(), entries[j], pass,
                            state, hist);
                }
            }
            rt.launch(BATCH_TOPK_SELECT, 1, 1, 32, 0, hist, pass, Math.max(0, kTotal), state, minKept);
        }
        CudaIntBuf gt = scratch.ints("rowCount", batch);
        CudaIntBuf eq = scratch.ints("rowAux", batch);
        int first = 0;
        for (SparseActs c : blocks) {
            rt.launch(BATCH_TOPK_MERGE_ROW_COUNTS, c.batch(), 1, BLOCK, 0, c.rowPtr(), c.val(), c.batch(), first,
                    state, gt, eq);
            first += c.batch();
        }
        rt.launch(BATCH_TOPK_ROW_PTR, 1, 1, SCAN_BLOCK, 0, gt, eq, batch, state, out.rowPtr());
        first = 0;
        for (SparseActs c : blocks) {
            rt.launch(BATCH_TOPK_MERGE_FILL, c.batch(), 1, BLOCK, 0, c.rowPtr(), c.idx(), c.val(), c.batch(), first,
                    state, out.rowPtr(), eq, out.idx(), out.val());
            first += c.batch();
        }
        return scratch.readLong(state, 0);
    }

    /** See {@link JumpReluOps#jumpReluSparse}. */
    public long jumpReluSparse(FloatBuf pre, FloatBuf threshold, int batch, int nLatents, SparseActs out) {
        requireSize("jumpReluSparse", "threshold", threshold, nLatents);
        return compact("jumpReluSparse", pre, threshold, batch, nLatents, out);
    }

    /** See {@link JumpReluOps#jumpReluDense}. */
    public long jumpReluDense(FloatBuf pre, FloatBuf threshold, int batch, int nLatents, FloatBuf f) {
        dims("jumpReluDense", batch, nLatents);
        long n = (long) batch * nLatents;
        requireSize("jumpReluDense", "pre", pre, n);
        requireSize("jumpReluDense", "threshold", threshold, nLatents);
        requireSize("jumpReluDense", "f", f, n);
        CudaIntBuf positives = scratch.zeroed64("positives", 1);
        rt.launch(JUMP_RELU_DENSE, stream(n), 1, BLOCK, 0, pre, threshold, batch, nLatents, f, positives);
        return scratch.readLong(positives, 0);
    }

    /** See {@link GatedOps#gatedSparse}: the open gates compacted as ReLU, then pi_mag per entry. */
    public long gatedSparse(FloatBuf pre, FloatBuf bGate, FloatBuf bMag, FloatBuf magScale, int batch, int nLatents,
                            SparseActs out, FloatBuf gateVal, FloatBuf gateSums, IntBuf fired) {
        for (FloatBuf b : new FloatBuf[] {bGate, bMag, magScale, gateSums}) {
            requireSize("gatedSparse", "bGate/bMag/magScale/gateSums", b, nLatents);
        }
        requireSize("gatedSparse", "fired", fired, 1);
        long total = compact("gatedSparse", pre, null, batch, nLatents, out);
        if (total < 0) {
            return -1;
        }
        requireSize("gatedSparse", "gateVal", gateVal, total);
        rt.memsetZero(ptr(fired), 4);
        rt.launch(GATED_FILL, stream(total), 1, BLOCK, 0, out.idx(), out.val(), scratch.words64("total", 1), bGate,
                bMag, magScale, gateVal, fired);
        rt.launch(GATE_SUMS, columnBlocks(nLatents), 1, BLOCK, 0, pre, batch, nLatents, gateSums);
        return total;
    }

    /** See {@link GatedOps#gatedDense}. */
    public long gatedDense(FloatBuf pre, FloatBuf bGate, FloatBuf bMag, FloatBuf magScale, int batch, int nLatents,
                           FloatBuf f, FloatBuf gateSums, IntBuf fired) {
        dims("gatedDense", batch, nLatents);
        long n = (long) batch * nLatents;
        requireSize("gatedDense", "pre", pre, n);
        requireSize("gatedDense", "f", f, n);
        for (FloatBuf b : new FloatBuf[] {bGate, bMag, magScale, gateSums}) {
            requireSize("gatedDense", "bGate/bMag/magScale/gateSums", b, nLatents);
        }
        requireSize("gatedDense", "fired", fired, 1);
        rt.memsetZero(ptr(fired), 4);
        CudaIntBuf open = scratch.zeroed64("positives", 1);
        rt.launch(GATED_DENSE, columnBlocks(nLatents), 1, BLOCK, 0, pre, bGate, bMag, magScale, batch,
                nLatents, f, gateSums, fired, open);
        return scratch.readLong(open, 0);
    }

    // ------------------------------------------------------------------------------------------ decode

    /** Sum of the [rows, cols] doubles in scratch {@code partials} per column, downloaded (a sync). */
    private double[] sumRows(CudaIntBuf partials, int rows, int cols) {
        CudaIntBuf sums = scratch.words64("sums", cols);
        rt.launch(SUM_ROWS_DOUBLE, columnBlocks(cols), 1, BLOCK, 0, partials, rows, cols, sums);
        return scratch.readDoubles(sums, cols);
    }

    /** See {@link Device#sparseDecode}: one block per row, the residual and its squares fused in. */
    public double sparseDecode(SparseActs acts, FloatBuf wDec, FloatBuf bDec, FloatBuf target,
                               int batch, int dIn, FloatBuf xHat, FloatBuf err) {
        requirePositive("sparseDecode", "batch", batch);
        requirePositive("sparseDecode", "dIn", dIn);
        long n = (long) batch * dIn;
        requireSizeIfPresent("sparseDecode", "bDec", bDec, dIn);
        requireSize("sparseDecode", "target", target, n);
        requireSize("sparseDecode", "xHat", xHat, n);
        requireSize("sparseDecode", "err", err, n);
        requireSize("sparseDecode", "wDec", wDec, dIn);
        requireSize("sparseDecode", "acts.rowPtr", acts.rowPtr(), batch + 1L);
        CudaIntBuf rowSse = scratch.words64("rowSse", batch);
        rt.launch(SPARSE_DECODE, batch, 1, BLOCK, 0, acts.rowPtr(), acts.idx(), acts.val(), wDec, bDec, target, batch,
                dIn, xHat, err, rowSse);
        return sumRows(rowSse, batch, 1)[0];
    }

    /** See {@link Device#denseDecode}: xHat = bDec rows, the product through {@link CudaRuntime#gemm}, the residual. */
    public double denseDecode(FloatBuf f, FloatBuf wDec, FloatBuf bDec, FloatBuf target,
                              int batch, int dIn, int nLatents, FloatBuf xHat, FloatBuf err) {
        dims("denseDecode", batch, dIn, nLatents);
        long n = (long) batch * dIn;
        requireSize("denseDecode", "f", f, (long) batch * nLatents);
        requireSize("denseDecode", "wDec", wDec, (long) nLatents * dIn);
        requireSize("denseDecode", "bDec", bDec, dIn);
        requireSize("denseDecode", "target", target, n);
        requireSize("denseDecode", "xHat", xHat, n);
        requireSize("denseDecode", "err", err, n);
        DevPtr fp = ptr(f);
        DevPtr wp = ptr(wDec);
        DevPtr xp = ptr(xHat);
        rt.launch(BROADCAST_ROWS, stream(n), 1, BLOCK, 0, bDec, batch, dIn, xHat);
        rt.gemm(false, false, batch, dIn, nLatents, 1f, fp, nLatents, wp, dIn, 1f, xp, dIn);
        int blocks = (int) stream(n);
        CudaIntBuf partial = scratch.words64("blockSse", blocks);
        rt.launch(RESIDUAL_SSE, blocks, 1, BLOCK, 0, xHat, target, n, err, partial);
        return sumRows(partial, blocks, 1)[0];
    }

    /** The group ends, downloaded and checked (MatryoshkaOps.matryoshkaDecode: implementations check them). */
    private void checkGroupEnds(IntBuf groupEnds, int groups, int nLatents) {
        requirePositive("matryoshka", "groups", groups);
        requireSize("matryoshka", "groupEnds", groupEnds, groups);
        int[] ends = new int[groups];
        rt.downloadInt((CudaIntBuf) groupEnds, 0, ends, 0, groups);
        GroupEnds.check(ends, groups, nLatents);
    }

    /** See {@link MatryoshkaOps#matryoshkaDecode}: one block per row, the prefixes built group by group. */
    public double[] matryoshkaDecode(SparseActs acts, FloatBuf wDec, FloatBuf bDec, FloatBuf target, IntBuf groupEnds,
                                     int groups, int batch, int dIn, int nLatents, FloatBuf xHat, FloatBuf err,
                                     FloatBuf residSuffix) {
        dims("matryoshkaDecode", batch, dIn, nLatents);
        ptr(groupEnds);
        checkGroupEnds(groupEnds, groups, nLatents);
        long n = (long) batch * dIn;
        requireSize("matryoshkaDecode", "wDec", wDec, (long) nLatents * dIn);
        requireSize("matryoshkaDecode", "bDec", bDec, dIn);
        requireSize("matryoshkaDecode", "target", target, n);
        requireSize("matryoshkaDecode", "xHat", xHat, n);
        requireSize("matryoshkaDecode", "err", err, n);
        requireSize("matryoshkaDecode", "residSuffix", residSuffix, groups * n);
        requireSize("matryoshkaDecode", "acts.rowPtr", acts.rowPtr(), batch + 1L);
        CudaIntBuf rowSse = scratch.words64("rowSse", (long) batch * groups);
        rt.launch(MATRYOSHKA_DECODE, batch, 1, BLOCK, 0, acts.rowPtr(), acts.idx(), acts.val(), wDec, bDec, target,
                groupEnds, groups, batch, dIn, xHat, err, residSuffix, rowSse);
        return sumRows(rowSse, batch, groups);
    }

    // ------------------------------------------------------------------------------------------ backward

    /** The latent-major index of the entries with value > 0 (counting sort on the device). */
    private record LatentIndex(CudaIntBuf start, CudaIntBuf order, CudaIntBuf entryRow) {
    }

    private LatentIndex latentIndex(SparseActs acts, int nLatents) {
        long cap = Math.max(1, acts.capacity());
        int batch = acts.batch();
        CudaIntBuf entryRow = scratch.ints("entryRow", cap);
        CudaIntBuf order = scratch.ints("order", cap);
        CudaIntBuf start = scratch.ints("latentStart", nLatents + 1L);
        rt.launch(ENTRY_ROWS, Math.max(1, batch), 1, BLOCK, 0, acts.rowPtr(), batch, entryRow);
        CudaIntBuf fill = scratch.zeroedInts("latentFill", nLatents);
        rt.launch(LATENT_COUNT, stream(cap), 1, BLOCK, 0, acts.rowPtr(), acts.idx(), acts.val(), batch, fill);
        rt.launch(LATENT_START_SCAN, 1, 1, SCAN_BLOCK, 0, fill, nLatents, start);
        rt.memsetZero(fill.at(0), 4L * nLatents);
        rt.launch(LATENT_SCATTER, stream(cap), 1, BLOCK, 0, acts.rowPtr(), acts.idx(), acts.val(), batch, start, fill,
                order);
        return new LatentIndex(start, order, entryRow);
    }

    private void checkBackward(String op, SparseActs acts, int batch, int dIn, int nLatents, FloatBuf dW,
                               IntBuf rowActive) {
        dims(op, batch, dIn, nLatents);
        if (acts.batch() != batch) {
            throw new IllegalArgumentException(op + ": acts hold " + acts.batch() + " rows, batch is " + batch);
        }
        requireSize(op, "gradient", dW, (long) nLatents * dIn);
        requireSize(op, "rowActive", rowActive, nLatents);
    }

    /** See {@link Device#sparseDecoderBackward}: per-entry dots, then dW_dec rows by latent (no float atomics). */
    public void sparseDecoderBackward(SparseActs acts, FloatBuf err, float scale, FloatBuf wDec, FloatBuf l1PerLatent,
                                      int batch, int dIn, int nLatents, FloatBuf dWDec, IntBuf rowActive) {
        checkBackward("sparseDecoderBackward", acts, batch, dIn, nLatents, dWDec, rowActive);
        requireSize("sparseDecoderBackward", "err", err, (long) batch * dIn);
        requireSize("sparseDecoderBackward", "wDec", wDec, (long) nLatents * dIn);
        requireSizeIfPresent("sparseDecoderBackward", "l1PerLatent", l1PerLatent, nLatents);
        rt.launch(ENTRY_GRAD, batch, 1, BLOCK, 0, acts.rowPtr(), acts.idx(), acts.val(), batch, err, dIn, null, 0, 0L,
                wDec, scale, l1PerLatent, acts.grad());
        LatentIndex ix = latentIndex(acts, nLatents);
        rt.launch(LATENT_ACCUMULATE, nLatents, 1, BLOCK, 0, ix.start(), ix.order(), ix.entryRow(), acts.val(), scale,
                err, dIn, nLatents, null, 0, 0L, dWDec, rowActive, null);
    }

    /** See {@link Device#sparseEncoderBackward}: dW_enc rows and dB_enc by latent. */
    public void sparseEncoderBackward(SparseActs acts, FloatBuf xIn, int batch, int dIn, int nLatents,
                                      FloatBuf dWEnc, FloatBuf dBEnc, IntBuf rowActive) {
        checkBackward("sparseEncoderBackward", acts, batch, dIn, nLatents, dWEnc, rowActive);
        requireSize("sparseEncoderBackward", "xIn", xIn, (long) batch * dIn);
        requireSize("sparseEncoderBackward", "dBEnc", dBEnc, nLatents);
        LatentIndex ix = latentIndex(acts, nLatents);
        rt.launch(LATENT_ACCUMULATE, nLatents, 1, BLOCK, 0, ix.start(), ix.order(), ix.entryRow(), acts.grad(), 1f,
                xIn, dIn, nLatents, null, 0, 0L, dWEnc, rowActive, dBEnc);
    }

    /**
     * See {@link MatryoshkaOps#matryoshkaDecoderBackward}: as sparseDecoderBackward, reading each latent's suffix slab.
     */
    public void matryoshkaDecoderBackward(SparseActs acts, FloatBuf residSuffix, IntBuf groupEnds, int groups,
                                          float scale, FloatBuf wDec, int batch, int dIn, int nLatents, FloatBuf dWDec,
                                          IntBuf rowActive) {
        checkBackward("matryoshkaDecoderBackward", acts, batch, dIn, nLatents, dWDec, rowActive);
        ptr(groupEnds);
        checkGroupEnds(groupEnds, groups, nLatents);
        long slab = (long) batch * dIn;
        requireSize("matryoshkaDecoderBackward", "residSuffix", residSuffix, groups * slab);
        requireSize("matryoshkaDecoderBackward", "wDec", wDec, (long) nLatents * dIn);
        rt.launch(ENTRY_GRAD, batch, 1, BLOCK, 0, acts.rowPtr(), acts.idx(), acts.val(), batch, residSuffix, dIn,
                groupEnds, groups, slab, wDec, scale, null, acts.grad());
        LatentIndex ix = latentIndex(acts, nLatents);
        rt.launch(LATENT_ACCUMULATE, nLatents, 1, BLOCK, 0, ix.start(), ix.order(), ix.entryRow(), acts.val(), scale,
                residSuffix, dIn, nLatents, groupEnds, groups, slab, dWDec, rowActive, null);
    }

    private void setFlags(IntBuf flags, int n) {
        rt.launch(FILL_FLAGS, stream(n), 1, BLOCK, 0, flags, n);
    }

    /**
     * See {@link Device#denseBackward}: three products through {@link CudaRuntime#gemm} and one column pass;
     * {@code accumulate} adds into the gradients (beta 1, dBEnc's sums added by the column pass).
     */
    public void denseBackward(FloatBuf f, FloatBuf err, float scale, FloatBuf wDec, FloatBuf l1PerLatent, FloatBuf xIn,
                              int batch, int dIn, int nLatents, FloatBuf dpreScratch,
                              FloatBuf dWDec, IntBuf decActive, FloatBuf dWEnc, IntBuf encActive, FloatBuf dBEnc,
                              boolean accumulate) {
        String op = "denseBackward";
        dims(op, batch, dIn, nLatents);
        long bm = (long) batch * nLatents;
        long md = (long) nLatents * dIn;
        requireSize(op, "f", f, bm);
        requireSize(op, "dpreScratch", dpreScratch, bm);
        requireSize(op, "err", err, (long) batch * dIn);
        requireSize(op, "xIn", xIn, (long) batch * dIn);
        requireSize(op, "wDec", wDec, md);
        requireSize(op, "dWDec", dWDec, md);
        requireSize(op, "dWEnc", dWEnc, md);
        requireSize(op, "dBEnc", dBEnc, nLatents);
        requireSize(op, "decActive", decActive, nLatents);
        requireSize(op, "encActive", encActive, nLatents);
        requireSizeIfPresent(op, "l1PerLatent", l1PerLatent, nLatents);
        DevPtr fp = ptr(f);
        DevPtr ep = ptr(err);
        DevPtr wp = ptr(wDec);
        DevPtr dp = ptr(dpreScratch);
        DevPtr xp = ptr(xIn);
        DevPtr dwd = ptr(dWDec);
        DevPtr dwe = ptr(dWEnc);
        rt.gemm(false, true, batch, nLatents, dIn, scale, ep, dIn, wp, dIn, 0f, dp, nLatents);
        rt.launch(DENSE_BACKWARD_MASK, columnBlocks(nLatents), 1, BLOCK, 0, f, l1PerLatent, batch, nLatents,
                dpreScratch, dBEnc, accumulate ? 1 : 0);
        float beta = accumulate ? 1f : 0f;
        rt.gemm(true, false, nLatents, dIn, batch, scale, fp, nLatents, ep, dIn, beta, dwd, dIn);
        rt.gemm(true, false, nLatents, dIn, batch, 1f, dp, nLatents, xp, dIn, beta, dwe, dIn);
        setFlags(decActive, nLatents);
        setFlags(encActive, nLatents);
    }

    /** See {@link JumpReluOps#jumpReluThresholdBackward}: hits within eps/2 per row, one warp per hit, double sums. */
    public void jumpReluThresholdBackward(FloatBuf pre, FloatBuf threshold, FloatBuf err, float scale, FloatBuf wDec,
                                          float eps, float l0Scale, int batch, int dIn, int nLatents,
                                          FloatBuf dLogThreshold) {
        String op = "jumpReluThresholdBackward";
        dims(op, batch, dIn, nLatents);
        if (!(eps > 0)) {
            throw new IllegalArgumentException(op + ": eps must be > 0, got " + eps);
        }
        requireSize(op, "pre", pre, (long) batch * nLatents);
        requireSize(op, "threshold", threshold, nLatents);
        requireSize(op, "err", err, (long) batch * dIn);
        requireSize(op, "wDec", wDec, (long) nLatents * dIn);
        requireSize(op, "dLogThreshold", dLogThreshold, nLatents);
        CudaIntBuf acc = scratch.zeroed64("latentAcc", nLatents);
        rt.launch(JUMP_RELU_THRESHOLD_HITS, batch, 1, BLOCK, 0, pre, threshold, err, wDec, scale, eps, l0Scale, batch,
                dIn, nLatents, acc);
        rt.launch(JUMP_RELU_THRESHOLD_FINISH, columnBlocks(nLatents), 1, BLOCK, 0, threshold, acc, nLatents,
                dLogThreshold);
    }

    /** See {@link GatedOps#gatedSparseBackward}: one warp per entry, per-latent sums in double. */
    public void gatedSparseBackward(SparseActs acts, SparseActs gate, FloatBuf auxErr, float auxScale, FloatBuf wDec,
                                    FloatBuf l1PerLatent, FloatBuf magScale, FloatBuf bMag, int batch, int dIn,
                                    int nLatents, FloatBuf dBGate, FloatBuf dBMag, FloatBuf dRMag,
                                    boolean accumulate) {
        String op = "gatedSparseBackward";
        dims(op, batch, dIn, nLatents);
        requireSize(op, "auxErr", auxErr, (long) batch * dIn);
        requireSize(op, "wDec", wDec, (long) nLatents * dIn);
        for (FloatBuf b : new FloatBuf[] {magScale, bMag, dBGate, dBMag, dRMag}) {
            requireSize(op, "magScale/bMag/dBGate/dBMag/dRMag", b, nLatents);
        }
        requireSizeIfPresent(op, "l1PerLatent", l1PerLatent, nLatents);
        requireSize(op, "acts.rowPtr", acts.rowPtr(), batch + 1L);
        CudaIntBuf sums = scratch.zeroed64("latentAcc", 3L * nLatents);
        rt.launch(GATED_SPARSE_BACKWARD, batch, 1, BLOCK, 0, acts.rowPtr(), acts.idx(), acts.val(), acts.grad(),
                gate.grad(), auxErr, auxScale, wDec, l1PerLatent, magScale, bMag, batch, dIn, nLatents, sums);
        rt.launch(GATED_SUMS_FINISH, columnBlocks(nLatents), 1, BLOCK, 0, sums, nLatents, accumulate ? 1 : 0, dBGate,
                dBMag, dRMag);
    }

    /**
     * See {@link GatedOps#gatedDenseBackward}: four products through {@link CudaRuntime#gemm} (beta 1 into the
     * gradients when accumulating), two column passes.
     */
    public void gatedDenseBackward(FloatBuf gate, FloatBuf f, FloatBuf err, float scale, FloatBuf auxErr,
                                   float auxScale, FloatBuf wDec, FloatBuf l1PerLatent, FloatBuf magScale,
                                   FloatBuf bMag, FloatBuf xIn, int batch, int dIn, int nLatents, FloatBuf scratchBuf,
                                   FloatBuf dWDec, IntBuf decActive, FloatBuf dWEnc, IntBuf encActive,
                                   FloatBuf dBGate, FloatBuf dBMag, FloatBuf dRMag, FloatBuf dpreSums,
                                   boolean accumulate) {
        String op = "gatedDenseBackward";
        dims(op, batch, dIn, nLatents);
        long bm = (long) batch * nLatents;
        long bd = (long) batch * dIn;
        long md = (long) nLatents * dIn;
        for (FloatBuf b : new FloatBuf[] {gate, f, scratchBuf}) {
            requireSize(op, "gate/f/scratch", b, bm);
        }
        for (FloatBuf b : new FloatBuf[] {err, auxErr, xIn}) {
            requireSize(op, "err/auxErr/xIn", b, bd);
        }
        for (FloatBuf b : new FloatBuf[] {wDec, dWDec, dWEnc}) {
            requireSize(op, "wDec/dWDec/dWEnc", b, md);
        }
        for (FloatBuf b : new FloatBuf[] {magScale, bMag, dBGate, dBMag, dRMag, dpreSums}) {
            requireSize(op, "magScale/bMag/dBGate/dBMag/dRMag/dpreSums", b, nLatents);
        }
        requireSizeIfPresent(op, "l1PerLatent", l1PerLatent, nLatents);
        requireSize(op, "decActive", decActive, nLatents);
        requireSize(op, "encActive", encActive, nLatents);
        long cols = columnBlocks(nLatents);
        DevPtr fp = ptr(f);
        DevPtr ep = ptr(err);
        DevPtr ap = ptr(auxErr);
        DevPtr wp = ptr(wDec);
        DevPtr sp = ptr(scratchBuf);
        DevPtr xp = ptr(xIn);
        DevPtr dwd = ptr(dWDec);
        DevPtr dwe = ptr(dWEnc);
        float beta = accumulate ? 1f : 0f;
        int add = accumulate ? 1 : 0;
        rt.gemm(true, false, nLatents, dIn, batch, scale, fp, nLatents, ep, dIn, beta, dwd, dIn);
        rt.gemm(false, true, batch, nLatents, dIn, scale, ep, dIn, wp, dIn, 0f, sp, nLatents);
        rt.launch(GATED_DENSE_MAG, cols, 1, BLOCK, 0, f, scratchBuf, bMag, magScale, batch, nLatents, add, dBMag,
                dRMag);
        rt.gemm(false, true, batch, nLatents, dIn, auxScale, ap, dIn, wp, dIn, 0f, sp, nLatents);
        rt.launch(GATED_DENSE_GATE, cols, 1, BLOCK, 0, gate, scratchBuf, f, l1PerLatent, batch, nLatents, add, dBGate,
                dpreSums);
        rt.gemm(true, false, nLatents, dIn, batch, 1f, sp, nLatents, xp, dIn, beta, dwe, dIn);
        setFlags(decActive, nLatents);
        setFlags(encActive, nLatents);
    }

    /** Frees this class's scratch buffers. */
    @Override
    public void close() {
        scratch.close();
    }
}
