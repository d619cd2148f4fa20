package dev.saetrain.train;

import dev.saetrain.device.Device;
import dev.saetrain.device.FloatBuf;
import dev.saetrain.device.IntBuf;
import dev.saetrain.device.SparseActs;
import dev.saetrain.error.UsageException;
import dev.saetrain.model.Architecture;
import dev.saetrain.model.SaeConfig;
import dev.saetrain.model.SaeWeights;

/**
 * One SAE and its training step, written once over {@link Device}. Knows nothing of files or schedules:
 * the trainer hands it a batch on the device, the learning rate and the sparsity coefficient of this step.
 *
 * <p>The step (docs/design.md, "The training step"), with B rows, g = dL/dx_hat = (2/B)(x_hat - x):
 * <pre>
 *   pre = (x - b_dec) W_enc + b_enc;  f = act(pre) sparse;  x_hat = f W_dec + b_dec
 *   topk: loss = mse + AuxK (Gao et al. 2024, appendix A.2): the k_aux largest pre-activations among dead
 *         latents reconstruct e = x - x_hat: alpha |e_hat - e|^2 / |e - mean e|^2, alpha = 1/32
 *   relu: loss = mse + lambda * mean_b sum_i f_i |W_dec,i|  (Anthropic, April 2024 update)
 *   relu-2023: loss = mse + lambda * mean_b sum_i f_i, unit-norm decoder rows, dead latents resampled
 *         ({@link Resampler}; Bricken et al. 2023, "Towards Monosemanticity")
 *   tied (relu, topk): W_enc = W_dec^T, one matrix with unit-norm rows (Cunningham et al. 2023); its gradient is
 *         the sum of the encoder-path and decoder-path gradients (both latent-major, so rows add directly)
 *   batchtopk: topk's loss with the k * B largest over the batch ({@link BatchTopkStep}, Bussmann et al. 2024)
 *   jumprelu: loss = mse + lambda * mean_b L0_b, f = pre * H(pre - theta) ({@link JumpReluStep}, Rajamanoharan et al. 2024)
 *   matryoshka: batchtopk with mse summed over nested prefixes of the dictionary ({@link MatryoshkaStep},
 *         Bussmann et al. 2025); its inner prefixes' terms are reported as the step's sparsityLoss
 *   gated: pre = pi_gate, f = 1[pi_gate > 0] relu(pi_mag); loss = mse + lambda * mean_b sum_i relu(pi_gate_bi) |W_dec,i|
 *         + auxiliary reconstruction from relu(pi_gate) ({@link GatedStep}, Rajamanoharan et al. 2024)
 * </pre>
 * Gradients are sparse (O(|S| d)); the relu recipe starts dense (half the latents fire at initialisation)
 * and switches to sparse products once the measured density falls below {@link #RELU_SPARSE_DENSITY}
 * (jumprelu and gated: {@link #SPARSE_DENSITY}).
 */
public final class Engine implements AutoCloseable {
    /**
     * Density of active (row, latent) pairs below which the relu and relu-2023 steps use sparse products. Where
     * they cross on the CPU (`bench --arch relu --l0 N`, each path forced, d = 512 x16, batch 4096, 2 threads):
     * sparse 1.5x the dense step at 3.5 %, 1.3-1.4x at 5.6 %, 1.2-1.3x at 6.3 %, 1.07x at 7.8 %, 0.85x at 8.8 %.
     * The CUDA step takes the same switch; where its paths cross has not been measured.
     */
    static final double RELU_SPARSE_DENSITY = 1.0 / 16;
    /**
     * The same switch for jumprelu and gated, whose sparse steps cost more per active pair (jumprelu's threshold
     * gradient, gated's two paths): on the CPU as above, sparse over dense 1.10x (jumprelu) and 1.14x (gated) at
     * 4.1-4.4 %, 0.71x and 0.72x at 6.5-6.8 %: they cross near 5 %.
     */
    static final double SPARSE_DENSITY = 1.0 / 24;
    /** AuxK coefficient by default (Gao et al. 2024, appendix A.2); {@code --auxk-coef} changes it per run. */
    static final double AUX_ALPHA = 1.0 / 32;
    static final float BETA1 = 0.9f;
    static final float BETA2 = 0.999f;
    /** Adam's epsilon by default; {@code --adam-eps} changes it per run. */
    static final float EPS = 1e-8f;
    /** Gradient-norm clip (docs/design.md, "The training step"). */
    static final double CLIP_NORM = 1.0;

    final Device dev;
    private final SaeConfig cfg;
    final int batch;
    final int d;
    final int m;
    private final int deadSteps;
    private final double auxAlpha;  // AuxK coefficient (topk, batchtopk, matryoshka)
    private final float adamEps;

