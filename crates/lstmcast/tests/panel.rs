//! Panels (issue 12): one global model over many series from one long-format file. Row order
//! never matters, nothing after a series' training rows leaks into what is fitted, ragged and
//! short series are handled and reported, and on short related series one global model beats
//! one model per series.

use lstmcast::forecaster::{FitCheckpoint, FitControl, FitOutcome, Prepared};
use lstmcast::{ForecasterConfig, LoadOptions, Normalize, Panel, Part, TrainedForecaster};
use std::path::Path;

/// A small, fast configuration (one-step inputs of 6 rows, 2-step direct model).
fn tiny(normalize: Normalize, epochs: usize) -> ForecasterConfig {
    let mut c = ForecasterConfig {
        lookback: 6,
        horizon: 2,
        normalize,
        ..Default::default()
    };
    c.model.layers = vec![6];
    c.training.epochs = epochs;
    c.training.patience = 0;
    c
}

/// Series `k` of a family sharing one dynamic: a yearly cycle and an AR(1) wobble, with the
/// series' own level and amplitude; `n` monthly rows. Deterministic.
fn member(k: usize, n: usize) -> Vec<f64> {
    let level = 10.0 + 7.0 * k as f64;
    let amp = 1.0 + 0.3 * (k % 4) as f64;
    let mut e = 0.0;
    let mut state = 12345u64 + k as u64 * 7919;
    (0..n)
        .map(|t| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let u = ((state >> 33) as f64 / (1u64 << 31) as f64) - 0.5;
            e = 0.6 * e + 0.4 * u;
            level + amp * (3.0 * (t as f64 * std::f64::consts::PI / 6.0).sin() + e)
        })
        .collect()
}

/// The long-format CSV of `ids`, rows `start..end` of each, by id then time.
fn long_csv(ids: &[(&str, usize, usize)]) -> Vec<(String, String)> {
    let mut rows = Vec::new();
    for (k, &(id, start, end)) in ids.iter().enumerate() {
        let y = member(k, end);
        for (t, v) in y.iter().enumerate().take(end).skip(start) {
            rows.push((id.to_string(), format!("{id},{t},{v}")));
        }
    }
    rows
}

fn parse(lines: &[String]) -> Panel {
    let text = format!("id,step,y\n{}\n", lines.join("\n"));
    lstmcast::data::parse_csv(
        Path::new("panel.csv"),
        text.as_bytes(),
        &LoadOptions {
            id_col: Some("id".into()),
            ..Default::default()
        },
    )
    .unwrap()
}

#[test]
fn interleaved_and_sorted_rows_train_the_same_model() {
    let rows = long_csv(&[("b", 0, 70), ("a", 0, 70), ("c", 0, 70)]);
    let sorted: Vec<String> = rows.iter().map(|(_, l)| l.clone()).collect();
    // Interleave: round-robin over the series, reversed within each.
    let mut mixed = Vec::new();
    for k in 0..70 {
        for s in 0..3 {
            mixed.push(sorted[s * 70 + 69 - k].clone());
        }
    }
    let (p, q) = (parse(&sorted), parse(&mixed));
    assert_eq!(p, q);
    let c = tiny(Normalize::Window, 4);
    let (m, n) = (
        c.fit(&p, &mut |_| {}).unwrap(),
        c.fit(&q, &mut |_| {}).unwrap(),
    );
    assert_eq!(m.network.params(), n.network.params());
    assert_eq!(m.evaluate(&p).unwrap(), n.evaluate(&q).unwrap());
}

/// Every epoch's weights (through checkpoints), the scalers and the normalisation of a fit.
fn trajectory(c: &ForecasterConfig, p: &Panel) -> (Vec<Vec<f32>>, TrainedForecaster) {
    let mut epochs = Vec::new();
    let mut keep = |ck: &FitCheckpoint| {
        if ck.state.is_some() {
            epochs.push(ck.params.clone());
        }
        Ok(())
    };
    let out = c
        .fit_with(
            p,
            c.split.resolve(p).unwrap(),
            FitControl::new(&mut |_| {}).with_checkpoint(&mut keep),
        )
        .unwrap();
    let FitOutcome::Done(m) = out else {
        panic!("not interrupted, so done")
    };
    (epochs, *m)
}

