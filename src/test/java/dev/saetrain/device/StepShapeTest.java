package dev.saetrain.device;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** The checks of the ops' value records: step sizes and the dense/sparse switch densities. */
class StepShapeTest {

    @Test
    void sizesMustNotBeNegative() {
        assertDoesNotThrow(() -> new StepShape(0, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> new StepShape(-1, 4, 8));
        assertThrows(IllegalArgumentException.class, () -> new StepShape(2, -4, 8));
        assertThrows(IllegalArgumentException.class, () -> new StepShape(2, 4, -8));
    }

    @Test
    void switchDensitiesLieInTheUnitInterval() {
        assertDoesNotThrow(() -> new SparseSwitch(1, 0.5, 1e-3));
        for (double bad : new double[] {0, -0.1, 1.5, Double.NaN}) {
            assertThrows(IllegalArgumentException.class, () -> new SparseSwitch(bad, 0.5, 0.5), "relu " + bad);
            assertThrows(IllegalArgumentException.class, () -> new SparseSwitch(0.5, bad, 0.5), "jumprelu " + bad);
            assertThrows(IllegalArgumentException.class, () -> new SparseSwitch(0.5, 0.5, bad), "gated " + bad);
        }
    }
}
