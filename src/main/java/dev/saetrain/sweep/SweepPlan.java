package dev.saetrain.sweep;

import dev.saetrain.data.ShardSet;
import dev.saetrain.error.BadInputException;
import dev.saetrain.error.Setting;
import dev.saetrain.error.UsageException;
import dev.saetrain.model.Architecture;
import dev.saetrain.model.SaeConfig;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * Expands a {@link SweepSpec} into array tasks. For every architecture and seed, the SAEs of the grid (every
 * expansion with every k, l1 or l0 coefficient of that architecture) are cut into families of at most
 * {@code saes_per_job}; each family is one {@code sae-train train} invocation, whose expansion and coefficient
 * lists multiply out to exactly that family. A family therefore takes whole rows of the grid (several expansions
 * with all coefficients) when saes_per_job is at least the number of coefficients, and otherwise one expansion
 * with a slice of the coefficients.
 */
public final class SweepPlan {
    private SweepPlan() {
    }

    /**
     * The tasks of {@code spec}, checked against its shards (d, rows) before anything is written.
     *
     * @param option how train's command line spells each setting (the CLI's option names)
     * @throws BadInputException naming the sweep file (or a shard) and the problem
     */
    public static List<SweepTask> plan(SweepSpec spec, Function<Setting, String> option) throws IOException {
        return plan(spec, ShardSet.open(spec.shardDir()), option);
    }

    /** {@link #plan(SweepSpec, Function)} with the spec's shards already open. */
    public static List<SweepTask> plan(SweepSpec spec, ShardSet shards, Function<Setting, String> option)
            throws IOException {
        int dIn = shards.dIn();
        checkLength(spec, shards);
        boolean tied = spec.trainValue(Setting.TIED) != null;
        List<Pending> pending = new ArrayList<>();
        for (Architecture a : spec.architectures()) {
            List<String> coefs = coefficients(spec, a);
            for (long seed : spec.seeds()) {
                for (Family f : families(spec.expansions(), coefs, spec.saesPerJob())) {
                    List<String> names = new ArrayList<>();
                    for (int x : f.expansions()) {
                        for (String c : f.coefficients()) {
                            SaeConfig sae;
                            try {
                                sae = SaeConfig.of(a, dIn, x, a.usesK() ? Integer.parseInt(c) : 0,
                                        a.usesK() ? 0 : Double.parseDouble(c)).withTied(tied);
                            } catch (UsageException | ArithmeticException e) {
                                throw new BadInputException(spec.file(), a.cliName() + " at expansion " + x + " with "
                                        + coefficientKey(a) + " " + c + " on the shards' d = " + dIn + ": "
                                        + e.getMessage());
                            }
                            names.add(sae.name());
                        }
                    }
                    pending.add(new Pending(a, seed, args(spec, a, f, seed, option), List.copyOf(names)));
                }
            }
        }
        int width = Math.max(3, Integer.toString(pending.size() - 1).length());
        List<SweepTask> tasks = new ArrayList<>();
        for (Pending p : pending) {
            int index = tasks.size();
            String runName = String.format("t%0" + width + "d-%s-s%d", index, p.arch().cliName(), p.seed());
            List<String> args = new ArrayList<>(p.trainArgs());
            args.add(option.apply(Setting.OUT));
            args.add(spec.out().toString());
            args.add(option.apply(Setting.RUN_NAME));
            args.add(runName);
            tasks.add(new SweepTask(index, spec.out().resolve(runName), List.copyOf(args), p.saeNames()));
        }
        return List.copyOf(tasks);
    }

    /** A task before it has its index and run name. */
    private record Pending(Architecture arch, long seed, List<String> trainArgs, List<String> saeNames) {
    }

    /** One train invocation's --expansion list and coefficient list (all pairs of the two are trained). */
    record Family(List<Integer> expansions, List<String> coefficients) {
    }

    /** Cuts expansions x coefficients into products of at most {@code perJob} pairs, in grid order. */
    static List<Family> families(List<Integer> expansions, List<String> coefs, int perJob) {
        List<Family> out = new ArrayList<>();
        if (perJob >= coefs.size()) {
            int rows = perJob / coefs.size();
            for (int i = 0; i < expansions.size(); i += rows) {
                out.add(new Family(expansions.subList(i, Math.min(expansions.size(), i + rows)), coefs));
            }
        } else {
            for (int x : expansions) {
                for (int i = 0; i < coefs.size(); i += perJob) {
                    out.add(new Family(List.of(x), coefs.subList(i, Math.min(coefs.size(), i + perJob))));
                }
            }
        }
        return out;
    }

    private static List<String> coefficients(SweepSpec spec, Architecture a) {
        if (a.usesK()) {
            return spec.ks().stream().map(String::valueOf).toList();
        }
        return (a == Architecture.JUMPRELU ? spec.l0Coefs() : spec.l1s()).stream().map(String::valueOf).toList();
    }

    private static String coefficientKey(Architecture a) {
        return a.usesK() ? "k" : a == Architecture.JUMPRELU ? "l0_coef" : "l1";
    }

    private static List<String> args(SweepSpec spec, Architecture a, Family f, long seed,
                                     Function<Setting, String> option) {
        List<String> args = new ArrayList<>();
        args.add("train");
        args.add(spec.shardDir().toString());
        args.add(option.apply(Setting.ARCH));
        args.add(a.cliName());
        args.add(option.apply(Setting.EXPANSION));
        args.add(join(f.expansions()));
        args.add(option.apply(a.usesK() ? Setting.K : a == Architecture.JUMPRELU ? Setting.L0_COEF : Setting.L1));
        args.add(join(f.coefficients()));
        args.add(option.apply(Setting.SEED));
        args.add(Long.toString(seed));
        for (SweepSpec.TrainValue v : spec.train()) {
            args.add(option.apply(v.setting()));
            if (v.value() != null) {
                args.add(v.value());
            }
        }
        return args;
    }

    private static String join(List<?> values) {
        return String.join(",", values.stream().map(String::valueOf).toList());
    }

    /** The same check train makes before its first step: the data must give at least one whole batch. */
    private static void checkLength(SweepSpec spec, ShardSet shards) {
        String batch = spec.trainValue(Setting.BATCH);
        long b = batch == null ? 4096 : Long.parseLong(batch);
        String tokens = spec.trainValue(Setting.TOKENS);
        String epochs = spec.trainValue(Setting.EPOCHS);
        long rows = tokens != null ? Long.parseLong(tokens)
                : shards.totalRows() * (epochs == null ? 1 : Long.parseLong(epochs));
        if (rows / b < 1) {
            throw SweepSpec.bad(spec.file(), "train.batch", rows + " rows make no whole batch of " + b
                    + " (shards in " + spec.shardDir() + "); lower train.batch or train on more tokens");
        }
    }
}
