package dev.saetrain.train;

import dev.saetrain.device.Device;
import dev.saetrain.device.FloatBuf;
import dev.saetrain.device.IntBuf;
import dev.saetrain.device.SaeGrads;
import dev.saetrain.device.SparseActs;
import dev.saetrain.device.SparseSwitch;
import dev.saetrain.device.StepShape;
import dev.saetrain.io.CountProperty;
import dev.saetrain.model.SaeConfig;

/**
 * What every architecture's step works over: the four parameters every SAE has, the per-batch buffers of the
 * encoder and the reconstruction, the firing bookkeeping and the step counter. {@link Engine} owns it and runs the
 * parts every architecture shares (encode, b_dec's gradient, clipping, Adam, decoder renormalisation); an {@link
 * ArchitectureStep} reads and fills it between the encode and the update. Row-sparse gradients carry their row
 * flags (docs/design.md, "The Device contract").
 */
final class SharedParts {
    final Device dev;            // null while counting memory (Allocator.counting)
    final SaeConfig cfg;
    final int batch;
    final int d;
    final int m;
    /** (batch, d, m), as the step's ops take them. */
    final StepShape shape;
    /** The device's dense/sparse crossing densities (while counting memory: the counting allocator's). */
    final SparseSwitch sparseSwitch;
    /** Steps without firing after which a latent counts as dead. */
    final int deadSteps;

    final AdamState wEnc;   // [m, d], latent-major; null when tied (W_enc = W_dec^T: wDec serves both)
    final AdamState bEnc;   // [1, m] (gated: b_gate)
    final AdamState wDec;   // [m, d]
    final AdamState bDec;   // [1, d]
    final IntBuf encActive; // [m] row flags of wEnc.grad; null when tied
    final IntBuf decActive; // [m] row flags of wDec.grad
    /** The shared gradients as the backward ops take them: the encoder's go into W_dec's when tied. */
    final SaeGrads grads;

    final FloatBuf xIn;       // [B, d] x - b_dec (or x), the encoder's input
    /**
     * Rows of {@link #pre}: the whole batch, or a block of rows that the step encodes and selects one block at a
     * time, so that the pre-activations never exist whole ({@link #preRows(SaeConfig, int)}).
     */
    final int preRows;
    final FloatBuf pre;       // [preRows, m] pre-activations; a step may overwrite them once it no longer needs them
    /** The batch in blocks of {@link #preRows} rows when {@link #rowBlocked()}, else null. */
    final RowBlocks blocks;
    private RowBlocks.Views blockViews; // row-blocked: xIn, xHat, err per block (made on first use)
    final FloatBuf xHat;      // [B, d]
    final FloatBuf err;       // [B, d] x_hat - x
    final IntBuf lastFired;   // [m] step of the last firing
    final IntBuf fireCounts;  // [m] firings since the last reset

    /** Steps taken so far (the Adam step counter); the engine advances it at the start of a step. */
    int step;
    /**
     * Density of the previous step's active pairs, for the steps that switch between dense and sparse products
     * (relu, relu-2023, jumprelu: firing latents; gated: open gates); 1 until one has been measured.
     */
    double lastDensity = 1.0;
    private Profiler profiler;

    /**
     * @param deadTokens    tokens without firing after which a latent counts as dead (Gao et al.: 10M)
     * @param preBlockBytes the largest pre-activation block kept whole ({@link #preRows(SaeConfig, int, long)})
     */
    SharedParts(Allocator a, SaeConfig cfg, int batch, long deadTokens, long preBlockBytes) {
        this.dev = a.device();
        this.cfg = cfg;
        this.batch = batch;
        this.d = cfg.dIn();
        this.m = cfg.nLatents();
        this.shape = new StepShape(batch, d, m);
        this.sparseSwitch = a.sparseSwitch();
        this.deadSteps = (int) Math.min(Integer.MAX_VALUE / 2, Math.max(1, (deadTokens + batch - 1) / batch));
        wEnc = cfg.tied() ? null : a.parameter(m, d);
        bEnc = a.parameter(1, m);
        wDec = a.parameter(m, d);
        bDec = a.parameter(1, d);
        encActive = cfg.tied() ? null : a.ints(m);
        decActive = a.ints(m);
        grads = new SaeGrads(encGrad(), encFlags(), bEnc.grad, wDec.grad, decActive);
        xIn = a.floats((long) batch * d);
        preRows = preRows(cfg, batch, preBlockBytes);
        pre = a.floats((long) preRows * m);
        blocks = preRows < batch ? new RowBlocks(batch, preRows, d, m) : null;
        xHat = a.floats((long) batch * d);
        err = a.floats((long) batch * d);
        lastFired = a.ints(m);
        fireCounts = a.ints(m);
    }

    /**
     * Largest pre-activation block, in bytes, that a step keeps whole: above it, a step that can encode and select
     * in row blocks (every architecture can) does, in blocks of at most this size (or of a smaller cap that
     * the memory limit asks for, see {@link MemoryPlan#fitting}). 1 GiB leaves every batch up to x64 at d = 768
     * (batch 4096: 0.8 GB) whole, so the steps of today's sizes run as before, and bounds x256's 3.2 GB by a
     * quarter of it.
     */
    static final long PRE_BLOCK_BYTES = 1L << 30;

