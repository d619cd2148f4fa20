package dev.saetrain.device;

/**
 * Where a backward op writes the gradients of the parameters every SAE has: dWEnc and dWDec [nLatents, dIn],
 * row-sparse, each with its own rowActive flags [nLatents] int32 (encActive, decActive; see {@link Device} for the
 * flag contract), and dBEnc [nLatents]. With tied weights dWEnc is dWDec and encActive is decActive: the sparse ops
 * then add both terms into the one gradient. b_dec's gradient is not here: the caller sums it from the residual.
 *
 * @param dWEnc     [nLatents, dIn] the encoder's gradient, latent-major like wEnc
 * @param encActive [nLatents] row flags of dWEnc
 * @param dBEnc     [nLatents]
 * @param dWDec     [nLatents, dIn]
 * @param decActive [nLatents] row flags of dWDec
 */
public record SaeGrads(FloatBuf dWEnc, IntBuf encActive, FloatBuf dBEnc, FloatBuf dWDec, IntBuf decActive) {
}
