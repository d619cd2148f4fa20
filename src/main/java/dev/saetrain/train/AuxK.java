package dev.saetrain.train;

import dev.saetrain.device.Device;
import dev.saetrain.device.FloatBuf;
import dev.saetrain.device.SparseActs;

/**
 * AuxK (Gao et al. 2024, appendix A.2), the dead-latent loss of topk, batchtopk and matryoshka: the k_aux largest
 * pre-activations among dead latents reconstruct the residual e = x - x_hat,
 * <pre>
 *   loss = alpha |e_hat - e|^2 / |e - mean e|^2,   alpha = 1/32 by default ({@code --auxk-coef})
 * </pre>
 * then the step's firings are recorded: after AuxK, whose dead filter reads lastFired as it stood before this batch,
 * the same set that the step's dead count counted (Gao et al. 2024; sparsify). Recording first would drop the dead
 * latents that fire in this batch from the filter, leaving fewer candidates than the k_aux the count allows.
 */
final class AuxK {
    private final SharedParts s;
    private final Device dev;
    private final double alpha;
    private final SparseActs auxActs;
    private final FloatBuf resid;  // [B, d]
    private final FloatBuf auxHat; // [B, d]
    private final FloatBuf auxErr; // [B, d]

    /** @param alpha the AuxK coefficient, >= 0 */
    AuxK(Allocator a, SharedParts s, double alpha) {
        this.s = s;
        this.dev = s.dev;
        this.alpha = alpha;
        auxActs = a.sparse(s.batch, (long) s.batch * s.cfg.kAux());
        resid = a.floats((long) s.batch * s.d);
        auxHat = a.floats((long) s.batch * s.d);
        auxErr = a.floats((long) s.batch * s.d);
    }

    /**
     * AuxK over the {@code dead} latents dead before this batch (nothing when none), then the firing record of the
     * step's activations {@code acts}; returns AuxK's loss.
     */
    double thenRecordFires(int dead, SparseActs acts) {
        double aux = 0;
        if (dead > 0) {
            aux = auxK(dead);
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
        SparseActs aux = kAux == s.cfg.kAux() ? auxActs : new SparseActs(auxActs.rowPtr(), auxActs.idx(),
                auxActs.val(), auxActs.grad(), batch, batch * kAux);
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
}
