package dev.saetrain.device.cuda;

import static dev.saetrain.device.cuda.GridMath.BLOCK;
import static dev.saetrain.device.cuda.Param.F32;
import static dev.saetrain.device.cuda.Param.I32;
import static dev.saetrain.device.cuda.Param.I64;
import static dev.saetrain.device.cuda.Param.PTR;

import dev.saetrain.device.AdamUpdate;
import dev.saetrain.device.BatchUpload;
import dev.saetrain.device.Device;
import dev.saetrain.device.FloatBuf;
import dev.saetrain.device.IntBuf;
import dev.saetrain.device.SaeGrads;
import dev.saetrain.device.SaeParams;
import dev.saetrain.device.SparseActs;
import dev.saetrain.device.SparseSwitch;
import dev.saetrain.device.StepShape;
import dev.saetrain.device.arch.BatchTopkOps;
import dev.saetrain.device.arch.GatedOps;
import dev.saetrain.device.arch.JumpReluOps;
import dev.saetrain.device.arch.MatryoshkaOps;
import java.util.List;
import java.util.OptionalLong;

/**
 * The training step's op catalog on an NVIDIA GPU. Memory, copies, the fill / scale / reduction / row-norm /
 * Adam / resampling ops run kernels of {@code src/main/cuda/core.cu} (listed in {@link #KERNELS}); the dense
 * products go through {@link CudaRuntime#gemm} (cuBLAS or the project's GEMM kernel); activation, decode and
 * backward ops are {@link CudaActivationOps}'s, and so are the architectures' kernels, which {@link CudaArchOps} hands
 * out behind their interfaces. Reductions that return a double accumulate per block in double and
 * finish in a one-block kernel, so results do not depend on scheduling. Scratch buffers grow on demand and are
 * reused; nothing is allocated per step in steady state.
 */
public final class CudaDevice implements Device {
    private static final String M = "core";
    static final KernelSpec FILL = KernelSpec.of(M, "fill_f32", PTR, I64, F32);
    static final KernelSpec SCALE_INTO = KernelSpec.of(M, "scale_into", PTR, PTR, I64, F32);
    static final KernelSpec EXP_INTO = KernelSpec.of(M, "exp_into", PTR, PTR, I64);
    static final KernelSpec DOT_PARTIAL = KernelSpec.of(M, "dot_partial", PTR, PTR, I64, PTR);
    static final KernelSpec SUM_PARTIALS = KernelSpec.of(M, "sum_partials_f64", PTR, I32, PTR);
    static final KernelSpec COUNT_AT_OR_BELOW = KernelSpec.of(M, "count_at_or_below", PTR, I32, I32, PTR);
    static final KernelSpec ENCODE_PREPARE = KernelSpec.of(M, "encode_prepare", PTR, PTR, PTR, PTR, PTR, I32, I32, I32);
    static final KernelSpec COLUMN_MEANS = KernelSpec.of(M, "column_means_finish", PTR, I32, I32, I32, PTR);
    static final KernelSpec CENTERED_PARTIAL = KernelSpec.of(M, "centered_sum_squares_partial", PTR, PTR, I32, I32, PTR);
    static final KernelSpec COLSUM_PARTIAL = KernelSpec.of(M, "weighted_column_sums_partial", PTR, PTR, I32, I32, I32, PTR);
    static final KernelSpec COLSUM_FINISH = KernelSpec.of(M, "weighted_column_sums_finish", PTR, I32, I32, F32, PTR);
    static final KernelSpec ADD_SCALED_ROWS = KernelSpec.of(M, "add_scaled_rows", PTR, PTR, I32, I32, PTR, PTR);
    static final KernelSpec L1_COEFFICIENTS = KernelSpec.of(M, "l1_decoder_coefficients", PTR, PTR, F32, I32, PTR);
    static final KernelSpec ROW_NORMS = KernelSpec.of(M, "row_norms", PTR, I32, I32, PTR);
    static final KernelSpec NORMALIZE_ROWS = KernelSpec.of(M, "normalize_rows", PTR, I32, I32);
    static final KernelSpec PROJECT_OUT = KernelSpec.of(M, "project_out_parallel", PTR, PTR, I32, I32, PTR);
    static final KernelSpec SUM_SQUARES_ROWS = KernelSpec.of(M, "sum_squares_rows_partial", PTR, I32, I32, PTR, PTR);
    static final KernelSpec ADAM_STEP = KernelSpec.of(M, "adam_step", PTR, PTR, PTR, PTR, I64, I32, PTR, F32, F32, F32,
            F32, F32, F32);
    static final KernelSpec RESAMPLE_ROWS = KernelSpec.of(M, "resample_rows", PTR, PTR, PTR, PTR, I32, I32, F32, PTR,
            PTR, PTR);
    static final KernelSpec ZERO_ROWS = KernelSpec.of(M, "zero_rows", PTR, PTR, I32, I32);

