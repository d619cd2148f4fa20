package dev.saetrain.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.saetrain.io.DType;
import dev.saetrain.synth.SynthOptions;
import dev.saetrain.synth.SynthWriter;
import dev.saetrain.synth.SyntheticData;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** sae-train sweep plan: the grid becomes exact train command lines, one per array task; bad grids exit 2. */
class SweepPlanCommandTest {
    @TempDir
    Path tmp;
    private Path data;
    private final CliRunner cli = new CliRunner();

    @BeforeEach
    void shards() throws IOException {
        data = tmp.resolve("d16");
        SynthWriter.write(new SyntheticData(new SynthOptions(16, 32, 3, 0.99, 4096, 2048, 0, DType.F32)), data);
    }

    private Path sweep(String body) throws IOException {
        Path f = tmp.resolve("sweep.json");
        Files.writeString(f, "{\"name\": \"s\", \"shard_dir\": \"" + data + "\", \"out\": \"" + tmp.resolve("out")
                + "\", " + body + "}");
        return f;
    }

    private int plan(Path file) {
        return cli.run("sweep", "plan", file.toString());
    }

    private List<String[]> manifest() throws IOException {
        return Files.readAllLines(tmp.resolve("out/manifest.tsv")).stream().map(l -> l.split("\t")).toList();
    }

    @Test
    void everyArchitectureAndSeedIsCutIntoFamiliesOfAtMostSaesPerJob() throws IOException {
        Path f = sweep("\"architectures\": [\"topk\", \"relu\"], \"expansion\": [2, 4, 8], \"k\": [4, 8], "
                + "\"l1\": [1.0, 5.0, 9.0], \"seeds\": [0, 3], \"saes_per_job\": 4, "
                + "\"train\": {\"batch\": 256, \"lr\": 0.002, \"device\": \"auto\", \"tied\": true, \"checkpoint_every\": 0}");
        assertEquals(0, plan(f), cli.err());
        List<String[]> lines = manifest();
        // topk: 3 x 2 SAEs in families of 2 expansions x 2 k (4, then 2): 2 tasks per seed; relu: 3 x 3 SAEs,
        // 4 >= 3 values, so one expansion (3 SAEs) per task: 3 tasks per seed. (2 + 3) x 2 seeds.
        assertEquals(10, lines.size());
        String[] first = lines.get(0);
        Path run0 = tmp.resolve("out/t000-topk-s0").toAbsolutePath();
        assertEquals(List.of(run0.toString(), "train", data.toAbsolutePath().toString(), "--arch", "topk",
                "--expansion", "2,4", "--k", "4,8", "--seed", "0", "--batch", "256", "--lr", "0.002",
                "--checkpoint-every", "0", "--tied", "--device", "auto", "--out", tmp.resolve("out").toAbsolutePath()
                        .toString(), "--name", "t000-topk-s0"), List.of(first));
        assertEquals("--expansion 8 --k 4,8 --seed 0", String.join(" ", List.of(lines.get(1)).subList(5, 11)));
        assertEquals("t002-topk-s3", lines.get(2)[lines.get(2).length - 1]);
        String[] relu = lines.get(4);
        assertEquals("--arch relu --expansion 2 --l1 1.0,5.0,9.0 --seed 0", String.join(" ", List.of(relu).subList(3, 11)));
        assertTrue(cli.out().contains("planned 10 task(s), 30 SAE(s)"), cli.out());
        assertTrue(cli.out().contains("sbatch --array=0-9 --output="), cli.out());
        assertFalse(cli.out().contains("--gres=none"), "the sweep asks for a GPU unless its device is cpu");
        assertTrue(cli.out().contains("x2-k4-tied x2-k8-tied x4-k4-tied x4-k8-tied -> t000-topk-s0"), cli.out());
        assertTrue(Files.isDirectory(tmp.resolve("out/logs")));
        assertEquals(Files.readString(f), Files.readString(tmp.resolve("out/sweep.json")));
    }

