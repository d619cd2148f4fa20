package dev.saetrain.synth;

import java.util.Arrays;

/**
 * The ground-truth sparse code of one synthetic row: the row is sum over r of coefficients[r] * feature
 * features[r]. Indices are strictly increasing; coefficients are in [0, 1).
 *
 * @param features     [nActive] indices of the active ground-truth features
 * @param coefficients [nActive] their coefficients
 */
public record Codes(int[] features, double[] coefficients) {
    public Codes {
        if (features.length != coefficients.length) {
            throw new IllegalArgumentException(features.length + " feature indices but " + coefficients.length
                    + " coefficients");
        }
        features = features.clone();
        coefficients = coefficients.clone();
    }

    /** Number of active features. */
    public int size() {
        return features.length;
    }

    @Override
    public int[] features() {
        return features.clone();
    }

    @Override
    public double[] coefficients() {
        return coefficients.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Codes c && Arrays.equals(features, c.features) && Arrays.equals(coefficients, c.coefficients);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(features) + Arrays.hashCode(coefficients);
    }

    @Override
    public String toString() {
        return "Codes" + Arrays.toString(features) + Arrays.toString(coefficients);
    }
}
