package dev.saetrain.plot;

import java.util.ArrayList;
import java.util.List;

/**
 * A chart of (x, y) series on linear or log axes, drawn into an {@link Image} and written as PNG. Series are drawn
 * in the order added, each in its palette colour: lines (2 pixels wide, through the points in order), scatter
 * points (discs), or a step area (a histogram: {@code x} the bin edges, {@code y[i]} the height over
 * {@code [x[i], x[i+1])}, filled down to 0). Points that a log axis cannot show (values <= 0) and non-finite ones
 * are left out; the axes span the points that remain.
 */
public final class XyChart {
    /** How a series is drawn. */
    public enum Style { LINE, SCATTER, STEP_AREA }

    /** One named series. */
    public record Series(String name, double[] x, double[] y, Style style) {
        public Series {
            if (x.length != y.length) {
                throw new IllegalArgumentException("series '" + name + "' needs as many x as y values, got " + x.length
                        + " and " + y.length);
            }
        }
    }

    private final String title;
    private final String xLabel;
    private final String yLabel;
    private final int width;
    private final int height;
    private final List<Series> series = new ArrayList<>();
    private boolean logX;
    private boolean logY;
    private double[] yRange;
    private int markerRadius = 2;

    public XyChart(String title, String xLabel, String yLabel, int width, int height) {
        this.title = title;
        this.xLabel = xLabel;
        this.yLabel = yLabel;
        this.width = width;
        this.height = height;
    }

    public XyChart logX(boolean log) {
        this.logX = log;
        return this;
    }

    public XyChart logY(boolean log) {
        this.logY = log;
        return this;
    }

    /** A fixed y range instead of the data's (for a CDF: 0 to 1). */
    public XyChart yRange(double lo, double hi) {
        this.yRange = new double[] {lo, hi};
        return this;
    }

    /** The radius of scatter discs in pixels (2 unless set). */
    public XyChart markerRadius(int radius) {
        this.markerRadius = radius;
        return this;
    }

    public XyChart add(String name, double[] x, double[] y, Style style) {
        series.add(new Series(name, x.clone(), y.clone(), style));
        return this;
    }

    public List<Series> series() {
        return List.copyOf(series);
    }

    private boolean shows(double x, double y) {
        return Double.isFinite(x) && Double.isFinite(y) && (!logX || x > 0) && (!logY || y > 0);
    }

    /** Where everything goes: the data area, the axes mapped onto it, their ticks, and the legend. */
    record Plan(Image.Rect area, Axis x, Axis y, double[] xTicks, double[] yTicks, List<Frame.Entry> legend,
                int legendWidth) {
    }

    Plan plan() {
        double xMin = Double.POSITIVE_INFINITY;
        double xMax = Double.NEGATIVE_INFINITY;
        double yMin = Double.POSITIVE_INFINITY;
        double yMax = Double.NEGATIVE_INFINITY;
        boolean area = false;
        for (Series s : series) {
            area |= s.style() == Style.STEP_AREA;
            for (int i = 0; i < s.x().length; i++) {
                if (shows(s.x()[i], s.y()[i])) {
                    xMin = Math.min(xMin, s.x()[i]);
                    xMax = Math.max(xMax, s.x()[i]);
                    yMin = Math.min(yMin, s.y()[i]);
                    yMax = Math.max(yMax, s.y()[i]);
                }
            }
        }
        if (xMin > xMax) { // nothing to show: an empty frame
            xMin = logX ? 1 : 0;
            xMax = logX ? 10 : 1;
            yMin = logY ? 1 : 0;
            yMax = logY ? 10 : 1;
        }
        if (area && !logY) {
            yMin = Math.min(yMin, 0);
        }
        double[] xr = Axis.range(xMin, xMax, logX);
        double[] yr = yRange != null ? yRange : Axis.range(yMin, yMax, logY);
        if (area && !logY && yRange == null && yMin >= 0) {
            yr[0] = 0; // bars stand on the axis
        }
        double[] yTicks = new Axis(yr[0], yr[1], logY, 1, 0).ticks(6);
        List<Frame.Entry> legend = new ArrayList<>();
        for (int i = 0; i < series.size(); i++) {
            Style st = series.get(i).style();
            legend.add(new Frame.Entry(series.get(i).name(), Frame.colour(i),
                    st == Style.LINE ? Frame.Mark.LINE : st == Style.SCATTER ? Frame.Mark.DISC : Frame.Mark.BOX));
        }
        int legendWidth = Frame.legendWidth(legend, width);
        Image.Rect r = Frame.layout(width, height, title, Frame.labelsWidth(yTicks, logY), legendWidth);
        Axis x = new Axis(xr[0], xr[1], logX, r.x0(), r.x1());
        Axis y = new Axis(yr[0], yr[1], logY, r.y1(), r.y0());
        return new Plan(r, x, y, xTicks(x, r.x1() - r.x0()), yTicks, legend, legendWidth);
    }

