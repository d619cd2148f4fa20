package dev.saetrain.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** Each architecture's default LR (docs/architectures.md; the measurements behind them in docs/performance.md). */
class DefaultLrTest {
    @Test
    void topkFamilyAndJumpReluScaleWithTheWidth() {
        // 2e-4 at 2^14 latents, halved at 4x the width
        assertEquals(2e-4, SaeConfig.topk(1024, 16, 32).defaultLr(), 1e-12);
        assertEquals(1e-4, SaeConfig.topk(1024, 64, 32).defaultLr(), 1e-12);
        for (int x : new int[] {4, 16, 128}) {
            double topk = SaeConfig.topk(384, x, 32).defaultLr();
            assertEquals(topk, SaeConfig.batchTopk(384, x, 32).defaultLr(), 0);
            assertEquals(topk, SaeConfig.matryoshka(384, x, 32).defaultLr(), 0);
            assertEquals(topk, SaeConfig.jumpRelu(384, x, 1).defaultLr(), 0);
        }
        // about Gemma Scope's 7e-5 at its 131k width (2^17 latents)
        assertEquals(7.07e-5, SaeConfig.jumpRelu(2048, 64, 1).defaultLr(), 1e-7);
    }

    @Test
    void reluAndGatedKeepTheirRecipesLr() {
        for (int x : new int[] {4, 64}) {
            assertEquals(5e-5, SaeConfig.relu(768, x, 5).defaultLr(), 0);
            assertEquals(5e-5, SaeConfig.relu2023(768, x, 5).defaultLr(), 0);
            assertEquals(3e-4, SaeConfig.gated(768, x, 5).defaultLr(), 0);
        }
    }
}
