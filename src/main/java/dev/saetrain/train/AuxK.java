package dev.saetrain.train;

import dev.saetrain.device.Device;
import dev.saetrain.device.FloatBuf;
import dev.saetrain.device.SparseActs;
import dev.saetrain.device.StepShape;

/**
 * AuxK (Gao et al. 2024, appendix A.2), the dead-latent loss of topk, batchtopk and matryoshka: the k_aux largest
 * pre-activations among dead latents reconstruct the residual e = x - x_hat,
 * <pre>
 *   loss = alpha |e_hat - e|^2 / |e - mean e|^2,   alpha = 1/32 by default ({@code --auxk-coef})
 * </pre>
 * then the step's firings are recorded: after AuxK, whose dead filter reads lastFired as it stood before this batch,
 * the same set that the step's dead count counted (Gao et al. 2024; sparsify). Recording first would drop the dead
 * latents that fire in this batch from the filter, leaving fewer candidates than the k_aux the count allows.
 *
 * <p>Row-blocked ({@link RowBlocks}; topk, batchtopk, matryoshka): the selection of block j is made while the
 * block's pre-activations exist ({@link #selectBlock}); the decode and backward follow once the whole residual, and
 * with it the denominator, is known ({@link #thenRecordFiresBlocks}, or {@link #thenRecordFires} for activations
 * over the whole batch).
 */
final class AuxK {
    private final SharedParts s;
    private final Device dev;
    private final double alpha;
    private final SparseActs auxActs; // null when row-blocked
    private final FloatBuf resid;  // [B, d]
    private final FloatBuf auxHat; // [B, d]
    private final FloatBuf auxErr; // [B, d]
    private final RowBlocks blocks; // null unless row-blocked
    private final SparseActs[] blockActs; // row-blocked: block j's kAux entries per row
    private final SparseActs[] blockSelected; // this step's selection per block (k_aux clamped to the dead count)
    private FloatBuf[] residRows; // row-blocked: views per block (made on first use)
    private FloatBuf[] auxHatRows;
    private FloatBuf[] auxErrRows;

    /**
     * @param alpha  the AuxK coefficient, >= 0
     * @param blocks the step's row blocks, or null when the step selects over the whole batch
     */
    AuxK(Allocator a, SharedParts s, double alpha, RowBlocks blocks) {
        this.s = s;
        this.dev = s.dev;
        this.alpha = alpha;
        this.blocks = blocks;
        auxActs = blocks == null ? a.sparse(s.batch, (long) s.batch * s.cfg.kAux()) : null;
        blockActs = blocks == null ? null : blocks.sparse(a, s.cfg.kAux());
        blockSelected = blocks == null ? null : new SparseActs[blocks.count()];
        resid = a.floats((long) s.batch * s.d);
        auxHat = a.floats((long) s.batch * s.d);
        auxErr = a.floats((long) s.batch * s.d);
    }

    /** AuxK over the whole batch; see {@link #AuxK(Allocator, SharedParts, double, RowBlocks)}. */
    AuxK(Allocator a, SharedParts s, double alpha) {
        this(a, s, alpha, null);
    }

    /**
     * AuxK over the {@code dead} latents dead before this batch (nothing when none), then the firing record of the
     * step's activations {@code acts} [B rows]; returns AuxK's loss. Row-blocked, AuxK reads the selections of
     * {@link #selectBlock} (batchtopk and matryoshka: their activations are the whole batch's).
     */
    double thenRecordFires(int dead, SparseActs acts) {
        double aux = 0;
        if (dead > 0) {
            aux = blocks == null ? auxK(dead) : auxKBlocks(); // row-blocked: the selections of selectBlock
            s.lap("auxk");
        }
        dev.recordFires(acts, s.m, s.fireCounts, s.lastFired, s.step, null);
        s.lap("fires");
        return aux;
    }

    private double auxK(int dead) {
        int batch = s.batch;
        int d = s.d;
        int kAux = Math.min(s.cfg.kAux(), dead);
        SparseActs aux = clamped(auxActs, kAux);
        dev.topk(s.pre, s.shape, kAux, s.lastFired, s.step - 1 - s.deadSteps, aux);
        dev.scaleInto(s.err, resid, (long) batch * d, -1f);
        double denom = dev.centeredSumSquares(resid, batch, d);
        if (!(denom > 0)) {
            return 0;
        }
        double auxSse = dev.sparseDecode(aux, s.wDec.param, null, resid, s.shape, auxHat, auxErr);
        float auxScale = (float) (2 * alpha / denom);
        dev.sparseBackward(aux, auxErr, auxScale, s.wDec.param, null, s.xIn, s.shape, s.grads);
        return alpha * auxSse / denom;
    }

    /** {@code acts} holding kAux entries a row (its buffers, a smaller capacity when k_aux is clamped). */
    private SparseActs clamped(SparseActs acts, int kAux) {
        return kAux == s.cfg.kAux() ? acts : new SparseActs(acts.rowPtr(), acts.idx(), acts.val(), acts.grad(),
                acts.batch(), acts.batch() * kAux);
    }

    /**
     * Row-blocked: the dead-latent selection of block j from the block's pre-activations in {@code s.pre} (shape
     * {@code shape}), before any firing of this batch is recorded; nothing when no latent is dead.
     */
    void selectBlock(int j, StepShape shape, int dead) {
        if (dead <= 0) {
            return;
        }
        int kAux = Math.min(s.cfg.kAux(), dead);
        blockSelected[j] = clamped(blockActs[j], kAux);
        dev.topk(s.pre, shape, kAux, s.lastFired, s.step - 1 - s.deadSteps, blockSelected[j]);
    }

    /**
     * Row-blocked {@link #thenRecordFires}: AuxK's loss over the selections of {@link #selectBlock} (the residual
     * and its denominator over the whole batch), then the firing record of every block of {@code acts}.
     */
    double thenRecordFiresBlocks(int dead, SparseActs[] acts) {
        double aux = 0;
        if (dead > 0) {
            aux = auxKBlocks();
            s.lap("auxk");
        }
        for (SparseActs a : acts) {
            dev.recordFires(a, s.m, s.fireCounts, s.lastFired, s.step, null);
        }
        s.lap("fires");
        return aux;
    }

    private double auxKBlocks() {
        if (residRows == null) {
            residRows = blocks.views(dev, resid, s.d);
            auxHatRows = blocks.views(dev, auxHat, s.d);
            auxErrRows = blocks.views(dev, auxErr, s.d);
        }
        dev.scaleInto(s.err, resid, (long) s.batch * s.d, -1f);
        double denom = dev.centeredSumSquares(resid, s.batch, s.d);
        if (!(denom > 0)) {
            return 0;
        }
        float auxScale = (float) (2 * alpha / denom);
        double auxSse = 0;
        FloatBuf[] xInRows = s.blockViews().xIn();
        for (int j = 0; j < blocks.count(); j++) {
            StepShape shape = blocks.shape(j);
            auxSse += dev.sparseDecode(blockSelected[j], s.wDec.param, null, residRows[j], shape, auxHatRows[j],
                    auxErrRows[j]);
            dev.sparseBackward(blockSelected[j], auxErrRows[j], auxScale, s.wDec.param, null, xInRows[j], shape,
                    s.grads);
        }
        return alpha * auxSse / denom;
    }
}
