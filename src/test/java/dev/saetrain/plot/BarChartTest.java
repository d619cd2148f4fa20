package dev.saetrain.plot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class BarChartTest {
    /** Height in pixels of each bar of colour {@code rgb} standing on the lowest row it reaches, left to right. */
    private static List<Integer> bars(Image img, int rgb) {
        int base = -1;
        for (int y = 0; y < img.height(); y++) {
            for (int x = 0; x < img.width(); x++) {
                if (img.get(x, y) == rgb) {
                    base = y;
                }
            }
        }
        List<Integer> heights = new ArrayList<>();
        boolean inBar = false;
        for (int x = 0; x < img.width(); x++) {
            boolean on = base >= 0 && img.get(x, base) == rgb;
            if (on && !inBar) {
                int h = 0;
                while (base - h >= 0 && img.get(x, base - h) == rgb) {
                    h++;
                }
                heights.add(h);
            }
            inBar = on;
        }
        return heights;
    }

    @Test
    void barHeightsAreProportionalAndStandOnOneBase() {
        BarChart chart = new BarChart("bars", "set", "n", 600, 400, List.of("a", "b", "c"))
                .add("up", new double[] {2, 6, 1}).add("down", new double[] {4, 0, 3});
        Image img = chart.render();
        List<Integer> blue = bars(img, Frame.PALETTE[0]);
        List<Integer> orange = bars(img, Frame.PALETTE[1]);
        assertEquals(3, blue.size(), "blue bars " + blue);
        assertEquals(2, orange.size(), "a zero bar draws nothing: " + orange);
        double unit = blue.get(2);
        assertEquals(2.0, blue.get(0) / unit, 0.05);
        assertEquals(6.0, blue.get(1) / unit, 0.1);
        assertEquals(4.0, orange.get(0) / unit, 0.1);
        assertEquals(3.0, orange.get(1) / unit, 0.1);
    }

    @Test
    void aSeriesNeedsAValuePerCategory() {
        BarChart chart = new BarChart("bars", "set", "n", 600, 400, List.of("a", "b"));
        assertThrows(IllegalArgumentException.class, () -> chart.add("x", new double[] {1}));
    }
}
