package dev.saetrain.train;

/** Sums of {@link StepStats} over a log interval of one SAE. */
final class IntervalStats {
    int steps;
    long rows;
    double sse;
    double centeredSse;
    long active;
    double sparsityLoss;
    double auxLoss;
    double gradNorm;
    int denseSteps;
    int lastDead;

    void add(StepStats s) {
        steps++;
        rows += s.rows();
        sse += s.sse();
        centeredSse += s.centeredSse();
        active += s.activeSum();
        sparsityLoss += s.sparsityLoss();
        auxLoss += s.auxLoss();
        gradNorm += s.gradNorm();
        denseSteps += s.dense() ? 1 : 0;
        lastDead = s.dead();
    }

    double mse() {
        return sse / rows;
    }

    double fvu() {
        return centeredSse > 0 ? sse / centeredSse : Double.NaN;
    }

    double l0() {
        return (double) active / rows;
    }

    void reset() {
        steps = 0;
        rows = 0;
        sse = 0;
        centeredSse = 0;
        active = 0;
        sparsityLoss = 0;
        auxLoss = 0;
        gradNorm = 0;
        denseSteps = 0;
    }
}
