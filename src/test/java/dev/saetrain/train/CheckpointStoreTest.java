package dev.saetrain.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.saetrain.data.StreamPosition;
import dev.saetrain.device.cpu.CpuDevice;
import dev.saetrain.error.UsageException;
import dev.saetrain.model.SaeConfig;
import dev.saetrain.model.SaeInit;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Checkpoint files read back bit for bit; the latest pointer only ever names complete checkpoints. */
class CheckpointStoreTest {
    @TempDir
    Path tmp;

    private static EngineState randomState(Engine e, long seed) {
        EngineState s = e.snapshot();
        Random r = new Random(seed);
        s.floats().values().forEach(a -> {
            for (int i = 0; i < a.length; i++) {
                a[i] = (float) r.nextGaussian();
            }
        });
        s.ints().values().forEach(a -> {
            for (int i = 0; i < a.length; i++) {
                a[i] = r.nextInt();
            }
        });
        return new EngineState(s.floats(), s.ints(), 17, 0.0123456789);
    }

    @Test
    void stateFileRoundTripsEveryTensor() throws IOException {
        SaeConfig cfg = SaeConfig.relu(6, 3, 2.5);
        try (CpuDevice dev = new CpuDevice(1);
             Engine e = new Engine(dev, SaeInit.initial(cfg, 1, new float[6]), 4, 100)) {
            EngineState s = randomState(e, 3);
            FiringTracker.Counts c = new FiringTracker.Counts(new long[18], new long[18], 99, 0);
            c.all()[0] = Long.MAX_VALUE;
            c.all()[17] = 5;
            c.late()[3] = 1L << 40;
            Path f = tmp.resolve("x.safetensors");
            SaeStateFile.write(f, cfg, s, c);
            EngineState again;
            try (SaeStateFile.Loaded l = SaeStateFile.read(f, cfg)) {
                assertEquals(s.floats().keySet(), l.allFloats().keySet());
                assertEquals(java.util.Set.of("W_enc", "W_enc.adam_m", "W_enc.adam_v", "W_dec", "W_dec.adam_m",
                        "W_dec.adam_v"), l.matrices().keySet(), "the matrices are streamed from the file");
                s.floats().forEach((k, v) -> assertArrayEquals(v, l.allFloats().get(k), k));
                s.ints().forEach((k, v) -> assertArrayEquals(v, l.ints().get(k), k));
                assertArrayEquals(c.all(), l.firingAll());
                assertArrayEquals(c.late(), l.firingLate());
                // Restoring into an engine (matrices streamed from the file) and snapshotting again gives the same state.
                e.restore(new EngineState(l.floats(), l.ints(), 17, 0.0123456789, l.matrices()));
                again = e.snapshot();
            }
            s.floats().forEach((k, v) -> assertArrayEquals(v, again.floats().get(k), k));
            assertEquals(17, again.step());
            assertThrows(UsageException.class, () -> SaeStateFile.read(f, SaeConfig.relu(6, 2, 2.5)).close());
        }
    }

    @Test
    void matricesStreamBackAcrossChunkBoundaries() throws IOException {
        // [1088, 64] = 69632 floats per matrix: the restore streams each in chunks of 65536, the second one partial.
        SaeConfig cfg = SaeConfig.topk(64, 17, 8);
        try (CpuDevice dev = new CpuDevice(1);
             Engine e = new Engine(dev, SaeInit.initial(cfg, 1, new float[64]), 4, 100)) {
            EngineState s = randomState(e, 5);
            Path f = tmp.resolve("big.safetensors");
            SaeStateFile.write(f, cfg, s, new FiringTracker.Counts(new long[1088], new long[1088], 0, 0));
            e.restore(randomState(e, 6));
            try (SaeStateFile.Loaded l = SaeStateFile.read(f, cfg)) {
                assertEquals(69632, l.matrices().get("W_dec.adam_v").length());
                e.restore(new EngineState(l.floats(), l.ints(), 17, 0.0123456789, l.matrices()));
            }
            EngineState again = e.snapshot();
            s.floats().forEach((k, v) -> assertArrayEquals(v, again.floats().get(k), k));
        }
    }

    @Test
    void checkpointJsonRoundTripsEveryScalar() throws IOException {
        IntervalStats iv = new IntervalStats();
        iv.steps = 3;
        iv.rows = 768;
        iv.sse = 0.1 + 0.2;
        iv.centeredSse = Math.PI * 1e7;
        iv.active = 12345;
        iv.sparsityLoss = 1.0 / 3;
        iv.auxLoss = Double.MIN_VALUE;
        iv.gradNorm = Math.E;
        iv.denseSteps = 2;
        iv.lastDead = 5;
        Checkpoint ck = new Checkpoint(40, 93, 256, 7, 1.2345678f, new StreamPosition(7, -8, 1, 2, 10240, 3), 999, 12.5,
                List.of(new Checkpoint.Sae("x2-k3", 40, 0.3, iv, new long[] {100, 50}, null),
                        new Checkpoint.Sae("x4-k4", 0, 0, new IntervalStats(), new long[2],
                                new FamilyMember.Divergence(23, "loss NaN", 20))));
        ck.write(tmp);
        Checkpoint r = Checkpoint.read(tmp);
        assertEquals(ck.step(), r.step());
        assertEquals(ck.position(), r.position());
        assertEquals(Float.floatToRawIntBits(ck.scale()), Float.floatToRawIntBits(r.scale()));
        assertEquals(ck.metricsBytes(), r.metricsBytes());
        assertEquals(ck.elapsedSeconds(), r.elapsedSeconds());
        IntervalStats b = r.saes().get(0).interval();
        assertEquals(iv.sse, b.sse);
        assertEquals(iv.centeredSse, b.centeredSse);
        assertEquals(iv.sparsityLoss, b.sparsityLoss);
        assertEquals(iv.auxLoss, b.auxLoss);
        assertEquals(iv.gradNorm, b.gradNorm);
        assertEquals(iv.active, b.active);
        assertEquals(iv.denseSteps, b.denseSteps);
        assertEquals(iv.lastDead, b.lastDead);
        assertArrayEquals(new long[] {100, 50}, r.saes().get(0).firingRows());
        assertEquals(0.3, r.saes().get(0).lastDensity());
        assertNull(r.saes().get(0).divergence());
        assertEquals(new FamilyMember.Divergence(23, "loss NaN", 20), r.saes().get(1).divergence());
    }

