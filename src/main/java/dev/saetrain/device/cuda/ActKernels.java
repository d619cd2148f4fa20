package dev.saetrain.device.cuda;

import static dev.saetrain.device.cuda.Param.F32;
import static dev.saetrain.device.cuda.Param.I32;
import static dev.saetrain.device.cuda.Param.I64;
import static dev.saetrain.device.cuda.Param.PTR;

import java.util.List;

/**
 * The kernels of {@link CudaActivationOps}, as the Java side launches them: {@code activation.ptx} (selection and
 * forward epilogues, {@code src/main/cuda/activation.cu}) and {@code sparse.ptx} (decode and backward,
 * {@code src/main/cuda/sparse.cu}). Each parameter list is the kernel's {@code extern "C"} signature in order;
 * the comment after each spec names the parameters.
 */
final class ActKernels {
    static final String ACT = "activation";
    static final String SPARSE = "sparse";

    // activation.cu
    /** pre, batch, nLatents, k, lastFired, deadBefore, keysInShared, rowPtr, idx, val. */
    static final KernelSpec TOPK_SELECT = KernelSpec.of(ACT, "topk_select", PTR, I32, I32, I32, PTR, I32, I32, PTR, PTR,
            PTR);
    /** lastFired, nLatents, deadBefore, count (u64). */
    static final KernelSpec TOPK_COUNT_CANDIDATES = KernelSpec.of(ACT, "topk_count_candidates", PTR, I32, I32, PTR);
    /** pre, threshold, batch, nLatents, rowCount. */
    static final KernelSpec COMPACT_COUNT = KernelSpec.of(ACT, "compact_count", PTR, PTR, I32, I32, PTR);
    /** rowCount, batch, rowPtr, total (i64). */
    static final KernelSpec ROW_PTR_SCAN = KernelSpec.of(ACT, "row_ptr_scan", PTR, I32, PTR, PTR);
    /** pre, threshold, batch, nLatents, rowPtr, idx, val. */
    static final KernelSpec COMPACT_FILL = KernelSpec.of(ACT, "compact_fill", PTR, PTR, I32, I32, PTR, PTR, PTR);
    /** idx, val, total (i64), bGate, bMag, magScale, gateVal, fired. */
    static final KernelSpec GATED_FILL = KernelSpec.of(ACT, "gated_fill", PTR, PTR, PTR, PTR, PTR, PTR, PTR, PTR);
    /** pre, batch, nLatents, gateSums. */
    static final KernelSpec GATE_SUMS = KernelSpec.of(ACT, "gate_sums", PTR, I32, I32, PTR);
    /** f, batch, nLatents, relu, counts, lastFired, step, actSums, positives (u64). */
    static final KernelSpec DENSE_FIRES = KernelSpec.of(ACT, "dense_fires", PTR, I32, I32, I32, PTR, PTR, I32, PTR, PTR);
    /** rowPtr, idx, val, batch, counts, lastFired, step, actSums. */
    static final KernelSpec RECORD_FIRES = KernelSpec.of(ACT, "record_fires", PTR, PTR, PTR, I32, PTR, PTR, I32, PTR);
    /** pre, threshold, batch, nLatents, f, positives (u64). */
    static final KernelSpec JUMP_RELU_DENSE = KernelSpec.of(ACT, "jump_relu_dense", PTR, PTR, I32, I32, PTR, PTR);
    /** pre, bGate, bMag, magScale, batch, nLatents, f, gateSums, fired, open (u64). */
    static final KernelSpec GATED_DENSE = KernelSpec.of(ACT, "gated_dense", PTR, PTR, PTR, PTR, I32, I32, PTR, PTR, PTR,
            PTR);
    /** pre, n, pass, state, hist (u64 [2048]). */
    static final KernelSpec BATCH_TOPK_HIST = KernelSpec.of(ACT, "batch_topk_hist", PTR, I64, I32, PTR, PTR);
    /** hist, pass, kTotal, state, minKept. */
    static final KernelSpec BATCH_TOPK_SELECT = KernelSpec.of(ACT, "batch_topk_select", PTR, I32, I64, PTR, PTR);
    /** pre, batch, nLatents, state, gt, eq. */
    static final KernelSpec BATCH_TOPK_ROW_COUNTS = KernelSpec.of(ACT, "batch_topk_row_counts", PTR, I32, I32, PTR, PTR,
            PTR);
    /** gt, eq (becomes takeEq), batch, state, rowPtr. */
    static final KernelSpec BATCH_TOPK_ROW_PTR = KernelSpec.of(ACT, "batch_topk_row_ptr", PTR, PTR, I32, PTR, PTR);
    /** pre, batch, nLatents, state, rowPtr, takeEq, idx, val. */
    static final KernelSpec BATCH_TOPK_FILL = KernelSpec.of(ACT, "batch_topk_fill", PTR, I32, I32, PTR, PTR, PTR, PTR,
            PTR);
    /** candRowPtr, candVal, rows, firstRow, state, gt, eq (batchTopkMerge: one block of candidates). */
    static final KernelSpec BATCH_TOPK_MERGE_ROW_COUNTS = KernelSpec.of(ACT, "batch_topk_merge_row_counts", PTR, PTR,
            I32, I32, PTR, PTR, PTR);
    /** candRowPtr, candIdx, candVal, rows, firstRow, state, rowPtr, takeEq, idx, val. */
    static final KernelSpec BATCH_TOPK_MERGE_FILL = KernelSpec.of(ACT, "batch_topk_merge_fill", PTR, PTR, PTR, I32,
            I32, PTR, PTR, PTR, PTR, PTR);

