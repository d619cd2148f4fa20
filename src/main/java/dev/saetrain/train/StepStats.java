package dev.saetrain.train;

/**
 * What one training step measured, summed over its batch (so intervals can add them up).
 *
 * @param rows          rows in the batch
 * @param sse           sum over the batch of |x_hat - x|^2 (scaled input space)
 * @param centeredSse   sum over the batch of |x - mean x|^2 (the FVU denominator)
 * @param activeSum     number of (row, latent) pairs with f > 0 (L0 = activeSum / rows)
 * @param sparsityLoss  the sparsity term of the loss (relu: lambda * mean_b sum_i f_i |W_dec,i|), 0 for topk;
 *                      matryoshka: the inner prefixes' mse terms (its loss beyond the full dictionary's mse)
 * @param auxLoss       AuxK loss (topk), 0 when no latent is dead
 * @param dead          latents counted dead at this step
 * @param gradNorm      gradient norm before clipping
 * @param dense         whether the step took the dense path (relu warm-up)
 */
public record StepStats(int rows, double sse, double centeredSse, long activeSum, double sparsityLoss,
                        double auxLoss, int dead, double gradNorm, boolean dense) {

    /** Mean squared error summed over dimensions, averaged over rows (docs/design.md, "The training step"). */
    public double mse() {
        return sse / rows;
    }

    /** Fraction of variance unexplained. */
    public double fvu() {
        return centeredSse > 0 ? sse / centeredSse : Double.NaN;
    }

    /** The loss that was minimised. */
    public double loss() {
        return mse() + sparsityLoss + auxLoss;
    }
}
