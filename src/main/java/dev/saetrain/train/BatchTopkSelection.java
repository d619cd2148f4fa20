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
 */
final class BatchTopkSelection {
    /** The checkpoint state's name of theta. */
    static final String THRESHOLD_KEY = "batchtopk_threshold";

    private final Device dev;
    private final StepShape shape;
    private final long kTotal;
    private final FloatBuf minKept; // [1]
    private float threshold;         // 0: no estimate yet

    BatchTopkSelection(Allocator a, SaeConfig cfg, StepShape shape) {
        this.dev = a.device();
        this.shape = shape;
        this.kTotal = (long) cfg.k() * shape.batch();
        this.minKept = a.floats(1);
    }

    /**
     * Selects the batch's k * B largest positive pre-activations of pre [B, nLatents] into {@code acts},
     * updates theta from the smallest of them, and returns how many were kept (all of value > 0).
     */
    long select(FloatBuf pre, SparseActs acts) {
        long kept = dev.batchTopkOps().batchTopk(pre, shape, kTotal, acts, minKept);
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
