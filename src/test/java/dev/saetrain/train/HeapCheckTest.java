package dev.saetrain.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.saetrain.error.UsageException;
import dev.saetrain.model.SaeConfig;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A family whose largest SAE's two matrices do not fit the Java heap is refused before anything is built. */
class HeapCheckTest {
    private static final long GIB = 1L << 30;

    @Test
    void theLargestSaeMustFitTheHeapTwice() {
        // d = 4096 at x128: 2^31 elements per matrix (past an int), 8 GiB each, 16 GiB for the pair.
        List<SaeConfig> fam = List.of(SaeConfig.topk(4096, 32, 32), SaeConfig.topk(4096, 128, 32),
                SaeConfig.topk(4096, 64, 32));
        assertEquals(1L << 31, (long) fam.get(1).dIn() * fam.get(1).nLatents());
        Trainer.checkHeap(fam, 16 * GIB);
        assertThrows(UsageException.class, () -> Trainer.checkHeap(fam, 16 * GIB - 1));
        UsageException e = assertThrows(UsageException.class, () -> Trainer.checkHeap(fam, 12 * GIB));
        assertEquals("SAE x128-k32 needs 16.0 GiB of Java heap for its W_enc and W_dec on the host (while it is "
                + "initialised and exported), more than this JVM's 12.0 GiB; run java -Xmx20g -jar ... "
                + "(JAVA_OPTS=-Xmx20g for bin/sae-train)", e.getMessage());
        Trainer.checkHeap(List.of(SaeConfig.topk(768, 64, 32)), 512L << 20);
    }
}
