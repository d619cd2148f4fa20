package dev.saetrain.device;

import dev.saetrain.device.arch.BatchTopkOps;
import dev.saetrain.device.arch.GatedOps;
import dev.saetrain.device.arch.JumpReluOps;
import dev.saetrain.device.arch.MatryoshkaOps;

/**
 * The op catalog of the training step, in this field's terms, over device buffers. Everything the step
 * needs goes through here; nothing else does. The ops every architecture shares are methods of this interface;
 * the kernels of one architecture sit behind that architecture's interface in {@code dev.saetrain.device.arch},
 * which the device hands out ({@link #jumpReluOps()}, {@link #gatedOps()}, {@link #matryoshkaOps()},
 * {@link #batchTopkOps()}), created with the device and living as long as it. Each op's formula is in its
 * Javadoc; {@link ReferenceOps} implements each one as plain loops, and every implementation is checked against it
 * by the parity checks of {@code dev.saetrain.selftest.parity} (run by the JUnit parity tests and by
 * {@code sae-train selftest}).
 *
 * <p>Layouts (all row-major, fp32 unless said otherwise):
 * <ul>
 *   <li>x, xIn, xHat, err: [batch, dIn]</li>
 *   <li>pre: [batch, nLatents]</li>
 *   <li>wEnc: [nLatents, dIn], latent-major, i.e. the transpose of SAELens' W_enc [dIn, nLatents], so that one
 *       latent's encoder vector is contiguous and the sparse backward touches it as one row</li>
 *   <li>wDec: [nLatents, dIn] (SAELens orientation); bEnc [nLatents]; bDec [dIn]</li>
 * </ul>
 * The step's ops take these sizes as one {@link StepShape}. Row-sparse gradients (dWEnc, dWDec) come each with its own
 * {@code rowActive} [nLatents] int flags: a row whose flag is 0 holds no gradient (treated as zero, its contents
 * undefined). Ops that add to a row-sparse gradient zero the row first when its flag is 0, then set the flag. Two
 * gradients never share flags.
 */
public interface Device extends AutoCloseable {
    /** A short description for logs and config.json, e.g. "cpu (2 threads, OpenBLAS 0.3.28)". */
    String describe();

    /** Allocates a zero-filled fp32 buffer. */
    FloatBuf allocFloat(long n);

    /** Allocates a zero-filled int32 buffer. */
    IntBuf allocInt(long n);

    /**
     * Elements [offset, offset + n) of {@code buf} as a buffer of n elements that shares its memory (no copy): what
     * an op writes through it lands in {@code buf}. Closing it frees nothing; it must not be used after {@code buf}
     * is closed. The row-blocked steps pass row ranges of their [batch, dIn] buffers this way. A device whose
     * buffers cannot be viewed (ReferenceOps: plain arrays) throws UnsupportedOperationException.
     */
    default FloatBuf floatView(FloatBuf buf, long offset, long n) {
        throw new UnsupportedOperationException(describe() + " has no buffer views");
    }

    /** Copies {@code n} floats from host {@code src[srcOff..]} to {@code dst[dstOff..]}. */
    void upload(float[] src, int srcOff, FloatBuf dst, long dstOff, int n);

    /** Copies {@code n} floats from {@code src[srcOff..]} to host {@code dst[dstOff..]}. */
    void download(FloatBuf src, long srcOff, float[] dst, int dstOff, int n);

    /** Copies {@code n} ints from host {@code src[srcOff..]} to {@code dst[dstOff..]}. */
    void uploadInt(int[] src, int srcOff, IntBuf dst, long dstOff, int n);

    /** Copies {@code n} ints from {@code src[srcOff..]} to host {@code dst[dstOff..]}. */
    void downloadInt(IntBuf src, long srcOff, int[] dst, int dstOff, int n);

    /** buf[0..n) = value. */
    void fill(FloatBuf buf, long n, float value);

    /** dst[0..n) = alpha * src[0..n) (dst may be src). */
    void scaleInto(FloatBuf src, FloatBuf dst, long n, float alpha);

    /** sum of a[i] * b[i] over [0, n), accumulated in double. */
    double dot(FloatBuf a, FloatBuf b, long n);

    /** The number of i in [0, n) with a[i] <= threshold (dead latents: lastFired <= deadBefore). */
    int countAtOrBelow(IntBuf a, int n, int threshold);

