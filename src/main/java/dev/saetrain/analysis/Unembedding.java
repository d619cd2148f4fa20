package dev.saetrain.analysis;

import static dev.saetrain.error.Setting.UNEMBED_KEY;

import dev.saetrain.data.Shard;
import dev.saetrain.error.BadInputException;
import dev.saetrain.error.UsageException;
import dev.saetrain.io.DType;
import dev.saetrain.io.SafetensorsReader;
import dev.saetrain.io.Tensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A model's unembedding W_U, {@code [dIn, vocab]} fp32, row-major, held in a direct buffer (so OpenBLAS reads it in
 * place). Read from a .npy ({@code <f4} / {@code <f2}, 2-D) or a .safetensors file (F32 / F16 / BF16, 2-D; the tensor
 * named by {@code key}, else the only tensor, else {@code W_U}). A matrix stored as {@code [vocab, dIn]} (the layout of
 * Hugging Face's {@code lm_head.weight}) is transposed on load, with a log line saying so.
 *
 * @param dIn   rows, the model width the SAE reads
 * @param vocab columns, one per token
 * @param wU    [dIn, vocab] direct, native order
 * @param file  where it came from
 */
public record Unembedding(int dIn, int vocab, FloatBuffer wU, Path file) {
    private static final Logger LOG = LoggerFactory.getLogger(Unembedding.class);
    /** Largest W_U a direct buffer holds (2 GiB of fp32). */
    static final long MAX_ELEMENTS = (Integer.MAX_VALUE - 8) / 4;

    /** W_U from an array already in memory, [dIn, vocab] row-major (tests). */
    public static Unembedding of(float[] wU, int dIn, int vocab) {
        FloatBuffer b = direct((long) dIn * vocab);
        b.put(0, wU, 0, dIn * vocab);
        return new Unembedding(dIn, vocab, b, Path.of("<memory>"));
    }

    /** Reads W_U for an SAE of width {@code dIn}; {@code key} picks the safetensors tensor (may be null). */
    public static Unembedding load(Path file, int dIn, String key) throws IOException {
        String problem = dev.saetrain.io.InputFiles.problem(file);
        if (problem != null) {
            throw new BadInputException(file, problem + "; give the unembedding W_U as a .npy or .safetensors file");
        }
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        if (name.endsWith(".npy")) {
            return fromNpy(file, dIn);
        }
        if (name.endsWith(".safetensors")) {
            return fromSafetensors(file, dIn, key);
        }
        throw new BadInputException(file, "unknown format: the unembedding must be a .npy or .safetensors file");
    }

    private static Unembedding fromNpy(Path file, int dIn) {
        Shard s = Shard.open(file);
        if (s.layout().shape().length != 2) {
            throw new BadInputException(file, "W_U must be 2-D [d, vocab], got shape "
                    + java.util.Arrays.toString(s.layout().shape()));
        }
        long rows = s.rows();
        int cols = s.dIn();
        boolean transposed = orientation(file, rows, cols, dIn);
        int vocab = (int) (transposed ? rows : cols);
        FloatBuffer out = direct((long) dIn * vocab);
        float[] row = new float[cols];
        for (long r = 0; r < rows; r++) {
            s.readRows(r, 1, 1f, row, 0);
            checkFinite(file, row, r);
            if (transposed) {
                for (int j = 0; j < cols; j++) {
                    out.put((int) (j * (long) vocab + r), row[j]);
                }
            } else {
                out.put((int) (r * cols), row, 0, cols);
            }
        }
        return new Unembedding(dIn, vocab, out, file);
    }

    private static Unembedding fromSafetensors(Path file, int dIn, String key) throws IOException {
        Map<String, Tensor> tensors;
        try {
            tensors = SafetensorsReader.read(file).tensors();
        } catch (IOException e) {
            throw new BadInputException(file, e.getMessage().replace(file + ": ", ""));
        }
        Tensor t;
        if (key != null) {
            t = tensors.get(key);
            if (t == null) {
                throw new BadInputException(file, "no tensor \"" + key + "\" (has " + tensors.keySet() + ")");
            }
        } else if (tensors.size() == 1) {
            t = tensors.values().iterator().next();
        } else if (tensors.containsKey("W_U")) {
            t = tensors.get("W_U");
        } else {
            throw new BadInputException(file, "holds " + tensors.keySet() + "; name the unembedding with ", UNEMBED_KEY);
        }
        if (t.shape().length != 2 || !(t.dtype() == DType.F32 || t.dtype() == DType.F16 || t.dtype() == DType.BF16)) {
            throw new BadInputException(file, "W_U must be a 2-D float tensor, got " + t.dtype() + " "
                    + java.util.Arrays.toString(t.shape()));
        }
        long rows = t.shape()[0];
        long cols = t.shape()[1];
        boolean transposed = orientation(file, rows, cols, dIn);
        int vocab = (int) (transposed ? rows : cols);
        float[] data = (float[]) t.data();
        FloatBuffer out = direct((long) dIn * vocab);
        for (long r = 0; r < rows; r++) {
            for (long c = 0; c < cols; c++) {
                float v = data[(int) (r * cols + c)];
                if (!Float.isFinite(v)) {
                    throw new BadInputException(file, "non-finite value " + v + " at [" + r + ", " + c + "]");
                }
                out.put((int) (transposed ? c * rows + r : r * cols + c), v);
            }
        }
        return new Unembedding(dIn, vocab, out, file);
    }

    /** True when the file holds [vocab, dIn] and must be transposed; refuses shapes that fit neither way. */
    private static boolean orientation(Path file, long rows, long cols, int dIn) {
        if (rows * cols > MAX_ELEMENTS) {
            throw new BadInputException(file, "W_U has " + rows * cols + " elements, more than the " + MAX_ELEMENTS
                    + " this analysis holds in one buffer");
        }
        if (rows == dIn) {
            return false;
        }
        if (cols == dIn) {
            LOG.info("{}: shape [{}, {}] read as [vocab, d] and transposed to W_U [d, vocab]", file, rows, cols);
            return true;
        }
        throw new BadInputException(file, "shape [" + rows + ", " + cols + "] does not match the SAE's d = " + dIn
                + "; W_U must be [d, vocab] (or [vocab, d]) of the model the SAE was trained on");
    }

    private static void checkFinite(Path file, float[] row, long r) {
        int bad = Shard.firstNonFinite(row, 0, row.length);
        if (bad >= 0) {
            throw new BadInputException(file, "non-finite value " + row[bad] + " at [" + r + ", " + bad + "]");
        }
    }

    static FloatBuffer direct(long n) {
        if (n * 4 > Integer.MAX_VALUE) {
            throw new UsageException(n + " floats do not fit one direct buffer");
        }
        return ByteBuffer.allocateDirect((int) (n * 4)).order(ByteOrder.nativeOrder()).asFloatBuffer();
    }
}
