package dev.saetrain.data;

import dev.saetrain.error.BadInputException;
import dev.saetrain.io.DType;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads the header of a numpy .npy file (format versions 1.0, 2.0 and 3.0, see numpy.lib.format):
 * the magic {@code \x93NUMPY}, a version, a little-endian header length (2 bytes in 1.0, 4 bytes later)
 * and a Python dict literal with {@code descr}, {@code fortran_order} and {@code shape}. The dict is parsed
 * as a literal, so spacing, key order and trailing commas do not matter.
 */
final class NpyHeaderParser {
    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    /** numpy itself refuses headers past this size unless told otherwise; a larger one means corruption. */
    private static final int MAX_HEADER = 1 << 20;

    private final Path file;
    private final String text;
    private int pos;

    private NpyHeaderParser(Path file, String text) {
        this.file = file;
        this.text = text;
    }

    /** Parses the header of {@code file}, open as {@code ch}, into its layout; checks nothing about the payload. */
    static ShardLayout parse(Path file, FileChannel ch) throws IOException {
        long size = ch.size();
        ByteBuffer pre = read(ch, 0, (int) Math.min(12, size));
        if (pre.remaining() < 10 || !hasMagic(pre)) {
            throw new BadInputException(file, "not a .npy file (bad magic; expected \\x93NUMPY); "
                    + "write shards with numpy.save or rename the file if it is something else");
        }
        int major = pre.get(6) & 0xff;
        int headerLen;
        int start;
        if (major == 1) {
            headerLen = pre.getShort(8) & 0xffff;
            start = 10;
        } else if (major == 2 || major == 3) {
            if (pre.remaining() < 12) {
                throw new BadInputException(file, "malformed .npy header: file ends inside the header length");
            }
            long len = pre.getInt(8) & 0xffffffffL;
            if (len > MAX_HEADER) {
                throw new BadInputException(file, "malformed .npy header: header length " + len
                        + " bytes is implausible; the file is corrupt, regenerate it");
            }
            headerLen = (int) len;
            start = 12;
        } else {
            throw new BadInputException(file, "unsupported .npy format version " + major + "." + (pre.get(7) & 0xff)
                    + "; save with numpy.save (versions 1.0 to 3.0 are read)");
        }
        if (start + (long) headerLen > size) {
            throw new BadInputException(file, "malformed .npy header: header length " + headerLen
                    + " runs past the end of the " + size + "-byte file; the file is truncated, regenerate it");
        }
        ByteBuffer hb = read(ch, start, headerLen);
        String text = (major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1).decode(hb).toString();
        Map<String, Object> dict = new NpyHeaderParser(file, text).dict();
        return layout(file, dict, start + headerLen);
    }

    private static boolean hasMagic(ByteBuffer b) {
        for (int i = 0; i < MAGIC.length; i++) {
            if (b.get(i) != MAGIC[i]) {
                return false;
            }
        }
        return true;
    }

