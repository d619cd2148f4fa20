package dev.saetrain.train;

import dev.saetrain.device.Device;
import dev.saetrain.device.FloatBuf;
import dev.saetrain.device.IntBuf;
import dev.saetrain.device.SparseActs;
import dev.saetrain.device.arch.MatryoshkaOps;
import dev.saetrain.model.SaeConfig;
import dev.saetrain.model.SaeWeights;

/**
 * The Matryoshka step (Bussmann, Nabeshima, Karvonen and Nanda 2025, "Learning Multi-Level Features with Matryoshka
 * Sparse Autoencoders", section 3). Latents are split into consecutive groups ({@link SaeConfig#groups()}); prefix
 * j = latents [0, m_j) with m_j = groups[0] + ... + groups[j], and
 * <pre>
 *   x_hat_j = f[:, 0:m_j] W_dec[0:m_j] + b_dec,    L = sum_j (1/B) sum_b |x_hat_j,b - x_b|^2  (+ AuxK)
 * </pre>
 * The paper's objective sums the prefix losses with no weights; the authors' training code averages them (and
 * adds a b_dec-only term), which under Adam differs mostly by the gradient clip's scale. We follow the paper.
 * f is batchtopk's selection over the whole dictionary ({@link BatchTopkSelection}, with its inference threshold),
 * and AuxK ({@link AuxK}), the unit-norm decoder and the inference form are batchtopk's; AuxK reconstructs the
 * residual of the full dictionary, x - x_hat_last, as in the authors' code. The inner prefixes' terms are reported
 * as the step's sparsity loss.
 *
 * <p>Gradients stay sparse: dL/dx_hat_j = (2/B) err_j, and a latent of group g takes part in every prefix j >= g, so
 * its decoder row and its activation see (2/B) sum_{j >= g} err_j. {@link MatryoshkaOps#matryoshkaDecode} builds the
 * prefixes incrementally and writes those suffix sums ([groups, B, d]); {@link MatryoshkaOps#matryoshkaDecoderBackward}
 * reads one suffix row per active entry: O(|S| d + groups B d), no dense [B, m] product. b_dec is in every prefix, so
 * its gradient is the column sum of the first slab, sum_j err_j ({@link #decoderResidual}).
 *
 * <p>Row-blocked ({@link SharedParts#rowBlocked()}): batchtopk's selection encodes and selects block by block
 * ({@link BatchTopkSelection#selectBlocks}, AuxK's dead-latent selection too) into the whole batch's sparse
 * activations; the nested decode and its backward read only those and [B, d] buffers (the suffix sums are
 * [groups, B, d]), so they run over the whole batch as they do unblocked.
 */
final class MatryoshkaStep implements BatchSelectionStep {
    private final SharedParts s;
    private final Device dev;
    private final SparseActs acts; // k * B entries over the batch
    private final BatchTopkSelection selection;
    private final AuxK auxK;
    private final int groups;
    private final IntBuf groupEnds;     // [groups] int32, m_j
    private final FloatBuf residSuffix; // [groups, B, d]: slab g = sum_{j >= g} err_j
    private final MatryoshkaOps.Groups nested; // the three above, as the kernels take them

    MatryoshkaStep(Allocator a, SharedParts s, double auxAlpha) {
        this.s = s;
        this.dev = s.dev;
        RowBlocks blocks = s.blocks;
        this.acts = a.sparse(s.batch, (long) s.batch * s.cfg.k());
        this.auxK = new AuxK(a, s, auxAlpha, blocks);
        this.selection = new BatchTopkSelection(a, s, blocks);
        this.groups = s.cfg.groupEnds().length;
        this.groupEnds = a.ints(groups);
        this.residSuffix = a.floats(Math.multiplyExact((long) groups * s.batch, s.d));
        this.nested = new MatryoshkaOps.Groups(groupEnds, groups, residSuffix);
    }

    @Override
    public BatchTopkSelection selection() {
        return selection;
    }

    @Override
    public SharedParts shared() {
        return s;
    }

    @Override
    public void load(SaeWeights init) {
        dev.uploadInt(s.cfg.groupEnds(), 0, groupEnds, 0, groups);
        selection.load(init);
    }

    @Override
    public Result forwardBackward(FloatBuf x, double coef, float gScale, int dead) {
        long active = selection.rowBlocked() ? selection.selectBlocks(x, auxK, dead, acts)
                : selection.select(s.pre, acts);
        s.lap("select");
        MatryoshkaOps ops = dev.matryoshkaOps();
        double[] sse = ops.matryoshkaDecode(acts, s.wDec.param, s.bDec.param, x, nested, s.shape, s.xHat, s.err);
        ops.matryoshkaDecoderBackward(acts, nested, gScale, s.wDec.param, s.shape, s.wDec.grad, s.decActive);
        dev.sparseEncoderBackward(acts, s.xIn, s.shape, s.wEnc.grad, s.bEnc.grad, s.encActive);
        double inner = 0;
        for (int g = 0; g < groups - 1; g++) {
            inner += sse[g] / s.batch;
        }
        s.lap("backward");
        double aux = auxK.thenRecordFires(dead, acts);
        return new Result(active, sse[groups - 1], inner, aux, false);
    }

    /** [B, d] (the first slab of the suffix sums): the sum over prefixes of their residuals. */
    @Override
    public FloatBuf decoderResidual(SharedParts shared) {
        return residSuffix;
    }
}