#[test]
fn no_value_after_a_series_training_rows_leaks_into_scalers_or_weights() {
    // Ragged: b starts late, c ends early (inside validation).
    let rows = long_csv(&[("a", 0, 80), ("b", 20, 80), ("c", 0, 60)]);
    let lines: Vec<String> = rows.iter().map(|(_, l)| l.clone()).collect();
    let base = parse(&lines);
    let c = tiny(Normalize::Diff, 3);
    let split = c.split.resolve(&base).unwrap();
    let (epochs, model) = trajectory(&c, &base);
    // A checkpoint after every epoch but the last; the last epoch shows in its training loss.
    assert_eq!(epochs.len(), 2);
    let losses = |m: &TrainedForecaster| -> Vec<f64> {
        m.report.history.iter().map(|r| r.train_loss).collect()
    };
    for s in 0..base.n_series() {
        let sp = &split.series[s];
        // Every validation and test value of series s, replaced by nonsense.
        let mut spoiled = base.clone();
        for r in sp.val.start..sp.test.end {
            let g = base.rows(s).start + r;
            spoiled.columns[0][g] = 1e6 - spoiled.columns[0][g] * 37.0;
        }
        assert_ne!(spoiled, base, "series {s} has rows after training");
        let prep = Prepared::new(&c, &spoiled).unwrap();
        assert_eq!(prep.scaler, model.scaler, "series {s}: scalers leaked");
        let (got, m) = trajectory(&c, &spoiled);
        assert_eq!(m.norm, model.norm, "series {s}: normalisation leaked");
        // The weights of every epoch: validation only picks which epoch to keep.
        assert_eq!(got, epochs, "series {s}: weights leaked");
        assert_eq!(losses(&m), losses(&model), "series {s}: weights leaked");
        // and a change inside the training rows does change them (the test can fail).
        let mut inside = base.clone();
        inside.columns[0][base.rows(s).start + sp.train.end - 1] += 5.0;
        assert_ne!(trajectory(&c, &inside).0, epochs, "series {s}");
    }
}

#[test]
fn a_ragged_panel_trains_and_reports_series_too_short_for_a_part() {
    // Distinct times 0..100: validation starts at 70, test at 80. d ends at 75 (no test rows);
    // e starts at 78 (no training rows of its own, so nothing to scale it by).
    let rows = long_csv(&[
        ("a", 0, 100),
        ("b", 10, 100),
        ("c", 0, 90),
        ("d", 0, 75),
        ("e", 78, 100),
    ]);
    let lines: Vec<String> = rows.iter().map(|(_, l)| l.clone()).collect();
    let p = parse(&lines);
    let c = tiny(Normalize::Global, 2);
    let prep = Prepared::new(&c, &p).unwrap();
    let left_out = |part: Part| -> Vec<String> {
        prep.skipped
            .iter()
            .filter(|s| s.part == part)
            .map(|s| s.series.clone())
            .collect()
    };
    assert_eq!(left_out(Part::Test), vec!["d", "e"]);
    assert_eq!(left_out(Part::Train), vec!["e"]);
    let d = prep
        .skipped
        .iter()
        .find(|s| s.series == "d" && s.part == Part::Test)
        .unwrap();
    assert_eq!((d.rows, d.needed), (0, 2));
    let m = c.fit(&p, &mut |_| {}).unwrap();
    let ev = m.evaluate(&p).unwrap();
    let panel = ev.panel.as_ref().unwrap();
    // e has test rows but nothing for the network to scale it by: it is forecast by its last
    // value (its two rows before the test are too few for ETS), never dropped; d has no test
    // rows at all.
    assert_eq!(panel.series, 4);
    assert!(ev.skipped.iter().any(|s| s.series == "d"));
    assert!(!ev
        .skipped
        .iter()
        .any(|s| s.series == "e" && s.part == Part::Test));
    assert!(ev
        .rows
        .iter()
        .all(|r| (r.series == "e") == (r.model == "naive")));
    // c ends at 90: its test windows stop there; a's run to 100. Windows = a 19 + b 19 + c 9,
    // and e's 19 (origins 80..=98, each with a row before it).
    assert_eq!(ev.windows, 19 + 19 + 9 + 19);
    // The forecast continues every series from its own last row.
    let f = m.forecast(&p, None).unwrap();
    let last = |id: &str| f.series.iter().find(|s| s.id == id).unwrap().timestamps[0].to_string();
    assert_eq!(
        (last("c"), last("d"), last("a")),
        ("90".into(), "75".into(), "100".into())
    );
}

