//! Distribution-free statistics of two samples: the Hodges–Lehmann shift, its Moses
//! confidence interval, the Mann–Whitney test, and Holm's correction.
//!
//! Samples are compared as given; the gate passes logarithms, so a shift is a ratio.

/// Above this many pairs (n·m), the distribution of U is approximated by a normal one.
pub const EXACT_PAIRS: usize = 2_500;

/// Every difference `y_j − x_i`, in ascending order.
pub fn differences(x: &[f64], y: &[f64]) -> Vec<f64> {
    let mut d: Vec<f64> = y
        .iter()
        .flat_map(|yj| x.iter().map(move |xi| yj - xi))
        .collect();
    d.sort_by(f64::total_cmp);
    d
}

/// The median of sorted values; NaN when there are none.
pub fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    match n {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// The Hodges–Lehmann estimate of the shift from `x` to `y`: the median of every difference.
pub fn hodges_lehmann(x: &[f64], y: &[f64]) -> f64 {
    median(&differences(x, y))
}

/// How many of the C(n+m, n) orderings of two samples (no ties) give U = k, for k in
/// 0..=n·m, where U counts the pairs in which the y exceeds the x. The coefficients of the
/// Gaussian binomial [n+m choose n]_q, built as ∏ (1 − q^(m+j)) / (1 − q^j), j = 1..n; each
/// partial product is itself a Gaussian binomial, so every division is exact.
pub fn u_counts(n: usize, m: usize) -> Vec<u128> {
    let top = n * m;
    let mut poly = vec![0i128; top + 1];
    poly[0] = 1;
    for j in 1..=n {
        // Multiply by (1 − q^(m+j)): from the top down, so each term is read before it changes.
        for k in (m + j..=top).rev() {
            poly[k] -= poly[k - m - j];
        }
        // Divide by (1 − q^j): c[k] = a[k] + c[k − j], from the bottom up.
        for k in j..=top {
            poly[k] += poly[k - j];
        }
    }
    poly.into_iter()
        .map(|c| u128::try_from(c).unwrap_or(0))
        .collect()
}

/// P(U ≤ k) for every k, under the null hypothesis, from [`u_counts`].
fn u_cdf(n: usize, m: usize) -> Vec<f64> {
    let counts = u_counts(n, m);
    let total: u128 = counts.iter().sum();
    let mut acc = 0u128;
    counts
        .iter()
        .map(|c| {
            acc += c;
            acc as f64 / total as f64
        })
        .collect()
}

/// The Mann–Whitney U of `y` over `x`: pairs with y > x, ties counted as one half.
pub fn mann_whitney_u(x: &[f64], y: &[f64]) -> f64 {
    y.iter()
        .flat_map(|yj| x.iter().map(move |xi| (xi, yj)))
        .map(|(xi, yj)| match yj.total_cmp(xi) {
            std::cmp::Ordering::Greater => 1.0,
            std::cmp::Ordering::Equal => 0.5,
            std::cmp::Ordering::Less => 0.0,
        })
        .sum()
}

/// How a p-value was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// From the exact distribution of U (no ties, n·m ≤ [`EXACT_PAIRS`]).
    Exact,
    /// From the normal approximation, with tie and continuity corrections.
    Normal,
}

/// The two-sided Mann–Whitney p-value of `x` against `y`, and how it was found.
pub fn mann_whitney_p(x: &[f64], y: &[f64]) -> (f64, Method) {
    let (n, m) = (x.len(), y.len());
    let u = mann_whitney_u(x, y);
    let mut all: Vec<f64> = x.iter().chain(y).copied().collect();
    all.sort_by(f64::total_cmp);
    let ties = tie_sizes(&all);
    if ties.is_empty() && n * m <= EXACT_PAIRS {
        // Without ties U is a whole number.
        let k = u.round() as usize;
        let cdf = u_cdf(n, m);
        // U is symmetric about n·m/2: P(U ≥ k) = P(U ≤ n·m − k), without 1 − (almost 1).
        let tail = cdf[k].min(cdf[n * m - k]);
        return ((2.0 * tail).min(1.0), Method::Exact);
    }
    let (nf, mf) = (n as f64, m as f64);
    let total = nf + mf;
    let correction: f64 =
        ties.iter().map(|&t| (t * t * t - t) as f64).sum::<f64>() / (total * (total - 1.0));
    let variance = nf * mf / 12.0 * ((total + 1.0) - correction);
    if variance <= 0.0 {
        // Every value equal: no evidence of any shift.
        return (1.0, Method::Normal);
    }
    let z = ((u - nf * mf / 2.0).abs() - 0.5).max(0.0) / variance.sqrt();
    ((2.0 * normal_upper(z)).min(1.0), Method::Normal)
}

