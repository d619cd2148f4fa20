package dev.saetrain.train;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.core.FileAppender;
import java.nio.file.Path;
import org.slf4j.LoggerFactory;

/** Adds and removes the run's train.log appender on the root logger, next to the console output. */
final class RunLog implements AutoCloseable {
    private final FileAppender<ch.qos.logback.classic.spi.ILoggingEvent> appender;
    private final Logger root;

    RunLog(Path file) {
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

    @Override
    public void close() {
        root.detachAppender(appender);
        appender.stop();
    }
}
