//! One training step of one network on several threads, with results independent of the
//! thread count.
//!
//! A batch is cut into chunks of [`CHUNK_ROWS`] rows, always the same ones whatever the
//! threads: each chunk's forward and backward pass runs on a thread of its own workspace, its
//! loss scaled by the whole batch, and the chunks' gradients and losses are added in chunk
//! order. The dropout masks of the whole batch are drawn first, in the order a one-pass step
//! draws them. A batch of at most [`CHUNK_ROWS`] rows is one chunk: exactly the one-pass step,
//! so batches of the default size train as they always did.

use super::network::{Network, Workspace};
use super::{Loss, Rng};

/// Rows per chunk: a batch of at most this many rows is not split. Splitting pays on two cores
/// down to batches of 16 (`examples/parallel_epoch.rs`: 1.6× for 16 windows of 48 steps and 50
/// units), but a split batch adds its gradient in another order than one pass, so a smaller
/// chunk would change the results of every training at the default batch size of 32; at 64 they
/// stay as they were, and `auto` keeps the cores busy with its candidates instead.
pub const CHUNK_ROWS: usize = 64;

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

/// The reusable state of data-parallel steps for one network.
#[derive(Debug, Clone)]
pub struct DataParallel {
    slots: Vec<Slot>,
    grad: Vec<f32>,
    /// Threads a step may use (1: one after another).
    pub threads: usize,
    /// Rows per chunk ([`CHUNK_ROWS`]; other values are for measuring it).
    pub chunk: usize,
}

impl DataParallel {
    /// Buffers for `net`, stepping on up to `threads` threads.
    pub fn new(net: &Network, threads: usize) -> DataParallel {
        DataParallel {
            slots: Vec::new(),
            grad: vec![0.0; net.n_params()],
            threads: threads.max(1),
            chunk: CHUNK_ROWS,
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
        let chunk = self.chunk.max(1);
        let n_chunks = batch.div_ceil(chunk).max(1);
        while self.slots.len() < n_chunks {
            self.slots.push(Slot {
                ws: Workspace::new(net),
                x: Vec::new(),
                loss: 0.0,
            });
        }
        let backward = |ws: &mut Workspace, x: &[f32], y: &[f32]| match loss {
            StepLoss::Plain(l) => net.backward_with(ws, x, y, l),
            StepLoss::Pinball(taus) => net.backward_pinball(ws, x, y, taus),
        };
        if n_chunks == 1 {
            let ws = &mut self.slots[0].ws;
            ws.loss_rows = 0;
            net.forward_with(ws, x, xf, batch, steps, rng);
            let l = backward(ws, x, y);
            self.grad.copy_from_slice(ws.grad());
            return l;
        }
        let uses_dropout = net.spec().dropout > 0.0 || net.spec().recurrent_dropout > 0.0;
        let masks = match rng {
            Some(r) if uses_dropout => Some(net.draw_masks(r, batch)),
            _ => None,
        };
        let (n_in, n_out) = (net.spec().n_inputs, net.spec().n_outputs);
        let per_xf = xf.len() / batch;
        let run = |c: usize, slot: &mut Slot| {
            let rows = c * chunk..((c + 1) * chunk).min(batch);
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
            std::thread::scope(|scope| {
                for lane in lanes {
                    let run = &run;
                    scope.spawn(move || {
                        for (c, slot) in lane {
                            run(c, slot);
                        }
                    });
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
