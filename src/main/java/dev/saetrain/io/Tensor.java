package dev.saetrain.io;

import java.util.Arrays;

/**
 * A host tensor to be written: a shape and its elements in C order, held as float[] (F32/F16/BF16 on disk),
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
            case F32, F16, BF16 -> ((float[]) data).length;
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
