package dev.saetrain.selftest;

import dev.saetrain.device.Device;
import dev.saetrain.device.FloatBuf;
import dev.saetrain.device.IntBuf;
import dev.saetrain.device.ReferenceOps;
import dev.saetrain.device.SparseActs;

import dev.saetrain.device.StepShape;
import dev.saetrain.device.cpu.CpuDevice;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Supplier;
import java.util.stream.Stream;

/**
 * Shared inputs of the parity checks ({@code dev.saetrain.selftest.parity}, run by the JUnit parity tests and by
 * {@code sae-train selftest}): the fast devices under test, the awkward shapes, seeded random buffers, and
 * upload/download helpers that work on any {@link Device}.
 */
public final class DeviceFixtures {
    private DeviceFixtures() {
    }

    /** A fast device under test, opened fresh for each case. */
    public record FastDevice(String name, Supplier<Device> open) {
        @Override
        public String toString() {
            return name;
        }
    }

    /** One problem size: rows, input width, dictionary size, active latents per row (topk). */
    public record Shape(int batch, int dIn, int nLatents, int k) {
        /** (batch, dIn, nLatents), as the step's ops take them. */
        public StepShape step() {
            return new StepShape(batch, dIn, nLatents);
        }

        @Override
        public String toString() {
            return "B=" + batch + " d=" + dIn + " m=" + nLatents + " k=" + k;
        }
    }

    /** CpuDevice with one thread (no splitting) and with three (chunks of uneven size). */
    public static List<FastDevice> fastDevices() {
        return List.of(new FastDevice("cpu-1", () -> new CpuDevice(1)), new FastDevice("cpu-3", () -> new CpuDevice(3)));
    }

