package dev.saetrain.train;

import java.util.Map;

/**
 * A step that selects with {@link BatchTopkSelection} (batchtopk, matryoshka): its inference threshold is exported
 * as every latent's threshold and kept in the checkpoint state.
 */
interface BatchSelectionStep extends ArchitectureStep {
    /** The selection with its threshold estimate (tests read theta). */
    BatchTopkSelection selection();

    /** The parts of the step every architecture shares. */
    SharedParts shared();

    @Override
    default void addExportTensors(Map<String, float[]> extras) {
        extras.put("threshold", selection().exportThreshold(shared().m));
    }

    @Override
    default void addStateFloats(Map<String, EngineState.LazyFloats> floats) {
        selection().addStateFloats(floats);
    }

    @Override
    default void restoreState(EngineState state) {
        selection().restoreState(state, shared());
    }
}
