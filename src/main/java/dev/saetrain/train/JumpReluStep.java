package dev.saetrain.train;

import dev.saetrain.device.Device;
import dev.saetrain.device.FloatBuf;
import dev.saetrain.device.SparseActs;
import dev.saetrain.device.StepShape;
import dev.saetrain.device.arch.JumpReluOps;
import dev.saetrain.model.SaeConfig;
import dev.saetrain.model.SaeWeights;
import java.util.Map;

/**
 * The JumpReLU forward and backward of a training step (Rajamanoharan et al. 2024, "Jumping Ahead: Improving
 * Reconstruction Fidelity with JumpReLU Sparse Autoencoders"; Gemma Scope, Lieberum et al. 2024):
 * <pre>
 *   theta = exp(log_threshold) [m], a trained parameter (Adam, like the weights)
 *   f     = pre * H(pre - theta)
 *   loss  = mse + lambda * mean_b sum_i H(pre_bi - theta_i)
 * </pre>
 * H has no useful derivative, so the threshold gets the paper's straight-through pseudo-derivatives with the
 * rectangle kernel K(u) = 1[|u| < 1/2] and bandwidth eps ({@link SaeConfig#jumpReluBandwidth()}):
 * d f / d theta = -(theta / eps) K((pre - theta) / eps) and d H / d theta = -(1 / eps) K((pre - theta) / eps),
 * taken through log theta (times theta). pre gets the true derivative of f where f is active (no STE on pre),
 * and none from the L0 term. The L0 coefficient warms up like relu's lambda (the schedule's).
 *
 * <p>As with relu, about half the latents fire at initialisation (theta starts small), so the step uses dense
 * products until the measured density falls below the device's {@link dev.saetrain.device.SparseSwitch#jumpRelu()},
 * then sparse ones. The dense path
 * keeps pre intact (the threshold gradient reads it) by writing f into a dense scratch; pre then serves as the
 * dense backward's scratch, so the path needs no more memory than relu's.
 *
 * <p>Row-blocked ({@link SharedParts#rowBlocked()}): as relu's ({@link ReluStep}), one block of rows at a time,
 * each encoded into the [preRows, m] pre-activations and finished (activation, decode, threshold gradient while the
 * block's pre-activations exist, backward) before the next; f is [preRows, m]. The first block overwrites the
 * gradients, the later ones add (the threshold's through a [m] scratch).
 */
final class JumpReluStep implements ArchitectureStep {
    private final SharedParts s;
    private final Device dev;
    private final int m;
    private final float eps;
    private final double sparseBelow; // density of firing pairs below which the step goes sparse
    private final SparseActs acts;
    private final AdamState logThreshold; // [1, m]
    private final FloatBuf threshold;     // [m] exp(logThreshold), refreshed at each step
    private final Allocator.Later f;      // [preRows, m] f of the dense path
    private final FloatBuf blockGrad;     // [m] row-blocked: a later block's log_threshold gradient; null whole

    JumpReluStep(Allocator a, SharedParts s) {
        this.s = s;
        this.dev = s.dev;
        this.m = s.m;
        this.eps = (float) s.cfg.jumpReluBandwidth();
        this.logThreshold = a.parameter(1, m);
        this.threshold = a.floats(m);
        this.sparseBelow = s.sparseSwitch.jumpRelu();
        // Row-blocked: one block's sparse activations, holding at least one whole row (see ReluStep).
        this.acts = !s.rowBlocked() ? a.sparse(s.batch, ArchitectureStep.sparseCapacity(s.batch, m, sparseBelow))
                : a.sparse(s.preRows, Math.max(m, ArchitectureStep.sparseCapacity(s.preRows, m, sparseBelow)));
        this.f = a.floatsLater((long) s.preRows * m);
        this.blockGrad = s.rowBlocked() ? a.floats(m) : null;
    }

