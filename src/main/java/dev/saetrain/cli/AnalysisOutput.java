package dev.saetrain.cli;

import dev.saetrain.train.RunLock;
import java.nio.file.Files;
import java.nio.file.Path;

/** Where the analysis commands write when no {@code --out} is given. */
final class AnalysisOutput {
    private AnalysisOutput() {
    }

    /**
     * {@code RUN/analysis} when {@code input} is a run directory (it has {@code saes/}) or a dictionary folder inside
     * one ({@code RUN/saes/NAME}); otherwise {@code input/analysis}.
     */
    static Path defaultDir(Path input) {
        Path abs = input.toAbsolutePath().normalize();
        if (Files.isDirectory(abs.resolve("saes"))) {
            return abs.resolve("analysis");
        }
        Path parent = abs.getParent();
        if (parent != null && parent.getFileName() != null && parent.getFileName().toString().equals("saes")
                && parent.getParent() != null) {
            return parent.getParent().resolve("analysis");
        }
        return abs.resolve("analysis");
    }

    /**
     * The lock of the run that {@code outDir} lies in ({@code RUN/analysis}, or {@code RUN/report}'s sibling), or null
     * when it lies in no run. Analyses written into a run take its lock like training does: a run being trained or
     * resumed is refused (its dictionaries are not final yet), and so is a second analysis writing the same folders.
     */
    static RunLock lockRun(Path outDir) throws java.io.IOException {
        Path parent = outDir.toAbsolutePath().normalize().getParent();
        if (parent == null || !Files.isRegularFile(parent.resolve("config.json"))) {
            return null;
        }
        RunLock lock = RunLock.acquire(parent, "write analyses into");
        lock.warnIfTakenOver();
        return lock;
    }
}
