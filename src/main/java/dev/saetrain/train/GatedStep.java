package dev.saetrain.train;

import dev.saetrain.device.Device;
import dev.saetrain.device.FloatBuf;
import dev.saetrain.device.IntBuf;
import dev.saetrain.device.SparseActs;
import dev.saetrain.model.SaeConfig;

/**
 * The gated SAE's forward and backward of a training step (Rajamanoharan et al. 2024, "Improving Dictionary
 * Learning with Gated Sparse Autoencoders", section 3), with the engine's W_enc as W_gate and b_enc as b_gate:
 * <pre>
 *   pi_gate = (x - b_dec) W_gate + b_gate                    (the engine's encode: pre)
 *   pi_mag  = (x - b_dec) (W_gate * exp(r_mag)) + b_mag = exp(r_mag) (pi_gate - b_gate) + b_mag   (no second product)
 *   f       = 1[pi_gate > 0] * relu(pi_mag);   x_hat = f W_dec + b_dec
 *   loss    = mse + lambda * mean_b sum_i relu(pi_gate_bi) |W_dec,i|^ + mean_b |x_b - (relu(pi_gate_b) W_dec^ + b_dec^)|^2
 * </pre>
 * where ^ marks a frozen copy: the auxiliary reconstruction (the paper's L_aux) and the decoder norms of the
 * sparsity term pass no gradient to W_dec or b_dec (b_dec still gets the gradient of the input centering inside
 * pi_gate). The paper holds decoder rows at unit norm with a plain L1 on relu(pi_gate); we weigh the penalty by the
 * decoder norms instead (Anthropic's April 2024 update, as our relu recipe and SAELens's gated trainer do), which
 * removes the norm constraint. The authors' note on that combination (comment on the paper's LessWrong post, 2024):
 * the decoder must be frozen in both places or in neither; freezing it in the auxiliary term only does worse. We
 * freeze it in both, as the paper freezes the decoder in L_aux. The Heaviside gate passes no gradient: pi_mag (so
 * W_gate through exp(r_mag), r_mag and b_mag) learns from the mse where the gate is open and f > 0; pi_gate (W_gate,
 * b_gate) only from the sparsity and auxiliary terms.
 *
 * <p>At initialisation (W_gate = W_dec^T, biases 0) about half of the gates are open, like relu's latents, so the
 * step uses dense products until the measured density of open gates falls below {@link Engine#SPARSE_DENSITY},
 * then sparse ones over the open gates, which carry both f (val) and relu(pi_gate) (a second value array over the
 * same CSR rows). The dense path needs two [B, m] scratch buffers beyond pre: f (the engine's dense scratch) and
 * the products with W_dec^T.
 */
final class GatedStep implements AutoCloseable {
    final AdamState rMag;             // [1, m]
    final AdamState bMag;             // [1, m]
    private final Device dev;
    private final int batch;
    private final int m;
    private final FloatBuf magScale;    // [m] exp(r_mag), refreshed at each step
    private final FloatBuf decNorms;    // [m] |W_dec,i|
    private final FloatBuf l1PerLatent; // [m] (lambda / B) |W_dec,i|
    private final FloatBuf gateSums;    // [m] sum_b relu(pi_gate_bi)
    private final FloatBuf dpreSums;    // [m] sum_b dL/d(x_in . W_gate_i): b_dec's gradient through the encoder
    private final IntBuf fired;         // [1] entries with f > 0
    private final FloatBuf gateVal;     // [capacity] relu(pi_gate) at the open gates
    private final FloatBuf gateGrad;    // [capacity]
    private final FloatBuf auxHat;      // [B, d]
    private final FloatBuf auxErr;      // [B, d]
    private final int capacity;
    private FloatBuf scratch;           // [B, m], allocated when the dense path is first taken

    /** What one forward and backward measured: L0 count, open gates, sum of squared errors, loss terms. */
    record Parts(long active, long open, double sse, double sparsity, double aux, boolean dense) {
    }

    /**
     * @param capacity entries the engine's sparse activations hold
     * @param initBMag b_mag [nLatents]
     * @param initRMag r_mag [nLatents]
     */
    GatedStep(Device dev, SaeConfig cfg, int batch, int capacity, float[] initBMag, float[] initRMag) {
        this.dev = dev;
        this.batch = batch;
        this.m = cfg.nLatents();
        this.capacity = capacity;
        for (var e : java.util.Map.of("b_mag", initBMag == null ? new float[0] : initBMag,
                "r_mag", initRMag == null ? new float[0] : initRMag).entrySet()) {
            if (e.getValue().length != m) {
                throw new IllegalArgumentException("a gated SAE needs " + e.getKey() + " with one value per latent ("
                        + m + "), got " + e.getValue().length);
            }
        }
        long bd = (long) batch * cfg.dIn();
        rMag = new AdamState(dev, 1, m);
        bMag = new AdamState(dev, 1, m);
        magScale = dev.allocFloat(m);
        decNorms = dev.allocFloat(m);
        l1PerLatent = dev.allocFloat(m);
        gateSums = dev.allocFloat(m);
        dpreSums = dev.allocFloat(m);
        fired = dev.allocInt(1);
        gateVal = dev.allocFloat(capacity);
        gateGrad = dev.allocFloat(capacity);
        auxHat = dev.allocFloat(bd);
        auxErr = dev.allocFloat(bd);
        dev.upload(initBMag, 0, bMag.param, 0, m);
        dev.upload(initRMag, 0, rMag.param, 0, m);
    }

