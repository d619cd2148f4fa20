package dev.saetrain.train;

import dev.saetrain.device.Device;
import dev.saetrain.device.FloatBuf;
import dev.saetrain.model.SaeConfig;

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
 * products until the measured density falls below {@link Engine#SPARSE_DENSITY}, then sparse ones. The dense
 * path keeps pre intact (the threshold gradient reads it) by writing f into the engine's dense scratch; pre
 * then serves as the dense backward's scratch, so the path needs no more memory than relu's.
 */
final class JumpReluStep implements AutoCloseable {
    final AdamState logThreshold; // [1, m]
    final FloatBuf threshold;     // [m] exp(logThreshold), refreshed at each step
    private final Device dev;
    private final int m;
    private final float eps;

    /** What one forward and backward measured. */
    record Parts(long active, double sse, double sparsity, boolean dense) {
    }

    /** @param initThreshold theta [nLatents], each > 0 */
    JumpReluStep(Device dev, SaeConfig cfg, float[] initThreshold) {
        this.dev = dev;
        this.m = cfg.nLatents();
        this.eps = (float) cfg.jumpReluBandwidth();
        this.logThreshold = new AdamState(dev, 1, m);
        this.threshold = dev.allocFloat(m);
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

    /** Device bytes of the parameter log_threshold with its gradient and moments. */
    static long parameterBytes(SaeConfig cfg) {
        return 4L * 4 * cfg.nLatents();
    }

    /** Device bytes of the threshold buffer. */
    static long bufferBytes(SaeConfig cfg) {
        return 4L * cfg.nLatents();
    }

    /** theta = exp(log_threshold), downloaded (what the export writes). */
    float[] thresholds() {
        dev.expInto(logThreshold.param, threshold, m);
        float[] h = new float[m];
        dev.download(threshold, 0, h, 0, m);
        return h;
    }

    /**
     * Forward and backward of {@code e}'s batch x [B, d] after the encoder: fills the gradients of W_enc, b_enc,
     * W_dec (mse path; b_dec's is the engine's) and log_threshold, and e's fire counts.
     *
     * @param lambda this step's L0 coefficient
     * @param gScale dL/dx_hat = gScale * (x_hat - x), i.e. 2 / B
     */
    Parts run(Engine e, FloatBuf x, double lambda, float gScale) {
        int batch = e.batch;
        int d = e.d;
        dev.expInto(logThreshold.param, threshold, m);
        float l0Scale = (float) (lambda / batch);
        long nnz = e.lastDensity < Engine.SPARSE_DENSITY ? dev.jumpReluSparse(e.pre, threshold, batch, m, e.acts) : -1;
        long active;
        double sse;
        if (nnz >= 0) {
            active = nnz;
            dev.recordFires(e.acts, m, e.fireCounts, e.lastFired, e.stepCount(), null);
            sse = dev.sparseDecode(e.acts, e.wDec.param, e.bDec.param, x, batch, d, e.xHat, e.err);
            dev.jumpReluThresholdBackward(e.pre, threshold, e.err, gScale, e.wDec.param, eps, l0Scale, batch, d, m,
                    logThreshold.grad);
            dev.sparseDecoderBackward(e.acts, e.err, gScale, e.wDec.param, null, batch, d, m, e.wDec.grad, e.decActive);
            dev.sparseEncoderBackward(e.acts, e.xIn, batch, d, m, e.wEnc.grad, e.bEnc.grad, e.encActive);
        } else {
            FloatBuf f = e.denseScratch();
            active = dev.jumpReluDense(e.pre, threshold, batch, m, f);
            dev.recordFiresDense(f, batch, m, e.fireCounts, e.lastFired, e.stepCount(), null);
            sse = dev.denseDecode(f, e.wDec.param, e.bDec.param, x, batch, d, m, e.xHat, e.err);
            dev.jumpReluThresholdBackward(e.pre, threshold, e.err, gScale, e.wDec.param, eps, l0Scale, batch, d, m,
                    logThreshold.grad);
            // pre is not read again this step: it becomes the scratch for dL/dpre.
            dev.denseBackward(f, e.err, gScale, e.wDec.param, null, e.xIn, batch, d, m, e.pre,
                    e.wDec.grad, e.decActive, e.wEnc.grad, e.encActive, e.bEnc.grad);
        }
        return new Parts(active, sse, lambda * active / batch, nnz < 0);
    }

    @Override
    public void close() {
        logThreshold.close();
        threshold.close();
    }
}
