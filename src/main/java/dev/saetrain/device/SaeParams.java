package dev.saetrain.device;

/**
 * The parameters every SAE has, on the device ({@link Device} gives their layouts): wEnc and wDec [nLatents, dIn]
 * (wEnc latent-major; with tied weights wEnc is wDec), bEnc [nLatents], bDec [dIn].
 */
public record SaeParams(FloatBuf wEnc, FloatBuf bEnc, FloatBuf wDec, FloatBuf bDec) {
}
