package dev.saetrain.device.arch;

import dev.saetrain.device.FloatBuf;
import dev.saetrain.device.SparseActs;
import dev.saetrain.device.StepShape;

/**
 * The JumpReLU kernels (Rajamanoharan et al. 2024, "Jumping Ahead: Improving Reconstruction Fidelity with JumpReLU
 * Sparse Autoencoders"), on the device that hands them out ({@code Device.jumpReluOps()}). theta = exp(log_threshold)
 * comes from {@code Device.expInto}.
 */
public interface JumpReluOps {
    /**
     * JumpReLU activation compacted into CSR: f_bi = pre_bi where pre_bi > threshold_i, per row, latents in
     * increasing order. threshold [nLatents] must be > 0. Returns the number of entries, or -1 (out unchanged
     * beyond rowPtr) when they exceed out.capacity().
     */
    long jumpReluSparse(FloatBuf pre, FloatBuf threshold, StepShape shape, SparseActs out);

    /**
     * JumpReLU dense: f = pre * H(pre - threshold) into {@code f} [batch, nLatents] (pre is not modified);
     * returns the number of entries of f that are > 0.
     */
    long jumpReluDense(FloatBuf pre, FloatBuf threshold, StepShape shape, FloatBuf f);

    /**
     * The JumpReLU threshold's straight-through gradient (section 4 of the paper), through log_threshold, with the
     * rectangle kernel K(u) = 1[|u| < 1/2] of bandwidth eps, g = scale * err:
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
                                   float eps, float l0Scale, StepShape shape, FloatBuf dLogThreshold);
}