    /** Loads theta [nLatents] ({@code threshold}, each > 0) as log_threshold. */
    @Override
    public void load(SaeWeights init) {
        float[] initThreshold = init.extras().get("threshold");
        if (initThreshold == null || initThreshold.length != m) {
            throw new IllegalArgumentException("jumprelu needs a threshold per latent (" + m + "), got "
                    + (initThreshold == null ? "none" : initThreshold.length));
        }
        float[] log = new float[m];
        for (int i = 0; i < m; i++) {
            if (!(initThreshold[i] > 0) || Float.isInfinite(initThreshold[i])) {
                throw new IllegalArgumentException("jumprelu threshold of latent " + i + " must be a finite number > 0, got "
                        + initThreshold[i]);
            }
            log[i] = (float) Math.log(initThreshold[i]);
        }
        dev.upload(log, 0, logThreshold.param, 0, m);
    }

    @Override
    public Map<String, AdamState> parameters() {
        return Map.of("log_threshold", logThreshold);
    }

    /** log_threshold takes the threshold LR ({@link Schedule#thresholdLrAt}). */
    @Override
    public boolean isThreshold(String name) {
        return name.equals("log_threshold");
    }

    /** theta = exp(log_threshold), downloaded (what the export writes). */
    @Override
    public void addExportTensors(Map<String, float[]> extras) {
        dev.expInto(logThreshold.param, threshold, m);
        float[] h = new float[m];
        dev.download(threshold, 0, h, 0, m);
        extras.put("threshold", h);
    }

    /** Fills the gradients of W_enc, b_enc, W_dec (mse path) and log_threshold; lambda is the L0 coefficient. */
    @Override
    public Result forwardBackward(FloatBuf x, double lambda, float gScale, int dead) {
        int batch = s.batch;
        JumpReluOps ops = dev.jumpReluOps();
        dev.expInto(logThreshold.param, threshold, m);
        float l0Scale = (float) (lambda / batch);
        if (s.rowBlocked()) {
            return forwardBackwardBlocks(x, lambda, gScale, l0Scale);
        }
        long nnz = s.lastDensity < sparseBelow ? ops.jumpReluSparse(s.pre, threshold, s.shape, acts) : -1;
        long active;
        double sse;
        if (nnz >= 0) {
            active = nnz;
            dev.recordFires(acts, m, s.fireCounts, s.lastFired, s.step, null);
            sse = dev.sparseDecode(acts, s.wDec.param, s.bDec.param, x, s.shape, s.xHat, s.err);
            ops.jumpReluThresholdBackward(s.pre, threshold, s.err, gScale, s.wDec.param, eps, l0Scale, s.shape,
                    logThreshold.grad);
            dev.sparseDecoderBackward(acts, s.err, gScale, s.wDec.param, null, s.shape, s.wDec.grad, s.decActive);
            dev.sparseEncoderBackward(acts, s.xIn, s.shape, s.wEnc.grad, s.bEnc.grad, s.encActive);
        } else {
            FloatBuf fd = f.get();
            active = ops.jumpReluDense(s.pre, threshold, s.shape, fd);
            dev.recordFiresDense(fd, s.shape, s.fireCounts, s.lastFired, s.step, null);
            sse = dev.denseDecode(fd, s.wDec.param, s.bDec.param, x, s.shape, s.xHat, s.err);
            ops.jumpReluThresholdBackward(s.pre, threshold, s.err, gScale, s.wDec.param, eps, l0Scale, s.shape,
                    logThreshold.grad);
            // pre is not read again this step: it becomes the scratch for dL/dpre.
            dev.denseBackward(fd, s.err, gScale, s.wDec.param, null, s.xIn, s.shape, s.pre, s.grads);
        }
        s.lastDensity = active / ((double) batch * m);
        s.lap("jumprelu");
        return new Result(active, sse, lambda * active / batch, 0, nnz < 0);
    }

