package dev.saetrain.analysis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.saetrain.plot.XyChart;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The analyses' plot calls write PNGs of the agreed size that a standard decoder reads (ImageIO: tests only). */
class PlotsTest {
    @TempDir
    Path dir;

    private static int count(BufferedImage img, int rgb) {
        int n = 0;
        for (int y = 0; y < img.getHeight(); y++) {
            for (int x = 0; x < img.getWidth(); x++) {
                n += (img.getRGB(x, y) & 0xffffff) == rgb ? 1 : 0;
            }
        }
        return n;
    }

    @Test
    void histogramAndXyWriteReadablePngs() throws Exception {
        Path h = dir.resolve("h.png");
        Plots.histogram(h, "t", "x", Histogram.of(new double[] {0.1, 0.2, 0.25, 0.7}, 0, 1, 10), null);
        BufferedImage hi = ImageIO.read(h.toFile());
        assertEquals(Plots.WIDTH, hi.getWidth());
        assertEquals(Plots.HEIGHT, hi.getHeight());
        assertTrue(count(hi, 0x8fbbd9) > 1000, "the bars are filled"); // the first colour, half white

        Map<String, Plots.Series> s = new LinkedHashMap<>();
        s.put("points", Plots.Series.scatter(new double[] {1e-4, 1e-2, 0}, new double[] {1, 10, 5}));
        s.put("empty", Plots.Series.line(new double[0], new double[0]));
        Path xy = dir.resolve("xy.png");
        Plots.xy(xy, "t", "x", "y", true, true, s); // 0 on a log axis is left out, not an error
        BufferedImage xi = ImageIO.read(xy.toFile());
        assertEquals(Plots.WIDTH, xi.getWidth());
        assertTrue(count(xi, 0x1f77b4) > 20);
        assertEquals(0, count(xi, 0xff7f0e), "an empty series is left out, legend included");
    }

    @Test
    void cdfSpansZeroToOneAndBarsTakeTheirCategories() throws Exception {
        XyChart c = Plots.lines("cdf", "v", "CDF");
        Plots.addCdf(c, "v", new double[] {3, 1, 2, 2});
        XyChart.Series cdf = c.series().get(0);
        assertEquals(List.of(1.0, 2.0, 2.0, 3.0), java.util.Arrays.stream(cdf.x()).boxed().toList());
        assertEquals(List.of(0.25, 0.5, 0.75, 1.0), java.util.Arrays.stream(cdf.y()).boxed().toList());
        Path p = dir.resolve("bars.png");
        var bars = Plots.bars("b", "set", "n", List.of("a", "b"));
        Plots.addBars(bars, "up", List.of(1, 2));
        Plots.write(bars, p);
        assertEquals(Plots.HEIGHT, ImageIO.read(p.toFile()).getHeight());
    }
}
