//! The statistical forecasters alone on a competition file (issue 25): each series' history
//! (all but its last `h` values) fitted by [`Ets::auto`] and [`Theta::fit`], its forecast of the last `h` values
//! scored by sMAPE and MASE as the competition bench scores them, with the CPU seconds the fits
//! took on one thread. Compare with statsforecast's AutoETS in the bench's references.json.
//!
//! Usage: `stat_bench FILE H M` (FILE: `unique_id,t,y` rows, each series' history then its test).

use lstmcast::ets::Ets;
use lstmcast::theta::Theta;
use std::time::Instant;

fn smape(y: &[f64], f: &[f64]) -> f64 {
    y.iter()
        .zip(f)
        .map(|(a, b)| {
            let d = a.abs() + b.abs();
            if d > 0.0 {
                200.0 * (a - b).abs() / d
            } else {
                0.0
            }
        })
        .sum::<f64>()
        / y.len() as f64
}

fn mase(hist: &[f64], y: &[f64], f: &[f64], m: usize) -> f64 {
    let lag = if hist.len() > m { m } else { 1 };
    let d: Vec<f64> = (lag..hist.len())
        .map(|i| (hist[i] - hist[i - lag]).abs())
        .collect();
    let mut scale = d.iter().sum::<f64>() / d.len().max(1) as f64;
    if scale.is_nan() || scale <= 0.0 {
        scale = (1..hist.len())
            .map(|i| (hist[i] - hist[i - 1]).abs())
            .sum::<f64>()
            / (hist.len() - 1).max(1) as f64;
    }
    y.iter().zip(f).map(|(a, b)| (a - b).abs()).sum::<f64>() / y.len() as f64 / scale
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (file, h, m): (&str, usize, usize) =
        (&args[1], args[2].parse().unwrap(), args[3].parse().unwrap());
    let text = std::fs::read_to_string(file).unwrap();
    let mut series: Vec<(String, Vec<f64>)> = Vec::new();
    for line in text.lines().skip(1) {
        let mut it = line.split(',');
        let id = it.next().unwrap().to_string();
        let y: f64 = it.nth(1).unwrap().parse().unwrap();
        match series.last_mut() {
            Some((last, v)) if *last == id => v.push(y),
            _ => series.push((id, vec![y])),
        }
    }
    let (mut s_sum, mut m_sum, mut secs, mut neg) = (0.0, 0.0, 0.0, 0);
    let (mut ts_sum, mut tm_sum, mut tsecs) = (0.0, 0.0, 0.0);
    let mut forms: std::collections::BTreeMap<String, usize> = Default::default();
    for (id, y) in &series {
        let (hist, test) = y.split_at(y.len() - h);
        let t = Instant::now();
        let f: Vec<f64> = match Ets::auto(hist, m) {
            Ok((model, _)) => {
                *forms.entry(model.spec.name()).or_default() += 1;
                let st = model.filter(hist);
                (1..=h).map(|k| st.forecast(hist.len(), k)).collect()
            }
            Err(e) => {
                eprintln!("{id}: {e}");
                vec![*hist.last().unwrap(); h]
            }
        };
        secs += t.elapsed().as_secs_f64();
        if hist.iter().all(|v| *v > 0.0) && f.iter().any(|v| *v < 0.0) {
            neg += 1;
        }
        s_sum += smape(test, &f);
        let t = Instant::now();
        let tf: Vec<f64> = match Theta::fit(hist, m) {
            Ok(model) => model.filter(hist).forecasts(hist.len(), h),
            Err(_) => vec![*hist.last().unwrap(); h],
        };
        tsecs += t.elapsed().as_secs_f64();
        ts_sum += smape(test, &tf);
        tm_sum += mase(hist, test, &tf, m);
        m_sum += mase(hist, test, &f, m);
    }
    let n = series.len() as f64;
    println!(
        "ets: {} series, smape {:.3}, mase {:.4}, {:.2} s of fitting, {neg} positive series with a negative forecast",
        series.len(),
        s_sum / n,
        m_sum / n,
        secs
    );
    println!("forms: {forms:?}");
    println!(
        "theta: smape {:.3}, mase {:.4}, {:.2} s of fitting",
        ts_sum / n,
        tm_sum / n,
        tsecs
    );
}
