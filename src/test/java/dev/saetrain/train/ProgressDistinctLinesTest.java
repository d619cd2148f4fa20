package dev.saetrain.train;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The progress log drops a line equal to the one before it (the bar's final state is rendered twice). */
class ProgressDistinctLinesTest {
    @Test
    void dropsRepeatsOfThePreviousLineOnly() {
        List<String> out = new ArrayList<>();
        Progress.DistinctLines d = new Progress.DistinctLines(out::add);
        for (String s : new String[] {"a 10%", "a 10%", "a 50%", "a 100%", "a 100%", "a 10%"}) {
            d.accept(s);
        }
        assertEquals(List.of("a 10%", "a 50%", "a 100%", "a 10%"), out);
    }
}
