import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.saetrain.device.Device;
import dev.saetrain.device.FloatBuf;
import dev.saetrain.device.cpu.CpuDevice;
import dev.saetrain.io.HostMatrix;
import dev.saetrain.model.Architecture;
import dev.saetrain.model.SaeConfig;
import dev.saetrain.model.SaeWeights;
import dev.saetrain.train.Engine;
import dev.saetrain.train.EngineState;
import dev.saetrain.train.StepStats;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * sae-train's side of scripts/quality/lockstep.py: loads an SAE's parameters and Adam moments from DIR, takes the
 * steps DIR describes on the batches it holds with sae-train's engine (CPU), and writes the parameters after them.
 *
 * <pre>
 *   java -cp sae-train.jar scripts/quality/Lockstep.java DIR
 * </pre>
 * DIR/lockstep.json: arch (relu or topk), d, m, k, batch, steps, step (Adam steps taken so far), lr and l1 (lists,
 * one per step), path ("dense", "sparse" or "auto": the density the first step's dense/sparse switch sees).
 * DIR/in/NAME.f32: the state as raw little-endian fp32 (W_enc and W_dec latent-major [m, d], b_enc [m], b_dec [d],
 * each with NAME.adam_m and NAME.adam_v); DIR/batches.f32: [steps * batch, d], already scaled. Writes the parameters
 * after the first step to DIR/java/step-1/NAME.f32 and after the last to DIR/java/NAME.f32, and prints one JSON line a
 * step (loss parts, gradient norm, path).
 */
public final class Lockstep {
    private static final String[] PARAMS = {"W_enc", "b_enc", "W_dec", "b_dec"};

    public static void main(String[] args) throws IOException {
        if (args.length != 1) {
            System.err.println("usage: java -cp sae-train.jar scripts/quality/Lockstep.java DIR");
            System.exit(2);
        }
        Path dir = Path.of(args[0]);
        JsonNode j = new ObjectMapper().readTree(dir.resolve("lockstep.json").toFile());
        Architecture arch = Architecture.parse(j.get("arch").asText());
        int d = j.get("d").asInt();
        int m = j.get("m").asInt();
        int batch = j.get("batch").asInt();
        int steps = j.get("steps").asInt();
        SaeConfig cfg = new SaeConfig(arch, d, m, arch.usesK() ? j.get("k").asInt() : 0,
                arch.usesK() ? 0 : j.get("l1").get(0).asDouble(), true);
        Map<String, float[]> floats = new LinkedHashMap<>();
        for (String p : PARAMS) {
            for (String suffix : new String[] {"", ".adam_m", ".adam_v"}) {
                floats.put(p + suffix, read(dir.resolve("in").resolve(p + suffix + ".f32")));
            }
        }
        int step = j.get("step").asInt();
        int[] lastFired = new int[m];
        java.util.Arrays.fill(lastFired, step); // every latent fired just now: none is dead, no AuxK on either side
        double density = switch (j.get("path").asText()) {
            case "dense" -> 1.0;
            case "sparse" -> 0.0;
            default -> j.get("density").asDouble();
        };
        EngineState state = new EngineState(floats, Map.of("last_fired", lastFired, "fire_counts", new int[m]),
                step, density);
        // The constructor takes SAELens orientation (W_enc [d, m]); restore then sets every parameter and moment.
        SaeWeights init = new SaeWeights(cfg, HostMatrix.wrap(floats.get("W_enc"), m, d).transpose(),
                floats.get("b_enc"), HostMatrix.wrap(floats.get("W_dec"), m, d), floats.get("b_dec"));
        float[] rows = read(dir.resolve("batches.f32"));
        if (rows.length != (long) steps * batch * d) {
            throw new IllegalArgumentException("batches.f32 holds " + rows.length + " floats, not steps * batch * d");
        }
        PrintStream out = System.out;
        try (Device dev = new CpuDevice(Runtime.getRuntime().availableProcessors());
             Engine engine = new Engine(dev, init, batch, Long.MAX_VALUE / 2);
             FloatBuf x = dev.allocFloat((long) batch * d)) {
            engine.restore(state);
            for (int t = 0; t < steps; t++) {
                dev.upload(rows, t * batch * d, x, 0, batch * d);
                StepStats st = engine.step(x, j.get("lr").get(t).asDouble(), j.get("l1").get(t).asDouble());
                out.printf("{\"step\": %d, \"mse\": %.9g, \"sparsity\": %.9g, \"grad_norm\": %.9g, \"l0\": %.6g, "
                                + "\"path\": \"%s\"}%n", t + 1, st.mse(), st.sparsityLoss(), st.gradNorm(),
                        (double) st.activeSum() / batch, st.dense() ? "dense" : "sparse");
                if (t == 0) {
                    writeParams(engine, dir.resolve("java").resolve("step-1"));
                }
            }
            writeParams(engine, dir.resolve("java"));
        }
    }

    /** The engine's parameters now, as DIR/NAME.f32. */
    private static void writeParams(Engine engine, Path dir) throws IOException {
        EngineState now = engine.snapshot();
        Files.createDirectories(dir);
        for (String p : PARAMS) {
            write(dir.resolve(p + ".f32"), now.floats().get(p));
        }
    }

    private static float[] read(Path f) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(f)).order(ByteOrder.LITTLE_ENDIAN);
        float[] a = new float[b.remaining() / 4];
        b.asFloatBuffer().get(a);
        return a;
    }

    private static void write(Path f, float[] a) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(4 * a.length).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(a);
        Files.write(f, b.array());
    }
}
