package dev.saetrain.train;

import dev.saetrain.device.Device;
import dev.saetrain.device.FloatBuf;
import dev.saetrain.device.SparseActs;
import dev.saetrain.device.StepShape;

/**
 * The topk step (Gao et al. 2024, "Scaling and evaluating sparse autoencoders"): the k largest pre-activations of
 * each row, ReLU'd; loss = mse + AuxK on dead latents ({@link AuxK}); unit-norm decoder rows (the engine projects
 * and renormalises, {@link dev.saetrain.model.SaeConfig#unitNormDecoder()}). Tied (Cunningham et al. 2023): the
 * encoder-path gradient goes into W_dec's ({@link SharedParts#encGrad()}).
 *
 * <p>Row-blocked ({@link SharedParts#rowBlocked()}): a row's selection reads that row alone, so the step encodes
 * and selects one block of rows at a time into the [preRows, m] pre-activations (AuxK's dead-latent selection too,
 * while the block's pre-activations exist), then decodes and backpropagates block by block; the backward ops add
 * into the shared gradients, so the step computes what the whole batch at once does.
 */
final class TopkStep implements ArchitectureStep {
    private final SharedParts s;
    private final Device dev;
    private final SparseActs acts; // k entries per row; null when row-blocked
    private final AuxK auxK;
    private final StepShape picks; // the B * k picks as one row of a dense matrix: what countActive's reluDense reads
    private final RowBlocks blocks; // null unless row-blocked
    private final SparseActs[] blockActs; // row-blocked: block j's k entries per row

    TopkStep(Allocator a, SharedParts s, double auxAlpha) {
        this.s = s;
        this.dev = s.dev;
        this.blocks = s.blocks;
        this.acts = blocks == null ? a.sparse(s.batch, (long) s.batch * s.cfg.k()) : null;
        this.blockActs = blocks == null ? null : blocks.sparse(a, s.cfg.k());
        this.auxK = new AuxK(a, s, auxAlpha, blocks);
        this.picks = new StepShape(1, s.d, s.batch * s.cfg.k());
    }

    @Override
    public Result forwardBackward(FloatBuf x, double coef, float gScale, int dead) {
        if (blocks != null) {
            return forwardBackwardBlocks(x, gScale, dead);
        }
        dev.topk(s.pre, s.shape, s.cfg.k(), null, 0, acts);
        long active = countActive(acts, picks);
        s.lap("select");
        double sse = s.sparseDecodeAndBackward(acts, x, gScale);
        double aux = auxK.thenRecordFires(dead, acts);
        return new Result(active, sse, 0, aux, false);
    }

    private Result forwardBackwardBlocks(FloatBuf x, float gScale, int dead) {
        RowBlocks.Views v = s.blockViews();
        FloatBuf[] xRows = blocks.views(dev, x, s.d);
        int k = s.cfg.k();
        long active = 0;
        for (int j = 0; j < blocks.count(); j++) {
            StepShape shape = blocks.shape(j);
            s.encodeBlock(j, xRows);
            dev.topk(s.pre, shape, k, null, 0, blockActs[j]);
            auxK.selectBlock(j, shape, dead);
            active += countActive(blockActs[j], new StepShape(1, s.d, blocks.rows(j) * k));
            s.lap("select");
        }
        double sse = 0;
        for (int j = 0; j < blocks.count(); j++) {
            sse += s.sparseDecodeAndBackward(blockActs[j], blocks.shape(j), xRows[j], v.xIn()[j], v.xHat()[j],
                    v.err()[j], gScale);
        }
        double aux = auxK.thenRecordFiresBlocks(dead, blockActs);
        return new Result(active, sse, 0, aux, false);
    }

    /**
     * The picks with value > 0 (a pick whose pre-activation was <= 0 holds 0 and does not count toward L0), counted
     * on the device: the picks are ReLU'd already, so reluDense over them changes nothing and returns that count
     * (one word back, not batch * k values).
     */
    private long countActive(SparseActs a, StepShape asRow) {
        return dev.reluDense(a.val(), asRow);
    }
}
