//! Training the normalisation candidates of a fit: one candidate from its start (or a
//! checkpointed state) to its end, and several at once on threads.
//!
//! Each candidate trains on one thread from the configuration's seed, so running them at once
//! changes nothing in the result. A checkpoint always describes a prefix of finished candidates
//! and the state of the first unfinished one, exactly as when they run one after another; the
//! progress of later candidates is not kept and is recomputed (identically) on resume.

use super::{DoneCandidate, FitCheckpoint, FitProgress, Prepared, TrainedForecaster};
use crate::config::ForecasterConfig;
use crate::data::Panel;
use crate::engine::{rng_for, Network};
use crate::error::{Error, Result};
use crate::normalize::{Normalize, WindowNorm};
use crate::split::Part;
use crate::train::{streams, EpochRecord, Status, TrainState};
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::Mutex;

/// What a training candidate reports while it runs.
pub(super) enum Event<'a> {
    /// An epoch finished.
    Epoch(&'a EpochRecord),
    /// Paused between epochs: its state and weights (for a checkpoint).
    Paused(&'a TrainState, &'a [f32]),
}

/// How a candidate ended.
pub(super) enum End {
    /// Trained.
    Done(Box<DoneCandidate>),
    /// Stopped by the interrupt flag: its state and weights.
    Interrupted(Box<TrainState>, Vec<f32>),
}

/// One candidate: its data (with or without calendar features), a preparation (with its target
/// transform) and a normalisation.
#[derive(Debug, Clone, Copy)]
pub(super) struct Cand<'a> {
    /// The data it trains on.
    pub panel: &'a Panel,
    /// The split, transform, scalers and windows.
    pub prep: &'a Prepared,
    /// Every series' training rows as global rows.
    pub train_rows: &'a [Range<usize>],
    /// The normalisation.
    pub mode: Normalize,
}

/// A candidate's loss: the configured one, else its normalisation's default.
pub(crate) fn candidate_loss(cfg: &ForecasterConfig, mode: Normalize) -> crate::engine::Loss {
    cfg.training.loss.unwrap_or(mode.default_loss())
}

/// A candidate's untrained network, seeded from the configuration: the one initialisation that
/// `fit`'s candidates and `tune`'s trials share.
///
/// # Errors
/// A network specification the engine refuses.
pub(crate) fn initial_network(
    cfg: &ForecasterConfig,
    prep: &Prepared,
    mode: Normalize,
) -> Result<Network> {
    let mut network = Network::new(
        prep.network_spec(cfg),
        &mut rng_for(cfg.seed, streams::INIT),
    )?;
    if mode == Normalize::EtsResidual {
        // Start from ETS itself: a zero correction.
        network.zero_output_layer();
    }
    Ok(network)
}

/// A trained candidate's validation scores: MSE of the levels in scaled units, and MASE with
/// the number of origins behind it. What `fit` selects candidates by and `tune` ranks trials by.
///
/// # Errors
/// As [`TrainedForecaster::level_mse`] and [`TrainedForecaster::validation_mase`].
pub(crate) fn validation_scores(
    model: &TrainedForecaster,
    panel: &Panel,
    prep: &Prepared,
) -> Result<(f64, (Option<f64>, usize))> {
    Ok((
        model.level_mse(
            &prep.scaled,
            Some(prep.frame_for(model.norm.mode)),
            &prep.index[1],
        )?,
        model.validation_mase(panel, prep)?,
    ))
}

/// Trains candidate `index` (of `n_modes`), from `start` or fresh.
pub(super) fn train_candidate(
    cfg: &ForecasterConfig,
    cand: Cand,
    (index, n_modes): (usize, usize),
    start: Option<Progress>,
    interrupt: Option<&AtomicBool>,
    events: &mut dyn FnMut(Event) -> Result<()>,
) -> Result<End> {
    debug_assert!(index < n_modes);
    let Cand {
        panel,
        prep,
        train_rows,
        mode,
    } = cand;
    let norm = prep.window_norm(mode, train_rows)?;
    let mut opts = cfg.training.clone();
    let loss = candidate_loss(cfg, mode);
    opts.loss = Some(loss);
    let mut network = initial_network(cfg, prep, mode)?;
    let report = if mode.trains() {
        let train_w = prep.windows(cfg, &norm, Part::Train);
        let val_w = prep.windows(cfg, &norm, Part::Val);
        let mut state = match start {
            Some((st, params)) => {
                network.set_params(&params)?;
                st
            }
            None => TrainState::new(&network, train_w.len(), &cfg.training, cfg.seed),
        };
        let mut diverged = None;
        loop {
            let until = state.epochs_done + 1;
            let run = state.run(
                &mut network,
                &train_w,
                Some(&val_w),
                &opts,
                until,
                interrupt,
                &mut |record| {
                    let _ = events(Event::Epoch(record));
                },
            );
            match run {
                Ok(Status::Finished) => break,
                Ok(Status::Paused) => events(Event::Paused(&state, network.params()))?,
                Ok(Status::Interrupted) => {
                    return Ok(End::Interrupted(Box::new(state), network.params().to_vec()))
                }
                // With weights from a finished epoch, or other candidates to fall back on, a
                // divergence ends this candidate only.
                Err(e @ Error::Diverged { .. }) if state.epochs_done > 0 || n_modes > 1 => {
                    diverged = Some(e.to_string());
                    break;
                }
                Err(e) => return Err(e),
            }
        }
        let mut report = state.finish(&mut network)?;
        report.diverged = diverged;
        report
    } else {
        // Plain ETS: nothing to train.
        crate::train::TrainReport::default()
    };
    Ok(End::Done(Box::new(score_candidate(
        cfg,
        panel,
        prep,
        (mode, loss),
        norm,
        network,
        report,
    )?)))
}

