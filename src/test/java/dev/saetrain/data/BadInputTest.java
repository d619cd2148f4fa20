package dev.saetrain.data;

import static dev.saetrain.data.TestShards.f32;
import static dev.saetrain.data.TestShards.npy;
import static dev.saetrain.data.TestShards.safetensors;
import static dev.saetrain.data.TestShards.stHeader;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.saetrain.error.BadInputException;
import dev.saetrain.error.Setting;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Every kind of bad input of docs/design.md, "Formats" (input shards), each on a crafted file. */
class BadInputTest {
    @TempDir
    Path dir;

    /** Opens {@code p} as a shard set and expects a BadInputException naming {@code named} and saying {@code phrase}. */
    private BadInputException expectBad(Path p, Path named, String phrase) {
        BadInputException e = assertThrows(BadInputException.class, () -> ShardSet.open(p));
        assertTrue(e.getMessage().contains(named.getFileName().toString()), e.getMessage());
        assertTrue(e.getMessage().contains(phrase), e.getMessage());
        assertEquals(named, e.file());
        assertEquals(-1, e.getMessage().indexOf('\n'), "one line: " + e.getMessage());
        return e;
    }

    private BadInputException expectBad(Path file, String phrase) {
        return expectBad(file, file, phrase);
    }

    @Test
    void unknownFormatGivenAsSingleFile() throws Exception {
        Path f = Files.writeString(dir.resolve("acts.pt"), "not a shard");
        expectBad(f, "unknown format");
    }

    @Test
    void npyWithGarbageHasBadMagic() throws Exception {
        Path f = Files.writeString(dir.resolve("g.npy"), "PK\u0003\u0004 this is a zip, not an npy file");
        expectBad(f, "bad magic");
    }

    @Test
    void npyShorterThanItsMagic() throws Exception {
        Path f = Files.write(dir.resolve("tiny.npy"), new byte[] {(byte) 0x93, 'N'});
        expectBad(f, "bad magic");
    }

    @Test
    void npyHeaderDictUnparsable() throws Exception {
        Path f = npy(dir.resolve("d.npy"), 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3 }", f32(new float[6]));
        expectBad(f, "malformed .npy header");
    }

    @Test
    void npyHeaderMissingShape() throws Exception {
        Path f = npy(dir.resolve("d.npy"), 1, "{'descr': '<f4', 'fortran_order': False}", f32(new float[6]));
        expectBad(f, "no 'shape' key");
    }

