//! Measures one core's FP32 peak on this machine: independent AVX2 FMA chains (16 vectors of 8
//! lanes, enough to cover the FMA latency of two pipes), in GFLOP/s. `bench/peers.sh` divides
//! lstmcast's training rate by it. Prints one number; falls back to a scalar loop (and says so)
//! without AVX2+FMA.
//!
//! `cargo run --release -p lstmcast --example fp32_peak`

use std::time::Instant;

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn fma_chains(iters: usize) -> f32 {
    use std::arch::x86_64::*;
    // SAFETY (whole body): the caller checked AVX2 and FMA; only registers are touched.
    unsafe {
        let a = _mm256_set1_ps(0.999_999);
        let b = _mm256_set1_ps(1e-7);
        let mut acc = [_mm256_set1_ps(1.0); 16];
        for _ in 0..iters {
            for v in acc.iter_mut() {
                *v = _mm256_fmadd_ps(*v, a, b);
            }
        }
        let mut out = [0f32; 8];
        let mut s = _mm256_setzero_ps();
        for v in acc {
            s = _mm256_add_ps(s, v);
        }
        _mm256_storeu_ps(out.as_mut_ptr(), s);
        out.iter().sum()
    }
}

fn main() {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            let iters = 50_000_000;
            // One warm-up, then the best of three.
            let mut best = f64::INFINITY;
            let mut sink = 0f32;
            for _ in 0..4 {
                let t0 = Instant::now();
                // SAFETY: AVX2 and FMA were detected above.
                sink += unsafe { fma_chains(iters) };
                best = best.min(t0.elapsed().as_secs_f64());
            }
            let flop = iters as f64 * 16.0 * 8.0 * 2.0;
            println!("{:.1}", flop / best / 1e9);
            eprintln!("(checksum {sink})");
            return;
        }
    }
    eprintln!("no AVX2+FMA: not measured");
    println!("nan");
}
