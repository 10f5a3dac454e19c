//! Element-wise kernels of the engine: fast `exp`, `sigmoid` and `tanh`, the fused LSTM gate
//! passes (forward and backward), Adam, and a packing-free GEMM for the per-step products.
//!
//! Every kernel is written once, generic over `FMA`, as plain slice loops the compiler
//! vectorises. At run time the AVX2+FMA instantiation is chosen when the CPU has both (no
//! `-C target-cpu=native` needed); otherwise the portable one runs. The two agree to float
//! rounding (FMA fuses a multiply-add), and each is deterministic on its own.

/// Whether the AVX2+FMA kernels run on this CPU (decided once: CPU support, and no
/// `LSTMCAST_NO_SIMD` in the environment).
#[inline]
pub fn simd_enabled() -> bool {
    static SIMD: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *SIMD.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        {
            std::is_x86_feature_detected!("avx2")
                && std::is_x86_feature_detected!("fma")
                && std::env::var_os("LSTMCAST_NO_SIMD").is_none()
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            false
        }
    })
}

/// Defines a public dispatcher `$name` that runs `$generic::<true>` under AVX2+FMA when available
/// and `$generic::<false>` otherwise.
macro_rules! dispatch {
    ($(#[$doc:meta])* $name:ident => $generic:ident ( $($arg:ident : $ty:ty),* ) $(-> $ret:ty)?) => {
        $(#[$doc])*
        pub fn $name($($arg: $ty),*) $(-> $ret)? {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2,fma")]
                unsafe fn simd($($arg: $ty),*) $(-> $ret)? {
                    $generic::<true>($($arg),*)
                }
                if simd_enabled() {
                    // SAFETY: the CPU supports AVX2 and FMA (checked just above).
                    return unsafe { simd($($arg),*) };
                }
            }
            $generic::<false>($($arg),*)
        }
    };
}

#[inline(always)]
fn madd<const FMA: bool>(a: f32, b: f32, c: f32) -> f32 {
    if FMA {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}

const MAGIC: f32 = 12_582_912.0; // 1.5 · 2^23: adding it rounds to an integer in the low bits
const LOG2E: f32 = std::f32::consts::LOG2_E;
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;

/// `e^x` to about 2 ulp for x in [−87, 88]; inputs outside are clamped (no inf, no NaN).
#[inline(always)]
pub fn exp<const FMA: bool>(x: f32) -> f32 {
    let x = x.clamp(-87.0, 88.0);
    let t = madd::<FMA>(x, LOG2E, MAGIC);
    let n = t - MAGIC;
    let r = madd::<FMA>(n, -LN2_HI, x);
    let r = madd::<FMA>(n, -LN2_LO, r);
    // Cephes expf polynomial for e^r on [−ln2/2, ln2/2].
    let mut p = 1.987_569_1e-4f32;
    p = madd::<FMA>(p, r, 1.398_199_9e-3);
    p = madd::<FMA>(p, r, 8.333_452e-3);
    p = madd::<FMA>(p, r, 4.166_579_6e-2);
    p = madd::<FMA>(p, r, 1.666_666_5e-1);
    p = madd::<FMA>(p, r, 0.5);
    let e = madd::<FMA>(p, r * r, r) + 1.0;
    let k = (t.to_bits() as i32).wrapping_sub(MAGIC.to_bits() as i32);
    e * f32::from_bits(((k + 127) << 23) as u32)
}

/// Logistic function `1 / (1 + e^−x)`.
#[inline(always)]
pub fn sigmoid<const FMA: bool>(x: f32) -> f32 {
    1.0 / (1.0 + exp::<FMA>(-x))
}

/// Hyperbolic tangent, as `1 − 2 / (1 + e^{2x})` (absolute error about 1e-7).
#[inline(always)]
pub fn tanh<const FMA: bool>(x: f32) -> f32 {
    1.0 - 2.0 / (1.0 + exp::<FMA>(2.0 * x))
}

const W: usize = 8;

/// Runs `$block` over `$n` lanes in fixed blocks of [`W`] (which LLVM vectorises reliably); the
/// tail goes through the same block on zero-padded copies. `$ins` are read, `$outs` written. A
/// macro, not a higher-order function, so the block is always a direct, inlined call (through a
/// function pointer or an `Fn` shim it was not inlined, and `mul_add` became a libm call).
macro_rules! by_blocks {
    ($n:expr, [$($i:expr),* $(,)?], [$($o:expr),* $(,)?], $block:expr $(,)?) => {{
        let n: usize = $n;
        let ins = [$($i),*];
        let mut outs = [$($o),*];
        let mut a = [[0f32; W]; { [$(stringify!($i)),*].len() }];
        let mut o = [[0f32; W]; { [$(stringify!($o)),*].len() }];
        let mut u = 0;
        while u + W <= n {
            for (dst, src) in a.iter_mut().zip(ins.iter()) {
                *dst = src[u..u + W].try_into().expect("block");
            }
            for (dst, src) in o.iter_mut().zip(outs.iter()) {
                *dst = src[u..u + W].try_into().expect("block");
            }
            $block(&a, &mut o);
            for (dst, src) in outs.iter_mut().zip(o.iter()) {
                dst[u..u + W].copy_from_slice(src);
            }
            u += W;
        }
        if u < n {
            let m = n - u;
            for (dst, src) in a.iter_mut().zip(ins.iter()) {
                dst[..m].copy_from_slice(&src[u..n]);
            }
            for (dst, src) in o.iter_mut().zip(outs.iter()) {
                dst[..m].copy_from_slice(&src[u..n]);
            }
            $block(&a, &mut o);
            for (dst, src) in outs.iter_mut().zip(o.iter()) {
                dst[u..n].copy_from_slice(&src[..m]);
            }
        }
    }};
}

/// One LSTM forward step for one sample. `z` holds the pre-activations `[i | f | c | o]` (each
/// `h` long) and is overwritten with the activated gates; writes `c`, `tanh(c)` and `h`.
#[inline(always)]
fn lstm_row_forward<const FMA: bool>(
    z: &mut [f32],
    c_prev: &[f32],
    c: &mut [f32],
    tc: &mut [f32],
    h: &mut [f32],
) {
    let n = c.len();
    let (zi, rest) = z.split_at_mut(n);
    let (zf, rest) = rest.split_at_mut(n);
    let (zg, zo) = rest.split_at_mut(n);
    by_blocks!(
        n,
        [c_prev],
        [zi, zf, zg, zo, c, tc, h],
        forward_block::<FMA>,
    );
}

#[inline(always)]
fn forward_block<const FMA: bool>(
    [cp]: &[[f32; W]; 1],
    [zi, zf, zg, zo, c, tc, h]: &mut [[f32; W]; 7],
) {
    for u in 0..W {
        let i = sigmoid::<FMA>(zi[u]);
        let f = sigmoid::<FMA>(zf[u]);
        let g = tanh::<FMA>(zg[u]);
        let o = sigmoid::<FMA>(zo[u]);
        let cu = madd::<FMA>(f, cp[u], i * g);
        let t = tanh::<FMA>(cu);
        zi[u] = i;
        zf[u] = f;
        zg[u] = g;
        zo[u] = o;
        c[u] = cu;
        tc[u] = t;
        h[u] = o * t;
    }
}

fn lstm_forward_generic<const FMA: bool>(
    z: &mut [f32],
    c_prev: &[f32],
    c: &mut [f32],
    tc: &mut [f32],
    h: &mut [f32],
    units: usize,
) {
    for ((((zr, cp), cr), tr), hr) in z
        .chunks_exact_mut(4 * units)
        .zip(c_prev.chunks_exact(units))
        .zip(c.chunks_exact_mut(units))
        .zip(tc.chunks_exact_mut(units))
        .zip(h.chunks_exact_mut(units))
    {
        lstm_row_forward::<FMA>(zr, cp, cr, tr, hr);
    }
}

dispatch! {
    /// The fused forward gate pass for a batch: `z [batch, 4·units]` pre-activations (overwritten
    /// with activated gates), `c_prev [batch, units]` → `c`, `tc = tanh(c)`, `h`, each `[batch, units]`.
    lstm_forward => lstm_forward_generic(z: &mut [f32], c_prev: &[f32], c: &mut [f32], tc: &mut [f32], h: &mut [f32], units: usize)
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn lstm_row_backward<const FMA: bool>(
    gates: &[f32],
    c_prev: &[f32],
    tc: &[f32],
    dh_up: &[f32],
    dh_rec: &[f32],
    dc: &mut [f32],
    dz: &mut [f32],
) {
    let n = dc.len();
    let (gi, rest) = gates.split_at(n);
    let (gf, rest) = rest.split_at(n);
    let (gg, go) = rest.split_at(n);
    let (dzi, rest) = dz.split_at_mut(n);
    let (dzf, rest) = rest.split_at_mut(n);
    let (dzg, dzo) = rest.split_at_mut(n);
    by_blocks!(
        n,
        [gi, gf, gg, go, c_prev, tc, dh_up, dh_rec],
        [dc, dzi, dzf, dzg, dzo],
        backward_block::<FMA>,
    );
}

#[inline(always)]
fn backward_block<const FMA: bool>(
    [gi, gf, gg, go, cp, tc, du, dr]: &[[f32; W]; 8],
    [dc, dzi, dzf, dzg, dzo]: &mut [[f32; W]; 5],
) {
    for u in 0..W {
        let (i, f, g, o, t) = (gi[u], gf[u], gg[u], go[u], tc[u]);
        let dh = du[u] + dr[u];
        dzo[u] = dh * t * o * (1.0 - o);
        let d = madd::<FMA>(dh * o, 1.0 - t * t, dc[u]);
        dzi[u] = d * g * i * (1.0 - i);
        dzg[u] = d * i * (1.0 - g * g);
        dzf[u] = d * cp[u] * f * (1.0 - f);
        dc[u] = d * f;
    }
}

#[allow(clippy::too_many_arguments)]
fn lstm_backward_generic<const FMA: bool>(
    gates: &[f32],
    c_prev: &[f32],
    tc: &[f32],
    dh_up: &[f32],
    dh_rec: &[f32],
    dc: &mut [f32],
    dz: &mut [f32],
    units: usize,
) {
    let u = units;
    for ((((((g, cp), t), du), dr), d), z) in gates
        .chunks_exact(4 * u)
        .zip(c_prev.chunks_exact(u))
        .zip(tc.chunks_exact(u))
        .zip(dh_up.chunks_exact(u))
        .zip(dh_rec.chunks_exact(u))
        .zip(dc.chunks_exact_mut(u))
        .zip(dz.chunks_exact_mut(4 * u))
    {
        lstm_row_backward::<FMA>(g, cp, t, du, dr, d, z);
    }
}

dispatch! {
    /// The fused backward gate pass for a batch. Inputs: activated `gates [batch, 4·units]`,
    /// `c_prev`, `tc = tanh(c)`, the gradient of `h` from above (`dh_up`) and through the recurrence
    /// (`dh_rec`), all `[batch, units]`. `dc` carries ∂L/∂c from step t+1 in and to step t−1 out.
    /// Writes `dz [batch, 4·units]`, the gradient of the pre-activations.
    #[allow(clippy::too_many_arguments)]
    lstm_backward => lstm_backward_generic(gates: &[f32], c_prev: &[f32], tc: &[f32], dh_up: &[f32], dh_rec: &[f32], dc: &mut [f32], dz: &mut [f32], units: usize)
}

/// Adam hyper-parameters for one step, with the bias correction folded into `alpha`.
#[derive(Debug, Clone, Copy)]
pub struct AdamStep {
    /// `lr · sqrt(1 − β2^t) / (1 − β1^t)`.
    pub alpha: f32,
    /// `1 − β1`.
    pub one_minus_b1: f32,
    /// `1 − β2`.
    pub one_minus_b2: f32,
    /// ε, added to the uncorrected `sqrt(v)` as Keras does.
    pub epsilon: f32,
    /// Multiplies every gradient first (gradient clipping); 1 for none.
    pub grad_scale: f32,
}

fn adam_generic<const FMA: bool>(
    w: &mut [f32],
    g: &[f32],
    m: &mut [f32],
    v: &mut [f32],
    s: AdamStep,
) {
    let n = w.len();
    let (g, m, v) = (&g[..n], &mut m[..n], &mut v[..n]);
    for k in 0..n {
        let gk = g[k] * s.grad_scale;
        let mk = madd::<FMA>(gk - m[k], s.one_minus_b1, m[k]);
        let vk = madd::<FMA>(gk * gk - v[k], s.one_minus_b2, v[k]);
        m[k] = mk;
        v[k] = vk;
        w[k] -= s.alpha * mk / (vk.sqrt() + s.epsilon);
    }
}

dispatch! {
    /// One Adam update in Keras 3's form: `m += (g − m)(1 − β1)`, `v += (g² − v)(1 − β2)`,
    /// `w −= alpha · m / (sqrt(v) + ε)`.
    adam_update => adam_generic(w: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], s: AdamStep)
}

/// `C[m, n] += A[m, k] · B[k, n]` (row-major, no packing) for one register tile of `MR` rows
/// and `NR` columns starting at (`i0`, `j0`).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn tile<const FMA: bool, const MR: usize, const NR: usize>(
    k: usize,
    n: usize,
    a: &[f32],
    b: &[f32],
    c: &mut [f32],
    i0: usize,
    j0: usize,
    skip: usize,
) {
    let mut acc = [[0f32; NR]; MR];
    for kk in 0..k {
        let brow: &[f32; NR] = b[kk * n + j0..kk * n + j0 + NR].try_into().expect("tile");
        for r in 0..MR {
            let av = a[(i0 + r) * k + kk];
            for j in 0..NR {
                acc[r][j] = madd::<FMA>(av, brow[j], acc[r][j]);
            }
        }
    }
    for r in 0..MR {
        let row = &mut c[(i0 + r) * n + j0..(i0 + r) * n + j0 + NR];
        for j in skip..NR {
            row[j] += acc[r][j];
        }
    }
}

#[inline(always)]
fn rows<const FMA: bool, const MR: usize>(
    k: usize,
    n: usize,
    a: &[f32],
    b: &[f32],
    c: &mut [f32],
    i0: usize,
) {
    let mut j = 0;
    // A single row has no row reuse: wide tiles keep 8 independent accumulators in flight.
    while MR == 1 && j + 64 <= n {
        tile::<FMA, 1, 64>(k, n, a, b, c, i0, j, 0);
        j += 64;
    }
    while j + 16 <= n {
        tile::<FMA, MR, 16>(k, n, a, b, c, i0, j, 0);
        j += 16;
    }
    if j + 8 <= n {
        tile::<FMA, MR, 8>(k, n, a, b, c, i0, j, 0);
        j += 8;
    }
    if j < n && n >= 8 {
        // The last columns: an 8-wide tile ending at column n that stores only the new ones.
        tile::<FMA, MR, 8>(k, n, a, b, c, i0, n - 8, j - (n - 8));
        j = n;
    }
    while j < n {
        tile::<FMA, MR, 1>(k, n, a, b, c, i0, j, 0);
        j += 1;
    }
}

fn gemm_acc_generic<const FMA: bool>(
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    b: &[f32],
    c: &mut [f32],
) {
    assert!(
        a.len() >= m * k && b.len() >= k * n && c.len() >= m * n,
        "gemm_acc shapes"
    );
    let mut i = 0;
    while i + 4 <= m {
        rows::<FMA, 4>(k, n, a, b, c, i);
        i += 4;
    }
    while i < m {
        rows::<FMA, 1>(k, n, a, b, c, i);
        i += 1;
    }
}

dispatch! {
    /// `C[m, n] += A[m, k] · B[k, n]`, all row-major: a packing-free register-tiled GEMM for the
    /// engine's small per-step products (where packing would cost more than it saves).
    gemm_acc => gemm_acc_generic(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32])
}

