package dev.saetrain.device.cuda;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** The argument checks of {@link ActArgs}. */
class ActArgsTest {

    @Test
    void groupEndsMustPartitionTheLatents() {
        assertDoesNotThrow(() -> ActArgs.checkGroupEnds(new int[] {2, 4, 8}, 3, 8));
        for (int[] ends : new int[][] {{4, 4, 8}, {0, 8}, {3, 7}, {}}) {
            assertThrows(IllegalArgumentException.class,
                    () -> ActArgs.checkGroupEnds(ends, Math.max(1, ends.length), 8), java.util.Arrays.toString(ends));
        }
    }
}
