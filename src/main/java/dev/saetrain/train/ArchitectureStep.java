package dev.saetrain.train;

import dev.saetrain.device.FloatBuf;
import dev.saetrain.model.SaeWeights;
import java.util.Map;

/**
 * What one architecture adds to the training step, in one class per architecture ({@link #create} picks it). The
 * {@link Engine} encodes the batch into {@link SharedParts#pre}; the architecture's step then does everything
 * between that and the update: the activation and its sparse (or dense) form, the decode into x_hat and err, the
 * backward into the shared gradients and its own, the firing record and its loss terms. The engine then adds
 * b_dec's gradient, projects, clips, and updates every parameter: the shared four and {@link #parameters()}.
 *
 * <p>Each architecture allocates its buffers through the {@link Allocator} it is created with (so the memory plan
 * counts them) and keeps its own state: extra parameters, which the engine updates with Adam, clips and saves
 * with their moments; and other state ({@link #addStateFloats}, {@link #addStateInts}), which the checkpoint saves
 * as it is.
 *
 * <p>Adding an architecture: docs/architectures.md, "Adding an architecture".
 */
interface ArchitectureStep {
    /**
     * Entries of the sparse activations of a step that goes sparse below {@code density} (the device's, {@link
     * dev.saetrain.device.SparseSwitch}).
     */
    static long sparseCapacity(int batch, int nLatents, double density) {
        return Math.max(batch, (long) (batch * (double) nLatents * density));
    }

    /**
     * What one forward and backward measured.
     *
     * @param active    L0 count of the batch (entries with f > 0)
     * @param sse       sum over the batch of |x_hat - x|^2
     * @param sparsity  the sparsity term of the loss (matryoshka: its inner prefixes' mse terms)
     * @param aux       the auxiliary loss (AuxK; gated's auxiliary reconstruction)
     * @param dense     whether the step took dense products
     */
    record Result(long active, double sse, double sparsity, double aux, boolean dense) {
    }

    /**
     * The step of {@code s.cfg.arch()}, its buffers allocated by {@code a}. The switch has no default: an
     * architecture without a step does not compile.
     *
     * @param resampling dead-latent resampling (relu-2023 only; null: none)
     * @param auxAlpha   AuxK coefficient (topk, batchtopk, matryoshka)
     */
    static ArchitectureStep create(Allocator a, SharedParts s, Resampler.Plan resampling, double auxAlpha) {
        if (resampling != null && !s.cfg.arch().resamplesDeadLatents()) {
            throw new IllegalArgumentException("resampling is part of the relu-2023 recipe, not of " + s.cfg.arch());
        }
        return switch (s.cfg.arch()) {
            case TOPK -> new TopkStep(a, s, auxAlpha);
            case RELU -> new ReluStep(a, s, false, null);
            case RELU_2023 -> new ReluStep(a, s, true, resampling);
            case BATCHTOPK -> new BatchTopkStep(a, s, auxAlpha);
            case JUMPRELU -> new JumpReluStep(a, s);
            case MATRYOSHKA -> new MatryoshkaStep(a, s, auxAlpha);
            case GATED -> new GatedStep(a, s);
        };
    }

    /**
     * Loads this architecture's part of the initial weights (extra tensors of {@code init.extras()}); throws
     * IllegalArgumentException naming what is missing or out of range.
     */
    default void load(SaeWeights init) {
    }

    /**
     * Forward and backward of the batch x [B, d], after the engine's encode into {@code pre} (and with the shared
     * gradients cleared): fills x_hat and err, the gradients of W_enc, b_enc, W_dec and of {@link #parameters()},
     * and the firing record.
     *
     * @param coef   this step's sparsity coefficient (lambda; unused by the k architectures)
     * @param gScale dL/dx_hat = gScale * (x_hat - x), i.e. 2 / B
     * @param dead   latents dead before this batch
     */
    Result forwardBackward(FloatBuf x, double coef, float gScale, int dead);

    /** [B, d] whose column sums, times gScale, are b_dec's gradient through x_hat: err by default. */
    default FloatBuf decoderResidual(SharedParts s) {
        return s.err;
    }

    /**
     * Adds b_dec's gradient through the input centering x_in = x - b_dec (called only when the config applies it):
     * -(dL/db_enc) W_enc, since b_enc gets the same dL/dpre.
     */
    default void addCenteringGradient(SharedParts s) {
        s.dev.addVecMat(s.bEnc.grad, s.encParam(), s.m, s.d, -1f, s.bDec.grad);
    }

    /** Parameters beyond W_enc, b_enc, W_dec and b_dec, by their SAELens names, in the order they are saved. */
    default Map<String, AdamState> parameters() {
        return Map.of();
    }

    /**
     * Whether the parameter {@code name} of {@link #parameters()} is a threshold that takes the threshold LR
     * ({@link Schedule#thresholdLrAt}: jumprelu's log_threshold) rather than the weights' LR.
     */
    default boolean isThreshold(String name) {
        return false;
    }

    /** After the update (Adam, decoder renormalisation) on the step's batch x: relu-2023 resamples here. */
    default void afterUpdate(FloatBuf x) {
    }

    /** Adds the tensors the exported SAE carries beyond the shared four (threshold, b_mag, r_mag). */
    default void addExportTensors(Map<String, float[]> extras) {
    }

    /**
     * Adds the fp32 state beyond {@link #parameters()} that the next steps depend on (batchtopk's threshold
     * estimate), under names no other state uses.
     */
    default void addStateFloats(Map<String, EngineState.LazyFloats> floats) {
    }

    /** Adds the int32 state the next steps depend on (relu-2023: the resampler's stream). */
    default void addStateInts(Map<String, int[]> ints) {
    }

    /**
     * Restores what {@link #addStateFloats} and {@link #addStateInts} added; throws IllegalArgumentException naming
     * what is missing.
     */
    default void restoreState(EngineState state) {
    }
}