    /**
     * The dense product c = alpha a b^T + beta c, for a [rows, inner], b [cols, inner], c [rows, cols]
     * (the encoder's shape; exposed so {@code bench} can time it alone).
     */
    void gemmNT(FloatBuf a, FloatBuf b, FloatBuf c, int rows, int cols, int inner, float alpha, float beta);

    /**
     * Encoder forward: xIn = x - bDec (or x when {@code applyBDec} is false), then
     * pre = xIn wEnc^T + bEnc. The product is the one dense product of the sparse step.
     * Out: xIn [batch, dIn], pre [batch, nLatents].
     */
    void encode(FloatBuf x, FloatBuf bDec, FloatBuf wEnc, FloatBuf bEnc, boolean applyBDec, StepShape shape,
                FloatBuf xIn, FloatBuf pre);

    /**
     * TopK activation (Gao et al. 2024): per row, the k largest entries of pre among latents with
     * {@code dead == null || lastFired[i] <= deadBefore}, ReLU'd, into {@code out} with exactly k entries per
     * row (rowPtr[b] = b * k). With a dead filter (AuxK), k is clamped to the number of dead latents by the
     * caller. Ties are broken arbitrarily.
     */
    void topk(FloatBuf pre, StepShape shape, int k, IntBuf lastFired, int deadBefore, SparseActs out);

    /**
     * ReLU activation compacted into CSR: the entries of pre that are > 0, per row. Returns the number of
     * entries, or -1 (out unchanged beyond rowPtr) when they exceed out.capacity().
     */
    long reluSparse(FloatBuf pre, StepShape shape, SparseActs out);

    /** ReLU in place on dense pre [batch, nLatents]; returns the number of entries > 0. */
    long reluDense(FloatBuf pre, StepShape shape);

    /**
     * Firing bookkeeping: for every entry of {@code acts} with value > 0, counts[i] += 1,
     * lastFired[i] = step, and (when actSums is not null) actSums[i] += value. actSums [nLatents] is
     * overwritten, not accumulated across calls: it holds this batch's sums.
     */
    void recordFires(SparseActs acts, int nLatents, IntBuf counts, IntBuf lastFired, int step, FloatBuf actSums);

    /** The same for a dense f [batch, nLatents]: entries > 0 fire. */
    void recordFiresDense(FloatBuf f, StepShape shape, IntBuf counts, IntBuf lastFired, int step, FloatBuf actSums);

    /**
     * reluDense then recordFiresDense on the result, in one pass over pre [batch, nLatents] (in place): entries
     * <= 0 become 0; for every entry > 0, counts[i] += 1, lastFired[i] = step and (actSums not null) actSums[i]
     * = this batch's sum of column i. Returns the number of entries > 0. The dense selection of the ReLU step.
     */
    long reluDenseFires(FloatBuf pre, StepShape shape, IntBuf counts, IntBuf lastFired, int step, FloatBuf actSums);

    /**
     * Sparse decode: xHat = acts wDec (+ bDec when not null); err = xHat - target. Returns sum of err^2
     * over the batch. Out: xHat, err [batch, dIn].
     */
    double sparseDecode(SparseActs acts, FloatBuf wDec, FloatBuf bDec, FloatBuf target, StepShape shape,
                        FloatBuf xHat, FloatBuf err);

    /** Dense decode: xHat = f wDec + bDec with f [batch, nLatents] dense; err = xHat - target; returns sum err^2. */
    double denseDecode(FloatBuf f, FloatBuf wDec, FloatBuf bDec, FloatBuf target, StepShape shape,
                       FloatBuf xHat, FloatBuf err);

    /** sum over rows of |x_b - mean_b x|^2 for x [batch, dIn] (the FVU denominator). */
    double centeredSumSquares(FloatBuf x, int batch, int dIn);

    /** sum of column sums: out[j] += scale * sum_b x[b, j] for x [batch, dIn]. */
    void addColumnSums(FloatBuf x, int batch, int dIn, float scale, FloatBuf out);

    /**
     * Decoder backward through sparse activations, with g = scale * err:
     * acts.grad[e] = g_b . wDec[i] (+ l1PerLatent[i] when not null) for each entry e = (b, i), then zeroed where
     * acts.val[e] <= 0 (ReLU/TopK mask); and dWDec[i] += sum_b f_bi g_b for each active latent i.
     */
    void sparseDecoderBackward(SparseActs acts, FloatBuf err, float scale, FloatBuf wDec, FloatBuf l1PerLatent,
                               StepShape shape, FloatBuf dWDec, IntBuf rowActive);

