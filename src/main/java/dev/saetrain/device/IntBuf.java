package dev.saetrain.device;

/** A device buffer of int32 elements (latent indices, row pointers, counters, step stamps). */
public interface IntBuf extends AutoCloseable {
    /** Number of int32 elements. */
    long size();

    /** Frees the memory; the buffer must not be used afterwards. */
    @Override
    void close();
}
