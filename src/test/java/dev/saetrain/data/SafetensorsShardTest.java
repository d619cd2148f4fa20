package dev.saetrain.data;

import static dev.saetrain.data.TestShards.f32;
import static dev.saetrain.data.TestShards.safetensors;
import static dev.saetrain.data.TestShards.shorts;
import static dev.saetrain.data.TestShards.stHeader;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.saetrain.error.BadInputException;
import dev.saetrain.io.DType;
import dev.saetrain.io.Half;
import dev.saetrain.io.SafetensorsReader;
import dev.saetrain.io.SafetensorsWriter;
import dev.saetrain.io.Tensor;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsShardTest {
    @TempDir
    Path dir;

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F16", "BF16"})
    void readsEveryFloatDtypeWrittenBySafetensorsWriter(DType dtype) throws Exception {
        float[] x = {1f, -2f, 0.1f, 3.5f, -0.3f, 100f};
        Path f = dir.resolve("a.safetensors");
        SafetensorsWriter.write(f, Map.of("acts", new Tensor(dtype, new long[] {3, 2}, x)), Map.of("hook", "resid"));
        Shard s = Shard.open(f);
        assertEquals(dtype, s.dtype());
        assertEquals(3, s.rows());
        assertEquals(2, s.dIn());
        float[] got = new float[6];
        s.readRows(0, 3, 2f, got, 0);
        for (int i = 0; i < x.length; i++) {
            float stored = switch (dtype) {
                case F16 -> Half.f16ToFloat(Half.floatToF16(x[i]));
                case BF16 -> Half.bf16ToFloat(Half.floatToBf16(x[i]));
                default -> x[i];
            };
            assertEquals(stored * 2f, got[i], "element " + i);
        }
    }

    @Test
    void bf16KnownBitPatterns() throws Exception {
        short[] bits = {0x3f80, (short) 0xc000, 0x4049, 0x0001, 0x7f80, (short) 0xbf80};
        Path f = safetensors(dir.resolve("b.safetensors"), stHeader("x", "BF16", "[2,3]", 0, 12), shorts(bits));
        float[] got = new float[6];
        Shard.open(f).readRows(0, 2, 1f, got, 0);
        assertArrayEquals(new float[] {1f, -2f, 3.140625f, 0x1p-133f, Float.POSITIVE_INFINITY, -1f}, got);
    }

    @Test
    void picksTheTensorNamedActivationsAmongSeveral() throws Exception {
        Map<String, Tensor> ts = new LinkedHashMap<>();
        ts.put("tokens", new Tensor(DType.I64, new long[] {2}, new long[] {5, 6}));
        ts.put("activations", Tensor.f32(new float[] {1, 2, 3, 4, 5, 6}, 1, 2, 3));
        Path f = dir.resolve("m.safetensors");
        SafetensorsWriter.write(f, ts, null);
        Shard s = Shard.open(f);
        assertEquals(2, s.rows());
        assertEquals(3, s.dIn());
        float[] got = new float[3];
        s.readRows(1, 1, 1f, got, 0);
        assertArrayEquals(new float[] {4, 5, 6}, got);
    }

    @Test
    void handCraftedThreeDimensionalWithMetadataAndOffset() throws Exception {
        // A second tensor first in the payload, so the activations start at a nonzero offset.
        String json = "{\"__metadata__\":{\"a\":\"b\"},\"activations\":{\"dtype\":\"F32\",\"shape\":[1,2,2],"
                + "\"data_offsets\":[8,24]},\"other\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
        Path f = safetensors(dir.resolve("o.safetensors"), json, f32(9, 9, 1, 2, 3, 4));
        Shard s = Shard.open(f);
        assertEquals(2, s.rows());
        float[] got = new float[4];
        s.readRows(0, 2, 1f, got, 0);
        assertArrayEquals(new float[] {1, 2, 3, 4}, got);
    }

    @Test
    void aTensorOfAnUnreadDtypeBesideTheActivationsIsKeptOutOfTheWay() throws Exception {
        // Token ids as U8 next to the activations: the shard reads its activations; a whole-file read refuses the U8.
        String json = "{\"tokens\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},"
                + "\"activations\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[4,20]}}";
        byte[] payload = new byte[20];
        System.arraycopy(f32(1, 2, 3, 4), 0, payload, 4, 16);
        Path f = safetensors(dir.resolve("u.safetensors"), json, payload);
        Shard s = Shard.open(f);
        float[] got = new float[4];
        s.readRows(0, 2, 1f, got, 0);
        assertArrayEquals(new float[] {1, 2, 3, 4}, got);
        BadInputException e = assertThrows(BadInputException.class, () -> SafetensorsReader.read(f));
        assertTrue(e.getMessage().contains("'U8'"), e.getMessage());
    }
}