    @Test
    void npyHeaderLengthPastEndOfFile() throws Exception {
        byte[] b = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (byte) 0xff, 0x7f, '{'};
        Path f = Files.write(dir.resolve("h.npy"), b);
        expectBad(f, "runs past the end");
    }

    @Test
    void safetensorsJsonInvalid() throws Exception {
        Path f = safetensors(dir.resolve("j.safetensors"), "{\"x\": {\"dtype\": \"F32\",, }", f32(1, 2));
        expectBad(f, "invalid JSON");
    }

    @Test
    void safetensorsHeaderLengthLargerThanFile() throws Exception {
        byte[] b = new byte[16];
        b[0] = 0x40; // header length 64 in a 16-byte file
        Path f = Files.write(dir.resolve("l.safetensors"), b);
        expectBad(f, "header length 64");
    }

    @Test
    void dDiffersFromTheFirstShard() throws Exception {
        TestShards.writeNpy(dir.resolve("a.npy"), new float[8], 4);
        Path b = TestShards.writeNpy(dir.resolve("b.npy"), new float[10], 5);
        BadInputException e = expectBad(dir, b, "d = 5 differs from d = 4");
        assertTrue(e.getMessage().contains("a.npy"), e.getMessage());
    }

    @Test
    void npyPayloadShorterThanHeaderSays() throws Exception {
        Path f = npy(dir.resolve("t.npy"), "<f4", "(4, 3)", f32(new float[11]));
        expectBad(f, "payload is shorter than the header says");
    }

    @Test
    void safetensorsPayloadShorterThanHeaderSays() throws Exception {
        Path f = safetensors(dir.resolve("t.safetensors"), stHeader("x", "F32", "[2,3]", 0, 24), f32(new float[5]));
        expectBad(f, "payload is shorter than the header says");
    }

    @Test
    void safetensorsOffsetsDisagreeWithShape() throws Exception {
        Path f = safetensors(dir.resolve("o.safetensors"), stHeader("x", "F32", "[2,3]", 0, 20), f32(new float[6]));
        expectBad(f, "need 24 bytes");
    }

    @Test
    void safetensorsOffsetsReversed() throws Exception {
        Path f = safetensors(dir.resolve("r.safetensors"), stHeader("x", "F32", "[1,1]", 8, 4), f32(new float[3]));
        expectBad(f, "inconsistent data_offsets");
    }

    @Test
    void safetensorsSeveralTensorsNoneNamedActivations() throws Exception {
        String json = "{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1],\"data_offsets\":[0,4]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[1,1],\"data_offsets\":[4,8]}}";
        Path f = safetensors(dir.resolve("s.safetensors"), json, f32(1, 2));
        expectBad(f, "none is named 'activations'");
    }

    @Test
    void fortranOrder() throws Exception {
        Path f = npy(dir.resolve("f.npy"), 1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", f32(1, 2, 3, 4));
        expectBad(f, "fortran_order is True");
    }

    @ParameterizedTest
    @ValueSource(strings = {"<f8", "<i4", "|u1", "<c8"})
    void npyUnsupportedDtype(String descr) throws Exception {
        Path f = npy(dir.resolve("u.npy"), descr, "(2, 2)", new byte[64]);
        expectBad(f, "unsupported dtype '" + descr + "'");
    }

    @Test
    void npyBigEndianRejected() throws Exception {
        Path f = npy(dir.resolve("be.npy"), ">f4", "(2, 2)", new byte[16]);
        expectBad(f, "big-endian");
    }

    @ParameterizedTest
    @ValueSource(strings = {"=f4", "|f2"})
    void npyByteOrderNotStatedRejected(String descr) throws Exception {
        Path f = npy(dir.resolve("ne.npy"), descr, "(2, 2)", new byte[16]);
        expectBad(f, "byte order is not stated");
    }

    @ParameterizedTest
    @ValueSource(strings = {"I64", "F64", "U8"})
    void safetensorsUnsupportedDtype(String dtype) throws Exception {
        Path f = safetensors(dir.resolve("u.safetensors"), stHeader("x", dtype, "[1,1]", 0, 8), new byte[8]);
        expectBad(f, "unsupported dtype '" + dtype + "'");
    }

    @ParameterizedTest
    @ValueSource(strings = {"(6,)", "(1, 2, 3, 1)", "()"})
    void npyShapeNotTwoOrThreeD(String shape) throws Exception {
        Path f = npy(dir.resolve("s.npy"), "<f4", shape, f32(new float[6]));
        expectBad(f, "must be 2-D [rows, d] or 3-D");
    }

    @ParameterizedTest
    @ValueSource(strings = {"[6]", "[1,2,3,1]"})
    void safetensorsShapeNotTwoOrThreeD(String shape) throws Exception {
        Path f = safetensors(dir.resolve("s.safetensors"), stHeader("x", "F32", shape, 0, 24), f32(new float[6]));
        expectBad(f, "must be 2-D [rows, d] or 3-D");
    }

    @Test
    void directoryWithoutShardFiles() throws Exception {
        Files.writeString(dir.resolve("README.md"), "nothing here");
        expectBad(dir, "no .npy or .safetensors shard files");
    }

    @Test
    void nonFiniteRowFailsTheStreamNamingFileAndRow() throws Exception {
        TestShards.writeNpy(dir.resolve("a.npy"), TestShards.idRows(10, 2, 0), 2);
        float[] x = TestShards.idRows(10, 2, 10);
        x[7 * 2 + 1] = Float.NaN;
        Path b = TestShards.writeNpy(dir.resolve("b.npy"), x, 2);
        ShardSet set = ShardSet.open(dir);
        float[] batch = new float[4 * 2];
        try (ActivationStream s = new ActivationStream(set, StreamOptions.of(4, 20, 3))) {
            BadInputException e = assertThrows(BadInputException.class, () -> {
                while (s.next(batch)) {
                    assertEquals(-1, Shard.firstNonFinite(batch, 0, batch.length), "delivered a NaN");
                }
            });
            assertTrue(e.getMessage().contains(b.getFileName().toString()), e.getMessage());
            assertTrue(e.getMessage().contains("row 7 "), e.getMessage());
            assertTrue(e.settings().contains(Setting.SKIP_NONFINITE), e.getMessage());
        }
    }

    @Test
    void infinityInFirstRowsFailsReadFirstRowsAndScale() throws Exception {
        float[] x = TestShards.idRows(5, 3, 1);
        x[3 * 3] = Float.NEGATIVE_INFINITY;
        Path f = TestShards.writeNpy(dir.resolve("i.npy"), x, 3);
        ShardSet set = ShardSet.open(f);
        BadInputException e = assertThrows(BadInputException.class, () -> set.readFirstRows(5, 1f, false));
        assertTrue(e.getMessage().contains("i.npy") && e.getMessage().contains("row 3 "), e.getMessage());
        e = assertThrows(BadInputException.class, () -> ScaleEstimator.estimate(set, 100, false));
        assertTrue(e.getMessage().contains("i.npy") && e.getMessage().contains("row 3 "), e.getMessage());
        assertEquals(4 * 3, set.readFirstRows(5, 1f, true).length);
    }

    @Test
    void bytesOfAMessageAreOneLineEvenForBinaryHeaders() throws Exception {
        String dict = "{'descr': '<f4', 'fortran_order': \u0001\u0002\n, 'shape': (1, 1)}";
        byte[] garbage = dict.getBytes(StandardCharsets.ISO_8859_1);
        Path f = npy(dir.resolve("bin.npy"), 1, new String(garbage, StandardCharsets.ISO_8859_1), f32(1));
        expectBad(f, "malformed .npy header");
    }
}
