package dev.saetrain.device.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.saetrain.io.DType;
import dev.saetrain.io.Half;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * {@link CudaConvert} on a GPU against the CPU reader's arithmetic (data/RowConversion: Half.f16ToFloat or the
 * bf16 shift, then times the scale in float): every one of the 65536 fp16 and bf16 bit patterns, and random fp32
 * bit patterns (subnormals, infinities, NaN), bit for bit except that a NaN need only stay NaN.
 */
@Tag("cuda")
class CudaConvertGpuTest {
    @Test
    void everyHalfPatternConvertsAsOnTheCpu() {
        CudaRuntime rt = GpuRuntime.openOrSkip();
        CudaConvert convert = new CudaConvert(rt);
        for (DType dtype : new DType[] {DType.F16, DType.BF16}) {
            for (float scale : new float[] {1f, 0.37f, 3e-39f}) {
                for (int shift : new int[] {0, 1}) { // shift 1: raw starts at an odd element (2-byte aligned)
                    int count = 65536 - shift;
                    short[] bits = new short[65536];
                    for (int i = 0; i < bits.length; i++) {
                        bits[i] = (short) (i * 40503); // every pattern once, shuffled
                    }
                    float[] got = run(rt, convert, dtype, bits, shift, count, scale);
                    for (int i = 0; i < count; i++) {
                        short h = bits[shift + i];
                        float want = (dtype == DType.F16 ? Half.f16ToFloat(h) : Half.bf16ToFloat(h)) * scale;
                        assertSame(want, got[i], dtype + " bits " + Integer.toHexString(h & 0xffff) + " scale " + scale);
                    }
                }
            }
        }
    }

    @Test
    void floatRowsAreScaledOrCopiedBitForBit() {
        CudaRuntime rt = GpuRuntime.openOrSkip();
        CudaConvert convert = new CudaConvert(rt);
        SplittableRandom rnd = new SplittableRandom(9);
        int count = 100_001;
        float[] raw = new float[count];
        for (int i = 0; i < count; i++) {
            raw[i] = Float.intBitsToFloat(rnd.nextInt());
        }
        raw[0] = Float.MIN_VALUE;
        raw[1] = Float.NEGATIVE_INFINITY;
        raw[2] = -0f;
        for (float scale : new float[] {1f, 3.5f, 1e-3f}) {
            float[] got = new float[count];
            try (CudaFloatBuf in = rt.allocFloat(count);
                 CudaFloatBuf out = rt.allocFloat(count)) {
                rt.upload(raw, 0, in, 0, count);
                convert.toFloat(in.at(0), DType.F32, count, scale, out);
                rt.download(out, 0, got, 0, count);
            }
            for (int i = 0; i < count; i++) {
                if (scale == 1f) {
                    assertEquals(Float.floatToRawIntBits(raw[i]), Float.floatToRawIntBits(got[i]), "copy of " + i);
                } else {
                    assertSame(raw[i] * scale, got[i], "fp32 " + raw[i] + " scale " + scale);
                }
            }
        }
    }

    private static float[] run(CudaRuntime rt, CudaConvert convert, DType dtype, short[] bits, int shift, int count,
                               float scale) {
        int[] packed = new int[(bits.length + 1) / 2]; // little-endian: element 2i in the low half of int i
        for (int i = 0; i < bits.length; i++) {
            packed[i / 2] |= (bits[i] & 0xffff) << (16 * (i & 1));
        }
        float[] got = new float[count];
        try (CudaIntBuf raw = rt.allocInt(packed.length);
             CudaFloatBuf out = rt.allocFloat(count + 1)) {
            rt.uploadInt(packed, 0, raw, 0, packed.length);
            convert.toFloat(new DevPtr(raw.at(0).address() + 2L * shift), dtype, count, scale, out);
            rt.download(out, 0, got, 0, count);
            float[] tail = new float[1];
            rt.download(out, count, tail, 0, 1);
            assertTrue(tail[0] == 0f, "wrote past count");
        }
        return got;
    }

    private static void assertSame(float want, float got, String what) {
        if (Float.isNaN(want)) {
            assertTrue(Float.isNaN(got), what + ": expected NaN, got " + got);
        } else {
            assertEquals(Float.floatToRawIntBits(want), Float.floatToRawIntBits(got),
                    what + ": expected " + want + ", got " + got);
        }
    }
}