    /**
     * A fast device that hands out {@code dev} itself, with {@code close} doing nothing, so that checks written to
     * open and close their device run one after another on one open device (a GPU context is costly to open).
     */
    public static FastDevice shared(String name, Device dev) {
        Device view = (Device) java.lang.reflect.Proxy.newProxyInstance(Device.class.getClassLoader(),
                new Class<?>[] {Device.class}, (proxy, method, args) -> {
                    if (method.getName().equals("close") && method.getParameterCount() == 0) {
                        return null;
                    }
                    try {
                        return method.invoke(dev, args);
                    } catch (java.lang.reflect.InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
        return new FastDevice(name, () -> view);
    }

    /** atol of a dense product whose inputs are rounded to TF32 (CUDA): 2^-11 per input, see {@link #denseProductTolerance}. */
    public static final double TF32_ATOL = 5e-3;
    /** rtol of the same. */
    public static final double TF32_RTOL = 2e-3;

    /** Whether {@code fd}'s dense products round their inputs to TF32: the CUDA devices (cuBLAS and our kernel). */
    static boolean roundsProductsToTf32(FastDevice fd) {
        return fd.name().startsWith("cuda");
    }

    /**
     * The tolerance {atol, rtol} for the result of a dense product on {@code fd}: the given fp32-sum tolerance on
     * the CPU; on CUDA, where the products round their inputs to TF32 (10-bit mantissa, relative error 2^-11 per
     * input; cuBLAS FAST_TF32 and the project's mma.sync kernel alike), at least {@link #TF32_ATOL} /
     * {@link #TF32_RTOL}: for an O(1) dot product of ~1000 terms the rounding errors add up to about 5e-4
     * typically and a few 1e-3 at worst.
     */
    public static double[] denseProductTolerance(FastDevice fd, double atol, double rtol) {
        return roundsProductsToTf32(fd) ? new double[] {Math.max(atol, TF32_ATOL), Math.max(rtol, TF32_RTOL)}
                : new double[] {atol, rtol};
    }

    /**
     * {@code a} with every element rounded to TF32 as the CUDA products round their inputs (cvt.rna: 10-bit
     * mantissa, to nearest, ties away from zero) when {@code fd} is a CUDA device; {@code a} itself otherwise. A
     * check of an op that chains two products (a gradient made by one product and consumed by the next) gives
     * both devices TF32-exact inputs, so that the rounding of the inputs, which the product checks cover, is not
     * amplified through the chain; what remains is the rounding of the intermediate and the order of the sums.
     */
    public static float[] tf32Exact(FastDevice fd, float[] a) {
        if (!roundsProductsToTf32(fd)) {
            return a;
        }
        float[] out = new float[a.length];
        for (int i = 0; i < a.length; i++) {
            out[i] = roundTf32(a[i]);
        }
        return out;
    }

    /** x rounded to TF32 (10-bit mantissa, to nearest, ties away from zero); NaN and infinities unchanged. */
    public static float roundTf32(float x) {
        if (!Float.isFinite(x)) {
            return x;
        }
        return Float.intBitsToFloat((Float.floatToRawIntBits(x) + 0x1000) & 0xffffe000);
    }

    /**
     * Awkward sizes: d in {48, 769}; m = 100, 257, 1031 (multiples of no tile);
     * batch 1, 7, 33; k = 1, 7, 32. Chosen so each value of each axis appears, not the full product.
     */
    public static List<Shape> shapes() {
        return List.of(
                new Shape(1, 48, 100, 1),
                new Shape(7, 48, 257, 7),
                new Shape(33, 48, 1031, 32),
                new Shape(7, 769, 100, 7),
                new Shape(33, 769, 257, 1),
                new Shape(1, 769, 1031, 32),
                new Shape(33, 769, 1031, 7));
    }

    /**
     * Every fast device crossed with every shape: arguments (FastDevice, Shape), as the Object[] pairs a JUnit
     * {@code @MethodSource} takes (so this class needs no JUnit).
     */
    public static Stream<Object[]> cases() {
        List<Object[]> out = new ArrayList<>();
        for (FastDevice dev : fastDevices()) {
            for (Shape s : shapes()) {
                out.add(new Object[] {dev, s});
            }
        }
        return out.stream();
    }

    /** Per-latent l1 coefficients [m] for the backward ops: |N(0, 0.01)|, the decoder-norm weights' size. */
    public static float[] l1PerLatent(long seed, int m) {
        float[] l1 = gaussian(seed, m, 0.01);
        for (int i = 0; i < m; i++) {
            l1[i] = Math.abs(l1[i]);
        }
        return l1;
    }

    /** n Gaussian floats with standard deviation std. */
    public static float[] gaussian(long seed, int n, double std) {
        Random r = new Random(seed);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (r.nextGaussian() * std);
        }
        return a;
    }

    /**
     * Pre-activations [batch, nLatents] with no ties within a row (a shuffled grid of spacing 1/64 plus a row
     * offset), so every correct TopK picks the same set. Row b is shifted by rowShift[b].
     */
    public static float[] distinctRows(long seed, int batch, int nLatents, float[] rowShift) {
        Random r = new Random(seed);
        float[] pre = new float[batch * nLatents];
        for (int b = 0; b < batch; b++) {
            int[] perm = permutation(r, nLatents);
            for (int i = 0; i < nLatents; i++) {
                pre[b * nLatents + i] = (perm[i] - nLatents / 2) / 64f + rowShift[b];
            }
        }
        return pre;
    }

    /** A uniformly random permutation of [0, n). */
    public static int[] permutation(Random r, int n) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) {
            p[i] = i;
        }
        for (int i = n - 1; i > 0; i--) {
            int j = r.nextInt(i + 1);
            int t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }

    /** A new buffer on dev holding a. */
    public static FloatBuf up(Device dev, float[] a) {
        FloatBuf b = dev.allocFloat(a.length);
        dev.upload(a, 0, b, 0, a.length);
        return b;
    }

    /** A new int buffer on dev holding a. */
    public static IntBuf upInt(Device dev, int[] a) {
        IntBuf b = dev.allocInt(a.length);
        dev.uploadInt(a, 0, b, 0, a.length);
        return b;
    }

    /** The first n floats of buf. */
    public static float[] down(Device dev, FloatBuf buf, int n) {
        float[] a = new float[n];
        dev.download(buf, 0, a, 0, n);
        return a;
    }

    /** The first n ints of buf. */
    public static int[] downInt(Device dev, IntBuf buf, int n) {
        int[] a = new int[n];
        dev.downloadInt(buf, 0, a, 0, n);
        return a;
    }

    /** Sparse activations on dev from host CSR arrays (grad may be null: zeros). */
    public static SparseActs upActs(Device dev, int[] rowPtr, int[] idx, float[] val, float[] grad, int capacity) {
        int batch = rowPtr.length - 1;
        SparseActs a = SparseActs.allocate(dev, batch, capacity);
        dev.uploadInt(rowPtr, 0, a.rowPtr(), 0, rowPtr.length);
        dev.uploadInt(idx, 0, a.idx(), 0, idx.length);
        dev.upload(val, 0, a.val(), 0, val.length);
        if (grad != null) {
            dev.upload(grad, 0, a.grad(), 0, grad.length);
        }
        return a;
    }

    /**
     * Random CSR activations: row b gets a random number of distinct latents in [0, maxPerRow] (row 1, when
     * there is one, gets none), in random order, values |N(0,1)| with about a fifth of them exactly 0
     * (TopK picks of non-positive pre-activations). grad is zero.
     */
    public static HostActs randomActs(long seed, int batch, int nLatents, int maxPerRow) {
        Random r = new Random(seed);
        int[] rowPtr = new int[batch + 1];
        List<Integer> idx = new ArrayList<>();
        List<Float> val = new ArrayList<>();
        for (int b = 0; b < batch; b++) {
            int count = b == 1 ? 0 : r.nextInt(Math.min(maxPerRow, nLatents) + 1);
            int[] perm = permutation(r, nLatents);
            for (int q = 0; q < count; q++) {
                idx.add(perm[q]);
                val.add(r.nextInt(5) == 0 ? 0f : (float) Math.abs(r.nextGaussian()));
            }
            rowPtr[b + 1] = idx.size();
        }
        int[] ia = idx.stream().mapToInt(Integer::intValue).toArray();
        float[] va = new float[val.size()];
        for (int e = 0; e < va.length; e++) {
            va[e] = val.get(e);
        }
        return new HostActs(rowPtr, ia, va, new float[va.length]);
    }

    /** n random flags, each 1 with probability p. */
    public static int[] randomFlags(long seed, int n, double p) {
        Random r = new Random(seed);
        int[] f = new int[n];
        for (int i = 0; i < n; i++) {
            f[i] = r.nextDouble() < p ? 1 : 0;
        }
        return f;
    }

    /** The TopK picks of pre (no ties, see distinctRows) as host CSR: exactly k entries per row, ReLU'd. */
    public static HostActs topkHost(float[] pre, int batch, int nLatents, int k) {
        Device ref = new ReferenceOps();
        SparseActs a = SparseActs.allocate(ref, batch, batch * k);
        ref.topk(up(ref, pre), new StepShape(batch, 0, nLatents), k, null, 0, a);
        return HostActs.download(ref, a);
    }

    /** Host copy of sparse activations (rowPtr, idx, val, grad up to rowPtr[batch]). */
    public record HostActs(int[] rowPtr, int[] idx, float[] val, float[] grad) {
        public int batch() {
            return rowPtr.length - 1;
        }

        public int nnz() {
            return rowPtr[batch()];
        }

        public static HostActs download(Device dev, SparseActs a) {
            int[] rowPtr = downInt(dev, a.rowPtr(), a.batch() + 1);
            int nnz = rowPtr[a.batch()];
            return new HostActs(rowPtr, downInt(dev, a.idx(), nnz), down(dev, a.val(), nnz), down(dev, a.grad(), nnz));
        }

        public SparseActs upload(Device dev) {
            return upActs(dev, rowPtr, idx, val, grad, Math.max(1, nnz()));
        }

        /**
         * Dense [batch, nLatents] of the values (or of the gradients); fails on an index out of range or a
         * latent listed twice in a row, so CSR outputs can be compared whatever their order.
         */
        public double[] densify(int nLatents, boolean ofGrad) {
            double[] out = new double[batch() * nLatents];
            for (int b = 0; b < batch(); b++) {
                boolean[] seen = new boolean[nLatents];
                for (int e = rowPtr[b]; e < rowPtr[b + 1]; e++) {
                    int i = idx[e];
                    if (i < 0 || i >= nLatents || seen[i]) {
                        throw new AssertionError("row " + b + " entry " + e + ": latent " + i
                                + (i < 0 || i >= nLatents ? " out of range" : " listed twice"));
                    }
                    seen[i] = true;
                    out[b * nLatents + i] = ofGrad ? grad[e] : val[e];
                }
            }
            return out;
        }
    }
}
