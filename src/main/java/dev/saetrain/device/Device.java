package dev.saetrain.device;

/**
 * The op catalog of the training step, in this field's terms, over device buffers. Everything the step
 * needs goes through here; nothing else does. Each op's formula is in its Javadoc; {@link ReferenceOps}
 * implements each one as plain loops, and every implementation is checked against it by the parity checks of
 * {@code dev.saetrain.selftest.parity} (run by the JUnit parity tests and by {@code sae-train selftest}).
 *
 * <p>Layouts (all row-major, fp32 unless said otherwise):
 * <ul>
 *   <li>x, xIn, xHat, err: [batch, dIn]</li>
 *   <li>pre: [batch, nLatents]</li>
 *   <li>wEnc: [nLatents, dIn], latent-major, i.e. the transpose of SAELens' W_enc [dIn, nLatents], so that one
 *       latent's encoder vector is contiguous and the sparse backward touches it as one row</li>
 *   <li>wDec: [nLatents, dIn] (SAELens orientation); bEnc [nLatents]; bDec [dIn]</li>
 * </ul>
 * Row-sparse gradients (dWEnc, dWDec) come each with its own {@code rowActive} [nLatents] int flags: a row
 * whose flag is 0 holds no gradient (treated as zero, its contents undefined). Ops that add to a row-sparse
 * gradient zero the row first when its flag is 0, then set the flag. Two gradients never share flags.
 */
public interface Device extends AutoCloseable {
    /** A short description for logs and config.json, e.g. "cpu (2 threads, OpenBLAS 0.3.28)". */
    String describe();

    /** Allocates a zero-filled fp32 buffer. */
    FloatBuf allocFloat(long n);

    /** Allocates a zero-filled int32 buffer. */
    IntBuf allocInt(long n);

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
    void encode(FloatBuf x, FloatBuf bDec, FloatBuf wEnc, FloatBuf bEnc, boolean applyBDec,
                int batch, int dIn, int nLatents, FloatBuf xIn, FloatBuf pre);

    /**
     * TopK activation (Gao et al. 2024): per row, the k largest entries of pre among latents with
     * {@code dead == null || lastFired[i] <= deadBefore}, ReLU'd, into {@code out} with exactly k entries per
     * row (rowPtr[b] = b * k). With a dead filter (AuxK), k is clamped to the number of dead latents by the
     * caller. Ties are broken arbitrarily.
     */
    void topk(FloatBuf pre, int batch, int nLatents, int k, IntBuf lastFired, int deadBefore, SparseActs out);

    /**
     * ReLU activation compacted into CSR: the entries of pre that are > 0, per row. Returns the number of
     * entries, or -1 (out unchanged beyond rowPtr) when they exceed out.capacity().
     */
    long reluSparse(FloatBuf pre, int batch, int nLatents, SparseActs out);

    /** ReLU in place on dense pre [batch, nLatents]; returns the number of entries > 0. */
    long reluDense(FloatBuf pre, int batch, int nLatents);

    /**
     * Firing bookkeeping: for every entry of {@code acts} with value > 0, counts[i] += 1,
     * lastFired[i] = step, and (when actSums is not null) actSums[i] += value. actSums [nLatents] is
     * overwritten, not accumulated across calls: it holds this batch's sums.
     */
    void recordFires(SparseActs acts, int nLatents, IntBuf counts, IntBuf lastFired, int step, FloatBuf actSums);

    /** The same for a dense f [batch, nLatents]: entries > 0 fire. */
    void recordFiresDense(FloatBuf f, int batch, int nLatents, IntBuf counts, IntBuf lastFired, int step,
                          FloatBuf actSums);

    /**
     * reluDense then recordFiresDense on the result, in one pass over pre [batch, nLatents] (in place): entries
     * <= 0 become 0; for every entry > 0, counts[i] += 1, lastFired[i] = step and (actSums not null) actSums[i]
     * = this batch's sum of column i. Returns the number of entries > 0. The dense selection of the ReLU step.
     */
    long reluDenseFires(FloatBuf pre, int batch, int nLatents, IntBuf counts, IntBuf lastFired, int step,
                        FloatBuf actSums);

