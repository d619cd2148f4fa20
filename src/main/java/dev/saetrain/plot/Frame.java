package dev.saetrain.plot;

import java.util.List;

/**
 * What every chart draws around its data: title (top, centred), axis labels (x below, y turned upwards on the
 * left), tick marks and labels, grid lines, the data area's border and the legend (right of the data area).
 * {@link #layout} places the data area from the texts that must fit around it.
 */
final class Frame {
    static final int BACKGROUND = 0xffffff;
    static final int INK = 0x202020;
    static final int GRID = 0xe4e4e4;
    static final int LEGEND_BORDER = 0xa0a0a0;
    /** Series colours, in order (the Tableau 10 palette), reused from the start past the tenth series. */
    static final int[] PALETTE = {0x1f77b4, 0xff7f0e, 0x2ca02c, 0xd62728, 0x9467bd, 0x8c564b, 0xe377c2, 0x7f7f7f,
        0xbcbd22, 0x17becf};
    static final int PAD = 10;
    static final int TICK = 4;
    static final int SWATCH = 16;

    /** How a legend entry shows its series. */
    enum Mark { LINE, DISC, BOX }

    record Entry(String name, int rgb, Mark mark) {
    }

    private Frame() {
    }

    static int colour(int series) {
        return PALETTE[series % PALETTE.length];
    }

    /** {@code rgb} mixed half and half with white, for filled areas under an outline of {@code rgb}. */
    static int tint(int rgb) {
        int r = (rgb >>> 16 & 0xff) + 255 >>> 1;
        int g = (rgb >>> 8 & 0xff) + 255 >>> 1;
        int b = (rgb & 0xff) + 255 >>> 1;
        return r << 16 | g << 8 | b;
    }

    static int titleScale(String title, int width) {
        return Font.width(title, 2) <= width - 2 * PAD ? 2 : 1;
    }

    /** The legend's width: the longest name (cut to a third of the image) after its swatch. */
    static int legendWidth(List<Entry> legend, int width) {
        if (legend.isEmpty()) {
            return 0;
        }
        int names = legend.stream().mapToInt(e -> Font.width(e.name(), 1)).max().orElse(0);
        return Math.min(width / 3, names) + SWATCH + 3 * 6;
    }

    /**
     * The data area of a {@code width x height} image whose y tick labels are at most {@code yLabelsWidth} wide and
     * whose legend is {@code legendWidth} wide.
     */
    static Image.Rect layout(int width, int height, String title, int yLabelsWidth, int legendWidth) {
        int top = PAD + Font.CELL_H * titleScale(title, width) + PAD;
        int left = PAD + Font.CELL_H + PAD + yLabelsWidth + TICK + 4;
        int right = width - 1 - PAD - (legendWidth > 0 ? legendWidth + PAD : 0);
        int bottom = height - 1 - (PAD + Font.CELL_H + PAD + Font.CELL_H + TICK + 2);
        if (right - left < 20 || bottom - top < 20) {
            throw new IllegalArgumentException("a " + width + " x " + height + " image leaves no room for a plot");
        }
        return new Image.Rect(left, top, right, bottom);
    }

    /** Title, axis labels and the data area's border. */
    static void decorate(Image img, Image.Rect area, String title, String xLabel, String yLabel) {
        int s = titleScale(title, img.width());
        Font.draw(img, (img.width() - Font.width(title, s)) / 2, PAD, fit(title, (img.width() - 2 * PAD) / s), INK,
                s);
        String xl = fit(xLabel, area.x1() - area.x0());
        Font.draw(img, (area.x0() + area.x1() - Font.width(xl, 1)) / 2, img.height() - PAD - Font.CELL_H, xl, INK, 1);
        String yl = fit(yLabel, area.y1() - area.y0());
        Font.drawUp(img, PAD, (area.y0() + area.y1() + Font.width(yl, 1)) / 2, yl, INK, 1);
        img.outline(area.x0(), area.y0(), area.x1(), area.y1(), INK);
    }