#[test]
fn per_series_sampling_changes_the_draw_but_not_the_epoch_size() {
    let rows = long_csv(&[("long", 0, 200), ("short", 150, 200)]);
    let lines: Vec<String> = rows.iter().map(|(_, l)| l.clone()).collect();
    let p = parse(&lines);
    let mut c = tiny(Normalize::Global, 2);
    let a = c.fit(&p, &mut |_| {}).unwrap();
    c.training.sampling = lstmcast::Sampling::PerSeries;
    let b = c.fit(&p, &mut |_| {}).unwrap();
    assert_ne!(a.network.params(), b.network.params());
    assert_eq!(a.report.history.len(), b.report.history.len());
    // Reruns are bit-identical.
    assert_eq!(
        c.fit(&p, &mut |_| {}).unwrap().network.params(),
        b.network.params()
    );
}

/// Mean over series of the test MASE.
fn mean_mase(ev: &lstmcast::Evaluation) -> f64 {
    ev.overall["y"].model.mase.unwrap()
}

#[test]
fn one_global_model_beats_one_model_per_series_on_short_related_series() {
    // 24 series of 72 monthly rows (6 years), sharing a yearly cycle and AR(1) dynamics, each
    // with its own level and amplitude. Each series alone has 50 training rows: 20 windows of
    // lookback 24 and horizon 6.
    let n_series = 24;
    let series: Vec<(String, Vec<Vec<f64>>)> = (0..n_series)
        .map(|k| (format!("s{k:02}"), vec![member(k, 72)]))
        .collect();
    let panel = Panel::from_series(vec!["y".into()], 1, series.clone()).unwrap();
    // The defaults but for the window and the normalisation: the ES-normalised network, 50
    // units, early stopping (auto could fall back on plain ETS per series, which is not what
    // this test compares).
    let c = ForecasterConfig {
        lookback: 12,
        horizon: 6,
        season: Some(12),
        normalize: Normalize::Es,
        ..Default::default()
    };
    let global = c.fit(&panel, &mut |_| {}).unwrap();
    let ev = global.evaluate(&panel).unwrap();
    let global_mase = mean_mase(&ev);
    let mut local = Vec::new();
    for (id, cols) in &series {
        let one = Panel::from_columns(vec!["y".into()], cols.clone(), 1).unwrap();
        let m = c.fit(&one, &mut |_| {}).unwrap();
        local.push(mean_mase(&m.evaluate(&one).unwrap()));
        let _ = id;
    }
    let local_mase = local.iter().sum::<f64>() / local.len() as f64;
    println!(
        "global model mean MASE {global_mase:.3}, one model per series {local_mase:.3}, seasonal naive {:.3}",
        ev.overall["y"].seasonal_naive.mase.unwrap()
    );
    // Measured with the ES-normalised network: global 0.915, one model per series 0.981,
    // seasonal naive 1.075 (before ES normalisation, with the level/window/difference modes:
    // 0.975 and 2.255; ES normalisation makes each lone model far better, so the gap shrinks).
    // With the likelihood-fitted ETS under the network (issue 25): global 0.936, one model per
    // series 0.974. The test asks for the global model to stay ahead by a margin.
    assert!(
        global_mase < 0.975 * local_mase,
        "global {global_mase:.3} vs per series {local_mase:.3}"
    );
}