fn sum_sq_generic<const FMA: bool>(x: &[f32]) -> f64 {
    // Eight partial sums in f32 per chunk, accumulated in f64: fast and accurate enough for norms.
    let mut total = 0f64;
    for chunk in x.chunks(1024) {
        let mut acc = [0f32; 8];
        let mut it = chunk.chunks_exact(8);
        for c in &mut it {
            for j in 0..8 {
                acc[j] = madd::<FMA>(c[j], c[j], acc[j]);
            }
        }
        let rest: f32 = it.remainder().iter().map(|v| v * v).sum();
        total += acc.iter().map(|&a| a as f64).sum::<f64>() + rest as f64;
    }
    total
}

dispatch! {
    /// Sum of squares (for global-norm gradient clipping and finiteness checks).
    sum_squares => sum_sq_generic(x: &[f32]) -> f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid() -> impl Iterator<Item = f32> {
        (-40_000..=40_000).map(|k| k as f32 * 0.0005)
    }

    #[test]
    fn exp_sigmoid_tanh_are_accurate_on_both_paths() {
        // Reference: f64 std functions. Bounds: exp 4e-7 relative; sigmoid/tanh 3e-7 absolute.
        for x in grid().chain([-87.0, 88.0, -200.0, 200.0]) {
            let e = (x as f64).clamp(-87.0, 88.0).exp();
            let s = 1.0 / (1.0 + (-(x as f64)).exp());
            let t = (x as f64).tanh();
            for (ge, gs, gt) in [
                (exp::<false>(x), sigmoid::<false>(x), tanh::<false>(x)),
                (exp::<true>(x), sigmoid::<true>(x), tanh::<true>(x)),
            ] {
                assert!(
                    ((ge as f64 - e) / e).abs() < 4e-7,
                    "exp({x}) = {ge}, want {e}"
                );
                assert!(
                    (gs as f64 - s).abs() < 3e-7,
                    "sigmoid({x}) = {gs}, want {s}"
                );
                assert!((gt as f64 - t).abs() < 3e-7, "tanh({x}) = {gt}, want {t}");
                assert!(ge.is_finite() && gs.is_finite() && gt.is_finite());
            }
        }
    }

    #[test]
    fn dispatched_forward_matches_portable() {
        let u = 13;
        let z0: Vec<f32> = (0..3 * 4 * u)
            .map(|k| ((k as f32) * 0.37).sin() * 3.0)
            .collect();
        let cp: Vec<f32> = (0..3 * u).map(|k| ((k as f32) * 0.11).cos()).collect();
        let run = |simd: bool| {
            let (mut z, mut c, mut tc, mut h) = (
                z0.clone(),
                vec![0.0; 3 * u],
                vec![0.0; 3 * u],
                vec![0.0; 3 * u],
            );
            if simd {
                lstm_forward(&mut z, &cp, &mut c, &mut tc, &mut h, u);
            } else {
                lstm_forward_generic::<false>(&mut z, &cp, &mut c, &mut tc, &mut h, u);
            }
            h
        };
        for (a, b) in run(true).iter().zip(run(false)) {
            assert!((a - b).abs() < 1e-6, "{a} vs {b}");
        }
    }

    #[test]
    fn gemm_acc_matches_naive_on_ragged_shapes() {
        for (m, k, n) in [
            (1, 3, 5),
            (4, 7, 16),
            (6, 5, 27),
            (33, 50, 200),
            (32, 200, 50),
        ] {
            let a: Vec<f32> = (0..m * k).map(|i| (i as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..k * n).map(|i| (i as f32 * 0.11).cos()).collect();
            let mut c: Vec<f32> = (0..m * n).map(|i| i as f32 * 0.01).collect();
            let c0 = c.clone();
            gemm_acc(m, k, n, &a, &b, &mut c);
            for i in 0..m {
                for j in 0..n {
                    let want =
                        c0[i * n + j] + (0..k).map(|kk| a[i * k + kk] * b[kk * n + j]).sum::<f32>();
                    assert!(
                        (c[i * n + j] - want).abs() < 1e-4 * (1.0 + want.abs()),
                        "({m},{k},{n}) [{i},{j}]"
                    );
                }
            }
        }
    }

    #[test]
    fn sum_squares_matches_naive() {
        let x: Vec<f32> = (0..5000).map(|i| (i as f32 * 0.01).sin()).collect();
        let want: f64 = x.iter().map(|&v| (v as f64) * (v as f64)).sum();
        assert!((sum_squares(&x) - want).abs() < 1e-6 * want);
    }
}
