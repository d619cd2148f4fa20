package dev.saetrain.device.arch;

import dev.saetrain.device.FloatBuf;
import dev.saetrain.device.IntBuf;
import dev.saetrain.device.SparseActs;
import dev.saetrain.device.StepShape;

/**
 * The Matryoshka kernels (Bussmann, Nabeshima, Karvonen and Nanda 2025, "Learning Multi-Level Features with
 * Matryoshka Sparse Autoencoders"), on the device that hands them out ({@code Device.matryoshkaOps()}). The
 * selection is batchtopk's ({@link BatchTopkOps}); the encoder's backward is {@code Device.sparseEncoderBackward}.
 */
public interface MatryoshkaOps {
    /**
     * The nested prefixes both ops work over: prefix g is latents [0, groupEnds[g]) for g in [0, groups);
     * groupEnds is strictly increasing and ends at nLatents (the caller's config guarantees it; implementations
     * check it, see {@code GroupEnds}). residSuffix holds the per-group sums of the prefixes' residuals that the
     * decode writes and the backward reads.
     *
     * @param groupEnds   [groups] int32
     * @param groups      number of prefixes
     * @param residSuffix [groups, batch, dIn], group-major
     */
    record Groups(IntBuf groupEnds, int groups, FloatBuf residSuffix) {
    }

    /**
     * Matryoshka decode: the nested reconstructions of the prefixes P_g, built incrementally group by group,
     * <pre>
     *   xHat_g = sum over entries (b, i) with i in P_g of val * wDec[i] + bDec;   err_g = xHat_g - target
     *   residSuffix[g, b] = sum_{j >= g} err_j[b]         (the dL/dxHat a latent of group g collects, up to 2 / B)
     * </pre>
     * for g in [0, groups). Out: xHat, err [batch, dIn] the full reconstruction (g = groups - 1) and its residual;
     * {@code groups.residSuffix()} (slab 0 is the sum of every prefix's residual). Returns sse[g] = sum over the
     * batch of |err_g|^2, accumulated in double.
     */
    double[] matryoshkaDecode(SparseActs acts, FloatBuf wDec, FloatBuf bDec, FloatBuf target, Groups groups,
                              StepShape shape, FloatBuf xHat, FloatBuf err);

    /**
     * Decoder backward of the nested loss sum_g |err_g|^2 through sparse activations: an entry e = (b, i) with i in
     * group q (groupEnds[q-1] <= i < groupEnds[q]) sees g = scale * residSuffix[q, b], the sum of the residuals of
     * every prefix that contains i:
     * acts.grad[e] = g . wDec[i], zeroed where acts.val[e] <= 0; dWDec[i] += sum_b f_bi g for each active latent i.
     * Cost O(|S| dIn), like {@code Device.sparseDecoderBackward}. In: {@code groups.residSuffix()} as written by
     * {@link #matryoshkaDecode}.
     */
    void matryoshkaDecoderBackward(SparseActs acts, Groups groups, float scale, FloatBuf wDec, StepShape shape,
                                   FloatBuf dWDec, IntBuf rowActive);
}
