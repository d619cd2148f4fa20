package dev.saetrain.train;

import dev.saetrain.device.Device;
import dev.saetrain.device.FloatBuf;
import dev.saetrain.device.IntBuf;
import dev.saetrain.model.SaeConfig;

/**
 * The nested reconstruction loss of a Matryoshka SAE (Bussmann, Nabeshima, Karvonen and Nanda 2025, "Learning
 * Multi-Level Features with Matryoshka Sparse Autoencoders", section 3). Latents are split into consecutive groups
 * ({@link SaeConfig#groups()}); prefix j = latents [0, m_j) with m_j = groups[0] + ... + groups[j], and
 * <pre>
 *   x_hat_j = f[:, 0:m_j] W_dec[0:m_j] + b_dec,    L = sum_j (1/B) sum_b |x_hat_j,b - x_b|^2  (+ AuxK)
 * </pre>
 * The paper's objective sums the prefix losses with no weights; the authors' training code averages them (and
 * adds a b_dec-only term), which under Adam differs mostly by the gradient clip's scale. We follow the paper.
 * f is batchtopk's selection over the whole dictionary ({@link BatchTopkStep}, with its inference threshold), and
 * AuxK, the unit-norm decoder and the inference form are batchtopk's, in {@link Engine}; AuxK reconstructs the
 * residual of the full dictionary, x - x_hat_last, as in the authors' code.
 *
 * <p>Gradients stay sparse: dL/dx_hat_j = (2/B) err_j, and a latent of group g takes part in every prefix j >= g,
 * so its decoder row and its activation see (2/B) sum_{j >= g} err_j. {@link Device#matryoshkaDecode} builds
 * the prefixes incrementally and writes those suffix sums ([groups, B, d]); {@link Device#matryoshkaDecoderBackward}
 * reads one suffix row per active entry: O(|S| d + groups B d), no dense [B, m] product. b_dec is in every prefix,
 * so its gradient is the column sum of the first slab, sum_j err_j.
 */
final class MatryoshkaStep implements AutoCloseable {
    private final Device dev;
    private final int groups;
    private final IntBuf groupEnds;    // [groups] int32, m_j
    private final FloatBuf residSuffix; // [groups, B, d]: slab g = sum_{j >= g} err_j

    /** What one decode and backward measured: the full dictionary's sse, and the inner prefixes' mse terms. */
    record Parts(double sse, double innerLoss) {
    }

    MatryoshkaStep(Device dev, SaeConfig cfg, int batch) {
        this.dev = dev;
        int[] ends = cfg.groupEnds();
        this.groups = ends.length;
        this.groupEnds = dev.allocInt(groups);
        dev.uploadInt(ends, 0, groupEnds, 0, groups);
        this.residSuffix = dev.allocFloat(Math.multiplyExact((long) groups * batch, cfg.dIn()));
    }

    /** Device bytes this class allocates: group ends and the residual suffix sums. */
    static long bufferBytes(SaeConfig cfg, int batch) {
        long g = cfg.groups().size();
        return 4L * (g + g * batch * cfg.dIn());
    }

    /**
     * Decode and decoder/encoder backward of {@code e}'s batch x [B, d] after the selection into e.acts: fills
     * e.xHat and e.err with the full reconstruction and its residual (what AuxK and the metrics read), the
     * gradients of W_dec, W_enc and b_enc (b_dec's is the engine's, from {@link #residualSum()}).
     *
     * @param gScale 2 / B
     */
    Parts run(Engine e, FloatBuf x, float gScale) {
        double[] sse = dev.matryoshkaDecode(e.acts, e.wDec.param, e.bDec.param, x, groupEnds, groups, e.batch, e.d, e.m,
                e.xHat, e.err, residSuffix);
        dev.matryoshkaDecoderBackward(e.acts, residSuffix, groupEnds, groups, gScale, e.wDec.param, e.batch, e.d, e.m,
                e.wDec.grad, e.decActive);
        dev.sparseEncoderBackward(e.acts, e.xIn, e.batch, e.d, e.m, e.wEnc.grad, e.bEnc.grad, e.encActive);
        double inner = 0;
        for (int g = 0; g < groups - 1; g++) {
            inner += sse[g] / e.batch;
        }
        return new Parts(sse[groups - 1], inner);
    }

    /** [B, d] (the first slab of the suffix sums): sum over prefixes of their residuals, b_dec's dL/dx_hat up to 2/B. */
    FloatBuf residualSum() {
        return residSuffix;
    }

    @Override
    public void close() {
        groupEnds.close();
        residSuffix.close();
    }
}
