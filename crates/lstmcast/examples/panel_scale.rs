//! Panel scaling benchmark (issue 12). Not a timed test: run it with `bash bench/panel_scale.sh`.
//!
//! (a) One training epoch over a panel of 1,000 series x 1,000 rows costs the same per training
//!     window as one epoch over a single series of 1,000,000 rows (target: within 15 %).
//! (b) What the training pipeline (split, scalers, window index, normalisation, network, one
//!     epoch) allocates on top of the loaded panel stays below 2x the data's own f32 size plus
//!     the model's workspace.
//!
//! Both cases run interleaved in one process (A, B, A, B, ...); medians are reported. A counting
//! global allocator wrapping `System` tracks the heap in use and its peak; a realloc is counted
//! as if old and new blocks were both live for a moment (an upper bound).
//!
//! Usage: `panel_scale [ROUNDS]` (default 5).

use lstmcast::engine::{rng_for, Network, Workspace};
use lstmcast::forecaster::Prepared;
use lstmcast::split::Calendar;
use lstmcast::train::{streams, TrainState};
use lstmcast::{ForecasterConfig, Normalize, Panel, Part, Timestamp, WindowNorm};
use rand::Rng as _;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::Instant;

// ---------------------------------------------------------------------------------------------
// Counting allocator

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
/// Allocations of at least `BIG_MIN` bytes are logged (size, phase) while `LOGGING` is set.
const BIG_MIN: usize = 256 * 1024;
const BIG_SLOTS: usize = 512;
static LOGGING: AtomicUsize = AtomicUsize::new(0);
static PHASE: AtomicUsize = AtomicUsize::new(0);
static BIG_N: AtomicUsize = AtomicUsize::new(0);
static BIG_SIZE: [AtomicUsize; BIG_SLOTS] = [const { AtomicUsize::new(0) }; BIG_SLOTS];
static BIG_PHASE: [AtomicUsize; BIG_SLOTS] = [const { AtomicUsize::new(0) }; BIG_SLOTS];

fn grow_by(n: usize) {
    let now = CURRENT.fetch_add(n, Relaxed) + n;
    PEAK.fetch_max(now, Relaxed);
    if n >= BIG_MIN && LOGGING.load(Relaxed) != 0 {
        let k = BIG_N.fetch_add(1, Relaxed);
        if k < BIG_SLOTS {
            BIG_SIZE[k].store(n, Relaxed);
            BIG_PHASE[k].store(PHASE.load(Relaxed), Relaxed);
        }
    }
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged to the system allocator.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grow_by(layout.size());
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged to the system allocator.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grow_by(layout.size());
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) };
        CURRENT.fetch_sub(layout.size(), Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded unchanged to the system allocator.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            // Upper bound: old and new block both live for a moment.
            grow_by(new_size);
            CURRENT.fetch_sub(layout.size(), Relaxed);
        }
        p
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn current() -> usize {
    CURRENT.load(Relaxed)
}

/// Starts a measured region: the peak is reset to the heap in use now, which is returned.
fn reset_peak() -> usize {
    let c = current();
    PEAK.store(c, Relaxed);
    c
}

fn peak() -> usize {
    PEAK.load(Relaxed)
}

fn mb(b: usize) -> f64 {
    b as f64 / 1e6
}

// ---------------------------------------------------------------------------------------------
// Data

const N_SERIES: usize = 1000;
const SERIES_ROWS: usize = 1000;
const SINGLE_ROWS: usize = 1_000_000;

/// AR(1) + daily seasonality (period 24) around a per-series level; seeded and deterministic.
fn synth(rows: usize, series: u64) -> Vec<f64> {
    let mut rng = rng_for(2024, 100 + series);
    let level = 10.0 + 90.0 * rng.gen::<f64>();
    let amp = 0.1 * level * (0.5 + rng.gen::<f64>());
    let phase = rng.gen::<f64>() * 24.0;
    let mut ar = 0.0f64;
    (0..rows)
        .map(|t| {
            let noise = rng.gen::<f64>() - 0.5;
            ar = 0.8 * ar + noise * 0.05 * level;
            level + amp * (std::f64::consts::TAU * (t as f64 + phase) / 24.0).sin() + ar
        })
        .collect()
}