    /**
     * System property that forces the rows of a pre-activation block (tests; a value at or above the batch keeps
     * it whole).
     */
    static final String PRE_ROWS_PROPERTY = "saetrain.preRows";

    /**
     * Rows of the pre-activation buffer for {@code cfg} at {@code batch}: the whole batch unless
     * the whole [batch, m] matrix would exceed {@link #PRE_BLOCK_BYTES}, then the most rows that fit it (or what
     * {@link #PRE_ROWS_PROPERTY} forces). Every architecture encodes in row blocks: topk's k largest of a row are that
     * row's alone; batchtopk and matryoshka keep each block's candidates for the batch's k * B largest ({@link
     * BatchTopkSelection}); relu, relu-2023 and jumprelu's activations read a row alone and their dense backward adds
     * block by block; gated's gates, magnitudes and residuals read a row alone and its backward adds block by block.
     */
    static int preRows(SaeConfig cfg, int batch) {
        return preRows(cfg, batch, PRE_BLOCK_BYTES);
    }

    /** {@link #preRows(SaeConfig, int)} with blocks of at most {@code preBlockBytes} instead of {@link #PRE_BLOCK_BYTES}. */
    static int preRows(SaeConfig cfg, int batch, long preBlockBytes) {
        long perRow = 4L * cfg.nLatents();
        long rows = CountProperty.get(PRE_ROWS_PROPERTY, "a row count", preBlockBytes / perRow);
        return (int) Math.max(1, Math.min(batch, rows));
    }

    /** Whether the step encodes and selects in row blocks of {@link #preRows} (the engine then does not encode). */
    boolean rowBlocked() {
        return preRows < batch;
    }

    /** The encoder's weights, latent-major [m, d]: W_dec itself when tied. */
    FloatBuf encParam() {
        return cfg.tied() ? wDec.param : wEnc.param;
    }

    /** Where the encoder-path gradient goes: into W_dec's gradient (and its flags) when tied. */
    FloatBuf encGrad() {
        return cfg.tied() ? wDec.grad : wEnc.grad;
    }

    /** The row flags of {@link #encGrad()}. */
    IntBuf encFlags() {
        return cfg.tied() ? decActive : encActive;
    }

    /**
     * Block j's rows of {@link #xIn}, {@link #xHat} and {@link #err} (a row-blocked step), made once: on the first
     * step, as there is no device while memory is counted.
     */
    RowBlocks.Views blockViews() {
        if (blockViews == null) {
            blockViews = new RowBlocks.Views(blocks.views(dev, xIn, d), blocks.views(dev, xHat, d),
                    blocks.views(dev, err, d));
        }
        return blockViews;
    }

    /** Rows [first, first + n) of {@code whole}, one of the [B, d] batch buffers (x, xIn, xHat, err), as a view. */
    FloatBuf rows(FloatBuf whole, int first, int n) {
        return RowBlocks.rows(dev, whole, first, n, d);
    }

    /**
     * Encodes block j of the batch (a row-blocked step): its rows of {@link #xIn} from {@code xRows[j]} [rows, d], and
     * {@link #pre} [rows, m] their pre-activations.
     */
    void encodeBlock(int j, FloatBuf[] xRows) {
        dev.encode(xRows[j], bDec.param, encParam(), bEnc.param, cfg.applyBDecToInput(), blocks.shape(j),
                blockViews().xIn()[j], pre);
        lap("encode"); // the phases add up over the blocks: the same names as the whole batch's
    }

    /**
     * The step of a fixed-k selection (topk, batchtopk) after its select: decode {@code acts} into x_hat and the
     * residual, then the sparse backward of mse (no sparsity penalty) into W_dec's and the encoder's gradients, each
     * phase profiled. Returns the sum of squared residuals.
     */
    double sparseDecodeAndBackward(SparseActs acts, FloatBuf x, float gScale) {
        return sparseDecodeAndBackward(acts, shape, x, xIn, xHat, err, gScale);
    }

    /**
     * {@link #sparseDecodeAndBackward(SparseActs, FloatBuf, float)} over a block of rows (topk, row-blocked): {@code
     * acts} and the views x, xIn, xHat, err [rows, d] hold the block's rows, {@code shape} is (rows, d, m); the
     * backward adds into the shared gradients, so the blocks together give the whole batch's.
     */
    double sparseDecodeAndBackward(SparseActs acts, StepShape shape, FloatBuf x, FloatBuf xIn, FloatBuf xHat,
                                   FloatBuf err, float gScale) {
        double sse = dev.sparseDecode(acts, wDec.param, bDec.param, x, shape, xHat, err);
        lap("decode");
        dev.sparseBackward(acts, err, gScale, wDec.param, null, xIn, shape, grads);
        lap("backward");
        return sse;
    }

    /** Times each phase of later steps (bench); null turns it off. */
    void setProfiler(Profiler p) {
        this.profiler = p;
    }

    /** Ends the profiled phase {@code phase} (nothing without a profiler). */
    void lap(String phase) {
        if (profiler != null) {
            profiler.lap(phase);
        }
    }

    /** Starts the profile of one step. */
    void startProfile() {
        if (profiler != null) {
            profiler.start();
        }
    }
}