    final AdamState wEnc;   // [m, d], latent-major; null when tied (W_enc = W_dec^T: wDec serves both)
    final AdamState bEnc;   // [1, m]
    final AdamState wDec;   // [m, d]
    final AdamState bDec;   // [1, d]
    final IntBuf encActive; // [m] row flags of wEnc.grad; null when tied
    final IntBuf decActive; // [m] row flags of wDec.grad

    final FloatBuf xIn;   // [B, d]
    final FloatBuf pre;   // [B, m]
    final FloatBuf xHat;  // [B, d]
    final FloatBuf err;   // [B, d]
    final SparseActs acts;
    final IntBuf lastFired;   // [m] step of the last firing
    final IntBuf fireCounts;  // [m] firings since the last reset
    // topk only
    private final SparseActs auxActs;
    private final FloatBuf resid;  // [B, d]
    private final FloatBuf auxHat; // [B, d]
    private final FloatBuf auxErr; // [B, d]
    // relu only
    private final FloatBuf decNorms;   // [m]
    private final FloatBuf l1PerLatent; // [m]
    private final FloatBuf actSums;    // [m]
    private FloatBuf dpre;             // [B, m], allocated when the dense path is first taken
    // tied relu only, allocated with dpre: the dense path's encoder gradient, then added to wDec.grad
    private FloatBuf tiedEncGrad;      // [m, d]
    private FloatBuf ones;             // [m]
    // relu-2023 only (null when not resampling)
    private final Resampler resampler;
    // batchtopk / jumprelu only
    final BatchTopkStep batchTopk;
    final JumpReluStep jumpRelu;
    // matryoshka only
    final MatryoshkaStep matryoshka;
    // gated only
    final GatedStep gated;

    private int step;
    double lastDensity = 1.0;
    private Profiler profiler;

    /**
     * Allocates the SAE on {@code device} and loads {@code init} (SAELens orientation).
     *
     * @param deadTokens tokens without firing after which a latent counts as dead (Gao et al.: 10M)
     */
    public Engine(Device device, SaeWeights init, int batch, long deadTokens) {
        this(device, init, batch, deadTokens, null);
    }

    /**
     * As above, with dead-latent resampling by {@code resampling} (relu-2023 only; null: none).
     */
    public Engine(Device device, SaeWeights init, int batch, long deadTokens, Resampler.Plan resampling) {
        this(device, init, batch, deadTokens, resampling, AUX_ALPHA, EPS);
    }

    /**
     * As above, with the AuxK coefficient {@code auxAlpha} (>= 0) and Adam's epsilon {@code adamEps} (> 0) of the
     * run's recipe ({@link Recipe}).
     */
    public Engine(Device device, SaeWeights init, int batch, long deadTokens, Resampler.Plan resampling,
                  double auxAlpha, float adamEps) {
        if (!(auxAlpha >= 0) || !(adamEps > 0)) {
            throw new IllegalArgumentException("AuxK coefficient " + auxAlpha + " must be >= 0 and Adam epsilon "
                    + adamEps + " > 0");
        }
        this.auxAlpha = auxAlpha;
        this.adamEps = adamEps;
        this.dev = device;
        this.cfg = init.config();
        this.batch = batch;
        this.d = cfg.dIn();
        this.m = cfg.nLatents();
        this.deadSteps = (int) Math.min(Integer.MAX_VALUE / 2, Math.max(1, (deadTokens + batch - 1) / batch));
        if ((long) batch * m > Integer.MAX_VALUE / 4) {
            throw new UsageException("batch * n_latents = " + (long) batch * m
                    + " exceeds what one buffer holds (" + Integer.MAX_VALUE / 4 + "); use a smaller --batch");
        }
        if (resampling != null && cfg.arch() != Architecture.RELU_2023) {
            throw new IllegalArgumentException("resampling is part of the relu-2023 recipe, not of " + cfg.arch());
        }
        wEnc = cfg.tied() ? null : new AdamState(dev, m, d);
        bEnc = new AdamState(dev, 1, m);
        wDec = new AdamState(dev, m, d);
        bDec = new AdamState(dev, 1, d);
        encActive = cfg.tied() ? null : dev.allocInt(m);
        decActive = dev.allocInt(m);
        xIn = dev.allocFloat((long) batch * d);
        pre = dev.allocFloat((long) batch * m);
        xHat = dev.allocFloat((long) batch * d);
        err = dev.allocFloat((long) batch * d);
        lastFired = dev.allocInt(m);
        fireCounts = dev.allocInt(m);
        batchTopk = cfg.arch() == Architecture.BATCHTOPK || cfg.arch() == Architecture.MATRYOSHKA
                ? new BatchTopkStep(dev, cfg, batch) : null;
        matryoshka = cfg.arch() == Architecture.MATRYOSHKA ? new MatryoshkaStep(dev, cfg, batch) : null;
        jumpRelu = cfg.arch() == Architecture.JUMPRELU
                ? new JumpReluStep(dev, cfg, init.extras().get("threshold")) : null;
        if (cfg.arch() == Architecture.TOPK || cfg.arch() == Architecture.BATCHTOPK
                || cfg.arch() == Architecture.MATRYOSHKA) {
            acts = SparseActs.allocate(dev, batch, batch * cfg.k());
            auxActs = SparseActs.allocate(dev, batch, batch * cfg.kAux());
            resid = dev.allocFloat((long) batch * d);
            auxHat = dev.allocFloat((long) batch * d);
            auxErr = dev.allocFloat((long) batch * d);
            decNorms = null;
            l1PerLatent = null;
            actSums = null;
        } else if (cfg.arch() == Architecture.JUMPRELU || cfg.arch() == Architecture.GATED) {
            acts = SparseActs.allocate(dev, batch, sparseCapacity(batch, m, SPARSE_DENSITY));
            auxActs = null;
            resid = null;
            auxHat = null;
            auxErr = null;
            decNorms = null;
            l1PerLatent = null;
            actSums = null;
        } else {
            acts = SparseActs.allocate(dev, batch, sparseCapacity(batch, m, RELU_SPARSE_DENSITY));
            auxActs = null;
            resid = null;
            auxHat = null;
            auxErr = null;
            decNorms = dev.allocFloat(m);
            l1PerLatent = dev.allocFloat(m);
            actSums = dev.allocFloat(m);
        }
        resampler = resampling == null ? null : new Resampler(dev, resampling, batch, d, m);
        gated = cfg.arch() == Architecture.GATED ? new GatedStep(dev, cfg, batch, acts.capacity(),
                init.extras().get("b_mag"), init.extras().get("r_mag")) : null;
        load(init);
    }