    /** Every kernel this class launches (checked against the PTX by KernelSignatureTest). */
    public static final List<KernelSpec> KERNELS = List.of(FILL, SCALE_INTO, EXP_INTO, DOT_PARTIAL, SUM_PARTIALS,
            COUNT_AT_OR_BELOW, ENCODE_PREPARE, COLUMN_MEANS, CENTERED_PARTIAL, COLSUM_PARTIAL, COLSUM_FINISH,
            ADD_SCALED_ROWS, L1_COEFFICIENTS, ROW_NORMS, NORMALIZE_ROWS, PROJECT_OUT, SUM_SQUARES_ROWS, ADAM_STEP,
            RESAMPLE_ROWS, ZERO_ROWS);

    /** Head room left free on the GPU beyond the MemoryPlan (cuBLAS workspace, scratch, fragmentation). */
    public static final double MEMORY_HEADROOM = 0.05;

    private final JCudaRuntime rt;
    private final CudaActivationOps act;
    private final CudaArchOps arch;
    private final int sms;
    /** Doubles: the first reduction pass's partials [MAX_REDUCTION_BLOCKS], then the result. */
    private final CudaFloatBuf partials;
    private final CudaIntBuf counter;
    private final float[] twoFloats = new float[2];
    private CudaFloatBuf columnScratch;

    /** Opens device 0; {@link CudaUnavailableException} (one line) when there is no usable GPU. */
    public static CudaDevice open() {
        JCudaRuntime rt = JCudaRuntime.open();
        try {
            return new CudaDevice(rt);
        } catch (RuntimeException e) {
            rt.close();
            throw e;
        }
    }

    /** Whether a CUDA device can be used here, and why not (cached probe; touches no GPU memory). */
    public static JCudaRuntime.Probe probe() {
        return JCudaRuntime.probe();
    }

    private CudaDevice(JCudaRuntime rt) {
        this.rt = rt;
        this.act = new CudaActivationOps(rt);
        this.arch = new CudaArchOps(act);
        this.sms = rt.multiprocessors();
        this.partials = rt.allocFloat(2L * (GridMath.MAX_REDUCTION_BLOCKS + 1));
        this.counter = rt.allocInt(1);
    }

    /** The runtime (bench and tests time the GEMM through it). */
    public CudaRuntime runtime() {
        return rt;
    }

    @Override
    public String describe() {
        return "cuda (" + rt.deviceName() + ", driver " + rt.driverVersionString() + ", dense products: "
                + rt.gemmPath() + ")";
    }

    static CudaFloatBuf f(FloatBuf b) {
        if (b instanceof CudaFloatBuf c) {
            return c;
        }
        throw new IllegalArgumentException("a " + (b == null ? "null" : b.getClass().getSimpleName())
                + " passed to CudaDevice: buffers must come from the same device");
    }

    static CudaIntBuf i(IntBuf b) {
        if (b instanceof CudaIntBuf c) {
            return c;
        }
        throw new IllegalArgumentException("a " + (b == null ? "null" : b.getClass().getSimpleName())
                + " passed to CudaDevice: buffers must come from the same device");
    }

    /** f(b), or null for null (optional pointer arguments). */
    private static CudaFloatBuf fOrNull(FloatBuf b) {
        return b == null ? null : f(b);
    }

    private static CudaIntBuf iOrNull(IntBuf b) {
        return b == null ? null : i(b);
    }

    @Override
    public FloatBuf allocFloat(long n) {
        return rt.allocFloat(n);
    }

