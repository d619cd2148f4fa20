package dev.saetrain.plot;

import java.util.ArrayList;
import java.util.List;

/**
 * Grouped bars: one group per category (in the order given), one bar per series in each group, each series in its
 * palette colour, on a linear y axis from 0 (or from the least value, when one is negative).
 */
public final class BarChart {
    /** One named series: a value per category. */
    public record Series(String name, double[] values) {
    }

    private final String title;
    private final String xLabel;
    private final String yLabel;
    private final int width;
    private final int height;
    private final List<String> categories;
    private final List<Series> series = new ArrayList<>();

    public BarChart(String title, String xLabel, String yLabel, int width, int height, List<String> categories) {
        this.title = title;
        this.xLabel = xLabel;
        this.yLabel = yLabel;
        this.width = width;
        this.height = height;
        this.categories = List.copyOf(categories);
    }

    public BarChart add(String name, double[] values) {
        if (values.length != categories.size()) {
            throw new IllegalArgumentException("bar series '" + name + "' needs a value per category ("
                    + categories.size() + "), got " + values.length);
        }
        series.add(new Series(name, values.clone()));
        return this;
    }

    /** The chart as an image. */
    public Image render() {
        double lo = 0;
        double hi = 0;
        for (Series s : series) {
            for (double v : s.values()) {
                if (Double.isFinite(v)) {
                    lo = Math.min(lo, v);
                    hi = Math.max(hi, v);
                }
            }
        }
        if (hi - lo <= 0) {
            hi = lo + 1;
        }
        double[] yr = {lo < 0 ? Axis.range(lo, hi, false)[0] : 0, Axis.range(lo, hi, false)[1]};
        double[] yTicks = new Axis(yr[0], yr[1], false, 1, 0).ticks(6);
        List<Frame.Entry> legend = new ArrayList<>();
        for (int i = 0; i < series.size(); i++) {
            legend.add(new Frame.Entry(series.get(i).name(), Frame.colour(i), Frame.Mark.BOX));
        }
        int legendWidth = Frame.legendWidth(legend, width);
        Image.Rect r = Frame.layout(width, height, title, Frame.labelsWidth(yTicks, false), legendWidth);
        Axis y = new Axis(yr[0], yr[1], false, r.y1(), r.y0());
        Image img = new Image(width, height, Frame.BACKGROUND);
        Frame.yTicks(img, r, y, yTicks);
        int n = Math.max(1, categories.size());
        double group = (r.x1() - r.x0()) / (double) n;
        double bar = group * 0.8 / Math.max(1, series.size());
        int base = (int) Math.round(y.pixel(0));
        for (int c = 0; c < categories.size(); c++) {
            double gx = r.x0() + c * group;
            for (int s = 0; s < series.size(); s++) {
                double v = series.get(s).values()[c];
                if (!Double.isFinite(v)) {
                    continue;
                }
                int xa = (int) Math.round(gx + group * 0.1 + s * bar);
                int xb = Math.max(xa, (int) Math.round(gx + group * 0.1 + (s + 1) * bar) - 1);
                int top = (int) Math.round(y.pixel(v));
                if (top != base) {
                    img.fill(xa, Math.min(top, base), xb, Math.max(top, base), Frame.colour(s));
                }
            }
            int cx = (int) Math.round(gx + group / 2);
            img.fill(cx, r.y1() + 1, cx, r.y1() + Frame.TICK, Frame.INK);
            String label = Frame.fit(categories.get(c), (int) group - 4);
            Font.draw(img, cx - Font.width(label, 1) / 2, r.y1() + Frame.TICK + 3, label, Frame.INK, 1);
        }
        Frame.decorate(img, r, title, xLabel, yLabel);
        Frame.legend(img, r, legend, legendWidth);
        return img;
    }

    /** The chart as a PNG file's bytes. */
    public byte[] png() {
        return Png.encode(render());
    }
}