    private static ByteBuffer read(FileChannel ch, long at, int n) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
        while (b.hasRemaining()) {
            if (ch.read(b, at + b.position()) < 0) {
                break;
            }
        }
        return b.flip();
    }

    private static ShardLayout layout(Path file, Map<String, Object> dict, long dataOffset) {
        for (String key : List.of("descr", "fortran_order", "shape")) {
            if (!dict.containsKey(key)) {
                throw malformed(file, "the header dict has no '" + key + "' key");
            }
        }
        if (!(dict.get("descr") instanceof String descr)) {
            throw new BadInputException(file, "unsupported dtype: 'descr' is " + dict.get("descr")
                    + " (a structured dtype); save a plain float32 or float16 array");
        }
        if (!(dict.get("fortran_order") instanceof Boolean fortran)) {
            throw malformed(file, "'fortran_order' must be True or False");
        }
        if (fortran) {
            throw new BadInputException(file, "fortran_order is True (column-major); rows must be contiguous: "
                    + "save numpy.ascontiguousarray(x) instead");
        }
        if (!(dict.get("shape") instanceof List<?> dims)) {
            throw malformed(file, "'shape' must be a tuple of integers");
        }
        long[] shape = new long[dims.size()];
        for (int i = 0; i < shape.length; i++) {
            shape[i] = (Long) dims.get(i);
        }
        return new ShardLayout(file, "npy", dtype(file, descr), shape, dataOffset);
    }

    private static DType dtype(Path file, String descr) {
        if (descr.equals("<f4")) {
            return DType.F32;
        }
        if (descr.equals("<f2")) {
            return DType.F16;
        }
        String why;
        // descr is [byte order][kind][size], e.g. '<f4', '|O', '<i8': judge the kind first, so that an object or
        // integer array is not blamed on its byte order.
        String body = descr.isEmpty() || "<>=|".indexOf(descr.charAt(0)) < 0 ? descr : descr.substring(1);
        char kind = body.isEmpty() ? '?' : body.charAt(0);
        if (kind == 'O') {
            why = "an object array (pickled Python objects, not numbers); save a numeric array: "
                    + "numpy.asarray(x, dtype=numpy.float32)";
        } else if (kind != 'f') {
            why = "not a float array; only float32 ('<f4') and float16 ('<f2') are read: convert with "
                    + "x.astype(numpy.float32)";
        } else if (descr.startsWith(">")) {
            why = "big-endian data is not read; save with x.astype('<f4') or x.astype('<f2')";
        } else if (descr.startsWith("=") || descr.startsWith("|")) {
            // '=' is the writer's native order and '|' means "not applicable"; for a multi-byte float
            // neither says which byte order the payload has, so guessing could read garbage silently.
            why = "the byte order is not stated; save with an explicit '<f4' or '<f2' dtype";
        } else {
            why = "only float32 ('<f4') and float16 ('<f2') are read; convert with x.astype(numpy.float32)";
        }
        throw new BadInputException(file, "unsupported dtype '" + descr + "': " + why);
    }

    private static BadInputException malformed(Path file, String what) {
        return new BadInputException(file, "malformed .npy header: " + what + "; write shards with numpy.save");
    }

    // --- a parser for the Python literals numpy writes: dict, tuple, str, int, True/False ---

    private Map<String, Object> dict() {
        skipSpace();
        expect('{');
        Map<String, Object> out = new LinkedHashMap<>();
        skipSpace();
        while (peek() != '}') {
            Object key = value();
            if (!(key instanceof String k)) {
                throw malformed(file, "dict key " + key + " is not a string");
            }
            skipSpace();
            expect(':');
            out.put(k, value());
            skipSpace();
            if (peek() == ',') {
                pos++;
                skipSpace();
            } else if (peek() != '}') {
                throw malformed(file, "expected ',' or '}' at offset " + pos + " in " + quoted());
            }
        }
        pos++;
        skipSpace();
        if (pos != text.length()) {
            throw malformed(file, "unexpected text after the dict in " + quoted());
        }
        return out;
    }

    private Object value() {
        skipSpace();
        char c = peek();
        if (c == '\'' || c == '"') {
            int end = text.indexOf(c, pos + 1);
            if (end < 0) {
                throw malformed(file, "unterminated string in " + quoted());
            }
            String s = text.substring(pos + 1, end);
            pos = end + 1;
            return s;
        }
        if (c == '(' || c == '[') {
            char close = c == '(' ? ')' : ']';
            pos++;
            List<Object> items = new ArrayList<>();
            skipSpace();
            while (peek() != close) {
                Object v = value();
                if (!(v instanceof Long)) {
                    throw malformed(file, "shape entries must be integers in " + quoted());
                }
                items.add(v);
                skipSpace();
                if (peek() == ',') {
                    pos++;
                    skipSpace();
                } else if (peek() != close) {
                    throw malformed(file, "expected ',' or '" + close + "' at offset " + pos + " in " + quoted());
                }
            }
            pos++;
            return items;
        }
        if (c == '{') {
            throw malformed(file, "unexpected nested value in " + quoted());
        }
        int start = pos;
        while (pos < text.length() && (Character.isLetterOrDigit(text.charAt(pos)) || text.charAt(pos) == '-')) {
            pos++;
        }
        String word = text.substring(start, pos);
        switch (word) {
            case "True":
                return Boolean.TRUE;
            case "False":
                return Boolean.FALSE;
            default:
                break;
        }
        String digits = word.endsWith("L") ? word.substring(0, word.length() - 1) : word;
        try {
            return Long.parseLong(digits);
        } catch (NumberFormatException e) {
            throw malformed(file, "cannot parse '" + word + "' at offset " + start + " in " + quoted());
        }
    }

    private char peek() {
        if (pos >= text.length()) {
            throw malformed(file, "the header dict ends early: " + quoted());
        }
        return text.charAt(pos);
    }

    private void expect(char c) {
        if (peek() != c) {
            throw malformed(file, "expected '" + c + "' at offset " + pos + " in " + quoted());
        }
        pos++;
    }

    private void skipSpace() {
        while (pos < text.length() && Character.isWhitespace(text.charAt(pos))) {
            pos++;
        }
    }

    private String quoted() {
        String t = text.strip();
        // One line per error: the header may hold newlines or binary garbage.
        t = t.replaceAll("[\\p{Cntrl}]", "?");
        return "\"" + (t.length() > 120 ? t.substring(0, 120) + "..." : t) + "\"";
    }
}