    @Override
    public FloatBuf floatView(FloatBuf buf, long offset, long n) {
        CudaFloatBuf b = f(buf);
        if (offset < 0 || n < 0 || offset + n > b.size()) {
            throw new IndexOutOfBoundsException("view [" + offset + ", " + (offset + n) + ") of " + b.size() + " floats");
        }
        return new CudaFloatBuf(b.at(offset).address(), n, address -> { }); // the owner frees the memory
    }

    @Override
    public IntBuf allocInt(long n) {
        return rt.allocInt(n);
    }

    @Override
    public void upload(float[] src, int srcOff, FloatBuf dst, long dstOff, int n) {
        rt.upload(src, srcOff, f(dst), dstOff, n);
    }

    @Override
    public void download(FloatBuf src, long srcOff, float[] dst, int dstOff, int n) {
        rt.download(f(src), srcOff, dst, dstOff, n);
    }

    @Override
    public void uploadInt(int[] src, int srcOff, IntBuf dst, long dstOff, int n) {
        rt.uploadInt(src, srcOff, i(dst), dstOff, n);
    }

    @Override
    public void downloadInt(IntBuf src, long srcOff, int[] dst, int dstOff, int n) {
        rt.downloadInt(i(src), srcOff, dst, dstOff, n);
    }

    @Override
    public BatchUpload batchUpload(long floats) {
        return rt.pinnedUpload(floats);
    }

    @Override
    public OptionalLong freeMemoryBytes() {
        return OptionalLong.of(rt.memoryInfo()[0]);
    }

    // elementwise

    @Override
    public void fill(FloatBuf buf, long n, float value) {
        if (n > 0) {
            rt.launch(FILL, GridMath.elementwiseBlocks(n, sms), 1, BLOCK, 0, f(buf), n, value);
        }
    }

    @Override
    public void scaleInto(FloatBuf src, FloatBuf dst, long n, float alpha) {
        if (n > 0) {
            rt.launch(SCALE_INTO, GridMath.elementwiseBlocks(n, sms), 1, BLOCK, 0, f(src), f(dst), n, alpha);
        }
    }

    @Override
    public void expInto(FloatBuf src, FloatBuf dst, long n) {
        if (n > 0) {
            rt.launch(EXP_INTO, GridMath.elementwiseBlocks(n, sms), 1, BLOCK, 0, f(src), f(dst), n);
        }
    }

    @Override
    public void l1DecoderCoefficients(FloatBuf actSums, FloatBuf norms, float lambdaOverB, int nLatents, FloatBuf out) {
        if (nLatents > 0) {
            rt.launch(L1_COEFFICIENTS, GridMath.elementwiseBlocks(nLatents, sms), 1, BLOCK, 0, f(actSums), f(norms),
                    lambdaOverB, nLatents, f(out));
        }
    }

    @Override
    public void adamStep(FloatBuf param, FloatBuf grad, FloatBuf m, FloatBuf v, int rows, int cols, IntBuf rowActive,
                         AdamUpdate u) {
        long n = (long) rows * cols;
        if (n == 0) {
            return;
        }
        // The bias corrections come from AdamUpdate, as CpuDevice's do, so both devices round alike.
        rt.launch(ADAM_STEP, GridMath.elementwiseBlocks(n, sms), 1, BLOCK, 0, f(param), f(grad), f(m), f(v), n, cols,
                iOrNull(rowActive), u.beta1(), u.beta2(), u.eps(), u.gradScale(), u.stepSize(), u.invSqrtBc2());
    }

    // reductions returning a double

    /** Runs the second pass over {@code blocks} partials and downloads the double result. */
    private double finishSum(int blocks) {
        DevPtr result = partials.at(2L * GridMath.MAX_REDUCTION_BLOCKS);
        rt.launch(SUM_PARTIALS, 1, 1, BLOCK, 0, partials, blocks, result);
        rt.download(partials, 2L * GridMath.MAX_REDUCTION_BLOCKS, twoFloats, 0, 2);
        return doubleOf(twoFloats[0], twoFloats[1]);
    }