fn panel_a() -> Panel {
    let series: Vec<(String, Vec<Vec<f64>>)> = (0..N_SERIES)
        .map(|s| (s.to_string(), vec![synth(SERIES_ROWS, s as u64)]))
        .collect();
    Panel::from_series(vec!["y".into()], 1, series).expect("panel")
}

fn panel_b() -> Panel {
    Panel::from_columns(vec!["y".into()], vec![synth(SINGLE_ROWS, 0)], 1).expect("series")
}

/// The panel's own storage (capacities): f64 columns, timestamps, offsets, ids.
fn panel_bytes(p: &Panel) -> usize {
    p.columns.iter().map(|c| c.capacity() * 8).sum::<usize>()
        + p.timestamps.capacity() * std::mem::size_of::<Timestamp>()
        + p.offsets.capacity() * 8
        + p.ids.iter().map(|s| s.capacity() + 24).sum::<usize>()
}

fn config() -> ForecasterConfig {
    let mut cfg = ForecasterConfig {
        lookback: 24,
        horizon: 1,
        normalize: Normalize::Global,
        ..Default::default()
    };
    cfg.model.layers = vec![32];
    cfg.training.batch_size = 256;
    cfg.training.epochs = 1;
    cfg
}

// ---------------------------------------------------------------------------------------------
// One measured run

const PHASES: [&str; 7] = [
    "split (calendar)",
    "windows+scalers (Prepared)",
    "WindowNorm::fit",
    "Network::new",
    "TrainState::new",
    "one epoch (run)",
    "workspace probe",
];

#[derive(Debug, Clone, Default)]
struct Run {
    n_train: usize,
    epoch_s: f64,
    prep_s: f64,
    loss: f64,
    /// Heap in use before the pipeline (loaded panels only).
    base: usize,
    /// Peak heap above `base` during Prepared::new + one epoch.
    peak_extra: usize,
    /// Per phase: (peak above base during the phase, retained above base after it).
    phases: Vec<(usize, usize)>,
    /// Heap held by the Prepared parts at the end (scaled, split/calendar, index).
    scaled_bytes: usize,
    /// Heap held by the split's calendar (`PanelSplit::calendar`), and its positions.
    calendar_bytes: usize,
    calendar_len: usize,
    order_bytes: usize,
    /// Big allocations (bytes, phase).
    big: Vec<(usize, usize)>,
}

fn run_case(cfg: &ForecasterConfig, panel: &Panel, log_big: bool) -> Run {
    let mut r = Run::default();
    BIG_N.store(0, Relaxed);
    LOGGING.store(usize::from(log_big), Relaxed);
    let base = reset_peak();
    r.base = base;
    // Closes phase k-1 (its own peak, and what is held after it) and opens phase k with the
    // peak reset to the heap in use now; `overall` keeps the highest peak of all phases.
    let phase = |k: usize, r: &mut Run| {
        if k > 0 {
            r.phases
                .push((peak() - base, current().saturating_sub(base)));
        }
        reset_peak();
        PHASE.store(k, Relaxed);
    };
    let mut overall = base;
    let track = |overall: &mut usize| *overall = (*overall).max(peak());

    let t0 = Instant::now();
    phase(0, &mut r);
    // Prepared::new == validated + split.resolve + with_split; called in two steps to see each.
    let valid = cfg.validated().expect("config");
    let split = cfg.split.resolve(panel).expect("split");
    track(&mut overall);
    phase(1, &mut r);
    let cores = lstmcast::cores();
    let prep = Prepared::with_split(&valid, panel, split, cores).expect("prepared");
    r.prep_s = t0.elapsed().as_secs_f64();
    track(&mut overall);
    phase(2, &mut r);
    let norm = WindowNorm::fit(
        Normalize::Global,
        &prep.scaled,
        prep.n_cols,
        &prep.train_rows(panel),
    )
    .expect("norm");
    track(&mut overall);
    phase(3, &mut r);
    let mut net = Network::new(
        cfg.network_spec(prep.n_cols, prep.n_targets),
        &mut rng_for(cfg.seed, streams::INIT),
    )
    .expect("network");
    track(&mut overall);
    phase(4, &mut r);
    let train_w = prep.windows(cfg, &norm, Part::Train);
    r.n_train = train_w.len();
    let mut state = TrainState::new(&net, train_w.len(), &cfg.training, cfg.seed);
    track(&mut overall);
    phase(5, &mut r);
    let t1 = Instant::now();
    let mut loss = f64::NAN;
    state
        .run(
            &mut net,
            &train_w,
            None,
            &cfg.training,
            1,
            None,
            &mut |rec| loss = rec.train_loss,
        )
        .expect("epoch");
    r.epoch_s = t1.elapsed().as_secs_f64();
    r.loss = loss;
    track(&mut overall);
    phase(6, &mut r);
    LOGGING.store(0, Relaxed);
    r.peak_extra = overall - base;
    r.scaled_bytes = prep.scaled.capacity() * 4;
    // The calendar stores no timestamps (a merge finds them when needed).
    r.calendar_bytes = std::mem::size_of::<Calendar>();
    r.calendar_len = prep.split.calendar.len();
    r.order_bytes = state.order.capacity() * std::mem::size_of_val(&state.order[0]);
    let n = BIG_N.load(Relaxed).min(BIG_SLOTS);
    r.big = (0..n)
        .map(|k| (BIG_SIZE[k].load(Relaxed), BIG_PHASE[k].load(Relaxed)))
        .collect();
    drop(state);
    drop(net);
    drop(prep);
    r
}

