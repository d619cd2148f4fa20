package dev.saetrain.selftest;

import dev.saetrain.selftest.DeviceFixtures.FastDevice;
import dev.saetrain.selftest.DeviceFixtures.Shape;
import dev.saetrain.selftest.ParityAssert.CheckFailure;
import dev.saetrain.selftest.ParityAssert.Comparison;
import java.lang.reflect.InvocationTargetException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs every {@link OpCatalog} check on one device under test and folds the comparisons into one result per
 * {@link dev.saetrain.device.Device} op: the worst element over all its cases (largest error relative to its
 * tolerance), or the first failure. A check that fails stops there (as under JUnit); ops its body would have
 * checked after the failure are reported as not reached.
 */
public final class OpRunner {
    /**
     * One op's result. {@code worst} is the comparison whose worst element came closest to (or went past) its
     * tolerance; {@code shape} the case it came from ("fixed" for checks with their own size).
     */
    public record OpResult(String op, boolean passed, int comparisons, Comparison worst, String shape, String failure) {
        /** The worst element's error over its tolerance (0 when exact). */
        public double ratio() {
            return worst == null ? 0 : ratioOf(worst);
        }
    }

    private static final class Acc {
        int comparisons;
        Comparison worst;
        String worstShape;
        String failure;
        String failShape;
    }

    private OpRunner() {
    }

    static double ratioOf(Comparison c) {
        if (c.worstErr() == 0) {
            return 0;
        }
        return c.tolAtWorst() > 0 ? c.worstErr() / c.tolAtWorst() : Double.POSITIVE_INFINITY;
    }

    /** Runs the catalog's checks on {@code fd} over {@code shapes}; one result per op, in the catalog's order. */
    public static List<OpResult> run(FastDevice fd, List<Shape> shapes) {
        Map<String, Acc> accs = new LinkedHashMap<>();
        for (String op : OpCatalog.coveredOps()) {
            accs.put(op, new Acc());
        }
        for (OpCatalog.Entry e : OpCatalog.ENTRIES) {
            List<Shape> cases = e.perShape() ? shapes : java.util.Collections.singletonList(null);
            for (Shape s : cases) {
                runOne(e, fd, s, accs);
            }
        }
        List<OpResult> out = new ArrayList<>();
        for (var en : accs.entrySet()) {
            Acc a = en.getValue();
            if (a.failure != null) {
                out.add(new OpResult(en.getKey(), false, a.comparisons, a.worst, a.failShape, a.failure));
            } else if (a.comparisons == 0) {
                out.add(new OpResult(en.getKey(), false, 0, null, "", "not reached: a check failed before it"));
            } else {
                out.add(new OpResult(en.getKey(), true, a.comparisons, a.worst, a.worstShape, null));
            }
        }
        return out;
    }

    private static void runOne(OpCatalog.Entry e, FastDevice fd, Shape s, Map<String, Acc> accs) {
        String shape = s == null ? "fixed" : label(s);
        String[] current = {e.op()};
        ParityAssert.Recorder rec = new ParityAssert.Recorder() {
            @Override
            public void record(Comparison c) {
                Acc a = accs.computeIfAbsent(current[0], k -> new Acc());
                a.comparisons++;
                if (a.worst == null || ratioOf(c) > ratioOf(a.worst)
                        || ratioOf(c) == ratioOf(a.worst) && c.worstErr() > a.worst.worstErr()) {
                    a.worst = c;
                    a.worstShape = shape;
                }
            }

            @Override
            public void op(String name) {
                current[0] = name;
            }
        };
        try {
            ParityAssert.recording(rec, () -> invoke(e, fd, s));
        } catch (CheckFailure f) {
            fail(accs, current[0], shape, e, f.getMessage());
        } catch (RuntimeException | Error f) {
            fail(accs, current[0], shape, e, f.getClass().getSimpleName() + ": " + f.getMessage());
        }
    }

    private static void fail(Map<String, Acc> accs, String op, String shape, OpCatalog.Entry e, String message) {
        Acc a = accs.computeIfAbsent(op, k -> new Acc());
        if (a.failure == null) {
            String first = message == null ? "(no message)" : message.split("\n", 2)[0];
            String detail = message != null && message.contains("\n") ? " " + message.split("\n")[1].trim() : "";
            a.failure = first + detail + " (in " + e.type().getSimpleName() + "." + e.method() + ")";
            a.failShape = shape;
        }
    }

    private static void invoke(OpCatalog.Entry e, FastDevice fd, Shape s) {
        try {
            if (s == null) {
                e.resolve().invoke(null, fd);
            } else {
                e.resolve().invoke(null, fd, s);
            }
        } catch (InvocationTargetException x) {
            Throwable t = x.getCause();
            if (t instanceof RuntimeException r) {
                throw r;
            }
            if (t instanceof Error err) {
                throw err;
            }
            throw new IllegalStateException(t);
        } catch (IllegalAccessException x) {
            throw new IllegalStateException(x);
        }
    }

    /** "[batch 33, dIn 769, nLatents 1031, k 7]". */
    public static String label(Shape s) {
        return "[batch " + s.batch() + ", dIn " + s.dIn() + ", nLatents " + s.nLatents() + ", k " + s.k() + "]";
    }
}
