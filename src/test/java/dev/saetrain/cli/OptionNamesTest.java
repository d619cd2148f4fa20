package dev.saetrain.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.saetrain.error.BadInputException;
import dev.saetrain.error.Setting;
import dev.saetrain.error.UsageException;
import dev.saetrain.io.DType;
import dev.saetrain.model.Architecture;
import dev.saetrain.model.SaeConfig;
import dev.saetrain.synth.SynthOptions;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;

/** Every Setting is spelled as an option the CLI really defines, and the failure line uses that spelling. */
class OptionNamesTest {

    /** Every command of the tree (by qualified name) with the names of its options. */
    private static Map<String, Set<String>> optionsByCommand() {
        Map<String, Set<String>> out = new TreeMap<>();
        collect(Main.commandLine(), out);
        return out;
    }

    private static void collect(CommandLine cl, Map<String, Set<String>> out) {
        Set<String> names = new TreeSet<>();
        for (OptionSpec o : cl.getCommandSpec().options()) {
            names.addAll(List.of(o.names()));
        }
        out.put(cl.getCommandSpec().qualifiedName(), names);
        for (CommandLine sub : cl.getSubcommands().values()) {
            collect(sub, out);
        }
    }

    @Test
    void everySettingIsAnOptionThatACommandDefines() {
        Map<String, Set<String>> commands = optionsByCommand();
        assertTrue(commands.keySet().containsAll(Set.of("sae-train train", "sae-train synth", "sae-train analyze",
                "sae-train sweep plan")), commands.keySet().toString());
        for (Setting s : Setting.values()) {
            String option = OptionNames.of(s);
            assertTrue(option.startsWith("--"), s + " -> " + option);
            assertTrue(commands.values().stream().anyMatch(names -> names.contains(option)),
                    s + " -> " + option + ", which no command defines");
        }
    }

    @Test
    void theSettingsOfATrainingRunAreOptionsOfTrain() {
        // The settings the model, train and data packages blame during "train", and that sweep plan writes.
        Set<String> train = optionsByCommand().get("sae-train train");
        for (Setting s : new Setting[] {Setting.ARCH, Setting.EXPANSION, Setting.K, Setting.L1, Setting.L0_COEF,
                Setting.TIED, Setting.GROUPS, Setting.BATCH, Setting.LR, Setting.EPOCHS, Setting.TOKENS, Setting.SEED,
                Setting.DEAD_TOKENS, Setting.LOG_EVERY, Setting.RESAMPLE_EVERY, Setting.CHECKPOINT_EVERY,
                Setting.MAX_MEMORY, Setting.THREADS, Setting.DEVICE, Setting.OUT, Setting.RUN_NAME, Setting.RESUME,
                Setting.HOOK_NAME, Setting.MODEL_NAME, Setting.CONTEXT_SIZE, Setting.PREPEND_BOS,
                Setting.SKIP_NONFINITE, Setting.COLUMN, Setting.WARMUP, Setting.LR_DECAY, Setting.B_DEC_INIT,
                Setting.NORMALIZE, Setting.AUXK_COEF, Setting.ADAM_EPS}) {
            assertTrue(train.contains(OptionNames.of(s)), s + " -> " + OptionNames.of(s) + " is not a train option");
        }
        Set<String> synth = optionsByCommand().get("sae-train synth");
        for (Setting s : new Setting[] {Setting.SYNTH_D, Setting.FEATURES, Setting.ACTIVE, Setting.SYNTH_DECAY,
                Setting.SYNTH_ROWS, Setting.ROWS_PER_SHARD, Setting.DTYPE}) {
            assertTrue(synth.contains(OptionNames.of(s)), s + " -> " + OptionNames.of(s) + " is not a synth option");
        }
    }

    @Test
    void theFailureLineNamesTheOption() {
        UsageException k = assertThrows(UsageException.class,
                () -> SaeConfig.of(Architecture.TOPK, 16, 1, 0, 0));
        assertEquals(Setting.K, k.setting());
        assertEquals("k must be in [1, 16] for 16 latents, got 0", k.getMessage());
        assertEquals("error: --k must be in [1, 16] for 16 latents, got 0", Failure.of(k).message());
        assertEquals(Main.BAD_INPUT, Failure.of(k).code());
        assertEquals("error: --k must be in [1, 16] for 16 latents, got 0",
                Failure.of(new ExecutionException(k)).message(), "through a wrapper too");

        UsageException active = assertThrows(UsageException.class,
                () -> new SynthOptions(8, 4, 5, 0.9, 10, 10, 0, DType.F32));
        assertEquals("error: --active must be in (0, --features = 4], got 5.0", Failure.of(active).message());

        BadInputException bad = new BadInputException(Path.of("a.npy"), "row 7 is NaN; pass ", Setting.SKIP_NONFINITE,
                " to skip such rows");
        assertEquals("error: a.npy: row 7 is NaN; pass --skip-nonfinite to skip such rows", Failure.of(bad).message());
    }
}
