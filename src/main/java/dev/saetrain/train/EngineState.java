package dev.saetrain.train;

import dev.saetrain.device.FloatBuf;
import dev.saetrain.error.UsageException;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Everything an engine's future depends on, on the host: parameters with their Adam moments (latent-major W_enc,
 * as on the device), the step counter, the dense/sparse switch's last density, the firing bookkeeping, and the
 * architecture's own state ({@link ArchitectureStep#parameters()} as parameters, {@link
 * ArchitectureStep#addStateFloats} as it is). Gradients and per-batch buffers are not state: each step recomputes them.
 * Restoring a snapshot into an engine of the same config and batch makes its next steps bit-identical to the
 * original's.
 *
 * @param floats named fp32 tensors: {@code <param>} , {@code <param>.adam_m}, {@code <param>.adam_v} for
 *               W_enc, b_enc, W_dec, b_dec (tied: no W_enc; W_dec is the shared matrix; jumprelu adds
 *               log_threshold; gated names b_enc b_gate and adds b_mag, r_mag); {@code batchtopk_threshold}
 *               [1] for batchtopk and matryoshka (whose groups are config, not state)
 * @param ints   {@code last_fired} and {@code fire_counts} [nLatents]; relu-2023 with resampling also
 *               {@code resampler} [3] (resamplings done, seed low and high 32 bits: its Philox state)
 * @param sources fp32 tensors of the state read on demand, chunk by chunk, beside {@code floats} (a checkpoint's
 *               matrices and their moments, streamed from its file to the device: they may pass a Java array's
 *               2^31 - 1 elements, and the heap never holds them whole)
 */
