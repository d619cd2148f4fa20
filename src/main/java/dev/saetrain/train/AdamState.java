package dev.saetrain.train;

import dev.saetrain.device.FloatBuf;

/**
 * One parameter tensor with its gradient and Adam moments, all [rows, cols] on one device ({@link
 * Allocator#parameter} allocates them, and frees them with the rest).
 */
final class AdamState {
    final FloatBuf param;
    final FloatBuf grad;
    final FloatBuf m;
    final FloatBuf v;
    final int rows;
    final int cols;

    AdamState(FloatBuf param, FloatBuf grad, FloatBuf m, FloatBuf v, int rows, int cols) {
        this.param = param;
        this.grad = grad;
        this.m = m;
        this.v = v;
        this.rows = rows;
        this.cols = cols;
    }

    long size() {
        return (long) rows * cols;
    }
}