    /** The little-endian double whose low word is {@code lo} and high word {@code hi} (raw bits, as stored). */
    static double doubleOf(float lo, float hi) {
        long bits = (Float.floatToRawIntBits(lo) & 0xffffffffL) | ((long) Float.floatToRawIntBits(hi) << 32);
        return Double.longBitsToDouble(bits);
    }

    @Override
    public double dot(FloatBuf a, FloatBuf b, long n) {
        if (n <= 0) {
            return 0;
        }
        int blocks = GridMath.reductionBlocks(n);
        rt.launch(DOT_PARTIAL, blocks, 1, BLOCK, 0, f(a), f(b), n, partials);
        return finishSum(blocks);
    }

    @Override
    public double centeredSumSquares(FloatBuf x, int batch, int dIn) {
        if (batch == 0 || dIn == 0) {
            return 0;
        }
        // Column sums in row chunks (the device stays busy when dIn is small), then the means, all in double.
        int per = GridMath.rowsPerChunk(batch, dIn, sms);
        int chunks = GridMath.chunks(batch, per);
        CudaFloatBuf scratch = columnScratch(2L * (chunks + 1) * dIn);
        DevPtr mean = scratch.at(2L * chunks * dIn);
        long colBlocks = GridMath.ceilDiv(dIn, BLOCK);
        rt.launch(COLSUM_PARTIAL, colBlocks, chunks, BLOCK, 0, f(x), null, batch, dIn, per, scratch);
        rt.launch(COLUMN_MEANS, colBlocks, 1, BLOCK, 0, scratch, chunks, dIn, batch, mean);
        int blocks = GridMath.reductionBlocks((long) batch * dIn);
        rt.launch(CENTERED_PARTIAL, blocks, 1, BLOCK, 0, f(x), mean, batch, dIn, partials);
        return finishSum(blocks);
    }

    @Override
    public double sumSquares(FloatBuf g, int rows, int cols, IntBuf rowActive) {
        if (rowActive == null) {
            return dot(g, g, (long) rows * cols);
        }
        if (rows == 0 || cols == 0) {
            return 0;
        }
        int blocks = Math.min(rows, GridMath.MAX_REDUCTION_BLOCKS);
        rt.launch(SUM_SQUARES_ROWS, blocks, 1, BLOCK, 0, f(g), rows, cols, i(rowActive), partials);
        return finishSum(blocks);
    }

    @Override
    public int countAtOrBelow(IntBuf a, int n, int threshold) {
        if (n <= 0) {
            return 0;
        }
        rt.memsetZero(counter.at(0), Integer.BYTES);
        rt.launch(COUNT_AT_OR_BELOW, GridMath.elementwiseBlocks(n, sms), 1, BLOCK, 0, i(a), n, threshold, counter);
        int[] c = new int[1];
        rt.downloadInt(counter, 0, c, 0, 1);
        return c[0];
    }

    /** A scratch buffer of at least {@code floats} floats (grown, never shrunk). */
    private CudaFloatBuf columnScratch(long floats) {
        if (columnScratch == null || columnScratch.size() < floats) {
            if (columnScratch != null) {
                columnScratch.close();
            }
            columnScratch = rt.allocFloat(floats);
        }
        return columnScratch;
    }

    // dense products

    @Override
    public void gemmNT(FloatBuf a, FloatBuf b, FloatBuf c, int rows, int cols, int inner, float alpha, float beta) {
        rt.gemm(false, true, rows, cols, inner, alpha, f(a).at(0), inner, f(b).at(0), inner, beta, f(c).at(0), cols);
    }

    @Override
    public void encode(FloatBuf x, FloatBuf bDec, FloatBuf wEnc, FloatBuf bEnc, boolean applyBDec, StepShape shape,
                       FloatBuf xIn, FloatBuf pre) {
        int batch = shape.batch();
        int dIn = shape.dIn();
        int nLatents = shape.nLatents();
        long n = Math.max((long) batch * dIn, (long) batch * nLatents);
        if (n == 0) {
            return;
        }
        int[] grid = GridMath.rowColumnGrid(batch, Math.max(dIn, nLatents), sms);
        rt.launch(ENCODE_PREPARE, grid[0], grid[1], BLOCK, 0, f(x), applyBDec ? f(bDec) : null, f(bEnc), f(xIn), f(pre),
                batch, dIn, nLatents);
        rt.gemm(false, true, batch, nLatents, dIn, 1f, f(xIn).at(0), dIn, f(wEnc).at(0), dIn, 1f, f(pre).at(0),
                nLatents);
    }

