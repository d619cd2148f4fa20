package dev.saetrain.analysis;

import static dev.saetrain.error.Setting.UNEMBED_KEY;

import dev.saetrain.data.Shard;
import dev.saetrain.error.BadInputException;
import dev.saetrain.error.UsageException;
import dev.saetrain.io.DType;
import dev.saetrain.io.HostMatrix;
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
 * A model's unembedding W_U, {@code [dIn, vocab]} fp32, held in column blocks of direct buffers (so OpenBLAS reads
 * each in place): block b holds columns [b * blockCols, min(vocab, (b + 1) * blockCols)) as its own row-major
 * [dIn, width] matrix. A direct buffer holds at most 2 GiB, so one block holds at most {@link #MAX_BLOCK_FLOATS}
 * floats, and W_U itself has no size limit (Llama-3's [4096, 128256] is 2.1 GB: two blocks). Read from a .npy
 * ({@code <f4} / {@code <f2}, 2-D) or a .safetensors file (F32 / F16 / BF16, 2-D; the tensor named by {@code key},
 * else the only tensor, else {@code W_U}). A matrix stored as {@code [vocab, dIn]} (the layout of Hugging Face's
 * {@code lm_head.weight}) is transposed on load, with a log line saying so.
 *
 * @param dIn       rows, the model width the SAE reads
 * @param vocab     columns, one per token
 * @param blockCols columns per block (the last block may hold fewer)
 * @param blocks    the blocks, each [dIn, width] row-major, direct, native order
 * @param file      where it came from
 */
public record Unembedding(int dIn, int vocab, int blockCols, FloatBuffer[] blocks, Path file) {
    private static final Logger LOG = LoggerFactory.getLogger(Unembedding.class);
    /** Most floats one block holds: a direct buffer's 2 GiB of fp32. */
    static final long MAX_BLOCK_FLOATS = (Integer.MAX_VALUE - 8) / 4;

    /** W_U from an array already in memory, [dIn, vocab] row-major (tests). */
    public static Unembedding of(float[] wU, int dIn, int vocab) {
        return of(wU, dIn, vocab, MAX_BLOCK_FLOATS);
    }

    /** {@link #of(float[], int, int)} in blocks of at most {@code blockFloats} floats (tests cross blocks). */
    static Unembedding of(float[] wU, int dIn, int vocab, long blockFloats) {
        Unembedding u = empty(dIn, vocab, blockFloats, Path.of("<memory>"));
        for (int r = 0; r < dIn; r++) {
            u.putRow(r, wU, r * vocab);
        }
        return u;
    }

    /** A zero W_U [dIn, vocab] in blocks of at most {@code blockFloats} floats. */
    private static Unembedding empty(int dIn, int vocab, long blockFloats, Path file) {
        int blockCols = (int) Math.max(1, Math.min(vocab, blockFloats / dIn));
        int count = Math.max(1, (vocab + blockCols - 1) / blockCols);
        FloatBuffer[] blocks = new FloatBuffer[count];
        for (int b = 0; b < count; b++) {
            blocks[b] = direct((long) dIn * Math.min(blockCols, vocab - (long) b * blockCols));
        }
        return new Unembedding(dIn, vocab, blockCols, blocks, file);
    }

    /** Columns in block b. */
    public int width(int b) {
        return (int) Math.min(blockCols, vocab - (long) b * blockCols);
    }

    /** Element [r, c]. */
    public float get(int r, int c) {
        int b = c / blockCols;
        return blocks[b].get(r * width(b) + c % blockCols);
    }

    private void put(int r, int c, float v) {
        int b = c / blockCols;
        blocks[b].put(r * width(b) + c % blockCols, v);
    }

    /** Sets row r, columns [0, vocab), from src[off ..). */
    private void putRow(int r, float[] src, int off) {
        for (int b = 0; b < blocks.length; b++) {
            int w = width(b);
            blocks[b].put(r * w, src, off + b * blockCols, w);
        }
    }

    /** Reads W_U for an SAE of width {@code dIn}; {@code key} picks the safetensors tensor (may be null). */
    public static Unembedding load(Path file, int dIn, String key) throws IOException {
        return load(file, dIn, key, MAX_BLOCK_FLOATS);
    }

    /** {@link #load(Path, int, String)} in blocks of at most {@code blockFloats} floats (tests cross blocks). */
    static Unembedding load(Path file, int dIn, String key, long blockFloats) throws IOException {
        String problem = dev.saetrain.io.InputFiles.problem(file);
        if (problem != null) {
            throw new BadInputException(file, problem + "; give the unembedding W_U as a .npy or .safetensors file");
        }
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        if (name.endsWith(".npy")) {
            return fromNpy(file, dIn, blockFloats);
        }
        if (name.endsWith(".safetensors")) {
            return fromSafetensors(file, dIn, key, blockFloats);
        }
        throw new BadInputException(file, "unknown format: the unembedding must be a .npy or .safetensors file");
    }

    private static Unembedding fromNpy(Path file, int dIn, long blockFloats) {
        Shard s = Shard.open(file);
        if (s.layout().shape().length != 2) {
            throw new BadInputException(file, "W_U must be 2-D [d, vocab], got shape "
                    + java.util.Arrays.toString(s.layout().shape()));
        }
        long rows = s.rows();
        int cols = s.dIn();
        boolean transposed = orientation(file, rows, cols, dIn);
        int vocab = (int) (transposed ? rows : cols);
        Unembedding out = empty(dIn, vocab, blockFloats, file);
        float[] row = new float[cols];
        for (long r = 0; r < rows; r++) {
            s.readRows(r, 1, 1f, row, 0);
            checkFinite(file, row, r);
            if (transposed) {
                for (int j = 0; j < cols; j++) {
                    out.put(j, (int) r, row[j]);
                }
            } else {
                out.putRow((int) r, row, 0);
            }
        }
        return out;
    }

    private static Unembedding fromSafetensors(Path file, int dIn, String key, long blockFloats) throws IOException {
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
        HostMatrix data = t.matrix();
        Unembedding out = empty(dIn, vocab, blockFloats, file);
        for (int r = 0; r < rows; r++) {
            float[] page = data.page(r);
            int o = data.offset(r);
            for (int c = 0; c < cols; c++) {
                float v = page[o + c];
                if (!Float.isFinite(v)) {
                    throw new BadInputException(file, "non-finite value " + v + " at [" + r + ", " + c + "]");
                }
                if (transposed) {
                    out.put(c, r, v);
                }
            }
            if (!transposed) {
                out.putRow(r, page, o);
            }
        }
        return out;
    }

    /** True when the file holds [vocab, dIn] and must be transposed; refuses shapes that fit neither way. */
    private static boolean orientation(Path file, long rows, long cols, int dIn) {
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
