package dev.saetrain.train;

import dev.saetrain.device.Device;
import dev.saetrain.device.FloatBuf;
import dev.saetrain.device.SaeGrads;
import dev.saetrain.device.SparseActs;
import dev.saetrain.device.StepShape;
import java.util.Map;

/**
 * The relu and relu-2023 steps, f = relu(pre):
 * <pre>
 *   relu:      loss = mse + lambda * mean_b sum_i f_i |W_dec,i|   (Anthropic, April 2024 update)
 *   relu-2023: loss = mse + lambda * mean_b sum_i f_i, unit-norm decoder rows, dead latents resampled
 *              ({@link Resampler}; Bricken et al. 2023, "Towards Monosemanticity")
 * </pre>
 * About half the latents fire at initialisation, so the step uses dense products until the measured density falls below
 * the device's {@link dev.saetrain.device.SparseSwitch#relu()}, then sparse ones. Tied (relu only; Cunningham et al.
 * 2023): the sparse path adds the encoder-path gradient into W_dec's directly; the dense backward overwrites both
 * gradients, so its encoder part goes to a scratch [m, d] first and is added after.
 *
 * <p>Row-blocked ({@link SharedParts#rowBlocked()}): the step encodes one block of rows at a time into the
 * [preRows, m] pre-activations and finishes that block before the next: dense, relu in place, decode and backward
 * (the first block overwrites the gradients, the later ones add: denseBackward's {@code accumulate}); sparse,
 * compaction into one block's sparse activations, decode and sparse backward (which adds). The dense/sparse choice
 * stays one per step. The per-latent activation sums add up over the blocks. A block whose firing pairs overflow
 * the sparse activations is split in halves, down to single rows (the buffer holds at least one whole row), where
 * the whole batch would turn dense: the same step, summed in another order.
 */
final class ReluStep implements ArchitectureStep {
    private final SharedParts s;
    private final Device dev;
    private final boolean plainL1;
    private final double sparseBelow; // density of firing pairs below which the step goes sparse
    private final SparseActs acts;      // whole: the batch's; row-blocked: one block's (at least one whole row)
    private final FloatBuf decNorms;    // [m]
    private final FloatBuf l1PerLatent; // [m]
    private final FloatBuf actSums;     // [m]
    private final Allocator.Later dpre;        // [preRows, m] dL/dpre of the dense path
    private final Allocator.Later tiedEncGrad; // [m, d] tied dense path: the encoder's gradient; null untied
    private final Allocator.Later ones;        // [m] 1s, to add tiedEncGrad's rows; null untied
    private final Resampler resampler;         // null: no resampling
    private final FloatBuf blockSums;          // [m] row-blocked: a later block's activation sums; null whole

    /**
     * @param plainL1    relu-2023's plain L1 (no decoder norm in the penalty)
     * @param resampling relu-2023's dead-latent resampling; null: none
     */
    ReluStep(Allocator a, SharedParts s, boolean plainL1, Resampler.Plan resampling) {
        this.s = s;
        this.dev = s.dev;
        this.plainL1 = plainL1;
        this.sparseBelow = s.sparseSwitch.relu();
        this.acts = !s.rowBlocked() ? a.sparse(s.batch, ArchitectureStep.sparseCapacity(s.batch, s.m, sparseBelow))
                : a.sparse(s.preRows, Math.max(s.m, ArchitectureStep.sparseCapacity(s.preRows, s.m, sparseBelow)));
        this.decNorms = a.floats(s.m);
        this.l1PerLatent = a.floats(s.m);
        this.actSums = a.floats(s.m);
        this.dpre = a.floatsLater((long) s.preRows * s.m);
        this.tiedEncGrad = s.cfg.tied() ? a.floatsLater((long) s.m * s.d) : null;
        this.ones = s.cfg.tied() ? a.floatsLater(s.m) : null;
        this.resampler = resampling == null ? null : new Resampler(a, resampling, s.batch, s.d, s.m);
        this.blockSums = s.rowBlocked() ? a.floats(s.m) : null;
    }