    /** out[j] += alpha * sum_r (v == null ? 1 : v[r]) w[r, j], two passes in double. */
    private void weightedColumnSums(FloatBuf w, FloatBuf v, int rows, int cols, float alpha, FloatBuf out) {
        if (cols == 0) {
            return;
        }
        int per = GridMath.rowsPerChunk(rows, cols, sms);
        int chunks = GridMath.chunks(rows, per);
        CudaFloatBuf partial = columnScratch(2L * chunks * cols);
        long colBlocks = GridMath.ceilDiv(cols, BLOCK);
        rt.launch(COLSUM_PARTIAL, colBlocks, chunks, BLOCK, 0, f(w), fOrNull(v), rows, cols, per, partial);
        rt.launch(COLSUM_FINISH, colBlocks, 1, BLOCK, 0, partial, chunks, cols, alpha, f(out));
    }

    @Override
    public void addColumnSums(FloatBuf x, int batch, int dIn, float scale, FloatBuf out) {
        weightedColumnSums(x, null, batch, dIn, scale, out);
    }

    @Override
    public void addVecMat(FloatBuf v, FloatBuf w, int rows, int cols, float alpha, FloatBuf out) {
        weightedColumnSums(w, v, rows, cols, alpha, out);
    }

    // row-wise

    @Override
    public void addScaledRows(FloatBuf w, FloatBuf coef, int rows, int cols, FloatBuf dW, IntBuf rowActive) {
        if (rows > 0 && cols > 0) {
            rt.launch(ADD_SCALED_ROWS, GridMath.rowBlocks(rows, sms), 1, BLOCK, 0, f(w), f(coef), rows, cols, f(dW),
                    i(rowActive));
        }
    }

    @Override
    public void rowNorms(FloatBuf w, int rows, int cols, FloatBuf norms) {
        if (rows > 0) {
            rt.launch(ROW_NORMS, GridMath.rowBlocks(rows, sms), 1, BLOCK, 0, f(w), rows, cols, f(norms));
        }
    }

    @Override
    public void projectOutParallel(FloatBuf w, FloatBuf g, int rows, int cols, IntBuf rowActive) {
        if (rows > 0 && cols > 0) {
            rt.launch(PROJECT_OUT, GridMath.rowBlocks(rows, sms), 1, BLOCK, 0, f(w), f(g), rows, cols, i(rowActive));
        }
    }

    @Override
    public void normalizeRows(FloatBuf w, int rows, int cols) {
        if (rows > 0 && cols > 0) {
            rt.launch(NORMALIZE_ROWS, GridMath.rowBlocks(rows, sms), 1, BLOCK, 0, f(w), rows, cols);
        }
    }

    @Override
    public void clearFlags(IntBuf rowActive, int rows) {
        rt.memsetZero(i(rowActive).at(0), (long) rows * Integer.BYTES);
    }

    @Override
    public void resampleRows(FloatBuf x, SaeParams params, IntBuf latents, IntBuf rows, int count, int dIn,
                             float encNorm) {
        if (count > 0) {
            rt.launch(RESAMPLE_ROWS, GridMath.rowBlocks(count, sms), 1, BLOCK, 0, f(x), f(params.bDec()), i(latents),
                    i(rows), count, dIn, encNorm, f(params.wDec()), f(params.wEnc()), f(params.bEnc()));
        }
    }

    @Override
    public void zeroRows(FloatBuf buf, IntBuf rows, int count, int cols) {
        if (count > 0 && cols > 0) {
            rt.launch(ZERO_ROWS, GridMath.rowBlocks(count, sms), 1, BLOCK, 0, f(buf), i(rows), count, cols);
        }
    }

    @Override
    public void synchronize() {
        rt.synchronize();
    }

    @Override
    public void close() {
        act.close();
        if (columnScratch != null) {
            columnScratch.close();
        }
        partials.close();
        counter.close();
        rt.close();
    }

    // activation, decode and backward: CudaActivationOps

