package dev.saetrain.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class CountPropertyTest {
    private static final String NAME = "saetrain.countPropertyTest";

    @Test
    void unsetGivesTheProgramsOwnCountAndSetGivesTheProperty() {
        System.clearProperty(NAME);
        assertEquals(42, CountProperty.get(NAME, "a row count", 42));
        System.setProperty(NAME, " 7 ");
        try {
            assertEquals(7, CountProperty.get(NAME, "a row count", 42));
            System.setProperty(NAME, "1");
            assertEquals(1, CountProperty.get(NAME, "a row count", 42));
        } finally {
            System.clearProperty(NAME);
        }
    }

    @Test
    void anythingButAWholeNumberOfAtLeastOneIsRefusedByName() {
        for (String bad : new String[] {"0", "-3", "seven", "", "2.5"}) {
            System.setProperty(NAME, bad);
            try {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> CountProperty.get(NAME, "a row count", 42), bad);
                assertTrue(e.getMessage().equals("-D" + NAME + "=" + bad + " is not a row count >= 1"), e.getMessage());
            } finally {
                System.clearProperty(NAME);
            }
        }
    }
}
