package dev.saetrain.data;

import dev.saetrain.error.BadInputException;
import dev.saetrain.io.DType;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Where the activations of one shard file lie, as its header describes them: a C-order, little-endian
 * payload of {@code rows * dIn} elements of {@code dtype} starting {@code dataOffset} bytes into the file.
 * A 3-D tensor {@code [n, ctx, dIn]} is read as {@code rows = n * ctx}.
 *
 * @param file       the shard file
 * @param format     "npy" or "safetensors"
 * @param dtype      F32, F16 or BF16 (BF16 only from safetensors)
 * @param shape      the tensor shape as stored, 2-D or 3-D
 * @param dataOffset byte offset of the first element
 */
public record ShardLayout(Path file, String format, DType dtype, long[] shape, long dataOffset) {
    public ShardLayout {
        shape = shape.clone();
        if (dtype != DType.F32 && dtype != DType.F16 && dtype != DType.BF16) {
            throw new BadInputException(file, "unsupported dtype " + dtype + "; store activations as float32, "
                    + "float16 or bfloat16");
        }
        if (shape.length != 2 && shape.length != 3) {
            throw new BadInputException(file, "activations must be 2-D [rows, d] or 3-D [n, ctx, d], got shape "
                    + Arrays.toString(shape) + "; reshape the array before saving it");
        }
        long rows = 1;
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] < 0) {
                throw new BadInputException(file, "negative dimension in shape " + Arrays.toString(shape)
                        + "; the header is corrupt, regenerate the file");
            }
            if (i < shape.length - 1) {
                rows = Math.multiplyExact(rows, shape[i]);
            }
        }
        long d = shape[shape.length - 1];
        if (d < 1 || d > Integer.MAX_VALUE / 4) {
            throw new BadInputException(file, "activation width d = " + d + " (last dimension of shape "
                    + Arrays.toString(shape) + ") is out of range [1, " + Integer.MAX_VALUE / 4 + "]");
        }
        if (dataOffset < 0) {
            throw new BadInputException(file, "negative data offset " + dataOffset + "; regenerate the file");
        }
    }

    /** Number of rows: the product of every dimension but the last. */
    public long rows() {
        long rows = 1;
        for (int i = 0; i < shape.length - 1; i++) {
            rows *= shape[i];
        }
        return rows;
    }

    /** Width of one row, the last dimension. */
    public int dIn() {
        return (int) shape[shape.length - 1];
    }

    /** Bytes of one row on disk. */
    public long rowBytes() {
        return (long) dIn() * dtype.bytes();
    }

    /** Bytes of the whole payload. */
    public long payloadBytes() {
        return Math.multiplyExact(rows(), rowBytes());
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    /** Checks that the file holds the whole payload the header promises. */
    void checkFileSize(long fileSize) {
        long need = Math.addExact(dataOffset, payloadBytes());
        if (fileSize < need) {
            throw new BadInputException(file, "payload is shorter than the header says: shape "
                    + Arrays.toString(shape) + " of " + dtype + " needs " + need + " bytes, the file has "
                    + fileSize + "; the file is truncated, copy or regenerate it");
        }
    }
}
