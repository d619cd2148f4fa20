package dev.saetrain.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.saetrain.data.ActivationStream;
import dev.saetrain.data.Shard;
import dev.saetrain.data.ShardSet;
import dev.saetrain.data.StreamOptions;
import dev.saetrain.error.UsageException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.stream.Collectors;

/**
 * {@code sae-train bench --stream SHARD_DIR}: drives the real {@link ActivationStream} (shuffle, prefetch
 * thread, default shuffle buffer, estimated scale applied) as fast as it delivers, consuming batches without
 * training, and reports fp32 rows delivered per second. Timing starts after the first batch, so the initial
 * fill of the shuffle buffer is not counted; it runs whole epochs over and over until the time is up.
 */
final class StreamBench {
    /** Rows the scale is estimated from, as training does. */
    private static final int SCALE_ROWS = 32768;

    private StreamBench() {
    }

    static void run(Path dir, int batch, double seconds, long seed, PrintWriter out) {
        if (!(seconds > 0)) {
            throw new UsageException("--seconds must be > 0, got " + seconds);
        }
        ShardSet set = ShardSet.open(dir);
        int dIn = set.dIn();
        String dtype = dtypes(set);
        float scale = ActivationStream.estimateScale(set, SCALE_ROWS, false);
        // As many rows as a long run could want: the loop stops on time, not on the end of the stream.
        long maxRows = (Long.MAX_VALUE / 2 / batch) * batch;
        StreamOptions so = StreamOptions.of(batch, maxRows, seed).withScale(scale);
        int shuffleRows = so.resolvedShuffleRows(dIn, set.totalRows());
        float[] dst = new float[batch * dIn];
        long batches = 0;
        double secs;
        double checksum = 0;
        try (ActivationStream stream = new ActivationStream(set, so)) {
            if (!stream.next(dst)) {
                throw new IllegalStateException("the stream delivered nothing from " + dir);
            }
            long t0 = System.nanoTime();
            long limit = (long) (seconds * 1e9);
            long now = t0;
            while (now - t0 < limit && stream.next(dst)) {
                batches++;
                // Touch the batch as a consumer would, so nothing is optimised away.
                checksum += dst[(int) (batches % batch) * dIn];
                now = System.nanoTime();
            }
            secs = Math.max(1e-9, (now - t0) / 1e9);
        }
        double rowsPerS = batches * (double) batch / secs;
        double gbPerS = rowsPerS * dIn * Float.BYTES / 1e9;
        long totalRows = set.totalRows();
        out.printf("bench --stream: %s, %d shard(s), %d rows x d=%d, dtype %s, scale %.4g, batch %d, shuffle buffer "
                        + "%d rows (spanning %.0f MiB of fp32 rows)%n", dir, set.shards().size(), totalRows, dIn, dtype,
                scale, batch, shuffleRows, shuffleRows * (double) dIn * Float.BYTES / (1 << 20));
        out.printf("%d batches in %.2f s: %.0f rows/s, %.3f GB/s of fp32 delivered (checksum %.3g)%n",
                batches, secs, rowsPerS, gbPerS, checksum);
        ObjectNode o = new ObjectMapper().createObjectNode();
        o.put("mode", "stream");
        o.put("dtype", dtype);
        o.put("d_in", dIn);
        o.put("batch", batch);
        o.put("batches", batches);
        o.put("seconds", Math.round(secs * 1000) / 1000.0);
        o.put("rows_per_s", Math.round(rowsPerS * 10) / 10.0);
        o.put("stream_gb_per_s", Math.round(gbPerS * 1000) / 1000.0);
        out.println(o);
    }

    /** The shards' distinct dtypes, joined by "+" (one, normally). */
    private static String dtypes(ShardSet set) {
        return set.shards().stream().map(Shard::dtype).map(Object::toString).distinct()
                .collect(Collectors.joining("+"));
    }
}
