package dev.saetrain.train;

import dev.saetrain.device.Device;
import dev.saetrain.device.FloatBuf;
import dev.saetrain.device.SaeGrads;
import dev.saetrain.device.SparseActs;
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
 */
final class ReluStep implements ArchitectureStep {
    private final SharedParts s;
    private final Device dev;
    private final boolean plainL1;
    private final double sparseBelow; // density of firing pairs below which the step goes sparse
    private final SparseActs acts;
    private final FloatBuf decNorms;    // [m]
    private final FloatBuf l1PerLatent; // [m]
    private final FloatBuf actSums;     // [m]
    private final Allocator.Later dpre;        // [B, m] dL/dpre of the dense path
    private final Allocator.Later tiedEncGrad; // [m, d] tied dense path: the encoder's gradient; null untied
    private final Allocator.Later ones;        // [m] 1s, to add tiedEncGrad's rows; null untied
    private final Resampler resampler;         // null: no resampling

    /**
     * @param plainL1    relu-2023's plain L1 (no decoder norm in the penalty)
     * @param resampling relu-2023's dead-latent resampling; null: none
     */
    ReluStep(Allocator a, SharedParts s, boolean plainL1, Resampler.Plan resampling) {
        this.s = s;
        this.dev = s.dev;
        this.plainL1 = plainL1;
        this.sparseBelow = s.sparseSwitch.relu();
        this.acts = a.sparse(s.batch, ArchitectureStep.sparseCapacity(s.batch, s.m, sparseBelow));
        this.decNorms = a.floats(s.m);
        this.l1PerLatent = a.floats(s.m);
        this.actSums = a.floats(s.m);
        this.dpre = a.floatsLater((long) s.batch * s.m);
        this.tiedEncGrad = s.cfg.tied() ? a.floatsLater((long) s.m * s.d) : null;
        this.ones = s.cfg.tied() ? a.floatsLater(s.m) : null;
        this.resampler = resampling == null ? null : new Resampler(a, resampling, s.batch, s.d, s.m);
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
            if (!dpre.allocated()) {
                dpre.get();
                if (s.cfg.tied()) {
                    tiedEncGrad.get();
                    dev.fill(ones.get(), m, 1f);
                }
            }
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
        s.lastDensity = active / ((double) batch * m);
        // sparsity = (lambda / B) sum_i |W_dec,i| sum_b f_bi; its decoder gradient is
        // (lambda / B) (sum_b f_bi) W_dec,i / |W_dec,i|, put in l1PerLatent's place as a per-row coefficient.
        double sparsity = dev.dot(actSums, l1PerLatent, m);
        if (!plainL1) {
            dev.l1DecoderCoefficients(actSums, decNorms, (float) (l1 / batch), m, decNorms);
            dev.addScaledRows(s.wDec.param, decNorms, m, d, s.wDec.grad, s.decActive);
        }
        s.lap("backward");
        return new Result(active, sse, sparsity, 0, dense);
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