    // sparse.cu
    /** rowPtr, idx, val, wDec, bDec, target, batch, dIn, xHat, err, rowSse (f64). */
    static final KernelSpec SPARSE_DECODE = KernelSpec.of(SPARSE, "sparse_decode", PTR, PTR, PTR, PTR, PTR, PTR, I32, I32,
            PTR, PTR, PTR);
    /** in (f64), rows, cols, out (f64). */
    static final KernelSpec SUM_ROWS_DOUBLE = KernelSpec.of(SPARSE, "sum_rows_double", PTR, I32, I32, PTR);
    /** bias, batch, dIn, out. */
    static final KernelSpec BROADCAST_ROWS = KernelSpec.of(SPARSE, "broadcast_rows", PTR, I32, I32, PTR);
    /** xHat, target, n, err, blockSse (f64). */
    static final KernelSpec RESIDUAL_SSE = KernelSpec.of(SPARSE, "residual_sse", PTR, PTR, I64, PTR, PTR);
    /** rowPtr, idx, val, wDec, bDec, target, groupEnds, groups, batch, dIn, xHat, err, suffix, rowSse (f64). */
    static final KernelSpec MATRYOSHKA_DECODE = KernelSpec.of(SPARSE, "matryoshka_decode", PTR, PTR, PTR, PTR, PTR, PTR,
            PTR, I32, I32, I32, PTR, PTR, PTR, PTR);
    /** rowPtr, batch, entryRow. */
    static final KernelSpec ENTRY_ROWS = KernelSpec.of(SPARSE, "entry_rows", PTR, I32, PTR);
    /** rowPtr, idx, val, batch, latentCount. */
    static final KernelSpec LATENT_COUNT = KernelSpec.of(SPARSE, "latent_count", PTR, PTR, PTR, I32, PTR);
    /** latentCount, nLatents, latentStart. */
    static final KernelSpec LATENT_START_SCAN = KernelSpec.of(SPARSE, "latent_start_scan", PTR, I32, PTR);
    /** rowPtr, idx, val, batch, latentStart, latentFill, order. */
    static final KernelSpec LATENT_SCATTER = KernelSpec.of(SPARSE, "latent_scatter", PTR, PTR, PTR, I32, PTR, PTR, PTR);
    /** rowPtr, idx, val, batch, src, dIn, groupEnds, groups, slab, wDec, scale, l1, grad. */
    static final KernelSpec ENTRY_GRAD = KernelSpec.of(SPARSE, "entry_grad", PTR, PTR, PTR, I32, PTR, I32, PTR, I32, I64,
            PTR, F32, PTR, PTR);
    /** latentStart, order, entryRow, coef, scale, src, dIn, nLatents, groupEnds, groups, slab, dst, rowActive, biasOut. */
    static final KernelSpec LATENT_ACCUMULATE = KernelSpec.of(SPARSE, "latent_accumulate", PTR, PTR, PTR, PTR, F32, PTR,
            I32, I32, PTR, I32, I64, PTR, PTR, PTR);
    /** f, l1, batch, nLatents, dpre, dBEnc, accumulate (0: overwrite dBEnc, 1: add to it). */
    static final KernelSpec DENSE_BACKWARD_MASK = KernelSpec.of(SPARSE, "dense_backward_mask", PTR, PTR, I32, I32, PTR,
            PTR, I32);
    /** flags, n. */
    static final KernelSpec FILL_FLAGS = KernelSpec.of(SPARSE, "fill_flags", PTR, I32);
    /** pre, threshold, err, wDec, scale, eps, l0Scale, batch, dIn, nLatents, acc (f64). */
    static final KernelSpec JUMP_RELU_THRESHOLD_HITS = KernelSpec.of(SPARSE, "jump_relu_threshold_hits", PTR, PTR, PTR,
            PTR, F32, F32, F32, I32, I32, I32, PTR);
    /** threshold, acc (f64), nLatents, dLogThreshold. */
    static final KernelSpec JUMP_RELU_THRESHOLD_FINISH = KernelSpec.of(SPARSE, "jump_relu_threshold_finish", PTR, PTR,
            I32, PTR);
    /** rowPtr, idx, val, magGrad, gateGrad, auxErr, auxScale, wDec, l1, magScale, bMag, batch, dIn, nLatents, sums. */
    static final KernelSpec GATED_SPARSE_BACKWARD = KernelSpec.of(SPARSE, "gated_sparse_backward", PTR, PTR, PTR, PTR,
            PTR, PTR, F32, PTR, PTR, PTR, PTR, I32, I32, I32, PTR);
    /** sums (f64 [3, nLatents]), nLatents, accumulate, dBGate, dBMag, dRMag. */
    static final KernelSpec GATED_SUMS_FINISH = KernelSpec.of(SPARSE, "gated_sums_finish", PTR, I32, I32, PTR, PTR,
            PTR);
    /** f, scratch, bMag, magScale, batch, nLatents, accumulate, dBMag, dRMag. */
    static final KernelSpec GATED_DENSE_MAG = KernelSpec.of(SPARSE, "gated_dense_mag", PTR, PTR, PTR, PTR, I32, I32, I32,
            PTR, PTR);
    /** gate, scratch, f, l1, batch, nLatents, accumulate, dBGate, dpreSums. */
    static final KernelSpec GATED_DENSE_GATE = KernelSpec.of(SPARSE, "gated_dense_gate", PTR, PTR, PTR, PTR, I32, I32,
            I32, PTR, PTR);

