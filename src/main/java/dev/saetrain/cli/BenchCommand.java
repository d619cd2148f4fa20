package dev.saetrain.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.saetrain.device.Device;
import dev.saetrain.device.FloatBuf;
import dev.saetrain.error.UsageException;
import dev.saetrain.model.Architecture;
import dev.saetrain.model.Philox;
import dev.saetrain.model.SaeConfig;
import dev.saetrain.model.SaeInit;
import dev.saetrain.model.SaeWeights;
import dev.saetrain.selftest.StepBench;
import dev.saetrain.train.Engine;
import dev.saetrain.train.Profiler;
import dev.saetrain.train.StepStats;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code sae-train bench}: times the training step on random rows held in memory and prints a table of
 * where the time goes, then one JSON line (tokens_per_s and ms_step in steady state, encode_gflops inside the
 * step, gemm_gflops and ms_gemm_alone of the same product alone). A benchmark, not a test: compare ratios
 * measured in one run.
 * With {@code --stream SHARD_DIR} it times the activation stream instead; see {@link StreamBench}.
 */
@Command(name = "bench", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
        description = {"Times the training step on random in-memory rows; prints a table and one JSON line.",
                "With --stream SHARD_DIR: times the activation stream (rows/s, GB/s of fp32) instead."})
final class BenchCommand implements Callable<Integer> {
    @Option(names = "--arch", defaultValue = "topk", description = "topk | relu | relu-2023 | batchtopk | jumprelu | "
            + "matryoshka | gated. Default: ${DEFAULT-VALUE}.")
    String arch;

    @Option(names = "--tied", description = "W_enc = W_dec^T (topk, relu).")
    boolean tied;

    @Option(names = "--d", defaultValue = "512", description = "Input width. Default: ${DEFAULT-VALUE}.")
    int d;

    @Option(names = "--expansion", defaultValue = "16", description = "Default: ${DEFAULT-VALUE}.")
    int expansion;

    @Option(names = "--k", defaultValue = "32", description = "topk k. Default: ${DEFAULT-VALUE}.")
    int k;

    @Option(names = "--groups", split = ",", paramLabel = "N[,N...]",
            description = "matryoshka group sizes summing to n_latents. Default: prefixes of n/16, n/8, n/4, n/2, n.")
    java.util.List<Integer> groups;

    @Option(names = "--l1", defaultValue = "5.0", description = "relu, relu-2023 and gated lambda (jumprelu: the L0 "
            + "coefficient). Default: ${DEFAULT-VALUE}.")
    double l1;

    @Option(names = "--batch", defaultValue = "4096", description = "Default: ${DEFAULT-VALUE}.")
    int batch;

    @Option(names = "--steps", defaultValue = "20", description = "Timed steps. Default: ${DEFAULT-VALUE}.")
    int steps;

    @Option(names = "--warmup-steps", defaultValue = "3", description = "Untimed steps first. Default: ${DEFAULT-VALUE}.")
    int warmup;

    @Option(names = "--l0", paramLabel = "N", description = "relu, relu-2023, jumprelu, gated: start from an encoder "
            + "bias that makes each latent fire on about N of every n_latents rows of the bench batch (L0 ~ N) "
            + "instead of the random init's ~n_latents/2: times the step at the density a run reaches as it trains "
            + "(the step takes sparse products below a density of 1/16 for relu and relu-2023, 1/24 for jumprelu "
            + "and gated). Its steps run at LR 0, so that the density holds over the repeated batch: the same work "
            + "(Adam computes and applies its update), no parameter moves. Default: off.")
    Integer l0;

    @Option(names = "--dead-tokens", defaultValue = "10000000", paramLabel = "N", description = "topk family: tokens "
            + "without firing after which a latent is dead and AuxK trains it. The bench repeats one batch, so "
            + "--dead-tokens <batch> makes every latent that batch does not fire dead from the second step: times "
            + "the step with AuxK at work. Default: ${DEFAULT-VALUE} (no dead latent in a bench).")
    long deadTokens;

    @Option(names = "--seed", defaultValue = "0", description = "Default: ${DEFAULT-VALUE}.")
    long seed;

    @Option(names = "--stream", paramLabel = "SHARD_DIR", description = "Instead of the step: time the activation "
            + "stream over these shards (shuffle, prefetch, scale), consuming batches without training.")
    java.nio.file.Path stream;

