package dev.saetrain.error;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A message is text and Settings: the caller chooses how a setting is named, getMessage() uses its key. */
class UsageExceptionTest {

    private static String shout(Setting s) {
        return "<" + s.name() + ">";
    }

    @Test
    void aBlamedSettingStartsTheMessageAndOthersAreNamedWhereTheyStand() {
        UsageException e = new UsageException(Setting.TOKENS, 100 + " is less than one batch (", Setting.BATCH,
                " 256); give ", Setting.TOKENS, " >= 256");
        assertEquals(Setting.TOKENS, e.setting());
        assertEquals(List.of(Setting.TOKENS, Setting.BATCH, Setting.TOKENS), e.settings());
        assertEquals("tokens 100 is less than one batch (batch 256); give tokens >= 256", e.getMessage());
        assertEquals("<TOKENS> 100 is less than one batch (<BATCH> 256); give <TOKENS> >= 256",
                e.message(UsageExceptionTest::shout));
    }

    @Test
    void aPlainMessageBlamesNoSetting() {
        UsageException e = new UsageException("the run already ended");
        assertNull(e.setting());
        assertEquals(List.of(), e.settings());
        assertEquals("the run already ended", e.getMessage());
        assertEquals("the run already ended", e.message(UsageExceptionTest::shout));
        UsageException of = UsageException.of("give more tokens or a smaller ", Setting.BATCH);
        assertNull(of.setting());
        assertEquals(List.of(Setting.BATCH), of.settings());
        assertEquals("give more tokens or a smaller <BATCH>", of.message(UsageExceptionTest::shout));
    }

    @Test
    void becauseKeepsTheCause() {
        RuntimeException cause = new NumberFormatException("too large");
        UsageException e = new UsageException(Setting.WARMUP, "99999999999999999999 steps is too large").because(cause);
        assertSame(cause, e.getCause());
        assertEquals("warmup 99999999999999999999 steps is too large", e.getMessage());
    }

    @Test
    void aBadInputNamesItsFileFirstAndMayNameSettingsInItsFix() {
        Path f = Path.of("shards", "a.npy");
        BadInputException e = new BadInputException(f, "row 7 is NaN; pass ", Setting.SKIP_NONFINITE, " to skip it");
        assertNull(e.setting(), "the file is at fault");
        assertEquals(f, e.file());
        assertEquals(f + ": row 7 is NaN; pass skip_nonfinite to skip it", e.getMessage());
        assertEquals(f + ": row 7 is NaN; pass <SKIP_NONFINITE> to skip it", e.message(UsageExceptionTest::shout));
        BadInputException more = e.extended("; resume with ", Setting.RESUME, " runs/x");
        assertSame(e, more.getCause());
        assertEquals(f, more.file());
        assertEquals(f + ": row 7 is NaN; pass <SKIP_NONFINITE> to skip it; resume with <RESUME> runs/x",
                more.message(UsageExceptionTest::shout));
        assertEquals(f + ": plain", new BadInputException(f, "plain").getMessage());
    }

    @Test
    void keysAreTheDomainsSpellingNotOptions() {
        for (Setting s : Setting.values()) {
            assertTrue(s.key().matches("[a-z][a-z0-9_]*"), s.name() + ": " + s.key());
        }
    }
}
