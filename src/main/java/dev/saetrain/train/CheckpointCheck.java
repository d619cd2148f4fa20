package dev.saetrain.train;

import static dev.saetrain.error.Setting.RUN_NAME;

import dev.saetrain.error.BadInputException;
import dev.saetrain.error.UsageException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * Whether a checkpoint can be resumed from, checked before anything of it is trusted: every file against its checksum
 * ({@link CheckpointManifest}), checkpoint.json parsed strictly ({@link Checkpoint#parse}), every state file the
 * checkpoint needs present and finite ({@link SaeStateFile#scan}). A resume takes the newest checkpoint that passes
 * and falls back past damaged ones (see {@link #choose}); {@code sae-train inspect RUN} lists the verdicts.
 */
public final class CheckpointCheck {
    private CheckpointCheck() {
    }

    /** What a check found. */
    public enum Status {
        /** Every file matches its checksum and the contents are sound. */
        VERIFIED,
        /** Written before checksums existed: the contents are sound, the bytes cannot be verified. */
        UNVERIFIABLE,
        /** Not usable; {@link Verdict#problem} says why. */
        DAMAGED
    }

    /**
     * One checkpoint folder's verdict.
     *
     * @param problem what is wrong, naming the file; null unless damaged
     */
    public record Verdict(Path dir, long step, Status status, String problem) {
        public boolean usable() {
            return status != Status.DAMAGED;
        }
    }

    /** A verdict with the checkpoint read on the way (null when damaged). */
    record Checked(Verdict verdict, Checkpoint checkpoint) {
    }

    /**
     * The checkpoint a resume starts from.
     *
     * @param skipped newer checkpoints passed over, each with its problem
     * @param pointer what is wrong with {@code checkpoints/latest}, or null
     */
    record Chosen(Path dir, Checkpoint checkpoint, Verdict verdict, List<Verdict> skipped, String pointer) {
    }

    /**
     * The checkpoints of a run, newest first, each checked.
     *
     * @param latest  the folder {@code checkpoints/latest} names, or null (missing or damaged)
     * @param pointer what is wrong with {@code checkpoints/latest}, or null
     */
    public record RunReport(List<Verdict> checkpoints, Path latest, String pointer) {
        /** The step of {@link #latest}, or -1. */
        public long latestStep() {
            return latest == null ? -1 : CheckpointStore.stepOf(latest);
        }
    }

    /** Checks every {@code step-*} folder of {@code runDir}, newest first. */
    public static RunReport inspect(Path runDir) throws IOException {
        CheckpointStore store = new CheckpointStore(runDir);
        List<Verdict> out = new ArrayList<>();
        for (Path d : store.stepDirs()) {
            out.add(check(d).verdict());
        }
        Path latest = null;
        String pointer = null;
        try {
            latest = store.latest();
            if (latest == null && !out.isEmpty()) {
                pointer = store.dir().resolve(CheckpointStore.LATEST) + " is missing";
            }
        } catch (UsageException e) {
            pointer = e.getMessage();
        }
        return new RunReport(out, latest, pointer);
    }

    /** Checks one checkpoint folder completely (checksums, checkpoint.json, state files). */
    static Checked check(Path dir) {
        long step = CheckpointStore.stepOf(dir);
        try {
            boolean manifest = CheckpointManifest.present(dir);
            Map<String, String> listed = manifest ? CheckpointManifest.verify(dir) : null;
            Checkpoint.Parsed p = Checkpoint.parse(dir);
            Checkpoint ck = p.checkpoint();
            Path json = dir.resolve(Checkpoint.FILE);
            if (!manifest && p.format() != Checkpoint.FORMAT_UNCHECKED) {
                throw new BadInputException(dir.resolve(CheckpointManifest.FILE), "missing, though " + Checkpoint.FILE
                        + " has format " + p.format() + ", which always writes it; the checkpoint lost a file");
            }
            if (ck.step() != step) {
                throw new BadInputException(json, "says step " + ck.step() + " but lies in " + dir.getFileName()
                        + "; the checkpoint is damaged or was moved");
            }
            for (Checkpoint.Sae s : ck.saes()) {
                if (s.divergence() != null && s.divergence().lastGoodStep() < 0) {
                    continue; // diverged before any checkpoint: no state to keep
                }
                Path state = SaeStateFile.path(dir, s.name());
                if (listed != null && !listed.containsKey(state.getFileName().toString())) {
                    throw new BadInputException(state, "is not listed in " + CheckpointManifest.FILE
                            + "; the checkpoint is damaged");
                }
                if (!Files.isRegularFile(state)) {
                    throw new BadInputException(state, "missing; the checkpoint lost a file");
                }
                SaeStateFile.scan(state);
            }
            return new Checked(new Verdict(dir, step, manifest ? Status.VERIFIED : Status.UNVERIFIABLE, null), ck);
        } catch (UsageException | IllegalArgumentException e) {
            return new Checked(new Verdict(dir, step, Status.DAMAGED, e.getMessage()), null);
        } catch (IOException e) {
            // Unreadable (a file vanished, permissions): as unusable as a damaged one, and said so by name.
            return new Checked(new Verdict(dir, step, Status.DAMAGED, "cannot be read: " + e), null);
        }
    }

    /**
     * The cheap check pruning relies on before it deletes anything older: the bytes match their checksums (the writer
     * made sure they were sound) and checkpoint.json parses; for a checkpoint without checksums, that it parses.
     */
    static String quickProblem(Path dir) {
        try {
            if (CheckpointManifest.present(dir)) {
                CheckpointManifest.verify(dir);
            }
            Checkpoint.parse(dir);
            return null;
        } catch (UsageException | IllegalArgumentException e) {
            return e.getMessage();
        } catch (IOException e) {
            return "cannot be read: " + e;
        }
    }

    /**
     * The newest checkpoint a resume can use: the one {@code checkpoints/latest} names if it passes {@link #check} and
     * {@code mismatch} (which returns why a sound checkpoint does not fit the run, or null), else the newest older one
     * that does. With {@code latest} missing or naming no folder, every {@code step-*} folder is a candidate.
     *
     * @return null when the run has no checkpoint at all
     * @throws UsageException one line naming every checkpoint and its problem when none is usable; nothing is
     *                                  deleted
     */
    static Chosen choose(CheckpointStore store, Function<Checkpoint, String> mismatch) throws IOException {
        List<Path> dirs = store.stepDirs();
        Path latest = null;
        String pointer = null;
        try {
            latest = store.latest();
        } catch (UsageException e) {
            pointer = e.getMessage();
        }
        if (latest == null && pointer == null) {
            if (dirs.isEmpty()) {
                return null;
            }
            pointer = store.dir().resolve(CheckpointStore.LATEST) + " is missing";
        }
        List<Verdict> skipped = new ArrayList<>();
        long newest = latest == null ? Long.MAX_VALUE : CheckpointStore.stepOf(latest);
        for (Path d : dirs) {
            // Folders past the one latest names are stale: a crash came between their rename and the pointer update.
            if (CheckpointStore.stepOf(d) > newest) {
                continue;
            }
            Checked c = check(d);
            Verdict v = c.verdict();
            if (v.usable()) {
                String why = mismatch.apply(c.checkpoint());
                if (why == null) {
                    return new Chosen(d, c.checkpoint(), v, skipped, pointer);
                }
                v = new Verdict(d, v.step(), Status.DAMAGED, why);
            }
            skipped.add(v);
        }
        StringBuilder msg = new StringBuilder("run " + store.dir().getParent() + " has no checkpoint to resume from that "
                + "verifies (nothing was deleted): ");
        if (pointer != null) {
            msg.append(pointer).append("; ");
        }
        for (Verdict v : skipped) {
            msg.append(v.dir().getFileName()).append(": ").append(v.problem()).append("; ");
        }
        if (skipped.isEmpty()) {
            msg.append("no step-* folder at or below the one latest names; ");
        }
        msg.append("restore the damaged files (e.g. from a backup) or start the run again under a new ");
        throw UsageException.of(msg.toString(), RUN_NAME);
    }
}
