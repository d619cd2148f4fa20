package dev.saetrain.data;

import dev.saetrain.error.BadInputException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import org.apache.arrow.flatbuf.Endianness;
import org.apache.arrow.flatbuf.Message;
import org.apache.arrow.flatbuf.MessageHeader;
import org.apache.arrow.flatbuf.RecordBatch;
import org.apache.arrow.flatbuf.Schema;

/**
 * The message index of one Arrow IPC <em>stream</em> file, the format Hugging Face {@code datasets} writes with
 * {@code save_to_disk} ({@code pyarrow.RecordBatchStreamWriter}): a Schema message, then RecordBatch messages, then
 * the end-of-stream marker. Each message is {@code 0xFFFFFFFF}, an int32 metadata length, a flatbuffer
 * {@code Message}, then its body of {@code bodyLength} bytes (the pre-0.15 form without the 0xFFFFFFFF is accepted).
 *
 * <p>Only the metadata is read here, with positional reads: the bodies stay on disk and are memory-mapped later by
 * whoever reads them, so opening a cache of any size costs a few reads per batch. The flatbuffers are decoded with
 * Apache Arrow's own generated classes ({@code arrow-format}), so the schema is read exactly as Arrow defines it.
 * Every defect (bad marker, a message or body past the end of the file, no end-of-stream marker, dictionary
 * batches, compressed bodies, big-endian data) is a {@link BadInputException} naming the file.
 *
 * @param file    the file
 * @param size    its size in bytes
 * @param schema  the schema message
 * @param batches the record batches in file order
 */
record ArrowStream(Path file, long size, Schema schema, List<Batch> batches) {
    /** The continuation marker that opens every message of the current IPC format. */
    private static final int CONTINUATION = 0xFFFFFFFF;
    /** A metadata length above this is corruption, not a schema: flatbuffers for a few columns are a few KiB. */
    private static final int MAX_METADATA = 64 << 20;

    /**
     * One record batch: its row count, per-node (length, null count) and per-buffer absolute file offsets.
     *
     * @param rows        rows of the batch (sequences, for a SAELens cache)
     * @param nodeLength  [nodes] length of each field node, depth first
     * @param nodeNulls   [nodes] null count of each field node
     * @param bufOffset   [buffers] absolute file offset of each buffer
     * @param bufLength   [buffers] byte length of each buffer
     */
    record Batch(long rows, long[] nodeLength, long[] nodeNulls, long[] bufOffset, long[] bufLength) {
    }

    /** Reads the message index of {@code file}. */
    static ArrowStream read(Path file) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            return read(file, ch);
        } catch (NoSuchFileException e) {
            throw new BadInputException(file, "no such file; the dataset's state.json lists it, restore it or "
                    + "regenerate the cache", e);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    private static ArrowStream read(Path file, FileChannel ch) throws IOException {
        long size = ch.size();
        long pos = 0;
        Schema schema = null;
        List<Batch> batches = new ArrayList<>();
        while (true) {
            if (pos + 4 > size) {
                throw truncated(file, "it ends at byte " + size + " without the end-of-stream marker");
            }
            int len = readInt(ch, pos);
            pos += 4;
            if (len == CONTINUATION) {
                if (pos + 4 > size) {
                    throw truncated(file, "it ends inside a message header at byte " + size);
                }
                len = readInt(ch, pos);
                pos += 4;
            }
            if (len == 0) {
                break; // end of stream
            }
            if (len < 0 || len > MAX_METADATA) {
                throw new BadInputException(file, "not an Arrow IPC stream (message length " + len + " at byte "
                        + (pos - 4) + "); a Hugging Face dataset's data-*.arrow file was expected");
            }
            if (pos + len > size) {
                throw truncated(file, "a message of " + len + " bytes at byte " + pos + " runs past its end (" + size + ")");
            }
            ByteBuffer meta = ByteBuffer.allocate(len).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, meta, pos);
            meta.flip();
            pos += len;
            Message msg = Message.getRootAsMessage(meta);
            long body = msg.bodyLength();
            if (body < 0 || pos + body > size) {
                throw truncated(file, "a message body of " + body + " bytes at byte " + pos + " runs past its end ("
                        + size + ")");
            }
            switch (msg.headerType()) {
                case MessageHeader.Schema -> {
                    if (schema != null) {
                        throw new BadInputException(file, "two schema messages; the file is not one Arrow stream, "
                                + "regenerate it");
                    }
                    schema = (Schema) msg.header(new Schema());
                    if (schema.endianness() != Endianness.Little) {
                        throw new BadInputException(file, "big-endian Arrow data; write the cache on a little-endian "
                                + "machine");
                    }
                }
                case MessageHeader.RecordBatch -> {
                    if (schema == null) {
                        throw new BadInputException(file, "a record batch before the schema; regenerate the file");
                    }
                    batches.add(batch(file, (RecordBatch) msg.header(new RecordBatch()), pos, body));
                }
                case MessageHeader.DictionaryBatch -> throw new BadInputException(file, "dictionary-encoded columns "
                        + "are not supported; an activation cache has none, check the folder");
                default -> throw new BadInputException(file, "unknown Arrow message type " + msg.headerType()
                        + "; regenerate the file");
            }
            pos += body;
        }
        if (schema == null) {
            throw new BadInputException(file, "an Arrow stream without a schema; regenerate the file");
        }
        return new ArrowStream(file, size, schema, List.copyOf(batches));
    }

    private static Batch batch(Path file, RecordBatch rb, long bodyStart, long bodyLength) {
        if (rb.compression() != null) {
            throw new BadInputException(file, "compressed Arrow record batches (LZ4/ZSTD) cannot be memory-mapped; "
                    + "save the dataset without compression");
        }
        int nodes = rb.nodesLength();
        long[] nodeLength = new long[nodes];
        long[] nodeNulls = new long[nodes];
        for (int i = 0; i < nodes; i++) {
            nodeLength[i] = rb.nodes(i).length();
            nodeNulls[i] = rb.nodes(i).nullCount();
        }
        int buffers = rb.buffersLength();
        long[] off = new long[buffers];
        long[] len = new long[buffers];
        for (int i = 0; i < buffers; i++) {
            long o = rb.buffers(i).offset();
            long l = rb.buffers(i).length();
            if (o < 0 || l < 0 || o + l > bodyLength) {
                throw truncated(file, "buffer " + i + " of a record batch (" + l + " bytes at " + o
                        + ") lies outside its body of " + bodyLength + " bytes");
            }
            off[i] = bodyStart + o;
            len[i] = l;
        }
        return new Batch(rb.length(), nodeLength, nodeNulls, off, len);
    }

    private static BadInputException truncated(Path file, String detail) {
        return new BadInputException(file, "the Arrow stream is truncated or corrupt: " + detail
                + "; copy the file again or regenerate the cache");
    }

    private static int readInt(FileChannel ch, long pos) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
        readFully(ch, b, pos);
        return b.getInt(0);
    }

    private static void readFully(FileChannel ch, ByteBuffer dst, long pos) throws IOException {
        long p = pos;
        while (dst.hasRemaining()) {
            int n = ch.read(dst, p);
            if (n < 0) {
                throw new IOException("unexpected end of file at byte " + p);
            }
            p += n;
        }
    }
}