    /** A checkpoint of one SAE that diverged before any checkpoint, so checkpoint.json is its only file. */
    static void writeOne(CheckpointStore store, long step) throws IOException {
        Path t = store.begin(step);
        new Checkpoint(step, 1000, 4, 0, 1f, new StreamPosition(0, 0, 0, 0, 0, 0), 0, 0,
                List.of(new Checkpoint.Sae("x1-k1", 0, 0, new IntervalStats(), new long[2],
                        new FamilyMember.Divergence(0, "test", -1)))).write(t);
        store.commit(t, step);
    }

    @Test
    void latestNamesOnlyCompleteCheckpointsAndOldOnesArePruned() throws IOException {
        CheckpointStore store = new CheckpointStore(tmp);
        assertNull(store.latest());
        writeOne(store, 10);
        writeOne(store, 20);
        // A crash mid-write leaves a temporary folder: latest still names step-20; the next write removes it.
        Path crashed = store.begin(30);
        Files.writeString(crashed.resolve("half.safetensors"), "partial");
        assertEquals(20, store.latestStep());
        writeOne(store, 30);
        assertFalse(Files.exists(crashed), "leftover temporary folder removed");
        assertEquals(30, store.latestStep());
        assertTrue(Files.isDirectory(store.dir().resolve("step-20")), "the one before the latest is kept");
        assertFalse(Files.exists(store.dir().resolve("step-10")), "older ones are pruned");
        // A stale step folder beyond latest (crash between its rename and the pointer update) is replaced.
        Files.createDirectories(store.dir().resolve("step-40"));
        Files.writeString(store.dir().resolve("step-40/stale"), "old");
        writeOne(store, 40);
        assertFalse(Files.exists(store.dir().resolve("step-40/stale")));
        assertEquals(40, store.latestStep());
        try (var s = Files.list(store.dir())) {
            assertEquals(List.of("latest", "step-30", "step-40"),
                    s.map(p -> p.getFileName().toString()).sorted().toList());
        }
    }

    @Test
    void pruningKeepsOlderCheckpointsWhileThePreviousOneIsDamaged() throws IOException {
        CheckpointStore store = new CheckpointStore(tmp);
        writeOne(store, 10);
        writeOne(store, 20);
        writeOne(store, 30);
        assertFalse(Files.exists(store.dir().resolve("step-10")));
        // step-30 is damaged on disk before step-40 is written: deleting step-20 would leave step-40 alone.
        Path json = store.dir().resolve("step-30/checkpoint.json");
        Files.writeString(json, Files.readString(json).replace("\"step\" : 30", "\"step\" : 31"));
        writeOne(store, 40);
        assertTrue(Files.isDirectory(store.dir().resolve("step-30")), "the damaged one is kept");
        assertTrue(Files.isDirectory(store.dir().resolve("step-20")), "and the sound one before it");
        writeOne(store, 50);
        try (var s = Files.list(store.dir())) {
            assertEquals(List.of("latest", "step-40", "step-50"), s.map(p -> p.getFileName().toString()).sorted().toList(),
                    "once a newer sound one exists, the rest goes");
        }
    }

    @Test
    void theManifestListsEveryFileWithItsSha256() throws Exception {
        CheckpointStore store = new CheckpointStore(tmp);
        writeOne(store, 10);
        Path dir = store.dir().resolve("step-10");
        String manifest = Files.readString(dir.resolve(CheckpointManifest.FILE));
        // The sha256sum format, so that `sha256sum -c checksums.sha256` checks a checkpoint without sae-train.
        String expected = java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
                .digest(Files.readAllBytes(dir.resolve("checkpoint.json")))) + "  checkpoint.json\n";
        assertEquals(expected, manifest);
        assertEquals(CheckpointCheck.Status.VERIFIED, CheckpointCheck.check(dir).verdict().status());
    }

    @Test
    void aPointerToAMissingFolderIsRefusedByName() throws IOException {
        CheckpointStore store = new CheckpointStore(tmp);
        Files.createDirectories(store.dir());
        Files.writeString(store.dir().resolve("latest"), "step-5\n");
        UsageException e = assertThrows(UsageException.class, store::latest);
        assertTrue(e.getMessage().contains("step-5"), e.getMessage());
    }
}