/// Scores a trained (or, for plain ETS, untrained) candidate on the validation part.
fn score_candidate(
    cfg: &ForecasterConfig,
    panel: &Panel,
    prep: &Prepared,
    (mode, loss): (Normalize, crate::engine::Loss),
    norm: WindowNorm,
    network: Network,
    report: crate::train::TrainReport,
) -> Result<DoneCandidate> {
    let model = TrainedForecaster::from_parts(cfg, panel, prep, norm, network, report);
    let scored = model.report.best_epoch > 0 || !mode.trains();
    let (val, (mase, origins)) = if scored {
        let (mse, mase) = validation_scores(&model, panel, prep)?;
        (Some(mse), mase)
    } else {
        (None, (None, 0))
    };
    Ok(DoneCandidate {
        score: model.candidate_score(loss, val.filter(|v| v.is_finite()), (mase, origins)),
        report: model.report.clone(),
        params: model.network.params().to_vec(),
    })
}

/// A candidate's training state and weights.
type Progress = (TrainState, Vec<f32>);

/// A message from a candidate's thread.
enum Msg {
    Epoch(usize, EpochRecord),
    Paused(usize, Box<TrainState>, Vec<f32>),
    End(usize, Result<End>),
}

/// Trains the candidates `ck.candidate..` on up to `threads` threads. Returns the finished
/// checkpoint (every candidate done), or `Err(checkpoint)` when interrupted; the checkpoint
/// callback sees the same sequence a one-after-another run would write, minus the progress of
/// candidates after the first unfinished one.
///
/// # Errors
/// The first failing candidate's error (by index), or the checkpoint callback's.
#[allow(clippy::too_many_arguments)]
pub(super) fn train_parallel(
    cfg: &ForecasterConfig,
    cands: &[Cand],
    mut ck: FitCheckpoint,
    threads: usize,
    interrupt: Option<&AtomicBool>,
    on_epoch: &mut dyn FnMut(&FitProgress),
    checkpoint: &mut Option<&mut super::CheckpointFn>,
) -> Result<std::result::Result<FitCheckpoint, FitCheckpoint>> {
    let first = ck.candidate;
    let n = cands.len();
    let mut resumed = ck
        .state
        .take()
        .map(|st| (st, std::mem::take(&mut ck.params)));
    let start: Vec<Mutex<Option<Progress>>> = (0..n)
        .map(|i| Mutex::new(if i == first { resumed.take() } else { None }))
        .collect();
    let halt = AtomicBool::new(false);
    let next = AtomicUsize::new(first);
    let (tx, rx) = mpsc::channel::<Msg>();
    let mut done: Vec<Option<DoneCandidate>> = (0..n).map(|_| None).collect();
    let mut latest: Vec<Option<(Box<TrainState>, Vec<f32>)>> = (0..n).map(|_| None).collect();
    let mut failed: Option<(usize, Error)> = None;
    let mut callback_error: Option<Error> = None;
    std::thread::scope(|scope| {
        for _ in 0..threads.clamp(1, n - first) {
            let tx = tx.clone();
            let (halt, next, start) = (&halt, &next, &start);
            scope.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n || halt.load(Ordering::Relaxed) {
                    break;
                }
                let from = start[i].lock().unwrap_or_else(|p| p.into_inner()).take();
                let end = train_candidate(cfg, cands[i], (i, n), from, Some(halt), &mut |event| {
                    let _ = tx.send(match event {
                        Event::Epoch(r) => Msg::Epoch(i, r.clone()),
                        Event::Paused(st, p) => Msg::Paused(i, Box::new(st.clone()), p.to_vec()),
                    });
                    Ok(())
                });
                let _ = tx.send(Msg::End(i, end));
            });
        }
        drop(tx);
        // The first unfinished candidate: the one a checkpoint holds the state of.
        let mut k = first;
        let mut write = |ck: &FitCheckpoint| -> Result<()> {
            match checkpoint.as_mut() {
                Some(cb) => cb(ck),
                None => Ok(()),
            }
        };
        loop {
            if interrupt.is_some_and(|f| f.load(Ordering::Relaxed)) {
                halt.store(true, Ordering::Relaxed);
            }
            let msg = match rx.recv_timeout(std::time::Duration::from_millis(20)) {
                Ok(m) => m,
                Err(mpsc::RecvTimeoutError::Timeout) => continue,
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            };
            let mut changed = false;
            match msg {
                Msg::Epoch(i, record) => on_epoch(&FitProgress {
                    candidate: cands[i].mode,
                    index: i,
                    of: n,
                    record: &record,
                }),
                Msg::Paused(i, st, p) => {
                    latest[i] = Some((st, p));
                    changed = i == k;
                }
                Msg::End(i, Ok(End::Done(d))) => {
                    done[i] = Some(*d);
                    latest[i] = None;
                    while let Some(d) = done.get_mut(k).and_then(Option::take) {
                        ck.done.push(d);
                        k += 1;
                        changed = true;
                    }
                }
                Msg::End(i, Ok(End::Interrupted(st, p))) => latest[i] = Some((st, p)),
                Msg::End(i, Err(e)) => {
                    halt.store(true, Ordering::Relaxed);
                    if failed.as_ref().is_none_or(|(j, _)| i < *j) {
                        failed = Some((i, e));
                    }
                }
            }
            if changed && callback_error.is_none() {
                let (state, params) = match latest.get(k).and_then(|l| l.as_ref()) {
                    Some((st, p)) => (Some((**st).clone()), p.clone()),
                    None => (None, Vec::new()),
                };
                let snapshot = FitCheckpoint {
                    candidate: k,
                    done: ck.done.clone(),
                    state,
                    params,
                };
                if let Err(e) = write(&snapshot) {
                    halt.store(true, Ordering::Relaxed);
                    callback_error = Some(e);
                }
            }
        }
        ck.candidate = k;
    });
    if let Some(e) = callback_error {
        return Err(e);
    }
    if let Some((_, e)) = failed {
        return Err(e);
    }
    if ck.candidate == n {
        return Ok(Ok(ck));
    }
    // Interrupted: the first unfinished candidate's state, as a one-after-another run has it.
    let k = ck.candidate;
    if let Some((st, p)) = latest[k].take() {
        ck.state = Some(*st);
        ck.params = p;
    }
    if let Some(cb) = checkpoint.as_mut() {
        cb(&ck)?;
    }
    Ok(Err(ck))
}

