package dev.saetrain.io;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The header rules of the safetensors reference implementation (huggingface/safetensors, {@code Metadata::validate}),
 * shared by the shard reader (data/) and the whole-file reader ({@link SafetensorsReader}) so that neither accepts a
 * file the other, or Python, refuses: shape entries and offsets are non-negative JSON integers (no 2.0, no "2"), and
 * the tensors' byte ranges, sorted by start, tile the payload exactly: the first starts at 0, each starts where the
 * previous ends (no overlap, no gap) and the last ends at the end of the file (no trailing bytes).
 */
public final class SafetensorsRules {
    private SafetensorsRules() {
    }

    /** {@code n} as a non-negative integer, or -1 when it is not one (a fraction, a string, negative, too large). */
    public static long natural(JsonNode n) {
        if (n == null || !n.isIntegralNumber() || !n.canConvertToLong() || n.asLong() < 0) {
            return -1;
        }
        return n.asLong();
    }

    /**
     * Why the tensors' {@code [begin, end)} ranges (relative to the payload) do not tile a payload of
     * {@code payloadBytes} bytes, or null when they do.
     */
    public static String tilingProblem(Map<String, long[]> ranges, long payloadBytes) {
        List<Map.Entry<String, long[]>> sorted = new ArrayList<>(ranges.entrySet());
        sorted.sort((a, b) -> a.getValue()[0] != b.getValue()[0] ? Long.compare(a.getValue()[0], b.getValue()[0])
                : Long.compare(a.getValue()[1], b.getValue()[1]));
        long at = 0;
        String previous = null;
        for (Map.Entry<String, long[]> e : sorted) {
            long begin = e.getValue()[0];
            long end = e.getValue()[1];
            if (end < begin) {
                return "tensor '" + e.getKey() + "' has data_offsets [" + begin + ", " + end + "] that end before they begin";
            }
            if (begin < at) {
                return "tensor '" + e.getKey() + "' (bytes " + begin + ".." + end + ") overlaps tensor '" + previous + "'";
            }
            if (begin > at) {
                return "tensor '" + e.getKey() + "' starts at byte " + begin + " but the data before it ends at byte " + at
                        + " (a gap)";
            }
            at = end;
            previous = e.getKey();
        }
        if (at != payloadBytes) {
            return at < payloadBytes ? (payloadBytes - at) + " bytes follow the last tensor (trailing data)"
                    : "the tensors need " + at + " bytes of data but only " + payloadBytes + " follow the header";
        }
        return null;
    }
}