public record EngineState(Map<String, float[]> floats, Map<String, int[]> ints, int step, double lastDensity,
                          Map<String, LazyFloats> sources) {
    private static final String[] MOMENT_SUFFIXES = {"", ".adam_m", ".adam_v"};
    /** Floats streamed to the device at a time. */
    private static final int CHUNK = 1 << 16;

    public EngineState {
        sources = sources == null ? Map.of() : sources;
    }

    /** A state held whole on the host. */
    public EngineState(Map<String, float[]> floats, Map<String, int[]> ints, int step, double lastDensity) {
        this(floats, ints, step, lastDensity, Map.of());
    }

    /** Reads {@code n} values of one state tensor, from element {@code offset}, into {@code dst[0..n)}. */
    @FunctionalInterface
    public interface FloatSource {
        void read(long offset, float[] dst, int n);
    }

    /** One fp32 tensor of the state, read from the device on demand (a checkpoint streams it in chunks). */
    public record LazyFloats(long length, FloatSource source) {
    }

    /** Every parameter by its state name: the shared four (gated: b_gate for b_enc), then the architecture's. */
    static Map<String, AdamState> parameters(SharedParts s, ArchitectureStep arch) {
        Map<String, AdamState> p = new LinkedHashMap<>();
        if (!s.cfg.tied()) {
            p.put("W_enc", s.wEnc);
        }
        p.put(s.cfg.arch().encoderBiasName(), s.bEnc);
        p.put("W_dec", s.wDec);
        p.put("b_dec", s.bDec);
        p.putAll(arch.parameters());
        return p;
    }

    /** The fp32 tensors of the state, in its order and with its names, not yet copied to the host. */
    static Map<String, LazyFloats> floats(SharedParts s, ArchitectureStep arch) {
        Map<String, LazyFloats> f = new LinkedHashMap<>();
        parameters(s, arch).forEach((name, a) -> {
            for (String suffix : MOMENT_SUFFIXES) {
                FloatBuf b = moment(a, suffix);
                f.put(name + suffix, new LazyFloats(b.size(), (off, dst, n) -> s.dev.download(b, off, dst, 0, n)));
            }
        });
        arch.addStateFloats(f);
        return f;
    }

    /** The int32 tensors of the state (small: [nLatents] or less), copied to the host. */
    static Map<String, int[]> ints(SharedParts s, ArchitectureStep arch) {
        Map<String, int[]> i = new LinkedHashMap<>();
        int[] last = new int[s.m];
        s.dev.downloadInt(s.lastFired, 0, last, 0, s.m);
        i.put("last_fired", last);
        int[] counts = new int[s.m];
        s.dev.downloadInt(s.fireCounts, 0, counts, 0, s.m);
        i.put("fire_counts", counts);
        arch.addStateInts(i);
        return i;
    }

    /** A host copy of the state of {@code s} and {@code arch}. */
    static EngineState of(SharedParts s, ArchitectureStep arch) {
        Map<String, float[]> f = new LinkedHashMap<>();
        floats(s, arch).forEach((name, lazy) -> {
            if (lazy.length() > dev.saetrain.io.HostMatrix.MAX_ARRAY) {
                throw new UsageException("a host snapshot of " + s.cfg.name() + " needs " + name + " ("
                        + lazy.length() + " floats) in one Java array; checkpoints stream such state instead");
            }
            float[] h = new float[(int) lazy.length()];
            lazy.source().read(0, h, h.length);
            f.put(name, h);
        });
        return new EngineState(f, ints(s, arch), s.step, s.lastDensity);
    }

    /** Loads this state into an engine of the same config; throws naming what does not match. */
    void restoreInto(SharedParts s, ArchitectureStep arch) {
        parameters(s, arch).forEach((name, a) -> {
            for (String suffix : MOMENT_SUFFIXES) {
                upload(name + suffix, moment(a, suffix), s);
            }
        });
        s.dev.uploadInt(requireInts("last_fired", s.m, s), 0, s.lastFired, 0, s.m);
        s.dev.uploadInt(requireInts("fire_counts", s.m, s), 0, s.fireCounts, 0, s.m);
        arch.restoreState(this);
        s.step = step;
        s.lastDensity = lastDensity;
    }

    /**
     * Uploads the fp32 tensor {@code key} into {@code dst}, whole from {@link #floats} or a chunk at a time from
     * {@link #sources} (64-bit offsets); throws naming it when it is missing or of another length.
     */
    private void upload(String key, FloatBuf dst, SharedParts s) {
        long n = dst.size();
        float[] h = floats.get(key);
        if (h != null) {
            if (h.length != n) {
                throw mismatch(key, h.length, n, s);
            }
            s.dev.upload(h, 0, dst, 0, h.length);
            return;
        }
        LazyFloats src = sources.get(key);
        if (src == null || src.length() != n) {
            throw mismatch(key, src == null ? -1 : src.length(), n, s);
        }
        float[] chunk = new float[(int) Math.min(CHUNK, Math.max(1, n))];
        for (long off = 0; off < n; off += chunk.length) {
            int len = (int) Math.min(chunk.length, n - off);
            src.source().read(off, chunk, len);
            s.dev.upload(chunk, 0, dst, off, len);
        }
    }

    /**
     * The fp32 tensor {@code key} of {@code n} values (a small one: an architecture's state), from {@link #floats} or
     * read whole from {@link #sources}; throws naming it when it is missing or of another length.
     */
    float[] requireFloats(String key, int n, SharedParts s) {
        float[] h = floats.get(key);
        if (h == null && sources.containsKey(key) && sources.get(key).length() == n) {
            h = new float[n];
            sources.get(key).source().read(0, h, n);
        }
        if (h == null || h.length != n) {
            throw mismatch(key, h == null ? (sources.containsKey(key) ? sources.get(key).length() : -1) : h.length,
                    n, s);
        }
        return h;
    }

    /** The int32 tensor {@code key} of {@code n} values; throws naming it when it is missing or of another length. */
    int[] requireInts(String key, int n, SharedParts s) {
        int[] h = ints.get(key);
        if (h == null || h.length != n) {
            throw mismatch(key, h == null ? -1 : h.length, n, s);
        }
        return h;
    }

    private static UsageException mismatch(String key, long length, long n, SharedParts s) {
        return new UsageException("checkpoint state " + key + " of " + s.cfg.name()
                + (length < 0 ? " is missing" : " has " + length + " values, expected " + n));
    }

    private static FloatBuf moment(AdamState a, String suffix) {
        return suffix.isEmpty() ? a.param : suffix.equals(".adam_m") ? a.m : a.v;
    }
}