    /** Times each phase of later steps (bench); null turns it off. */
    public void setProfiler(Profiler p) {
        this.profiler = p;
    }

    private void lap(String phase) {
        if (profiler != null) {
            profiler.lap(phase);
        }
    }

    /**
     * Device memory one engine allocates, in bytes, split into parameters with their gradients and Adam
     * moments, and the per-batch working buffers. Mirrors the constructor's allocations (a test checks it).
     */
    public record MemoryNeed(long parameterBytes, long bufferBytes) {
        public long total() {
            return parameterBytes + bufferBytes;
        }
    }

    /**
     * What {@code new Engine(device, init(cfg), batch, ...)} allocates, including the relu/jumprelu/gated dense-phase
     * scratch and, for relu-2023, the resampler's buffers as the trainer builds it (with resampling on, the
     * default; {@code --resample-every 0} allocates batch + 2 nLatents words less).
     */
    public static MemoryNeed memoryNeed(SaeConfig cfg, int batch) {
        long d = cfg.dIn();
        long m = cfg.nLatents();
        long b = batch;
        long mats = cfg.tied() ? 1 : 2;                        // tied: one [m, d] matrix serves W_enc and W_dec
        long params = 4L * 4 * (mats * m * d + m + d);          // param, grad, m, v of W_enc, b_enc, W_dec, b_dec
        long buf = 4L * (mats * m)                              // row flags
                + 4L * (3 * b * d + b * m)                      // xIn, xHat, err, pre
                + 4L * (2 * m);                                 // lastFired, fireCounts
        if (cfg.arch() == Architecture.TOPK || cfg.arch() == Architecture.BATCHTOPK
                || cfg.arch() == Architecture.MATRYOSHKA) {
            buf += sparseBytes(b, b * cfg.k()) + sparseBytes(b, b * cfg.kAux()) + 4L * 3 * b * d;
            buf += cfg.arch() == Architecture.BATCHTOPK ? BatchTopkStep.BUFFER_BYTES : 0;
            buf += cfg.arch() == Architecture.MATRYOSHKA
                    ? BatchTopkStep.BUFFER_BYTES + MatryoshkaStep.bufferBytes(cfg, batch) : 0;
        } else if (cfg.arch() == Architecture.JUMPRELU) {
            params += JumpReluStep.parameterBytes(cfg);
            buf += sparseBytes(b, sparseCapacity(batch, cfg.nLatents(), SPARSE_DENSITY)) + JumpReluStep.bufferBytes(cfg)
                    + 4L * b * m;
        } else if (cfg.arch() == Architecture.GATED) {
            int cap = sparseCapacity(batch, cfg.nLatents(), SPARSE_DENSITY);
            params += GatedStep.parameterBytes(cfg);
            buf += sparseBytes(b, cap) + GatedStep.bufferBytes(cfg, batch, cap) + 4L * b * m;
        } else {
            buf += sparseBytes(b, sparseCapacity(batch, cfg.nLatents(), RELU_SPARSE_DENSITY)) + 4L * 3 * m + 4L * b * m;
            if (cfg.tied()) {
                buf += 4L * (m * d + m);                        // tiedEncGrad, ones
            }
            if (cfg.arch() == Architecture.RELU_2023) {
                buf += Resampler.bytes(batch, cfg.nLatents());
            }
        }
        return new MemoryNeed(params, buf);
    }

