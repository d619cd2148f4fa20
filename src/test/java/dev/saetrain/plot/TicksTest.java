package dev.saetrain.plot;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class TicksTest {
    @Test
    void stepIsOneTwoOrFiveTimesAPowerOfTen() {
        assertEquals(2, Ticks.step(10, 5), 1e-12);
        assertEquals(0.2, Ticks.step(1, 5), 1e-12);
        assertEquals(2, Ticks.step(12.6, 6), 1e-12);
        assertEquals(5, Ticks.step(30, 6), 1e-12);
        assertEquals(10, Ticks.step(80, 8), 1e-12);
        assertEquals(1e-4, Ticks.step(9e-4, 8), 1e-18);
        assertEquals(50_000, Ticks.step(300_000, 6), 1e-6);
        assertThrows(IllegalArgumentException.class, () -> Ticks.step(0, 5));
    }

    @Test
    void linearTicksAreTheStepsMultiplesInsideTheRange() {
        assertArrayEquals(new double[] {0, 0.2, 0.4, 0.6, 0.8, 1.0}, Ticks.linear(0, 1, 5), 1e-12);
        assertArrayEquals(new double[] {-4, -2, 0, 2, 4}, Ticks.linear(-5.3, 5.3, 5), 1e-12);
        assertArrayEquals(new double[] {0.2, 0.4, 0.6}, Ticks.linear(0.13, 0.67, 3), 1e-12);
        double[] t = Ticks.linear(-0.3, 0.3, 6);
        assertEquals(0.0, t[3]); // exactly zero, not 5.55e-17
        assertEquals(Double.doubleToLongBits(0.0), Double.doubleToLongBits(t[3]));
    }

    @Test
    void logTicksArePowersOfTenOrOneTwoFive() {
        assertArrayEquals(new double[] {1e-3, 1e-2, 1e-1, 1, 10, 100}, Ticks.log(5e-4, 300), 1e-15);
        assertArrayEquals(new double[] {2, 5, 10, 20}, Ticks.log(1.5, 30), 1e-12);
        assertArrayEquals(new double[] {1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7}, Ticks.log(1.1, 1.7), 1e-12); // linear
        double[] wide = Ticks.log(1e-30, 1e10); // 40 decades: every fourth power, aligned on 1
        assertEquals(10, wide.length);
        assertEquals(1e-28, wide[0], 1e-40);
        assertEquals(1, wide[7], 1e-12);
        assertThrows(IllegalArgumentException.class, () -> Ticks.log(0, 1));
    }

    @Test
    void labelsCarryTheDecimalsTheStepNeeds() {
        assertEquals("0", Ticks.label(0, 0.2));
        assertEquals("0.4", Ticks.label(0.4, 0.2));
        assertEquals("0.05", Ticks.label(0.05, 0.05));
        assertEquals("-1.5", Ticks.label(-1.5, 0.5));
        assertEquals("20", Ticks.label(20, 10));
        assertEquals("1e-4", Ticks.label(1e-4, 1e-4));
        assertEquals("2.5e6", Ticks.label(2.5e6, 5e5));
        assertEquals("-3e5", Ticks.label(-3e5, 1e5));
    }

    @Test
    void logAxisLabelsEachPowerByItself() {
        double[] t = Ticks.log(5e-4, 300);
        assertEquals("0.001", Axis.label(t[0], t, true));
        assertEquals("0.1", Axis.label(t[2], t, true));
        assertEquals("100", Axis.label(t[5], t, true));
        double[] lin = Ticks.log(1.1, 1.7);
        assertEquals("1.2", Axis.label(lin[1], lin, true)); // a linear fallback tick: the step's decimals
        double[] mixed = Ticks.log(0.065, 0.37); // linear fallback: 0.10, 0.15, ..., 0.35
        assertEquals(0.1, mixed[0], 1e-12);
        assertEquals("0.10", Axis.label(mixed[0], mixed, true)); // as its neighbours, not "0.1"
        assertEquals("0.15", Axis.label(mixed[1], mixed, true));
    }
}
