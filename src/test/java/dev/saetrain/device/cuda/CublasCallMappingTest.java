package dev.saetrain.device.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * {@link CublasGemm.ColumnMajorCall} without a GPU: the column-major cuBLAS call it builds for a row-major product,
 * run through a plain-Java model of cuBLAS's documented GEMM contract (column-major operands, cuBLAS's own argument
 * checks, which return CUBLAS_STATUS_INVALID_VALUE), must give the row-major product of a plain double-precision
 * loop, for every transpose combination, odd sizes, padded strides, alpha and beta, and leave the padding alone.
 */
class CublasCallMappingTest {
    private static final long A = 0x1000;
    private static final long B = 0x2000;
    private static final long C = 0x3000;

    /**
     * cublasSgemm's contract on column-major storage: C = alpha op(A) op(B) + beta C, op(A) [m, k], op(B) [k, n],
     * element (i, j) of a matrix with column stride ld at {@code i + j * ld}. Addresses are keys of {@code memory}.
     */
    private static void columnMajorGemm(CublasGemm.ColumnMajorCall call, float alpha, float beta,
                                        Map<Long, float[]> memory) {
        int m = call.m();
        int n = call.n();
        int k = call.k();
        boolean ta = checkOp(call.transa());
        boolean tb = checkOp(call.transb());
        // cuBLAS's checks (cublas<t>gemm, "CUBLAS_STATUS_INVALID_VALUE"): sizes >= 0 and each leading dimension at
        // least the rows of its matrix as stored.
        if (m < 0 || n < 0 || k < 0 || call.lda() < Math.max(1, ta ? k : m) || call.ldb() < Math.max(1, tb ? n : k)
                || call.ldc() < Math.max(1, m)) {
            throw new IllegalArgumentException("CUBLAS_STATUS_INVALID_VALUE: " + call);
        }
        float[] a = memory.get(call.a());
        float[] b = memory.get(call.b());
        float[] c = memory.get(call.c());
        for (int j = 0; j < n; j++) {
            for (int i = 0; i < m; i++) {
                double s = 0;
                for (int l = 0; l < k; l++) {
                    double x = ta ? a[l + i * call.lda()] : a[i + l * call.lda()];
                    double y = tb ? b[j + l * call.ldb()] : b[l + j * call.ldb()];
                    s += x * y;
                }
                int at = i + j * call.ldc();
                c[at] = (float) (alpha * s + (beta == 0f ? 0 : beta * (double) c[at]));
            }
        }
    }

    private static boolean checkOp(int op) {
        if (op != CublasGemm.CUBLAS_OP_N && op != CublasGemm.CUBLAS_OP_T) {
            throw new IllegalArgumentException("CUBLAS_STATUS_INVALID_VALUE: op " + op);
        }
        return op == CublasGemm.CUBLAS_OP_T;
    }