/// Trains `n` ensemble members of `cand`, member k (1-based) from seed `cfg.seed + k`, on up to
/// `threads` threads; each is reported as candidate `first + k − 1`. `None` when interrupted.
///
/// # Errors
/// The first failing member's error (by member number).
#[allow(clippy::too_many_arguments)]
pub(super) fn train_members(
    cfg: &ForecasterConfig,
    cand: Cand,
    (n, first): (usize, usize),
    threads: usize,
    interrupt: Option<&AtomicBool>,
    on_epoch: &mut dyn FnMut(&FitProgress),
) -> Result<Option<Vec<DoneCandidate>>> {
    if n == 0 {
        return Ok(Some(Vec::new()));
    }
    let configs: Vec<ForecasterConfig> = (1..=n)
        .map(|k| {
            let mut c = cfg.clone();
            c.seed = cfg.seed.wrapping_add(k as u64);
            c
        })
        .collect();
    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::channel::<(usize, std::result::Result<EpochRecord, Result<End>>)>();
    let mut ends: Vec<Option<Result<End>>> = (0..n).map(|_| None).collect();
    std::thread::scope(|scope| {
        for _ in 0..threads.clamp(1, n) {
            let tx = tx.clone();
            let (next, configs) = (&next, &configs);
            scope.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n || interrupt.is_some_and(|f| f.load(Ordering::Relaxed)) {
                    break;
                }
                let end = train_candidate(
                    &configs[i],
                    cand,
                    (first + i, first + n),
                    None,
                    interrupt,
                    &mut |event| {
                        if let Event::Epoch(r) = event {
                            let _ = tx.send((i, Ok(r.clone())));
                        }
                        Ok(())
                    },
                );
                let _ = tx.send((i, Err(end)));
            });
        }
        drop(tx);
        for (i, msg) in rx {
            match msg {
                Ok(record) => on_epoch(&FitProgress {
                    candidate: cand.mode,
                    index: first + i,
                    of: first + n,
                    record: &record,
                }),
                Err(end) => ends[i] = Some(end),
            }
        }
    });
    let mut members = Vec::with_capacity(n);
    for end in ends {
        match end {
            Some(Ok(End::Done(d))) => members.push(*d),
            Some(Err(e)) => return Err(e),
            Some(Ok(End::Interrupted(..))) | None => return Ok(None),
        }
    }
    Ok(Some(members))
}
