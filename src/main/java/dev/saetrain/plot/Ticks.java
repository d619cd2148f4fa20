package dev.saetrain.plot;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Tick values and their labels. Linear ticks are the multiples of a step of 1, 2 or 5 times a power of ten that
 * give about the requested count ("nice numbers": Heckbert, Graphics Gems, 1990). Log ticks are the powers of ten
 * inside the range; a range of less than two decades adds 2 and 5 times each power, and one too short even for
 * that gets linear ticks.
 */
public final class Ticks {
    private Ticks() {
    }

    /** The step of 1, 2 or 5 times a power of ten nearest {@code span / target}. */
    public static double step(double span, int target) {
        if (!(span > 0) || !Double.isFinite(span)) {
            throw new IllegalArgumentException("a tick step needs a finite span > 0, got " + span);
        }
        double raw = span / Math.max(1, target);
        double pow = Math.pow(10, Math.floor(Math.log10(raw)));
        double f = raw / pow;
        double nice = f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10;
        return nice * pow;
    }

    /** The multiples of {@link #step} in {@code [lo, hi]}, ascending; about {@code target} of them. */
    public static double[] linear(double lo, double hi, int target) {
        double s = step(hi - lo, target);
        long first = (long) Math.ceil(lo / s - 1e-9);
        long last = (long) Math.floor(hi / s + 1e-9);
        double[] t = new double[(int) Math.max(0, last - first + 1)];
        for (int i = 0; i < t.length; i++) {
            double v = (first + i) * s;
            t[i] = Math.abs(v) < s * 1e-9 ? 0.0 : v;
        }
        return t;
    }

    /** Ticks for a log axis over {@code [lo, hi]}, {@code 0 < lo < hi}, ascending. */
    public static double[] log(double lo, double hi) {
        if (!(lo > 0) || !(hi > lo)) {
            throw new IllegalArgumentException("log ticks need 0 < lo < hi, got " + lo + " and " + hi);
        }
        int e0 = (int) Math.floor(Math.log10(lo));
        int e1 = (int) Math.ceil(Math.log10(hi));
        int every = Math.max(1, (e1 - e0 + 9) / 10); // at most about 10 labelled decades
        List<Double> powers = new ArrayList<>();
        List<Double> dense = new ArrayList<>();
        for (int e = e0; e <= e1; e++) {
            double p = Math.pow(10, e);
            for (int m : new int[] {1, 2, 5}) {
                double v = m * p;
                if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) {
                    dense.add(v);
                    if (m == 1 && Math.floorMod(e, every) == 0) {
                        powers.add(v);
                    }
                }
            }
        }
        List<Double> chosen = powers.size() >= 2 ? powers : dense.size() >= 3 ? dense : null;
        if (chosen == null) {
            return linear(lo, hi, 5);
        }
        return chosen.stream().mapToDouble(Double::doubleValue).toArray();
    }

    /**
     * The label of tick {@code v} on an axis whose ticks are {@code step} apart (for log ticks, pass the value
     * itself): as many decimals as the step needs, scientific notation beyond 1e5 or below 1e-3.
     */
    public static String label(double v, double step) {
        if (v == 0) {
            return "0";
        }
        double a = Math.abs(v);
        if (a >= 1e5 || a < 1e-3) {
            String s = String.format(Locale.ROOT, "%.2e", v);
            String mant = s.substring(0, s.indexOf('e')).replaceAll("\\.?0+$", "");
            int exp = Integer.parseInt(s.substring(s.indexOf('e') + 1));
            return mant + "e" + exp;
        }
        int decimals = (int) Math.max(0, Math.min(10, Math.ceil(-Math.log10(Math.abs(step)) - 1e-9)));
        return String.format(Locale.ROOT, "%." + decimals + "f", v);
    }
}