/// Heap the model's workspace reaches for one training batch: `Workspace::new` plus one
/// forward and backward pass of a full batch, and the batch's x / y buffers.
fn workspace_bytes(cfg: &ForecasterConfig) -> (usize, usize) {
    let net = Network::new(
        cfg.network_spec(1, 1),
        &mut rng_for(cfg.seed, streams::INIT),
    )
    .expect("network");
    let b = cfg.training.batch_size;
    let l = cfg.lookback;
    let x: Vec<f32> = (0..l * b).map(|i| ((i % 17) as f32 - 8.0) / 8.0).collect();
    let y: Vec<f32> = vec![0.1; b];
    let xy = (x.capacity() + y.capacity()) * 4;
    let base = reset_peak();
    let mut ws = Workspace::new(&net);
    net.forward(&mut ws, &x, b, l, None::<&mut lstmcast::engine::Rng>);
    let _ = net.backward(&mut ws, &x, &y);
    let peak_ws = peak() - base;
    let held = current() - base;
    drop(ws);
    (peak_ws + xy, held + xy)
}

static WS_PEAK: AtomicUsize = AtomicUsize::new(0);

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(5);
    let cfg = config();
    println!(
        "# panel_scale: lookback {} horizon {} layers {:?} batch {} normalize global, 1 epoch, no validation, {rounds} interleaved rounds",
        cfg.lookback, cfg.horizon, cfg.model.layers, cfg.training.batch_size
    );
    println!(
        "size_of::<Timestamp>() = {} bytes",
        std::mem::size_of::<Timestamp>()
    );

    let h0 = current();
    let pa = panel_a();
    let pa_heap = current() - h0;
    let h1 = current();
    let pb = panel_b();
    let pb_heap = current() - h1;
    let cases = [
        ("A: panel 1000 x 1000", &pa, pa_heap),
        ("B: series 1 x 1000000", &pb, pb_heap),
    ];
    for (name, p, heap) in &cases {
        println!(
            "{name}: {} series, {} rows, {} cols; data f32 {:.2} MB; Panel in memory {:.2} MB (heap delta {:.2} MB)",
            p.n_series(),
            p.len(),
            p.names.len(),
            mb(p.len() * p.names.len() * 4),
            mb(panel_bytes(p)),
            mb(*heap)
        );
    }
    let (ws_peak, ws_held) = workspace_bytes(&cfg);
    WS_PEAK.store(ws_peak, Relaxed);
    println!(
        "model workspace (Workspace::new + forward/backward of one batch of {} + batch x/y): peak {:.2} MB, held {:.2} MB",
        cfg.training.batch_size,
        mb(ws_peak),
        mb(ws_held)
    );

    let mut runs: [Vec<Run>; 2] = [Vec::new(), Vec::new()];
    for round in 0..rounds {
        for (k, (name, p, _)) in cases.iter().enumerate() {
            let r = run_case(&cfg, p, round == 0);
            println!(
                "round {} {name}: {} train windows, prep {:.2} s, epoch {:.2} s, {:.3} us/window, loss {:.5}, pipeline peak extra {:.2} MB",
                round + 1,
                r.n_train,
                r.prep_s,
                r.epoch_s,
                r.epoch_s / r.n_train as f64 * 1e6,
                r.loss,
                mb(r.peak_extra)
            );
            runs[k].push(r);
        }
    }

    println!();
    for (k, (name, p, _)) in cases.iter().enumerate() {
        let r = &runs[k][0];
        let data = p.len() * p.names.len() * 4;
        println!("## {name}: memory by phase (MB above the loaded panels, first round)");
        println!("| phase | peak during the phase | held after it |");
        println!("|---|---:|---:|");
        for (i, (pk, held)) in r.phases.iter().enumerate() {
            println!("| {} | {:.2} | {:.2} |", PHASES[i], mb(*pk), mb(*held));
        }
        println!(
            "held at the end: split calendar {:.2} MB ({} distinct timestamps of {} rows; none stored), scaled f32 matrix {:.2} MB, TrainState.order (u32 per window) {:.2} MB",
            mb(r.calendar_bytes),
            r.calendar_len,
            p.len(),
            mb(r.scaled_bytes),
            mb(r.order_bytes)
        );
        let mut big: Vec<String> = r
            .big
            .iter()
            .map(|(b, ph)| format!("{:.2} MB in {}", mb(*b), PHASES[*ph]))
            .collect();
        big.dedup();
        println!(
            "allocations >= {} KiB ({}): {}",
            BIG_MIN / 1024,
            r.big.len(),
            big.join("; ")
        );
        println!(
            "ratios to data f32: scaled {:.2}, order {:.2}, calendar held {:.2}; (peak extra - workspace - calendar held) / data f32 = {:.2}",
            r.scaled_bytes as f64 / data as f64,
            r.order_bytes as f64 / data as f64,
            r.calendar_bytes as f64 / data as f64,
            (r.peak_extra as f64 - WS_PEAK.load(Relaxed) as f64 - r.calendar_bytes as f64) / data as f64
        );
        println!();
    }

    let med =
        |k: usize, f: &dyn Fn(&Run) -> f64| median(&mut runs[k].iter().map(f).collect::<Vec<_>>());
    let epoch = [med(0, &|r| r.epoch_s), med(1, &|r| r.epoch_s)];
    let per_w = [
        med(0, &|r| r.epoch_s / r.n_train as f64 * 1e6),
        med(1, &|r| r.epoch_s / r.n_train as f64 * 1e6),
    ];
    let prep_s = [med(0, &|r| r.prep_s), med(1, &|r| r.prep_s)];
    let peak_extra = [
        runs[0].iter().map(|r| r.peak_extra).max().unwrap_or(0),
        runs[1].iter().map(|r| r.peak_extra).max().unwrap_or(0),
    ];
    println!("## Summary (medians of {rounds} interleaved rounds; memory: max over rounds)");
    println!("| case | train windows | epoch s | us/window | prep s | data f32 MB | Panel MB | pipeline peak extra MB | workspace MB | (extra - ws) / data f32 |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (k, (name, p, _)) in cases.iter().enumerate() {
        let data = p.len() * p.names.len() * 4;
        println!(
            "| {name} | {} | {:.2} | {:.3} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} |",
            runs[k][0].n_train,
            epoch[k],
            per_w[k],
            prep_s[k],
            mb(data),
            mb(panel_bytes(p)),
            mb(peak_extra[k]),
            mb(ws_peak),
            (peak_extra[k] as f64 - ws_peak as f64) / data as f64
        );
    }
    let ratio = per_w[0] / per_w[1];
    println!();
    println!(
        "(a) per-window cost panel / single = {ratio:.3} ({:+.1} %): {}",
        (ratio - 1.0) * 100.0,
        if (ratio - 1.0).abs() <= 0.15 {
            "within 15 %"
        } else {
            "NOT within 15 %"
        }
    );
    for (k, (name, p, _)) in cases.iter().enumerate() {
        let data = p.len() * p.names.len() * 4;
        let q = (peak_extra[k] as f64 - ws_peak as f64) / data as f64;
        println!(
            "(b) {name}: (pipeline peak extra - workspace) / data f32 = {q:.2}: {}",
            if q < 2.0 { "below 2x" } else { "NOT below 2x" }
        );
    }
}
