package dev.saetrain.plot;

/**
 * An RGB raster, {@code width x height} pixels, row-major from the top left, each pixel {@code 0xRRGGBB}; drawing
 * writes into it in place. Every primitive clips: to the image always, and lines and markers also to a clip
 * rectangle given by the caller (a plot's data area), so nothing drawn spills onto the axes.
 */
public final class Image {
    private final int width;
    private final int height;
    private final int[] pixels;

    /** A {@code width x height} image filled with {@code background}. */
    public Image(int width, int height, int background) {
        if (width < 1 || height < 1) {
            throw new IllegalArgumentException("an image needs at least 1 x 1 pixels, got " + width + " x " + height);
        }
        this.width = width;
        this.height = height;
        this.pixels = new int[width * height];
        java.util.Arrays.fill(pixels, background & 0xffffff);
    }

    /** A clip rectangle: pixels with {@code x0 <= x <= x1} and {@code y0 <= y <= y1} (inclusive). */
    public record Rect(int x0, int y0, int x1, int y1) {
        public boolean contains(int x, int y) {
            return x >= x0 && x <= x1 && y >= y0 && y <= y1;
        }
    }

    public int width() {
        return width;
    }

    public int height() {
        return height;
    }

    /** The pixels, {@code [height][width]} flattened, {@code 0xRRGGBB}; the live array, not a copy. */
    public int[] pixels() {
        return pixels;
    }

    public int get(int x, int y) {
        return pixels[y * width + x];
    }

    /** Sets one pixel; outside the image it does nothing. */
    public void set(int x, int y, int rgb) {
        if (x >= 0 && x < width && y >= 0 && y < height) {
            pixels[y * width + x] = rgb & 0xffffff;
        }
    }

    /** Fills the pixels {@code x0..x1, y0..y1} (inclusive, in either order). */
    public void fill(int x0, int y0, int x1, int y1, int rgb) {
        int xa = Math.max(0, Math.min(x0, x1));
        int xb = Math.min(width - 1, Math.max(x0, x1));
        int ya = Math.max(0, Math.min(y0, y1));
        int yb = Math.min(height - 1, Math.max(y0, y1));
        for (int y = ya; y <= yb; y++) {
            for (int x = xa; x <= xb; x++) {
                pixels[y * width + x] = rgb & 0xffffff;
            }
        }
    }

    /** The outline of the rectangle {@code x0..x1, y0..y1}, one pixel wide. */
    public void outline(int x0, int y0, int x1, int y1, int rgb) {
        fill(x0, y0, x1, y0, rgb);
        fill(x0, y1, x1, y1, rgb);
        fill(x0, y0, x0, y1, rgb);
        fill(x1, y0, x1, y1, rgb);
    }

    /**
     * A line from {@code (xa, ya)} to {@code (xb, yb)} (pixel centres at integer coordinates), {@code thickness}
     * pixels wide (a square brush), cut to {@code clip} first (Liang-Barsky), then drawn with Bresenham's
     * algorithm. Non-finite coordinates draw nothing.
     */
    public void line(double xa, double ya, double xb, double yb, int rgb, int thickness, Rect clip) {
        if (!(Double.isFinite(xa) && Double.isFinite(ya) && Double.isFinite(xb) && Double.isFinite(yb))) {
            return;
        }
        double dx = xb - xa;
        double dy = yb - ya;
        double t0 = 0;
        double t1 = 1;
        double[] p = {-dx, dx, -dy, dy};
        double[] q = {xa - clip.x0(), clip.x1() - xa, ya - clip.y0(), clip.y1() - ya};
        for (int i = 0; i < 4; i++) {
            if (p[i] == 0) {
                if (q[i] < 0) {
                    return;
                }
            } else {
                double t = q[i] / p[i];
                if (p[i] < 0) {
                    t0 = Math.max(t0, t);
                } else {
                    t1 = Math.min(t1, t);
                }
            }
        }
        if (t0 > t1) {
            return;
        }
        int x0 = (int) Math.round(xa + t0 * dx);
        int y0 = (int) Math.round(ya + t0 * dy);
        int x1 = (int) Math.round(xa + t1 * dx);
        int y1 = (int) Math.round(ya + t1 * dy);
        int sx = x0 < x1 ? 1 : -1;
        int sy = y0 < y1 ? 1 : -1;
        int ex = Math.abs(x1 - x0);
        int ey = -Math.abs(y1 - y0);
        int err = ex + ey;
        while (true) {
            brush(x0, y0, rgb, thickness, clip);
            if (x0 == x1 && y0 == y1) {
                return;
            }
            int e2 = 2 * err;
            if (e2 >= ey) {
                err += ey;
                x0 += sx;
            }
            if (e2 <= ex) {
                err += ex;
                y0 += sy;
            }
        }
    }

    private void brush(int x, int y, int rgb, int thickness, Rect clip) {
        int lo = -(thickness - 1) / 2;
        for (int j = lo; j < lo + thickness; j++) {
            for (int i = lo; i < lo + thickness; i++) {
                if (clip.contains(x + i, y + j)) {
                    set(x + i, y + j, rgb);
                }
            }
        }
    }

    /** A filled disc of {@code radius} pixels centred on the pixel nearest {@code (cx, cy)}, cut to {@code clip}. */
    public void disc(double cx, double cy, int radius, int rgb, Rect clip) {
        if (!(Double.isFinite(cx) && Double.isFinite(cy))) {
            return;
        }
        int x = (int) Math.round(cx);
        int y = (int) Math.round(cy);
        int r2 = radius * radius + radius; // a rounder disc than r^2 at small radii
        for (int j = -radius; j <= radius; j++) {
            for (int i = -radius; i <= radius; i++) {
                if (i * i + j * j <= r2 && clip.contains(x + i, y + j)) {
                    set(x + i, y + j, rgb);
                }
            }
        }
    }
}
