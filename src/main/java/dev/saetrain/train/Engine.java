package dev.saetrain.train;

import dev.saetrain.device.AdamUpdate;
import dev.saetrain.device.Device;
import dev.saetrain.device.FloatBuf;
import dev.saetrain.device.IntBuf;
import dev.saetrain.device.SparseSwitch;
import dev.saetrain.io.HostMatrix;
import dev.saetrain.model.SaeConfig;
import dev.saetrain.model.SaeWeights;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One SAE and its training step, written once over {@link Device}. Knows nothing of files or schedules:
 * the trainer hands it a batch on the device, the learning rate and the sparsity coefficient of this step.
 *
 * <p>The step (docs/design.md, "The training step"), with B rows, g = dL/dx_hat = (2/B)(x_hat - x):
 * <pre>
 *   pre = (x - b_dec) W_enc + b_enc;  f = act(pre) sparse;  x_hat = f W_dec + b_dec
 *   topk: loss = mse + AuxK ({@link TopkStep}, {@link AuxK}; Gao et al. 2024, appendix A.2): the k_aux largest
 *         pre-activations among dead latents reconstruct e = x - x_hat: alpha |e_hat - e|^2 / |e - mean e|^2,
 *         alpha = 1/32
 *   relu: loss = mse + lambda * mean_b sum_i f_i |W_dec,i|  ({@link ReluStep}; Anthropic, April 2024 update)
 *   relu-2023: loss = mse + lambda * mean_b sum_i f_i, unit-norm decoder rows, dead latents resampled
 *         ({@link ReluStep}, {@link Resampler}; Bricken et al. 2023, "Towards Monosemanticity")
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
 * and switches to sparse products once the measured density falls below the device's crossing density ({@link
 * Device#sparseSwitch()}; jumprelu and gated likewise).
 *
 * <p>The engine runs what every architecture shares ({@link SharedParts}: encode, b_dec's gradient, the unit-norm
 * projection, clipping, Adam, decoder renormalisation, firing and dead counts); everything else is the
 * architecture's {@link ArchitectureStep}: one class per architecture ({@link TopkStep}, {@link ReluStep},
 * {@link BatchTopkStep}, {@link JumpReluStep}, {@link MatryoshkaStep}, {@link GatedStep}). Its state for checkpoints
 * is an {@link EngineState}.
 */
public final class Engine implements AutoCloseable {
    /** AuxK coefficient by default (Gao et al. 2024, appendix A.2); {@code --auxk-coef} changes it per run. */
    static final double AUX_ALPHA = 1.0 / 32;
    static final float BETA1 = 0.9f;
    static final float BETA2 = 0.999f;
    /** Adam's epsilon by default; {@code --adam-eps} changes it per run. */
    static final float EPS = 1e-8f;
    /** Gradient-norm clip (docs/design.md, "The training step"). */
    static final double CLIP_NORM = 1.0;

