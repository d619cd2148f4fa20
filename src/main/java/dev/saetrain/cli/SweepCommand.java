package dev.saetrain.cli;

import dev.saetrain.data.ShardSet;
import dev.saetrain.error.BadInputException;
import dev.saetrain.error.Setting;
import dev.saetrain.error.UsageException;
import dev.saetrain.io.AtomicFiles;
import dev.saetrain.sweep.FrontierPlot;
import dev.saetrain.sweep.Manifest;
import dev.saetrain.sweep.ShellQuote;
import dev.saetrain.sweep.SweepCollector;
import dev.saetrain.sweep.SweepPlan;
import dev.saetrain.sweep.SweepSpec;
import dev.saetrain.sweep.SweepTable;
import dev.saetrain.sweep.SweepTask;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code sae-train sweep plan|collect}: the submission and collection sides of a Slurm sweep (scripts/slurm/). */
@Command(name = "sweep", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
        description = "Sweeps on a Slurm cluster: 'sweep plan SWEEP.json' writes the job array's manifest, "
                + "scripts/slurm/sweep.sbatch runs it, 'sweep collect OUT' gathers the results.",
        subcommands = {SweepCommand.Plan.class, SweepCommand.Collect.class})
final class SweepCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        spec.commandLine().usage(spec.commandLine().getErr());
        return Main.BAD_INPUT;
    }

    /** {@code sweep plan SWEEP.json}. */
    @Command(name = "plan", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
            description = {"Expands the grid in SWEEP.json (see scripts/slurm/example-sweep.json) into array tasks and "
                    + "writes OUT/manifest.tsv (line i: the run folder and the exact 'sae-train train' arguments of "
                    + "task i-1) and OUT/logs/. Validates the grid and the shards first; prints the sbatch command."})
    static final class Plan implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Parameters(index = "0", paramLabel = "SWEEP.json", description = "The sweep description.")
        Path file;

        @Override
        public Integer call() throws Exception {
            SweepSpec s = SweepSpec.load(file);
            ShardSet shards = ShardSet.open(s.shardDir());
            List<SweepTask> tasks = SweepPlan.plan(s, shards, OptionNames::of);
            for (SweepTask t : tasks) {
                try {
                    // The parser and the checks train makes before it writes anything: a task whose arguments train
                    // would refuse is caught now, not on the cluster. What depends on the node that runs it (its cores
                    // for --threads, its memory for --max-memory) can only be checked there.
                    TrainCommand train = new TrainCommand();
                    new CommandLine(train).parseArgs(t.trainArgs().subList(1, t.trainArgs().size())
                            .toArray(String[]::new));
                    train.options(shards);
                } catch (CommandLine.ParameterException e) {
                    throw new BadInputException(file, "task " + t.index() + " would be refused by train: "
                            + e.getMessage());
                } catch (UsageException e) {
                    throw new BadInputException(file, "task " + t.index() + " would be refused by train: "
                            + OptionNames.message(e));
                }
            }
            Path manifest = Manifest.write(s.out(), tasks);
            AtomicFiles.writeString(s.out().resolve("sweep.json"), Files.readString(file));
            PrintWriter out = spec.commandLine().getOut();
            int saes = tasks.stream().mapToInt(t -> t.saeNames().size()).sum();
            out.printf(Locale.ROOT, "planned %d task(s), %d SAE(s) in %s%n", tasks.size(), saes, manifest);
            for (SweepTask t : tasks) {
                out.printf(Locale.ROOT, "  task %d: %s -> %s%n", t.index(), String.join(" ", t.saeNames()),
                        t.runDir().getFileName());
            }
            boolean cpu = "cpu".equals(s.trainValue(Setting.DEVICE));
            // Printed to be pasted into a shell: every word quoted, so that a path holding $(...) stays a path.
            List<String> sbatch = new java.util.ArrayList<>(List.of("sbatch", "--array=0-" + (tasks.size() - 1)));
            if (cpu) {
                sbatch.add("--gres=none");
            }
            sbatch.addAll(List.of("--output=" + s.out().resolve(Manifest.LOGS).resolve("slurm-%A_%a.out"),
                    "scripts/slurm/sweep.sbatch", manifest.toString()));
            out.printf(Locale.ROOT, "submit (from the sae-train checkout; SAE_TRAIN_JAR names the jar if it is not "
                    + "target/sae-train.jar):%n  %s%n", ShellQuote.join(sbatch));
            if (tasks.size() > 1000) {
                out.println("note: more than 1000 tasks; Slurm's default MaxArraySize is 1001, ask your admin or "
                        + "raise saes_per_job");
            }
            out.printf(Locale.ROOT, "then: %s%n", ShellQuote.join(List.of("sae-train", "sweep", "collect",
                    s.out().toString())));
            return Main.OK;
        }
    }

    /** {@code sweep collect RUNS_DIR}. */
    @Command(name = "collect", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
            description = {"Gathers every finished SAE of the sweep in RUNS_DIR (its \"out\" folder, or any folder of "
                    + "runs) into RUNS_DIR/sweep-results.csv and .json (name, architecture, d_sae, k, l1, final L0, FVU, "
                    + "dead fraction, tokens, wall time) and the L0 vs FVU plot RUNS_DIR/frontier.png, and lists the "
                    + "tasks that have not finished or failed, with their logs. Exit code 0 even when some have not."})
    static final class Collect implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Parameters(index = "0", paramLabel = "RUNS_DIR", description = "The sweep's out folder.")
        Path dir;

        @Override
        public Integer call() throws Exception {
            SweepCollector.Result r = SweepCollector.collect(dir);
            SweepTable.write(dir, r);
            boolean plotted = FrontierPlot.write(dir, r.rows());
            PrintWriter out = spec.commandLine().getOut();
            out.printf(Locale.ROOT, "%-5s %-22s %-12s %-11s %7s %5s %7s %8s %9s %6s %11s %8s%n", "task", "run", "sae",
                    "arch", "d_sae", "k", "l1", "L0", "FVU", "dead", "tokens", "wall_s");
            for (SweepCollector.Row w : r.rows()) {
                out.printf(Locale.ROOT, "%-5s %-22s %-12s %-11s %7d %5s %7s %8.2f %9.4f %6.3f %11d %8.1f%s%n",
                        w.task() < 0 ? "-" : Integer.toString(w.task()), w.runDir().getFileName(), w.name(),
                        w.architecture(), w.dSae(), w.k() > 0 ? Integer.toString(w.k()) : "-",
                        Double.isNaN(w.coefficient()) ? "-" : Double.toString(w.coefficient()), w.l0(), w.fvu(),
                        w.deadFraction(), w.tokens(), w.wallSeconds(), w.onFrontier() ? "  *frontier" : "");
            }
            out.printf(Locale.ROOT, "%d finished SAE(s); table in %s and %s%s%n", r.rows().size(),
                    dir.resolve(SweepTable.CSV), dir.resolve(SweepTable.JSON_FILE),
                    plotted ? "; plot in " + dir.resolve(FrontierPlot.FILE) : "; no plot (no finished SAE)");
            PrintWriter err = spec.commandLine().getErr();
            for (SweepCollector.Unfinished u : r.unfinished()) {
                err.printf(Locale.ROOT, "unfinished: task %s %s: %s; log %s%s%n", u.task() < 0 ? "-" : u.task(),
                        u.runDir(), u.status(), u.log(), u.lastLogLine().isEmpty() ? "" : " (last line: "
                                + u.lastLogLine() + ")");
            }
            if (!r.unfinished().isEmpty()) {
                err.printf(Locale.ROOT, "%d task(s) or SAE(s) not finished%n", r.unfinished().size());
            }
            return Main.OK;
        }
    }
}
