package dev.saetrain.device.cuda;

import java.util.ArrayList;
import java.util.List;

/**
 * A {@link CudaRuntime} with no GPU behind it, for testing host logic: it records every launch after checking
 * the arguments against the kernel's spec the way {@link CudaRuntime#launch} documents, and hands out buffers
 * with fake addresses. Copies and products are not supported.
 */
final class RecordingRuntime implements CudaRuntime {
    /** One recorded launch. */
    record Launch(KernelSpec kernel, long gridX, int gridY, int blockX, int sharedBytes, List<Object> args) {
    }

    final List<Launch> launches = new ArrayList<>();
    private final int multiprocessors;
    private long next = 0x7f0000000000L;

    RecordingRuntime(int multiprocessors) {
        this.multiprocessors = multiprocessors;
    }

    @Override
    public CudaFloatBuf allocFloat(long n) {
        long at = next;
        next += Math.max(256, (n * 4 + 255) / 256 * 256);
        return new CudaFloatBuf(at, n, a -> { });
    }

    @Override
    public CudaIntBuf allocInt(long n) {
        long at = next;
        next += Math.max(256, (n * 4 + 255) / 256 * 256);
        return new CudaIntBuf(at, n, a -> { });
    }

    @Override
    public void launch(KernelSpec kernel, long gridX, int gridY, int blockX, int sharedBytes, Object... args) {
        if (args.length != kernel.params().size()) {
            throw new IllegalArgumentException(kernel + ": " + args.length + " arguments");
        }
        for (int i = 0; i < args.length; i++) {
            Object a = args[i];
            boolean ok = switch (kernel.params().get(i)) {
                case PTR -> a == null || a instanceof CudaFloatBuf || a instanceof CudaIntBuf || a instanceof DevPtr;
                case I32 -> a instanceof Integer;
                case I64 -> a instanceof Long;
                case F32 -> a instanceof Float;
            };
            if (!ok) {
                throw new IllegalArgumentException(kernel + ": argument " + i + " is " + a);
            }
        }
        if (gridX < 1 || gridX > Integer.MAX_VALUE || gridY < 1 || gridY > 65535 || blockX < 1 || blockX > 1024) {
            throw new IllegalArgumentException(kernel + ": bad launch shape " + gridX + " x " + gridY + ", " + blockX);
        }
        launches.add(new Launch(kernel, gridX, gridY, blockX, sharedBytes, List.of(nullSafe(args))));
    }

    private static Object[] nullSafe(Object[] args) {
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
        throw new UnsupportedOperationException("no device");
    }

    @Override
    public void download(CudaFloatBuf src, long srcOff, float[] dst, int dstOff, int n) {
        throw new UnsupportedOperationException("no device");
    }

    @Override
    public void uploadInt(int[] src, int srcOff, CudaIntBuf dst, long dstOff, int n) {
        throw new UnsupportedOperationException("no device");
    }

    @Override
    public void downloadInt(CudaIntBuf src, long srcOff, int[] dst, int dstOff, int n) {
        throw new UnsupportedOperationException("no device");
    }

    @Override
    public void memsetZero(DevPtr dst, long bytes) {
        throw new UnsupportedOperationException("no device");
    }

    @Override
    public void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha, DevPtr a, int lda, DevPtr b,
                     int ldb, float beta, DevPtr c, int ldc) {
        throw new UnsupportedOperationException("no device");
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
}
