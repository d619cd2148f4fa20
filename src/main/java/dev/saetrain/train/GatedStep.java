package dev.saetrain.train;

import dev.saetrain.device.Device;
import dev.saetrain.device.FloatBuf;
import dev.saetrain.device.IntBuf;
import dev.saetrain.device.SparseActs;
import dev.saetrain.device.StepShape;
import dev.saetrain.device.arch.GatedOps;
import dev.saetrain.model.SaeWeights;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The gated SAE's forward and backward of a training step (Rajamanoharan et al. 2024, "Improving Dictionary
 * Learning with Gated Sparse Autoencoders", section 3), with the shared W_enc as W_gate and b_enc as b_gate:
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
 * <p>At initialisation (W_gate = W_dec^T, biases 0) about half of the gates are open, like relu's latents, so the step
 * uses dense products until the measured density of open gates falls below the device's {@link
 * dev.saetrain.device.SparseSwitch#gated()}, then sparse ones over the open gates, which carry both f (val) and
 * relu(pi_gate) (a second value array over the same CSR rows). The dense path needs two scratch buffers of pre's
 * shape beyond pre: f and the products with W_dec^T.
 *
 * <p>Row-blocked ({@link SharedParts#rowBlocked()}): every row's gate, magnitude and residuals read that row alone,
 * and the backward is a sum over rows, so the step encodes one block of rows at a time into the [preRows, m]
 * pre-activations. Dense, each block runs the whole dense step on its rows (encode, gated activation into the
 * block's f, both decodes, backward), the backward adding into the gradients after the first block. Sparse, it
 * encodes and compacts every block first (one {@link SparseActs} per block, with gate values of its own), then
 * decodes and backpropagates block by block, adding into the gradients; when a block's open gates pass its
 * capacity the step falls back to the dense blocks, as the whole batch falls back to the dense path. The sums over
 * the batch (the sparsity term, the L0 count, the open gates, b_dec's encoder-path gradient) add up over the
 * blocks, so the step computes what the whole batch at once does, up to the grouping of float sums.
 */
final class GatedStep implements ArchitectureStep {
    private final SharedParts s;
    private final Device dev;
    private final int batch;
    private final int m;
    private final double sparseBelow;   // density of open gates below which the step goes sparse
    private final SparseActs acts;      // the open gates, val = f; null when row-blocked
    private final AdamState rMag;       // [1, m]
    private final AdamState bMag;       // [1, m]
    private final FloatBuf magScale;    // [m] exp(r_mag), refreshed at each step
    private final FloatBuf decNorms;    // [m] |W_dec,i|
    private final FloatBuf l1PerLatent; // [m] (lambda / B) |W_dec,i|
    private final FloatBuf gateSums;    // [m] sum_b relu(pi_gate_bi)
    private final FloatBuf dpreSums;    // [m] sum_b dL/d(x_in . W_gate_i): b_dec's gradient through the encoder
    private final IntBuf fired;         // [1] entries with f > 0
    private final FloatBuf gateVal;     // [capacity] relu(pi_gate) at the open gates; null when row-blocked
    private final FloatBuf gateGrad;    // [capacity]; null when row-blocked
    private final FloatBuf auxHat;      // [B, d]
    private final FloatBuf auxErr;      // [B, d]
    private final Allocator.Later f;       // [preRows, m] f of the dense path
    private final Allocator.Later scratch; // [preRows, m] the dense path's products with W_dec^T
    private final GatedOps.Latents latents; // b_gate (b_enc), b_mag, magScale, l1PerLatent, as the kernels take them
    private final GatedOps.Grads grads;     // the shared gradients, b_mag's, r_mag's and dpreSums
    private final RowBlocks blocks;         // null unless row-blocked
    private final SparseActs[] blockActs;   // row-blocked: block j's open gates, val = f
    private final SparseActs[] blockGates;  // row-blocked: the same entries, val = relu(pi_gate), grad = dL/dpre
    private FloatBuf[][] rows;              // row-blocked: views per block of x_in, x_hat, err, auxHat, auxErr

    GatedStep(Allocator a, SharedParts s) {
        this.s = s;
        this.dev = s.dev;
        this.batch = s.batch;
        this.m = s.m;
        this.sparseBelow = s.sparseSwitch.gated();
        long bd = (long) batch * s.d;
        blocks = s.blocks;
        long capacity = ArchitectureStep.sparseCapacity(batch, m, sparseBelow);
        acts = blocks == null ? a.sparse(batch, capacity) : null;
        blockActs = blocks == null ? null : new SparseActs[blocks.count()];
        for (int j = 0; blocks != null && j < blocks.count(); j++) {
            int rows = blocks.rows(j);
            blockActs[j] = a.sparse(rows, ArchitectureStep.sparseCapacity(rows, m, sparseBelow));
        }
        rMag = a.parameter(1, m);
        bMag = a.parameter(1, m);
        magScale = a.floats(m);
        decNorms = a.floats(m);
        l1PerLatent = a.floats(m);
        gateSums = a.floats(m);
        dpreSums = a.floats(m);
        fired = a.ints(1);
        gateVal = blocks == null ? a.floats(capacity) : null;
        gateGrad = blocks == null ? a.floats(capacity) : null;
        blockGates = blocks == null ? null : new SparseActs[blocks.count()];
        for (int j = 0; blocks != null && j < blocks.count(); j++) {
            SparseActs b = blockActs[j];
            blockGates[j] = new SparseActs(b.rowPtr(), b.idx(), a.floats(b.capacity()), a.floats(b.capacity()),
                    b.batch(), b.capacity());
        }
        auxHat = a.floats(bd);
        auxErr = a.floats(bd);
        f = a.floatsLater((long) s.preRows * m);
        scratch = a.floatsLater((long) s.preRows * m);
        latents = new GatedOps.Latents(s.bEnc.param, bMag.param, magScale, l1PerLatent);
        grads = new GatedOps.Grads(s.grads, bMag.grad, rMag.grad, dpreSums);
    }

    /** Loads b_mag and r_mag [nLatents]. */
    @Override
    public void load(SaeWeights init) {
        float[] initBMag = init.extras().get("b_mag");
        float[] initRMag = init.extras().get("r_mag");
        for (var e : Map.of("b_mag", initBMag == null ? new float[0] : initBMag,
                "r_mag", initRMag == null ? new float[0] : initRMag).entrySet()) {
            if (e.getValue().length != m) {
                throw new IllegalArgumentException("a gated SAE needs " + e.getKey() + " with one value per latent ("
                        + m + "), got " + e.getValue().length);
            }
        }
        dev.upload(initBMag, 0, bMag.param, 0, m);
        dev.upload(initRMag, 0, rMag.param, 0, m);
    }

    /** b_mag and r_mag, by their SAELens names. */
    @Override
    public Map<String, AdamState> parameters() {
        Map<String, AdamState> p = new LinkedHashMap<>();
        p.put("b_mag", bMag);
        p.put("r_mag", rMag);
        return p;
    }

    @Override
    public void addExportTensors(Map<String, float[]> extras) {
        parameters().forEach((name, a) -> {
            float[] h = new float[m];
            dev.download(a.param, 0, h, 0, m);
            extras.put(name, h);
        });
    }

    /**
     * Forward and backward after the encoder (pre = pi_gate; row-blocked, the step encodes each block itself):
     * fills the gradients of W_gate, b_gate (the shared W_enc, b_enc), W_dec (mse path), r_mag, b_mag, and b_dec's
     * encoder-path part (its mse part is the engine's).
     *
     * @param lambda this step's sparsity coefficient
     * @param gScale dL/dx_hat = gScale * (x_hat - x), i.e. 2 / B; the auxiliary term's is the same
     */
    @Override
    public Result forwardBackward(FloatBuf x, double lambda, float gScale, int dead) {
        int d = s.d;
        GatedOps ops = dev.gatedOps();
        dev.expInto(rMag.param, magScale, m);
        dev.rowNorms(s.wDec.param, m, d, decNorms);
        dev.scaleInto(decNorms, l1PerLatent, m, (float) (lambda / batch));
        if (blocks != null) {
            return forwardBackwardBlocks(x, gScale);
        }
        GatedOps.Residuals r = new GatedOps.Residuals(s.err, gScale, auxErr, gScale);
        long open = s.lastDensity < sparseBelow
                ? ops.gatedSparse(s.pre, latents, s.shape, acts, gateVal, gateSums, fired)
                : -1;
        boolean dense = open < 0;
        double sse;
        double auxSse;
        if (!dense) {
            SparseActs gate = new SparseActs(acts.rowPtr(), acts.idx(), gateVal, gateGrad, batch, acts.capacity());
            dev.recordFires(acts, m, s.fireCounts, s.lastFired, s.step, null);
            sse = dev.sparseDecode(acts, s.wDec.param, s.bDec.param, x, s.shape, s.xHat, s.err);
            auxSse = dev.sparseDecode(gate, s.wDec.param, s.bDec.param, x, s.shape, auxHat, auxErr);
            dev.sparseDecoderBackward(acts, s.err, gScale, s.wDec.param, null, s.shape, s.wDec.grad, s.decActive);
            ops.gatedSparseBackward(acts, gate, r, s.wDec.param, latents, s.shape, grads, false);
            dev.fill(dpreSums, m, 0f);
            dev.sparseEncoderBackward(gate, s.xIn, s.shape, s.wEnc.grad, dpreSums, s.encActive);
        } else {
            FloatBuf fd = f.get();
            open = ops.gatedDense(s.pre, latents, s.shape, fd, gateSums, fired);
            dev.recordFiresDense(fd, s.shape, s.fireCounts, s.lastFired, s.step, null);
            sse = dev.denseDecode(fd, s.wDec.param, s.bDec.param, x, s.shape, s.xHat, s.err);
            // pre now holds relu(pi_gate): the auxiliary reconstruction's input.
            auxSse = dev.denseDecode(s.pre, s.wDec.param, s.bDec.param, x, s.shape, auxHat, auxErr);
            ops.gatedDenseBackward(s.pre, fd, r, s.wDec.param, s.xIn, latents, s.shape, scratch.get(), grads, false);
        }
        addEncoderCentering();
        int[] on = new int[1];
        dev.downloadInt(fired, 0, on, 0, 1);
        double sparsity = dev.dot(gateSums, l1PerLatent, m);
        s.lastDensity = open / ((double) batch * m);
        s.lap("gated");
        return new Result(on[0], sse, sparsity, auxSse / batch, dense);
    }

    /** x_in = x - b_dec feeds both pi_gate and pi_mag: b_dec gets -sum_i dpreSums_i W_gate_i. */
    private void addEncoderCentering() {
        if (s.cfg.applyBDecToInput()) {
            dev.addVecMat(dpreSums, s.wEnc.param, m, s.d, -1f, s.bDec.grad);
        }
    }

    /** What the blocks of one step add up to. */
    private static final class Sums {
        long open;      // open gates
        long on;        // entries with f > 0
        double sse;
        double auxSse;
        double sparsity;
    }

    /**
     * The row-blocked step: sparse (every block compacted, then decoded and backpropagated block by block) when the
     * last step's density says so and every block's open gates fit its capacity, else dense block by block.
     */
    private Result forwardBackwardBlocks(FloatBuf x, float gScale) {
        if (rows == null) {
            RowBlocks.Views v = s.blockViews();
            rows = new FloatBuf[][] {v.xIn(), v.xHat(), v.err(), blocks.views(dev, auxHat, s.d),
                    blocks.views(dev, auxErr, s.d)};
        }
        FloatBuf[] xRows = blocks.views(dev, x, s.d);
        Sums sums = s.lastDensity < sparseBelow ? sparseBlocks(xRows, gScale) : null;
        boolean dense = sums == null;
        if (dense) {
            sums = denseBlocks(xRows, gScale);
        }
        addEncoderCentering();
        s.lastDensity = sums.open / ((double) batch * m);
        s.lap("gated");
        return new Result(sums.on, sums.sse, sums.sparsity, sums.auxSse / batch, dense);
    }

    /** Adds this block's L0 count and sparsity term (gateSums and fired hold the block's) to {@code sums}. */
    private void addBlockCounts(Sums sums, long open) {
        int[] on = new int[1];
        dev.downloadInt(fired, 0, on, 0, 1);
        sums.open += open;
        sums.on += on[0];
        sums.sparsity += dev.dot(gateSums, l1PerLatent, m);
    }

    /** The dense step on each block in turn; the backward adds into the gradients after the first block. */
    private Sums denseBlocks(FloatBuf[] xRows, float gScale) {
        GatedOps ops = dev.gatedOps();
        FloatBuf fd = f.get();
        FloatBuf sc = scratch.get();
        Sums sums = new Sums();
        for (int j = 0; j < blocks.count(); j++) {
            StepShape shape = blocks.shape(j);
            s.encodeBlock(j, xRows);
            addBlockCounts(sums, ops.gatedDense(s.pre, latents, shape, fd, gateSums, fired));
            dev.recordFiresDense(fd, shape, s.fireCounts, s.lastFired, s.step, null);
            sums.sse += dev.denseDecode(fd, s.wDec.param, s.bDec.param, xRows[j], shape, rows[1][j], rows[2][j]);
            // pre now holds the block's relu(pi_gate): the auxiliary reconstruction's input.
            sums.auxSse += dev.denseDecode(s.pre, s.wDec.param, s.bDec.param, xRows[j], shape, rows[3][j],
                    rows[4][j]);
            GatedOps.Residuals r = new GatedOps.Residuals(rows[2][j], gScale, rows[4][j], gScale);
            ops.gatedDenseBackward(s.pre, fd, r, s.wDec.param, rows[0][j], latents, shape, sc, grads, j > 0);
            s.lap("gated");
        }
        return sums;
    }

    /**
     * Every block encoded and compacted over its open gates, then decoded and backpropagated block by block (the
     * sparse backward ops add into the gradients; gatedSparseBackward after the first block). Null, with nothing
     * recorded or written beyond the blocks' CSR rows, when a block's open gates pass its capacity.
     */
    private Sums sparseBlocks(FloatBuf[] xRows, float gScale) {
        GatedOps ops = dev.gatedOps();
        Sums sums = new Sums();
        for (int j = 0; j < blocks.count(); j++) {
            s.encodeBlock(j, xRows);
            long open = ops.gatedSparse(s.pre, latents, blocks.shape(j), blockActs[j], blockGates[j].val(),
                    gateSums, fired);
            if (open < 0) {
                s.lap("gated");
                return null;
            }
            addBlockCounts(sums, open);
            s.lap("gated");
        }
        dev.fill(dpreSums, m, 0f);
        for (int j = 0; j < blocks.count(); j++) {
            StepShape shape = blocks.shape(j);
            SparseActs acts = blockActs[j];
            SparseActs gate = blockGates[j];
            dev.recordFires(acts, m, s.fireCounts, s.lastFired, s.step, null);
            sums.sse += dev.sparseDecode(acts, s.wDec.param, s.bDec.param, xRows[j], shape, rows[1][j], rows[2][j]);
            sums.auxSse += dev.sparseDecode(gate, s.wDec.param, s.bDec.param, xRows[j], shape, rows[3][j],
                    rows[4][j]);
            dev.sparseDecoderBackward(acts, rows[2][j], gScale, s.wDec.param, null, shape, s.wDec.grad, s.decActive);
            GatedOps.Residuals r = new GatedOps.Residuals(rows[2][j], gScale, rows[4][j], gScale);
            ops.gatedSparseBackward(acts, gate, r, s.wDec.param, latents, shape, grads, j > 0);
            dev.sparseEncoderBackward(gate, rows[0][j], shape, s.wEnc.grad, dpreSums, s.encActive);
            s.lap("gated");
        }
        return sums;
    }

    /** Nothing: {@link #forwardBackward} has added b_dec's gradient through both encoder paths (dpreSums). */
    @Override
    public void addCenteringGradient(SharedParts shared) {
    }
}
