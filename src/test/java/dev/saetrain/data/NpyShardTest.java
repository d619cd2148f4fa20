package dev.saetrain.data;

import static dev.saetrain.data.TestShards.f16;
import static dev.saetrain.data.TestShards.f32;
import static dev.saetrain.data.TestShards.npy;
import static dev.saetrain.data.TestShards.shorts;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.saetrain.io.DType;
import dev.saetrain.io.Half;
import dev.saetrain.io.NpyWriter;
import dev.saetrain.io.Tensor;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NpyShardTest {
    @TempDir
    Path dir;

    @Test
    void readsF32WrittenByNpyWriter() throws Exception {
        float[] x = new float[7 * 5];
        SplittableRandom rng = new SplittableRandom(1);
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rng.nextGaussian();
        }
        Path f = TestShards.writeNpy(dir.resolve("a.npy"), x, 5);
        Shard s = Shard.open(f);
        assertEquals(DType.F32, s.dtype());
        assertEquals(7, s.rows());
        assertEquals(5, s.dIn());
        assertEquals("npy", s.layout().format());
        float[] got = new float[x.length];
        s.readRows(0, 7, 1f, got, 0);
        assertArrayEquals(x, got);
        float[] scaled = new float[2 * 5 + 3];
        s.readRows(2, 2, 0.5f, scaled, 3);
        for (int i = 0; i < 10; i++) {
            assertEquals(x[10 + i] * 0.5f, scaled[3 + i]);
        }
    }

    @Test
    void readsF16WrittenByNpyWriterBitForBit() throws Exception {
        float[] x = {1f, -2.5f, 0.1f, 65504f, 1e-7f, -0f};
        Path f = dir.resolve("h.npy");
        NpyWriter.write(f, new Tensor(DType.F16, new long[] {3, 2}, x));
        Shard s = Shard.open(f);
        assertEquals(DType.F16, s.dtype());
        float[] got = new float[6];
        s.readRows(0, 3, 1f, got, 0);
        for (int i = 0; i < x.length; i++) {
            assertEquals(Half.f16ToFloat(Half.floatToF16(x[i])), got[i], "element " + i);
        }
    }

    @Test
    void readsVersion2HeaderWithOddSpacingKeyOrderAndNoTrailingComma() throws Exception {
        Path f = npy(dir.resolve("v2.npy"), 2,
                "{ \"shape\" :(2,3),'fortran_order':False ,  'descr':'<f4'}", f32(1, 2, 3, 4, 5, 6));
        Shard s = Shard.open(f);
        assertEquals(2, s.rows());
        assertEquals(3, s.dIn());
        float[] got = new float[3];
        s.readRows(1, 1, 1f, got, 0);
        assertArrayEquals(new float[] {4, 5, 6}, got);
    }

    @Test
    void readsVersion3Header() throws Exception {
        Path f = npy(dir.resolve("v3.npy"), 3, "{'descr': '<f2', 'fortran_order': False, 'shape': (1, 2), }",
                f16(0.5f, -1f));
        float[] got = new float[2];
        Shard.open(f).readRows(0, 1, 1f, got, 0);
        assertArrayEquals(new float[] {0.5f, -1f}, got);
    }

    @Test
    void threeDimensionalShapeFlattensToRows() throws Exception {
        float[] x = new float[2 * 3 * 4];
        for (int i = 0; i < x.length; i++) {
            x[i] = i;
        }
        Path f = npy(dir.resolve("3d.npy"), "<f4", "(2, 3, 4)", f32(x));
        Shard s = Shard.open(f);
        assertEquals(6, s.rows());
        assertEquals(4, s.dIn());
        float[] got = new float[4];
        s.readRows(4, 1, 1f, got, 0);
        assertArrayEquals(new float[] {16, 17, 18, 19}, got);
    }

    @Test
    void f16SubnormalsInfinitiesAndSignedZero() throws Exception {
        short[] bits = {0x0001, 0x03ff, (short) 0x8000, 0x7c00, (short) 0xfc00, 0x3c00, 0x7bff, 0x0400};
        Path f = npy(dir.resolve("sub.npy"), "<f2", "(2, 4)", shorts(bits));
        float[] got = new float[8];
        Shard.open(f).readRows(0, 2, 1f, got, 0);
        assertEquals(0x1p-24f, got[0]);
        assertEquals(1023 * 0x1p-24f, got[1]);
        assertEquals(Float.floatToRawIntBits(-0f), Float.floatToRawIntBits(got[2]));
        assertEquals(Float.POSITIVE_INFINITY, got[3]);
        assertEquals(Float.NEGATIVE_INFINITY, got[4]);
        assertEquals(1f, got[5]);
        assertEquals(65504f, got[6]);
        assertEquals(0x1p-14f, got[7]);
        assertEquals(-1, Shard.firstNonFinite(got, 0, 3));
        assertEquals(3, Shard.firstNonFinite(got, 0, 8));
    }

    @Test
    void readsAcrossMappingChunks() throws Exception {
        float[] x = TestShards.idRows(10, 3, 0);
        Path f = TestShards.writeNpy(dir.resolve("c.npy"), x, 3);
        // 3 rows of 12 bytes per chunk: chunks hold rows 0-2, 3-5, 6-8, 9.
        Shard s = Shard.open(f, 40);
        assertEquals(3, s.rowsPerChunk());
        float[] got = new float[8 * 3];
        s.readRows(1, 8, 1f, got, 0);
        assertArrayEquals(java.util.Arrays.copyOfRange(x, 3, 27), got);
        assertThrows(IndexOutOfBoundsException.class, () -> s.readRows(9, 2, 1f, got, 0));
    }

    @Test
    void firstNonFiniteFindsTheFirstAtEveryPositionAndLength() {
        float[] specials = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY};
        // Lengths around the 8-wide unrolling, offsets that are not multiples of 8.
        for (int n = 0; n <= 21; n++) {
            for (int offset : new int[] {0, 3}) {
                float[] x = new float[offset + n + 2];
                java.util.Arrays.fill(x, -Float.MAX_VALUE);
                x[offset + n] = Float.NaN; // just past the range: must be ignored
                if (offset > 0) {
                    x[offset - 1] = Float.NaN;
                }
                assertEquals(-1, Shard.firstNonFinite(x, offset, n), "n " + n);
                for (int at = 0; at < n; at++) {
                    float[] y = x.clone();
                    y[offset + at] = specials[at % 3];
                    if (at + 1 < n) {
                        y[offset + at + 1] = Float.NaN;
                    }
                    assertEquals(at, Shard.firstNonFinite(y, offset, n), "n " + n + ", at " + at);
                }
            }
        }
    }
}