    static final List<KernelSpec> ALL = List.of(
            TOPK_SELECT, TOPK_COUNT_CANDIDATES, COMPACT_COUNT, ROW_PTR_SCAN, COMPACT_FILL, GATED_FILL, GATE_SUMS,
            DENSE_FIRES, RECORD_FIRES, JUMP_RELU_DENSE, GATED_DENSE, BATCH_TOPK_HIST, BATCH_TOPK_SELECT,
            BATCH_TOPK_ROW_COUNTS, BATCH_TOPK_ROW_PTR, BATCH_TOPK_FILL, BATCH_TOPK_MERGE_ROW_COUNTS,
            BATCH_TOPK_MERGE_FILL,
            SPARSE_DECODE, SUM_ROWS_DOUBLE, BROADCAST_ROWS, RESIDUAL_SSE, MATRYOSHKA_DECODE, ENTRY_ROWS, LATENT_COUNT,
            LATENT_START_SCAN, LATENT_SCATTER, ENTRY_GRAD, LATENT_ACCUMULATE, DENSE_BACKWARD_MASK, FILL_FLAGS,
            JUMP_RELU_THRESHOLD_HITS, JUMP_RELU_THRESHOLD_FINISH, GATED_SPARSE_BACKWARD, GATED_SUMS_FINISH,
            GATED_DENSE_MAG, GATED_DENSE_GATE);

    private ActKernels() {
    }
}
