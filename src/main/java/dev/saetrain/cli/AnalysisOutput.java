package dev.saetrain.cli;

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
}
