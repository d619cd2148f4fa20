package dev.saetrain.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.saetrain.export.ExportInfo;
import dev.saetrain.export.SaeLensWriter;
import dev.saetrain.io.NpyWriter;
import dev.saetrain.io.Tensor;
import dev.saetrain.model.SaeConfig;
import dev.saetrain.model.SaeWeights;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code sae-train logit-lens} and {@code sae-train synthetic} through Main: outputs, exit codes, one-line errors. */
class AnalysisCommandsTest {
    static final int D = 8;
    static final int M = 4;
    static final int VOCAB = 60;

    @TempDir
    Path tmp;

    private final CliRunner cli = new CliRunner();

    /** A run folder with one relu SAE whose decoder rows are the first M unit vectors; returns the run. */
    private Path run() throws Exception {
        SaeConfig cfg = SaeConfig.relu(D, 1, 1).withNLatents(M);
        float[] wDec = new float[M * D];
        float[] wEnc = new float[D * M];
        for (int i = 0; i < M; i++) {
            wDec[i * D + i] = 1;
            wEnc[i * M + i] = 1;
        }
        Path runDir = tmp.resolve("runs/demo");
        SaeLensWriter.write(runDir.resolve("saes/x1"), SaeWeights.of(cfg, wEnc, new float[M], wDec, new float[D]),
                new double[M], ExportInfo.minimal("demo", "dev", 10, 1));
        return runDir;
    }

    @Test
    void logitLensWritesItsStudyUnderTheRun() throws Exception {
        Path runDir = run();
        SplittableRandom r = new SplittableRandom(1);
        float[] wU = new float[D * VOCAB];
        for (int i = 0; i < wU.length; i++) {
            wU[i] = (float) (r.nextDouble() - 0.5) * 0.1f;
        }
        wU[3] = 5; // latent 0 predicts token 3 alone: kurtosis ~ VOCAB, positive skew
        Path wUFile = tmp.resolve("W_U.npy");
        NpyWriter.write(wUFile, Tensor.f32(wU, D, VOCAB));
        List<String> tokens = new ArrayList<>();
        for (int v = 0; v < VOCAB; v++) {
            tokens.add(v % 2 == 0 ? " w" + v : "W" + v);
        }
        Path vocab = tmp.resolve("vocab.txt");
        Files.write(vocab, tokens);
        assertEquals(0, cli.run("logit-lens", runDir.toString(), "--unembed", wUFile.toString(), "--vocab", vocab.toString()),
                cli.err());
        assertTrue(cli.out().contains("x1: 4 latents: 1 prediction"), cli.out());
        Path study = runDir.resolve("analysis/logit-lens/x1");
        for (String f : List.of("latents.csv", "enrichment.csv", "summary.json", "skew-kurtosis.png")) {
            assertTrue(Files.isRegularFile(study.resolve(f)), f);
        }
        assertTrue(Files.readAllLines(study.resolve("latents.csv")).get(1).contains("\"[\"\"W3\"\""),
                "top token of latent 0 is W3");

        Files.write(vocab, java.util.Collections.nCopies(VOCAB + 1, "t"));
        cli.clearErr();
        assertEquals(2, cli.run("logit-lens", runDir.toString(), "--unembed", wUFile.toString(), "--vocab", vocab.toString()));
        String e = cli.err().strip();
        assertTrue(e.startsWith("error: " + vocab) && e.contains("61 tokens") && !e.contains("\n"), e);
    }

    @Test
    void syntheticWritesShardsAndRefusesMismatchedShards() throws Exception {
        Path runDir = run();
        SplittableRandom r = new SplittableRandom(2);
        float[] x = new float[300 * D];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (r.nextDouble() - 0.3);
        }
        Path shards = tmp.resolve("shards");
        NpyWriter.write(shards.resolve("s.npy"), Tensor.f32(x, 300, D));
        Path outDir = tmp.resolve("an");
        assertEquals(0, cli.run("synthetic", runDir.resolve("saes/x1").toString(), shards.toString(), "--rows", "200",
                "--out", outDir.toString()), cli.err());
        assertTrue(cli.out().contains("x1: 200 real rows"), cli.out());
        assertTrue(Files.isRegularFile(outDir.resolve("synthetic/x1/synthetic-structured/shard-00000.npy")));
        assertTrue(Files.isRegularFile(outDir.resolve("synthetic/x1/ks.csv")));

        Path narrow = tmp.resolve("narrow");
        NpyWriter.write(narrow.resolve("s.npy"), Tensor.f32(new float[40], 10, 4));
        cli.clearErr();
        assertEquals(2, cli.run("synthetic", runDir.toString(), narrow.toString(), "--out", tmp.resolve("an2").toString()));
        String e = cli.err().strip();
        assertTrue(e.startsWith("error: " + narrow) && e.contains("d = 4") && !e.contains("\n"), e);
    }
}