    /** The step row-blocked: each block encoded, activated, decoded and backpropagated before the next. */
    private Result forwardBackwardBlocks(FloatBuf x, double lambda, float gScale, float l0Scale) {
        JumpReluOps ops = dev.jumpReluOps();
        boolean dense = !(s.lastDensity < sparseBelow);
        RowBlocks blocks = s.blocks;
        RowBlocks.Views v = s.blockViews();
        FloatBuf[] xRows = blocks.views(dev, x, s.d);
        RowBlocks.SparseRows sparse = sparsePath(x, gScale, l0Scale);
        long active = 0;
        double sse = 0;
        for (int j = 0; j < blocks.count(); j++) {
            StepShape shape = blocks.shape(j);
            s.encodeBlock(j, xRows);
            if (dense) {
                FloatBuf fd = f.get();
                active += ops.jumpReluDense(s.pre, threshold, shape, fd);
                dev.recordFiresDense(fd, shape, s.fireCounts, s.lastFired, s.step, null);
                sse += dev.denseDecode(fd, s.wDec.param, s.bDec.param, xRows[j], shape, v.xHat()[j], v.err()[j]);
                thresholdBackward(s.pre, v.err()[j], gScale, l0Scale, shape, j == 0);
                // pre is not read again for this block: it becomes the scratch for dL/dpre. The first block
                // overwrites the gradients (and sets every flag), the later ones add.
                dev.denseBackward(fd, v.err()[j], gScale, s.wDec.param, null, v.xIn()[j], shape, s.pre, s.grads, j > 0);
            } else {
                RowBlocks.Part p = RowBlocks.sparseInHalves(s, acts, blocks.first(j), 0, blocks.rows(j), j == 0, sparse);
                active += p.active();
                sse += p.sse();
            }
            s.lap("jumprelu");
        }
        s.lastDensity = active / ((double) s.batch * m);
        return new Result(active, sse, lambda * active / s.batch, 0, dense);
    }

    /**
     * The sparse path over some rows of the batch: compaction, firing record, decode, the threshold's gradient
     * (overwritten by the batch's first rows, added by the later ones) and the sparse backward (which adds).
     */
    private RowBlocks.SparseRows sparsePath(FloatBuf x, float gScale, float l0Scale) {
        return new RowBlocks.SparseRows() {
            @Override
            public long compact(FloatBuf pre, StepShape shape, SparseActs a) {
                return dev.jumpReluOps().jumpReluSparse(pre, threshold, shape, a);
            }

            @Override
            public double finish(SparseActs a, FloatBuf pre, StepShape shape, int first, boolean firstRows) {
                int rows = shape.batch();
                dev.recordFires(a, m, s.fireCounts, s.lastFired, s.step, null);
                FloatBuf err = s.rows(s.err, first, rows);
                double sse = dev.sparseDecode(a, s.wDec.param, s.bDec.param, s.rows(x, first, rows), shape,
                        s.rows(s.xHat, first, rows), err);
                thresholdBackward(pre, err, gScale, l0Scale, shape, firstRows);
                dev.sparseDecoderBackward(a, err, gScale, s.wDec.param, null, shape, s.wDec.grad, s.decActive);
                dev.sparseEncoderBackward(a, s.rows(s.xIn, first, rows), shape, s.wEnc.grad, s.bEnc.grad,
                        s.encActive);
                return sse;
            }
        };
    }

    /**
     * log_threshold's gradient from some rows of the batch: overwritten by the batch's first rows, added by the
     * later ones (the op overwrites, so they go through blockGrad).
     */
    private void thresholdBackward(FloatBuf pre, FloatBuf err, float gScale, float l0Scale, StepShape shape,
                                   boolean firstRows) {
        dev.jumpReluOps().jumpReluThresholdBackward(pre, threshold, err, gScale, s.wDec.param, eps, l0Scale, shape,
                firstRows ? logThreshold.grad : blockGrad);
        if (!firstRows) {
            dev.addColumnSums(blockGrad, 1, m, 1f, logThreshold.grad); // the gradient += blockGrad
        }
    }
}
