//! One training step of one network on several threads, with results independent of the
//! thread count.
//!
//! A batch is cut into [`chunk_count`] chunks of equal size (give or take a row), a number that
//! depends on the batch and the network only, never on the threads: each chunk's forward and
//! backward pass runs on a thread of its own workspace, its loss scaled by the whole batch, and
//! the chunks' gradients and losses are added in chunk order. The dropout masks of the whole
//! batch are drawn first, in the order a one-pass step draws them. A batch of one chunk is
//! exactly the one-pass step.

use super::network::{pinball, Network, NetworkSpec, Transposes, Workspace};
use super::{Loss, Rng};
use std::ops::Range;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Mutex;
use std::thread::JoinHandle;

/// Rows per chunk at most, where a batch has the work for that many chunks (a batch of 256
/// windows is four chunks of 64): enough chunks for a few cores, each long enough that running
/// them one after another costs next to nothing.
pub const CHUNK_ROWS: usize = 64;

/// The least work worth a thread: a batch is split only into chunks of at least this many
/// multiply-adds of the forward pass ([`window_work`] × rows), about 0.12 ms of one core here.
///
/// Measured by `examples/parallel_epoch.rs sweep` on this 2-core AMD EPYC, quiet (blocks of
/// 21 consecutive steps, 7 interleaved rounds, medians of 7 processes): a split step pays
/// about 0.08 ms to start its second thread, so a batch cut in two halves gains on two threads
/// with the work of a half. One layer of 50 units, halves of 0.3–1.3 M multiply-adds (lookback
/// 8 to 24, batch 8 to 32) gained 0.68–1.18×, and 16 units up to 0.84 M at most 1.19×; halves
/// of 1.96 M (lookback 24 and batch 16, lookback 48 and batch 8) gained 1.36×, 2.3 M (lookback
/// 14, batch 32) 1.38×, 3.9 M (lookback 24 and batch 32: the default training) 1.61×, 7.8 M
/// 1.71–1.72×, 15.7 M 1.81×; 128 units 1.48× (batch 8) to 1.88× (batch 64). The threshold
/// lies in the gap between 1.3 M and 2 M: a batch that cannot make two chunks of 1.5 M stays
/// whole. On one thread (where `train --normalize auto` runs each candidate) the same halves,
/// one after the other, took 0.997–1.016× the one-pass step wherever this rule splits (the
/// chunks share the step's transposed kernels; single processes ranged to 1.10× either way,
/// the one-pass step alike).
///
/// (That second thread was then spawned for every step; it is now kept from step to step.)
pub const MIN_CHUNK_WORK: usize = 1_500_000;

/// Multiply-adds of one window's forward pass through the LSTM layers, `steps · Σ 4·H·(I + H)`
/// (the backward pass is about twice as much; the head is negligible): the work measure of
/// [`chunk_count`].
pub fn window_work(spec: &NetworkSpec, steps: usize) -> usize {
    let mut input = spec.n_inputs;
    let mut per_step = 0;
    for &h in &spec.layers {
        per_step += 4 * h * (input + h);
        input = h;
    }
    steps * per_step
}

/// The chunks a batch of `batch` windows of `steps` steps is cut into: none (one chunk) unless
/// two chunks carry at least [`MIN_CHUNK_WORK`] each; then at least two, and as many as keep
/// chunks within [`CHUNK_ROWS`] rows while each still carries that work. It depends on the
/// batch and the network only, never on the threads, so the step is the same bits for any
/// thread count.
pub fn chunk_count(spec: &NetworkSpec, batch: usize, steps: usize) -> usize {
    let worth = batch.saturating_mul(window_work(spec, steps)) / MIN_CHUNK_WORK;
    if worth < 2 || batch < 2 {
        return 1;
    }
    batch.div_ceil(CHUNK_ROWS).clamp(2, worth.min(batch))
}

/// Rows of chunk `c` of `n` over a batch of `batch`: equal sizes, some of the later ones a row
/// longer where `n` does not divide `batch`.
fn chunk_rows(c: usize, n: usize, batch: usize) -> Range<usize> {
    c * batch / n..(c + 1) * batch / n
}

/// The loss a step is trained with.
#[derive(Debug, Clone, Copy)]
pub enum StepLoss<'a> {
    /// A loss of each output's error.
    Plain(Loss),
    /// The pinball loss of the quantiles `taus` (outputs `[…][quantile]`).
    Pinball(&'a [f32]),
}

/// Per chunk: its workspace, its rows' inputs and targets, and its loss.
#[derive(Debug, Clone)]
struct Slot {
    ws: Workspace,
    x: Vec<f32>,
    loss: f32,
}

/// A job of one lane of a step, its borrows erased (see [`Lanes::run`]).
type Job = Box<dyn FnOnce() + Send + 'static>;