    /** Row-major C = alpha op(A) op(B) + beta C in double, with A, B, C as stored (row strides lda, ldb, ldc). */
    private static float[] rowMajorReference(boolean transA, boolean transB, int m, int n, int k, float alpha,
                                             float[] a, int lda, float[] b, int ldb, float beta, float[] c, int ldc) {
        float[] out = c.clone();
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int l = 0; l < k; l++) {
                    double x = transA ? a[l * lda + i] : a[i * lda + l];
                    double y = transB ? b[j * ldb + l] : b[l * ldb + j];
                    s += x * y;
                }
                out[i * ldc + j] = (float) (alpha * s + (beta == 0f ? 0 : beta * (double) c[i * ldc + j]));
            }
        }
        return out;
    }

    private static float[] random(SplittableRandom rnd, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (rnd.nextDouble() * 2 - 1);
        }
        return x;
    }

    @Test
    void givesTheRowMajorProductForEveryTransposeOddSizesAndPaddedStrides() {
        int[][] sizes = {{1, 1, 1}, {1, 7, 3}, {7, 1, 5}, {5, 3, 1}, {7, 13, 11}, {13, 7, 2}, {2, 9, 13}, {16, 17, 15}};
        SplittableRandom rnd = new SplittableRandom(11);
        List<String> failures = new ArrayList<>();
        int run = 0;
        for (int[] s : sizes) {
            for (int combo = 0; combo < 4; combo++, run++) {
                boolean transA = (combo & 2) != 0;
                boolean transB = (combo & 1) != 0;
                int m = s[0];
                int n = s[1];
                int k = s[2];
                int pad = run % 3;
                int lda = (transA ? m : k) + pad;
                int ldb = (transB ? k : n) + (run % 2);
                int ldc = n + (run % 4 == 1 ? 3 : 0);
                float alpha = run % 2 == 0 ? 1f : -0.75f;
                float beta = run % 3 == 0 ? 0f : 0.5f;
                CudaGemm.checkArgs(transA, transB, m, n, k, new DevPtr(A), lda, new DevPtr(B), ldb, new DevPtr(C),
                        ldc);
                float[] a = random(rnd, (transA ? k : m) * lda);
                float[] b = random(rnd, (transB ? n : k) * ldb);
                float[] c = random(rnd, m * ldc);
                float[] want = rowMajorReference(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
                float[] got = c.clone();
                CublasGemm.ColumnMajorCall call =
                        CublasGemm.ColumnMajorCall.of(transA, transB, m, n, k, A, lda, B, ldb, C, ldc);
                columnMajorGemm(call, alpha, beta, Map.of(A, a.clone(), B, b.clone(), C, got));
                for (int i = 0; i < got.length; i++) {
                    double sum = 0;
                    if (i % ldc < n) {
                        int row = i / ldc;
                        int col = i % ldc;
                        for (int l = 0; l < k; l++) {
                            sum += Math.abs(transA ? a[l * lda + row] : a[row * lda + l])
                                    * Math.abs(transB ? b[col * ldb + l] : b[l * ldb + col]);
                        }
                    }
                    // Same products summed in the same order: the only difference is the final rounding.
                    double tol = 1e-6 * (Math.abs(alpha) * sum + Math.abs(beta * c[i])) + 1e-7;
                    if (Math.abs(got[i] - want[i]) > tol) {
                        failures.add((transA ? "T" : "N") + (transB ? "T" : "N") + " " + Arrays.toString(s) + " C["
                                + i + "] = " + got[i] + ", want " + want[i] + " (" + call + ")");
                        break;
                    }
                }
            }
        }
        assertTrue(failures.isEmpty(), failures.size() + " products off:\n" + String.join("\n", failures));
    }

    @Test
    void theEncoderProductIsCublasTransposedTimesNormal() {
        // pre [4096, 24576] = xIn [4096, 768] wEnc^T, wEnc [24576, 768]: cuBLAS computes pre^T [24576, 4096] =
        // wEnc xIn^T, its A being wEnc (read column-major [768, 24576], op T) and its B xIn ([768, 4096], op N).
        CublasGemm.ColumnMajorCall call =
                CublasGemm.ColumnMajorCall.of(false, true, 4096, 24576, 768, A, 768, B, 768, C, 24576);
        assertEquals(new CublasGemm.ColumnMajorCall(CublasGemm.CUBLAS_OP_T, CublasGemm.CUBLAS_OP_N, 24576, 4096, 768,
                B, 768, A, 768, C, 24576), call);
    }

    @Test
    void theModelRejectsWhatCublasRejects() {
        // A model that accepted anything could not catch a mapping that swaps the strides.
        CublasGemm.ColumnMajorCall bad = new CublasGemm.ColumnMajorCall(CublasGemm.CUBLAS_OP_N, CublasGemm.CUBLAS_OP_N,
                7, 5, 3, A, 3, B, 3, C, 7);
        Map<Long, float[]> memory = Map.of(A, new float[64], B, new float[64], C, new float[64]);
        assertThrows(IllegalArgumentException.class, () -> columnMajorGemm(bad, 1f, 0f, memory));
    }
}
