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
    private final RowBlocks blocks;       // null unless row-blocked
    private final FloatBuf blockGrad;     // [m] row-blocked: a later block's log_threshold gradient; null whole

    JumpReluStep(Allocator a, SharedParts s) {
        this.s = s;
        this.dev = s.dev;
        this.m = s.m;
        this.eps = (float) s.cfg.jumpReluBandwidth();
        this.logThreshold = a.parameter(1, m);
        this.threshold = a.floats(m);
        this.sparseBelow = s.sparseSwitch.jumpRelu();
        this.blocks = s.rowBlocked() ? new RowBlocks(s.batch, s.preRows, s.d, s.m) : null;
        // Row-blocked: one block's sparse activations, holding at least one whole row (see ReluStep).
        this.acts = blocks == null ? a.sparse(s.batch, ArchitectureStep.sparseCapacity(s.batch, m, sparseBelow))
                : a.sparse(s.preRows, Math.max(m, ArchitectureStep.sparseCapacity(s.preRows, m, sparseBelow)));
        this.f = a.floatsLater((long) s.preRows * m);
        this.blockGrad = blocks == null ? null : a.floats(m);
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
        if (blocks != null) {
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
        long active = 0;
        double sse = 0;
        for (int j = 0; j < blocks.count(); j++) {
            int first = blocks.first(j);
            int rows = blocks.rows(j);
            StepShape shape = blocks.shape(j);
            FloatBuf xIn = RowBlocks.rows(dev, s.xIn, first, rows, s.d);
            FloatBuf xRows = RowBlocks.rows(dev, x, first, rows, s.d);
            s.encodeBlock(xRows, shape, xIn);
            if (dense) {
                FloatBuf fd = f.get();
                active += ops.jumpReluDense(s.pre, threshold, shape, fd);
                dev.recordFiresDense(fd, shape, s.fireCounts, s.lastFired, s.step, null);
                FloatBuf err = RowBlocks.rows(dev, s.err, first, rows, s.d);
                sse += dev.denseDecode(fd, s.wDec.param, s.bDec.param, xRows, shape,
                        RowBlocks.rows(dev, s.xHat, first, rows, s.d), err);
                thresholdBackward(s.pre, err, gScale, l0Scale, shape, j == 0);
                // pre is not read again for this block: it becomes the scratch for dL/dpre. The first block
                // overwrites the gradients (and sets every flag), the later ones add.
                dev.denseBackward(fd, err, gScale, s.wDec.param, null, xIn, shape, s.pre, s.grads, j > 0);
            } else {
                Part p = sparseRows(x, first, 0, rows, gScale, l0Scale, j == 0);
                active += p.active();
                sse += p.sse();
            }
            s.lap("jumprelu");
        }
        s.lastDensity = active / ((double) s.batch * m);
        return new Result(active, sse, lambda * active / s.batch, 0, dense);
    }

    /**
     * The sparse path over rows [first, first + rows) of the batch, held in rows [preRow, preRow + rows) of pre;
     * halves the rows when their firing pairs overflow the sparse activations. {@code firstRows}: these are the
     * batch's first rows (their threshold gradient overwrites log_threshold's). Returns their firing pairs and sum
     * of squared residuals.
     */
    private Part sparseRows(FloatBuf x, int first, int preRow, int rows, float gScale, float l0Scale,
                            boolean firstRows) {
        JumpReluOps ops = dev.jumpReluOps();
        StepShape shape = new StepShape(rows, s.d, m);
        SparseActs a = RowBlocks.firstRows(acts, rows);
        FloatBuf pre = RowBlocks.rows(dev, s.pre, preRow, rows, m);
        long nnz = ops.jumpReluSparse(pre, threshold, shape, a);
        if (nnz < 0) {
            if (rows == 1) {
                throw new IllegalStateException("one row's firing pairs overflow " + acts.capacity() + " entries");
            }
            int half = rows / 2;
            Part lo = sparseRows(x, first, preRow, half, gScale, l0Scale, firstRows);
            Part hi = sparseRows(x, first + half, preRow + half, rows - half, gScale, l0Scale, false);
            return new Part(lo.active() + hi.active(), lo.sse() + hi.sse());
        }
        dev.recordFires(a, m, s.fireCounts, s.lastFired, s.step, null);
        FloatBuf err = RowBlocks.rows(dev, s.err, first, rows, s.d);
        double sse = dev.sparseDecode(a, s.wDec.param, s.bDec.param, RowBlocks.rows(dev, x, first, rows, s.d), shape,
                RowBlocks.rows(dev, s.xHat, first, rows, s.d), err);
        thresholdBackward(pre, err, gScale, l0Scale, shape, firstRows);
        dev.sparseDecoderBackward(a, err, gScale, s.wDec.param, null, shape, s.wDec.grad, s.decActive);
        dev.sparseEncoderBackward(a, RowBlocks.rows(dev, s.xIn, first, rows, s.d), shape, s.wEnc.grad, s.bEnc.grad,
                s.encActive);
        return new Part(nnz, sse);
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

    /** Firing pairs and sum of squared residuals of some rows of the batch. */
    private record Part(long active, double sse) {
    }
}
