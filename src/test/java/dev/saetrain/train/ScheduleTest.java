package dev.saetrain.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class ScheduleTest {
    @Test
    void warmsUpHoldsThenDecaysToZeroOverTheLastFifth() {
        Schedule s = new Schedule(100, 1.0, 10, 0.2, 4.0, 0.05);
        assertEquals(0.1, s.lrAt(1), 1e-12);
        assertEquals(1.0, s.lrAt(10), 1e-12);
        assertEquals(1.0, s.lrAt(80), 1e-12);
        assertEquals(81, s.decayStart());
        assertEquals(20.0 / 21, s.lrAt(81), 1e-12);
        assertEquals(1.0 / 21, s.lrAt(100), 1e-12);
        for (long t = 82; t <= 100; t++) {
            assertEquals(true, s.lrAt(t) < s.lrAt(t - 1), "decay is strictly decreasing at " + t);
        }
    }

    @Test
    void l1WarmsUpLinearlyOverTheFirstFivePercent() {
        Schedule s = Schedule.standard(1000, 1e-3, 5.0);
        assertEquals(5.0 / 50, s.l1At(1), 1e-12);
        assertEquals(2.5, s.l1At(25), 1e-12);
        assertEquals(5.0, s.l1At(50), 1e-12);
        assertEquals(5.0, s.l1At(1000), 1e-12);
        assertEquals(50, s.warmupSteps());
    }

    @Test
    void rejectsRunsWithoutSteps() {
        assertThrows(IllegalArgumentException.class, () -> Schedule.standard(0, 1e-3, 0));
        assertThrows(IllegalArgumentException.class, () -> Schedule.standard(10, -1, 0));
    }
}
