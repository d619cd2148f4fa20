package dev.saetrain.data;

/**
 * Where the consumer of an {@link ActivationStream} stands: enough to rebuild the stream so that it
 * continues with exactly the batches the original would have delivered next. Saved in checkpoints.
 *
 * @param seed             the stream's seed
 * @param fingerprint      hash of everything else the row order depends on (rows per shard, shuffle
 *                         capacity, block size); a restore onto other data or options is refused
 * @param epoch            epoch of the next row to be drawn (0-based)
 * @param drawnInEpoch     rows of this epoch's order drawn so far, skipped non-finite rows included
 * @param rowsDelivered    rows delivered to the consumer since the start (whole batches)
 * @param skippedNonFinite rows skipped since the start because they held NaN or Inf
 */
public record StreamPosition(long seed, long fingerprint, long epoch, long drawnInEpoch, long rowsDelivered,
                             long skippedNonFinite) {
    public StreamPosition {
        if (epoch < 0 || drawnInEpoch < 0 || rowsDelivered < 0 || skippedNonFinite < 0) {
            throw new IllegalArgumentException("stream position fields must be >= 0: epoch=" + epoch + ", drawnInEpoch="
                    + drawnInEpoch + ", rowsDelivered=" + rowsDelivered + ", skipped=" + skippedNonFinite
                    + "; the checkpoint is corrupt");
        }
    }

    /** The position of a fresh stream. */
    static StreamPosition start(long seed, long fingerprint) {
        return new StreamPosition(seed, fingerprint, 0, 0, 0, 0);
    }
}
