package dev.saetrain.sweep;

import dev.saetrain.error.BadInputException;
import dev.saetrain.error.UsageException;
import dev.saetrain.io.AtomicFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A sweep's {@code manifest.tsv}: line i (1-based) is array task i - 1, its fields separated by tabs: the run
 * directory, then the exact arguments of {@code sae-train}, starting with "train". Tabs keep paths with spaces
 * whole for {@code IFS=$'\t' read -r -a} in scripts/slurm/sweep.sbatch; an argument holding a tab or a newline is
 * refused when the manifest is written. Task logs are {@code logs/task-<i>.log} beside it.
 */
public final class Manifest {
    /** File name inside the sweep's output directory. */
    public static final String FILE = "manifest.tsv";
    /** Folder of the task logs, beside the manifest. */
    public static final String LOGS = "logs";

    private Manifest() {
    }

    /** The text of the manifest of {@code tasks}. */
    static String format(List<SweepTask> tasks) {
        StringBuilder sb = new StringBuilder();
        for (SweepTask t : tasks) {
            List<String> fields = new ArrayList<>();
            fields.add(t.runDir().toString());
            fields.addAll(t.trainArgs());
            for (String f : fields) {
                if (f.isEmpty() || f.indexOf('\t') >= 0 || f.indexOf('\n') >= 0 || f.indexOf('\r') >= 0) {
                    throw new UsageException("task " + t.index() + ": argument '" + f + "' is empty or holds a "
                            + "tab or newline, which the tab-separated manifest cannot carry; rename the path");
                }
            }
            sb.append(String.join("\t", fields)).append('\n');
        }
        return sb.toString();
    }

    /**
     * Writes {@code dir/manifest.tsv} atomically and creates {@code dir/logs/}. Refuses to replace a manifest
     * that plans other tasks (its runs may have started): plan such a sweep into another "out".
     */
    public static Path write(Path dir, List<SweepTask> tasks) throws IOException {
        Path file = dir.resolve(FILE);
        String text = format(tasks);
        if (Files.exists(file) && !Files.readString(file, StandardCharsets.UTF_8).equals(text)) {
            throw new BadInputException(file, "already holds a different plan (its tasks may have run); give the sweep "
                    + "another \"out\", or delete " + dir + " to start over");
        }
        Files.createDirectories(dir.resolve(LOGS));
        AtomicFiles.writeString(file, text);
        return file;
    }

    /** Reads a manifest back; a malformed line is a BadInputException naming the file and line. */
    public static List<SweepTask> read(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new BadInputException(file, "no such file; sweep plan writes it");
        }
        List<SweepTask> tasks = new ArrayList<>();
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        for (int i = 0; i < lines.size(); i++) {
            String[] f = lines.get(i).split("\t", -1);
            if (f.length < 3 || !"train".equals(f[1]) || Arrays.stream(f).anyMatch(String::isEmpty)) {
                throw new BadInputException(file, "line " + (i + 1) + " is not RUN_DIR<TAB>train<TAB>ARGS...; "
                        + "write the manifest with sae-train sweep plan");
            }
            tasks.add(new SweepTask(i, Path.of(f[0]), List.of(f).subList(1, f.length), List.of()));
        }
        return tasks;
    }

    /** The log of task {@code index} of the sweep in {@code dir}, as scripts/slurm/sweep.sbatch writes it. */
    public static Path log(Path dir, int index) {
        return dir.resolve(LOGS).resolve("task-" + index + ".log");
    }
}
