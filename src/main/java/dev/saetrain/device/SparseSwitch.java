package dev.saetrain.device;

/**
 * Where a step's dense and sparse products cross, as a device answers it ({@link Device#sparseSwitch}): the density
 * of active (row, latent) pairs below which the step of an architecture that starts dense takes sparse products.
 * The step measures the density of its previous batch and compares; both paths compute the same step. The sparse
 * activations are allocated for this density, so the memory plan asks the same object.
 *
 * @param relu     relu and relu-2023 (firing latents)
 * @param jumpRelu jumprelu (firing latents)
 * @param gated    gated (open gates)
 */
public record SparseSwitch(double relu, double jumpRelu, double gated) {
    /**
     * Where the paths cross on the CPU. relu (`bench --arch relu --l0 N`, each path forced, d = 512 x16, batch 4096,
     * 2 threads): sparse 1.5x the dense step at 3.5 %, 1.3-1.4x at 5.6 %, 1.2-1.3x at 6.3 %, 1.07x at 7.8 %, 0.85x
     * at 8.8 %: 1/16. jumprelu and gated cost more per active pair (jumprelu's threshold gradient, gated's two
     * paths): sparse over dense 1.10x (jumprelu) and 1.14x (gated) at 4.1-4.4 %, 0.71x and 0.72x at 6.5-6.8 %: they
     * cross near 5 %, 1/24.
     */
    public static final SparseSwitch MEASURED_ON_CPU = new SparseSwitch(1.0 / 16, 1.0 / 24, 1.0 / 24);

    public SparseSwitch {
        for (double d : new double[] {relu, jumpRelu, gated}) {
            if (!(d > 0 && d <= 1)) {
                throw new IllegalArgumentException("a sparse switch density must be in (0, 1], got " + d);
            }
        }
    }
}
