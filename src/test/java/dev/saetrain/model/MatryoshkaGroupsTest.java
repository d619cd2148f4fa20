package dev.saetrain.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.saetrain.error.UsageException;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@link SaeConfig#groups()}: the default nesting, validation, and what the copies do with the groups. */
class MatryoshkaGroupsTest {
    @Test
    void defaultGroupsArePrefixesOfASixteenthToTheWholeDictionary() {
        assertEquals(List.of(16, 16, 32, 64, 128), SaeConfig.defaultGroups(256));
        assertEquals(List.of(7, 8, 15, 30, 60), SaeConfig.defaultGroups(120));
        assertEquals(List.of(1, 2), SaeConfig.defaultGroups(3));
        assertEquals(List.of(1), SaeConfig.defaultGroups(1));
        for (int m = 1; m < 300; m++) {
            assertEquals(m, SaeConfig.defaultGroups(m).stream().mapToInt(Integer::intValue).sum(), "m = " + m);
            assertTrue(SaeConfig.defaultGroups(m).stream().allMatch(g -> g >= 1), "m = " + m);
        }
    }

    @Test
    void groupsAreValidatedAndGiveThePrefixEnds() {
        SaeConfig c = SaeConfig.matryoshka(8, 4, 3).withGroups(List.of(2, 10, 20));
        assertArrayEquals(new int[] {2, 12, 32}, c.groupEnds());
        assertEquals("x4-mk3", c.name());
        assertEquals(SaeConfig.defaultGroups(32), SaeConfig.matryoshka(8, 4, 3).groups());
        assertEquals(SaeConfig.defaultGroups(40), c.withNLatents(40).groups(), "a new size takes the default nesting");
        assertEquals(c.groups(), c.withK(5).groups());
        assertThrows(UsageException.class, () -> c.withGroups(List.of(2, 10, 21)));
        assertThrows(UsageException.class, () -> c.withGroups(List.of(0, 32)));
        assertThrows(UsageException.class, () -> SaeConfig.batchTopk(8, 4, 3).withGroups(List.of(32)));
        assertThrows(UsageException.class, () -> SaeConfig.matryoshka(8, 4, 33));
        assertThrows(UsageException.class, () -> SaeConfig.matryoshka(8, 4, 3).withTied(true));
        assertTrue(SaeConfig.batchTopk(8, 4, 3).groups().isEmpty());
        assertTrue(c.unitNormDecoder() && c.arch().exportsThreshold());
        assertEquals(SaeConfig.batchTopk(8, 4, 3).defaultLr(), c.defaultLr());
    }
}
