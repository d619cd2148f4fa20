package dev.saetrain.data;

import dev.saetrain.error.BadInputException;
import dev.saetrain.io.DType;
import dev.saetrain.io.InputFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.Buffer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Locale;

/**
 * One shard file of activations, memory-mapped read-only: {@code rows} rows of {@code dIn} elements of
 * {@link #dtype()} (F32, F16 or BF16), C order, little-endian. A 3-D file {@code [n, ctx, dIn]} is
 * {@code n * ctx} rows. Files may exceed 2 GiB: the payload is mapped in chunks of at most 1 GiB that
 * start on row boundaries, so no row straddles two mappings.
 *
 * <p>Thread-safe: every read uses absolute indices on the mappings.
 */
public final class Shard {
    /** Largest mapping; a MappedByteBuffer cannot exceed 2 GiB and smaller ones keep address space modest. */
    static final long MAX_CHUNK_BYTES = 1L << 30;
    /** Stride of {@link #touchRows}: the smallest page size of the platforms we run on. */
    private static final int PAGE_BYTES = 4096;

    private final ShardLayout layout;
    private final long rows;
    private final int dIn;
    private final int rowsPerChunk;
    private final ByteBuffer[] chunks;
    /** Typed views of the chunks for {@link RowConversion#convert}, made once. */
    private final Buffer[] views;
    private final DType dtype;
    /** Keeps {@link #touchRows}'s reads from being optimised away; its value means nothing. */
    private byte touched;
    /** The file's size when it was mapped (-1 if unknown); a smaller size later means it was cut under the run. */
    private final long fileBytesAtOpen;

    private Shard(ShardLayout layout, ByteBuffer[] chunks, int rowsPerChunk) {
        this.layout = layout;
        this.rows = layout.rows();
        this.dIn = layout.dIn();
        this.chunks = chunks;
        this.rowsPerChunk = rowsPerChunk;
        this.dtype = layout.dtype();
        this.views = new Buffer[chunks.length];
        for (int c = 0; c < chunks.length; c++) {
            views[c] = RowConversion.view(dtype, chunks[c]);
        }
        long size;
        try {
            size = Files.size(layout.file());
        } catch (IOException e) {
            size = -1; // not a file we can stat (tests' in-memory layouts): the mapped reads' own check remains
        }
        this.fileBytesAtOpen = size;
    }

    /**
     * Opens a .npy or .safetensors file by its extension, validates its header against the file size and
     * maps its payload.
     *
     * @throws BadInputException for an unknown extension or any defect of the file
     */
    public static Shard open(Path file) {
        return open(file, MAX_CHUNK_BYTES);
    }