    /**
     * Sparse decode: xHat = acts wDec (+ bDec when not null); err = xHat - target. Returns sum of err^2
     * over the batch. Out: xHat, err [batch, dIn].
     */
    double sparseDecode(SparseActs acts, FloatBuf wDec, FloatBuf bDec, FloatBuf target,
                        int batch, int dIn, FloatBuf xHat, FloatBuf err);

    /** Dense decode: xHat = f wDec + bDec with f [batch, nLatents] dense; err = xHat - target; returns sum err^2. */
    double denseDecode(FloatBuf f, FloatBuf wDec, FloatBuf bDec, FloatBuf target,
                       int batch, int dIn, int nLatents, FloatBuf xHat, FloatBuf err);

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
                               int batch, int dIn, int nLatents, FloatBuf dWDec, IntBuf rowActive);

    /**
     * Encoder backward through sparse activations, with dpre = acts.grad:
     * dWEnc[i] += sum_b dpre_bi xIn_b; dBEnc[i] += sum_b dpre_bi.
     */
    void sparseEncoderBackward(SparseActs acts, FloatBuf xIn, int batch, int dIn, int nLatents,
                               FloatBuf dWEnc, FloatBuf dBEnc, IntBuf rowActive);

    /**
     * {@link #sparseDecoderBackward} then {@link #sparseEncoderBackward} over the same entries, as one op so that an
     * implementation can walk the active latents once (one W_dec row read per active latent, each row of err and
     * xIn gathered once per entry). dWEnc may be dWDec with encActive == decActive (tied weights): both terms then
     * add into the one gradient. Results equal the two calls' up to float summation order.
     */
    default void sparseBackward(SparseActs acts, FloatBuf err, float scale, FloatBuf wDec, FloatBuf l1PerLatent,
                                FloatBuf xIn, int batch, int dIn, int nLatents, FloatBuf dWDec, IntBuf decActive,
                                FloatBuf dWEnc, FloatBuf dBEnc, IntBuf encActive) {
        sparseDecoderBackward(acts, err, scale, wDec, l1PerLatent, batch, dIn, nLatents, dWDec, decActive);
        sparseEncoderBackward(acts, xIn, batch, dIn, nLatents, dWEnc, dBEnc, encActive);
    }

    /**
     * Dense backward (the ReLU warm-up phase, when too many latents fire for sparse products to pay),
     * f = relu(pre) dense [batch, nLatents], g = scale * err:
     * dpre = (g wDec^T + l1PerLatent) * [f > 0] (written over {@code dpreScratch} [batch, nLatents]);
     * dWDec = f^T g; dWEnc = dpre^T xIn; dBEnc = column sums of dpre. Overwrites (not adds) all four and sets
     * every flag of decActive and encActive.
     */
    void denseBackward(FloatBuf f, FloatBuf err, float scale, FloatBuf wDec, FloatBuf l1PerLatent, FloatBuf xIn,
                       int batch, int dIn, int nLatents, FloatBuf dpreScratch,
                       FloatBuf dWDec, IntBuf decActive, FloatBuf dWEnc, IntBuf encActive, FloatBuf dBEnc);

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
     * Fused Adam (Kingma and Ba 2015) with bias correction and a gradient scale (the clip factor):
     * g = gradScale * grad (0 for rows whose flag is 0 when rowActive is not null);
     * m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2; p -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps).
     * Every element is updated (the moments of idle rows still decay), matching torch.optim.Adam.
     */
    void adamStep(FloatBuf param, FloatBuf grad, FloatBuf m, FloatBuf v, int rows, int cols, IntBuf rowActive,
                  float lr, float beta1, float beta2, float eps, float gradScale, int t);

    /** Waits for queued work (no-op on the CPU). */
    void synchronize();

    @Override
    void close();

    // relu-2023 (dead-latent resampling) and tied weights

    /**
     * Dead-latent resampling (Bricken et al. 2023, "Towards Monosemanticity", training details), for
     * q in [0, count): with i = latents[q], b = rows[q], v = x_b - bDec and u = v / |v| (u = 0 when |v| = 0):
     * wDec[i] = u; wEnc[i] = encNorm * u; bEnc[i] = 0. In place on wDec, wEnc [nLatents, dIn] (latent-major) and
     * bEnc [nLatents]; x [batch, dIn], bDec [dIn]; latents (distinct) and rows [>= count] int32.
     */
    void resampleRows(FloatBuf x, FloatBuf bDec, IntBuf latents, IntBuf rows, int count, int dIn, float encNorm,
                      FloatBuf wDec, FloatBuf wEnc, FloatBuf bEnc);

    /**
     * buf[r * cols .. (r + 1) * cols) = 0 for r = rows[q], q in [0, count) (Adam moments of resampled latents).
     * In place on buf [>= max(rows) + 1, cols]; rows int32 [>= count].
     */
    void zeroRows(FloatBuf buf, IntBuf rows, int count, int cols);

    // batchtopk (Bussmann, Leask and Nanda 2024) and jumprelu (Rajamanoharan et al. 2024) ops.

    /**
     * BatchTopK activation (Bussmann, Leask and Nanda 2024, "BatchTopK Sparse Autoencoders"): over the whole
     * batch, the r = min(kTotal, P) largest entries of pre among the P entries that are > 0, kept with their
     * value (ReLU'd: entries <= 0 are never kept), into {@code out} as CSR rows in row order, so rows hold
     * variable counts. Ties at the r-th value are broken by row-major position (lower first). Writes the
     * smallest kept value (this batch's threshold; 0 when nothing is kept) into {@code minKept[0]} and returns r.
     * Needs out.capacity() >= kTotal. In: pre [batch, nLatents]; out: minKept [1].
     */
    long batchTopk(FloatBuf pre, int batch, int nLatents, long kTotal, SparseActs out, FloatBuf minKept);

    /** dst[i] = exp(src[i]) for i in [0, n) (jumprelu: theta = exp(log_threshold)). */
    void expInto(FloatBuf src, FloatBuf dst, long n);

    /**
     * JumpReLU activation (Rajamanoharan et al. 2024) compacted into CSR: f_bi = pre_bi where
     * pre_bi > threshold_i, per row, latents in increasing order. threshold [nLatents] must be > 0. Returns the
     * number of entries, or -1 (out unchanged beyond rowPtr) when they exceed out.capacity().
     */
    long jumpReluSparse(FloatBuf pre, FloatBuf threshold, int batch, int nLatents, SparseActs out);

    /**
     * JumpReLU dense: f = pre * H(pre - threshold) into {@code f} [batch, nLatents] (pre is not modified);
     * returns the number of entries of f that are > 0.
     */
    long jumpReluDense(FloatBuf pre, FloatBuf threshold, int batch, int nLatents, FloatBuf f);

    /**
     * The JumpReLU threshold's straight-through gradient (Rajamanoharan et al. 2024, section 4), through
     * log_threshold, with the rectangle kernel K(u) = 1[|u| < 1/2] of bandwidth eps, g = scale * err:
     * <pre>
     *   w_bi   = 1[|pre_bi - theta_i| < eps / 2]
     *   dTheta_i = sum_b w_bi ( -(theta_i / eps) (g_b . wDec_i) - l0Scale / eps )
     *   dLogThreshold[i] = theta_i * dTheta_i          (overwritten, not added)
     * </pre>
     * The first term is the reconstruction path (d JumpReLU / d theta), the second the L0 penalty
     * l0Scale * sum_b sum_i H(pre_bi - theta_i). In: pre [batch, nLatents] (pre-activations, unmodified),
     * threshold [nLatents], err [batch, dIn], wDec [nLatents, dIn]; out: dLogThreshold [nLatents].
     */
    void jumpReluThresholdBackward(FloatBuf pre, FloatBuf threshold, FloatBuf err, float scale, FloatBuf wDec,
                                   float eps, float l0Scale, int batch, int dIn, int nLatents, FloatBuf dLogThreshold);

    // matryoshka

    /**
     * Matryoshka decode (Bussmann, Nabeshima, Karvonen and Nanda 2025, "Learning Multi-Level Features with
     * Matryoshka Sparse Autoencoders"): the nested reconstructions of the prefixes P_g = latents [0, groupEnds[g]),
     * built incrementally group by group,
     * <pre>
     *   xHat_g = sum over entries (b, i) with i in P_g of val * wDec[i] + bDec;   err_g = xHat_g - target
     *   residSuffix[g, b] = sum_{j >= g} err_j[b]         (the dL/dxHat a latent of group g collects, up to 2 / B)
     * </pre>
     * for g in [0, groups). Out: xHat, err [batch, dIn] the full reconstruction (g = groups - 1) and its residual;
     * residSuffix [groups, batch, dIn], group-major (slab 0 is the sum of every prefix's residual). Returns
     * sse[g] = sum over the batch of |err_g|^2, accumulated in double. groupEnds int32 [groups] is strictly
     * increasing and ends at nLatents (the caller's config guarantees it; implementations check it).
     */
    double[] matryoshkaDecode(SparseActs acts, FloatBuf wDec, FloatBuf bDec, FloatBuf target, IntBuf groupEnds,
                              int groups, int batch, int dIn, int nLatents, FloatBuf xHat, FloatBuf err,
                              FloatBuf residSuffix);

    /**
     * Decoder backward of the nested loss sum_g |err_g|^2 through sparse activations: an entry e = (b, i) with i in
     * group q (groupEnds[q-1] <= i < groupEnds[q]) sees g = scale * residSuffix[q, b], the sum of the residuals of
     * every prefix that contains i:
     * acts.grad[e] = g . wDec[i], zeroed where acts.val[e] <= 0; dWDec[i] += sum_b f_bi g for each active latent i.
     * Cost O(|S| dIn), like {@link #sparseDecoderBackward}. In: residSuffix [groups, batch, dIn] as written by
     * {@link #matryoshkaDecode}; groupEnds int32 [groups].
     */
    void matryoshkaDecoderBackward(SparseActs acts, FloatBuf residSuffix, IntBuf groupEnds, int groups, float scale,
                                   FloatBuf wDec, int batch, int dIn, int nLatents, FloatBuf dWDec, IntBuf rowActive);

    // gated

    /**
     * Gated activation (Rajamanoharan et al. 2024, "Improving Dictionary Learning with Gated Sparse Autoencoders")
     * compacted into CSR over the open gates. pre is the encoder's output, pi_gate = x_in W_gate^T + b_gate; the
     * magnitude pre-activation shares its product: pi_mag_bi = magScale_i (pre_bi - bGate_i) + bMag_i
     * (= x_in . (W_gate_i exp(r_mag_i)) + b_mag_i with magScale = exp(r_mag)). The entries are the (b, i) with
     * pre_bi > 0, per row, latents in increasing order: out.val = relu(pi_mag_bi) (the feature f_bi, possibly 0) and
     * gateVal = pre_bi (relu(pi_gate), > 0) at the same positions. Also writes gateSums[i] = sum_b relu(pre_bi) and
     * fired[0] = the number of entries with f > 0 (the L0 count). Returns the number of entries, or -1 (only rowPtr
     * written) when they exceed out.capacity().
     * In: pre [batch, nLatents], bGate, bMag, magScale [nLatents]; out: gateVal [>= entries], gateSums [nLatents], fired [1].
     */
    long gatedSparse(FloatBuf pre, FloatBuf bGate, FloatBuf bMag, FloatBuf magScale, int batch, int nLatents,
                     SparseActs out, FloatBuf gateVal, FloatBuf gateSums, IntBuf fired);

    /**
     * Gated activation, dense (the warm-up phase): f = 1[pre > 0] relu(magScale_i (pre_bi - bGate_i) + bMag_i) into
     * {@code f}, then pre = relu(pre) in place (relu(pi_gate), what the sparsity and auxiliary terms read);
     * gateSums[i] = sum_b relu(pre_bi); fired[0] = the number of entries of f that are > 0. Returns the number of
     * entries with pre > 0 (open gates). In/out: pre [batch, nLatents]; out: f [batch, nLatents], gateSums [nLatents],
     * fired [1].
     */
    long gatedDense(FloatBuf pre, FloatBuf bGate, FloatBuf bMag, FloatBuf magScale, int batch, int nLatents,
                    FloatBuf f, FloatBuf gateSums, IntBuf fired);

    /**
     * The gated encoder-side backward through the open gates. {@code acts} holds f with acts.grad = dL/dpi_mag as
     * sparseDecoderBackward leaves it (g_b . wDec_i where f > 0, else 0); {@code gate} has the same rowPtr and idx,
     * gate.val = relu(pi_gate) > 0. auxErr [batch, dIn] is the error of the auxiliary reconstruction
     * relu(pi_gate) W_dec + b_dec. For each entry e = (b, i):
     * <pre>
     *   dgate_e     = auxScale (auxErr_b . wDec_i) + l1PerLatent_i    dL/dpi_gate (aux and sparsity terms only: the
     *                                                                 Heaviside gate passes no gradient from the mse)
     *   gate.grad[e] = dgate_e + magScale_i acts.grad[e]              dL/d(x_in . W_gate_i), both paths
     * </pre>
     * and per latent (overwritten): dBGate_i = sum dgate_e; dBMag_i = sum acts.grad[e];
     * dRMag_i = sum acts.grad[e] (acts.val[e] - bMag_i) (where f > 0, f - b_mag = exp(r_mag) x_in . W_gate, its own
     * derivative in r_mag). Sums run over entries in CSR order. In: wDec [nLatents, dIn]; l1PerLatent, magScale,
     * bMag [nLatents]; out: gate.grad, dBGate, dBMag, dRMag [nLatents].
     */
    void gatedSparseBackward(SparseActs acts, SparseActs gate, FloatBuf auxErr, float auxScale, FloatBuf wDec,
                             FloatBuf l1PerLatent, FloatBuf magScale, FloatBuf bMag, int batch, int dIn, int nLatents,
                             FloatBuf dBGate, FloatBuf dBMag, FloatBuf dRMag);

    /**
     * The gated backward, dense (the warm-up phase), with g = scale * err and a = auxScale * auxErr [batch, dIn],
     * gate = relu(pi_gate) and f [batch, nLatents]:
     * <pre>
     *   dmag  = (g wDec^T) * [f > 0];   dgate = (a wDec^T + l1PerLatent) * [gate > 0]
     *   dWDec = f^T g                                    (overwritten; every flag of decActive set)
     *   dpre  = dgate + magScale * dmag;  dWEnc = dpre^T xIn  (overwritten; every flag of encActive set)
     *   dpreSums = column sums of dpre;  dBGate, dBMag, dRMag as in gatedSparseBackward (overwritten)
     * </pre>
     * {@code f} and {@code scratch} [batch, nLatents] are overwritten (their contents are undefined afterwards).
     */
    void gatedDenseBackward(FloatBuf gate, FloatBuf f, FloatBuf err, float scale, FloatBuf auxErr, float auxScale,
                            FloatBuf wDec, FloatBuf l1PerLatent, FloatBuf magScale, FloatBuf bMag, FloatBuf xIn,
                            int batch, int dIn, int nLatents, FloatBuf scratch, FloatBuf dWDec, IntBuf decActive,
                            FloatBuf dWEnc, IntBuf encActive, FloatBuf dBGate, FloatBuf dBMag, FloatBuf dRMag,
                            FloatBuf dpreSums);

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
