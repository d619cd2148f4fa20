package dev.saetrain.train;

import dev.saetrain.device.FloatBuf;
import dev.saetrain.device.SparseActs;
import dev.saetrain.model.SaeWeights;

/**
 * The batchtopk step (Bussmann, Leask and Nanda 2024, "BatchTopK Sparse Autoencoders"): the k * B largest
 * pre-activations of the batch ({@link BatchTopkSelection}, which also estimates the inference threshold), then
 * topk's decode, backward and AuxK ({@link TopkStep}); exported as a jumprelu with that threshold for every latent.
 */
final class BatchTopkStep implements BatchSelectionStep {
    private final SharedParts s;
    private final SparseActs acts; // k * B entries over the batch
    private final BatchTopkSelection selection;
    private final AuxK auxK;

    BatchTopkStep(Allocator a, SharedParts s, double auxAlpha) {
        this.s = s;
        this.acts = a.sparse(s.batch, (long) s.batch * s.cfg.k());
        this.auxK = new AuxK(a, s, auxAlpha);
        this.selection = new BatchTopkSelection(a, s.cfg, s.shape);
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
        long active = selection.select(s.pre, acts);
        s.lap("select");
        double sse = s.sparseDecodeAndBackward(acts, x, gScale);
        double aux = auxK.thenRecordFires(dead, acts);
        return new Result(active, sse, 0, aux, false);
    }
}
