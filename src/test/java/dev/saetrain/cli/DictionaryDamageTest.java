package dev.saetrain.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.saetrain.export.ExportInfo;
import dev.saetrain.export.SaeLensWriter;
import dev.saetrain.model.Architecture;
import dev.saetrain.model.SaeConfig;
import dev.saetrain.model.SaeWeights;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An exported dictionary that is damaged or edited wrongly is refused by export and analyze in one line naming the
 * file and the key (or tensor), exit 2, nothing written: a value of the wrong type or out of range is never clamped or
 * replaced by a default, a damaged safetensors file is bad input rather than an I/O failure.
 */
class DictionaryDamageTest {
    private static final int D = 8;
    private static final int M = 16;

    @TempDir
    Path tmp;

    private Path dictionary(String name) throws IOException {
        SplittableRandom rng = new SplittableRandom(3);
        float[][] a = new float[4][];
        int[] n = {D * M, M, M * D, D};
        for (int t = 0; t < 4; t++) {
            a[t] = new float[n[t]];
            for (int i = 0; i < n[t]; i++) {
                a[t][i] = (float) (rng.nextDouble() - 0.5);
            }
        }
        SaeWeights w = SaeWeights.of(new SaeConfig(Architecture.TOPK, D, M, 2, 0, true), a[0], a[1], a[2], a[3]);
        Path dir = tmp.resolve(name);
        SaeLensWriter.write(dir, w, new double[M], ExportInfo.minimal("r", "dev", 0, 1));
        return dir;
    }

    private Path withCfg(String name, UnaryOperator<String> edit) throws IOException {
        Path dir = dictionary(name);
        Path cfg = dir.resolve("cfg.json");
        String before = Files.readString(cfg);
        String after = edit.apply(before);
        assertFalse(before.equals(after), "the edit must change cfg.json");
        Files.writeString(cfg, after);
        return dir;
    }

    /** export and analyze both refuse {@code dir} in one line containing every one of {@code names}. */
    private void refusedByExportAndAnalyze(Path dir, String... names) {
        Path exportOut = tmp.resolve("out-" + dir.getFileName());
        Path analysisOut = tmp.resolve("analysis-" + dir.getFileName());
        FaultFixture.Outcome ex = FaultFixture.run("export", dir.toString(), "--format", "npy", "--out",
                exportOut.toString());
        FaultFixture.Outcome an = FaultFixture.run("analyze", dir.toString(), "--out",
                analysisOut.toString(), "--no-report");
        for (FaultFixture.Outcome r : new FaultFixture.Outcome[] {ex, an}) {
            assertEquals(2, r.code(), r.err());
            String e = CheckpointFaultTest.oneLine(r);
            for (String name : names) {
                assertTrue(e.contains(name), "should name " + name + ": " + e);
            }
        }
        assertFalse(Files.exists(exportOut), "nothing exported");
        assertFalse(Files.exists(analysisOut.resolve("geometry")), "nothing analysed");
    }

    @Test
    void aStringWhereANumberBelongsNamesTheKey() throws IOException {
        Path dir = withCfg("string", s -> s.replace("\"d_sae\" : 16", "\"d_sae\" : \"16\""));
        refusedByExportAndAnalyze(dir, dir.resolve("cfg.json").toString(), "'d_sae' must be an integer");
    }

    @Test
    void aFractionWhereAnIntegerBelongsIsNotTruncated() throws IOException {
        Path dir = withCfg("fraction", s -> s.replace("\"d_in\" : 8", "\"d_in\" : 8.5"));
        refusedByExportAndAnalyze(dir, dir.resolve("cfg.json").toString(), "'d_in' must be an integer", "8.5");
    }

    @Test
    void aKLargerThanTheDictionaryIsNotClamped() throws IOException {
        Path dir = withCfg("bigk", s -> s.replace("\"k\" : 2", "\"k\" : 1000"));
        refusedByExportAndAnalyze(dir, dir.resolve("cfg.json").toString(), "'k' must be an integer in [1, 16], got 1000");
    }

    @Test
    void aMissingKIsNotDefaulted() throws IOException {
        Path dir = withCfg("nok", s -> s.replace("\"k\" : 2,", ""));
        refusedByExportAndAnalyze(dir, dir.resolve("cfg.json").toString(), "'k' is missing");
    }

    @Test
    void aBooleanWrittenAsAStringIsRefused() throws IOException {
        Path dir = withCfg("bool", s -> s.replace("\"apply_b_dec_to_input\" : true", "\"apply_b_dec_to_input\" : \"yes\""));
        refusedByExportAndAnalyze(dir, dir.resolve("cfg.json").toString(), "'apply_b_dec_to_input' must be true or false");
    }

    @Test
    void aKeyGivenTwiceIsRefused() throws IOException {
        Path dir = withCfg("twice", s -> s.replace("\"d_in\" : 8,", "\"d_in\" : 8, \"d_in\" : 9,"));
        refusedByExportAndAnalyze(dir, dir.resolve("cfg.json").toString(), "d_in");
    }

    @Test
    void aTruncatedWeightsFileIsOneLineExit2() throws IOException {
        Path dir = dictionary("truncated");
        Path w = dir.resolve("sae_weights.safetensors");
        try (RandomAccessFile f = new RandomAccessFile(w.toFile(), "rw")) {
            f.setLength(f.length() - 7);
        }
        refusedByExportAndAnalyze(dir, w + ": not a valid .safetensors file");
    }

    @Test
    void aFlippedHeaderByteIsOneLineExit2() throws IOException {
        Path dir = dictionary("header");
        Path w = dir.resolve("sae_weights.safetensors");
        try (RandomAccessFile f = new RandomAccessFile(w.toFile(), "rw")) {
            f.seek(9); // inside the JSON header, right after its opening brace
            f.write(0xff);
        }
        refusedByExportAndAnalyze(dir, w + ": not a valid .safetensors file");
    }

    @Test
    void aNonFiniteWeightIsRefusedNamingTheTensor() throws IOException {
        Path dir = dictionary("nan");
        Path w = dir.resolve("sae_weights.safetensors");
        try (RandomAccessFile f = new RandomAccessFile(w.toFile(), "rw")) {
            byte[] len = new byte[8];
            f.readFully(len);
            long header = ByteBuffer.wrap(len).order(ByteOrder.LITTLE_ENDIAN).getLong();
            f.seek(8 + header + 4); // the second value of the first tensor
            f.write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putFloat(Float.POSITIVE_INFINITY).array());
        }
        refusedByExportAndAnalyze(dir, w.toString(), "[1] = Infinity");
    }
}