    private static long sparseBytes(long batch, long capacity) {
        return 4L * (batch + 1) + 12L * capacity;
    }

    /** Entries of the sparse activations when the step goes sparse below {@code density}. */
    private static int sparseCapacity(int batch, int nLatents, double density) {
        return (int) Math.max(batch, (long) (batch * (double) nLatents * density));
    }

    /** The SAE's config. */
    public SaeConfig config() {
        return cfg;
    }

    private void load(SaeWeights w) {
        // W_enc [d, m] goes up latent-major, transposed chunk by chunk (no second full copy on the heap).
        float[] wEncIn = w.wEnc();
        float[] wDecIn = w.wDec();
        int rowsPerChunk = Math.max(1, (1 << 16) / d);
        float[] chunk = new float[Math.min(m, rowsPerChunk) * d];
        for (int i0 = 0; i0 < m; i0 += rowsPerChunk) {
            int rows = Math.min(rowsPerChunk, m - i0);
            for (int r = 0; r < rows; r++) {
                for (int j = 0; j < d; j++) {
                    chunk[r * d + j] = wEncIn[j * m + i0 + r];
                }
            }
            if (!cfg.tied()) {
                dev.upload(chunk, 0, wEnc.param, (long) i0 * d, rows * d);
            } else if (!java.util.Arrays.equals(chunk, 0, rows * d, wDecIn, i0 * d, (i0 + rows) * d)) {
                throw new IllegalArgumentException("a tied SAE needs W_enc = W_dec^T in its initial weights");
            }
        }
        dev.upload(w.bEnc(), 0, bEnc.param, 0, m);
        dev.upload(w.wDec(), 0, wDec.param, 0, m * d);
        dev.upload(w.bDec(), 0, bDec.param, 0, d);
        if (batchTopk != null) {
            float[] t = w.extras().get("threshold");
            if (t != null) {
                for (float v : t) {
                    if (v != t[0]) {
                        throw new IllegalArgumentException("batchtopk has one threshold for every latent; the initial"
                                + " weights of " + cfg.name() + " hold different ones (" + t[0] + ", " + v + ")");
                    }
                }
                batchTopk.setThreshold(t[0]);
            }
        }
    }

    /**
     * The current parameters, downloaded, in SAELens orientation (W_enc [d, m]). The latent-major encoder is
     * transposed chunk by chunk on the way down, so the host holds one copy of each matrix, not two.
     */
    public SaeWeights weights() {
        float[] we = new float[m * d];
        int rowsPerChunk = Math.max(1, (1 << 16) / d);
        float[] chunk = new float[Math.min(m, rowsPerChunk) * d];
        for (int i0 = 0; i0 < m; i0 += rowsPerChunk) {
            int rows = Math.min(rowsPerChunk, m - i0);
            dev.download(encParam(), (long) i0 * d, chunk, 0, rows * d);
            for (int r = 0; r < rows; r++) {
                for (int j = 0; j < d; j++) {
                    we[j * m + i0 + r] = chunk[r * d + j];
                }
            }
        }
        float[] be = new float[m];
        dev.download(bEnc.param, 0, be, 0, m);
        float[] wd = new float[m * d];
        dev.download(wDec.param, 0, wd, 0, m * d);
        float[] bd = new float[d];
        dev.download(bDec.param, 0, bd, 0, d);
        java.util.Map<String, float[]> extras = new java.util.LinkedHashMap<>();
        if (batchTopk != null) {
            float[] t = new float[m];
            java.util.Arrays.fill(t, batchTopk.threshold());
            extras.put("threshold", t);
        }
        if (jumpRelu != null) {
            extras.put("threshold", jumpRelu.thresholds());
        }
        if (gated != null) {
            gated.params().forEach((name, a) -> extras.put(name, gated.download(a)));
        }
        return new SaeWeights(cfg, we, be, wd, bd, extras);
    }

    /** The dense-path scratch [B, m] (relu's dL/dpre, jumprelu's f), allocated the first time it is needed. */
    FloatBuf denseScratch() {
        if (dpre == null) {
            dpre = dev.allocFloat((long) batch * m);
        }
        return dpre;
    }

