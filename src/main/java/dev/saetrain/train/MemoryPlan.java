package dev.saetrain.train;

import static dev.saetrain.error.Setting.BATCH;
import static dev.saetrain.error.Setting.MAX_MEMORY;

import dev.saetrain.device.SparseSwitch;
import dev.saetrain.error.Setting;
import dev.saetrain.error.UsageException;
import dev.saetrain.model.SaeConfig;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;

/**
 * The memory a family of SAEs needs before the first step, checked against a budget: printed as a table,
 * and a clear error naming what does not fit. CPU buffers are native memory outside the JVM's limits (see
 * device/cpu/NativeMemory), so the default budget is the machine's: physical memory (a container's limit inside
 * one) less a head room for the operating system and other processes, less the JVM's heap limit (the heap is
 * separate memory). {@code --max-memory} replaces it.
 */
public final class MemoryPlan {
    /**
     * One SAE's share.
     *
     * @param preRows rows of its pre-activation buffer: the batch, or fewer when its step encodes and selects in
     *                row blocks ({@link SharedParts#preRows})
     * @param preNote what the memory table says of its pre-activations: held in row blocks, or held whole past
     *                {@link SharedParts#PRE_BLOCK_BYTES} and why; null when they are whole and within it
     */
    public record Line(String name, Engine.MemoryNeed need, int preRows, String preNote) {
    }

    private final List<Line> lines;
    private final long shared;
    private final int batch;
    private final long preBlockBytes;

    /** The smallest block cap {@link #blockCap} tries: below it the products on few rows cost more than they save. */
    static final long MIN_PRE_BLOCK_BYTES = 64L << 20;

    /**
     * @param sharedBytes  memory shared by the family (the batch buffer)
     * @param sparseSwitch the densities of the device the family runs on (they size the sparse activations)
     */
    public MemoryPlan(List<SaeConfig> saes, int batch, long sharedBytes, SparseSwitch sparseSwitch) {
        this(saes, batch, sharedBytes, sparseSwitch, SharedParts.PRE_BLOCK_BYTES);
    }

    /**
     * As above, with pre-activation blocks of at most {@code preBlockBytes} (every architecture row-blocks).
     */
    public MemoryPlan(List<SaeConfig> saes, int batch, long sharedBytes, SparseSwitch sparseSwitch,
                      long preBlockBytes) {
        List<Line> l = new ArrayList<>();
        for (SaeConfig c : saes) {
            l.add(new Line(c.name(), Engine.memoryNeed(c, batch, sparseSwitch, preBlockBytes),
                    SharedParts.preRows(c, batch, preBlockBytes), preNote(c, batch, preBlockBytes)));
        }
        this.batch = batch;
        this.lines = List.copyOf(l);
        this.shared = sharedBytes;
        this.preBlockBytes = preBlockBytes;
    }

    /**
     * The plan whose row-blocked pre-activations are as large as {@code budget} allows: {@link
     * SharedParts#PRE_BLOCK_BYTES} when that fits, else the first cap halved from it that does, down to {@link
     * #MIN_PRE_BLOCK_BYTES}; the smallest tried when none fits (its {@link #check} then names what does not).
     */
    public static MemoryPlan fitting(List<SaeConfig> saes, int batch, long sharedBytes, SparseSwitch sparseSwitch,
                                     long budget) {
        MemoryPlan plan = new MemoryPlan(saes, batch, sharedBytes, sparseSwitch);
        for (long cap = SharedParts.PRE_BLOCK_BYTES / 2; plan.total() > budget && cap >= MIN_PRE_BLOCK_BYTES;
             cap /= 2) {
            plan = new MemoryPlan(saes, batch, sharedBytes, sparseSwitch, cap);
        }
        return plan;
    }

    /** The largest pre-activation block this plan keeps whole; engines built for it take the same. */
    public long preBlockBytes() {
        return preBlockBytes;
    }

    private static String preNote(SaeConfig c, int batch, long preBlockBytes) {
        int rows = SharedParts.preRows(c, batch, preBlockBytes);
        long whole = 4L * batch * c.nLatents();
        if (rows == batch) {
            return null;
        }
        String why = whole <= preBlockBytes ? "forced by " + SharedParts.PRE_ROWS_PROPERTY
                : preBlockBytes < SharedParts.PRE_BLOCK_BYTES
                ? "blocks of at most " + human(preBlockBytes) + " let the family fit its memory limit"
                : "the whole matrix would pass " + human(preBlockBytes);
        return String.format("pre-activations in blocks of %d of the batch's %d rows (%s)", rows, batch, why);
    }

    public List<Line> lines() {
        return lines;
    }

    /** Total bytes of the family, shared buffers included. */
    public long total() {
        return shared + lines.stream().mapToLong(x -> x.need().total()).sum();
    }

    /**
     * A table: one row per SAE (parameters + Adam state, buffers, total), then the family total, then a line for
     * each SAE whose pre-activations are held in row blocks.
     */
    public String table() {
        StringBuilder sb = new StringBuilder(String.format("%-16s %14s %12s %12s%n", "sae", "params+adam", "buffers", "total"));
        for (Line x : lines) {
            sb.append(String.format("%-16s %14s %12s %12s%n", x.name(), human(x.need().parameterBytes()),
                    human(x.need().bufferBytes()), human(x.need().total())));
        }
        sb.append(String.format("%-16s %14s %12s %12s", "family", "", "+" + human(shared), human(total())));
        for (Line x : lines) {
            if (x.preNote() != null) {
                sb.append(String.format("%n%s: %s", x.name(), x.preNote()));
            }
        }
        return sb.toString();
    }

