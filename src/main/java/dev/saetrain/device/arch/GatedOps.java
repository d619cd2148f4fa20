package dev.saetrain.device.arch;

import dev.saetrain.device.FloatBuf;
import dev.saetrain.device.IntBuf;
import dev.saetrain.device.SaeGrads;
import dev.saetrain.device.SparseActs;
import dev.saetrain.device.StepShape;

/**
 * The gated kernels (Rajamanoharan et al. 2024, "Improving Dictionary Learning with Gated Sparse Autoencoders"), on
 * the device that hands them out ({@code Device.gatedOps()}). pre is the encoder's output, pi_gate = x_in W_gate^T +
 * b_gate; the magnitude pre-activation shares its product: pi_mag_bi = magScale_i (pre_bi - bGate_i) + bMag_i
 * (= x_in . (W_gate_i exp(r_mag_i)) + b_mag_i with magScale = exp(r_mag)).
 */
public interface GatedOps {
    /**
     * The gated step's per-latent vectors, each [nLatents].
     *
     * @param bGate       b_gate (the shared b_enc)
     * @param bMag        b_mag
     * @param magScale    exp(r_mag)
     * @param l1PerLatent the sparsity term's weight per latent, (lambda / B) |W_dec,i| (read by the backward only)
     */
    record Latents(FloatBuf bGate, FloatBuf bMag, FloatBuf magScale, FloatBuf l1PerLatent) {
    }

    /**
     * The two residuals [batch, dIn] and their dL/dxHat scales: dL/dxHat = scale * err for the reconstruction,
     * auxScale * auxErr for the auxiliary reconstruction relu(pi_gate) W_dec + b_dec.
     */
    record Residuals(FloatBuf err, float scale, FloatBuf auxErr, float auxScale) {
    }

    /**
     * Where the gated backward writes: the shared gradients ({@code shared.dBEnc()} is dBGate) and the gated step's
     * own, each [nLatents] and overwritten (or added to, as the backward's {@code accumulate} says): dBMag, dRMag,
     * and dpreSums = sum_b dL/d(x_in . W_gate_i) (b_dec's
     * gradient through the encoder; written by the dense backward only).
     */
    record Grads(SaeGrads shared, FloatBuf dBMag, FloatBuf dRMag, FloatBuf dpreSums) {
    }

    /**
     * Gated activation compacted into CSR over the open gates: the entries are the (b, i) with pre_bi > 0, per row,
     * latents in increasing order: out.val = relu(pi_mag_bi) (the feature f_bi, possibly 0) and gateVal = pre_bi
     * (relu(pi_gate), > 0) at the same positions. Also writes gateSums[i] = sum_b relu(pre_bi) and fired[0] = the
     * number of entries with f > 0 (the L0 count). Returns the number of entries, or -1 (only rowPtr written) when
     * they exceed out.capacity().
     * In: pre [batch, nLatents], latents' bGate, bMag, magScale; out: gateVal [>= entries], gateSums [nLatents],
     * fired [1].
     */
    long gatedSparse(FloatBuf pre, Latents latents, StepShape shape, SparseActs out, FloatBuf gateVal,
                     FloatBuf gateSums, IntBuf fired);

    /**
     * Gated activation, dense (the warm-up phase): f = 1[pre > 0] relu(magScale_i (pre_bi - bGate_i) + bMag_i) into
     * {@code f}, then pre = relu(pre) in place (relu(pi_gate), what the sparsity and auxiliary terms read);
     * gateSums[i] = sum_b relu(pre_bi); fired[0] = the number of entries of f that are > 0. Returns the number of
     * entries with pre > 0 (open gates). In/out: pre [batch, nLatents]; out: f [batch, nLatents], gateSums
     * [nLatents], fired [1].
     */
    long gatedDense(FloatBuf pre, Latents latents, StepShape shape, FloatBuf f, FloatBuf gateSums, IntBuf fired);

    /**
     * The gated encoder-side backward through the open gates. {@code acts} holds f with acts.grad = dL/dpi_mag as
     * sparseDecoderBackward leaves it (g_b . wDec_i where f > 0, else 0); {@code gate} has the same rowPtr and idx,
     * gate.val = relu(pi_gate) > 0. Reads the auxiliary residual of {@code r} (the reconstruction's part is in
     * acts.grad already). For each entry e = (b, i):
     * <pre>
     *   dgate_e     = auxScale (auxErr_b . wDec_i) + l1PerLatent_i    dL/dpi_gate (aux and sparsity terms only: the
     *                                                                 Heaviside gate passes no gradient from the mse)
     *   gate.grad[e] = dgate_e + magScale_i acts.grad[e]              dL/d(x_in . W_gate_i), both paths
     * </pre>
     * and per latent (overwritten): dBGate_i = sum dgate_e; dBMag_i = sum acts.grad[e];
     * dRMag_i = sum acts.grad[e] (acts.val[e] - bMag_i) (where f > 0, f - b_mag = exp(r_mag) x_in . W_gate, its own
     * derivative in r_mag). Sums run over entries in CSR order. In: wDec [nLatents, dIn]; out: gate.grad, and of
     * {@code grads}: shared.dBEnc (dBGate), dBMag, dRMag (nothing else), overwritten, or with {@code accumulate}
     * added to (each sum rounded to fp32, then added: a row block after the first).
     */
    void gatedSparseBackward(SparseActs acts, SparseActs gate, Residuals r, FloatBuf wDec, Latents latents,
                             StepShape shape, Grads grads, boolean accumulate);

    /**
     * The gated backward, dense (the warm-up phase), with g = scale * err and a = auxScale * auxErr [batch, dIn],
     * gate = relu(pi_gate) and f [batch, nLatents]:
     * <pre>
     *   dmag  = (g wDec^T) * [f > 0];   dgate = (a wDec^T + l1PerLatent) * [gate > 0]
     *   dWDec = f^T g                                    (every flag of decActive set)
     *   dpre  = dgate + magScale * dmag;  dWEnc = dpre^T xIn  (every flag of encActive set)
     *   dpreSums = column sums of dpre;  dBGate, dBMag, dRMag as in gatedSparseBackward
     * </pre>
     * {@code f} and {@code scratch} [batch, nLatents] are overwritten (their contents are undefined afterwards).
     * Writes every buffer of {@code grads} (shared.dBEnc is dBGate): overwritten, or with {@code accumulate} added
     * to (the batch is a row block after the first, and every row of the gradients already holds the earlier
     * blocks' sums: every flag was set by them).
     */
    void gatedDenseBackward(FloatBuf gate, FloatBuf f, Residuals r, FloatBuf wDec, FloatBuf xIn, Latents latents,
                            StepShape shape, FloatBuf scratch, Grads grads, boolean accumulate);
}
