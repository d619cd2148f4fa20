package dev.saetrain.train;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.core.FileAppender;
import java.nio.file.Path;
import org.slf4j.LoggerFactory;

/** Adds and removes the run's train.log appender on the root logger, next to the console output. */
public final class RunLog implements AutoCloseable {
    /** The train.log most recently opened in this process, so that a failure's stack trace can go there. */
    private static volatile Path lastFile;

    private final FileAppender<ch.qos.logback.classic.spi.ILoggingEvent> appender;
    private final Logger root;

    RunLog(Path file) {
        lastFile = file;
        LoggerContext ctx = (LoggerContext) LoggerFactory.getILoggerFactory();
        PatternLayoutEncoder enc = new PatternLayoutEncoder();
        enc.setContext(ctx);
        enc.setPattern("%d{yyyy-MM-dd HH:mm:ss.SSS} %-5level [%thread] %logger{20} - %msg%n");
        enc.start();
        appender = new FileAppender<>();
        appender.setContext(ctx);
        appender.setName("run-file");
        appender.setFile(file.toString());
        appender.setAppend(true);
        appender.setEncoder(enc);
        appender.start();
        root = ctx.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        root.addAppender(appender);
    }

    /** The train.log most recently opened in this process (kept after close), or null when none was. */
    public static Path lastFile() {
        return lastFile;
    }

    @Override
    public void close() {
        root.detachAppender(appender);
        appender.stop();
    }
}