    @Test
    void eachManifestLineIsAcceptedAndRunByTrain() throws IOException {
        Path f = sweep("\"architectures\": [\"jumprelu\"], \"expansion\": [2], \"l0_coef\": [0.5], "
                + "\"train\": {\"batch\": 512, \"device\": \"cpu\", \"threads\": 1, \"log_every\": 2}");
        assertEquals(0, plan(f), cli.err());
        assertTrue(cli.out().contains("--gres=none"), cli.out());
        String[] line = manifest().get(0);
        String[] args = List.of(line).subList(1, line.length).toArray(String[]::new);
        assertEquals(0, cli.run(args),
                cli.err());
        assertTrue(Files.exists(Path.of(line[0]).resolve("saes/x2-jr0.5/cfg.json")), "the run lands in the manifest's folder");
    }

    @Test
    void planningTheSameSweepAgainIsFineAnotherPlanIsRefused() throws IOException {
        Path f = sweep("\"architectures\": [\"topk\"], \"expansion\": [2], \"k\": [4]");
        assertEquals(0, plan(f), cli.err());
        assertEquals(0, plan(f), cli.err());
        Path g = sweep("\"architectures\": [\"topk\"], \"expansion\": [2, 4], \"k\": [4]");
        assertEquals(2, plan(g));
        assertTrue(cli.err().contains("manifest.tsv: already holds a different plan"), cli.err());
        assertEquals(1, manifest().size());
    }

    private void refused(String body, String... expected) throws IOException {
        cli.clearErr();
        Path f = sweep(body);
        assertEquals(2, plan(f), body);
        String e = cli.err();
        assertEquals(1, e.strip().lines().count(), "one line, no stack trace: " + e);
        assertTrue(e.startsWith("error: " + f + ": "), e);
        for (String s : expected) {
            assertTrue(e.contains(s), "'" + s + "' in: " + e);
        }
        assertFalse(Files.exists(tmp.resolve("out/manifest.tsv")), "nothing written for: " + body);
    }

    @Test
    void badGridsNameTheFileAndTheKey() throws IOException {
        String ok = "\"expansion\": [2], \"k\": [4]";
        refused("\"architectures\": [\"topk\"], " + ok + ", \"sizes\": [1]", "key 'sizes': unknown key");
        refused("\"architectures\": [\"topkk\"], " + ok, "key 'architectures'", "unknown architecture 'topkk'");
        refused("\"architectures\": [], " + ok, "key 'architectures': is an empty list");
        refused("\"architectures\": [\"topk\"], \"expansion\": [], \"k\": [4]", "key 'expansion': is an empty list");
        refused("\"architectures\": [\"relu\"], \"expansion\": [2], \"k\": [4], \"l1\": [1]", "key 'k': is given but none",
                "[relu]");
        refused("\"architectures\": [\"topk\"], \"expansion\": [2]", "key 'k': is missing");
        refused("\"architectures\": [\"jumprelu\"], \"expansion\": [2]", "key 'l0_coef': is missing");
        refused("\"architectures\": [\"jumprelu\"], \"expansion\": [2], \"l0_coef\": [1], \"l1\": [1]",
                "key 'l1': is given but none", "only relu, relu-2023 or gated");
        refused("\"architectures\": [\"topk\"], \"expansion\": [2], \"k\": [4, 4]", "key 'k': lists 4 twice");
        refused("\"architectures\": [\"topk\"], \"expansion\": [0], \"k\": [4]", "key 'expansion': values must be integers >= 1");
        refused("\"architectures\": [\"topk\"], " + ok + ", \"saes_per_job\": 0", "key 'saes_per_job'");
        refused("\"architectures\": [\"topk\"], " + ok + ", \"train\": {\"bacth\": 4}", "key 'train.bacth': unknown train option");
        refused("\"architectures\": [\"topk\"], " + ok + ", \"train\": {\"seed\": 4}", "key 'train.seed': is set per task");
        refused("\"architectures\": [\"topk\"], " + ok + ", \"train\": {\"epochs\": 1, \"tokens\": 9}", "key 'train.tokens'");
        refused("\"architectures\": [\"topk\"], " + ok + ", \"train\": {\"device\": \"tpu\"}", "key 'train.device'");
        refused("\"architectures\": [\"topk\"], " + ok + ", \"train\": {\"lr\": -1}", "key 'train.lr': must be a number > 0");
        refused("\"architectures\": [\"topk\"], " + ok + ", \"train\": {\"batch\": 8192}", "key 'train.batch'",
                "4096 rows make no whole batch of 8192");
        refused("\"architectures\": [\"topk\"], \"expansion\": [2], \"k\": [33]", "topk at expansion 2 with k 33",
                "d = 16: k must be in [1, 32]");
        refused("\"architectures\": [\"relu-2023\"], \"expansion\": [2], \"l1\": [1], \"train\": {\"tied\": true}",
                "relu-2023 at expansion 2");
    }

