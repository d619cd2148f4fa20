package dev.saetrain.analysis;

import static org.bytedeco.openblas.global.openblas_nolapack.CblasNoTrans;
import static org.bytedeco.openblas.global.openblas_nolapack.CblasRowMajor;
import static org.bytedeco.openblas.global.openblas_nolapack.cblas_sgemm;

import dev.saetrain.model.Architecture;
import dev.saetrain.model.SaeConfig;
import dev.saetrain.model.SaeWeights;
import java.nio.FloatBuffer;

/**
 * Encodes raw activation rows with a dictionary into sparse codes, for the analyses (not the training step): the
 * encoder product by OpenBLAS, then each architecture's inference activation as {@link SaeWeights#reconstruct} and
 * {@link dev.saetrain.model.Activations} define it (topk: the k largest, ties to the lower index, ReLU; relu;
 * jumprelu / batchtopk / matryoshka: pre &gt; threshold and &gt; 0; gated: 1[pi_gate &gt; 0] relu(pi_mag)).
 */
public final class SparseEncoder {
    private final SaeWeights w;
    private final int d;
    private final int m;
    private final FloatBuffer wEnc; // [d, m]
    private final int batch;
    private final FloatBuffer xBuf; // [batch, d]
    private final FloatBuffer preBuf; // [batch, m]
    private final float[] pre;

    /**
     * Sparse codes of {@code rows} rows in CSR form.
     *
     * @param rowPtr [rows + 1] offsets into idx / val
     * @param idx    latent ids, ascending within a row
     * @param val    activations, all &gt; 0
     */
    public record Codes(int rows, int[] rowPtr, int[] idx, float[] val) {
        /** Active latents of row {@code r}. */
        public int l0(int r) {
            return rowPtr[r + 1] - rowPtr[r];
        }
    }

    /** An encoder for {@code w} that takes up to {@code batch} rows per call. */
    public SparseEncoder(SaeWeights w, int batch) {
        this.w = w;
        this.d = w.config().dIn();
        this.m = w.config().nLatents();
        this.batch = batch;
        this.wEnc = Unembedding.direct((long) d * m);
        wEnc.put(0, w.wEnc(), 0, d * m);
        this.xBuf = Unembedding.direct((long) batch * d);
        this.preBuf = Unembedding.direct((long) batch * m);
        this.pre = new float[batch * m];
    }

    /** The codes of {@code rows} raw rows {@code x[0 .. rows * d)}, {@code rows <= batch}. */
    public Codes encode(float[] x, int rows) {
        if (rows > batch) {
            throw new IllegalArgumentException(rows + " rows, more than the batch of " + batch);
        }
        SaeConfig cfg = w.config();
        float[] bDec = w.bDec();
        for (int r = 0; r < rows; r++) {
            for (int j = 0; j < d; j++) {
                float v = x[r * d + j];
                xBuf.put(r * d + j, cfg.applyBDecToInput() ? v - bDec[j] : v);
            }
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, m, d, 1f, xBuf, d, wEnc, m, 0f, preBuf, m);
        preBuf.get(0, pre, 0, rows * m);
        int[] rowPtr = new int[rows + 1];
        IntList idx = new IntList();
        FloatList val = new FloatList();
        float[] bEnc = w.bEnc();
        float[] threshold = w.extras().get("threshold");
        float[] bMag = w.extras().get("b_mag");
        float[] rMag = w.extras().get("r_mag");
        Architecture arch = cfg.arch();
        for (int r = 0; r < rows; r++) {
            int off = r * m;
            if (arch == Architecture.TOPK) {
                int[] top = topK(pre, off, bEnc, cfg.k());
                java.util.Arrays.sort(top);
                for (int i : top) {
                    float v = pre[off + i] + bEnc[i];
                    if (v > 0) {
                        idx.add(i);
                        val.add(v);
                    }
                }
            } else {
                for (int i = 0; i < m; i++) {
                    float product = pre[off + i];
                    float p = product + bEnc[i];
                    float f = switch (arch) {
                        case RELU, RELU_2023 -> p > 0 ? p : 0;
                        case JUMPRELU, BATCHTOPK, MATRYOSHKA -> p > threshold[i] && p > 0 ? p : 0;
                        case GATED -> p > 0 ? Math.max(0f, (float) (Math.exp(rMag[i]) * product + bMag[i])) : 0;
                        default -> throw new IllegalStateException("unhandled architecture " + arch);
                    };
                    if (f > 0) {
                        idx.add(i);
                        val.add(f);
                    }
                }
            }
            rowPtr[r + 1] = idx.size;
        }
        return new Codes(rows, rowPtr, idx.toArray(), val.toArray());
    }

    /** Indices of the k largest pre + bEnc of one row (ties: the lower index), via a size-k min-heap. */
    private int[] topK(float[] product, int off, float[] bEnc, int k) {
        int[] heap = new int[k];
        int size = 0;
        for (int i = 0; i < m; i++) {
            if (size < k) {
                heap[size] = i;
                siftUp(heap, size++, product, off, bEnc);
            } else if (less(heap[0], i, product, off, bEnc)) {
                heap[0] = i;
                siftDown(heap, size, product, off, bEnc);
            }
        }
        return java.util.Arrays.copyOf(heap, size);
    }

    /** Whether latent a ranks below latent b (smaller value, or equal value and higher index). */
    private static boolean less(int a, int b, float[] product, int off, float[] bEnc) {
        float va = product[off + a] + bEnc[a];
        float vb = product[off + b] + bEnc[b];
        return va < vb || (va == vb && a > b);
    }

    private static void siftUp(int[] h, int i, float[] p, int off, float[] bEnc) {
        while (i > 0) {
            int parent = (i - 1) / 2;
            if (!less(h[i], h[parent], p, off, bEnc)) {
                return;
            }
            int t = h[i];
            h[i] = h[parent];
            h[parent] = t;
            i = parent;
        }
    }

    private static void siftDown(int[] h, int n, float[] p, int off, float[] bEnc) {
        int i = 0;
        while (true) {
            int l = 2 * i + 1;
            int s = i;
            if (l < n && less(h[l], h[s], p, off, bEnc)) {
                s = l;
            }
            if (l + 1 < n && less(h[l + 1], h[s], p, off, bEnc)) {
                s = l + 1;
            }
            if (s == i) {
                return;
            }
            int t = h[i];
            h[i] = h[s];
            h[s] = t;
            i = s;
        }
    }

    static final class IntList {
        int[] a = new int[1024];
        int size;

        void add(int v) {
            if (size == a.length) {
                a = java.util.Arrays.copyOf(a, a.length * 2);
            }
            a[size++] = v;
        }

        int[] toArray() {
            return java.util.Arrays.copyOf(a, size);
        }
    }

    static final class FloatList {
        float[] a = new float[1024];
        int size;

        void add(float v) {
            if (size == a.length) {
                a = java.util.Arrays.copyOf(a, a.length * 2);
            }
            a[size++] = v;
        }

        float[] toArray() {
            return java.util.Arrays.copyOf(a, size);
        }
    }
}
