package dev.saetrain.train;

import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.DelegatingProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The console progress bar: tokens, tokens/s, ETA, and the first SAE's mse, fvu, L0 and dead %. On a
 * terminal it redraws in place on stderr; in a batch job (no console) it becomes a log line every 30 s.
 */
final class Progress implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger("progress");
    private final ProgressBar bar;

    /** @param doneTokens tokens trained before this process (a resumed run continues the bar there) */
    Progress(long totalTokens, long doneTokens) {
        ProgressBarBuilder b = new ProgressBarBuilder().setTaskName("train").setInitialMax(totalTokens)
                .startsFrom(doneTokens, java.time.Duration.ZERO)
                .setUnit(" tok", 1).showSpeed().setSpeedUnit(java.time.temporal.ChronoUnit.SECONDS)
                .setStyle(ProgressBarStyle.ASCII);
        if (System.console() != null) {
            b.setConsumer(new ConsoleProgressBarConsumer(System.err));
        } else {
            // Log lines, not a redrawn bar: wide enough for the metrics, plain ASCII for log files. The bar
            // renders its final state both on its last refresh and on close: a line equal to the one before it
            // is not logged again.
            b.setConsumer(new DelegatingProgressBarConsumer(new DistinctLines(LOG::info), 160))
                    .setUpdateIntervalMillis(30_000);
        }
        bar = b.build();
    }

    void update(long tokens, double tokensPerS, IntervalStats iv, int dead, int nLatents) {
        bar.stepTo(tokens);
        bar.setExtraMessage(String.format(" mse %.4g fvu %.4f L0 %.1f dead %.1f%%", iv.mse(), iv.fvu(), iv.l0(),
                100.0 * dead / nLatents));
    }

    @Override
    public void close() {
        bar.close();
    }

    /** Passes each line on unless it equals the previous one. */
    static final class DistinctLines implements java.util.function.Consumer<String> {
        private final java.util.function.Consumer<String> out;
        private String last;

        DistinctLines(java.util.function.Consumer<String> out) {
            this.out = out;
        }

        @Override
        public synchronized void accept(String line) {
            if (!line.equals(last)) {
                last = line;
                out.accept(line);
            }
        }
    }
}