    @Test
    void recipeKeysBecomeTrainFlagsCheckedAtPlanTime() throws IOException {
        String ok = "\"architectures\": [\"topk\"], \"expansion\": [2], \"k\": [4], ";
        Path f = sweep(ok + "\"train\": {\"warmup\": 0.1, \"decay\": 0, \"b_dec_init\": \"zero\", "
                + "\"normalize\": \"none\", \"auxk_coef\": 0.0625, \"adam_eps\": 1e-6}");
        assertEquals(0, plan(f), cli.err());
        String line = String.join(" ", manifest().get(0));
        assertTrue(line.contains("--warmup 0.1 --decay 0 --b-dec-init zero --normalize none --auxk-coef 0.0625 "
                + "--adam-eps 1.0E-6"), line);
        Files.delete(tmp.resolve("out/manifest.tsv"));
        refused(ok + "\"train\": {\"warmup\": 1.5}", "--warmup", "1.5");
        refused(ok + "\"train\": {\"decay\": -0.1}", "--decay");
        refused(ok + "\"train\": {\"b_dec_init\": \"foo\"}", "--b-dec-init");
        refused(ok + "\"train\": {\"normalize\": [1]}", "key 'train.normalize'");
        f = sweep(ok + "\"train\": {\"shuffle_rows\": \"all\"}");
        assertEquals(0, plan(f), cli.err());
        line = String.join(" ", manifest().get(0));
        assertTrue(line.contains("--shuffle-rows all"), line);
        Files.delete(tmp.resolve("out/manifest.tsv"));
        refused(ok + "\"train\": {\"shuffle_rows\": 0}", "--shuffle-rows", "'0'");
    }

    @Test
    void aMissingShardDirOrFileOrBrokenJsonIsOneLine() throws IOException {
        Path f = tmp.resolve("sweep.json");
        Files.writeString(f, "{\"name\": \"s\", \"shard_dir\": \"" + tmp.resolve("nope") + "\", "
                + "\"architectures\": [\"topk\"], \"expansion\": [2], \"k\": [4]}");
        assertEquals(2, plan(f));
        assertTrue(cli.err().contains(f + ": key 'shard_dir': " + tmp.resolve("nope") + " does not exist"), cli.err());
        cli.clearErr();
        Files.writeString(f, "{\"name\": \"s\",\n \"shard_dir\": }");
        assertEquals(2, plan(f));
        assertTrue(cli.err().startsWith("error: " + f + ": not valid JSON"), cli.err());
        assertTrue(cli.err().contains("line 2"), cli.err());
        cli.clearErr();
        assertEquals(2, plan(tmp.resolve("missing.json")));
        assertTrue(cli.err().contains("missing.json: no such file"), cli.err());
        cli.clearErr();
        Files.writeString(f, "{\"name\": \"a b\", \"shard_dir\": \"" + data + "\"}");
        assertEquals(2, plan(f));
        assertTrue(cli.err().contains(f + ": key 'name': 'a b' must use only letters"), cli.err());
        cli.clearErr();
        Files.writeString(f, "{\"name\": \"s\", \"name\": \"t\"}");
        assertEquals(2, plan(f));
        assertTrue(cli.err().contains("Duplicate field 'name'"), cli.err());
    }
}
