package dev.saetrain.device;

import dev.saetrain.device.cuda.CudaAssume;
import dev.saetrain.device.cuda.CudaDevice;
import dev.saetrain.selftest.DeviceFixtures;
import dev.saetrain.selftest.DeviceFixtures.FastDevice;
import dev.saetrain.selftest.DeviceFixtures.Shape;
import java.io.File;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.net.URISyntaxException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The parity suite of CpuDevice, run on CudaDevice: every {@code *ParityTest} method in this package (each a
 * wrapper of its check in {@code dev.saetrain.selftest.parity}, which {@code sae-train selftest} also runs) whose
 * cases come from {@link DeviceFixtures#cases} (every shape) or {@link DeviceFixtures#fastDevices}, called with
 * a {@code cuda} {@link FastDevice} instead of the CPU ones, one dynamic test per (class, method, shape). The
 * tolerances are the tests' own (dense products on CUDA: {@link DeviceFixtures#denseProductTolerance}).
 * Tagged {@code cuda}: {@code mvn test -Dgroups=cuda} runs it alone; without a GPU it is skipped with the reason.
 */
@Tag("cuda")
class CudaParitySuiteTest {
    static final FastDevice CUDA = new FastDevice("cuda", CudaDevice::open);

    @TestFactory
    Stream<DynamicTest> everyParityTestOnCuda() throws Exception {
        if (!CudaDevice.probe().available()) {
            // A skipped dynamic test (an aborted factory would not show in surefire's counts).
            return Stream.of(DynamicTest.dynamicTest("parity suite on CUDA", CudaAssume::cudaDevice));
        }
        List<DynamicTest> tests = new ArrayList<>();
        for (Class<?> c : parityClasses()) {
            for (Method m : Arrays.stream(c.getDeclaredMethods()).sorted(Comparator.comparing(Method::getName)).toList()) {
                MethodSource src = m.getAnnotation(MethodSource.class);
                if (m.getAnnotation(ParameterizedTest.class) == null || src == null || src.value().length != 1) {
                    continue;
                }
                String source = src.value()[0];
                if (source.endsWith("DeviceFixtures#cases")) {
                    for (Shape s : DeviceFixtures.shapes()) {
                        tests.add(DynamicTest.dynamicTest(c.getSimpleName() + "." + m.getName() + " " + s,
                                () -> invoke(c, m, CUDA, s)));
                    }
                } else if (source.endsWith("DeviceFixtures#fastDevices")) {
                    tests.add(DynamicTest.dynamicTest(c.getSimpleName() + "." + m.getName(), () -> invoke(c, m, CUDA)));
                }
            }
        }
        if (tests.isEmpty()) {
            throw new AssertionError("no parity test found to run on CUDA");
        }
        return tests.stream();
    }

    /** The suite finds the parity tests (so a GPU run cannot pass by running nothing); runs without a GPU. */
    @Test
    void findsTheParityClasses() throws Exception {
        List<String> names = parityClasses().stream().map(Class::getSimpleName).toList();
        for (String want : List.of("AdamStepParityTest", "EncodeParityTest", "TopkParityTest", "ReductionsParityTest",
                "DecoderNormsParityTest", "SparseDecodeParityTest")) {
            if (!names.contains(want)) {
                throw new AssertionError(want + " not found among " + names);
            }
        }
    }

    private static void invoke(Class<?> c, Method m, Object... args) throws Throwable {
        var ctor = c.getDeclaredConstructor();
        ctor.setAccessible(true);
        Object instance = ctor.newInstance();
        m.setAccessible(true);
        try {
            m.invoke(instance, args);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }

    /** The *ParityTest classes compiled next to this one. */
    static List<Class<?>> parityClasses() throws URISyntaxException, ClassNotFoundException {
        File dir = new File(CudaParitySuiteTest.class.getResource("").toURI());
        String[] files = dir.list((d, n) -> n.endsWith("ParityTest.class"));
        List<Class<?>> out = new ArrayList<>();
        for (String f : files == null ? new String[0] : files) {
            out.add(Class.forName(CudaParitySuiteTest.class.getPackageName() + "." + f.replace(".class", "")));
        }
        out.sort(Comparator.comparing(Class::getSimpleName));
        return out;
    }
}
