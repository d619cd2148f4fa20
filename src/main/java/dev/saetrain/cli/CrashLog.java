package dev.saetrain.cli;

import dev.saetrain.train.RunLog;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;

/**
 * Where a failure's stack trace goes instead of stderr: appended to the train.log of the run this process worked
 * on, if any, else to a new file in the temporary directory. stderr gets one line that points to it.
 */
final class CrashLog {
    private CrashLog() {
    }

    /** Writes {@code f}'s trace and returns the file it went to, or null when no file could be written. */
    static Path write(Failure f, String[] args) {
        StringWriter trace = new StringWriter();
        try (PrintWriter w = new PrintWriter(trace)) {
            w.println(LocalDateTime.now().format(DateTimeFormatter.ISO_LOCAL_DATE_TIME) + " sae-train "
                    + String.join(" ", args) + " failed (exit " + f.code() + "): " + f.message());
            f.cause().printStackTrace(w);
        }
        byte[] bytes = trace.toString().getBytes(StandardCharsets.UTF_8);
        Path runLog = RunLog.lastFile();
        if (runLog != null && Files.isRegularFile(runLog)) {
            try {
                Files.write(runLog, bytes, StandardOpenOption.APPEND);
                return runLog;
            } catch (IOException e) {
                // The run's disk may be the one that is full: fall through to the temporary directory.
            }
        }
        try {
            Path tmp = Files.createTempFile("sae-train-error-", ".log");
            Files.write(tmp, bytes);
            return tmp;
        } catch (IOException e) {
            return null;
        }
    }
}
