package dev.saetrain.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.saetrain.device.Device;
import dev.saetrain.device.FloatBuf;
import dev.saetrain.device.cpu.CpuDevice;
import dev.saetrain.model.SaeConfig;
import dev.saetrain.model.SaeWeights;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * scripts/quality/Lockstep.java (sae-train's side of scripts/quality/lockstep.py) compiles against the current classes,
 * reads the state the Python side writes (W_enc latent-major, Adam moments, step) and takes the engine's steps: its
 * parameters after two steps are the ones an engine given the same state directly reaches, bit for bit.
 */
class LockstepScriptTest {
    private static final int D = 8;
    private static final int M = 16;
    private static final int BATCH = 6;
    private static final int STEPS = 2;

    @TempDir
    Path tmp;

    @Test
    void theScriptTakesTheEnginesStepsFromTheStateItIsGiven() throws Exception {
        SplittableRandom rng = new SplittableRandom(11);
        Map<String, float[]> state = new LinkedHashMap<>(); // latent-major, as the script reads it
        int[] sizes = {M * D, M, M * D, D};
        String[] names = {"W_enc", "b_enc", "W_dec", "b_dec"};
        for (int p = 0; p < names.length; p++) {
            state.put(names[p], gaussian(rng, sizes[p], 0.3));
            state.put(names[p] + ".adam_m", gaussian(rng, sizes[p], 0.01));
            float[] v = gaussian(rng, sizes[p], 0.01);
            for (int i = 0; i < v.length; i++) {
                v[i] = v[i] * v[i] + 1e-6f;
            }
            state.put(names[p] + ".adam_v", v);
        }
        float[] batches = gaussian(rng, STEPS * BATCH * D, 1.0);
        Path dir = Files.createDirectories(tmp.resolve("x"));
        Files.createDirectories(dir.resolve("in"));
        for (var e : state.entrySet()) {
            write(dir.resolve("in").resolve(e.getKey() + ".f32"), e.getValue());
        }
        write(dir.resolve("batches.f32"), batches);
        Files.writeString(dir.resolve("lockstep.json"), "{\"arch\": \"relu\", \"d\": " + D + ", \"m\": " + M
                + ", \"k\": 0, \"batch\": " + BATCH + ", \"steps\": " + STEPS + ", \"step\": 5, \"lr\": [1e-3, 2e-3], "
                + "\"l1\": [0.5, 0.5], \"path\": \"dense\", \"density\": 0.5}");

        String printed = runScript(dir);
        List<String> lines = printed.lines().filter(l -> l.startsWith("{")).toList();
        assertEquals(STEPS, lines.size(), printed);
        assertTrue(lines.get(0).contains("\"step\": 1") && lines.get(0).contains("\"path\": \"dense\""), lines.get(0));

        // The same steps from the same state, given to an engine here.
        SaeConfig cfg = SaeConfig.relu(D, M / D, 0.5);
        float[] wEnc = new float[D * M];
        for (int i = 0; i < M; i++) {
            for (int c = 0; c < D; c++) {
                wEnc[c * M + i] = state.get("W_enc")[i * D + c];
            }
        }
        int[] lastFired = new int[M];
        java.util.Arrays.fill(lastFired, 5);
        try (Device dev = new CpuDevice(Runtime.getRuntime().availableProcessors());
             Engine engine = new Engine(dev, SaeWeights.of(cfg, wEnc, state.get("b_enc"), state.get("W_dec"),
                     state.get("b_dec")), BATCH, Long.MAX_VALUE / 2);
             FloatBuf x = dev.allocFloat((long) BATCH * D)) {
            engine.restore(new EngineState(state, Map.of("last_fired", lastFired, "fire_counts", new int[M]), 5, 1.0));
            double[] lr = {1e-3, 2e-3};
            for (int t = 0; t < STEPS; t++) {
                dev.upload(batches, t * BATCH * D, x, 0, BATCH * D);
                engine.step(x, lr[t], 0.5);
            }
            EngineState after = engine.snapshot();
            for (String name : names) {
                float[] got = read(dir.resolve("java").resolve(name + ".f32"));
                assertArrayEquals(after.floats().get(name), got, name);
                assertTrue(!java.util.Arrays.equals(state.get(name), got), name + " moved");
            }
        }
    }

    /** Compiles the script against the test's class path and runs its main on {@code dir}; returns what it printed. */
    private String runScript(Path dir) throws Exception {
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        assertNotNull(javac, "the tests run on a JDK");
        Path classes = Files.createDirectories(tmp.resolve("classes"));
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int rc = javac.run(null, null, err, "-d", classes.toString(), "-cp", System.getProperty("java.class.path"),
                Path.of("scripts", "quality", "Lockstep.java").toString());
        assertEquals(0, rc, err.toString(StandardCharsets.UTF_8));
        PrintStream old = System.out;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (URLClassLoader loader = new URLClassLoader(new URL[] {classes.toUri().toURL()},
                getClass().getClassLoader())) {
            Method main = loader.loadClass("Lockstep").getMethod("main", String[].class);
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            main.invoke(null, (Object) new String[] {dir.toString()});
        } finally {
            System.setOut(old);
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    private static float[] gaussian(SplittableRandom rng, int n, double sd) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            double u = Math.max(1e-12, rng.nextDouble());
            a[i] = (float) (sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.nextDouble()));
        }
        return a;
    }

    private static void write(Path f, float[] a) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(4 * a.length).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(a);
        Files.write(f, b.array());
    }

    private static float[] read(Path f) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(f)).order(ByteOrder.LITTLE_ENDIAN);
        float[] a = new float[b.remaining() / 4];
        b.asFloatBuffer().get(a);
        return a;
    }
}
