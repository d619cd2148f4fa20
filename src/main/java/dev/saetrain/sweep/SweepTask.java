package dev.saetrain.sweep;

import java.nio.file.Path;
import java.util.List;

/**
 * One array task of a sweep: a single {@code sae-train train} invocation that trains a family of SAEs.
 *
 * @param index     the Slurm array index (0-based; line index + 1 of the manifest)
 * @param runDir    the run directory the invocation writes (its --out / --name)
 * @param trainArgs the exact arguments, starting with "train"
 * @param saeNames  the SAEs it trains (known at plan time; empty when read back from a manifest)
 */
public record SweepTask(int index, Path runDir, List<String> trainArgs, List<String> saeNames) {
    public SweepTask {
        if (index < 0 || runDir == null || trainArgs.isEmpty() || !"train".equals(trainArgs.get(0))) {
            throw new IllegalArgumentException("task " + index + " must have a run directory and train arguments, got "
                    + runDir + " " + trainArgs);
        }
        trainArgs = List.copyOf(trainArgs);
        saeNames = List.copyOf(saeNames);
    }
}