    /**
     * Encoder backward through sparse activations, with dpre = acts.grad:
     * dWEnc[i] += sum_b dpre_bi xIn_b; dBEnc[i] += sum_b dpre_bi.
     */
    void sparseEncoderBackward(SparseActs acts, FloatBuf xIn, StepShape shape, FloatBuf dWEnc, FloatBuf dBEnc,
                               IntBuf rowActive);

    /**
     * {@link #sparseDecoderBackward} then {@link #sparseEncoderBackward} over the same entries, as one op so that an
     * implementation can walk the active latents once (one W_dec row read per active latent, each row of err and
     * xIn gathered once per entry), into {@code grads}. grads.dWEnc may be grads.dWDec with encActive == decActive
     * (tied weights): both terms then add into the one gradient. Results equal the two calls' up to float summation
     * order.
     */
    default void sparseBackward(SparseActs acts, FloatBuf err, float scale, FloatBuf wDec, FloatBuf l1PerLatent,
                                FloatBuf xIn, StepShape shape, SaeGrads grads) {
        sparseDecoderBackward(acts, err, scale, wDec, l1PerLatent, shape, grads.dWDec(), grads.decActive());
        sparseEncoderBackward(acts, xIn, shape, grads.dWEnc(), grads.dBEnc(), grads.encActive());
    }

    /**
     * Dense backward (the ReLU warm-up phase, when too many latents fire for sparse products to pay),
     * f = relu(pre) dense [batch, nLatents], g = scale * err:
     * dpre = (g wDec^T + l1PerLatent) * [f > 0] (written over {@code dpreScratch} [batch, nLatents]);
     * dWDec = f^T g; dWEnc = dpre^T xIn; dBEnc = column sums of dpre, into {@code grads}. Overwrites (not adds) the
     * three gradients and sets every flag of decActive and encActive (grads.dWEnc must not be grads.dWDec).
     */
    default void denseBackward(FloatBuf f, FloatBuf err, float scale, FloatBuf wDec, FloatBuf l1PerLatent,
                               FloatBuf xIn, StepShape shape, FloatBuf dpreScratch, SaeGrads grads) {
        denseBackward(f, err, scale, wDec, l1PerLatent, xIn, shape, dpreScratch, grads, false);
    }

    /**
     * {@link #denseBackward(FloatBuf, FloatBuf, float, FloatBuf, FloatBuf, FloatBuf, StepShape, FloatBuf, SaeGrads)},
     * which overwrites the three gradients, or with {@code accumulate} adds f^T g, dpre^T xIn and dpre's column sums
     * to them (the products' beta 1): the later row blocks of a row-blocked dense step, after the first block's
     * overwrite. Accumulating needs every flag of decActive and encActive set already (rows whose flag is 0 hold no
     * gradient, see the class comment); it leaves them set.
     */
    void denseBackward(FloatBuf f, FloatBuf err, float scale, FloatBuf wDec, FloatBuf l1PerLatent, FloatBuf xIn,
                       StepShape shape, FloatBuf dpreScratch, SaeGrads grads, boolean accumulate);

    /** out[j] += alpha * sum_i v[i] * w[i, j], for v [rows], w [rows, cols] (b_dec's gradient through the encoder). */
    void addVecMat(FloatBuf v, FloatBuf w, int rows, int cols, float alpha, FloatBuf out);

    /** dW[i] += coef[i] * w[i] for active rows (rowActive set; rows with coef[i] == 0 are skipped). */
    void addScaledRows(FloatBuf w, FloatBuf coef, int rows, int cols, FloatBuf dW, IntBuf rowActive);

    /**
     * The decoder-side coefficient of the April-2024 relu sparsity term (lambda / B) sum_i |W_dec,i| sum_b f_bi:
     * its gradient in W_dec,i is coef[i] W_dec,i with coef[i] = lambdaOverB * actSums[i] / norms[i] (0 where
     * norms[i] == 0). Elementwise over [nLatents]; {@code out} may be {@code norms} (in place).
     */
    void l1DecoderCoefficients(FloatBuf actSums, FloatBuf norms, float lambdaOverB, int nLatents, FloatBuf out);