    /** The chart as an image. */
    public Image render() {
        Plan p = plan();
        Image.Rect r = p.area();
        Image img = new Image(width, height, Frame.BACKGROUND);
        Frame.yTicks(img, r, p.y(), p.yTicks());
        Frame.xTicks(img, r, p.x(), p.xTicks());
        Image.Rect inside = new Image.Rect(r.x0() + 1, r.y0() + 1, r.x1() - 1, r.y1() - 1);
        for (int i = 0; i < series.size(); i++) {
            draw(img, inside, p.x(), p.y(), series.get(i), Frame.colour(i));
        }
        Frame.decorate(img, r, title, xLabel, yLabel);
        Frame.legend(img, r, p.legend(), p.legendWidth());
        return img;
    }

    /** As many x ticks as leave room between their labels. */
    private static double[] xTicks(Axis x, int pixels) {
        for (int target = 8; ; target--) {
            double[] t = x.ticks(target);
            if (target <= 2 || (Frame.labelsWidth(t, x.log()) + 12) * t.length <= pixels) {
                return t;
            }
        }
    }

    private void draw(Image img, Image.Rect clip, Axis x, Axis y, Series s, int rgb) {
        double[] xs = s.x();
        double[] ys = s.y();
        switch (s.style()) {
            case SCATTER -> {
                for (int i = 0; i < xs.length; i++) {
                    if (shows(xs[i], ys[i])) {
                        img.disc(x.pixel(xs[i]), y.pixel(ys[i]), markerRadius, rgb, clip);
                    }
                }
            }
            case LINE -> {
                int prev = -1;
                for (int i = 0; i < xs.length; i++) {
                    if (!shows(xs[i], ys[i])) {
                        prev = -1; // a gap
                        continue;
                    }
                    if (prev >= 0) {
                        img.line(x.pixel(xs[prev]), y.pixel(ys[prev]), x.pixel(xs[i]), y.pixel(ys[i]), rgb, 2, clip);
                    } else if (i + 1 >= xs.length || !shows(xs[i + 1], ys[i + 1])) {
                        img.disc(x.pixel(xs[i]), y.pixel(ys[i]), 1, rgb, clip); // a lone point stays visible
                    }
                    prev = i;
                }
            }
            case STEP_AREA -> {
                double base = y.log() ? y.lo() : Math.max(y.lo(), Math.min(0, y.hi()));
                int by = (int) Math.round(y.pixel(base));
                for (int i = 0; i + 1 < xs.length; i++) {
                    if (!shows(xs[i], ys[i]) || !shows(xs[i + 1], 1)) {
                        continue;
                    }
                    double xa = x.pixel(xs[i]);
                    double xb = x.pixel(xs[i + 1]);
                    double top = y.pixel(ys[i]);
                    int ia = (int) Math.max(clip.x0(), Math.round(xa));
                    int ib = (int) Math.min(clip.x1(), Math.round(xb));
                    int it = (int) Math.max(clip.y0(), Math.min(clip.y1(), Math.round(top)));
                    if (ia <= ib) {
                        img.fill(ia, Math.min(it, by), ib, Math.min(clip.y1(), Math.max(it, by)), Frame.tint(rgb));
                    }
                    img.line(xa, top, xb, top, rgb, 1, clip);
                    img.line(xa, top, xa, by, rgb, 1, clip);
                    img.line(xb, top, xb, by, rgb, 1, clip);
                }
            }
        }
    }

    /** The chart as a PNG file's bytes. */
    public byte[] png() {
        return Png.encode(render());
    }
}
