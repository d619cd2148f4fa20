package dev.saetrain.analysis;

import dev.saetrain.model.SaeConfig;
import dev.saetrain.model.SaeWeights;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A planted logit-lens problem: W_dec = the first four unit vectors of d = 8, so latent i's logit weights are row i of
 * W_U, which is built by hand:
 * <ul>
 *   <li>row 0 (prediction): small noise, +8 on the 10 digit tokens (5 % of the vocabulary): heavy right tail;</li>
 *   <li>row 1 (suppression): small noise, -8 on the 10 punctuation tokens: heavy left tail;</li>
 *   <li>row 2 (partition): +1 on the tokens with a leading space (half), -1 on the others, plus small noise;</li>
 *   <li>row 3 (none): standard normal noise.</li>
 * </ul>
 * Vocabulary of 200: ids 0-9 digits ("0".."9"), 10-19 punctuation, 20-109 " wordN" (leading space), 110-199 "wordN".
 */
final class LensFixture {
    static final int D = 8;
    static final int M = 4;
    static final int VOCAB = 200;

    final Vocabulary vocab;
    final float[] wU = new float[D * VOCAB];
    final SaeWeights sae;

    LensFixture(long seed) {
        List<String> tokens = new ArrayList<>();
        String punct = "!?.,;:()[]";
        for (int i = 0; i < 10; i++) {
            tokens.add(Integer.toString(i));
        }
        for (int i = 0; i < 10; i++) {
            tokens.add(punct.substring(i, i + 1));
        }
        for (int i = 0; i < 90; i++) {
            tokens.add(" word" + i);
        }
        for (int i = 0; i < 90; i++) {
            tokens.add("word" + i);
        }
        vocab = Vocabulary.of(tokens);
        SplittableRandom r = new SplittableRandom(seed);
        for (int v = 0; v < VOCAB; v++) {
            wU[v] = (float) (0.1 * gauss(r) + (v < 10 ? 8 : 0));
            wU[VOCAB + v] = (float) (0.1 * gauss(r) - (v >= 10 && v < 20 ? 8 : 0));
            wU[2 * VOCAB + v] = (float) (0.05 * gauss(r) + (tokens.get(v).startsWith(" ") ? 1 : -1));
            wU[3 * VOCAB + v] = (float) gauss(r);
            for (int j = 4; j < D; j++) {
                wU[j * VOCAB + v] = (float) gauss(r);
            }
        }
        SaeConfig cfg = SaeConfig.relu(D, 1, 1).withNLatents(M);
        float[] wDec = new float[M * D];
        float[] wEnc = new float[D * M];
        for (int i = 0; i < M; i++) {
            wDec[i * D + i] = 1;
            wEnc[i * M + i] = 1;
        }
        sae = SaeWeights.of(cfg, wEnc, new float[M], wDec, new float[D]);
    }

    /** Row i of W_U as doubles. */
    double[] row(int i) {
        double[] out = new double[VOCAB];
        for (int v = 0; v < VOCAB; v++) {
            out[v] = wU[i * VOCAB + v];
        }
        return out;
    }

    static double gauss(SplittableRandom r) {
        double u = r.nextDouble();
        double v = r.nextDouble();
        return Math.sqrt(-2 * Math.log(1 - u)) * Math.cos(2 * Math.PI * v);
    }
}
