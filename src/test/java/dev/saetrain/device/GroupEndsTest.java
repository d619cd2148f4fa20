package dev.saetrain.device;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** The matryoshka group ends check every device and the reference share. */
class GroupEndsTest {

    @Test
    void groupEndsMustPartitionTheLatents() {
        assertDoesNotThrow(() -> GroupEnds.check(new int[] {2, 4, 8}, 3, 8));
        assertDoesNotThrow(() -> GroupEnds.check(new int[] {2, 4, 8, 99}, 3, 8)); // a longer buffer is fine
        for (int[] ends : new int[][] {{4, 4, 8}, {0, 8}, {3, 7}, {}}) {
            assertThrows(IllegalArgumentException.class,
                    () -> GroupEnds.check(ends, Math.max(1, ends.length), 8), java.util.Arrays.toString(ends));
        }
    }
}
