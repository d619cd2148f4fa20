package dev.saetrain.sweep;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** SweepPlan.families: every (expansion, coefficient) pair of the grid in exactly one family of at most saes_per_job. */
class SweepFamiliesTest {
    @Test
    void familiesCoverTheGridOnceAndRespectTheLimit() {
        List<Integer> xs = List.of(1, 2, 4, 8, 16, 32, 64);
        List<String> coefs = List.of("8", "16", "32", "64", "128");
        for (int perJob = 1; perJob <= 40; perJob++) {
            List<SweepPlan.Family> fams = SweepPlan.families(xs, coefs, perJob);
            Set<String> seen = new HashSet<>();
            List<String> order = new ArrayList<>();
            for (SweepPlan.Family f : fams) {
                int size = f.expansions().size() * f.coefficients().size();
                assertTrue(size >= 1 && size <= perJob, perJob + ": " + f);
                for (int x : f.expansions()) {
                    for (String c : f.coefficients()) {
                        assertTrue(seen.add(x + "/" + c), "pair " + x + "/" + c + " twice at " + perJob);
                        order.add(x + "/" + c);
                    }
                }
            }
            assertEquals(xs.size() * coefs.size(), seen.size(), "every pair at saes_per_job " + perJob);
            List<String> grid = new ArrayList<>();
            xs.forEach(x -> coefs.forEach(c -> grid.add(x + "/" + c)));
            assertEquals(grid, order, "grid order");
        }
    }

    @Test
    void fewestTasksForTheCommonCases() {
        List<Integer> xs = List.of(2, 4, 8);
        assertEquals(9, SweepPlan.families(xs, List.of("1", "2", "3"), 1).size());
        assertEquals(6, SweepPlan.families(xs, List.of("1", "2", "3"), 2).size(), "one expansion, 2 + 1 values");
        assertEquals(3, SweepPlan.families(xs, List.of("1", "2", "3"), 5).size(), "one expansion row per task");
        assertEquals(2, SweepPlan.families(xs, List.of("1", "2", "3"), 6).size(), "two rows, then one");
        assertEquals(1, SweepPlan.families(xs, List.of("1", "2", "3"), 100).size());
    }
}
