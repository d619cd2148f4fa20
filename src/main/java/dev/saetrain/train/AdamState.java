package dev.saetrain.train;

import dev.saetrain.device.Device;
import dev.saetrain.device.FloatBuf;

/** One parameter tensor with its gradient and Adam moments, all [rows, cols] on one device. */
final class AdamState implements AutoCloseable {
    final FloatBuf param;
    final FloatBuf grad;
    final FloatBuf m;
    final FloatBuf v;
    final int rows;
    final int cols;

    AdamState(Device device, int rows, int cols) {
        long n = (long) rows * cols;
        this.param = device.allocFloat(n);
        this.grad = device.allocFloat(n);
        this.m = device.allocFloat(n);
        this.v = device.allocFloat(n);
        this.rows = rows;
        this.cols = cols;
    }

    long size() {
        return (long) rows * cols;
    }

    @Override
    public void close() {
        param.close();
        grad.close();
        m.close();
        v.close();
    }
}