    /** One full step on batch x [B, d] (on this engine's device): gradients, clip, Adam, decoder renorm. */
    public StepStats step(FloatBuf x, double lr, double l1) {
        if (profiler != null) {
            profiler.start();
        }
        StepStats s = computeGradients(x, l1);
        double clip = s.gradNorm() > CLIP_NORM ? CLIP_NORM / s.gradNorm() : 1.0;
        int t = step;
        float flr = (float) lr;
        float fc = (float) clip;
        if (!cfg.tied()) {
            dev.adamStep(wEnc.param, wEnc.grad, wEnc.m, wEnc.v, m, d, encActive, flr, BETA1, BETA2, adamEps, fc, t);
        }
        dev.adamStep(bEnc.param, bEnc.grad, bEnc.m, bEnc.v, 1, m, null, flr, BETA1, BETA2, adamEps, fc, t);
        dev.adamStep(wDec.param, wDec.grad, wDec.m, wDec.v, m, d, decActive, flr, BETA1, BETA2, adamEps, fc, t);
        dev.adamStep(bDec.param, bDec.grad, bDec.m, bDec.v, 1, d, null, flr, BETA1, BETA2, adamEps, fc, t);
        if (jumpRelu != null) {
            AdamState lt = jumpRelu.logThreshold;
            dev.adamStep(lt.param, lt.grad, lt.m, lt.v, 1, m, null, flr, BETA1, BETA2, adamEps, fc, t);
        }
        if (gated != null) {
            for (AdamState a : gated.params().values()) {
                dev.adamStep(a.param, a.grad, a.m, a.v, 1, m, null, flr, BETA1, BETA2, adamEps, fc, t);
            }
        }
        lap("adam");
        if (cfg.unitNormDecoder()) {
            dev.normalizeRows(wDec.param, m, d);
            lap("renorm");
        }
        if (resampler != null && resampler.due(step)) {
            resampler.resample(step, x, err, lastFired, wEnc, bEnc, wDec, bDec.param, decNorms);
            lap("resample");
        }
        return s;
    }

    /** The encoder's weights, latent-major [m, d]: W_dec itself when tied. */
    private FloatBuf encParam() {
        return cfg.tied() ? wDec.param : wEnc.param;
    }

    /** Where the encoder-path gradient goes: into W_dec's gradient (and its flags) when tied. */
    private FloatBuf encGrad() {
        return cfg.tied() ? wDec.grad : wEnc.grad;
    }

    private IntBuf encFlags() {
        return cfg.tied() ? decActive : encActive;
    }

