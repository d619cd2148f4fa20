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
}
