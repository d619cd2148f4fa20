package dev.saetrain.device.cuda;

import dev.saetrain.device.Device;
import dev.saetrain.device.FloatBuf;
import dev.saetrain.device.IntBuf;
import dev.saetrain.device.SparseActs;
import java.util.List;

/**
 * The activation, selection, decode and backward ops of {@link Device} on CUDA (kernels in
 * {@code src/main/cuda/activation.cu} and friends), written against {@link CudaRuntime} only. {@code CudaDevice}
 * delegates these ops here with the same signatures; buffers are {@link CudaFloatBuf} / {@link CudaIntBuf}.
 */
public final class CudaActivationOps implements AutoCloseable {
    /** Every kernel this class launches (checked against the PTX by KernelSignatureTest). */
    public static final List<KernelSpec> KERNELS = List.of();

    private final CudaRuntime rt;

    public CudaActivationOps(CudaRuntime rt) {
        this.rt = rt;
    }

    /** See {@link Device#topk}. */
    public void topk(FloatBuf pre, int batch, int nLatents, int k, IntBuf lastFired, int deadBefore, SparseActs out) {
        throw new UnsupportedOperationException("CUDA topk: not written yet");
    }

    /** See {@link Device#reluSparse}. */
    public long reluSparse(FloatBuf pre, int batch, int nLatents, SparseActs out) {
        throw new UnsupportedOperationException("CUDA reluSparse: not written yet");
    }

    /** See {@link Device#reluDense}. */
    public long reluDense(FloatBuf pre, int batch, int nLatents) {
        throw new UnsupportedOperationException("CUDA reluDense: not written yet");
    }

    /** See {@link Device#recordFires}. */
    public void recordFires(SparseActs acts, int nLatents, IntBuf counts, IntBuf lastFired, int step, FloatBuf actSums) {
        throw new UnsupportedOperationException("CUDA recordFires: not written yet");
    }

    /** See {@link Device#recordFiresDense}. */
    public void recordFiresDense(FloatBuf f, int batch, int nLatents, IntBuf counts, IntBuf lastFired, int step,
                          FloatBuf actSums) {
        throw new UnsupportedOperationException("CUDA recordFiresDense: not written yet");
    }

    /** See {@link Device#reluDenseFires}. */
    public long reluDenseFires(FloatBuf pre, int batch, int nLatents, IntBuf counts, IntBuf lastFired, int step,
                        FloatBuf actSums) {
        throw new UnsupportedOperationException("CUDA reluDenseFires: not written yet");
    }

    /** See {@link Device#sparseDecode}. */
    public double sparseDecode(SparseActs acts, FloatBuf wDec, FloatBuf bDec, FloatBuf target,
                        int batch, int dIn, FloatBuf xHat, FloatBuf err) {
        throw new UnsupportedOperationException("CUDA sparseDecode: not written yet");
    }

    /** See {@link Device#denseDecode}. */
    public double denseDecode(FloatBuf f, FloatBuf wDec, FloatBuf bDec, FloatBuf target,
                       int batch, int dIn, int nLatents, FloatBuf xHat, FloatBuf err) {
        throw new UnsupportedOperationException("CUDA denseDecode: not written yet");
    }

    /** See {@link Device#sparseDecoderBackward}. */
    public void sparseDecoderBackward(SparseActs acts, FloatBuf err, float scale, FloatBuf wDec, FloatBuf l1PerLatent,
                               int batch, int dIn, int nLatents, FloatBuf dWDec, IntBuf rowActive) {
        throw new UnsupportedOperationException("CUDA sparseDecoderBackward: not written yet");
    }

    /** See {@link Device#sparseEncoderBackward}. */
    public void sparseEncoderBackward(SparseActs acts, FloatBuf xIn, int batch, int dIn, int nLatents,
                               FloatBuf dWEnc, FloatBuf dBEnc, IntBuf rowActive) {
        throw new UnsupportedOperationException("CUDA sparseEncoderBackward: not written yet");
    }

    /** See {@link Device#denseBackward}. */
    public void denseBackward(FloatBuf f, FloatBuf err, float scale, FloatBuf wDec, FloatBuf l1PerLatent, FloatBuf xIn,
                       int batch, int dIn, int nLatents, FloatBuf dpreScratch,
                       FloatBuf dWDec, IntBuf decActive, FloatBuf dWEnc, IntBuf encActive, FloatBuf dBEnc) {
        throw new UnsupportedOperationException("CUDA denseBackward: not written yet");
    }

