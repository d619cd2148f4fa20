package dev.saetrain.plot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class XyChartTest {
    private static final int BLUE = Frame.PALETTE[0];
    private static final int ORANGE = Frame.PALETTE[1];

    private static boolean near(Image img, long px, long py, int rgb, int reach) {
        for (int dy = -reach; dy <= reach; dy++) {
            for (int dx = -reach; dx <= reach; dx++) {
                int x = (int) px + dx;
                int y = (int) py + dy;
                if (x >= 0 && y >= 0 && x < img.width() && y < img.height() && img.get(x, y) == rgb) {
                    return true;
                }
            }
        }
        return false;
    }

    @Test
    void aLineIsDrawnAlongItsPointsAndNowhereElse() {
        XyChart chart = new XyChart("a line", "x", "y", 400, 300).add("y = x / 2", new double[] {0, 10},
                new double[] {0, 5}, XyChart.Style.LINE);
        XyChart.Plan p = chart.plan();
        Image img = chart.render();
        double ax = p.x().pixel(0);
        double ay = p.y().pixel(0);
        double bx = p.x().pixel(10);
        double by = p.y().pixel(5);
        for (int i = 0; i <= 50; i++) {
            double t = i / 50.0;
            assertTrue(near(img, Math.round(ax + t * (bx - ax)), Math.round(ay + t * (by - ay)), BLUE, 1), "t " + t);
        }
        int blue = 0;
        Image.Rect a = p.area();
        for (int y = a.y0(); y <= a.y1(); y++) {
            for (int x = a.x0(); x <= a.x1(); x++) {
                if (img.get(x, y) == BLUE) {
                    blue++;
                    // distance from the segment's line in pixels
                    double d = Math.abs((by - ay) * (x - ax) - (bx - ax) * (y - ay)) / Math.hypot(bx - ax, by - ay);
                    // a 2-pixel brush on a rounded pixel path: at most about 1.5 + 0.7 pixels off
                    assertTrue(d < 2.5, "a blue pixel " + d + " px off the line at " + x + "," + y);
                }
            }
        }
        assertTrue(blue > 2 * (bx - ax) * 0.9, "the 2-pixel line is drawn: " + blue + " pixels");
        // the axes are the data's range, 4% wider on each side
        assertEquals(-0.4, p.x().lo(), 1e-12);
        assertEquals(10.4, p.x().hi(), 1e-12);
    }

    @Test
    void logAxesPutTheGeometricMiddleInTheMiddleAndLeaveOutValuesTheyCannotShow() {
        XyChart chart = new XyChart("log", "x", "y", 500, 400).logX(true).logY(true).markerRadius(3)
                .add("points", new double[] {1, 10, 100, -5, 20}, new double[] {1, 100, 10_000, 3, 0},
                        XyChart.Style.SCATTER);
        XyChart.Plan p = chart.plan();
        Image img = chart.render();
        Image.Rect a = p.area();
        assertEquals((a.x0() + a.x1()) / 2.0, p.x().pixel(10), 1e-9);
        assertEquals((a.y0() + a.y1()) / 2.0, p.y().pixel(100), 1e-9);
        assertEquals(BLUE, img.get((int) Math.round(p.x().pixel(10)), (int) Math.round(p.y().pixel(100))));
        assertEquals(BLUE, img.get((int) Math.round(p.x().pixel(100)), (int) Math.round(p.y().pixel(10_000))));
        assertTrue(p.x().lo() > 0 && p.x().lo() < 1 && p.y().hi() > 10_000 && p.y().hi() < 20_000);
        assertTrue(p.y().log() && p.x().log());
    }

    @Test
    void aStepAreaFillsEachBinDownToZero() {
        XyChart chart = new XyChart("hist", "x", "count", 400, 300).add("n", new double[] {0, 1, 2},
                new double[] {4, 2, 2}, XyChart.Style.STEP_AREA);
        XyChart.Plan p = chart.plan();
        Image img = chart.render();
        assertEquals(0, p.y().lo());
        int fill = Frame.tint(BLUE);
        int mid0 = (int) Math.round(p.x().pixel(0.5));
        int mid1 = (int) Math.round(p.x().pixel(1.5));
        assertEquals(fill, img.get(mid0, (int) Math.round(p.y().pixel(3))));
        assertEquals(fill, img.get(mid1, (int) Math.round(p.y().pixel(1))));
        assertNotEquals(fill, img.get(mid1, (int) Math.round(p.y().pixel(3))));
        assertEquals(BLUE, img.get(mid0, (int) Math.round(p.y().pixel(4)))); // the bin's top edge
    }

    @Test
    void linesAreClippedToTheDataArea() {
        Image img = new Image(50, 50, 0xffffff);
        Image.Rect clip = new Image.Rect(10, 10, 39, 39);
        img.line(-100, 25, 200, 25, 0x000001, 1, clip);
        img.line(0, 0, 5, 49, 0x000002, 3, clip); // wholly outside
        img.line(45, 45, 30, 30, 0x000003, 1, clip);
        for (int x = 0; x < 50; x++) {
            assertEquals(x >= 10 && x <= 39 ? 1 : 0xffffff, img.get(x, 25) == 0x000001 ? 1 : 0xffffff, "x " + x);
        }
        for (int y = 0; y < 50; y++) {
            for (int x = 0; x < 10; x++) {
                assertNotEquals(0x000002, img.get(x, y));
            }
        }
        assertEquals(0x000003, img.get(39, 39));
        assertEquals(0x000003, img.get(30, 30));
        assertEquals(0xffffff, img.get(29, 29));
        assertEquals(0xffffff, img.get(40, 40));
        img.line(Double.NaN, 1, 2, 3, 0x000004, 1, clip); // draws nothing, does not throw
    }

    @Test
    void seriesTakeThePaletteInOrderAndTheLegendNamesThem() {
        XyChart chart = new XyChart("two", "x", "y", 600, 400)
                .add("first", new double[] {0, 1}, new double[] {0, 1}, XyChart.Style.LINE)
                .add("second", new double[] {0, 1}, new double[] {1, 0}, XyChart.Style.LINE);
        XyChart.Plan p = chart.plan();
        Image img = chart.render();
        assertEquals(2, p.legend().size());
        assertEquals("second", p.legend().get(1).name());
        assertEquals(ORANGE, p.legend().get(1).rgb());
        boolean orangeRightOfArea = false;
        for (int y = p.area().y0(); y < p.area().y1(); y++) {
            for (int x = p.area().x1() + 1; x < img.width(); x++) {
                orangeRightOfArea |= img.get(x, y) == ORANGE;
            }
        }
        assertTrue(orangeRightOfArea, "the legend shows the second series' swatch");
    }

    @Test
    void anEmptyChartStillRenders() {
        Image img = new XyChart("nothing", "x", "y", 300, 200).logY(true).render();
        assertEquals(300, img.width());
        assertFalse(near(img, 150, 100, BLUE, 100));
    }
}
