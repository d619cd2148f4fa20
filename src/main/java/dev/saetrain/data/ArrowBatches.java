package dev.saetrain.data;

import dev.saetrain.error.BadInputException;
import dev.saetrain.io.DType;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * One data file of an {@link ArrowCache} as a {@link Shard}: its record batches' hook-column value buffers become the
 * shard's mapping chunks. A Shard finds row r in chunk {@code r / rowsPerChunk}, so every chunk but the last must
 * hold the same number of rows; {@code datasets} writes a file as batches of {@code writer_batch_size} sequences and
 * a last, shorter one, so chunks of {@code rowsPerChunk = (sequences per batch / q) * ctx} rows fit (q the smallest
 * divisor keeping a chunk within {@link Shard#MAX_CHUNK_BYTES}). A file batched otherwise is refused.
 *
 * <p>Checked per batch, before anything is read: no nulls in the column; the outer list offsets step by ctx and the
 * inner ones by dIn (so the values are one C-order block {@code [rows, ctx, dIn]}); the value buffer holds them.
 */
final class ArrowBatches {
    /** A batch's token ids: where its {@code token_ids} values lie in the file. */
    private record TokenRun(long firstRow, long rows, long offset) {
    }

    private final Shard shard;
    private final List<TokenRun> tokens;

    private ArrowBatches(Shard shard, List<TokenRun> tokens) {
        this.shard = shard;
        this.tokens = tokens;
    }

    Shard shard() {
        return shard;
    }

    boolean hasTokens() {
        return tokens != null;
    }

    /** Validates and maps the hook column {@code h} of {@code s}; {@code tok} is the token column or null. */
    static ArrowBatches map(ArrowStream s, ArrowColumns h, ArrowColumns tok) {
        int ctx = Math.toIntExact(h.shape()[0]);
        long d = h.shape()[1];
        if (ctx < 1 || d < 1 || d > Integer.MAX_VALUE / 4) {
            throw new BadInputException(s.file(), "column " + h.name() + " has Array2D shape [" + ctx + ", " + d
                    + "]; context size and d must be >= 1");
        }
        long rowBytes = d * h.dtype().bytes();
        long seqBytes = ctx * rowBytes;
        if (seqBytes > Shard.MAX_CHUNK_BYTES) {
            throw new BadInputException(s.file(), "one sequence is " + seqBytes + " bytes, more than 1 GiB; shape ["
                    + ctx + ", " + d + "] is not a plausible activation cache");
        }
        List<ArrowStream.Batch> batches = s.batches().stream().filter(b -> b.rows() > 0).toList();
        long seqPerBatch = batches.isEmpty() ? 1 : batches.get(0).rows();
        for (int i = 1; i < batches.size() - 1; i++) {
            if (batches.get(i).rows() != seqPerBatch) {
                throw new BadInputException(s.file(), "record batch " + i + " has " + batches.get(i).rows()
                        + " sequences where the first has " + seqPerBatch + "; only the last batch of a file may "
                        + "differ (as datasets writes them): rewrite the file with save_to_disk");
            }
        }
        long q = 1;
        while (seqPerBatch % q != 0 || (seqPerBatch / q) * seqBytes > Shard.MAX_CHUNK_BYTES) {
            q++;
        }
        long chunkSeqs = seqPerBatch / q;
        int rowsPerChunk = Math.toIntExact(chunkSeqs * ctx);
        List<ByteBuffer> chunks = new ArrayList<>();
        List<TokenRun> tokenRuns = tok == null ? null : new ArrayList<>();
        long sequences = 0;
        for (ArrowStream.Batch b : batches) {
            long valuesOffset = checkBatch(s, h, b, ctx, d);
            for (long first = 0; first < b.rows(); first += chunkSeqs) {
                long n = Math.min(chunkSeqs, b.rows() - first);
                chunks.add(ArrowCache.map(s.file(), valuesOffset + first * seqBytes, n * seqBytes));
            }
            if (tok != null) {
                tokenRuns.add(new TokenRun(sequences * ctx, b.rows() * ctx, tokenOffset(s, tok, b, ctx)));
            }
            sequences += b.rows();
        }
        long dataOffset = batches.isEmpty() ? 0 : b0Values(h, batches.get(0));
        ShardLayout layout = new ShardLayout(s.file(), "arrow", h.dtype(), new long[] {sequences, ctx, d}, dataOffset);
        return new ArrowBatches(Shard.ofChunks(layout, chunks.toArray(ByteBuffer[]::new), rowsPerChunk), tokenRuns);
    }

    private static long b0Values(ArrowColumns h, ArrowStream.Batch b) {
        return b.bufOffset()[h.firstBuf() + 5];
    }

    /** Checks one batch of the hook column and returns the file offset of its first value. */
    private static long checkBatch(ArrowStream s, ArrowColumns h, ArrowStream.Batch b, int ctx, long d) {
        int n0 = h.firstNode();
        int b0 = h.firstBuf();
        if (b.nodeLength().length < n0 + 3 || b.bufOffset().length < b0 + 6) {
            throw bad(s, "a record batch has fewer field nodes or buffers than the schema needs");
        }
        long rows = b.rows();
        if (b.nodeLength()[n0] != rows) {
            throw bad(s, "column length " + b.nodeLength()[n0] + " differs from the batch's " + rows + " rows");
        }
        for (int k = 0; k < 3; k++) {
            if (b.nodeNulls()[n0 + k] != 0) {
                throw bad(s, "the column holds " + b.nodeNulls()[n0 + k] + " null value(s); every sequence needs "
                        + "activations, regenerate the cache");
            }
        }
        int[] outer = ints(s, b.bufOffset()[b0 + 1], b.bufLength()[b0 + 1], rows + 1);
        for (int i = 0; i <= rows; i++) {
            if (outer[i] != outer[0] + (long) i * ctx) {
                throw bad(s, "sequence " + (i - 1) + " of a batch does not have " + ctx + " positions (list offsets "
                        + outer[i - 1] + ".." + outer[i] + "); the column is not a fixed [" + ctx + ", " + d + "] array");
            }
        }
        long positions = rows * ctx;
        int[] inner = ints(s, b.bufOffset()[b0 + 3], b.bufLength()[b0 + 3], outer[0] + positions + 1);
        long v0 = inner[outer[0]];
        for (long j = 0; j <= positions; j++) {
            if (inner[(int) (outer[0] + j)] != v0 + j * d) {
                throw bad(s, "a position of a batch does not hold " + d + " values (list offsets at " + j
                        + "); the column is not a fixed [" + ctx + ", " + d + "] array");
            }
        }
        long elem = h.dtype().bytes();
        if ((v0 + positions * d) * elem > b.bufLength()[b0 + 5]) {
            throw bad(s, "the value buffer holds " + b.bufLength()[b0 + 5] + " bytes, fewer than the "
                    + (v0 + positions * d) * elem + " its offsets need");
        }
        return b.bufOffset()[b0 + 5] + v0 * elem;
    }

    private static long tokenOffset(ArrowStream s, ArrowColumns t, ArrowStream.Batch b, int ctx) {
        int n0 = t.firstNode();
        int b0 = t.firstBuf();
        long need = b.rows() * ctx * 4;
        if (b.nodeNulls()[n0] != 0 || b.nodeNulls()[n0 + 1] != 0 || b.nodeLength()[n0 + 1] != b.rows() * ctx
                || b.bufLength()[b0 + 2] < need) {
            throw bad(s, "column " + ArrowCache.TOKENS + " does not hold " + ctx + " int32 tokens per sequence");
        }
        return b.bufOffset()[b0 + 2];
    }

    /** {@code n} little-endian int32 values of a buffer, refusing one that is too short. */
    private static int[] ints(ArrowStream s, long offset, long length, long n) {
        if (n * 4 > length) {
            throw bad(s, "a list offsets buffer of " + length + " bytes is shorter than the " + n * 4 + " its rows need");
        }
        int[] out = new int[Math.toIntExact(n)];
        ArrowCache.map(s.file(), offset, n * 4).asIntBuffer().get(out);
        return out;
    }

    private static BadInputException bad(ArrowStream s, String detail) {
        return new BadInputException(s.file(), detail + "; regenerate the cache");
    }

    /** Token ids of rows [firstRow, firstRow + count) of this file. */
    int[] tokenIds(long firstRow, int count) {
        if (tokens == null) {
            throw new IllegalStateException(shard.path() + " has no " + ArrowCache.TOKENS + " column");
        }
        if (firstRow < 0 || count < 0 || firstRow + count > shard.rows()) {
            throw new IndexOutOfBoundsException("rows " + firstRow + ".." + (firstRow + count) + " of " + shard.rows());
        }
        int[] out = new int[count];
        int done = 0;
        for (TokenRun r : tokens) {
            long row = firstRow + done;
            if (done < count && row >= r.firstRow() && row < r.firstRow() + r.rows()) {
                int n = (int) Math.min(count - done, r.firstRow() + r.rows() - row);
                ArrowCache.map(shard.path(), r.offset() + (row - r.firstRow()) * 4, n * 4L).asIntBuffer().get(out, done, n);
                done += n;
            }
        }
        return out;
    }

    static DType dtypeOf(String datasetsName) {
        return switch (datasetsName) {
            case "float32" -> DType.F32;
            case "float16" -> DType.F16;
            default -> null;
        };
    }
}
