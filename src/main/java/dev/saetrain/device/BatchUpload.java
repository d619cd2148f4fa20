package dev.saetrain.device;

/**
 * Input batches of the step loop on their way to the device: {@link #next} takes one batch of host rows
 * [batch, dIn] fp32 and returns the device buffer that holds it. The buffer is valid until the following call of
 * {@code next} (a device may hand out several buffers in turn, so the upload of batch n+1 can overlap the step on
 * batch n). {@link Device#batchUpload} gives the device's implementation; {@link Direct} is the plain one.
 */
public interface BatchUpload extends AutoCloseable {
    /** Uploads host[0..floats) as the next batch; returns the buffer holding it. */
    FloatBuf next(float[] host);

    @Override
    void close();

    /** One buffer, written by {@link Device#upload} before {@code next} returns (the CPU path). */
    final class Direct implements BatchUpload {
        private final Device device;
        private final FloatBuf buf;

        public Direct(Device device, long floats) {
            this.device = device;
            this.buf = device.allocFloat(floats);
        }

        @Override
        public FloatBuf next(float[] host) {
            if (host.length > buf.size()) {
                throw new IllegalArgumentException("batch of " + host.length + " floats for a buffer of " + buf.size());
            }
            device.upload(host, 0, buf, 0, host.length);
            return buf;
        }

        @Override
        public void close() {
            buf.close();
        }
    }
}