    /**
     * Throws UsageException naming the SAEs that do not fit when the family exceeds {@code budget}
     * (the largest are named first: they are the ones to drop).
     *
     * @param given whether the user set {@code budget} ({@link Setting#MAX_MEMORY}), else it is {@link #defaultBudget}
     */
    public void check(long budget, boolean given) {
        check(budget, given ? List.of(MAX_MEMORY)
                : List.of("the machine's memory (" + machineMemory() + "; ", MAX_MEMORY, " sets another limit)"));
    }

    /** {@link #check(long, boolean)} for a budget that {@code source} describes, e.g. a GPU's free memory. */
    public void check(long budget, String source) {
        check(budget, List.of(source));
    }

    private void check(long budget, List<Object> source) {
        if (total() <= budget) {
            return;
        }
        List<Line> bySize = new ArrayList<>(lines);
        bySize.sort((a, b) -> Long.compare(b.need().total(), a.need().total()));
        long over = total() - budget;
        StringBuilder drop = new StringBuilder();
        long freed = 0;
        for (Line x : bySize) {
            if (freed >= over) {
                break;
            }
            drop.append(drop.length() == 0 ? "" : ", ").append(x.name()).append(" (").append(human(x.need().total()))
                    .append(')');
            freed += x.need().total();
        }
        List<Object> parts = new ArrayList<>();
        parts.add("the family needs " + human(total()) + " but ");
        parts.addAll(source);
        parts.addAll(List.of(" allows " + human(budget) + "; does not fit: " + drop + ". Drop those SAEs, lower ", BATCH,
                ", or raise the limit"));
        throw UsageException.of(parts.toArray());
    }

    /** Share of physical memory kept back from the default budget for the operating system and other processes. */
    public static final double HEADROOM = 0.10;
    /** Bytes kept back at least. */
    public static final long MIN_HEADROOM = 1L << 30;

    /** The default budget: physical memory less {@link #headroom} less the JVM's heap limit (-Xmx). */
    public static long defaultBudget() {
        return budget(physicalMemory(), heapLimit());
    }

    /** Where {@link #defaultBudget} comes from, for the log and the error message. */
    public static String defaultBudgetSource() {
        return "the machine's memory (" + machineMemory() + ")";
    }

    private static String machineMemory() {
        long physical = physicalMemory();
        return human(physical) + " physical, less " + human(headroom(physical)) + " head room and the JVM's "
                + human(heapLimit()) + " heap limit";
    }

    /** physical - max({@link #MIN_HEADROOM}, {@link #HEADROOM} physical) - heapLimit, at least 0. */
    static long budget(long physical, long heapLimit) {
        return Math.max(0, physical - headroom(physical) - heapLimit);
    }

    /** The head room kept back out of {@code physical} bytes: max(1 GiB, 10 %). */
    static long headroom(long physical) {
        return Math.max(MIN_HEADROOM, (long) (physical * HEADROOM));
    }

    /** The most a --max-memory may ask for: physical memory less the heap limit (the head room is the user's call). */
    public static long hardLimit() {
        return Math.max(0, physicalMemory() - heapLimit());
    }

    /** Physical memory, or a container's memory limit inside one (the JDK reads the cgroup). */
    static long physicalMemory() {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            return os.getTotalMemorySize();
        }
        throw UsageException.of("this JVM does not report physical memory (no com.sun.management); give ",
                MAX_MEMORY);
    }

    /** The JVM's heap limit, -Xmx (by default a quarter of physical memory). */
    static long heapLimit() {
        return Runtime.getRuntime().maxMemory();
    }

    /** Parses 512m, 8g, 1073741824, 2T (binary units, case-insensitive). */
    public static long parseBytes(String s) {
        String t = s.trim().toLowerCase(java.util.Locale.ROOT);
        if (t.endsWith("b")) {
            t = t.substring(0, t.length() - 1);
        }
        long mult = 1;
        if (!t.isEmpty()) {
            char u = t.charAt(t.length() - 1);
            int shift = switch (u) {
                case 'k' -> 10;
                case 'm' -> 20;
                case 'g' -> 30;
                case 't' -> 40;
                default -> 0;
            };
            if (shift > 0) {
                mult = 1L << shift;
                t = t.substring(0, t.length() - 1);
            }
        }
        try {
            double v = Double.parseDouble(t);
            if (!(v > 0) || Double.isInfinite(v)) {
                throw new NumberFormatException();
            }
            return (long) (v * mult);
        } catch (NumberFormatException e) {
            throw new UsageException("cannot read '" + s + "' as a memory size; write e.g. 512m, 8g, 1.5t");
        }
    }

    /** 1.5 GiB, 300 MiB, 12 KiB. */
    public static String human(long bytes) {
        String[] units = {"B", "KiB", "MiB", "GiB", "TiB"};
        double v = bytes;
        int u = 0;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return u == 0 ? bytes + " B" : String.format("%.1f %s", v, units[u]);
    }
}
