package dev.saetrain.train;

import dev.saetrain.device.Device;
import dev.saetrain.device.FloatBuf;
import dev.saetrain.device.IntBuf;
import dev.saetrain.device.SaeParams;
import dev.saetrain.model.Philox;
import java.util.Arrays;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Dead-latent resampling of the relu-2023 recipe (Bricken et al. 2023, "Towards Monosemanticity", section
 * "Autoencoder training details": at steps 25k, 50k, 75k and 100k, neurons that did not fire in the previous
 * 12.5k steps are reinitialised). At every {@code every}-th step before {@code until}, latents that did not fire
 * in the last {@code window} steps are dead; for each:
 * <pre>
 *   loss_b  = |x_hat_b - x_b|^2 of this step's forward pass, per row of the batch
 *   row b   ~ p(b) = loss_b^2 / sum_b' loss_b'^2      (Philox stream STREAM_BASE + resampling index, element q
 *                                                      for the q-th dead latent in index order)
 *   W_dec,i = (x_b - b_dec) / |x_b - b_dec|;  W_enc,i = 0.2 * mean alive |W_enc,j| * W_dec,i;  b_enc,i = 0
 *   Adam moments of W_enc,i, W_dec,i and b_enc,i = 0
 * </pre>
 * The paper scores a fresh sample of 819,200 inputs; we use the step's own batch (its forward pass, just before
 * the update), which costs nothing extra. The host draws the rows (B numbers, at a resampling only) so that any
 * device picks the same rows for the same losses; the device writes them ({@link Device#resampleRows}).
 *
 * <p>State: the seed and the number of resamplings done (the Philox stream index), both in the engine's
 * snapshot ({@link #STATE_KEY}).
 */
public final class Resampler {
    /** Philox streams of resampling: STREAM_BASE + resampling index (SaeInit uses stream 1). */
    static final long STREAM_BASE = 1L << 32;
    /** Encoder rows of resampled latents: this times the mean norm of the alive encoder rows (Bricken et al. 2023). */
    static final double ENCODER_SCALE = 0.2;
    /** Snapshot key: int[3] = {resamplings done, seed low 32 bits, seed high 32 bits}. */
    static final String STATE_KEY = "resampler";

    private static final Logger LOG = LoggerFactory.getLogger(Resampler.class);

    /**
     * When to resample.
     *
     * @param seed   seed of the sampling (the run seed)
     * @param every  resample at steps every, 2 every, ... (>= 1)
     * @param window a latent is dead when it did not fire in the last {@code window} steps (1..every)
     * @param until  no resampling at or after this step (the LR decay, so that the last latents settle)
     */
    public record Plan(long seed, int every, int window, long until) {
        public Plan {
            if (every < 1 || window < 1 || window > every) {
                throw new IllegalArgumentException("resampling needs 1 <= window <= every, got every " + every
                        + ", window " + window);
            }
        }

        /**
         * The run's plan: every {@code every} steps ({@code -1}: a fifth of the run, i.e. resamplings at 20 %,
         * 40 %, 60 % and, with the default decay starting right after it, 80 % of the steps; 0: never, null
         * returned), dead window half of that (the paper's 12.5k of 25k), and none from {@code until} (the LR decay)
         * on.
         */
        public static Plan forRun(long totalSteps, int every, long seed, long until) {
            if (every == 0) {
                return null;
            }
            int e = every > 0 ? every : (int) Math.max(1, Math.min(Integer.MAX_VALUE, totalSteps / 5));
            return new Plan(seed, e, Math.max(1, e / 2), until);
        }
    }

    private final Device dev;
    private final int batch;
    private final int d;
    private final int m;
    private final Plan plan;
    private final FloatBuf rowLoss; // [batch]
    private final IntBuf latents;   // [m]
    private final IntBuf rows;      // [m]
    private long seed;
    private int done;

    Resampler(Allocator a, Plan plan, int batch, int dIn, int nLatents) {
        this.dev = a.device();
        this.plan = plan;
        this.batch = batch;
        this.d = dIn;
        this.m = nLatents;
        this.seed = plan.seed();
        this.rowLoss = a.floats(batch);
        this.latents = a.ints(nLatents);
        this.rows = a.ints(nLatents);
    }

    boolean due(int step) {
        return step % plan.every() == 0 && step < plan.until();
    }

    /**
     * Resamples the latents dead at {@code step} (see the class comment); returns them, ascending.
     *
     * @param x        the step's batch [batch, dIn]
     * @param err      x_hat - x of the step's forward pass [batch, dIn]
     * @param scratch  [nLatents] floats to overwrite (encoder row norms)
     */
    int[] resample(int step, FloatBuf x, FloatBuf err, IntBuf lastFired, AdamState wEnc, AdamState bEnc,
                   AdamState wDec, FloatBuf bDec, FloatBuf scratch) {
        int[] last = new int[m];
        dev.downloadInt(lastFired, 0, last, 0, m);
        boolean[] dead = new boolean[m];
        int n = 0;
        for (int i = 0; i < m; i++) {
            dead[i] = last[i] <= step - plan.window();
            n += dead[i] ? 1 : 0;
        }
        if (n == 0) {
            return new int[0];
        }
        int[] picked = new int[n];
        int q = 0;
        for (int i = 0; i < m; i++) {
            if (dead[i]) {
                picked[q++] = i;
            }
        }
        int[] chosenRows = sampleRows(err, n);
        dev.rowNorms(wEnc.param, m, d, scratch);
        float[] norms = new float[m];
        dev.download(scratch, 0, norms, 0, m);
        double sum = 0;
        for (int i = 0; i < m; i++) {
            sum += dead[i] ? 0 : norms[i];
        }
        double meanAlive = n < m ? sum / (m - n) : 1.0;
        dev.uploadInt(picked, 0, latents, 0, n);
        dev.uploadInt(chosenRows, 0, rows, 0, n);
        dev.resampleRows(x, new SaeParams(wEnc.param, bEnc.param, wDec.param, bDec), latents, rows, n, d,
                (float) (ENCODER_SCALE * meanAlive));
        for (AdamState a : new AdamState[] {wEnc, wDec}) {
            dev.zeroRows(a.m, latents, n, d);
            dev.zeroRows(a.v, latents, n, d);
        }
        dev.zeroRows(bEnc.m, latents, n, 1);
        dev.zeroRows(bEnc.v, latents, n, 1);
        done++;
        LOG.info("resampled {} dead latent(s) of {} at step {} (no firing in {} steps)", n, m, step, plan.window());
        return picked;
    }

    /** n rows drawn with p ~ loss^2 from Philox stream STREAM_BASE + done (uniform when every loss is 0). */
    private int[] sampleRows(FloatBuf err, int n) {
        dev.rowNorms(err, batch, d, rowLoss);
        float[] norm = new float[batch];
        dev.download(rowLoss, 0, norm, 0, batch);
        double[] cum = new double[batch];
        double total = 0;
        for (int b = 0; b < batch; b++) {
            double loss = (double) norm[b] * norm[b];
            total += loss * loss;
            cum[b] = total;
        }
        int[] out = new int[n];
        for (int q = 0; q < n; q++) {
            double u = Philox.uniform(seed, STREAM_BASE + done, q);
            if (!(total > 0) || !Double.isFinite(total)) {
                out[q] = (int) Math.min(batch - 1, (long) (u * batch));
                continue;
            }
            int b = Arrays.binarySearch(cum, u * total);
            b = b >= 0 ? b + 1 : -b - 1;
            while (b < batch - 1 && cum[b] <= u * total) {
                b++;
            }
            out[q] = Math.min(b, batch - 1);
        }
        return out;
    }

    int[] state() {
        return new int[] {done, (int) seed, (int) (seed >>> 32)};
    }

    void restore(int[] s) {
        done = s[0];
        seed = (s[1] & 0xffffffffL) | ((long) s[2] << 32);
    }
}