    private final Allocator alloc;
    private boolean optimizerReleased; // gradients and Adam moments freed for the export: no more steps
    private final float adamEps;
    private final SharedParts s;
    private final ArchitectureStep arch;
    private final Device dev;
    private final SaeConfig cfg;
    private final int batch;
    private final int d;
    private final int m;

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
        this(device, init, batch, deadTokens, resampling, auxAlpha, adamEps, SharedParts.PRE_BLOCK_BYTES);
    }

    /**
     * As above, with the largest pre-activation block {@code preBlockBytes} a row-blocking step keeps whole
     * ({@link MemoryPlan#fitting} picks it from the memory budget).
     */
    public Engine(Device device, SaeWeights init, int batch, long deadTokens, Resampler.Plan resampling,
                  double auxAlpha, float adamEps, long preBlockBytes) {
        this(Allocator.on(device), init.config(), batch, deadTokens, resampling, auxAlpha, adamEps, preBlockBytes);
        try {
            load(init);
        } catch (RuntimeException e) {
            alloc.close();
            throw e;
        }
    }

    /** Allocates every part through {@code a} (a counting allocator: only counts, see {@link #memoryNeed}). */
    private Engine(Allocator a, SaeConfig cfg, int batch, long deadTokens, Resampler.Plan resampling,
                   double auxAlpha, float adamEps, long preBlockBytes) {
        if (!(auxAlpha >= 0) || !(adamEps > 0)) {
            throw new IllegalArgumentException("AuxK coefficient " + auxAlpha + " must be >= 0 and Adam epsilon "
                    + adamEps + " > 0");
        }
        this.alloc = a;
        this.adamEps = adamEps;
        this.cfg = cfg;
        this.dev = a.device();
        this.batch = batch;
        this.d = cfg.dIn();
        this.m = cfg.nLatents();
        try {
            this.s = new SharedParts(a, cfg, batch, deadTokens, preBlockBytes);
            this.arch = ArchitectureStep.create(a, s, resampling, auxAlpha);
        } catch (RuntimeException | Error e) {
            a.close();
            throw e;
        }
    }

    /** Times each phase of later steps (bench); null turns it off. */
    public void setProfiler(Profiler p) {
        s.setProfiler(p);
    }

    /**
     * Device memory one engine allocates, in bytes, split into parameters with their gradients and Adam
     * moments, and the per-batch working buffers.
     */
    public record MemoryNeed(long parameterBytes, long bufferBytes) {
        public long total() {
            return parameterBytes + bufferBytes;
        }
    }

    /**
     * What {@code new Engine(device, init(cfg), batch, ...)} allocates, counted by building the same parts on a
     * counting {@link Allocator}: the dense paths' scratch included and, where the architecture resamples dead
     * latents (relu-2023), the resampler's buffers as the trainer builds it (with resampling on, the default;
     * {@code --resample-every 0} allocates batch + 2 nLatents words less). The sparse activations of the steps
     * that switch between dense and sparse products are sized by {@code sparseSwitch}, the device's.
     */
    public static MemoryNeed memoryNeed(SaeConfig cfg, int batch, SparseSwitch sparseSwitch) {
        return memoryNeed(cfg, batch, sparseSwitch, SharedParts.PRE_BLOCK_BYTES);
    }

    /** {@link #memoryNeed(SaeConfig, int, SparseSwitch)} with pre-activation blocks of at most {@code preBlockBytes}. */
    public static MemoryNeed memoryNeed(SaeConfig cfg, int batch, SparseSwitch sparseSwitch, long preBlockBytes) {
        Allocator counting = Allocator.counting(sparseSwitch);
        new Engine(counting, cfg, batch, 1, cfg.arch().resamplesDeadLatents() ? new Resampler.Plan(0, 1, 1, 0) : null,
                AUX_ALPHA, EPS, preBlockBytes);
        return new MemoryNeed(counting.parameterBytes(), counting.bufferBytes());
    }

    /** The SAE's config. */
    public SaeConfig config() {
        return cfg;
    }

    /** The architecture's part of the step (tests read its state). */
    ArchitectureStep architecture() {
        return arch;
    }

    /** The parts every architecture shares (tests read the gradients and buffers). */
    SharedParts shared() {
        return s;
    }

    private void load(SaeWeights w) {
        // W_enc [d, m] goes up latent-major, transposed chunk by chunk (no second full copy on the heap); the
        // matrices are paged (HostMatrix) and every device offset is a long, so d * m may pass 2^31.
        HostMatrix wEncIn = w.wEnc();
        HostMatrix wDecIn = w.wDec();
        int rowsPerChunk = Math.max(1, (1 << 16) / d);
        float[] chunk = new float[Math.min(m, rowsPerChunk) * d];
        float[] decRows = cfg.tied() ? new float[chunk.length] : null;
        for (int i0 = 0; i0 < m; i0 += rowsPerChunk) {
            int rows = Math.min(rowsPerChunk, m - i0);
            for (int j = 0; j < d; j++) {
                float[] page = wEncIn.page(j);
                int o = wEncIn.offset(j) + i0;
                for (int r = 0; r < rows; r++) {
                    chunk[r * d + j] = page[o + r];
                }
            }
            if (!cfg.tied()) {
                dev.upload(chunk, 0, s.wEnc.param, (long) i0 * d, rows * d);
            } else {
                wDecIn.get((long) i0 * d, decRows, 0, rows * d);
                if (!Arrays.equals(chunk, 0, rows * d, decRows, 0, rows * d)) {
                    throw new IllegalArgumentException("a tied SAE needs W_enc = W_dec^T in its initial weights");
                }
            }
        }
        dev.upload(w.bEnc(), 0, s.bEnc.param, 0, m);
        for (int r0 = 0; r0 < m; r0 += wDecIn.rowsPerPage()) {
            float[] page = wDecIn.page(r0);
            dev.upload(page, 0, s.wDec.param, (long) r0 * d, page.length);
        }
        dev.upload(w.bDec(), 0, s.bDec.param, 0, d);
        arch.load(w);
    }

    /**
     * The current parameters, downloaded, in SAELens orientation (W_enc [d, m]). The latent-major encoder is
     * transposed chunk by chunk on the way down, so the host holds one copy of each matrix, not two; each matrix is
     * paged ({@link HostMatrix}), so d * m may pass 2^31.
     */
    public SaeWeights weights() {
        HostMatrix we = new HostMatrix(d, m);
        int rowsPerChunk = Math.max(1, (1 << 16) / d);
        float[] chunk = new float[Math.min(m, rowsPerChunk) * d];
        for (int i0 = 0; i0 < m; i0 += rowsPerChunk) {
            int rows = Math.min(rowsPerChunk, m - i0);
            dev.download(s.encParam(), (long) i0 * d, chunk, 0, rows * d);
            for (int j = 0; j < d; j++) {
                float[] page = we.page(j);
                int o = we.offset(j) + i0;
                for (int r = 0; r < rows; r++) {
                    page[o + r] = chunk[r * d + j];
                }
            }
        }
        float[] be = new float[m];
        dev.download(s.bEnc.param, 0, be, 0, m);
        HostMatrix wd = new HostMatrix(m, d);
        for (int r0 = 0; r0 < m; r0 += wd.rowsPerPage()) {
            float[] page = wd.page(r0);
            dev.download(s.wDec.param, (long) r0 * d, page, 0, page.length);
        }
        float[] bd = new float[d];
        dev.download(s.bDec.param, 0, bd, 0, d);
        Map<String, float[]> extras = new LinkedHashMap<>();
        arch.addExportTensors(extras);
        return new SaeWeights(cfg, we, be, wd, bd, extras);
    }

    /** One full step on batch x [B, d] (on this engine's device), every parameter at {@code lr}. */
    public StepStats step(FloatBuf x, double lr, double l1) {
        return step(x, lr, l1, lr);
    }

    /**
     * One full step on batch x [B, d] (on this engine's device): gradients, clip, Adam, decoder renorm. Thresholds
     * ({@link ArchitectureStep#isThreshold}: jumprelu's log_threshold) take {@code thresholdLr}, the rest {@code lr}.
     */
    public StepStats step(FloatBuf x, double lr, double l1, double thresholdLr) {
        requireOptimizerState("a step");
        s.startProfile();
        StepStats st = computeGradients(x, l1);
        double clip = st.gradNorm() > CLIP_NORM ? CLIP_NORM / st.gradNorm() : 1.0;
        int t = s.step;
        float flr = (float) lr;
        float fc = (float) clip;
        if (!cfg.tied()) {
            adam(s.wEnc, s.encActive, flr, fc, t);
        }
        adam(s.bEnc, null, flr, fc, t);
        adam(s.wDec, s.decActive, flr, fc, t);
        adam(s.bDec, null, flr, fc, t);
        for (Map.Entry<String, AdamState> e : arch.parameters().entrySet()) {
            adam(e.getValue(), null, arch.isThreshold(e.getKey()) ? (float) thresholdLr : flr, fc, t);
        }
        s.lap("adam");
        if (cfg.unitNormDecoder()) {
            dev.normalizeRows(s.wDec.param, m, d);
            s.lap("renorm");
        }
        arch.afterUpdate(x);
        return st;
    }

    private void adam(AdamState a, IntBuf rowActive, float lr, float clip, int t) {
        dev.adamStep(a.param, a.grad, a.m, a.v, a.rows, a.cols, rowActive,
                new AdamUpdate(lr, BETA1, BETA2, adamEps, clip, t));
    }

    /**
     * Forward and backward on x [B, d]: fills the gradient buffers (unit-norm projection applied where
     * {@link SaeConfig#unitNormDecoder()}) and returns the step's statistics, with the gradient norm before
     * clipping. Advances the step counter.
     */
    StepStats computeGradients(FloatBuf x, double l1) {
        s.step++;
        if (!cfg.tied()) {
            dev.clearFlags(s.encActive, m);
        }
        dev.clearFlags(s.decActive, m);
        dev.fill(s.bEnc.grad, m, 0f);
        dev.fill(s.bDec.grad, d, 0f);
        s.lap("setup");
        if (!s.rowBlocked()) { // row-blocked, the step encodes each block before it selects (TopkStep, BatchTopkStep)
            dev.encode(x, s.bDec.param, s.encParam(), s.bEnc.param, cfg.applyBDecToInput(), s.shape, s.xIn, s.pre);
            s.lap("encode"); // the encode op alone: bench compares this phase with the product timed alone
        }
        double centered = dev.centeredSumSquares(x, batch, d);
        float gScale = 2f / batch;
        int dead = dev.countAtOrBelow(s.lastFired, m, s.step - 1 - s.deadSteps);
        ArchitectureStep.Result r = arch.forwardBackward(x, l1, gScale, dead);
        dev.addColumnSums(arch.decoderResidual(s), batch, d, gScale, s.bDec.grad);
        if (cfg.applyBDecToInput()) {
            arch.addCenteringGradient(s);
        }
        s.lap("b_dec grad");
        if (cfg.unitNormDecoder()) {
            dev.projectOutParallel(s.wDec.param, s.wDec.grad, m, d, s.decActive);
            s.lap("projection");
        }
        double sq = (cfg.tied() ? 0 : dev.sumSquares(s.wEnc.grad, m, d, s.encActive))
                + dev.sumSquares(s.bEnc.grad, 1, m, null) + dev.sumSquares(s.wDec.grad, m, d, s.decActive)
                + dev.sumSquares(s.bDec.grad, 1, d, null);
        // The architecture's parameters are summed apart, then added: the grouping of the sums that earlier
        // versions used, so that the clip, and with it every step, stays bit for bit the same.
        double extra = 0;
        for (AdamState a : arch.parameters().values()) {
            extra += dev.sumSquares(a.grad, a.rows, a.cols, null);
        }
        sq += extra;
        s.lap("grad norm");
        return new StepStats(batch, r.sse(), centered, r.active(), r.sparsity(), r.aux(), dead, Math.sqrt(sq),
                r.dense());
    }

    /** The fp32 tensors of the engine's {@link EngineState}, in its order and with its names, not yet copied. */
    public Map<String, EngineState.LazyFloats> stateFloats() {
        requireOptimizerState("a checkpoint");
        return EngineState.floats(s, arch);
    }

    /** The int32 tensors of the engine's {@link EngineState} (small: [nLatents] or less), copied to the host. */
    public Map<String, int[]> stateInts() {
        return EngineState.ints(s, arch);
    }

    /** Steps taken so far (the Adam step counter). */
    public int stepCount() {
        return s.step;
    }

    /** The dense/sparse switch's density of the last step (it picks the sparse or dense path of the next). */
    public double lastDensity() {
        return s.lastDensity;
    }

    /** A host copy of the engine's state (see {@link EngineState}). */
    public EngineState snapshot() {
        requireOptimizerState("a snapshot");
        return EngineState.of(s, arch);
    }

    /** Loads a snapshot taken from an engine of the same config; throws naming what does not match. */
    public void restore(EngineState state) {
        requireOptimizerState("a restore");
        state.restoreInto(s, arch);
    }

    /** Firing counts since the last call, per latent; resets them. */
    public int[] takeFireCounts() {
        int[] c = new int[m];
        dev.downloadInt(s.fireCounts, 0, c, 0, m);
        dev.uploadInt(new int[m], 0, s.fireCounts, 0, m);
        return c;
    }

    /** Latents that have not fired for the dead window. */
    public int deadCount() {
        return dev.countAtOrBelow(s.lastFired, m, s.step - s.deadSteps);
    }

    /**
     * Frees the gradients and Adam moments of every parameter, keeping the parameters and the step buffers: for the
     * export after the last step and checkpoint, so that the weights' host copy ({@link #weights}) replaces memory the
     * plan counted rather than adding to the run's peak. The engine can then export, but not step, checkpoint or
     * restore.
     */
    public void releaseOptimizerState() {
        optimizerReleased = true;
        alloc.releaseOptimizerState();
    }

    private void requireOptimizerState(String what) {
        if (optimizerReleased) {
            throw new IllegalStateException(what + " after the optimizer state was released for the export");
        }
    }

    /** Frees every buffer of the engine. */
    @Override
    public void close() {
        alloc.close();
    }
}
