package dev.saetrain.device.arch;

import dev.saetrain.device.FloatBuf;
import dev.saetrain.device.SparseActs;
import dev.saetrain.device.StepShape;

/** The batchtopk selection (also matryoshka's), on the device that hands it out ({@code Device.batchTopkOps()}). */
public interface BatchTopkOps {
    /**
     * BatchTopK activation (Bussmann, Leask and Nanda 2024, "BatchTopK Sparse Autoencoders"): over the whole
     * batch, the r = min(kTotal, P) largest entries of pre among the P entries that are > 0, kept with their
     * value (ReLU'd: entries <= 0 are never kept), into {@code out} as CSR rows in row order, so rows hold
     * variable counts. Ties at the r-th value are broken by row-major position (lower first). Writes the
     * smallest kept value (this batch's threshold; 0 when nothing is kept) into {@code minKept[0]} and returns r.
     * Needs out.capacity() >= kTotal. In: pre [batch, nLatents]; out: minKept [1].
     */
    long batchTopk(FloatBuf pre, StepShape shape, long kTotal, SparseActs out, FloatBuf minKept);

    /**
     * {@link #batchTopk} over a batch given as candidates in consecutive row blocks: {@code blocks[j]} is CSR over
     * the block's rows (row-blocked training: each block's {@code batchTopk} with the same kTotal, which keeps every
     * entry the whole batch's selection can keep). Over the P entries of all blocks that are > 0, the r = min(kTotal,
     * P) largest are kept, into {@code out} as CSR over all the rows (out.batch() = the blocks' rows together), in
     * their blocks' order within each row. Ties at the r-th value are broken by position (block, row, then entry
     * order within the row: lower first), so that from each block's batchTopk of its rows of pre [batch, nLatents]
     * this writes what batchTopk of the whole pre writes: the same r, rows, entries and minKept. Writes the smallest
     * kept value into {@code minKept[0]} (0 when nothing is kept) and returns r. Needs out.capacity() >= kTotal.
     * Out: minKept [1].
     */
    long batchTopkMerge(SparseActs[] blocks, long kTotal, SparseActs out, FloatBuf minKept);
}