/// One helper thread, kept for every step: it runs the jobs it is sent, one at a time, and
/// answers each with its outcome.
struct Lane {
    jobs: Option<Sender<Job>>,
    /// Behind a mutex (never contended) so that a [`DataParallel`] stays `Sync`.
    done: Mutex<Receiver<std::thread::Result<()>>>,
    thread: Option<JoinHandle<()>>,
}

/// The helper threads of a [`DataParallel`], started on its first split step and kept until it
/// is dropped.
///
/// A thread spawned per step cost example 3 of the demo (two layers of 50, batch 32 in two
/// chunks) most of what its second thread gained: each new thread took a fresh stack and a
/// malloc arena whose pages `matrixmultiply`'s per-call packing buffers faulted in again on
/// every step (about 176 page faults a step against 6 on one thread; `perf stat`: 176 k page
/// faults and 100 CPU migrations in 1,000 steps).
#[derive(Default)]
struct Lanes(Vec<Lane>);

impl Lanes {
    /// Runs `jobs[i]` on helper `i` (started when missing) and `first` on this thread, and
    /// returns once every one has finished; a panic in any of them is resumed here after all
    /// have finished.
    fn run<'a>(&mut self, jobs: Vec<Box<dyn FnOnce() + Send + 'a>>, first: impl FnOnce()) {
        while self.0.len() < jobs.len() {
            let (job_tx, job_rx) = channel::<Job>();
            let (done_tx, done_rx) = channel();
            let thread = std::thread::Builder::new()
                .name("lstmcast-lane".into())
                .spawn(move || {
                    while let Ok(job) = job_rx.recv() {
                        // The job (and its borrows) is consumed before the answer goes back.
                        if done_tx.send(catch_unwind(AssertUnwindSafe(job))).is_err() {
                            break;
                        }
                    }
                })
                .expect("starting a training thread");
            self.0.push(Lane {
                jobs: Some(job_tx),
                done: Mutex::new(done_rx),
                thread: Some(thread),
            });
        }
        let mut sent = Vec::with_capacity(jobs.len());
        let mut failure: Option<Box<dyn std::any::Any + Send>> = None;
        for (lane, job) in self.0.iter().zip(jobs) {
            // SAFETY: the job's borrows live for 'a, which outlasts this call, and this call
            // does not return (nor unwind: `first` runs under `catch_unwind`) before the lane
            // has answered that the job was run and dropped. A job that cannot be sent comes
            // back in the error and is dropped here, unrun.
            let job: Job =
                unsafe { std::mem::transmute::<Box<dyn FnOnce() + Send + 'a>, Job>(job) };
            match lane.jobs.as_ref().map(|tx| tx.send(job)) {
                Some(Ok(())) => sent.push(lane),
                _ => failure = Some(Box::new("a training thread has stopped")),
            }
        }
        let first = catch_unwind(AssertUnwindSafe(first));
        for lane in sent {
            let answer = match lane.done.lock() {
                Ok(done) => done.recv(),
                Err(poisoned) => poisoned.into_inner().recv(),
            };
            match answer {
                Ok(Ok(())) => {}
                Ok(Err(panic)) => failure = Some(panic),
                // The lane's thread is gone, and with it the job it was sent.
                Err(_) => failure = Some(Box::new("a training thread has stopped")),
            }
        }
        if let Err(panic) = first {
            resume_unwind(panic);
        }
        if let Some(panic) = failure {
            resume_unwind(panic);
        }
    }
}

impl Drop for Lanes {
    fn drop(&mut self) {
        for lane in &mut self.0 {
            lane.jobs = None;
        }
        for lane in &mut self.0 {
            if let Some(t) = lane.thread.take() {
                let _ = t.join();
            }
        }
    }
}

impl Clone for Lanes {
    /// A clone starts its own helpers when it first needs them.
    fn clone(&self) -> Lanes {
        Lanes::default()
    }
}

impl std::fmt::Debug for Lanes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Lanes({} helper threads)", self.0.len())
    }
}

/// The reusable state of data-parallel steps for one network.
#[derive(Debug, Clone)]
pub struct DataParallel {
    lanes: Lanes,
    slots: Vec<Slot>,
    grad: Vec<f32>,
    /// The step's transposed kernels, made once for all its chunks.
    transposes: Transposes,
    /// Threads a step may use (1: one after another).
    pub threads: usize,
    /// Chunks per step: `None` for [`chunk_count`]'s (other counts are for measuring it).
    pub chunks: Option<usize>,
}

impl DataParallel {
    /// Buffers for `net`, stepping on up to `threads` threads.
    pub fn new(net: &Network, threads: usize) -> DataParallel {
        DataParallel {
            lanes: Lanes::default(),
            slots: Vec::new(),
            grad: vec![0.0; net.n_params()],
            transposes: Transposes::default(),
            threads: threads.max(1),
            chunks: None,
        }
    }

