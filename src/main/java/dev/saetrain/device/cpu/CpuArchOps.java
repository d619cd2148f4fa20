package dev.saetrain.device.cpu;

import static dev.saetrain.device.cpu.CpuDevice.fb;
import static dev.saetrain.device.cpu.CpuDevice.ia;

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
 * The architectures' kernels on the CPU: the {@code dev.saetrain.device.arch} interfaces over the kernel classes
 * that do the work (ThresholdKernels: batchtopk and jumprelu; MatryoshkaKernels; GatedKernels), which keep their
 * scratch for the device's life. One object per {@link CpuDevice}, created with it. Formulas are in the interfaces.
 */
final class CpuArchOps implements JumpReluOps, GatedOps, MatryoshkaOps, BatchTopkOps {
    private final ThresholdKernels thresholds;
    private final MatryoshkaKernels matryoshka;
    private final GatedKernels gated;

    CpuArchOps(ThresholdKernels thresholds, MatryoshkaKernels matryoshka, GatedKernels gated) {
        this.thresholds = thresholds;
        this.matryoshka = matryoshka;
        this.gated = gated;
    }

    // batchtopk and jumprelu: ThresholdKernels

    @Override
    public long batchTopk(FloatBuf pre, StepShape shape, long kTotal, SparseActs out, FloatBuf minKept) {
        return thresholds.batchTopk(fb(pre), shape.batch(), shape.nLatents(), kTotal, out, fb(minKept));
    }

    @Override
    public long batchTopkMerge(SparseActs[] blocks, long kTotal, SparseActs out, FloatBuf minKept) {
        return thresholds.batchTopkMerge(blocks, kTotal, out, fb(minKept));
    }

    @Override
    public long jumpReluSparse(FloatBuf pre, FloatBuf threshold, StepShape shape, SparseActs out) {
        return thresholds.jumpReluSparse(fb(pre), fb(threshold), shape.batch(), shape.nLatents(), out);
    }

    @Override
    public long jumpReluDense(FloatBuf pre, FloatBuf threshold, StepShape shape, FloatBuf f) {
        return thresholds.jumpReluDense(fb(pre), fb(threshold), shape.batch(), shape.nLatents(), fb(f));
    }

    @Override
    public void jumpReluThresholdBackward(FloatBuf pre, FloatBuf threshold, FloatBuf err, float scale, FloatBuf wDec,
                                          float eps, float l0Scale, StepShape shape, FloatBuf dLogThreshold) {
        thresholds.jumpReluThresholdBackward(fb(pre), fb(threshold), fb(err), scale, fb(wDec), eps, l0Scale,
                shape.batch(), shape.dIn(), shape.nLatents(), fb(dLogThreshold));
    }

    // matryoshka: MatryoshkaKernels

    @Override
    public double[] matryoshkaDecode(SparseActs acts, FloatBuf wDec, FloatBuf bDec, FloatBuf target, Groups groups,
                                     StepShape shape, FloatBuf xHat, FloatBuf err) {
        return matryoshka.decode(acts, fb(wDec), fb(bDec), fb(target), ia(groups.groupEnds()), groups.groups(),
                shape.batch(), shape.dIn(), shape.nLatents(), fb(xHat), fb(err), fb(groups.residSuffix()));
    }

    @Override
    public void matryoshkaDecoderBackward(SparseActs acts, Groups groups, float scale, FloatBuf wDec, StepShape shape,
                                          FloatBuf dWDec, IntBuf rowActive) {
        matryoshka.decoderBackward(acts, fb(groups.residSuffix()), ia(groups.groupEnds()), groups.groups(), scale,
                fb(wDec), shape.batch(), shape.dIn(), shape.nLatents(), fb(dWDec), ia(rowActive));
    }

    // gated: GatedKernels

    @Override
    public long gatedSparse(FloatBuf pre, Latents latents, StepShape shape, SparseActs out, FloatBuf gateVal,
                            FloatBuf gateSums, IntBuf fired) {
        return gated.gatedSparse(fb(pre), fb(latents.bGate()), fb(latents.bMag()), fb(latents.magScale()),
                shape.batch(), shape.nLatents(), out, fb(gateVal), fb(gateSums), ia(fired));
    }

    @Override
    public long gatedDense(FloatBuf pre, Latents latents, StepShape shape, FloatBuf f, FloatBuf gateSums,
                           IntBuf fired) {
        return gated.gatedDense(fb(pre), fb(latents.bGate()), fb(latents.bMag()), fb(latents.magScale()),
                shape.batch(), shape.nLatents(), fb(f), fb(gateSums), ia(fired));
    }

    @Override
    public void gatedSparseBackward(SparseActs acts, SparseActs gate, Residuals r, FloatBuf wDec, Latents latents,
                                    StepShape shape, Grads grads, boolean accumulate) {
        gated.gatedSparseBackward(acts, gate, fb(r.auxErr()), r.auxScale(), fb(wDec), fb(latents.l1PerLatent()),
                fb(latents.magScale()), fb(latents.bMag()), shape.batch(), shape.dIn(), shape.nLatents(),
                fb(grads.shared().dBEnc()), fb(grads.dBMag()), fb(grads.dRMag()), accumulate);
    }

    @Override
    public void gatedDenseBackward(FloatBuf gate, FloatBuf f, Residuals r, FloatBuf wDec, FloatBuf xIn,
                                   Latents latents, StepShape shape, FloatBuf scratch, Grads grads,
                                   boolean accumulate) {
        SaeGrads shared = grads.shared();
        gated.gatedDenseBackward(fb(gate), fb(f), fb(r.err()), r.scale(), fb(r.auxErr()), r.auxScale(), fb(wDec),
                fb(latents.l1PerLatent()), fb(latents.magScale()), fb(latents.bMag()), fb(xIn), shape.batch(),
                shape.dIn(), shape.nLatents(), fb(scratch), fb(shared.dWDec()), ia(shared.decActive()),
                fb(shared.dWEnc()), ia(shared.encActive()), fb(shared.dBEnc()), fb(grads.dBMag()), fb(grads.dRMag()),
                fb(grads.dpreSums()), accumulate);
    }
}
