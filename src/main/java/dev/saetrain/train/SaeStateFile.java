package dev.saetrain.train;

import dev.saetrain.error.BadInputException;
import dev.saetrain.error.UsageException;
import dev.saetrain.io.DType;
import dev.saetrain.io.SafetensorsReader;
import dev.saetrain.io.SafetensorsWriter;
import dev.saetrain.io.Tensor;
import dev.saetrain.model.SaeConfig;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;
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
 *   any other tensor of EngineState     F32 / I32               architecture state (log_threshold, resampler, ...)
 *   firing.all, firing.late             I64 [n_latents]         the exported sparsity's counts so far
 * </pre>
 * The engine's step and the relu density live in checkpoint.json. These are training state, not a dictionary:
 * the scale is not folded in; the run's exports are the dictionaries.
 */
final class SaeStateFile {
    private static final String FIRING_ALL = "firing.all";
    private static final String FIRING_LATE = "firing.late";

    private SaeStateFile() {
    }

    /**
     * What the file holds, without the scalars of checkpoint.json: vectors whole, matrices (and their moments) as
     * sources read from the still-open file a chunk at a time; close it once the engine is restored.
     */
    record Loaded(Map<String, float[]> floats, Map<String, EngineState.LazyFloats> matrices, Map<String, int[]> ints,
                  long[] firingAll, long[] firingLate, FileChannel channel) implements java.io.Closeable {
        /** Every fp32 tensor whole, matrices read into arrays (tests and small states; refuses past 2^31 - 9). */
        Map<String, float[]> allFloats() {
            Map<String, float[]> all = new LinkedHashMap<>(floats);
            matrices.forEach((name, lazy) -> {
                if (lazy.length() > dev.saetrain.io.HostMatrix.MAX_ARRAY) {
                    throw new UsageException(name + " has " + lazy.length() + " floats, more than one Java array");
                }
                float[] a = new float[(int) lazy.length()];
                lazy.source().read(0, a, a.length);
                all.put(name, a);
            });
            return all;
        }

        @Override
        public void close() throws IOException {
            channel.close();
        }
    }

    static Path path(Path checkpointDir, String saeName) {
        return checkpointDir.resolve(saeName + ".safetensors");
    }

    /** A state tensor holds a value that is not finite; the file was not written. */
    static final class NonFiniteState extends IOException {
        NonFiniteState(String where) {
            super(where);
        }
    }

    /** Writes a host snapshot (tests and tools; training streams from the engine, see the other write). */
    static void write(Path file, SaeConfig cfg, EngineState state, FiringTracker.Counts firing) throws IOException {
        Map<String, EngineState.LazyFloats> floats = new LinkedHashMap<>();
        state.floats().forEach((name, v) -> floats.put(name, new EngineState.LazyFloats(v.length,
                (off, dst, n) -> System.arraycopy(v, Math.toIntExact(off), dst, 0, n))));
        write(file, cfg, floats, state.ints(), firing);
    }

    /**
     * Writes the engine's state straight from the device, one chunk of one tensor at a time, so a checkpoint
     * needs no host copy of the parameters and moments (the heap stays small however large the family). Throws
     * {@link NonFiniteState} naming the first non-finite value ("W_dec[17] = NaN"); no file is left then.
     */
    static void write(Path file, SaeConfig cfg, Engine engine, FiringTracker.Counts firing) throws IOException {
        write(file, cfg, engine.stateFloats(), engine.stateInts(), firing);
    }

    private static final int CHUNK = 1 << 16;