    @Override
    public Result forwardBackward(FloatBuf x, double l1, float gScale, int dead) {
        int batch = s.batch;
        int d = s.d;
        int m = s.m;
        // relu-2023 (Towards Monosemanticity): plain L1, lambda / B per unit of activation; relu (April 2024):
        // L1 times the decoder row norm.
        if (plainL1) {
            dev.fill(l1PerLatent, m, (float) (l1 / batch));
        } else {
            dev.rowNorms(s.wDec.param, m, d, decNorms);
            dev.scaleInto(decNorms, l1PerLatent, m, (float) (l1 / batch));
        }
        if (s.rowBlocked()) {
            return forwardBackwardBlocks(x, l1, gScale);
        }
        long nnz = s.lastDensity < sparseBelow ? dev.reluSparse(s.pre, s.shape, acts) : -1;
        long active;
        boolean dense = false;
        double sse;
        if (nnz >= 0) {
            active = nnz;
            dev.recordFires(acts, m, s.fireCounts, s.lastFired, s.step, actSums);
            s.lap("select");
            sse = dev.sparseDecode(acts, s.wDec.param, s.bDec.param, x, s.shape, s.xHat, s.err);
            s.lap("decode");
            dev.sparseBackward(acts, s.err, gScale, s.wDec.param, l1PerLatent, s.xIn, s.shape, s.grads);
        } else {
            dense = true;
            allocateDense();
            active = dev.reluDenseFires(s.pre, s.shape, s.fireCounts, s.lastFired, s.step, actSums);
            s.lap("select");
            sse = dev.denseDecode(s.pre, s.wDec.param, s.bDec.param, x, s.shape, s.xHat, s.err);
            s.lap("decode");
            if (s.cfg.tied()) {
                // denseBackward overwrites both gradients: the encoder's goes to a scratch, then adds in.
                dev.denseBackward(s.pre, s.err, gScale, s.wDec.param, l1PerLatent, s.xIn, s.shape, dpre.get(),
                        new SaeGrads(tiedEncGrad.get(), s.decActive, s.bEnc.grad, s.wDec.grad, s.decActive));
                dev.addScaledRows(tiedEncGrad.get(), ones.get(), m, d, s.wDec.grad, s.decActive);
            } else {
                dev.denseBackward(s.pre, s.err, gScale, s.wDec.param, l1PerLatent, s.xIn, s.shape, dpre.get(), s.grads);
            }
        }
        return finish(active, sse, dense, l1);
    }

    /** The dense path's scratch, on its first use (a run that starts sparse never allocates it). */
    private void allocateDense() {
        if (!dpre.allocated()) {
            dpre.get();
            if (s.cfg.tied()) {
                tiedEncGrad.get();
                dev.fill(ones.get(), s.m, 1f);
            }
        }
    }

    /**
     * After the forward and backward of the whole batch (actSums holding its activation sums): the density for the
     * next step's switch, the sparsity term and, for relu, its decoder-norm gradient.
     */
    private Result finish(long active, double sse, boolean dense, double l1) {
        int m = s.m;
        s.lastDensity = active / ((double) s.batch * m);
        // sparsity = (lambda / B) sum_i |W_dec,i| sum_b f_bi; its decoder gradient is
        // (lambda / B) (sum_b f_bi) W_dec,i / |W_dec,i|, put in l1PerLatent's place as a per-row coefficient.
        double sparsity = dev.dot(actSums, l1PerLatent, m);
        if (!plainL1) {
            dev.l1DecoderCoefficients(actSums, decNorms, (float) (l1 / s.batch), m, decNorms);
            dev.addScaledRows(s.wDec.param, decNorms, m, s.d, s.wDec.grad, s.decActive);
        }
        s.lap("backward");
        return new Result(active, sse, sparsity, 0, dense);
    }