    @Override
    public void topk(FloatBuf pre, StepShape shape, int k, IntBuf lastFired, int deadBefore, SparseActs out) {
        act.topk(pre, shape.batch(), shape.nLatents(), k, lastFired, deadBefore, out);
    }

    @Override
    public long reluSparse(FloatBuf pre, StepShape shape, SparseActs out) {
        return act.reluSparse(pre, shape.batch(), shape.nLatents(), out);
    }

    @Override
    public long reluDense(FloatBuf pre, StepShape shape) {
        return act.reluDense(pre, shape.batch(), shape.nLatents());
    }

    @Override
    public void recordFires(SparseActs acts, int nLatents, IntBuf counts, IntBuf lastFired, int step, FloatBuf actSums) {
        act.recordFires(acts, nLatents, counts, lastFired, step, actSums);
    }

    @Override
    public void recordFiresDense(FloatBuf fd, StepShape shape, IntBuf counts, IntBuf lastFired, int step,
                                 FloatBuf actSums) {
        act.recordFiresDense(fd, shape.batch(), shape.nLatents(), counts, lastFired, step, actSums);
    }

    @Override
    public long reluDenseFires(FloatBuf pre, StepShape shape, IntBuf counts, IntBuf lastFired, int step,
                               FloatBuf actSums) {
        return act.reluDenseFires(pre, shape.batch(), shape.nLatents(), counts, lastFired, step, actSums);
    }

    @Override
    public double sparseDecode(SparseActs acts, FloatBuf wDec, FloatBuf bDec, FloatBuf target, StepShape shape,
                               FloatBuf xHat, FloatBuf err) {
        return act.sparseDecode(acts, wDec, bDec, target, shape.batch(), shape.dIn(), xHat, err);
    }

    @Override
    public double denseDecode(FloatBuf fd, FloatBuf wDec, FloatBuf bDec, FloatBuf target, StepShape shape,
                              FloatBuf xHat, FloatBuf err) {
        return act.denseDecode(fd, wDec, bDec, target, shape.batch(), shape.dIn(), shape.nLatents(), xHat, err);
    }

    @Override
    public void sparseDecoderBackward(SparseActs acts, FloatBuf err, float scale, FloatBuf wDec, FloatBuf l1PerLatent,
                                      StepShape shape, FloatBuf dWDec, IntBuf rowActive) {
        act.sparseDecoderBackward(acts, err, scale, wDec, l1PerLatent, shape.batch(), shape.dIn(), shape.nLatents(),
                dWDec, rowActive);
    }

    @Override
    public void sparseEncoderBackward(SparseActs acts, FloatBuf xIn, StepShape shape, FloatBuf dWEnc, FloatBuf dBEnc,
                                      IntBuf rowActive) {
        act.sparseEncoderBackward(acts, xIn, shape.batch(), shape.dIn(), shape.nLatents(), dWEnc, dBEnc, rowActive);
    }

    @Override
    public void denseBackward(FloatBuf fd, FloatBuf err, float scale, FloatBuf wDec, FloatBuf l1PerLatent,
                              FloatBuf xIn, StepShape shape, FloatBuf dpreScratch, SaeGrads grads, boolean accumulate) {
        act.denseBackward(fd, err, scale, wDec, l1PerLatent, xIn, shape.batch(), shape.dIn(), shape.nLatents(),
                dpreScratch, grads.dWDec(), grads.decActive(), grads.dWEnc(), grads.encActive(), grads.dBEnc(),
                accumulate);
    }

    // the architectures' kernels: CudaArchOps, over CudaActivationOps

    @Override
    public JumpReluOps jumpReluOps() {
        return arch;
    }

    @Override
    public GatedOps gatedOps() {
        return arch;
    }

    @Override
    public MatryoshkaOps matryoshkaOps() {
        return arch;
    }

    @Override
    public BatchTopkOps batchTopkOps() {
        return arch;
    }

    /**
     * The CPU's crossing densities ({@link SparseSwitch#MEASURED_ON_CPU}): where the GPU's dense and sparse paths
     * cross has not been measured yet.
     */
    @Override
    public SparseSwitch sparseSwitch() {
        return SparseSwitch.MEASURED_ON_CPU;
    }
}
