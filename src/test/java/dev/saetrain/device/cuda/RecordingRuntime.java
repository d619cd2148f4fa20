package dev.saetrain.device.cuda;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * A {@link CudaRuntime} with no GPU behind it, for testing the host side of the CUDA op classes: it hands out fake
 * addresses, checks every launch's arguments against the kernel's spec the way {@code CudaRuntime#launch} states
 * (and the launch shape: grid >= 1, block a multiple of 32 up to 1024), records launches, copies and products, and
 * answers int downloads from a queue of canned results (zeros when the queue is empty).
 */
final class RecordingRuntime implements CudaRuntime {
    record Launch(KernelSpec kernel, long gridX, int gridY, int blockX, int sharedBytes, List<Object> args) {
    }

    final List<Launch> launches = new ArrayList<>();
    final List<String> gemms = new ArrayList<>();
    final Deque<int[]> cannedInts = new ArrayDeque<>();
    int allocations;
    int frees;
    int memsets;
    private long next = 0x10000;
    private final int multiprocessors;

    RecordingRuntime() {
        this(4);
    }

    RecordingRuntime(int multiprocessors) {
        this.multiprocessors = multiprocessors;
    }

    @Override
    public CudaFloatBuf allocFloat(long n) {
        allocations++;
        long a = next;
        next += 4 * Math.max(1, n) + 256;
        return new CudaFloatBuf(a, n, x -> frees++);
    }

    @Override
    public CudaIntBuf allocInt(long n) {
        allocations++;
        long a = next;
        next += 4 * Math.max(1, n) + 256;
        return new CudaIntBuf(a, n, x -> frees++);
    }

    @Override
    public void launch(KernelSpec kernel, long gridX, int gridY, int blockX, int sharedBytes, Object... args) {
        if (args.length != kernel.params().size()) {
            throw new IllegalArgumentException(kernel + ": " + args.length + " arguments for "
                    + kernel.params().size() + " parameters");
        }
        for (int p = 0; p < args.length; p++) {
            Object a = args[p];
            boolean ok = switch (kernel.params().get(p)) {
                case PTR -> a == null || a instanceof CudaFloatBuf || a instanceof CudaIntBuf || a instanceof DevPtr;
                case I32 -> a instanceof Integer;
                case I64 -> a instanceof Long;
                case F32 -> a instanceof Float;
            };
            if (!ok) {
                throw new IllegalArgumentException(kernel + ": argument " + p + " is "
                        + (a == null ? "null" : a.getClass().getSimpleName()) + ", parameter is "
                        + kernel.params().get(p));
            }
            if (a instanceof CudaFloatBuf f) {
                f.address(); // throws when used after close
            } else if (a instanceof CudaIntBuf i) {
                i.address();
            }
        }
        if (gridX < 1 || gridX > Integer.MAX_VALUE || gridY < 1 || gridY > 65535 || blockX < 32 || blockX > 1024 || blockX % 32 != 0 || sharedBytes < 0) {
            throw new IllegalArgumentException(kernel + ": bad launch shape grid (" + gridX + ", " + gridY
                    + ") block " + blockX + " shared " + sharedBytes);
        }
        launches.add(new Launch(kernel, gridX, gridY, blockX, sharedBytes, List.of(nullsAsMarker(args))));
    }

    private static Object[] nullsAsMarker(Object[] args) {
        Object[] out = args.clone();
        for (int i = 0; i < out.length; i++) {
            if (out[i] == null) {
                out[i] = "null";
            }
        }
        return out;
    }

    @Override
    public void upload(float[] src, int srcOff, CudaFloatBuf dst, long dstOff, int n) {
        dst.address();
    }

    @Override
    public void download(CudaFloatBuf src, long srcOff, float[] dst, int dstOff, int n) {
        src.address();
    }

    @Override
    public void uploadInt(int[] src, int srcOff, CudaIntBuf dst, long dstOff, int n) {
        dst.address();
    }

    @Override
    public void downloadInt(CudaIntBuf src, long srcOff, int[] dst, int dstOff, int n) {
        src.address();
        if (srcOff < 0 || srcOff + n > src.size()) {
            throw new IndexOutOfBoundsException("download of " + n + " ints at " + srcOff + " from " + src.size());
        }
        int[] canned = cannedInts.poll();
        if (canned != null) {
            System.arraycopy(canned, 0, dst, dstOff, Math.min(n, canned.length));
        }
    }

    @Override
    public void memsetZero(DevPtr dst, long bytes) {
        memsets++;
    }

    @Override
    public void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha, DevPtr a, int lda, DevPtr b,
                     int ldb, float beta, DevPtr c, int ldc) {
        gemms.add((transA ? "T" : "N") + (transB ? "T" : "N") + " " + m + "x" + n + "x" + k + " lda " + lda + " ldb "
                + ldb + " ldc " + ldc + " alpha " + alpha + " beta " + beta);
    }

    @Override
    public int multiprocessors() {
        return multiprocessors;
    }

    @Override
    public int maxSharedBytesPerBlock() {
        return 48 * 1024;
    }

    @Override
    public void synchronize() {
    }

    /** Names of the kernels launched so far, in order. */
    List<String> names() {
        return launches.stream().map(l -> l.kernel().name()).toList();
    }

    /** A 64-bit value as the two int32 words a kernel leaves in scratch. */
    static int[] words(long v) {
        return new int[] {(int) v, (int) (v >>> 32)};
    }

    static int[] words(double v) {
        return words(Double.doubleToRawLongBits(v));
    }
}
