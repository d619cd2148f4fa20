package dev.saetrain.device;

/**
 * Sparse activations f in CSR form over a batch: row b's active latents are
 * {@code idx[rowPtr[b] .. rowPtr[b+1])} with values {@code val[...]}, latents in no particular order.
 * Buffers live on the device that allocated them. Entries may hold the value 0 (a TopK pick whose
 * pre-activation was <= 0): they carry no gradient and do not count toward L0.
 *
 * @param rowPtr   [batch + 1] int32
 * @param idx      [capacity] int32 latent index
 * @param val      [capacity] fp32 activation value
 * @param grad     [capacity] fp32 scratch for dL/dpre at the same entries, filled by the backward ops
 * @param batch    rows
 * @param capacity entries the buffers can hold
 */
public record SparseActs(IntBuf rowPtr, IntBuf idx, FloatBuf val, FloatBuf grad, int batch, int capacity)
        implements AutoCloseable {
    public SparseActs {
        if (rowPtr.size() < batch + 1L || idx.size() < capacity || val.size() < capacity || grad.size() < capacity) {
            throw new IllegalArgumentException("SparseActs buffers smaller than batch " + batch + " / capacity " + capacity);
        }
    }

    /** Allocates buffers on {@code device} for {@code batch} rows and {@code capacity} entries. */
    public static SparseActs allocate(Device device, int batch, int capacity) {
        return new SparseActs(device.allocInt(batch + 1L), device.allocInt(capacity), device.allocFloat(capacity),
                device.allocFloat(capacity), batch, capacity);
    }

    @Override
    public void close() {
        rowPtr.close();
        idx.close();
        val.close();
        grad.close();
    }
}
