package dev.saetrain.device.cpu;

import static org.bytedeco.openblas.global.openblas_nolapack.CblasNoTrans;
import static org.bytedeco.openblas.global.openblas_nolapack.CblasRowMajor;
import static org.bytedeco.openblas.global.openblas_nolapack.cblas_sgemm;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.bytedeco.javacpp.FloatPointer;
import org.junit.jupiter.api.Test;

/**
 * {@link BlasThreads}: the bundled OpenBLAS exports openblas_set_num_threads, so the cheap direct call is the one
 * taken (a regression to the presets' per-call lookup would cost ~0.5 ms a call, several times a step), and a
 * product computed after switching to one thread and back matches a plain triple loop.
 */
class BlasThreadsTest {

    @Test
    void resolvesTheDirectCall() {
        assertTrue(BlasThreads.direct(), "openblas_set_num_threads resolved once, called through a pointer");
    }

    @Test
    void productsAreRightAtEveryThreadCount() {
        int m = 96;
        int n = 80;
        int k = 64;
        Random r = new Random(7);
        float[] a = new float[m * k];
        float[] b = new float[k * n];
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) r.nextGaussian();
        }
        for (int i = 0; i < b.length; i++) {
            b[i] = (float) r.nextGaussian();
        }
        for (int threads : new int[] {1, 2, 1}) {
            BlasThreads.set(threads);
            FloatPointer c = new FloatPointer((long) m * n);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1f, new FloatPointer(a), k,
                    new FloatPointer(b), n, 0f, c, n);
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double want = 0;
                    for (int t = 0; t < k; t++) {
                        want += (double) a[i * k + t] * b[t * n + j];
                    }
                    assertEquals(want, c.get((long) i * n + j), 1e-4 * (1 + Math.abs(want)),
                            threads + " thread(s): C[" + i + "][" + j + "]");
                }
            }
            c.close();
        }
    }
}