    /** {@link #open(Path)} with a smaller mapping size, so that tests can cross chunk boundaries. */
    static Shard open(Path file, long maxChunkBytes) {
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        boolean npy = name.endsWith(".npy");
        if (!npy && !name.endsWith(".safetensors")) {
            throw new BadInputException(file, "unknown format: expected a .npy or .safetensors file "
                    + "(or a directory of them)");
        }
        InputFiles.requireRegularFile(file, "shard");
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ShardLayout layout = npy ? NpyHeaderParser.parse(file, ch) : SafetensorsHeaderParser.parse(file, ch);
            layout.checkFileSize(ch.size());
            long rowBytes = layout.rowBytes();
            if (rowBytes > maxChunkBytes) {
                throw new BadInputException(file, "one row is " + rowBytes + " bytes, more than 1 GiB; d = "
                        + layout.dIn() + " is not a plausible activation width");
            }
            int rowsPerChunk = (int) Math.min(Integer.MAX_VALUE, maxChunkBytes / rowBytes);
            long rows = layout.rows();
            int n = (int) ((rows + rowsPerChunk - 1) / rowsPerChunk);
            ByteBuffer[] chunks = new ByteBuffer[n];
            for (int c = 0; c < n; c++) {
                long first = (long) c * rowsPerChunk;
                long count = Math.min(rowsPerChunk, rows - first);
                // The mapping outlives the channel; it is released when the buffer is collected.
                MappedByteBuffer m = ch.map(FileChannel.MapMode.READ_ONLY, layout.dataOffset() + first * rowBytes,
                        count * rowBytes);
                chunks[c] = m.order(ByteOrder.LITTLE_ENDIAN);
            }
            return new Shard(layout, chunks, rowsPerChunk);
        } catch (NoSuchFileException e) {
            throw new BadInputException(file, "no such file; check the path", e);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    /**
     * A shard over payload pieces another reader has validated and mapped (an Arrow cache's record batches, see
     * {@link ArrowBatches}): chunk c holds rows {@code [c * rowsPerChunk, (c + 1) * rowsPerChunk)}, every chunk but the
     * last full, each little-endian.
     */
    static Shard ofChunks(ShardLayout layout, ByteBuffer[] chunks, int rowsPerChunk) {
        long rows = 0;
        for (int c = 0; c < chunks.length; c++) {
            long n = chunks[c].capacity() / layout.rowBytes();
            if (n * layout.rowBytes() != chunks[c].capacity() || (c < chunks.length - 1 && n != rowsPerChunk)
                    || n > rowsPerChunk) {
                throw new IllegalArgumentException("chunk " + c + " of " + layout.file() + " holds " + n
                        + " rows; every chunk but the last must hold " + rowsPerChunk);
            }
            rows += n;
        }
        if (rows != layout.rows()) {
            throw new IllegalArgumentException("the chunks of " + layout.file() + " hold " + rows + " rows, the layout "
                    + layout.rows());
        }
        return new Shard(layout, chunks, rowsPerChunk);
    }

    /** The file. */
    public Path path() {
        return layout.file();
    }

    /** The header as read. */
    public ShardLayout layout() {
        return layout;
    }

    /** On-disk element type: F32, F16 or BF16. */
    public DType dtype() {
        return layout.dtype();
    }

    /** Number of rows (product of all dimensions but the last). */
    public long rows() {
        return rows;
    }

    /** Width of a row. */
    public int dIn() {
        return dIn;
    }

    /** File size in bytes, for reports. */
    public long fileBytes() throws IOException {
        return Files.size(path());
    }

    /**
     * Converts rows {@code [firstRow, firstRow + count)} to fp32 times {@code scale}, into
     * {@code dst[dstOffset .. dstOffset + count * dIn)}, row-major. Values are not checked for finiteness
     * here; see {@link #firstNonFinite}.
     */
    public void readRows(long firstRow, int count, float scale, float[] dst, int dstOffset) {
        checkRange(firstRow, count);
        try {
            convertRows(firstRow, count, scale, dst, dstOffset);
        } catch (InternalError e) {
            throw changedWhileMapped(e);
        }
    }

    private void convertRows(long firstRow, int count, float scale, float[] dst, int dstOffset) {
        if (count == 1) {
            // The stream's path: one row per draw, always inside one chunk.
            int c = (int) (firstRow / rowsPerChunk);
            int inChunk = (int) (firstRow - (long) c * rowsPerChunk);
            RowConversion.convert(dtype, views[c], inChunk * dIn, dIn, scale, dst, dstOffset);
            return;
        }
        long row = firstRow;
        int off = dstOffset;
        int left = count;
        while (left > 0) {
            int c = (int) (row / rowsPerChunk);
            int inChunk = (int) (row - (long) c * rowsPerChunk);
            int n = Math.min(left, rowsPerChunk - inChunk);
            int elems = n * dIn;
            // Offsets within one chunk fit an int: a chunk is at most 1 GiB.
            RowConversion.convert(dtype, views[c], inChunk * dIn, elems, scale, dst, off);
            row += n;
            off += elems;
            left -= n;
        }
    }

    /**
     * Reads one byte per page of rows {@code [firstRow, firstRow + count)}, so that the OS pages the block in
     * with one sequential read now rather than row by row when the rows are drawn in random order.
     */
    public void touchRows(long firstRow, int count) {
        checkRange(firstRow, count);
        checkNotCut();
        long rowBytes = layout.rowBytes();
        int c = (int) (firstRow / rowsPerChunk);
        long begin = (firstRow - (long) c * rowsPerChunk) * rowBytes;
        long end = Math.min((long) rowsPerChunk, firstRow - (long) c * rowsPerChunk + count) * rowBytes;
        // The rest of a block that crosses into the next chunk is paged in on demand; blocks are small.
        byte sink = 0;
        try {
            for (long b = begin; b < end; b += PAGE_BYTES) {
                sink ^= chunks[c].get((int) b);
            }
        } catch (InternalError e) {
            throw changedWhileMapped(e);
        }
        touched ^= sink;
    }

    /**
     * A read of a mapped page that the file no longer backs (the JVM reports the SIGBUS as an InternalError):
     * the shard was truncated or rewritten while this run had it mapped.
     */
    /**
     * Refuses a file that is now shorter than when it was mapped. Checked once per block the stream loads (a stat, no
     * read): reading a cut mapping faults, and the JVM may report that fault late or, in compiled code, not at all.
     */
    private void checkNotCut() {
        if (fileBytesAtOpen < 0) {
            return;
        }
        long now;
        try {
            now = Files.size(path());
        } catch (IOException e) {
            throw new BadInputException(path(), "can no longer be read (" + e.getMessage() + "); leave shards in place "
                    + "during a run; restore the file and resume, or start again", e);
        }
        if (now < fileBytesAtOpen) {
            throw changedWhileMapped(null);
        }
    }

    private BadInputException changedWhileMapped(InternalError e) {
        return new BadInputException(path(), "the file changed or was truncated while the run was reading it (it is "
                + "memory-mapped): leave shards unchanged during a run; restore the file and resume, or start again", e);
    }

    /** Rows per mapping chunk; chunk c holds rows {@code [c * rowsPerChunk(), (c + 1) * rowsPerChunk())}. */
    public int rowsPerChunk() {
        return rowsPerChunk;
    }

    /**
     * Index of the first non-finite value (NaN or +-Inf) in {@code x[offset .. offset + n)}, or -1 if all
     * are finite. The fast pass: any NaN or Inf makes {@code v * 0} NaN, and a sum with a NaN term is NaN.
     * Eight partial sums rather than one, because Java keeps float additions in order, so a single sum is
     * one dependent chain at the adder's latency per element (about 3x slower for a row of 768).
     */
    public static int firstNonFinite(float[] x, int offset, int n) {
        float a0 = 0f;
        float a1 = 0f;
        float a2 = 0f;
        float a3 = 0f;
        float a4 = 0f;
        float a5 = 0f;
        float a6 = 0f;
        float a7 = 0f;
        int end = offset + n;
        int i = offset;
        for (; i + 8 <= end; i += 8) {
            a0 += x[i] * 0f;
            a1 += x[i + 1] * 0f;
            a2 += x[i + 2] * 0f;
            a3 += x[i + 3] * 0f;
            a4 += x[i + 4] * 0f;
            a5 += x[i + 5] * 0f;
            a6 += x[i + 6] * 0f;
            a7 += x[i + 7] * 0f;
        }
        for (; i < end; i++) {
            a0 += x[i] * 0f;
        }
        if (((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)) == 0f) {
            return -1;
        }
        for (int j = offset; j < end; j++) {
            if (!Float.isFinite(x[j])) {
                return j - offset;
            }
        }
        throw new AssertionError("a NaN sum without a non-finite term");
    }

    private void checkRange(long firstRow, int count) {
        if (firstRow < 0 || count < 0 || firstRow + count > rows) {
            throw new IndexOutOfBoundsException("rows " + firstRow + ".." + (firstRow + count) + " of " + path()
                    + " which has " + rows + " rows");
        }
    }

    @Override
    public String toString() {
        return path() + " (" + layout.format() + ", " + dtype() + ", " + rows + " x " + dIn + ")";
    }
}
