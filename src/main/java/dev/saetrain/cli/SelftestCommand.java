package dev.saetrain.cli;

import dev.saetrain.device.Device;
import dev.saetrain.device.cpu.CpuDevice;
import dev.saetrain.device.cuda.CudaDevice;
import dev.saetrain.device.cuda.CudaUnavailableException;
import dev.saetrain.error.UsageException;
import dev.saetrain.selftest.DeviceFixtures;
import dev.saetrain.selftest.DeviceFixtures.FastDevice;
import dev.saetrain.selftest.DeviceFixtures.Shape;
import dev.saetrain.selftest.OpCatalog;
import dev.saetrain.selftest.OpRunner;
import dev.saetrain.selftest.SelftestReport;
import dev.saetrain.selftest.StepBench;
import dev.saetrain.selftest.StepParity;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code sae-train selftest}: what to run first on a new GPU node. Prints the environment, then checks every Device
 * op on the chosen device against {@link dev.saetrain.device.ReferenceOps} (the parity checks of the JUnit suite,
 * same cases and tolerances), one training step of every architecture against the CPU, a short TopK run on toy data
 * with known features, and one benchmark line per architecture. Exit 0 when every check passed, 1 when one failed,
 * 2 when the device cannot be opened (no GPU for {@code --device cuda}) or the options are wrong.
 */
@Command(name = "selftest", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
        description = {"Checks this machine's device: every Device op against the plain reference implementation, one "
                + "training step of each architecture against the CPU, a short TopK run on toy data with known "
                + "features, and a benchmark line per architecture. Prints a table; --json writes the same as JSON.",
                "Exit codes: 0 every check passed, 1 a check failed, 2 the device could not be opened (no usable GPU "
                        + "for --device cuda) or bad options."})
final class SelftestCommand implements Callable<Integer> {
    @Option(names = "--device", defaultValue = "cuda", description = "cuda | cpu. cuda compares the GPU against the "
            + "reference and the CPU; cpu compares CpuDevice against the reference, and one step on --threads "
            + "threads against one thread. Default: ${DEFAULT-VALUE}.")
    String device;

    @Option(names = "--quick", description = "Three of the seven parity shapes and a smaller benchmark.")
    boolean quick;

    @Option(names = "--json", paramLabel = "FILE", description = "Also write the results as JSON to FILE (atomically).")
    Path json;

    @Option(names = "--threads", defaultValue = "0", description = "CPU threads. Default: all cores.")
    int threads;

    @Spec
    CommandSpec spec;

    /** Wraps the device under test (tests put a deliberately wrong op in it); identity otherwise. */
    private final UnaryOperator<Device> wrap;

    SelftestCommand() {
        this(d -> d);
    }

    SelftestCommand(UnaryOperator<Device> wrap) {
        this.wrap = wrap;
    }

    @Override
    public Integer call() throws Exception {
        long t0 = System.nanoTime();
        int t = DeviceOptions.resolveThreads("--threads", threads);
        if (!device.equals("cpu") && !device.equals("cuda")) {
            throw new UsageException("--device must be cpu or cuda, got '" + device + "'");
        }
        Device dut = device.equals("cuda") ? openCuda() : new CpuDevice(t);
        SelftestReport rep = new SelftestReport(spec.commandLine().getOut(), device, quick);
        try {
            SelftestEnvironment.print(rep, dut, t);
            Device checked = wrap.apply(dut);
            String name = device.equals("cuda") ? "cuda" : "cpu-" + t;
            FastDevice fd = DeviceFixtures.shared(name, checked);
            runOps(rep, fd);
            runSteps(rep, checked, t);
            runEndToEnd(rep, t);
            runBench(rep, checked, t);
        } finally {
            try {
                dut.close();
            } catch (RuntimeException e) {
                rep.check(false, "close", "closing the device failed: " + e.getMessage());
            }
        }
        rep.finish((System.nanoTime() - t0) / 1e9);
        if (json != null) {
            try {
                rep.writeJson(json);
            } catch (java.io.IOException e) {
                throw new UsageException("--json " + json + ": cannot write it (" + e.getMessage() + ")");
            }
        }
        return rep.passed() ? Main.OK : Main.INTERNAL;
    }

