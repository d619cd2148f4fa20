package dev.saetrain.device.cuda;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * {@link CudaGemm} on a GPU against a double-precision host product, at awkward sizes (m, n, k from
 * {1, 7, 48, 769, 1031}), all four transpose combinations, alpha and beta, padded row strides and an operand
 * that is not 16-byte aligned (the scalar load path); then {@link CudaRuntime#gemm} (cuBLAS where it loads) on the
 * same cases.
 *
 * <p>Tolerance (TF32 inputs, fp32 accumulation): |C - C_ref| <= 2e-3 (|alpha| sum_l |a_il| |b_lj| + |beta| |c_ij|)
 * + 1e-6. Rounding each input to TF32 (cvt.rna, relative error <= 2^-11) puts each product within 2^-10 of its
 * exact value; fp32 accumulation adds at most k 2^-24 of the same sum (6e-5 at k = 1031). cuBLAS's
 * CUBLAS_COMPUTE_32F_FAST_TF32 rounds to the same 10-bit mantissa (even truncating, each product stays within
 * 2^-9 < 2e-3 of its exact value). A wrong transpose,
 * tile edge or stride gives errors of the order of the sum itself.
 */
@Tag("cuda")
class CudaGemmGpuTest {
    private static final int[][] SIZES = {
        {1, 1, 1}, {7, 48, 1}, {48, 7, 769}, {769, 48, 7}, {1031, 769, 48}, {48, 1031, 1031},
        {769, 1031, 7}, {1, 1031, 769}, {1031, 1, 48}, {7, 7, 1031}, {128, 256, 32}, {129, 127, 17},
    };

    /** A row-major dense product with the contract of {@link CudaRuntime#gemm}. */
    private interface Product {
        void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha, DevPtr a, int lda, DevPtr b,
                  int ldb, float beta, DevPtr c, int ldc);
    }

    @Test
    void matchesTheHostProductForEveryTransposeSizeAndStride() {
        CudaRuntime rt = GpuRuntime.openOrSkip();
        assertAllMatch(rt, new CudaGemm(rt)::gemm);
    }

    /**
     * The runtime's own dense product, cuBLAS where it loaded (JCudaRuntime's log and gemmPath say which), else
     * the kernel again: the same sizes, strides, misaligned operand and tolerance.
     */
    @Test
    void theRuntimesProductMatchesTheHostProductToo() {
        CudaRuntime rt = GpuRuntime.openOrSkip();
        assertAllMatch(rt, rt::gemm);
    }

    private static void assertAllMatch(CudaRuntime rt, Product gemm) {
        SplittableRandom rnd = new SplittableRandom(5);
        List<String> failures = new ArrayList<>();
        int run = 0;
        for (int[] s : SIZES) {
            for (int combo = 0; combo < 4; combo++) {
                boolean ta = (combo & 2) != 0;
                boolean tb = (combo & 1) != 0;
                int pad = (run % 3 == 0) ? 0 : run % 5;
                float alpha = run % 2 == 0 ? 1f : -0.75f;
                float beta = switch (run % 3) {
                    case 0 -> 0f;
                    case 1 -> 1f;
                    default -> 0.5f;
                };
                boolean misalign = run % 4 == 3;
                String err = check(rt, gemm, rnd, ta, tb, s[0], s[1], s[2], pad, alpha, beta, misalign);
                if (err != null) {
                    failures.add(err);
                }
                run++;
            }
        }
        assertTrue(failures.isEmpty(), failures.size() + " products off:\n" + String.join("\n", failures));
    }

    @Test
    void benchmarkReportsAPositiveRate() {
        CudaRuntime rt = GpuRuntime.openOrSkip();
        double tflops = CudaGemm.benchmarkTflops(rt, false, true, 512, 512, 512, 1, 3);
        assertTrue(tflops > 0 && Double.isFinite(tflops), "TFLOP/s " + tflops);
    }

    /** One product; null when it matches, else a line naming it and its worst element. */
    private static String check(CudaRuntime rt, Product gemm, SplittableRandom rnd, boolean ta, boolean tb,
                                int m, int n, int k, int pad, float alpha, float beta, boolean misalign) {
        int aRows = ta ? k : m;
        int aCols = ta ? m : k;
        int bRows = tb ? n : k;
        int bCols = tb ? k : n;
        int lda = aCols + pad;
        int ldb = bCols + pad;
        int ldc = n + pad;
        int shift = misalign ? 1 : 0;
        float[] a = random(rnd, (long) aRows * lda + shift);
        float[] b = random(rnd, (long) bRows * ldb);
        float[] c0 = random(rnd, (long) m * ldc);
        if (beta == 0f) {
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    c0[i * ldc + j] = Float.NaN; // beta = 0 must not read C
                }
            }
        }
        float[] got = new float[c0.length];
        try (CudaFloatBuf da = rt.allocFloat(a.length);
             CudaFloatBuf db = rt.allocFloat(b.length);
             CudaFloatBuf dc = rt.allocFloat(c0.length)) {
            rt.upload(a, 0, da, 0, a.length);
            rt.upload(b, 0, db, 0, b.length);
            rt.upload(c0, 0, dc, 0, c0.length);
            gemm.gemm(ta, tb, m, n, k, alpha, da.at(shift), lda, db.at(0), ldb, beta, dc.at(0), ldc);
            rt.download(dc, 0, got, 0, got.length);
        }
        double worst = 0;
        String where = null;
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double sum = 0;
                double abs = 0;
                for (int l = 0; l < k; l++) {
                    double x = ta ? a[shift + l * lda + i] : a[shift + i * lda + l];
                    double y = tb ? b[j * ldb + l] : b[l * ldb + j];
                    sum += x * y;
                    abs += Math.abs(x * y);
                }
                double cOld = beta == 0f ? 0 : c0[i * ldc + j];
                double ref = alpha * sum + beta * cOld;
                double tol = 2e-3 * (Math.abs(alpha) * abs + Math.abs(beta * cOld)) + 1e-6;
                double diff = Math.abs(got[i * ldc + j] - ref);
                double ratio = Double.isNaN(diff) ? Double.POSITIVE_INFINITY : diff / tol;
                if (ratio > worst) {
                    worst = ratio;
                    where = "[" + i + "," + j + "] got " + got[i * ldc + j] + ", expected " + ref;
                }
            }
            for (int j = n; j < ldc; j++) {
                if (Float.floatToRawIntBits(got[i * ldc + j]) != Float.floatToRawIntBits(c0[i * ldc + j])) {
                    return label(ta, tb, m, n, k, pad, misalign) + ": wrote the padding at [" + i + "," + j + "]";
                }
            }
        }
        return worst > 1 ? label(ta, tb, m, n, k, pad, misalign) + ": " + String.format("%.3g", worst)
                + " x tolerance at " + where : null;
    }

    private static String label(boolean ta, boolean tb, int m, int n, int k, int pad, boolean misalign) {
        return (ta ? "T" : "N") + (tb ? "T" : "N") + " m=" + m + " n=" + n + " k=" + k + " pad=" + pad
                + (misalign ? " misaligned A" : "");
    }

    private static float[] random(SplittableRandom rnd, long n) {
        float[] x = new float[Math.toIntExact(n)];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (rnd.nextDouble() * 2 - 1);
        }
        return x;
    }
}
