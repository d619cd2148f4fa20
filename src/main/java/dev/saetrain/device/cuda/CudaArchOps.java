package dev.saetrain.device.cuda;

import dev.saetrain.device.FloatBuf;
import dev.saetrain.device.IntBuf;
import dev.saetrain.device.SaeGrads;
import dev.saetrain.device.SparseActs;
import dev.saetrain.device.StepShape;
import dev.saetrain.device.arch.BatchTopkOps;
import dev.saetrain.device.arch.GatedOps;
import dev.saetrain.device.arch.JumpReluOps;
import dev.saetrain.device.arch.MatryoshkaOps;

/**
 * The architectures' kernels on CUDA: the {@code dev.saetrain.device.arch} interfaces over {@link CudaActivationOps},
 * which launches them (kernels in {@code src/main/cuda/activation.cu} and {@code sparse.cu}) and keeps their scratch.
 * One object per {@link CudaDevice}, created with it. Formulas are in the interfaces.
 */
final class CudaArchOps implements JumpReluOps, GatedOps, MatryoshkaOps, BatchTopkOps {
    private final CudaActivationOps act;

    CudaArchOps(CudaActivationOps act) {
        this.act = act;
    }

    @Override
    public long batchTopk(FloatBuf pre, StepShape shape, long kTotal, SparseActs out, FloatBuf minKept) {
        return act.batchTopk(pre, shape.batch(), shape.nLatents(), kTotal, out, minKept);
    }

    @Override
    public long batchTopkMerge(SparseActs[] blocks, long kTotal, SparseActs out, FloatBuf minKept) {
        return act.batchTopkMerge(blocks, kTotal, out, minKept);
    }

    @Override
    public long jumpReluSparse(FloatBuf pre, FloatBuf threshold, StepShape shape, SparseActs out) {
        return act.jumpReluSparse(pre, threshold, shape.batch(), shape.nLatents(), out);
    }

    @Override
    public long jumpReluDense(FloatBuf pre, FloatBuf threshold, StepShape shape, FloatBuf f) {
        return act.jumpReluDense(pre, threshold, shape.batch(), shape.nLatents(), f);
    }

    @Override
    public void jumpReluThresholdBackward(FloatBuf pre, FloatBuf threshold, FloatBuf err, float scale, FloatBuf wDec,
                                          float eps, float l0Scale, StepShape shape, FloatBuf dLogThreshold) {
        act.jumpReluThresholdBackward(pre, threshold, err, scale, wDec, eps, l0Scale, shape.batch(), shape.dIn(),
                shape.nLatents(), dLogThreshold);
    }

    @Override
    public double[] matryoshkaDecode(SparseActs acts, FloatBuf wDec, FloatBuf bDec, FloatBuf target, Groups groups,
                                     StepShape shape, FloatBuf xHat, FloatBuf err) {
        return act.matryoshkaDecode(acts, wDec, bDec, target, groups.groupEnds(), groups.groups(), shape.batch(),
                shape.dIn(), shape.nLatents(), xHat, err, groups.residSuffix());
    }

    @Override
    public void matryoshkaDecoderBackward(SparseActs acts, Groups groups, float scale, FloatBuf wDec, StepShape shape,
                                          FloatBuf dWDec, IntBuf rowActive) {
        act.matryoshkaDecoderBackward(acts, groups.residSuffix(), groups.groupEnds(), groups.groups(), scale, wDec,
                shape.batch(), shape.dIn(), shape.nLatents(), dWDec, rowActive);
    }

    @Override
    public long gatedSparse(FloatBuf pre, Latents latents, StepShape shape, SparseActs out, FloatBuf gateVal,
                            FloatBuf gateSums, IntBuf fired) {
        return act.gatedSparse(pre, latents.bGate(), latents.bMag(), latents.magScale(), shape.batch(),
                shape.nLatents(), out, gateVal, gateSums, fired);
    }

    @Override
    public long gatedDense(FloatBuf pre, Latents latents, StepShape shape, FloatBuf f, FloatBuf gateSums,
                           IntBuf fired) {
        return act.gatedDense(pre, latents.bGate(), latents.bMag(), latents.magScale(), shape.batch(),
                shape.nLatents(), f, gateSums, fired);
    }

    @Override
    public void gatedSparseBackward(SparseActs acts, SparseActs gate, Residuals r, FloatBuf wDec, Latents latents,
                                    StepShape shape, Grads grads, boolean accumulate) {
        act.gatedSparseBackward(acts, gate, r.auxErr(), r.auxScale(), wDec, latents.l1PerLatent(),
                latents.magScale(), latents.bMag(), shape.batch(), shape.dIn(), shape.nLatents(),
                grads.shared().dBEnc(), grads.dBMag(), grads.dRMag(), accumulate);
    }

    @Override
    public void gatedDenseBackward(FloatBuf gate, FloatBuf f, Residuals r, FloatBuf wDec, FloatBuf xIn,
                                   Latents latents, StepShape shape, FloatBuf scratch, Grads grads,
                                   boolean accumulate) {
        SaeGrads shared = grads.shared();
        act.gatedDenseBackward(gate, f, r.err(), r.scale(), r.auxErr(), r.auxScale(), wDec, latents.l1PerLatent(),
                latents.magScale(), latents.bMag(), xIn, shape.batch(), shape.dIn(), shape.nLatents(), scratch,
                shared.dWDec(), shared.decActive(), shared.dWEnc(), shared.encActive(), shared.dBEnc(),
                grads.dBMag(), grads.dRMag(), grads.dpreSums(), accumulate);
    }
}
