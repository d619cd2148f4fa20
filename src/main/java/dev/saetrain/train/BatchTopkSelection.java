package dev.saetrain.train;

import dev.saetrain.device.Device;
import dev.saetrain.device.FloatBuf;
import dev.saetrain.device.SparseActs;
import dev.saetrain.device.StepShape;
import dev.saetrain.model.SaeConfig;
import dev.saetrain.model.SaeWeights;
import java.util.Arrays;
import java.util.Map;

/**
 * The BatchTopK selection of a training step (Bussmann, Leask and Nanda 2024, "BatchTopK Sparse
 * Autoencoders"): over the B rows of a batch, the k * B largest pre-activations are kept (ReLU'd), so a row
 * holds as many latents as the batch gives it; the rest of the step (decode, AuxK on dead latents, unit-norm
 * decoder with gradient projection) is topk's ({@link BatchTopkStep}, {@link MatryoshkaStep}).
 *
 * <p>At inference there is no batch, so the SAE is run as a JumpReLU with one threshold theta for every
 * latent: f = pre * 1[pre > theta]. The paper estimates theta as the mean over batches of the smallest kept
 * activation; we keep an exponential moving average of it at rate {@link SaeConfig#BATCHTOPK_THRESHOLD_RATE},
 * set from the first batch directly (an average started at 0 would lag for the first hundreds of steps).
 * theta is fp32 state, saved in checkpoints, so a resumed run continues it bit for bit.
 *
 * <p>Row-blocked ({@link SharedParts#rowBlocked()}): the selection encodes the batch a block of rows at a time and
 * keeps each block's candidates ({@link #selectBlocks}), so the [B, nLatents] pre-activations never exist whole;
 * what it selects, and with it theta, is what the whole batch gives.
 */
final class BatchTopkSelection {
    /** The checkpoint state's name of theta. */
    static final String THRESHOLD_KEY = "batchtopk_threshold";

    private final Device dev;
    private final SharedParts s;
    private final long kTotal;
    private final FloatBuf minKept; // [1]
    private final RowBlocks blocks; // null unless row-blocked
    private final SparseActs[] candidates; // row-blocked: block j's min(kTotal, rows * m) largest; one shared grad
    private float threshold;         // 0: no estimate yet

    /** @param blocks the step's row blocks, or null when the engine encodes the whole batch into {@code s.pre} */
    BatchTopkSelection(Allocator a, SharedParts s, RowBlocks blocks) {
        this.dev = a.device();
        this.s = s;
        this.kTotal = (long) s.cfg.k() * s.batch;
        this.minKept = a.floats(1);
        this.blocks = blocks;
        this.candidates = blocks == null ? null : new SparseActs[blocks.count()];
        if (blocks != null) {
            FloatBuf grad = a.floats(candidates(0)); // no op writes a candidate's gradient: one buffer serves all
            for (int j = 0; j < blocks.count(); j++) {
                int cap = candidates(j);
                candidates[j] = new SparseActs(a.ints(blocks.rows(j) + 1L), a.ints(cap), a.floats(cap), grad,
                        blocks.rows(j), cap);
            }
        }
    }

    /** Entries block j can give the batch's selection: its kTotal largest, or all its rows * m when fewer. */
    private int candidates(int j) {
        return (int) Math.min(kTotal, (long) blocks.rows(j) * s.m);
    }

    /** Whether the selection encodes the batch itself, a block of rows at a time ({@link #selectBlocks}). */
    boolean rowBlocked() {
        return blocks != null;
    }

    /**
     * Selects the batch's k * B largest positive pre-activations of pre [B, nLatents] into {@code acts},
     * updates theta from the smallest of them, and returns how many were kept (all of value > 0).
     */
    long select(FloatBuf pre, SparseActs acts) {
        return record(dev.batchTopkOps().batchTopk(pre, s.shape, kTotal, acts, minKept));
    }

    /**
     * Row-blocked {@link #select}: encodes x [B, d] one block of rows at a time into {@code s.pre} (and the block's
     * rows of xIn), keeps the block's candidates (its kTotal largest: an entry the batch keeps is among them, as at
     * most kTotal - 1 entries of the batch rank before it, however they are spread over the blocks) and lets AuxK
     * select the block's dead latents while its pre-activations exist; then selects the batch's kTotal largest
     * from the candidates ({@code BatchTopkOps.batchTopkMerge}): the entries, their order, the tie rule and the
     * smallest kept value of the whole batch's {@link #select}, with each pre-activation encoded once.
     */
    long selectBlocks(FloatBuf x, AuxK auxK, int dead, SparseActs acts) {
        FloatBuf[] xRows = blocks.views(dev, x, s.d);
        for (int j = 0; j < blocks.count(); j++) {
            StepShape shape = blocks.shape(j);
            s.encodeBlock(j, xRows);
            dev.batchTopkOps().batchTopk(s.pre, shape, candidates(j), candidates[j], minKept);
            auxK.selectBlock(j, shape, dead);
            s.lap("select");
        }
        return record(dev.batchTopkOps().batchTopkMerge(candidates, kTotal, acts, minKept));
    }

    /** Moves theta toward this batch's smallest kept value (in minKept) when anything was kept; returns kept. */
    private long record(long kept) {
        if (kept > 0) {
            float[] h = new float[1];
            dev.download(minKept, 0, h, 0, 1);
            double rate = SaeConfig.BATCHTOPK_THRESHOLD_RATE;
            threshold = threshold == 0f ? h[0] : (float) ((1 - rate) * threshold + rate * h[0]);
        }
        return kept;
    }

    /** The inference threshold theta (0 before the first batch). */
    float threshold() {
        return threshold;
    }

    /** Restores theta (checkpoints; initial weights). */
    void setThreshold(float theta) {
        if (!(theta >= 0) || Float.isInfinite(theta)) {
            throw new IllegalArgumentException("batchtopk threshold must be a finite number >= 0, got " + theta);
        }
        this.threshold = theta;
    }

    /**
     * Sets theta from initial weights that carry a {@code threshold} [nLatents] (one value for every latent; none:
     * no estimate yet).
     */
    void load(SaeWeights init) {
        float[] t = init.extras().get("threshold");
        if (t != null) {
            for (float v : t) {
                if (v != t[0]) {
                    throw new IllegalArgumentException("batchtopk has one threshold for every latent; the initial"
                            + " weights of " + init.config().name() + " hold different ones (" + t[0] + ", " + v + ")");
                }
            }
            setThreshold(t[0]);
        }
    }

    /** The exported threshold [nLatents]: theta for every latent (SAELens's jumprelu form). */
    float[] exportThreshold(int nLatents) {
        float[] t = new float[nLatents];
        Arrays.fill(t, threshold);
        return t;
    }

    /** Adds theta to the checkpoint state ({@link #THRESHOLD_KEY} [1]). */
    void addStateFloats(Map<String, EngineState.LazyFloats> floats) {
        float t = threshold;
        floats.put(THRESHOLD_KEY, new EngineState.LazyFloats(1, (off, dst, n) -> dst[0] = t));
    }

    /** Restores theta from the checkpoint state. */
    void restoreState(EngineState state, SharedParts s) {
        setThreshold(state.requireFloats(THRESHOLD_KEY, 1, s)[0]);
    }
}