    @Option(names = "--seconds", defaultValue = "10", description = "--stream: how long to read. "
            + "Default: ${DEFAULT-VALUE}.")
    double seconds;

    @Mixin
    DeviceOptions deviceOptions;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        if (stream != null) {
            StreamBench.run(stream, batch, seconds, seed, spec.commandLine().getOut());
            return Main.OK;
        }
        Architecture a = Architecture.parse(arch);
        if (steps < 1 || warmup < 0) {
            throw new UsageException("--steps must be >= 1 and --warmup-steps >= 0");
        }
        SaeConfig cfg = SaeConfig.of(a, d, expansion, k, l1);
        if (groups != null && a != Architecture.MATRYOSHKA) {
            throw new UsageException("--groups works with --arch matryoshka, not " + a.cliName());
        }
        cfg = cfg.withTied(tied).withGroups(groups);
        java.io.PrintWriter out = spec.commandLine().getOut();
        DeviceOptions.Chosen chosen = deviceOptions.open();
        Device dev = chosen.device();
        float[] host = new float[batch * d];
        Philox.fillNormal(seed, 99, host);
        SaeWeights init = SaeInit.initial(cfg, seed, new float[d]);
        if (l0 != null) {
            if (a != Architecture.RELU && a != Architecture.RELU_2023 && a != Architecture.JUMPRELU
                    && a != Architecture.GATED) {
                dev.close();
                throw new UsageException("--l0 works with --arch relu, relu-2023, jumprelu or gated, not "
                        + a.cliName());
            }
            if (l0 < 1 || l0 > cfg.nLatents()) {
                dev.close();
                throw new UsageException("--l0 must be in [1, " + cfg.nLatents() + "], got " + l0);
            }
            init = withTargetL0(dev, init, host, l0);
        }
        if (deadTokens < 1) {
            dev.close();
            throw new UsageException("--dead-tokens must be >= 1, got " + deadTokens);
        }
        try (Engine engine = new Engine(dev, init, batch, deadTokens);
             FloatBuf x = dev.allocFloat((long) batch * d)) {
            dev.upload(host, 0, x, 0, host.length);
            // At the architecture's LR, steps on the one repeated batch move a --l0 start back towards the dense
            // regime (jumprelu at 20 steps: L0 330 from 64, every step dense): LR 0 keeps the density it times.
            double lr = l0 != null ? 0 : cfg.defaultLr();
            for (int i = 0; i < warmup; i++) {
                engine.step(x, lr, l1);
            }
            Profiler prof = new Profiler(dev);
            engine.setProfiler(prof);
            dev.synchronize();
            long t0 = System.nanoTime();
            long active = 0;
            long dead = 0;
            int denseSteps = 0;
            for (int i = 0; i < steps; i++) {
                StepStats st = engine.step(x, lr, l1);
                active += st.activeSum();
                dead += st.dead();
                denseSteps += st.dense() ? 1 : 0;
            }
            dev.synchronize();
            double secs = (System.nanoTime() - t0) / 1e9;
            engine.setProfiler(null);
            Map<String, Double> phases = prof.seconds();
            double gemmFlops = 2.0 * batch * cfg.nLatents() * d;
            double encodeGflops = gemmFlops * steps / phases.getOrDefault("encode", Double.NaN) / 1e9;
            double gemmAlone = gemmAloneGflops(dev, cfg.nLatents(), steps);
            double tps = (double) steps * batch / secs;
            out.printf("bench: %s, d=%d, n_latents=%d, k=%d, batch=%d, %d steps on %s%n", a, d, cfg.nLatents(),
                    cfg.k(), batch, steps, dev.describe());
            out.printf("%-14s %10s %7s%n", "phase", "ms/step", "share");
            double total = phases.values().stream().mapToDouble(Double::doubleValue).sum();
            for (var e : phases.entrySet()) {
                out.printf("%-14s %10.2f %6.1f%%%n", e.getKey(), 1e3 * e.getValue() / steps, 100 * e.getValue() / total);
            }
            out.printf("%-14s %10.2f%n", "step (timed)", 1e3 * secs / steps);
            out.printf("L0 %.1f over the timed steps (%d of %d on the dense path), %.1f dead latents a step%n",
                    (double) active / ((double) steps * batch), denseSteps, steps, (double) dead / steps);
            out.printf("tokens/s %.0f; encoder product %.1f GFLOP/s in the step, %.1f GFLOP/s alone (%.0f%%)%n",
                    tps, encodeGflops, gemmAlone, 100 * encodeGflops / gemmAlone);
            out.printf("dense product [%d, %d] x [%d, %d] alone: %.2f TFLOP/s%n", batch, d, d, cfg.nLatents(),
                    gemmAlone / 1e3);
            ObjectNode o = new ObjectMapper().createObjectNode();
            o.put("arch", a.cliName());
            o.put("d_in", d);
            o.put("n_latents", cfg.nLatents());
            o.put("k", cfg.k());
            if (l0 != null) {
                o.put("target_l0", l0);
            }
            o.put("batch", batch);
            o.put("lr", lr);
            o.put("l0", Math.round(10.0 * active / ((double) steps * batch)) / 10.0);
            o.put("dense_steps", denseSteps);
            o.put("dead", Math.round(10.0 * dead / steps) / 10.0);
            o.put("steps", steps);
            o.put("device", dev.describe());
            o.put("tokens_per_s", Math.round(tps * 10) / 10.0);
            o.put("encode_gflops", Math.round(encodeGflops * 1000) / 1000.0);
            o.put("gemm_gflops", Math.round(gemmAlone * 1000) / 1000.0);
            o.put("gemm_tflops", Math.round(gemmAlone / 10.0) / 100.0);
            // Times of the whole step and of the product alone, so the step / product ratio needs no arithmetic.
            o.put("ms_step", Math.round(1e6 * secs / steps) / 1000.0);
            o.put("ms_gemm_alone", Math.round(1e6 * gemmFlops / (gemmAlone * 1e9)) / 1000.0);
            phases.forEach((kk, v) -> o.put("ms_" + kk.replaceAll("[^a-z]", "_"), Math.round(1e5 * v / steps) / 100.0));
            out.println(o);
        } finally {
            dev.close();
        }
        return Main.OK;
    }

    /**
     * {@code w} with b_enc set so that latent i fires (pre > 0; jumprelu: pre > threshold_i; gated: the gate's
     * pre-activation, b_enc being b_gate) on the rows of {@code x} [batch, d] whose x . W_enc[:, i] is above that
     * column's (1 - l0 / n_latents) quantile: each latent fires on about batch * l0 / n_latents rows, so a row has
     * about l0 active latents.
     */
    private SaeWeights withTargetL0(Device dev, SaeWeights w, float[] x, int l0) {
        int m = w.config().nLatents();
        float[] latentMajor = w.wEnc().transpose().toArray("bench's target-L0 encoder product");
        float[] pre = new float[batch * m];
        try (FloatBuf xb = dev.allocFloat((long) batch * d); FloatBuf wb = dev.allocFloat((long) m * d);
             FloatBuf pb = dev.allocFloat((long) batch * m)) {
            dev.upload(x, 0, xb, 0, x.length);
            dev.upload(latentMajor, 0, wb, 0, latentMajor.length);
            dev.gemmNT(xb, wb, pb, batch, m, d, 1f, 0f);
            dev.download(pb, 0, pre, 0, pre.length);
        }
        int fire = (int) Math.round((double) batch * l0 / m);
        float[] threshold = w.config().arch() == Architecture.JUMPRELU ? w.extras().get("threshold") : null;
        float[] bEnc = new float[m];
        float[] col = new float[batch];
        for (int i = 0; i < m; i++) {
            for (int b = 0; b < batch; b++) {
                col[b] = pre[b * m + i];
            }
            java.util.Arrays.sort(col);
            bEnc[i] = (threshold == null ? 0f : threshold[i]) - col[Math.max(0, batch - fire - 1)];
        }
        return new SaeWeights(w.config(), w.wEnc(), bEnc, w.wDec(), w.bDec(), w.extras());
    }

    /** GFLOP/s of the encoder-shaped product [batch, d] x [d, m] alone, best of 3..10 products. */
    private double gemmAloneGflops(Device dev, int m, int reps) {
        return StepBench.encoderProductGflops(dev, batch, d, m, seed, Math.max(3, Math.min(reps, 10)));
    }
}