    /** Device bytes of r_mag and b_mag with their gradients and moments. */
    static long parameterBytes(SaeConfig cfg) {
        return 2 * 4L * 4 * cfg.nLatents();
    }

    /** Device bytes of this class's buffers, the dense path's scratch included. */
    static long bufferBytes(SaeConfig cfg, int batch, int capacity) {
        long m = cfg.nLatents();
        return 4L * (5 * m + 1) + 8L * capacity + 4L * 2 * batch * cfg.dIn() + 4L * batch * m;
    }

    /** The parameters this step adds to the engine's, by their SAELens names. */
    java.util.Map<String, AdamState> params() {
        java.util.Map<String, AdamState> p = new java.util.LinkedHashMap<>();
        p.put("b_mag", bMag);
        p.put("r_mag", rMag);
        return p;
    }

    /** A parameter downloaded (what the export writes). */
    float[] download(AdamState a) {
        float[] h = new float[m];
        dev.download(a.param, 0, h, 0, m);
        return h;
    }

    /**
     * Forward and backward of {@code e}'s batch x [B, d] after the encoder (e.pre = pi_gate): fills the gradients of
     * W_gate, b_gate (the engine's W_enc, b_enc), W_dec (mse path), r_mag, b_mag, and b_dec's encoder-path part (its
     * mse part is the engine's), and e's fire counts.
     *
     * @param lambda this step's sparsity coefficient
     * @param gScale dL/dx_hat = gScale * (x_hat - x), i.e. 2 / B; the auxiliary term's is the same
     */
    Parts run(Engine e, FloatBuf x, double lambda, float gScale) {
        int d = e.d;
        dev.expInto(rMag.param, magScale, m);
        dev.rowNorms(e.wDec.param, m, d, decNorms);
        dev.scaleInto(decNorms, l1PerLatent, m, (float) (lambda / batch));
        long open = e.lastDensity < Engine.SPARSE_DENSITY
                ? dev.gatedSparse(e.pre, e.bEnc.param, bMag.param, magScale, batch, m, e.acts, gateVal, gateSums, fired)
                : -1;
        boolean dense = open < 0;
        double sse;
        double auxSse;
        if (!dense) {
            SparseActs gate = new SparseActs(e.acts.rowPtr(), e.acts.idx(), gateVal, gateGrad, batch, capacity);
            dev.recordFires(e.acts, m, e.fireCounts, e.lastFired, e.stepCount(), null);
            sse = dev.sparseDecode(e.acts, e.wDec.param, e.bDec.param, x, batch, d, e.xHat, e.err);
            auxSse = dev.sparseDecode(gate, e.wDec.param, e.bDec.param, x, batch, d, auxHat, auxErr);
            dev.sparseDecoderBackward(e.acts, e.err, gScale, e.wDec.param, null, batch, d, m, e.wDec.grad, e.decActive);
            dev.gatedSparseBackward(e.acts, gate, auxErr, gScale, e.wDec.param, l1PerLatent, magScale, bMag.param,
                    batch, d, m, e.bEnc.grad, bMag.grad, rMag.grad);
            dev.fill(dpreSums, m, 0f);
            dev.sparseEncoderBackward(gate, e.xIn, batch, d, m, e.wEnc.grad, dpreSums, e.encActive);
        } else {
            FloatBuf f = e.denseScratch();
            if (scratch == null) {
                scratch = dev.allocFloat((long) batch * m);
            }
            open = dev.gatedDense(e.pre, e.bEnc.param, bMag.param, magScale, batch, m, f, gateSums, fired);
            dev.recordFiresDense(f, batch, m, e.fireCounts, e.lastFired, e.stepCount(), null);
            sse = dev.denseDecode(f, e.wDec.param, e.bDec.param, x, batch, d, m, e.xHat, e.err);
            // e.pre now holds relu(pi_gate): the auxiliary reconstruction's input.
            auxSse = dev.denseDecode(e.pre, e.wDec.param, e.bDec.param, x, batch, d, m, auxHat, auxErr);
            dev.gatedDenseBackward(e.pre, f, e.err, gScale, auxErr, gScale, e.wDec.param, l1PerLatent, magScale,
                    bMag.param, e.xIn, batch, d, m, scratch, e.wDec.grad, e.decActive, e.wEnc.grad, e.encActive,
                    e.bEnc.grad, bMag.grad, rMag.grad, dpreSums);
        }
        if (e.config().applyBDecToInput()) {
            // x_in = x - b_dec feeds both pi_gate and pi_mag: b_dec gets -sum_i dpreSums_i W_gate_i.
            dev.addVecMat(dpreSums, e.wEnc.param, m, d, -1f, e.bDec.grad);
        }
        int[] on = new int[1];
        dev.downloadInt(fired, 0, on, 0, 1);
        double sparsity = dev.dot(gateSums, l1PerLatent, m);
        return new Parts(on[0], open, sse, sparsity, auxSse / batch, dense);
    }

    /** Sum of squares of r_mag's and b_mag's gradients (for the clip norm). */
    double gradSumSquares() {
        return dev.sumSquares(rMag.grad, 1, m, null) + dev.sumSquares(bMag.grad, 1, m, null);
    }

    @Override
    public void close() {
        for (AdamState a : new AdamState[] {rMag, bMag}) {
            a.close();
        }
        for (FloatBuf b : new FloatBuf[] {magScale, decNorms, l1PerLatent, gateSums, dpreSums, gateVal, gateGrad,
                auxHat, auxErr}) {
            b.close();
        }
        fired.close();
        if (scratch != null) {
            scratch.close();
        }
    }
}
