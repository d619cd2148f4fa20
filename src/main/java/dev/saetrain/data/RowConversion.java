package dev.saetrain.data;

import dev.saetrain.io.DType;
import dev.saetrain.io.Half;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Converts little-endian F32 / F16 / BF16 elements of a mapped buffer to fp32 times a scale factor.
 * Bulk reads through {@code asFloatBuffer()} / {@code asShortBuffer()} views into a per-thread scratch
 * array, then one plain loop per block: no per-element virtual call, no allocation in steady state.
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
     * Converts {@code elems} elements of {@code dtype} starting at byte {@code byteOffset} of {@code src}
     * into {@code dst[off .. off + elems)}, each multiplied by {@code scale}. {@code src} is not modified.
     */
    static void convert(DType dtype, ByteBuffer src, int byteOffset, int elems, float scale, float[] dst, int off) {
        ByteBuffer view = src.slice(byteOffset, elems * dtype.bytes()).order(ByteOrder.LITTLE_ENDIAN);
        switch (dtype) {
            case F32 -> {
                view.asFloatBuffer().get(dst, off, elems);
                if (scale != 1f) {
                    for (int i = off; i < off + elems; i++) {
                        dst[i] *= scale;
                    }
                }
            }
            case F16 -> {
                short[] s = SCRATCH.get();
                var shorts = view.asShortBuffer();
                for (int done = 0; done < elems; done += BLOCK) {
                    int n = Math.min(BLOCK, elems - done);
                    shorts.get(done, s, 0, n);
                    int base = off + done;
                    for (int i = 0; i < n; i++) {
                        dst[base + i] = F16_TABLE[s[i] & 0xffff] * scale;
                    }
                }
            }
            case BF16 -> {
                short[] s = SCRATCH.get();
                var shorts = view.asShortBuffer();
                for (int done = 0; done < elems; done += BLOCK) {
                    int n = Math.min(BLOCK, elems - done);
                    shorts.get(done, s, 0, n);
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
