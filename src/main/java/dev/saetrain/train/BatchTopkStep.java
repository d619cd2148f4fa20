package dev.saetrain.train;

import dev.saetrain.device.Device;
import dev.saetrain.device.FloatBuf;
import dev.saetrain.device.SparseActs;
import dev.saetrain.model.SaeWeights;
import java.util.Map;

/**
 * The batchtopk step (Bussmann, Leask and Nanda 2024, "BatchTopK Sparse Autoencoders"): the k * B largest
 * pre-activations of the batch ({@link BatchTopkSelection}, which also estimates the inference threshold), then
 * topk's decode, backward and AuxK ({@link TopkStep}); exported as a jumprelu with that threshold for every latent.
 */
final class BatchTopkStep implements ArchitectureStep {
    private final SharedParts s;
    private final Device dev;
    private final SparseActs acts; // k * B entries over the batch
    private final BatchTopkSelection selection;
    private final AuxK auxK;

    BatchTopkStep(Allocator a, SharedParts s, double auxAlpha) {
        this.s = s;
        this.dev = s.dev;
        this.acts = a.sparse(s.batch, (long) s.batch * s.cfg.k());
        this.auxK = new AuxK(a, s, auxAlpha);
        this.selection = new BatchTopkSelection(a, s.cfg, s.batch);
    }

    /** The selection with its threshold estimate (tests read theta). */
    BatchTopkSelection selection() {
        return selection;
    }

    @Override
    public void load(SaeWeights init) {
        selection.load(init);
    }

    @Override
    public Result forwardBackward(FloatBuf x, double coef, float gScale, int dead) {
        long active = selection.select(s.pre, s.m, acts);
        s.lap("select");
        double sse = dev.sparseDecode(acts, s.wDec.param, s.bDec.param, x, s.batch, s.d, s.xHat, s.err);
        s.lap("decode");
        dev.sparseBackward(acts, s.err, gScale, s.wDec.param, null, s.xIn, s.batch, s.d, s.m, s.wDec.grad,
                s.decActive, s.encGrad(), s.bEnc.grad, s.encFlags());
        s.lap("backward");
        double aux = auxK.thenRecordFires(dead, acts);
        return new Result(active, sse, 0, aux, false);
    }

    @Override
    public void addExportTensors(Map<String, float[]> extras) {
        extras.put("threshold", selection.exportThreshold(s.m));
    }

    @Override
    public void addStateFloats(Map<String, EngineState.LazyFloats> floats) {
        selection.addStateFloats(floats);
    }

    @Override
    public void restoreState(EngineState state) {
        selection.restoreState(state, s);
    }
}
