package dev.saetrain.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.saetrain.io.HostMatrix;
import org.junit.jupiter.api.Test;

/** Initial weights drawn a page at a time are the weights drawn whole, whatever the page size. */
class PagedInitTest {
    /** The documented sequence, as plain Box-Muller: block c gives elements 4c..4c+3 from outputs (0,1) and (2,3). */
    private static float[] reference(long seed, long stream, int n) {
        float[] out = new float[n];
        int[] w = new int[4];
        for (int base = 0; base < n; base += 4) {
            Philox.block(seed, stream, base >>> 2, w);
            for (int pair = 0; pair < 2; pair++) {
                double r = Math.sqrt(-2.0 * Math.log(Philox.uniformOpen0(w[2 * pair])));
                double t = 2.0 * Math.PI * Philox.uniformOpen0(w[2 * pair + 1]);
                int i = base + 2 * pair;
                if (i < n) {
                    out[i] = (float) (r * Math.cos(t));
                }
                if (i + 1 < n) {
                    out[i + 1] = (float) (r * Math.sin(t));
                }
            }
        }
        return out;
    }

    @Test
    void initialDecoderRowsAreTheSequenceNormalised() {
        SaeConfig cfg = SaeConfig.topk(6, 3, 2);
        float[] z = reference(4, SaeInit.STREAM_W_DEC, 18 * 6);
        SaeWeights w = SaeInit.initial(cfg, 4, new float[6]);
        for (int i = 0; i < 18; i++) {
            double s = 0;
            for (int j = 0; j < 6; j++) {
                s += (double) z[i * 6 + j] * z[i * 6 + j];
            }
            for (int j = 0; j < 6; j++) {
                float want = (float) (z[i * 6 + j] * (1 / Math.sqrt(s)));
                assertEquals(Float.floatToRawIntBits(want), Float.floatToRawIntBits(w.wDec().get(i, j)), i + "," + j);
                assertEquals(w.wDec().get(i, j), w.wEnc().get(j, i), 0, "W_enc = W_dec^T at the start");
            }
        }
    }

    @Test
    void fillNormalFromAnyElementContinuesTheSequence() {
        float[] whole = new float[103];
        Philox.fillNormal(9, 1, whole);
        assertArrayEquals(reference(9, 1, 103), whole, "the documented sequence");
        for (int first : new int[] {0, 1, 2, 3, 5, 50, 101}) {
            for (int n : new int[] {1, 2, 7, 103 - first}) {
                if (first + n > whole.length) {
                    continue;
                }
                float[] part = new float[n];
                Philox.fillNormal(9, 1, first, part);
                for (int i = 0; i < n; i++) {
                    assertEquals(Float.floatToRawIntBits(whole[first + i]), Float.floatToRawIntBits(part[i]),
                            "element " + (first + i) + " from " + first);
                }
            }
        }
    }

    @Test
    void initialWeightsDoNotDependOnThePageSize() {
        for (SaeConfig cfg : new SaeConfig[] {SaeConfig.topk(6, 3, 2), SaeConfig.relu(5, 4, 1.0),
                SaeConfig.jumpRelu(7, 2, 0.1), SaeConfig.topk(6, 3, 2).withTied(true)}) {
            float[] bDec = {0.5f, -1, 2, 0, 3, 1, 0.25f};
            float[] b = java.util.Arrays.copyOf(bDec, cfg.dIn());
            SaeWeights whole = SaeInit.initial(cfg, 4, b);
            assertEquals(1, whole.wDec().pageCount());
            String old = System.setProperty(HostMatrix.PAGE_PROPERTY, "13"); // pages of 1 or 2 rows, 3 to 5 columns
            try {
                SaeWeights paged = SaeInit.initial(cfg, 4, b);
                assertTrue(paged.wDec().pageCount() > 1 && paged.wEnc().pageCount() > 1, cfg.name());
                assertTrue(whole.wDec().contentEquals(paged.wDec()), cfg.name() + " W_dec");
                assertTrue(whole.wEnc().contentEquals(paged.wEnc()), cfg.name() + " W_enc");
                assertArrayEquals(whole.bEnc(), paged.bEnc());
                assertTrue(paged.decoderRowsUnitNorm(1e-5) == cfg.unitNormDecoder(), cfg.name());
            } finally {
                if (old == null) {
                    System.clearProperty(HostMatrix.PAGE_PROPERTY);
                } else {
                    System.setProperty(HostMatrix.PAGE_PROPERTY, old);
                }
            }
        }
    }
}
