package dev.saetrain.analysis;

import dev.saetrain.model.SaeWeights;

/** Tests' one-row forward pass through {@link SaeEncoder}, the project's one host encoder. */
public final class EncoderRows {
    private EncoderRows() {
    }

    /** x_hat [dIn] of the raw row x [dIn] through {@code w}, rounded to float; returns the number of active latents. */
    public static int reconstruct(SaeWeights w, float[] x, float[] xHat) {
        SaeEncoder enc = new SaeEncoder(w);
        SaeEncoder.Scratch s = enc.scratch();
        int n = enc.encode(x, 0, s);
        double[] out = new double[x.length];
        enc.decode(s, n, out);
        for (int j = 0; j < out.length; j++) {
            xHat[j] = (float) out[j];
        }
        return n;
    }
}
