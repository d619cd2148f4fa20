package dev.saetrain.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.saetrain.device.Device;
import dev.saetrain.device.FloatBuf;
import dev.saetrain.device.cpu.CpuDevice;
import dev.saetrain.io.HostMatrix;
import dev.saetrain.model.Philox;
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
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * scripts/quality/Lockstep.java (sae-train's side of scripts/quality/lockstep.py) compiles against the current classes,
 * reads the state the Python side writes (W_enc latent-major, Adam moments, step) and takes the engine's steps: its
 * parameters after the first and the second step are the ones an engine given the same state directly reaches, bit
 * for bit.
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
        Map<String, float[]> state = new LinkedHashMap<>(); // latent-major, as the script reads it
        int[] sizes = {M * D, M, M * D, D};
        String[] names = {"W_enc", "b_enc", "W_dec", "b_dec"};
        long stream = 0;
        for (int p = 0; p < names.length; p++) {
            state.put(names[p], gaussian(stream++, sizes[p], 0.3f));
            state.put(names[p] + ".adam_m", gaussian(stream++, sizes[p], 0.01f));
            float[] v = gaussian(stream++, sizes[p], 0.01f);
            for (int i = 0; i < v.length; i++) {
                v[i] = v[i] * v[i] + 1e-6f;
            }
            state.put(names[p] + ".adam_v", v);
        }
        float[] batches = gaussian(stream, STEPS * BATCH * D, 1f);
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
        int[] lastFired = new int[M];
        java.util.Arrays.fill(lastFired, 5);
        try (Device dev = new CpuDevice(Runtime.getRuntime().availableProcessors());
             Engine engine = new Engine(dev, new SaeWeights(cfg, HostMatrix.wrap(state.get("W_enc"), M, D).transpose(),
                     state.get("b_enc"), HostMatrix.wrap(state.get("W_dec"), M, D), state.get("b_dec")), BATCH,
                     Long.MAX_VALUE / 2);
             FloatBuf x = dev.allocFloat((long) BATCH * D)) {
            engine.restore(new EngineState(state, Map.of("last_fired", lastFired, "fire_counts", new int[M]), 5, 1.0));
            double[] lr = {1e-3, 2e-3};
            Path[] written = {dir.resolve("java").resolve("step-1"), dir.resolve("java")};
            for (int t = 0; t < STEPS; t++) {
                dev.upload(batches, t * BATCH * D, x, 0, BATCH * D);
                engine.step(x, lr[t], 0.5);
                EngineState after = engine.snapshot();
                for (String name : names) {
                    float[] got = read(written[t].resolve(name + ".f32"));
                    assertArrayEquals(after.floats().get(name), got, name + " after step " + (t + 1));
                    assertTrue(!java.util.Arrays.equals(state.get(name), got), name + " moved");
                }
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

    /** n standard normals of Philox stream {@code stream} (seed 11), times {@code sd}. */
    private static float[] gaussian(long stream, int n, float sd) {
        float[] a = new float[n];
        Philox.fillNormal(11, stream, a);
        for (int i = 0; i < n; i++) {
            a[i] *= sd;
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