/// Sizes of the groups of equal values (of two or more) in sorted values.
fn tie_sizes(sorted: &[f64]) -> Vec<u64> {
    let mut sizes = Vec::new();
    let mut run = 1u64;
    for pair in sorted.windows(2) {
        if pair[0] == pair[1] {
            run += 1;
        } else {
            if run > 1 {
                sizes.push(run);
            }
            run = 1;
        }
    }
    if run > 1 {
        sizes.push(run);
    }
    sizes
}

/// The distribution-free (1 − α) confidence interval of the shift (Moses): the k-th smallest
/// and k-th largest differences, where k is the largest count with P(U < k) ≤ α/2. `None`
/// when even the whole range of differences holds less than 1 − α confidence (too few
/// values: at most 1 − 2/C(n+m, n)).
pub fn shift_interval(x: &[f64], y: &[f64], alpha: f64) -> Option<(f64, f64)> {
    let (n, m) = (x.len(), y.len());
    if n == 0 || m == 0 {
        return None;
    }
    let k = if n * m <= EXACT_PAIRS {
        // P(U ≤ k − 1) ≤ α/2 for the largest such k.
        u_cdf(n, m)
            .iter()
            .take_while(|&&p| p <= alpha / 2.0)
            .count()
    } else {
        let (nf, mf) = (n as f64, m as f64);
        let sd = (nf * mf * (nf + mf + 1.0) / 12.0).sqrt();
        (nf * mf / 2.0 - normal_quantile(1.0 - alpha / 2.0) * sd)
            .floor()
            .max(0.0) as usize
    };
    if k == 0 {
        return None;
    }
    let d = differences(x, y);
    Some((d[k - 1], d[d.len() - k]))
}

/// The largest confidence a distribution-free interval can have with n and m values:
/// 1 − 2/C(n+m, n).
pub fn attainable_confidence(n: usize, m: usize) -> f64 {
    let (small, total) = (n.min(m) as f64, (n + m) as f64);
    // C(total, small) as a product; large values make it 1 for every practical purpose.
    let mut c = 1.0f64;
    for i in 0..small as usize {
        c = c * (total - i as f64) / (i as f64 + 1.0);
    }
    (1.0 - 2.0 / c).max(0.0)
}

/// Holm's step-down adjustment of p-values: the family-wise error stays at α when each
/// adjusted p is compared with α. Returned in the order given.
pub fn holm(p: &[f64]) -> Vec<f64> {
    let k = p.len();
    let mut order: Vec<usize> = (0..k).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let mut adjusted = vec![0.0; k];
    let mut running = 0.0f64;
    for (rank, &i) in order.iter().enumerate() {
        running = running.max(((k - rank) as f64 * p[i]).min(1.0));
        adjusted[i] = running;
    }
    adjusted
}