    private static void write(Path file, SaeConfig cfg, Map<String, EngineState.LazyFloats> floats,
                              Map<String, int[]> ints, FiringTracker.Counts firing) throws IOException {
        long m = cfg.nLatents();
        long d = cfg.dIn();
        Map<String, SafetensorsWriter.Streamed> t = new LinkedHashMap<>();
        // Every tensor of the engine's state, whatever the architecture holds (a tied SAE has no W_enc,
        // jumprelu adds log_threshold, relu-2023 its resampler): matrices as [n_latents, d_in], the rest flat.
        floats.forEach((name, lazy) -> t.put(name, new SafetensorsWriter.Streamed(DType.F32,
                lazy.length() == m * d ? new long[] {m, d} : new long[] {lazy.length()}, out -> {
                    float[] chunk = new float[(int) Math.min(CHUNK, Math.max(1, lazy.length()))];
                    ByteBuffer bytes = ByteBuffer.allocate(chunk.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
                    for (long off = 0; off < lazy.length(); off += chunk.length) {
                        int n = (int) Math.min(chunk.length, lazy.length() - off);
                        lazy.source().read(off, chunk, n);
                        bytes.clear();
                        for (int i = 0; i < n; i++) {
                            if (!Float.isFinite(chunk[i])) {
                                throw new NonFiniteState(name + "[" + (off + i) + "] = " + chunk[i]);
                            }
                            bytes.putFloat(chunk[i]);
                        }
                        out.write(bytes.array(), 0, bytes.position());
                    }
                })));
        ints.forEach((name, v) -> t.put(name,
                SafetensorsWriter.Streamed.of(new Tensor(DType.I32, new long[] {v.length}, v))));
        t.put(FIRING_ALL, SafetensorsWriter.Streamed.of(new Tensor(DType.I64, new long[] {m}, firing.all())));
        t.put(FIRING_LATE, SafetensorsWriter.Streamed.of(new Tensor(DType.I64, new long[] {m}, firing.late())));
        SafetensorsWriter.writeStreamed(file, t, Map.of("sae", cfg.name(), "content", "sae-train checkpoint state; "
                + "W_enc is latent-major [n_latents, d_in] and the input scale is not folded in"));
    }

    /**
     * Reads every tensor back: F32 vectors into the engine state's floats, F32 matrices as sources streamed from the
     * file (a matrix may pass 2^31 - 1 elements, and restoring it needs no host copy), I32 into its ints, and the
     * firing counts. Which names and lengths an engine needs is checked by {@link Engine#restore}, which names what is
     * missing. The result holds the file open: close it.
     */
    static Loaded read(Path file, SaeConfig cfg) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new UsageException(file + " is missing; the checkpoint is incomplete, resume from an older one");
        }
        SafetensorsReader.Header h = SafetensorsReader.header(file);
        FileChannel ch = FileChannel.open(file, StandardOpenOption.READ);
        try {
            int m = cfg.nLatents();
            Map<String, float[]> floats = new LinkedHashMap<>();
            Map<String, EngineState.LazyFloats> matrices = new LinkedHashMap<>();
            Map<String, int[]> ints = new LinkedHashMap<>();
            Map<String, Tensor> firing = new LinkedHashMap<>();
            for (SafetensorsReader.Entry e : h.tensors()) {
                switch (e.dtype()) {
                    case F32 -> {
                        if (e.shape().length >= 2) {
                            matrices.put(e.name(), new EngineState.LazyFloats(e.numel(), source(file, ch, e)));
                        } else {
                            floats.put(e.name(), (float[]) SafetensorsReader.tensor(file, ch, e).data());
                        }
                    }
                    case I32 -> ints.put(e.name(), (int[]) SafetensorsReader.tensor(file, ch, e).data());
                    case I64 -> firing.put(e.name(), SafetensorsReader.tensor(file, ch, e));
                    default -> {
                        // not written by this trainer; Engine#restore names what it misses
                    }
                }
            }
            return new Loaded(floats, matrices, ints, (long[]) get(file, firing, FIRING_ALL, DType.I64, m).data(),
                    (long[]) get(file, firing, FIRING_LATE, DType.I64, m).data(), ch);
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    /** Elements of the F32 tensor {@code e}, read from {@code ch} at 64-bit offsets. */
    private static EngineState.FloatSource source(Path file, FileChannel ch, SafetensorsReader.Entry e) {
        return (off, dst, n) -> {
            ByteBuffer b = ByteBuffer.allocate(n * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
            long at = e.begin() + off * Float.BYTES;
            try {
                while (b.hasRemaining()) {
                    if (ch.read(b, at + b.position()) < 0) {
                        throw new BadInputException(file, "ends inside tensor '" + e.name() + "' (truncated)");
                    }
                }
            } catch (IOException io) {
                throw new java.io.UncheckedIOException(file + ": reading " + e.name(), io);
            }
            b.flip().asFloatBuffer().get(dst, 0, n);
        };
    }

    /**
     * Checks a state file without loading it whole (a family's state can be far larger than the heap): the header must
     * be valid, every F32 value finite (the writer refuses non-finite ones, so one here is damage, and resuming from it
     * would mark the SAE diverged for good), and the firing counts present as I64 of one length.
     *
     * @throws BadInputException naming the file and the first bad value, e.g. "W_dec[17] = NaN"
     */
    static void scan(Path file) throws IOException {
        SafetensorsReader.Header h = SafetensorsReader.header(file);
        long firing = -1;
        for (String name : new String[] {FIRING_ALL, FIRING_LATE}) {
            SafetensorsReader.Entry e = h.tensors().stream().filter(t -> t.name().equals(name)).findFirst().orElse(null);
            if (e == null || e.dtype() != DType.I64 || (firing >= 0 && e.numel() != firing)) {
                throw new BadInputException(file, "tensor '" + name + "' is missing or not I64 of one length with the "
                        + "other firing counts; the checkpoint is damaged");
            }
            firing = e.numel();
        }
        ByteBuffer chunk = ByteBuffer.allocate(CHUNK * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            for (SafetensorsReader.Entry e : h.tensors()) {
                if (e.dtype() != DType.F32) {
                    continue;
                }
                for (long off = e.begin(); off < e.end(); off += chunk.capacity()) {
                    chunk.clear().limit((int) Math.min(chunk.capacity(), e.end() - off));
                    while (chunk.hasRemaining()) {
                        if (ch.read(chunk, off + chunk.position()) < 0) {
                            throw new BadInputException(file, "ends inside tensor '" + e.name() + "' (truncated)");
                        }
                    }
                    chunk.flip();
                    for (int i = 0; chunk.remaining() >= Float.BYTES; i++) {
                        float v = chunk.getFloat();
                        if (!Float.isFinite(v)) {
                            throw new BadInputException(file, e.name() + "[" + ((off - e.begin()) / Float.BYTES + i)
                                    + "] = " + v + ": a checkpoint never holds a non-finite value, the file is damaged");
                        }
                    }
                }
            }
        }
    }

    private static Tensor get(Path file, Map<String, Tensor> t, String name, DType dtype, long n) {
        Tensor x = t.get(name);
        if (x == null || x.dtype() != dtype || x.numel() != n) {
            throw new UsageException(file + ": tensor '" + name + "' is "
                    + (x == null ? "missing" : x.dtype().safetensorsName() + " with " + x.numel() + " values")
                    + ", expected " + dtype.safetensorsName() + " with " + n + "; the checkpoint belongs to another "
                    + "configuration or is damaged");
        }
        return x;
    }
}
