package dev.saetrain.device;

/**
 * The sizes of one training step's buffers, passed to the step's ops instead of three loose ints: x, xIn, xHat and
 * err are [batch, dIn], pre and the dense activations [batch, nLatents], wEnc and wDec [nLatents, dIn]. An op
 * reads the sizes it needs (topk: batch and nLatents) and ignores the rest.
 *
 * @param batch    rows of the batch
 * @param dIn      input width
 * @param nLatents dictionary size
 */
public record StepShape(int batch, int dIn, int nLatents) {
    public StepShape {
        if (batch < 0 || dIn < 0 || nLatents < 0) {
            throw new IllegalArgumentException("a step shape needs sizes >= 0, got batch " + batch + ", dIn " + dIn
                    + ", nLatents " + nLatents);
        }
    }
}
