/**
 * The kernels of one architecture each, behind a small interface per architecture that every {@link
 * dev.saetrain.device.Device} hands out ({@code jumpReluOps()}, {@code gatedOps()}, {@code matryoshkaOps()},
 * {@code batchTopkOps()}): created once with the device and living as long as it. The ops every architecture
 * shares (memory, products, reductions, Adam, row ops, the sparse formats) stay in {@code Device}. Each op's formula
 * is in its Javadoc; {@link dev.saetrain.device.ReferenceOps} implements each as plain loops, and the parity checks
 * of {@code dev.saetrain.selftest.parity} compare every device against it.
 */
package dev.saetrain.device.arch;
