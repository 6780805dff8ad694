"""Independent computations the tests compare our figures with."""

from statistics import NormalDist


def wilson(k: int, n: int) -> tuple[float, float]:
    """The Wilson score interval from its textbook form, as fractions:
    (p + z²/2n ± z·sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n), z the 97.5% normal quantile.
    Clamped to [0, 1]: at 0 of n the lower bound is 0, which rounding can make -1e-17."""
    z, p = NormalDist().inv_cdf(0.975), k / n
    root = z * (p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5
    return (max(0.0, (p + z * z / (2 * n) - root) / (1 + z * z / n)),
            min(1.0, (p + z * z / (2 * n) + root) / (1 + z * z / n)))