    /** norms[i] = |w[i]| for w [rows, cols]. */
    void rowNorms(FloatBuf w, int rows, int cols, FloatBuf norms);

    /**
     * Removes from each active gradient row its component along the (unit-norm) weight row:
     * g[i] -= (g[i] . w[i]) w[i]. Unit-norm decoders (Towards Monosemanticity; Gao et al. 2024).
     */
    void projectOutParallel(FloatBuf w, FloatBuf g, int rows, int cols, IntBuf rowActive);

    /** w[i] /= |w[i]| for every row (rows of norm 0 are left as they are). */
    void normalizeRows(FloatBuf w, int rows, int cols);

    /** sum of squares of g; rows with rowActive == 0 count as zero when rowActive is not null. */
    double sumSquares(FloatBuf g, int rows, int cols, IntBuf rowActive);

    /** Zeroes every rowActive flag (the next step's gradients start empty). */
    void clearFlags(IntBuf rowActive, int rows);

    /**
     * Fused Adam (Kingma and Ba 2015) with bias correction and a gradient scale (the clip factor), with the scalars
     * of {@code u}: g = gradScale * grad (0 for rows whose flag is 0 when rowActive is not null);
     * m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2; p -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps),
     * the fast devices with {@link AdamUpdate#stepSize()} and {@link AdamUpdate#invSqrtBc2()}.
     * Every element is updated (the moments of idle rows still decay), matching torch.optim.Adam.
     */
    void adamStep(FloatBuf param, FloatBuf grad, FloatBuf m, FloatBuf v, int rows, int cols, IntBuf rowActive,
                  AdamUpdate u);

    /** Waits for queued work (no-op on the CPU). */
    void synchronize();

    @Override
    void close();

    // relu-2023 (dead-latent resampling) and tied weights

    /**
     * Dead-latent resampling (Bricken et al. 2023, "Towards Monosemanticity", training details), for
     * q in [0, count): with i = latents[q], b = rows[q], v = x_b - bDec and u = v / |v| (u = 0 when |v| = 0):
     * wDec[i] = u; wEnc[i] = encNorm * u; bEnc[i] = 0. In place on {@code params}' wDec, wEnc [nLatents, dIn]
     * (latent-major) and bEnc [nLatents]; reads its bDec [dIn]; x [batch, dIn]; latents (distinct) and rows
     * [>= count] int32.
     */
    void resampleRows(FloatBuf x, SaeParams params, IntBuf latents, IntBuf rows, int count, int dIn, float encNorm);

    /**
     * buf[r * cols .. (r + 1) * cols) = 0 for r = rows[q], q in [0, count) (Adam moments of resampled latents).
     * In place on buf [>= max(rows) + 1, cols]; rows int32 [>= count].
     */
    void zeroRows(FloatBuf buf, IntBuf rows, int count, int cols);

    /** dst[i] = exp(src[i]) for i in [0, n) (jumprelu: theta = exp(log_threshold); gated: exp(r_mag)). */
    void expInto(FloatBuf src, FloatBuf dst, long n);

    // the architectures' kernels (dev.saetrain.device.arch), one object each for the device's life

    /** The JumpReLU kernels. */
    JumpReluOps jumpReluOps();

    /** The gated kernels. */
    GatedOps gatedOps();

    /** The Matryoshka kernels. */
    MatryoshkaOps matryoshkaOps();

    /** The BatchTopK selection (batchtopk and matryoshka). */
    BatchTopkOps batchTopkOps();

    /**
     * Where this device's dense and sparse step products cross, per architecture that starts dense (relu,
     * relu-2023, jumprelu, gated): the step goes sparse below the density this answers (see {@link SparseSwitch}).
     */
    SparseSwitch sparseSwitch();

    // input upload and device memory (defaults: the CPU's behaviour)

    /**
     * The input path of the step loop for batches of {@code floats} fp32 values (see {@link BatchUpload}). Default:
     * one buffer filled by {@link #upload}; CudaDevice double-buffers through pinned host memory on a copy stream.
     */
    default BatchUpload batchUpload(long floats) {
        return new BatchUpload.Direct(this, floats);
    }

    /**
     * Bytes of device memory free for this run's buffers, when the device has its own memory (a GPU: checked against
     * the run's MemoryPlan before the first step); empty for devices that use the host's memory.
     */
    default java.util.OptionalLong freeMemoryBytes() {
        return java.util.OptionalLong.empty();
    }
}