/// The sample standard deviation; 0 for fewer than two values.
pub fn std_dev(values: &[f64]) -> f64 {
    let n = values.len() as f64;
    if values.len() < 2 {
        return 0.0;
    }
    let mean = values.iter().sum::<f64>() / n;
    (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
}

/// P(Z > z) for a standard normal Z (erfc by Numerical Recipes' Chebyshev fit, relative
/// error below 1.2e-7).
pub fn normal_upper(z: f64) -> f64 {
    erfc(z / std::f64::consts::SQRT_2) / 2.0
}

fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

/// The standard normal quantile (Acklam's rational approximation, relative error below
/// 1.2e-9), for 0 < p < 1.
pub fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    const LOW: f64 = 0.024_25;
    if p < LOW {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - LOW {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tolerance: f64) -> bool {
        (a - b).abs() <= tolerance
    }

    fn binomial(n: u64, k: u64) -> u128 {
        (0..k).fold(1u128, |c, i| c * u128::from(n - i) / u128::from(i + 1))
    }

    /// Every way to pick which n of n+m ranks are the x's, and the U each gives.
    fn brute_force(n: usize, m: usize) -> Vec<u128> {
        let mut counts = vec![0u128; n * m + 1];
        for mask in 0u32..(1 << (n + m)) {
            if mask.count_ones() as usize != n {
                continue;
            }
            // Rank r holds an x when bit r is set; U counts (x, y) pairs with y above x.
            let mut u = 0;
            let mut xs_below = 0;
            for r in 0..n + m {
                if mask & (1 << r) != 0 {
                    xs_below += 1;
                } else {
                    u += xs_below;
                }
            }
            counts[u] += 1;
        }
        counts
    }

    #[test]
    fn the_exact_distribution_of_u_counts_every_ordering_once() {
        for (n, m) in [(1, 1), (2, 3), (5, 5), (10, 7), (50, 50)] {
            let sum: u128 = u_counts(n, m).iter().sum();
            assert_eq!(sum, binomial((n + m) as u64, n as u64), "n={n} m={m}");
        }
    }

    #[test]
    fn the_exact_distribution_of_u_matches_brute_force_enumeration() {
        for n in 1..=6 {
            for m in 1..=6 {
                assert_eq!(u_counts(n, m), brute_force(n, m), "n={n} m={m}");
            }
        }
    }

    #[test]
    fn complete_separation_of_five_and_five_has_p_two_in_252() {
        let x = [1.0, 2.0, 3.0, 4.0, 5.0];
        let y = [6.0, 7.0, 8.0, 9.0, 10.0];
        let (p, method) = mann_whitney_p(&x, &y);
        assert_eq!(method, Method::Exact);
        assert!(close(p, 2.0 / 252.0, 1e-12), "{p}");
        // Either way round.
        assert!(close(mann_whitney_p(&y, &x).0, 2.0 / 252.0, 1e-12));
    }

    #[test]
    fn a_far_tail_keeps_its_precision() {
        let x: Vec<f64> = (0..50).map(f64::from).collect();
        let y: Vec<f64> = (100..150).map(f64::from).collect();
        let (p, method) = mann_whitney_p(&x, &y);
        assert_eq!(method, Method::Exact);
        // 2 / C(100, 50) = 2 / 1.0089e29.
        assert!((p * 1.008_913_445_455_642e29 - 2.0).abs() < 1e-9, "{p}");
    }

    #[test]
    fn an_exact_p_value_by_hand() {
        // x = {1, 3}, y = {2, 4}: U = 3 (2>1, 4>1, 4>3) of 4; orderings with U ≥ 3: U=3 and
        // U=4, 1 each of C(4,2) = 6; two-sided 2·2/6.
        let (p, method) = mann_whitney_p(&[1.0, 3.0], &[2.0, 4.0]);
        assert_eq!(method, Method::Exact);
        assert!(close(p, 4.0 / 6.0, 1e-12), "{p}");
    }

    #[test]
    fn ties_take_the_normal_approximation_with_both_corrections() {
        // HdrHistogram keeps 3 significant digits, so values tie.
        let x = [100.0, 100.0, 101.0, 102.0, 102.0];
        let y = [102.0, 103.0, 103.0, 104.0, 105.0];
        let (p, method) = mann_whitney_p(&x, &y);
        assert_eq!(method, Method::Normal);
        // U by hand: y = 102 beats three x's and ties two (one half each): 4; every other y
        // beats all five: 20.
        assert_eq!(mann_whitney_u(&x, &y), 24.0);
        // Ties: {100,100}, {102,102,102}, {103,103}: Σ(t³−t) = 6 + 24 + 6 = 36.
        // var = 25/12 · (11 − 36/90) = 22.0833…; z = (|24 − 12.5| − 0.5)/√var = 2.3408.
        let z = 11.0 / (25.0f64 / 12.0 * (11.0 - 0.4)).sqrt();
        assert!(close(z, 2.3408, 1e-4), "{z}");
        assert!(close(p, 2.0 * normal_upper(z), 1e-12));
        assert!(close(p, 0.019_24, 1e-4), "{p}");
    }

    #[test]
    fn equal_values_everywhere_give_p_one() {
        let same = [7.0; 6];
        assert_eq!(mann_whitney_p(&same, &same), (1.0, Method::Normal));
    }

    #[test]
    fn the_hodges_lehmann_shift_is_the_median_of_the_differences() {
        // Differences y − x: 10−1, 10−2, 10−4, 11−1, 11−2, 11−4 = 9, 8, 6, 10, 9, 7 →
        // sorted 6 7 8 9 9 10, median 8.5.
        assert_eq!(hodges_lehmann(&[1.0, 2.0, 4.0], &[10.0, 11.0]), 8.5);
        assert_eq!(hodges_lehmann(&[1.0], &[3.0]), 2.0);
    }

    #[test]
    fn the_interval_takes_the_order_statistics_at_the_critical_value() {
        // n = m = 5: P(U ≤ 2) = 4/252 = 0.0159 ≤ 0.025 < P(U ≤ 3) = 7/252 = 0.0278, so k = 3:
        // the 3rd smallest and 3rd largest of the 25 differences.
        let x = [0.0, 1.0, 2.0, 3.0, 4.0];
        let y = [10.0, 12.0, 14.0, 16.0, 18.0];
        let d = differences(&x, &y);
        assert_eq!(d.len(), 25);
        let (lo, hi) = shift_interval(&x, &y, 0.05).unwrap();
        assert_eq!((lo, hi), (d[2], d[22]));
        // By hand: differences range 6..18; the three smallest are 6, 7, 8 and the three
        // largest 18, 17, 16.
        assert_eq!((lo, hi), (8.0, 16.0));
    }

    #[test]
    fn too_few_values_cannot_reach_the_confidence_asked_for() {
        // n = m = 2: the whole range holds 1 − 2/6 = 67% at most.
        assert_eq!(shift_interval(&[1.0, 2.0], &[3.0, 4.0], 0.05), None);
        assert!(close(attainable_confidence(2, 2), 2.0 / 3.0, 1e-12));
        // n = m = 4: 1 − 2/70 = 97%: the whole range.
        assert_eq!(
            shift_interval(&[1.0, 2.0, 3.0, 4.0], &[5.0, 6.0, 7.0, 8.0], 0.05),
            Some((1.0, 7.0))
        );
    }

    #[test]
    fn the_normal_interval_agrees_with_the_exact_one_near_the_boundary() {
        let x: Vec<f64> = (0..60).map(f64::from).collect();
        let y: Vec<f64> = (0..60).map(|i| f64::from(i) + 0.5).collect();
        let (lo, hi) = shift_interval(&x, &y, 0.05).unwrap();
        assert!(lo < 0.5 && hi > 0.5, "{lo} {hi}");
        // Roughly ±1.96·σ·√(2/n) with σ ≈ 17.5 (uniform over 60): ±6.3.
        assert!(close(hi - lo, 12.6, 2.0), "{lo} {hi}");
    }

    #[test]
    fn holm_adjusts_step_down_and_keeps_order() {
        // Sorted 0.01, 0.02, 0.03, 0.04 with 4 tests: 0.04, 0.06, 0.06 (monotone), 0.04→0.06.
        let adjusted = holm(&[0.03, 0.01, 0.04, 0.02]);
        let expected = [0.06, 0.04, 0.06, 0.06];
        for (a, e) in adjusted.iter().zip(expected) {
            assert!(close(*a, e, 1e-12), "{adjusted:?}");
        }
        assert_eq!(holm(&[0.5, 0.9]), vec![1.0, 1.0]);
        assert!(holm(&[]).is_empty());
    }

    #[test]
    fn the_normal_functions_match_tables() {
        assert!(close(normal_upper(1.959_964), 0.025, 1e-6));
        assert!(close(normal_upper(0.0), 0.5, 1e-7));
        assert!(close(normal_quantile(0.975), 1.959_964, 1e-6));
        assert!(close(normal_quantile(0.01), -2.326_348, 1e-6));
    }
}
