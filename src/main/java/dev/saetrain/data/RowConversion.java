package dev.saetrain.data;

import dev.saetrain.io.DType;
import dev.saetrain.io.Half;
import java.nio.Buffer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.ShortBuffer;

/**
 * Converts little-endian F32 / F16 / BF16 elements of a mapped buffer to fp32 times a scale factor.
 * Reads go through a typed view made once per mapping ({@link #view}) with absolute bulk gets into the
 * destination (F32) or a per-thread scratch array (F16, BF16), then one plain loop per block: no per-element
 * virtual call, no allocation, no view made per call, so converting a single row costs little more than
 * its elements.
 */
final class RowConversion {
    /** Elements converted per block; the fp16 scratch is 32 KiB, small enough to stay in L1/L2. */
    private static final int BLOCK = 16384;
    /** All 65536 fp16 values as floats: a table lookup is cheaper than decoding the bits per element. */
    private static final float[] F16_TABLE = new float[1 << 16];
    private static final ThreadLocal<short[]> SCRATCH = ThreadLocal.withInitial(() -> new short[BLOCK]);

    static {
        for (int i = 0; i < F16_TABLE.length; i++) {
            F16_TABLE[i] = Half.f16ToFloat((short) i);
        }
    }

    private RowConversion() {
    }

    /**
     * The typed view of a little-endian mapping that {@link #convert} reads: a FloatBuffer for F32, a
     * ShortBuffer for F16 and BF16; element i of the view is element i of the mapping.
     */
    static Buffer view(DType dtype, ByteBuffer mapping) {
        ByteBuffer le = mapping.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        return switch (dtype) {
            case F32 -> le.asFloatBuffer();
            case F16, BF16 -> le.asShortBuffer();
            default -> throw new IllegalArgumentException("no conversion from " + dtype + " to fp32 rows");
        };
    }

    /**
     * Converts {@code elems} elements of {@code dtype} starting at element {@code index} of {@code src} (a
     * {@link #view} of that dtype) into {@code dst[off .. off + elems)}, each multiplied by {@code scale}.
     * {@code src} is not modified (absolute reads only; safe for concurrent readers).
     */
    static void convert(DType dtype, Buffer src, int index, int elems, float scale, float[] dst, int off) {
        switch (dtype) {
            case F32 -> {
                ((FloatBuffer) src).get(index, dst, off, elems);
                if (scale != 1f) {
                    for (int i = off; i < off + elems; i++) {
                        dst[i] *= scale;
                    }
                }
            }
            case F16 -> {
                short[] s = SCRATCH.get();
                ShortBuffer shorts = (ShortBuffer) src;
                for (int done = 0; done < elems; done += BLOCK) {
                    int n = Math.min(BLOCK, elems - done);
                    shorts.get(index + done, s, 0, n);
                    int base = off + done;
                    for (int i = 0; i < n; i++) {
                        dst[base + i] = F16_TABLE[s[i] & 0xffff] * scale;
                    }
                }
            }
            case BF16 -> {
                short[] s = SCRATCH.get();
                ShortBuffer shorts = (ShortBuffer) src;
                for (int done = 0; done < elems; done += BLOCK) {
                    int n = Math.min(BLOCK, elems - done);
                    shorts.get(index + done, s, 0, n);
                    int base = off + done;
                    for (int i = 0; i < n; i++) {
                        dst[base + i] = Float.intBitsToFloat((s[i] & 0xffff) << 16) * scale;
                    }
                }
            }
            default -> throw new IllegalArgumentException("no conversion from " + dtype + " to fp32 rows");
        }
    }
}
