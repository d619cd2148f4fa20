package dev.saetrain.train;

import dev.saetrain.device.Device;
import dev.saetrain.device.FloatBuf;
import dev.saetrain.device.SparseActs;
import dev.saetrain.device.StepShape;

/**
 * The topk step (Gao et al. 2024, "Scaling and evaluating sparse autoencoders"): the k largest pre-activations of
 * each row, ReLU'd; loss = mse + AuxK on dead latents ({@link AuxK}); unit-norm decoder rows (the engine projects
 * and renormalises, {@link dev.saetrain.model.SaeConfig#unitNormDecoder()}). Tied (Cunningham et al. 2023): the
 * encoder-path gradient goes into W_dec's ({@link SharedParts#encGrad()}).
 */
final class TopkStep implements ArchitectureStep {
    private final SharedParts s;
    private final Device dev;
    private final SparseActs acts; // k entries per row
    private final AuxK auxK;
    private final StepShape picks; // the B * k picks as one row of a dense matrix: what countActive's reluDense reads

    TopkStep(Allocator a, SharedParts s, double auxAlpha) {
        this.s = s;
        this.dev = s.dev;
        this.acts = a.sparse(s.batch, (long) s.batch * s.cfg.k());
        this.auxK = new AuxK(a, s, auxAlpha);
        this.picks = new StepShape(1, s.d, s.batch * s.cfg.k());
    }

    @Override
    public Result forwardBackward(FloatBuf x, double coef, float gScale, int dead) {
        dev.topk(s.pre, s.shape, s.cfg.k(), null, 0, acts);
        long active = countActive();
        s.lap("select");
        double sse = s.sparseDecodeAndBackward(acts, x, gScale);
        double aux = auxK.thenRecordFires(dead, acts);
        return new Result(active, sse, 0, aux, false);
    }

    /**
     * The picks with value > 0 (a pick whose pre-activation was <= 0 holds 0 and does not count toward L0), counted
     * on the device: the picks are ReLU'd already, so reluDense over them changes nothing and returns that count
     * (one word back, not batch * k values).
     */
    private long countActive() {
        return dev.reluDense(acts.val(), picks);
    }
}