    /**
     * Forward and backward on x [B, d]: fills the gradient buffers (unit-norm projection applied where
     * {@link SaeConfig#unitNormDecoder()})
     * and returns the step's statistics, with the gradient norm before clipping. Advances the step counter.
     */
    StepStats computeGradients(FloatBuf x, double l1) {
        step++;
        if (!cfg.tied()) {
            dev.clearFlags(encActive, m);
        }
        dev.clearFlags(decActive, m);
        dev.fill(bEnc.grad, m, 0f);
        dev.fill(bDec.grad, d, 0f);
        lap("setup");
        dev.encode(x, bDec.param, encParam(), bEnc.param, cfg.applyBDecToInput(), batch, d, m, xIn, pre);
        lap("encode"); // the encode op alone: bench compares this phase with the product timed alone
        double centered = dev.centeredSumSquares(x, batch, d);
        float gScale = 2f / batch;
        double sse;
        double sparsity = 0;
        double aux = 0;
        long active;
        boolean dense = false;
        int dead = dev.countAtOrBelow(lastFired, m, step - 1 - deadSteps);
        if (cfg.arch() == Architecture.TOPK || cfg.arch() == Architecture.BATCHTOPK
                || cfg.arch() == Architecture.MATRYOSHKA) {
            if (batchTopk != null) {
                active = batchTopk.select(pre, m, acts);
            } else {
                dev.topk(pre, batch, m, cfg.k(), null, 0, acts);
                active = countActive();
            }
            lap("select");
            if (matryoshka != null) {
                MatryoshkaStep.Parts p = matryoshka.run(this, x, gScale);
                sse = p.sse();
                sparsity = p.innerLoss();
            } else {
                sse = dev.sparseDecode(acts, wDec.param, bDec.param, x, batch, d, xHat, err);
                lap("decode");
                dev.sparseBackward(acts, err, gScale, wDec.param, null, xIn, batch, d, m, wDec.grad, decActive,
                        encGrad(), bEnc.grad, encFlags());
            }
            lap("backward");
            if (dead > 0) {
                aux = auxK(dead);
                lap("auxk");
            }
            // After AuxK: its dead filter reads lastFired as it stood before this batch, the same set that
            // `dead` counted (Gao et al. 2024; sparsify). Recording first would drop the dead latents that fire
            // in this batch from the filter, leaving fewer candidates than the k_aux the count allows.
            dev.recordFires(acts, m, fireCounts, lastFired, step, null);
            lap("fires");
        } else if (jumpRelu != null) {
            JumpReluStep.Parts p = jumpRelu.run(this, x, l1, gScale);
            active = p.active();
            sse = p.sse();
            sparsity = p.sparsity();
            dense = p.dense();
            lastDensity = active / ((double) batch * m);
            lap("jumprelu");
        } else if (gated != null) {
            GatedStep.Parts p = gated.run(this, x, l1, gScale);
            active = p.active();
            sse = p.sse();
            sparsity = p.sparsity();
            aux = p.aux();
            dense = p.dense();
            lastDensity = p.open() / ((double) batch * m);
            lap("gated");
        } else {
            // relu-2023 (Towards Monosemanticity): plain L1, lambda / B per unit of activation; relu (April 2024):
            // L1 times the decoder row norm.
            boolean plainL1 = cfg.arch() == Architecture.RELU_2023;
            if (plainL1) {
                dev.fill(l1PerLatent, m, (float) (l1 / batch));
            } else {
                dev.rowNorms(wDec.param, m, d, decNorms);
                dev.scaleInto(decNorms, l1PerLatent, m, (float) (l1 / batch));
            }
            long nnz = lastDensity < RELU_SPARSE_DENSITY ? dev.reluSparse(pre, batch, m, acts) : -1;
            if (nnz >= 0) {
                active = nnz;
                dev.recordFires(acts, m, fireCounts, lastFired, step, actSums);
                lap("select");
                sse = dev.sparseDecode(acts, wDec.param, bDec.param, x, batch, d, xHat, err);
                lap("decode");
                dev.sparseBackward(acts, err, gScale, wDec.param, l1PerLatent, xIn, batch, d, m, wDec.grad, decActive,
                        encGrad(), bEnc.grad, encFlags());
            } else {
                dense = true;
                if (dpre == null) {
                    dpre = dev.allocFloat((long) batch * m);
                    if (cfg.tied()) {
                        tiedEncGrad = dev.allocFloat((long) m * d);
                        ones = dev.allocFloat(m);
                        dev.fill(ones, m, 1f);
                    }
                }
                active = dev.reluDenseFires(pre, batch, m, fireCounts, lastFired, step, actSums);
                lap("select");
                sse = dev.denseDecode(pre, wDec.param, bDec.param, x, batch, d, m, xHat, err);
                lap("decode");
                if (cfg.tied()) {
                    // denseBackward overwrites both gradients: the encoder's goes to a scratch, then adds in.
                    dev.denseBackward(pre, err, gScale, wDec.param, l1PerLatent, xIn, batch, d, m, dpre,
                            wDec.grad, decActive, tiedEncGrad, decActive, bEnc.grad);
                    dev.addScaledRows(tiedEncGrad, ones, m, d, wDec.grad, decActive);
                } else {
                    dev.denseBackward(pre, err, gScale, wDec.param, l1PerLatent, xIn, batch, d, m, dpre,
                            wDec.grad, decActive, wEnc.grad, encActive, bEnc.grad);
                }
            }
            lastDensity = active / ((double) batch * m);
            // sparsity = (lambda / B) sum_i |W_dec,i| sum_b f_bi; its decoder gradient is
            // (lambda / B) (sum_b f_bi) W_dec,i / |W_dec,i|, put in l1PerLatent's place as a per-row coefficient.
            sparsity = dev.dot(actSums, l1PerLatent, m);
            if (!plainL1) {
                dev.l1DecoderCoefficients(actSums, decNorms, (float) (l1 / batch), m, decNorms);
                dev.addScaledRows(wDec.param, decNorms, m, d, wDec.grad, decActive);
            }
            lap("backward");
        }
        // Matryoshka: b_dec is in every prefix, so it collects the sum of their residuals.
        dev.addColumnSums(matryoshka != null ? matryoshka.residualSum() : err, batch, d, gScale, bDec.grad);
        if (cfg.applyBDecToInput() && gated == null) { // gated: GatedStep adds both encoder paths' part
            // x_in = x - b_dec, so b_dec also gets -sum_b dpre_b W_enc = -(dL/db_enc) W_enc.
            dev.addVecMat(bEnc.grad, encParam(), m, d, -1f, bDec.grad);
        }
        lap("b_dec grad");
        if (cfg.unitNormDecoder()) {
            dev.projectOutParallel(wDec.param, wDec.grad, m, d, decActive);
            lap("projection");
        }
        double sq = (cfg.tied() ? 0 : dev.sumSquares(wEnc.grad, m, d, encActive)) + dev.sumSquares(bEnc.grad, 1, m, null)
                + dev.sumSquares(wDec.grad, m, d, decActive) + dev.sumSquares(bDec.grad, 1, d, null);
        if (jumpRelu != null) {
            sq += dev.sumSquares(jumpRelu.logThreshold.grad, 1, m, null);
        }
        if (gated != null) {
            sq += gated.gradSumSquares();
        }
        lap("grad norm");
        return new StepStats(batch, sse, centered, active, sparsity, aux, dead, Math.sqrt(sq), dense);
    }

