package dev.saetrain.device;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** The bias corrections every fast device's Adam takes from AdamUpdate. */
class AdamUpdateTest {

    @Test
    void biasCorrectionsFollowTheStepNumber() {
        // t = 1: m / (1 - b1) and sqrt(v / (1 - b2)), so the step size is 10 lr and 1 / sqrt(1 - b2) = 1 / sqrt(0.001).
        AdamUpdate first = new AdamUpdate(1e-3f, 0.9f, 0.999f, 1e-8f, 1f, 1);
        assertEquals(1e-2, first.stepSize(), 1e-8);
        assertEquals(1 / Math.sqrt(0.001), first.invSqrtBc2(), 1e-3);
        // Late in a run both corrections vanish.
        AdamUpdate late = new AdamUpdate(1e-3f, 0.9f, 0.999f, 1e-8f, 1f, 100_000);
        assertEquals(1e-3f, late.stepSize());
        assertEquals(1f, late.invSqrtBc2());
        // In between, each correction follows its own beta (t = 10: 1 - 0.9^10 and 1 - 0.999^10).
        AdamUpdate tenth = new AdamUpdate(1e-3f, 0.9f, 0.999f, 1e-8f, 1f, 10);
        assertEquals(1e-3 / (1 - Math.pow(0.9, 10)), tenth.stepSize(), 1e-9);
        assertEquals(1 / Math.sqrt(1 - Math.pow(0.999, 10)), tenth.invSqrtBc2(), 1e-4);
    }

    @Test
    void stepNumbersCountFromOne() {
        assertThrows(IllegalArgumentException.class, () -> new AdamUpdate(1e-3f, 0.9f, 0.999f, 1e-8f, 1f, 0));
    }
}