    /** The step row-blocked: each block encoded, activated, decoded and backpropagated before the next. */
    private Result forwardBackwardBlocks(FloatBuf x, double l1, float gScale) {
        boolean dense = !(s.lastDensity < sparseBelow);
        if (dense) {
            allocateDense();
        }
        // Tied, the dense backward's encoder part goes to its scratch (see the class comment).
        SaeGrads denseGrads = dense && s.cfg.tied()
                ? new SaeGrads(tiedEncGrad.get(), s.decActive, s.bEnc.grad, s.wDec.grad, s.decActive) : s.grads;
        RowBlocks blocks = s.blocks;
        RowBlocks.Views v = s.blockViews();
        FloatBuf[] xRows = blocks.views(dev, x, s.d);
        RowBlocks.SparseRows sparse = sparsePath(x, gScale);
        long active = 0;
        double sse = 0;
        for (int j = 0; j < blocks.count(); j++) {
            StepShape shape = blocks.shape(j);
            s.encodeBlock(j, xRows);
            if (dense) {
                active += dev.reluDenseFires(s.pre, shape, s.fireCounts, s.lastFired, s.step, sums(j == 0));
                addSums(j == 0);
                s.lap("select");
                sse += dev.denseDecode(s.pre, s.wDec.param, s.bDec.param, xRows[j], shape, v.xHat()[j], v.err()[j]);
                s.lap("decode");
                // The first block overwrites the gradients (and sets every flag), the later ones add.
                dev.denseBackward(s.pre, v.err()[j], gScale, s.wDec.param, l1PerLatent, v.xIn()[j], shape, dpre.get(),
                        denseGrads, j > 0);
                s.lap("backward");
            } else {
                RowBlocks.Part p = RowBlocks.sparseInHalves(s, acts, blocks.first(j), 0, blocks.rows(j), j == 0, sparse);
                active += p.active();
                sse += p.sse();
            }
        }
        if (dense && s.cfg.tied()) {
            dev.addScaledRows(tiedEncGrad.get(), ones.get(), s.m, s.d, s.wDec.grad, s.decActive);
        }
        return finish(active, sse, dense, l1);
    }

    /**
     * The sparse path over some rows of the batch: compaction, firing record (their activation sums into actSums,
     * through blockSums past the batch's first rows), decode and sparse backward (which adds into the gradients).
     */
    private RowBlocks.SparseRows sparsePath(FloatBuf x, float gScale) {
        return new RowBlocks.SparseRows() {
            @Override
            public long compact(FloatBuf pre, StepShape shape, SparseActs a) {
                return dev.reluSparse(pre, shape, a);
            }

            @Override
            public double finish(SparseActs a, FloatBuf pre, StepShape shape, int first, boolean firstRows) {
                int rows = shape.batch();
                dev.recordFires(a, s.m, s.fireCounts, s.lastFired, s.step, sums(firstRows));
                addSums(firstRows);
                s.lap("select");
                FloatBuf err = s.rows(s.err, first, rows);
                double sse = dev.sparseDecode(a, s.wDec.param, s.bDec.param, s.rows(x, first, rows), shape,
                        s.rows(s.xHat, first, rows), err);
                s.lap("decode");
                dev.sparseBackward(a, err, gScale, s.wDec.param, l1PerLatent, s.rows(s.xIn, first, rows), shape,
                        s.grads);
                s.lap("backward");
                return sse;
            }
        };
    }

    /** Where a block's activation sums go: actSums for the batch's first rows, blockSums for the later ones. */
    private FloatBuf sums(boolean firstRows) {
        return firstRows ? actSums : blockSums;
    }

    /** Adds a later block's activation sums into actSums (the first block's are there already). */
    private void addSums(boolean firstRows) {
        if (!firstRows) {
            dev.addColumnSums(blockSums, 1, s.m, 1f, actSums); // actSums += blockSums
        }
    }

    @Override
    public void afterUpdate(FloatBuf x) {
        if (resampler != null && resampler.due(s.step)) {
            resampler.resample(s.step, x, s.err, s.lastFired, s.wEnc, s.bEnc, s.wDec, s.bDec.param, decNorms);
            s.lap("resample");
        }
    }

    @Override
    public void addStateInts(Map<String, int[]> ints) {
        if (resampler != null) {
            ints.put(Resampler.STATE_KEY, resampler.state());
        }
    }

    @Override
    public void restoreState(EngineState state) {
        if (resampler != null) {
            resampler.restore(state.requireInts(Resampler.STATE_KEY, 3, s));
        }
    }
}