    /**
     * The picks of this step's TopK with value > 0 (its L0), counted on the device: the picks are ReLU'd already, so
     * reluDense over them changes nothing and returns that count (one word back, not batch * k values).
     */
    private long countActive() {
        return dev.reluDense(acts.val(), 1, batch * cfg.k());
    }

    /** AuxK (Gao et al. 2024, appendix A.2) over {@code dead} dead latents; returns its loss. */
    private double auxK(int dead) {
        int kAux = Math.min(cfg.kAux(), dead);
        SparseActs aux = kAux == cfg.kAux() ? auxActs : new SparseActs(auxActs.rowPtr(), auxActs.idx(), auxActs.val(),
                auxActs.grad(), batch, batch * kAux);
        dev.topk(pre, batch, m, kAux, lastFired, step - 1 - deadSteps, aux);
        dev.scaleInto(err, resid, (long) batch * d, -1f);
        double denom = dev.centeredSumSquares(resid, batch, d);
        if (!(denom > 0)) {
            return 0;
        }
        double auxSse = dev.sparseDecode(aux, wDec.param, null, resid, batch, d, auxHat, auxErr);
        float auxScale = (float) (2 * auxAlpha / denom);
        dev.sparseBackward(aux, auxErr, auxScale, wDec.param, null, xIn, batch, d, m, wDec.grad, decActive, encGrad(),
                bEnc.grad, encFlags());
        return auxAlpha * auxSse / denom;
    }

    /**
     * Everything the engine's future depends on, on the host: parameters with their Adam moments (latent-major
     * W_enc, as on the device), the step counter, the relu path's last density, the firing bookkeeping, and the
     * threshold architectures' state (jumprelu's log_threshold as a parameter; batchtopk's threshold estimate).
     * Gradients and per-batch buffers are not state: each step recomputes them. Restoring a snapshot into an
     * engine of the same config and batch makes its next steps bit-identical to the original's.
     *
     * @param floats named fp32 tensors: {@code <param>} , {@code <param>.adam_m}, {@code <param>.adam_v} for
     *               W_enc, b_enc, W_dec, b_dec (tied: no W_enc; W_dec is the shared matrix; jumprelu adds
     *               log_threshold; gated names b_enc b_gate and adds b_mag, r_mag); {@code batchtopk_threshold}
     *               [1] for batchtopk and matryoshka (whose groups are config, not state)
     * @param ints   {@code last_fired} and {@code fire_counts} [nLatents]; relu-2023 with resampling also
     *               {@code resampler} [3] (resamplings done, seed low and high 32 bits: its Philox state)
     */
    public record State(java.util.Map<String, float[]> floats, java.util.Map<String, int[]> ints, int step,
                        double lastDensity) {
    }

    /** The snapshot key of batchtopk's threshold estimate. */
    static final String BATCHTOPK_THRESHOLD_KEY = "batchtopk_threshold";

    private java.util.Map<String, AdamState> namedParams() {
        java.util.Map<String, AdamState> p = new java.util.LinkedHashMap<>();
        if (!cfg.tied()) {
            p.put("W_enc", wEnc);
        }
        p.put(cfg.arch().encoderBiasName(), bEnc); // gated: b_gate
        p.put("W_dec", wDec);
        p.put("b_dec", bDec);
        if (jumpRelu != null) {
            p.put("log_threshold", jumpRelu.logThreshold);
        }
        if (gated != null) {
            p.putAll(gated.params());
        }
        return p;
    }

    /** Reads {@code n} values of one state tensor, from element {@code offset}, into {@code dst[0..n)}. */
    @FunctionalInterface
    public interface FloatSource {
        void read(long offset, float[] dst, int n);
    }

    /** One fp32 tensor of the state, read from the device on demand (a checkpoint streams it in chunks). */
    public record LazyFloats(long length, FloatSource source) {
    }

    /** The fp32 tensors of {@link State}, in its order and with its names, not yet copied to the host. */
    public java.util.Map<String, LazyFloats> stateFloats() {
        java.util.Map<String, LazyFloats> f = new java.util.LinkedHashMap<>();
        namedParams().forEach((name, a) -> {
            for (String suffix : new String[] {"", ".adam_m", ".adam_v"}) {
                FloatBuf b = suffix.isEmpty() ? a.param : suffix.equals(".adam_m") ? a.m : a.v;
                f.put(name + suffix, new LazyFloats(b.size(), (off, dst, n) -> dev.download(b, off, dst, 0, n)));
            }
        });
        if (batchTopk != null) {
            float t = batchTopk.threshold();
            f.put(BATCHTOPK_THRESHOLD_KEY, new LazyFloats(1, (off, dst, n) -> dst[0] = t));
        }
        return f;
    }

