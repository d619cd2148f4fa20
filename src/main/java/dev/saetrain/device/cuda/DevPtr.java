package dev.saetrain.device.cuda;

/** A raw device address (a buffer plus an element offset), passed to kernels as a {@link Param#PTR}. */
public record DevPtr(long address) {
}