    private static Device openCuda() {
        try {
            return CudaDevice.open();
        } catch (CudaUnavailableException e) {
            throw new UsageException("--device cuda: " + e.getMessage()
                    + "; run 'sae-train selftest --device cpu' to check the CPU path");
        }
    }

    private void runOps(SelftestReport rep, FastDevice fd) {
        List<Shape> all = DeviceFixtures.shapes();
        // Quick: the smallest-batch d = 48 case, a d = 769 case with few latents, and the largest (every axis at
        // its awkward extreme once).
        List<Shape> shapes = quick ? List.of(all.get(1), all.get(3), all.get(6)) : all;
        rep.section("ops", "each Device op on " + fd.name() + " against ReferenceOps (plain loops, double sums), "
                + shapes.size() + " shapes; tolerance per element atol + |ref| * rtol, as the parity tests");
        for (OpRunner.OpResult r : OpRunner.run(fd, shapes)) {
            rep.op(r);
        }
        for (String op : OpCatalog.uncovered()) {
            rep.check(false, op, "no parity check covers this Device op");
        }
        OpCatalog.NOT_COMPARED.entrySet().stream().sorted(java.util.Map.Entry.comparingByKey())
                .forEach(e -> rep.notCompared(e.getKey(), e.getValue()));
    }

    private void runSteps(SelftestReport rep, Device checked, int t) {
        boolean cuda = device.equals("cuda");
        int many = t > 1 ? t : 3;
        Supplier<Device> want = cuda ? () -> new CpuDevice(t) : () -> new CpuDevice(1);
        Supplier<Device> got = cuda ? DeviceFixtures.shared("cuda", checked).open()
                : () -> wrap.apply(new CpuDevice(many));
        rep.section("step", cuda ? "one training step on cuda against cpu-" + t
                : "one training step on cpu-" + many + " against cpu-1 (determinism across thread counts: only the "
                + "summation order differs)");
        for (String arch : StepParity.ARCHITECTURES) {
            rep.step(StepParity.compare(arch, want, got));
        }
    }

    private void runEndToEnd(SelftestReport rep, int t) throws java.io.IOException {
        rep.section("e2e", "sae-train train --device " + device + " on synth data (d 64, 128 features, 3 active), "
                + "TopK k 3 x4, 4 epochs");
        SelftestEndToEnd.Result r = SelftestEndToEnd.run(device, t);
        rep.e2e(r.passed(), r.fvu(), r.l0(), r.meanMaxCos(), r.fractionAbove(), r.seconds(), r.failure(),
                "bar: mean max cos >= " + SelftestEndToEnd.MIN_MEAN_MAX_COS + ", FVU < " + SelftestEndToEnd.MAX_FVU);
    }

    private void runBench(SelftestReport rep, Device checked, int t) {
        boolean cuda = device.equals("cuda");
        StepBench.Size size = cuda ? (quick ? new StepBench.Size(512, 16, 32, 4096, 5)
                : new StepBench.Size(768, 32, 32, 4096, 20))
                : quick ? new StepBench.Size(128, 8, 16, 512, 2) : new StepBench.Size(256, 16, 32, 1024, 3);
        rep.section("bench", "tokens/s of each step from its random init (informational), and the encoder product "
                + "alone, " + size.label());
        double tflops = StepBench.gemmTflops(checked, size, cuda ? 10 : 3);
        for (String arch : StepParity.ARCHITECTURES) {
            try {
                rep.bench(arch, size.label(), StepBench.tokensPerSecond(checked, arch, size), tflops, null);
            } catch (RuntimeException e) {
                rep.bench(arch, size.label(), Double.NaN, tflops, e.getClass().getSimpleName() + ": " + e.getMessage());
            }
        }
    }
}
