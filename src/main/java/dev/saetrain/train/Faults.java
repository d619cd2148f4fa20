package dev.saetrain.train;

/**
 * Test seam, not a production option: lets tests in this package make a run die or one SAE diverge at a chosen
 * step, which no real input does on demand. Set with {@link Trainer#setFaults}; the CLI never sets it.
 *
 * @param killAfterStep after this step (and its checkpoint, if one is due) the loop throws {@link Killed},
 *                      leaving the run directory as a SIGKILL would: no final checkpoint, no export, metrics
 *                      rows after the last checkpoint still in the file; -1 for never
 * @param poisonSae     name of the SAE whose b_dec[0] is set to NaN right before its step {@code poisonStep}
 *                      (through {@link Engine#snapshot}/{@link Engine#restore}), or null
 * @param poisonStep    the step at which that happens
 */
record Faults(long killAfterStep, String poisonSae, long poisonStep) {
    static final Faults NONE = new Faults(-1, null, -1);

    static Faults killAfter(long step) {
        return new Faults(step, null, -1);
    }

    static Faults poison(String sae, long step) {
        return new Faults(-1, sae, step);
    }

    /** Thrown by the loop at {@link #killAfterStep}; only tests see it. */
    static final class Killed extends RuntimeException {
        private static final long serialVersionUID = 1L;

        Killed(long step) {
            super("test seam: simulated kill after step " + step);
        }
    }

    /** Makes {@code e}'s next step non-finite: b_dec enters every reconstruction, so the loss becomes NaN. */
    static void poison(Engine e) {
        EngineState s = e.snapshot();
        s.floats().get("b_dec")[0] = Float.NaN;
        e.restore(s);
    }
}