    /// The gradient of the last step, flat in the network's layout order.
    pub fn grad(&self) -> &[f32] {
        &self.grad
    }

    /// Forward and backward over a batch of `batch` rows (`x` time-major `[steps, batch,
    /// inputs]`, `xf` `[batch, …]`, `y` `[batch, outputs]`); returns the mean loss, the
    /// gradient in [`DataParallel::grad`]. With `rng`, dropout masks are drawn from it.
    #[allow(clippy::too_many_arguments)]
    pub fn step(
        &mut self,
        net: &Network,
        x: &[f32],
        xf: &[f32],
        y: &[f32],
        (batch, steps): (usize, usize),
        loss: StepLoss,
        rng: Option<&mut Rng>,
    ) -> f32 {
        let n_chunks = self
            .chunks
            .unwrap_or_else(|| chunk_count(net.spec(), batch, steps))
            .clamp(1, batch.max(1));
        while self.slots.len() < n_chunks {
            self.slots.push(Slot {
                ws: Workspace::new(net),
                x: Vec::new(),
                loss: 0.0,
            });
        }
        let backward =
            |ws: &mut Workspace, x: &[f32], y: &[f32], kt: Option<&Transposes>| match loss {
                StepLoss::Plain(l) => net.backward_by(ws, x, y, &|_, e| l.value_and_slope(e), kt),
                StepLoss::Pinball(taus) => {
                    net.backward_by(ws, x, y, &|o, e| pinball(taus[o % taus.len()], e), kt)
                }
            };
        if n_chunks == 1 {
            let ws = &mut self.slots[0].ws;
            ws.loss_rows = 0;
            net.forward_with(ws, x, xf, batch, steps, rng);
            let l = backward(ws, x, y, None);
            self.grad.copy_from_slice(ws.grad());
            return l;
        }
        net.transposes(&mut self.transposes);
        let kt = &self.transposes;
        let uses_dropout = net.spec().dropout > 0.0 || net.spec().recurrent_dropout > 0.0;
        let masks = match rng {
            Some(r) if uses_dropout => Some(net.draw_masks(r, batch)),
            _ => None,
        };
        let (n_in, n_out) = (net.spec().n_inputs, net.spec().n_outputs);
        let per_xf = xf.len() / batch;
        let run = |c: usize, slot: &mut Slot| {
            let rows = chunk_rows(c, n_chunks, batch);
            let n = rows.len();
            slot.x.resize(steps * n * n_in, 0.0);
            for s in 0..steps {
                slot.x[s * n * n_in..(s + 1) * n * n_in].copy_from_slice(
                    &x[(s * batch + rows.start) * n_in..(s * batch + rows.end) * n_in],
                );
            }
            slot.ws.loss_rows = batch;
            net.forward_rows(
                &mut slot.ws,
                &slot.x,
                &xf[rows.start * per_xf..rows.end * per_xf],
                (rows.clone(), steps),
                masks.as_deref(),
            );
            slot.loss = backward(
                &mut slot.ws,
                &slot.x,
                &y[rows.start * n_out..rows.end * n_out],
                Some(kt),
            );
        };
        let threads = self.threads.min(n_chunks);
        let slots = &mut self.slots[..n_chunks];
        if threads <= 1 {
            for (c, slot) in slots.iter_mut().enumerate() {
                run(c, slot);
            }
        } else {
            // Chunk c goes to thread c mod threads: which thread runs it never changes a bit.
            let mut lanes: Vec<Vec<(usize, &mut Slot)>> =
                (0..threads).map(|_| Vec::new()).collect();
            for (c, slot) in slots.iter_mut().enumerate() {
                lanes[c % threads].push((c, slot));
            }
            // Lane 0 runs on this thread (this thread's core stays busy), the others on the
            // helpers kept from step to step.
            let mut lanes = lanes.into_iter();
            let first = lanes.next().unwrap_or_default();
            let run = &run;
            let jobs: Vec<Box<dyn FnOnce() + Send + '_>> = lanes
                .map(|lane| {
                    Box::new(move || {
                        for (c, slot) in lane {
                            run(c, slot);
                        }
                    }) as Box<dyn FnOnce() + Send + '_>
                })
                .collect();
            self.lanes.run(jobs, || {
                for (c, slot) in first {
                    run(c, slot);
                }
            });
        }
        // The fixed-order reduction.
        self.grad.copy_from_slice(self.slots[0].ws.grad());
        let mut total = self.slots[0].loss;
        for slot in &self.slots[1..n_chunks] {
            for (g, d) in self.grad.iter_mut().zip(slot.ws.grad()) {
                *g += d;
            }
            total += slot.loss;
        }
        total
    }
}
