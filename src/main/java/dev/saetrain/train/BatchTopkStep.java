package dev.saetrain.train;

import dev.saetrain.device.FloatBuf;
import dev.saetrain.device.SparseActs;
import dev.saetrain.model.SaeWeights;

/**
 * The batchtopk step (Bussmann, Leask and Nanda 2024, "BatchTopK Sparse Autoencoders"): the k * B largest
 * pre-activations of the batch ({@link BatchTopkSelection}, which also estimates the inference threshold), then
 * topk's decode, backward and AuxK ({@link TopkStep}); exported as a jumprelu with that threshold for every latent.
 *
 * <p>Row-blocked ({@link SharedParts#rowBlocked()}): the selection encodes and selects block by block (AuxK's
 * dead-latent selection too) into the whole batch's sparse activations; the decode and backward then run over the
 * whole batch as they do unblocked, on [B, d] buffers only.
 */
final class BatchTopkStep implements BatchSelectionStep {
    private final SharedParts s;
    private final SparseActs acts; // k * B entries over the batch
    private final BatchTopkSelection selection;
    private final AuxK auxK;

    BatchTopkStep(Allocator a, SharedParts s, double auxAlpha) {
        this.s = s;
        RowBlocks blocks = s.blocks;
        this.acts = a.sparse(s.batch, (long) s.batch * s.cfg.k());
        this.auxK = new AuxK(a, s, auxAlpha, blocks);
        this.selection = new BatchTopkSelection(a, s, blocks);
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
        selection.load(init);
    }

    @Override
    public Result forwardBackward(FloatBuf x, double coef, float gScale, int dead) {
        long active = selection.rowBlocked() ? selection.selectBlocks(x, auxK, dead, acts)
                : selection.select(s.pre, acts);
        s.lap("select");
        double sse = s.sparseDecodeAndBackward(acts, x, gScale);
        double aux = auxK.thenRecordFires(dead, acts);
        return new Result(active, sse, 0, aux, false);
    }
}
