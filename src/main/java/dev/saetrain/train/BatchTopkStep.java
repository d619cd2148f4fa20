package dev.saetrain.train;

import dev.saetrain.device.Device;
import dev.saetrain.device.FloatBuf;
import dev.saetrain.device.SparseActs;
import dev.saetrain.model.SaeConfig;

/**
 * The BatchTopK selection of a training step (Bussmann, Leask and Nanda 2024, "BatchTopK Sparse
 * Autoencoders"): over the B rows of a batch, the k * B largest pre-activations are kept (ReLU'd), so a row
 * holds as many latents as the batch gives it; the rest of the step (decode, AuxK on dead latents, unit-norm
 * decoder with gradient projection) is topk's, in {@link Engine}.
 *
 * <p>At inference there is no batch, so the SAE is run as a JumpReLU with one threshold theta for every
 * latent: f = pre * 1[pre > theta]. The paper estimates theta as the mean over batches of the smallest kept
 * activation; we keep an exponential moving average of it at rate {@link SaeConfig#BATCHTOPK_THRESHOLD_RATE},
 * set from the first batch directly (an average started at 0 would lag for the first hundreds of steps).
 * theta is fp32 state, saved in checkpoints, so a resumed run continues it bit for bit.
 */
final class BatchTopkStep implements AutoCloseable {
    /** Device bytes this class allocates: {@code minKept} [1]. */
    static final long BUFFER_BYTES = 4;

    private final Device dev;
    private final int batch;
    private final long kTotal;
    private final FloatBuf minKept; // [1]
    private float threshold;         // 0: no estimate yet

    BatchTopkStep(Device dev, SaeConfig cfg, int batch) {
        this.dev = dev;
        this.batch = batch;
        this.kTotal = (long) cfg.k() * batch;
        this.minKept = dev.allocFloat(1);
    }

    /** Capacity the activations need: k * B entries. */
    static int capacity(SaeConfig cfg, int batch) {
        return Math.multiplyExact(cfg.k(), batch);
    }

    /**
     * Selects the batch's k * B largest positive pre-activations of pre [B, nLatents] into {@code acts},
     * updates theta from the smallest of them, and returns how many were kept (all of value > 0).
     */
    long select(FloatBuf pre, int nLatents, SparseActs acts) {
        long kept = dev.batchTopk(pre, batch, nLatents, kTotal, acts, minKept);
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

    @Override
    public void close() {
        minKept.close();
    }
}
