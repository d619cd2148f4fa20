package dev.saetrain.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.saetrain.export.ExportInfo;
import dev.saetrain.export.SaeLensWriter;
import dev.saetrain.io.NpyWriter;
import dev.saetrain.io.Tensor;
import dev.saetrain.model.Architecture;
import dev.saetrain.model.SaeConfig;
import dev.saetrain.model.SaeWeights;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/** What the fault-injection suites share: running the CLI, the one-line failure contract, and small inputs. */
final class FaultFixture {
    private FaultFixture() {
    }

    /** A finished command: its exit code, stdout and stderr. */
    record Outcome(int code, String out, String err) {
    }

    static Outcome run(String... args) {
        CliRunner cli = new CliRunner();
        int code = cli.run(args);
        return new Outcome(code, cli.out(), cli.err());
    }

    /** The failure contract: {@code code}, exactly one line on stderr holding every {@code expected}, no trace. */
    static void assertFailure(Outcome o, int code, String... expected) {
        String why = "exit " + o.code() + ", stderr: " + o.err();
        assertEquals(code, o.code(), why);
        assertEquals(1, o.err().strip().lines().count(), "one line on stderr: " + why);
        assertTrue(o.err().startsWith("error: "), why);
        assertFalse(o.err().contains("\tat "), "no stack trace: " + why);
        for (String s : expected) {
            assertTrue(o.err().contains(s), "'" + s + "' in: " + o.err());
        }
    }

    /** A shard of {@code rows} seeded rows of width {@code d}, as .npy. */
    static Path shard(Path file, int rows, int d, long seed) throws IOException {
        SplittableRandom rng = new SplittableRandom(seed);
        float[] x = new float[rows * d];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rng.nextGaussian();
        }
        Files.createDirectories(file.getParent());
        NpyWriter.write(file, Tensor.f32(x, rows, d));
        return file;
    }

    /** A .npy file with the header dict {@code dict} and {@code payload} (npy 1.0, header padded to 64 bytes). */
    static Path npy(Path file, String dict, byte[] payload) throws IOException {
        StringBuilder h = new StringBuilder(dict);
        while ((10 + h.length() + 1) % 64 != 0) {
            h.append(' ');
        }
        h.append('\n');
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.write(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0});
        b.write(h.length() & 0xff);
        b.write(h.length() >> 8);
        b.write(h.toString().getBytes(StandardCharsets.US_ASCII));
        b.write(payload);
        Files.createDirectories(file.getParent());
        Files.write(file, b.toByteArray());
        return file;
    }

    /** A .safetensors file with the JSON header {@code header} verbatim and {@code payload} after it. */
    static Path safetensors(Path file, String header, byte[] payload) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + payload.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h).put(payload);
        Files.createDirectories(file.getParent());
        Files.write(file, b.array());
        return file;
    }

    /** A TopK dictionary folder {@code dir} (d = {@code d}, {@code m} latents, k = 4) with seeded weights. */
    static Path dictionary(Path dir, int d, int m, long seed) throws IOException {
        SplittableRandom rng = new SplittableRandom(seed);
        SaeConfig cfg = new SaeConfig(Architecture.TOPK, d, m, 4, 0, true);
        SaeWeights w = SaeWeights.of(cfg, gauss(rng, d * m), gauss(rng, m), gauss(rng, m * d), gauss(rng, d));
        SaeLensWriter.write(dir, w, new double[m], ExportInfo.minimal("r", "dev", 0, 1));
        return dir;
    }

    private static float[] gauss(SplittableRandom rng, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (rng.nextGaussian() * 0.1);
        }
        return a;
    }

    /** Runs a command of the machine (mkfifo, ln, mount); its exit code, or -1 when it cannot be started. */
    static int sh(String... cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return -1;
            }
            return p.exitValue();
        } catch (IOException e) {
            return -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }

    /** Standard output of a command of the machine. */
    static String shOut(Path cwd, String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).directory(cwd.toFile()).redirectErrorStream(true).start();
        String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "command finished: " + String.join(" ", cmd));
        return text;
    }
}
