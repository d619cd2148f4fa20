package dev.saetrain.train;

import dev.saetrain.io.DType;
import dev.saetrain.io.SafetensorsReader;
import dev.saetrain.io.SafetensorsWriter;
import dev.saetrain.io.Tensor;
import dev.saetrain.model.SaeConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One SAE's tensors in a checkpoint, {@code <sae-name>.safetensors}:
 * <pre>
 *   W_enc, W_dec (+ .adam_m, .adam_v)   F32 [n_latents, d_in]   latent-major, as on the device (W_enc is the
 *                                                               transpose of SAELens's), inputs scaled
 *   b_enc (+ moments)                   F32 [n_latents]
 *   b_dec (+ moments)                   F32 [d_in]
 *   last_fired, fire_counts             I32 [n_latents]         engine firing bookkeeping
 *   firing.all, firing.late             I64 [n_latents]         the exported sparsity's counts so far
 * </pre>
 * The engine's step and the relu density live in checkpoint.json. These are training state, not a dictionary:
 * the scale is not folded in; the run's exports are the dictionaries.
 */
final class SaeStateFile {
    private static final String[] PARAMS = {"W_enc", "b_enc", "W_dec", "b_dec"};
    private static final String[] SUFFIXES = {"", ".adam_m", ".adam_v"};

    private SaeStateFile() {
    }

    /** What the file holds, without the scalars of checkpoint.json. */
    record Loaded(Map<String, float[]> floats, Map<String, int[]> ints, long[] firingAll, long[] firingLate) {
    }

    static Path path(Path checkpointDir, String saeName) {
        return checkpointDir.resolve(saeName + ".safetensors");
    }

    static void write(Path file, SaeConfig cfg, Engine.State state, FiringTracker.Counts firing) throws IOException {
        long m = cfg.nLatents();
        long d = cfg.dIn();
        Map<String, Tensor> t = new LinkedHashMap<>();
        for (String p : PARAMS) {
            long[] shape = switch (p) {
                case "W_enc", "W_dec" -> new long[] {m, d};
                case "b_enc" -> new long[] {m};
                default -> new long[] {d};
            };
            for (String s : SUFFIXES) {
                float[] v = state.floats().get(p + s);
                if (v == null) {
                    throw new IllegalStateException("engine snapshot of " + cfg.name() + " lacks " + p + s);
                }
                t.put(p + s, Tensor.f32(v, shape));
            }
        }
        for (String k : new String[] {"last_fired", "fire_counts"}) {
            t.put(k, new Tensor(DType.I32, new long[] {m}, state.ints().get(k)));
        }
        t.put("firing.all", new Tensor(DType.I64, new long[] {m}, firing.all()));
        t.put("firing.late", new Tensor(DType.I64, new long[] {m}, firing.late()));
        SafetensorsWriter.write(file, t, Map.of("sae", cfg.name(), "content", "sae-train checkpoint state; W_enc is "
                + "latent-major [n_latents, d_in] and the input scale is not folded in"));
    }

    /** Reads and checks every tensor's dtype and length against {@code cfg}. */
    static Loaded read(Path file, SaeConfig cfg) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException(file + " is missing; the checkpoint is incomplete, resume from an older one");
        }
        Map<String, Tensor> t = SafetensorsReader.read(file).tensors();
        int m = cfg.nLatents();
        int d = cfg.dIn();
        Map<String, float[]> floats = new LinkedHashMap<>();
        for (String p : PARAMS) {
            long n = switch (p) {
                case "W_enc", "W_dec" -> (long) m * d;
                case "b_enc" -> m;
                default -> d;
            };
            for (String s : SUFFIXES) {
                floats.put(p + s, (float[]) get(file, t, p + s, DType.F32, n).data());
            }
        }
        Map<String, int[]> ints = new LinkedHashMap<>();
        for (String k : new String[] {"last_fired", "fire_counts"}) {
            ints.put(k, (int[]) get(file, t, k, DType.I32, m).data());
        }
        return new Loaded(floats, ints, (long[]) get(file, t, "firing.all", DType.I64, m).data(),
                (long[]) get(file, t, "firing.late", DType.I64, m).data());
    }

    private static Tensor get(Path file, Map<String, Tensor> t, String name, DType dtype, long n) {
        Tensor x = t.get(name);
        if (x == null || x.dtype() != dtype || x.numel() != n) {
            throw new IllegalArgumentException(file + ": tensor '" + name + "' is "
                    + (x == null ? "missing" : x.dtype().safetensorsName() + " with " + x.numel() + " values")
                    + ", expected " + dtype.safetensorsName() + " with " + n + "; the checkpoint belongs to another "
                    + "configuration or is damaged");
        }
        return x;
    }

    /** The first non-finite parameter of a snapshot as "W_dec[17] = NaN", or null when all are finite. */
    static String firstNonFinite(Engine.State state) {
        for (Map.Entry<String, float[]> e : state.floats().entrySet()) {
            float[] v = e.getValue();
            for (int i = 0; i < v.length; i++) {
                if (!Float.isFinite(v[i])) {
                    return e.getKey() + "[" + i + "] = " + v[i];
                }
            }
        }
        return null;
    }
}