#[test]
fn an_interrupted_panel_fit_resumes_bit_identically() {
    let rows = long_csv(&[("a", 0, 90), ("b", 5, 90)]);
    let lines: Vec<String> = rows.iter().map(|(_, l)| l.clone()).collect();
    let p = parse(&lines);
    let c = tiny(Normalize::Auto, 3);
    let whole = c.fit(&p, &mut |_| {}).unwrap();
    let stop = std::sync::atomic::AtomicBool::new(false);
    let mut at: Option<FitCheckpoint> = None;
    let mut save = |ck: &FitCheckpoint| {
        if ck.candidate == 1 && ck.state.as_ref().is_some_and(|s| s.epochs_done == 1) {
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        at = Some(ck.clone());
        Ok(())
    };
    let out = c
        .fit_with(
            &p,
            c.split.resolve(&p).unwrap(),
            FitControl::new(&mut |_| {})
                .with_interrupt(&stop)
                .with_checkpoint(&mut save),
        )
        .unwrap();
    assert!(matches!(out, FitOutcome::Interrupted(_)));
    let out = c
        .fit_with(
            &p,
            c.split.resolve(&p).unwrap(),
            FitControl::new(&mut |_| {}).with_resume(at),
        )
        .unwrap();
    let FitOutcome::Done(m) = out else {
        panic!("resumed to the end")
    };
    assert_eq!(m.network.params(), whole.network.params());
}

/// Every checkpoint a fit hands out, with an interrupt raised once `stop_when` holds.
fn checkpoints(
    c: &ForecasterConfig,
    p: &Panel,
    threads: usize,
    stop_when: &dyn Fn(&FitCheckpoint) -> bool,
    resume: Option<FitCheckpoint>,
) -> (FitOutcome, Vec<FitCheckpoint>) {
    let stop = std::sync::atomic::AtomicBool::new(false);
    let mut seen = Vec::new();
    let mut save = |ck: &FitCheckpoint| {
        if stop_when(ck) {
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        seen.push(ck.clone());
        Ok(())
    };
    let out = c
        .fit_with(
            p,
            c.split.resolve(p).unwrap(),
            FitControl::new(&mut |_| {})
                .with_interrupt(&stop)
                .with_checkpoint(&mut save)
                .with_resume(resume)
                .with_threads(threads),
        )
        .unwrap();
    (out, seen)
}

#[test]
fn candidates_trained_at_once_give_the_same_model_and_resume_bit_identically() {
    let rows = long_csv(&[("a", 0, 300), ("b", 10, 300)]);
    let lines: Vec<String> = rows.iter().map(|(_, l)| l.clone()).collect();
    let p = parse(&lines);
    let mut c = tiny(Normalize::Auto, 30);
    c.model.layers = vec![12];
    // The ETS family and, on a panel, the window and difference modes: five candidates (on a
    // panel `--transform auto` does not try logs).
    c.transform = lstmcast::Transform::None;
    let never = |_: &FitCheckpoint| false;
    let (one, sequential) = checkpoints(&c, &p, 1, &never, None);
    let (three, seen) = checkpoints(&c, &p, 3, &never, None);
    let (FitOutcome::Done(one), FitOutcome::Done(three)) = (one, three) else {
        panic!("both finish")
    };
    assert_eq!(one.network.params(), three.network.params());
    assert_eq!(one.selection, three.selection);
    // Checkpoints describe a prefix of finished candidates and the next one's state.
    assert!(seen.iter().all(|ck| ck.done.len() == ck.candidate));
    let n = one.selection.as_ref().unwrap().candidates.len();
    // ets, es, ets-residual, theta, ets-theta, then window and diff on a panel.
    assert_eq!(n, 7);
    assert_eq!(seen.last().unwrap().candidate, n);
    // Checkpoints handed out on the way (what a kill -9 leaves on disk), resumed on one or
    // three threads, end with the same model to the bit: one while the first candidate runs,
    // and one with a candidate finished and the next in progress (from the one-after-another
    // run, which writes both kinds whatever the timing).
    let early = sequential
        .iter()
        .find(|ck| ck.state.as_ref().is_some_and(|s| s.epochs_done >= 2));
    let later = sequential
        .iter()
        .find(|ck| ck.candidate >= 1 && ck.state.is_some());
    for from in [early, later] {
        let from = from.expect("such a checkpoint was written").clone();
        for threads in [1, 3] {
            let (out, _) = checkpoints(&c, &p, threads, &never, Some(from.clone()));
            let FitOutcome::Done(m) = out else {
                panic!("resumed to the end")
            };
            assert_eq!(
                m.network.params(),
                one.network.params(),
                "{} threads",
                threads
            );
        }
    }
    // An interrupt raised early (the first candidate at its second epoch of 30) stops the run;
    // resuming it on two threads gives the same model.
    let (out, _) = checkpoints(
        &c,
        &p,
        2,
        &|ck: &FitCheckpoint| ck.state.as_ref().is_some_and(|s| s.epochs_done >= 2),
        None,
    );
    let FitOutcome::Interrupted(ck) = out else {
        panic!("interrupted after 2 of 30 epochs")
    };
    let (out, _) = checkpoints(&c, &p, 2, &never, Some(*ck));
    let FitOutcome::Done(m) = out else {
        panic!("resumed to the end")
    };
    assert_eq!(m.network.params(), one.network.params());
}
