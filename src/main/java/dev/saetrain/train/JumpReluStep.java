package dev.saetrain.train;

import dev.saetrain.device.Device;
import dev.saetrain.device.FloatBuf;
import dev.saetrain.device.SparseActs;
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
    private final Allocator.Later f;      // [B, m] f of the dense path

    JumpReluStep(Allocator a, SharedParts s) {
        this.s = s;
        this.dev = s.dev;
        this.m = s.m;
        this.eps = (float) s.cfg.jumpReluBandwidth();
        this.logThreshold = a.parameter(1, m);
        this.threshold = a.floats(m);
        this.sparseBelow = s.sparseSwitch.jumpRelu();
        this.acts = a.sparse(s.batch, ArchitectureStep.sparseCapacity(s.batch, m, sparseBelow));
        this.f = a.floatsLater((long) s.batch * m);
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
}
