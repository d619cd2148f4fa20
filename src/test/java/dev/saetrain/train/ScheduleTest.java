package dev.saetrain.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.saetrain.error.Setting;
import dev.saetrain.error.UsageException;
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
        assertEquals(0, s.warmupSteps(), "the default recipe has no LR warm-up; lambda's warm-up is its own");
    }

    @Test
    void theDefaultRecipeIsTheStandardScheduleAConstantLr() {
        for (long total : new long[] {1, 4, 5, 99, 1000, 25_000, 1_000_000}) {
            Schedule s = Schedule.of(total, 1e-3, 5.0, Recipe.DEFAULT);
            assertEquals(Schedule.standard(total, 1e-3, 5.0), s);
            assertEquals(0, s.warmupSteps());
            assertEquals(1e-3, s.lrAt(1), 0);
            assertEquals(1e-3, s.lrAt(total), 0);
            assertEquals(Math.min(1000, total / 20), Schedule.of(total, 1e-3, 5.0, Recipe.ORIGINAL).warmupSteps());
            assertEquals(0.2, Schedule.of(total, 1e-3, 5.0, Recipe.ORIGINAL).decayFraction(), 0);
        }
    }

    @Test
    void warmupInStepsOrAsAFractionOfTheRun() {
        Schedule steps = Schedule.of(1000, 1.0, 0, Recipe.DEFAULT.withWarmup(Recipe.Warmup.parse("40")));
        assertEquals(40, steps.warmupSteps());
        assertEquals(1.0 / 40, steps.lrAt(1), 1e-12);
        assertEquals(1.0, steps.lrAt(40), 1e-12);
        Schedule fraction = Schedule.of(1000, 1.0, 0, Recipe.DEFAULT.withWarmup(Recipe.Warmup.parse("0.25")));
        assertEquals(250, fraction.warmupSteps());
        assertEquals(0.5, fraction.lrAt(125), 1e-12);
        Schedule none = Schedule.of(1000, 1.0, 0, Recipe.DEFAULT.withWarmup(Recipe.Warmup.parse("0")));
        assertEquals(1.0, none.lrAt(1), 1e-12);
        assertEquals("auto", Recipe.Warmup.parse("auto").text());
        assertEquals(Recipe.Warmup.parse("0.25"), Recipe.Warmup.parse(Recipe.Warmup.parse("0.25").text()));
        assertEquals(Recipe.Warmup.parse("1e-4"), Recipe.Warmup.parse(Recipe.Warmup.parse("1e-4").text()));
    }

    @Test
    void warmupRefusesWhatIsNeitherStepsNorAFraction() {
        for (String bad : new String[] {"1.5", "1.0", "0.0", "-3", "-0.1", "abc", "", "1e3", "NaN"}) {
            UsageException e = assertThrows(UsageException.class, () -> Recipe.Warmup.parse(bad),
                    bad);
            assertEquals(Setting.WARMUP, e.setting(), e.getMessage());
            assertTrue(e.getMessage().startsWith("warmup "), e.getMessage());
        }
    }

    @Test
    void decayZeroIsAConstantLrAndResamplingRunsToTheLastStepButOne() {
        Schedule s = Schedule.of(100, 1.0, 0, Recipe.DEFAULT.withWarmup(Recipe.Warmup.parse("0")).withDecay(0));
        for (long t = 1; t <= 100; t++) {
            assertEquals(1.0, s.lrAt(t), 0, "step " + t);
        }
        assertEquals(101, s.decayStart());
        assertEquals(100, s.resampleUntil());
    }

    @Test
    void decayHalfTheRun() {
        Schedule s = Schedule.of(100, 1.0, 0, Recipe.DEFAULT.withWarmup(Recipe.Warmup.parse("0")).withDecay(0.5));
        assertEquals(51, s.decayStart());
        assertEquals(51, s.resampleUntil());
        assertEquals(1.0, s.lrAt(50), 0);
        assertEquals(50.0 / 51, s.lrAt(51), 1e-12);
        assertEquals(1.0 / 51, s.lrAt(100), 1e-12);
        // The original recipe keeps the resampling limit it always had: the decay's first step.
        Schedule original = Schedule.of(100, 1.0, 0, Recipe.ORIGINAL);
        assertEquals(81, original.decayStart());
        assertEquals(original.decayStart(), original.resampleUntil());
    }

    @Test
    void lambdaWarmupDoesNotFollowTheLrSchedule() {
        Schedule s = Schedule.of(1000, 1e-3, 5.0, Recipe.DEFAULT.withWarmup(Recipe.Warmup.parse("0.5")).withDecay(0));
        Schedule standard = Schedule.standard(1000, 1e-3, 5.0);
        for (long t = 1; t <= 1000; t += 7) {
            assertEquals(standard.l1At(t), s.l1At(t), 0, "step " + t);
        }
    }

    @Test
    void recipeValuesOutOfRangeNameTheirSetting() {
        assertBlames(Setting.LR_DECAY, () -> Recipe.DEFAULT.withDecay(-0.1));
        assertBlames(Setting.LR_DECAY, () -> Recipe.DEFAULT.withDecay(1.5));
        assertBlames(Setting.AUXK_COEF, () -> Recipe.DEFAULT.withAuxkCoef(-1));
        assertBlames(Setting.ADAM_EPS, () -> Recipe.DEFAULT.withAdamEps(0));
        assertBlames(Setting.ADAM_EPS, () -> Recipe.DEFAULT.withAdamEps(1e-50));
        assertBlames(Setting.B_DEC_INIT, () -> Recipe.BDecInit.parse("foo"));
        assertBlames(Setting.NORMALIZE, () -> Recipe.Normalize.parse("l2"));
        // Outside the CLI a setting is named by its config.json key.
        assertTrue(assertThrows(UsageException.class, () -> Recipe.DEFAULT.withAuxkCoef(-1)).getMessage()
                .startsWith("auxk_coef must be"));
    }

    private static void assertBlames(Setting expected, org.junit.jupiter.api.function.Executable refused) {
        UsageException e = assertThrows(UsageException.class, refused);
        assertEquals(expected, e.setting(), e.getMessage());
    }

    /**
     * jumprelu's threshold LR: the weights' LR wherever lr * steps already covers {@link Schedule#THRESHOLD_TRAVEL}
     * (long runs, and the d = 64 toy tests at 2e-2 for 470 steps), faster on short runs, and shaped like the LR.
     */
    @Test
    void thresholdLrKeepsLongRunsAndSpeedsUpShortOnes() {
        assertEquals(1, Schedule.standard(1_000_000, 7e-5, 1).thresholdLrFactor(), 0);
        assertEquals(1, Schedule.standard(470, 2e-2, 1).thresholdLrFactor(), 0);
        assertEquals(100, Schedule.standard(1000, 7e-5, 1).thresholdLrFactor(), 1e-9);
        assertEquals(10, Schedule.standard(10_000, 7e-5, 1).thresholdLrFactor(), 1e-9);
        Schedule decayed = Schedule.of(1000, 7e-5, 1, Recipe.ORIGINAL);
        for (long t = 1; t <= 1000; t += 13) {
            assertEquals(decayed.lrAt(t) * 100, decayed.thresholdLrAt(t), 1e-12, "step " + t);
        }
        assertEquals(7e-3, Schedule.standard(1000, 7e-5, 1).thresholdLrAt(500), 1e-12);
    }

    @Test
    void rejectsRunsWithoutSteps() {
        assertThrows(UsageException.class, () -> Schedule.standard(0, 1e-3, 0));
        assertThrows(UsageException.class, () -> Schedule.standard(10, -1, 0));
    }
}
