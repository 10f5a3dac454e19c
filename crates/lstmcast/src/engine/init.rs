//! Keras' default initialisers: glorot-uniform for kernels, orthogonal for recurrent kernels,
//! zero biases with the forget-gate slice set to 1.

use rand::Rng;

/// Fills `out` (a `[fan_in, fan_out]` kernel) from U(−limit, limit), `limit = sqrt(6 / (fan_in + fan_out))`.
pub fn glorot_uniform<R: Rng>(rng: &mut R, fan_in: usize, fan_out: usize, out: &mut [f32]) {
    let limit = (6.0 / (fan_in + fan_out) as f64).sqrt();
    for w in out.iter_mut() {
        *w = ((rng.gen::<f64>() * 2.0 - 1.0) * limit) as f32;
    }
}

/// A standard normal sample (Box–Muller).
pub fn standard_normal<R: Rng>(rng: &mut R) -> f64 {
    let u1 = rng.gen::<f64>().max(f64::MIN_POSITIVE);
    let u2 = rng.gen::<f64>();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// Fills `out` (row-major `[rows, cols]`) with a random orthogonal matrix as Keras does: QR of a
/// normal matrix with the signs of `diag(R)` folded into `Q`, transposed when `rows < cols`, so
/// rows (or columns, whichever are fewer) are orthonormal.
pub fn orthogonal<R: Rng>(rng: &mut R, rows: usize, cols: usize, out: &mut [f32]) {
    debug_assert_eq!(out.len(), rows * cols);
    let (tall, short) = (rows.max(cols), rows.min(cols));
    // Columns of a [tall, short] normal matrix, orthonormalised by modified Gram–Schmidt, which
    // gives positive diag(R) (what Keras' sign correction produces).
    let mut q: Vec<Vec<f64>> = (0..short)
        .map(|_| (0..tall).map(|_| standard_normal(rng)).collect())
        .collect();
    for j in 0..short {
        for k in 0..j {
            let (done, cur) = q.split_at_mut(j);
            let d: f64 = done[k].iter().zip(cur[0].iter()).map(|(a, b)| a * b).sum();
            for (c, a) in cur[0].iter_mut().zip(done[k].iter()) {
                *c -= d * a;
            }
        }
        let norm = q[j].iter().map(|v| v * v).sum::<f64>().sqrt().max(1e-30);
        q[j].iter_mut().for_each(|v| *v /= norm);
    }
    for r in 0..rows {
        for c in 0..cols {
            // Q is [tall, short]; Keras transposes it when rows < cols.
            let v = if rows >= cols { q[c][r] } else { q[r][c] };
            out[r * cols + c] = v as f32;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn orthogonal_rows_are_orthonormal() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let (h, n) = (5, 20);
        let mut u = vec![0f32; h * n];
        orthogonal(&mut rng, h, n, &mut u);
        for a in 0..h {
            for b in 0..h {
                let d: f32 = (0..n).map(|k| u[a * n + k] * u[b * n + k]).sum();
                let want = if a == b { 1.0 } else { 0.0 };
                assert!((d - want).abs() < 1e-5, "row {a}·row {b} = {d}");
            }
        }
    }

    #[test]
    fn glorot_stays_inside_limit() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let mut w = vec![0f32; 50 * 200];
        glorot_uniform(&mut rng, 50, 200, &mut w);
        let limit = (6.0f32 / 250.0).sqrt();
        assert!(w.iter().all(|v| v.abs() <= limit));
        // Uniform on (−l, l) has variance l²/3; 10 000 samples pin it within a few percent.
        let var = w.iter().map(|v| v * v).sum::<f32>() / w.len() as f32;
        assert!((var / (limit * limit / 3.0) - 1.0).abs() < 0.05, "{var}");
    }
}