    /** See {@link Device#batchTopk}. */
    public long batchTopk(FloatBuf pre, int batch, int nLatents, long kTotal, SparseActs out, FloatBuf minKept) {
        throw new UnsupportedOperationException("CUDA batchTopk: not written yet");
    }

    /** See {@link Device#jumpReluSparse}. */
    public long jumpReluSparse(FloatBuf pre, FloatBuf threshold, int batch, int nLatents, SparseActs out) {
        throw new UnsupportedOperationException("CUDA jumpReluSparse: not written yet");
    }

    /** See {@link Device#jumpReluDense}. */
    public long jumpReluDense(FloatBuf pre, FloatBuf threshold, int batch, int nLatents, FloatBuf f) {
        throw new UnsupportedOperationException("CUDA jumpReluDense: not written yet");
    }

    /** See {@link Device#jumpReluThresholdBackward}. */
    public void jumpReluThresholdBackward(FloatBuf pre, FloatBuf threshold, FloatBuf err, float scale, FloatBuf wDec,
                                   float eps, float l0Scale, int batch, int dIn, int nLatents, FloatBuf dLogThreshold) {
        throw new UnsupportedOperationException("CUDA jumpReluThresholdBackward: not written yet");
    }

    /** See {@link Device#matryoshkaDecode}. */
    public double[] matryoshkaDecode(SparseActs acts, FloatBuf wDec, FloatBuf bDec, FloatBuf target, IntBuf groupEnds,
                              int groups, int batch, int dIn, int nLatents, FloatBuf xHat, FloatBuf err,
                              FloatBuf residSuffix) {
        throw new UnsupportedOperationException("CUDA matryoshkaDecode: not written yet");
    }

    /** See {@link Device#matryoshkaDecoderBackward}. */
    public void matryoshkaDecoderBackward(SparseActs acts, FloatBuf residSuffix, IntBuf groupEnds, int groups, float scale,
                                   FloatBuf wDec, int batch, int dIn, int nLatents, FloatBuf dWDec, IntBuf rowActive) {
        throw new UnsupportedOperationException("CUDA matryoshkaDecoderBackward: not written yet");
    }

    /** See {@link Device#gatedSparse}. */
    public long gatedSparse(FloatBuf pre, FloatBuf bGate, FloatBuf bMag, FloatBuf magScale, int batch, int nLatents,
                     SparseActs out, FloatBuf gateVal, FloatBuf gateSums, IntBuf fired) {
        throw new UnsupportedOperationException("CUDA gatedSparse: not written yet");
    }

    /** See {@link Device#gatedDense}. */
    public long gatedDense(FloatBuf pre, FloatBuf bGate, FloatBuf bMag, FloatBuf magScale, int batch, int nLatents,
                    FloatBuf f, FloatBuf gateSums, IntBuf fired) {
        throw new UnsupportedOperationException("CUDA gatedDense: not written yet");
    }

    /** See {@link Device#gatedSparseBackward}. */
    public void gatedSparseBackward(SparseActs acts, SparseActs gate, FloatBuf auxErr, float auxScale, FloatBuf wDec,
                             FloatBuf l1PerLatent, FloatBuf magScale, FloatBuf bMag, int batch, int dIn, int nLatents,
                             FloatBuf dBGate, FloatBuf dBMag, FloatBuf dRMag) {
        throw new UnsupportedOperationException("CUDA gatedSparseBackward: not written yet");
    }

    /** See {@link Device#gatedDenseBackward}. */
    public void gatedDenseBackward(FloatBuf gate, FloatBuf f, FloatBuf err, float scale, FloatBuf auxErr, float auxScale,
                            FloatBuf wDec, FloatBuf l1PerLatent, FloatBuf magScale, FloatBuf bMag, FloatBuf xIn,
                            int batch, int dIn, int nLatents, FloatBuf scratch, FloatBuf dWDec, IntBuf decActive,
                            FloatBuf dWEnc, IntBuf encActive, FloatBuf dBGate, FloatBuf dBMag, FloatBuf dRMag,
                            FloatBuf dpreSums) {
        throw new UnsupportedOperationException("CUDA gatedDenseBackward: not written yet");
    }

    /** Frees this class's scratch buffers. */
    @Override
    public void close() {
    }
}
