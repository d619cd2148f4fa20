package dev.saetrain.device;

/** A device buffer of fp32 elements. Which memory it lives in is the device's business. */
public interface FloatBuf extends AutoCloseable {
    /** Number of fp32 elements. */
    long size();

    /** Frees the memory; the buffer must not be used afterwards. */
    @Override
    void close();
}