    /** The int32 tensors of {@link State} (small: [nLatents] or less), copied to the host. */
    public java.util.Map<String, int[]> stateInts() {
        java.util.Map<String, int[]> i = new java.util.LinkedHashMap<>();
        int[] last = new int[m];
        dev.downloadInt(lastFired, 0, last, 0, m);
        i.put("last_fired", last);
        int[] counts = new int[m];
        dev.downloadInt(fireCounts, 0, counts, 0, m);
        i.put("fire_counts", counts);
        if (resampler != null) {
            i.put(Resampler.STATE_KEY, resampler.state());
        }
        return i;
    }

    /** Steps taken so far (the Adam step counter). */
    public int stepCount() {
        return step;
    }

    /** The relu path's density of the last step (it picks the sparse or dense path of the next). */
    public double lastDensity() {
        return lastDensity;
    }

    /** A host copy of the engine's state (see {@link State}). */
    public State snapshot() {
        java.util.Map<String, float[]> f = new java.util.LinkedHashMap<>();
        stateFloats().forEach((name, lazy) -> {
            float[] h = new float[Math.toIntExact(lazy.length())];
            lazy.source().read(0, h, h.length);
            f.put(name, h);
        });
        return new State(f, stateInts(), step, lastDensity);
    }

    /** Loads a snapshot taken from an engine of the same config; throws naming what does not match. */
    public void restore(State s) {
        namedParams().forEach((name, a) -> {
            int n = Math.toIntExact(a.size());
            for (String suffix : new String[] {"", ".adam_m", ".adam_v"}) {
                float[] h = s.floats().get(name + suffix);
                if (h == null || h.length != n) {
                    throw new UsageException("checkpoint state " + name + suffix + " of " + cfg.name()
                            + (h == null ? " is missing" : " has " + h.length + " values, expected " + n));
                }
                dev.upload(h, 0, suffix.isEmpty() ? a.param : suffix.equals(".adam_m") ? a.m : a.v, 0, n);
            }
        });
        for (String key : new String[] {"last_fired", "fire_counts"}) {
            int[] h = s.ints().get(key);
            if (h == null || h.length != m) {
                throw new UsageException("checkpoint state " + key + " of " + cfg.name()
                        + (h == null ? " is missing" : " has " + h.length + " values, expected " + m));
            }
            dev.uploadInt(h, 0, key.equals("last_fired") ? lastFired : fireCounts, 0, m);
        }
        if (resampler != null) {
            int[] r = s.ints().get(Resampler.STATE_KEY);
            if (r == null || r.length != 3) {
                throw new UsageException("checkpoint state " + Resampler.STATE_KEY + " of " + cfg.name()
                        + (r == null ? " is missing" : " has " + r.length + " values, expected 3"));
            }
            resampler.restore(r);
        }
        if (batchTopk != null) {
            float[] t = s.floats().get(BATCHTOPK_THRESHOLD_KEY);
            if (t == null || t.length != 1) {
                throw new UsageException("checkpoint state " + BATCHTOPK_THRESHOLD_KEY + " of " + cfg.name()
                        + (t == null ? " is missing" : " has " + t.length + " values, expected 1"));
            }
            batchTopk.setThreshold(t[0]);
        }
        step = s.step();
        lastDensity = s.lastDensity();
    }

    /** Firing counts since the last call, per latent; resets them. */
    public int[] takeFireCounts() {
        int[] c = new int[m];
        dev.downloadInt(fireCounts, 0, c, 0, m);
        dev.uploadInt(new int[m], 0, fireCounts, 0, m);
        return c;
    }

    /** Latents that have not fired for the dead window. */
    public int deadCount() {
        return dev.countAtOrBelow(lastFired, m, step - deadSteps);
    }

    @Override
    public void close() {
        for (AdamState a : new AdamState[] {wEnc, bEnc, wDec, bDec}) {
            if (a != null) {
                a.close();
            }
        }
        if (encActive != null) {
            encActive.close();
        }
        decActive.close();
        xIn.close();
        pre.close();
        xHat.close();
        err.close();
        acts.close();
        lastFired.close();
        fireCounts.close();
        if (auxActs != null) {
            auxActs.close();
            resid.close();
            auxHat.close();
            auxErr.close();
        }
        if (decNorms != null) {
            decNorms.close();
            l1PerLatent.close();
            actSums.close();
        }
        if (dpre != null) {
            dpre.close();
        }
        if (tiedEncGrad != null) {
            tiedEncGrad.close();
            ones.close();
        }
        if (resampler != null) {
            resampler.close();
        }
        if (batchTopk != null) {
            batchTopk.close();
        }
        if (jumpRelu != null) {
            jumpRelu.close();
        }
        if (matryoshka != null) {
            matryoshka.close();
        }
        if (gated != null) {
            gated.close();
        }
    }
}
