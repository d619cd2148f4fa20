package dev.saetrain.plot;

/**
 * One axis: the value range {@code [lo, hi]} it shows, linear or log10, mapped onto the pixels
 * {@code [from, to]} ({@code to < from} for a y axis, which grows upwards).
 */
record Axis(double lo, double hi, boolean log, double from, double to) {
    Axis {
        if (!(hi > lo) || !Double.isFinite(lo) || !Double.isFinite(hi) || log && !(lo > 0)) {
            throw new IllegalArgumentException("an axis needs finite lo < hi (and lo > 0 when log), got [" + lo + ", "
                    + hi + "]" + (log ? " on a log axis" : ""));
        }
    }

    /**
     * The range an axis shows for data spanning {@code [min, max]}: 4% of the span wider on each side (a decade
     * fraction on a log axis), and a span around a lone value.
     */
    static double[] range(double min, double max, boolean log) {
        if (log) {
            double a = Math.log10(min);
            double b = Math.log10(max);
            if (b - a < 1e-9) {
                a -= 0.5;
                b += 0.5;
            }
            double pad = 0.04 * (b - a);
            return new double[] {Math.pow(10, a - pad), Math.pow(10, b + pad)};
        }
        if (max - min <= Math.abs(max) * 1e-12) {
            double half = max == 0 ? 1 : Math.abs(max) * 0.1;
            return new double[] {min - half, max + half};
        }
        double pad = 0.04 * (max - min);
        return new double[] {min - pad, max + pad};
    }

    /** The pixel coordinate of value {@code v} (NaN for v <= 0 on a log axis). */
    double pixel(double v) {
        double f = log ? (v > 0 ? (Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo)) : Double.NaN)
                : (v - lo) / (hi - lo);
        return from + f * (to - from);
    }

    /** The tick values inside the range. */
    double[] ticks(int target) {
        return log ? Ticks.log(lo, hi) : Ticks.linear(lo, hi, target);
    }

    /** The label of tick {@code v} among {@code ticks}. */
    static String label(double v, double[] ticks, boolean log) {
        if (log && oneTwoFive(ticks)) {
            return Ticks.label(v, v); // 1, 2 or 5 times a power of ten labels itself
        }
        double step = ticks.length > 1 ? ticks[1] - ticks[0] : Math.max(Math.abs(v), 1e-12);
        return Ticks.label(v, step);
    }

    /** Whether every tick is 1, 2 or 5 times a power of ten (log ticks, not their linear fallback). */
    private static boolean oneTwoFive(double[] ticks) {
        for (double t : ticks) {
            if (!(t > 0)) {
                return false;
            }
            double m = t / Math.pow(10, Math.floor(Math.log10(t)));
            long r = Math.round(m);
            if (Math.abs(m - r) > 1e-9 || !(r == 1 || r == 2 || r == 5 || r == 10)) {
                return false;
            }
        }
        return true;
    }
}
