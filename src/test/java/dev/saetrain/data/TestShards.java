package dev.saetrain.data;

import dev.saetrain.io.Half;
import dev.saetrain.io.NpyWriter;
import dev.saetrain.io.Tensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Builds shard files for tests: through the project's writers, or byte by byte for malformed ones. */
final class TestShards {
    private TestShards() {
    }

    /** A .npy file with magic, version {@code major}.0, the given header text (padded to 64) and payload. */
    static Path npy(Path file, int major, String dict, byte[] payload) throws IOException {
        int pre = major == 1 ? 10 : 12;
        StringBuilder sb = new StringBuilder(dict);
        while ((pre + sb.length() + 1) % 64 != 0) {
            sb.append(' ');
        }
        sb.append('\n');
        byte[] text = sb.toString().getBytes(StandardCharsets.ISO_8859_1);
        ByteBuffer b = ByteBuffer.allocate(pre + text.length + payload.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put((byte) 0x93).put("NUMPY".getBytes(StandardCharsets.US_ASCII)).put((byte) major).put((byte) 0);
        if (major == 1) {
            b.putShort((short) text.length);
        } else {
            b.putInt(text.length);
        }
        b.put(text).put(payload);
        return Files.write(file, b.array());
    }

    /** A version 1.0 .npy file with the header numpy.save writes for this descr and shape. */
    static Path npy(Path file, String descr, String shape, byte[] payload) throws IOException {
        return npy(file, 1, "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }", payload);
    }

    /** A .safetensors file with the given JSON header (unpadded) and payload. */
    static Path safetensors(Path file, String json, byte[] payload) throws IOException {
        byte[] h = json.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + payload.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h).put(payload);
        return Files.write(file, b.array());
    }

    /** A one-tensor safetensors header. */
    static String stHeader(String name, String dtype, String shape, long begin, long end) {
        return "{\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":[" + begin
                + "," + end + "]}}";
    }

    static byte[] f32(float... v) {
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float x : v) {
            b.putFloat(x);
        }
        return b.array();
    }

    static byte[] f16(float... v) {
        short[] bits = new short[v.length];
        for (int i = 0; i < v.length; i++) {
            bits[i] = Half.floatToF16(v[i]);
        }
        return shorts(bits);
    }

    static byte[] shorts(short... v) {
        ByteBuffer b = ByteBuffer.allocate(2 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (short x : v) {
            b.putShort(x);
        }
        return b.array();
    }

    /** {@code rows x d} floats where every value of global row i is {@code firstId + i}: rows name themselves. */
    static float[] idRows(int rows, int d, int firstId) {
        float[] x = new float[rows * d];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < d; j++) {
                x[i * d + j] = firstId + i;
            }
        }
        return x;
    }

    /** Writes an F32 .npy of shape [rows, d] with {@link NpyWriter}. */
    static Path writeNpy(Path file, float[] x, int d) throws IOException {
        NpyWriter.write(file, Tensor.f32(x, x.length / d, d));
        return file;
    }

    /** Writes shards of id rows with the given row counts into {@code dir} (names s00.npy, s01.npy, ...). */
    static Path idShards(Path dir, int d, int... rows) throws IOException {
        int id = 0;
        for (int i = 0; i < rows.length; i++) {
            writeNpy(dir.resolve(String.format("s%02d.npy", i)), idRows(rows[i], d, id), d);
            id += rows[i];
        }
        return dir;
    }
}
