package dev.saetrain.io;

import java.util.Arrays;

/**
 * A host tensor to be written or just read: a shape and its elements in C order, held as float[] or, for a matrix
 * that may pass a Java array's 2^31 - 1 elements, a {@link HostMatrix} [rows, last dimension] (F32/F16/BF16 on disk);
 * int[] (I32) or long[] (I64). Writers convert floats to the requested on-disk dtype.
 */
public record Tensor(DType dtype, long[] shape, Object data) {
    public Tensor {
        shape = shape.clone();
        long n = 1;
        for (long s : shape) {
            if (s < 0) {
                throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
            }
            n = Math.multiplyExact(n, s);
        }
        long len = switch (dtype) {
            case F32, F16, BF16 -> data instanceof HostMatrix h ? h.size() : ((float[]) data).length;
            case I32 -> ((int[]) data).length;
            case I64 -> ((long[]) data).length;
        };
        if (len != n) {
            throw new IllegalArgumentException("tensor of shape " + Arrays.toString(shape) + " needs " + n
                    + " elements, got " + len);
        }
    }

    /** An F32 tensor over {@code data} (not copied). */
    public static Tensor f32(float[] data, long... shape) {
        return new Tensor(DType.F32, shape, data);
    }

    /** An F32 tensor [rows, cols] over {@code data} (not copied). */
    public static Tensor f32(HostMatrix data) {
        return new Tensor(DType.F32, new long[] {data.rows(), data.cols()}, data);
    }

    /**
     * A float tensor's elements as a matrix [product of the leading dimensions, last dimension] (a vector is one
     * row): the HostMatrix it holds, or its float[] wrapped (not copied).
     */
    public HostMatrix matrix() {
        if (data instanceof HostMatrix h) {
            return h;
        }
        float[] a = (float[]) data;
        int cols = shape.length == 0 ? 1 : Math.toIntExact(shape[shape.length - 1]);
        return HostMatrix.wrap(a, cols == 0 ? 0 : a.length / cols, cols);
    }

    /** A float tensor's elements as one array: its float[], or its HostMatrix's when that is one page. */
    public float[] floats() {
        return data instanceof HostMatrix h ? h.toArray("tensor of shape " + Arrays.toString(shape)) : (float[]) data;
    }

    /** Number of elements. */
    public long numel() {
        long n = 1;
        for (long s : shape) {
            n *= s;
        }
        return n;
    }

    /** Bytes the payload takes on disk. */
    public long byteSize() {
        return numel() * dtype.bytes();
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }
}
