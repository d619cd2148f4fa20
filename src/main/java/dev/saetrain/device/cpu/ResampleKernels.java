package dev.saetrain.device.cpu;


/**
 * The CPU side of dead-latent resampling (Bricken et al. 2023, "Towards Monosemanticity"): writing chosen
 * inputs into the parameter rows of dead latents, and zeroing their Adam moments. Formulas in
 * {@link dev.saetrain.device.Device#resampleRows} and {@link dev.saetrain.device.Device#zeroRows}; the latents
 * are distinct, so each row is written by one thread.
 */
final class ResampleKernels {
    private static final int GRAIN = 4;

    private final Parallel par;

    ResampleKernels(Parallel par) {
        this.par = par;
    }

    void resampleRows(CpuFloatBuf x, CpuFloatBuf bDec, int[] latents, int[] rows, int count, int dIn, float encNorm,
                      CpuFloatBuf wDec, CpuFloatBuf wEnc, CpuFloatBuf bEnc) {
        par.forRange(count, GRAIN, (lo, hi) -> {
            float[] v = new float[dIn];
            for (int q = lo; q < hi; q++) {
                int i = latents[q];
                long xo = (long) rows[q] * dIn;
                double s = 0;
                for (int j = 0; j < dIn; j++) {
                    v[j] = x.get(xo + j) - bDec.get(j);
                    s += (double) v[j] * v[j];
                }
                double inv = s > 0 ? 1 / Math.sqrt(s) : 0;
                long wo = (long) i * dIn;
                for (int j = 0; j < dIn; j++) {
                    float u = (float) (v[j] * inv);
                    wDec.put(wo + j, u);
                    wEnc.put(wo + j, encNorm * u);
                }
                bEnc.put(i, 0f);
            }
        });
    }

    void zeroRows(CpuFloatBuf buf, int[] rows, int count, int cols) {
        par.forRange(count, Math.max(1, (1 << 14) / Math.max(1, cols)), (lo, hi) -> {
            for (int q = lo; q < hi; q++) {
                long o = (long) rows[q] * cols;
                for (int j = 0; j < cols; j++) {
                    buf.put(o + j, 0f);
                }
            }
        });
    }
}