    /** Grid lines, tick marks and labels of the y axis at the given ticks. */
    static void yTicks(Image img, Image.Rect area, Axis y, double[] ticks) {
        for (double t : ticks) {
            int py = (int) Math.round(y.pixel(t));
            if (py < area.y0() || py > area.y1()) {
                continue;
            }
            img.fill(area.x0() + 1, py, area.x1() - 1, py, GRID);
            img.fill(area.x0() - TICK, py, area.x0() - 1, py, INK);
            String label = Axis.label(t, ticks, y.log());
            Font.draw(img, area.x0() - TICK - 3 - Font.width(label, 1), py - 3, label, INK, 1);
        }
    }

    /** Grid lines, tick marks and labels of the x axis at the given ticks. */
    static void xTicks(Image img, Image.Rect area, Axis x, double[] ticks) {
        for (double t : ticks) {
            int px = (int) Math.round(x.pixel(t));
            if (px < area.x0() || px > area.x1()) {
                continue;
            }
            img.fill(px, area.y0() + 1, px, area.y1() - 1, GRID);
            img.fill(px, area.y1() + 1, px, area.y1() + TICK, INK);
            String label = Axis.label(t, ticks, x.log());
            Font.draw(img, px - Font.width(label, 1) / 2, area.y1() + TICK + 3, label, INK, 1);
        }
    }

    /** The width of the widest label among {@code ticks}. */
    static int labelsWidth(double[] ticks, boolean log) {
        int w = 0;
        for (double t : ticks) {
            w = Math.max(w, Font.width(Axis.label(t, ticks, log), 1));
        }
        return w;
    }

    /** The legend, from the top right of the data area; entries that do not fit are counted in a last line. */
    static void legend(Image img, Image.Rect area, List<Entry> legend, int legendWidth) {
        if (legend.isEmpty()) {
            return;
        }
        int x0 = area.x1() + PAD;
        int x1 = x0 + legendWidth;
        int row = Font.CELL_H + 4;
        int fits = Math.max(1, (area.y1() - area.y0() - 8) / row);
        int shown = legend.size() <= fits ? legend.size() : fits - 1;
        int lines = shown + (shown < legend.size() ? 1 : 0);
        int y1 = area.y0() + 6 + lines * row;
        img.fill(x0, area.y0(), x1, y1, BACKGROUND);
        img.outline(x0, area.y0(), x1, y1, LEGEND_BORDER);
        Image.Rect all = new Image.Rect(0, 0, img.width() - 1, img.height() - 1);
        int nameRoom = legendWidth - SWATCH - 3 * 6;
        for (int i = 0; i < shown; i++) {
            Entry e = legend.get(i);
            int y = area.y0() + 5 + i * row;
            int cy = y + 3;
            int sx = x0 + 6;
            switch (e.mark()) {
                case LINE -> img.line(sx, cy, sx + SWATCH - 1, cy, e.rgb(), 2, all);
                case DISC -> img.disc(sx + SWATCH / 2.0, cy, 3, e.rgb(), all);
                case BOX -> img.fill(sx + 3, cy - 4, sx + SWATCH - 4, cy + 4, e.rgb());
            }
            Font.draw(img, sx + SWATCH + 6, y, fit(e.name(), nameRoom), INK, 1);
        }
        if (shown < legend.size()) {
            Font.draw(img, x0 + 6, area.y0() + 5 + shown * row, "... " + (legend.size() - shown) + " more", INK, 1);
        }
    }

    /** {@code text}, cut with "..." to at most {@code pixels} wide at scale 1. */
    static String fit(String text, int pixels) {
        int chars = (pixels + 1) / Font.CELL_W;
        if (text.length() <= chars) {
            return text;
        }
        return chars <= 3 ? text.substring(0, Math.max(0, chars)) : text.substring(0, chars - 3) + "...";
    }
}
