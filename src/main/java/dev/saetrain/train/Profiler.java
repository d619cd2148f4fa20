package dev.saetrain.train;

import dev.saetrain.device.Device;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Wall time per phase of the step, for {@code bench}: each {@link #lap} synchronises the device and charges
 * the time since the previous lap to the named phase. Engines without a profiler pay nothing.
 */
public final class Profiler {
    private final Device device;
    private final Map<String, Long> nanos = new LinkedHashMap<>();
    private long last;
    private boolean on;

    public Profiler(Device device) {
        this.device = device;
    }

    /** Starts (or restarts) the clock for the next phase. */
    void start() {
        device.synchronize();
        last = System.nanoTime();
        on = true;
    }

    /** Charges the time since the last lap to {@code phase}. */
    void lap(String phase) {
        if (!on) {
            return;
        }
        device.synchronize();
        long now = System.nanoTime();
        nanos.merge(phase, now - last, Long::sum);
        last = now;
    }

    /** Clears the totals (after warm-up steps). */
    public void reset() {
        nanos.clear();
    }

    /** Seconds per phase, in first-seen order. */
    public Map<String, Double> seconds() {
        Map<String, Double> out = new LinkedHashMap<>();
        nanos.forEach((k, v) -> out.put(k, v / 1e9));
        return out;
    }
}
