//! Stacked LSTM layers and a linear dense head on flat `f32` parameters, with a reusable
//! [`Workspace`] that holds every activation of a batch so that training allocates nothing per
//! batch.
//!
//! Per layer the input projection of all time steps is one GEMM; each step adds `h(t−1) · U` for
//! all four gates (one GEMM, or a vector kernel for a batch of one) and runs one fused gate pass.
//! Backpropagation through time mirrors it: one fused pass and one GEMM per step, then the weight
//! gradients as one GEMM each over all steps.
//!
//! Layouts: the input batch is time-major `x: [steps, batch, inputs]`; outputs are
//! `[batch, outputs]`. Parameters use Keras' shapes and gate order i, f, c, o.

use super::init::{glorot_uniform, orthogonal};
use super::kernels::{gemm_acc, lstm_backward, lstm_forward};
use crate::error::{Error, Result};
use rand::Rng;
use serde::{Deserialize, Serialize};

/// The shape of a network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetworkSpec {
    /// Inputs per time step.
    pub n_inputs: usize,
    /// Units of each LSTM layer, bottom first (e.g. `[64, 32]`).
    pub layers: Vec<usize>,
    /// Outputs of the dense head (`horizon · targets`).
    pub n_outputs: usize,
    /// Fraction of each LSTM layer's inputs dropped in training (one mask per sequence), 0..1.
    pub dropout: f32,
    /// Fraction of each LSTM layer's recurrent state dropped in training (variational), 0..1.
    pub recurrent_dropout: f32,
    /// Inputs the head sees per output step beside the final hidden state (the future-known
    /// covariates and statics of that step); 0 for none. Output step `k` adds
    /// `step_inputs(k) · dense/step_kernel`, one kernel shared by every step.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub step_inputs: usize,
    /// Output steps the outputs are split into (`n_outputs = steps · per step`), for the
    /// step inputs; 1 without them.
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub steps: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

fn is_one(n: &usize) -> bool {
    *n == 1
}

fn one() -> usize {
    1
}

impl NetworkSpec {
    /// Number of parameters (u64 arithmetic; meaningful once the layer, input and output counts
    /// are within [`NetworkSpec::validate`]'s bounds).
    pub fn param_count(&self) -> usize {
        let mut n: u64 = 0;
        let mut input = self.n_inputs as u64;
        for &u in &self.layers {
            let u = u as u64;
            n = n.saturating_add(4 * u * (input + u + 1));
            input = u;
        }
        n = n.saturating_add(input * self.n_outputs as u64 + self.n_outputs as u64);
        if self.step_inputs > 0 {
            n = n.saturating_add(self.step_inputs as u64 * self.per_step() as u64);
        }
        n.min(usize::MAX as u64) as usize
    }

    /// Outputs per output step.
    pub fn per_step(&self) -> usize {
        self.n_outputs / self.steps.max(1)
    }

    /// Checks sizes and dropout rates.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] naming the field.
    pub fn validate(&self) -> Result<()> {
        if self.n_inputs == 0 || self.n_outputs == 0 {
            return Err(Error::config(
                "model",
                "a network needs at least one input and one output",
            ));
        }
        if self.layers.is_empty() || self.layers.iter().any(|&u| u == 0 || u > 4096) {
            return Err(Error::config(
                "layers",
                format!(
                    "{:?}: give one or more unit counts between 1 and 4096, like 64,32",
                    self.layers
                ),
            ));
        }
        if self.step_inputs > 0 && (self.steps == 0 || !self.n_outputs.is_multiple_of(self.steps)) {
            return Err(Error::config(
                "model",
                format!(
                    "{} outputs do not split into {} steps",
                    self.n_outputs, self.steps
                ),
            ));
        }
        if self.layers.len() > 64
            || self.n_inputs > 100_000
            || self.n_outputs > 1_000_000
            || self.step_inputs > 100_000
        {
            return Err(Error::config(
                "model",
                format!(
                    "{} layers, {} inputs, {} outputs: at most 64 layers, 100000 inputs and 1000000 outputs",
                    self.layers.len(),
                    self.n_inputs,
                    self.n_outputs
                ),
            ));
        }
        // Within those bounds the count cannot overflow; cap it so that a corrupted or hostile
        // model.json cannot make loading allocate without limit.
        let n = self.param_count();
        if n > 256 << 20 {
            return Err(Error::config(
                "model",
                format!("{n} parameters is more than the 268435456 this engine allows"),
            ));
        }
        for (name, p) in [
            ("dropout", self.dropout),
            ("recurrent_dropout", self.recurrent_dropout),
        ] {
            if !(0.0..1.0).contains(&p) {
                return Err(Error::config(name, format!("{p} must be in [0, 1)")));
            }
        }
        Ok(())
    }
}

/// Where one named tensor lives in the flat parameter vector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParamInfo {
    /// Keras-style name, e.g. `lstm_0/kernel`, `dense/bias`.
    pub name: String,
    /// Keras shape, e.g. `[inputs, 4·units]`.
    pub shape: Vec<usize>,
    /// Offset in the flat vector.
    pub offset: usize,
}

impl ParamInfo {
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// Whether the tensor is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A network: its spec and its parameters as one flat vector of named tensors.
#[derive(Debug, Clone, PartialEq)]
pub struct Network {
    spec: NetworkSpec,
    params: Vec<f32>,
    layout: Vec<ParamInfo>,
}

fn layout_for(spec: &NetworkSpec) -> Vec<ParamInfo> {
    let mut out = Vec::new();
    let mut off = 0;
    let mut push = |name: String, shape: Vec<usize>| {
        let len: usize = shape.iter().product();
        out.push(ParamInfo {
            name,
            shape,
            offset: off,
        });
        off += len;
    };
    let mut input = spec.n_inputs;
    for (l, &h) in spec.layers.iter().enumerate() {
        push(format!("lstm_{l}/kernel"), vec![input, 4 * h]);
        push(format!("lstm_{l}/recurrent_kernel"), vec![h, 4 * h]);
        push(format!("lstm_{l}/bias"), vec![4 * h]);
        input = h;
    }
    push("dense/kernel".into(), vec![input, spec.n_outputs]);
    push("dense/bias".into(), vec![spec.n_outputs]);
    if spec.step_inputs > 0 {
        push(
            "dense/step_kernel".into(),
            vec![spec.step_inputs, spec.per_step()],
        );
    }
    out
}

impl Network {
    /// A network initialised as Keras does: glorot-uniform kernels, orthogonal recurrent kernels,
    /// zero biases with forget-gate biases 1.
    ///
    /// # Errors
    /// An invalid spec.
    pub fn new<R: Rng>(spec: NetworkSpec, rng: &mut R) -> Result<Network> {
        let mut net = Network::zeros(spec)?;
        let mut input = net.spec.n_inputs;
        for l in 0..net.spec.layers.len() {
            let h = net.spec.layers[l];
            let (k, u, b) = (
                net.layout[3 * l].offset,
                net.layout[3 * l + 1].offset,
                net.layout[3 * l + 2].offset,
            );
            glorot_uniform(rng, input, 4 * h, &mut net.params[k..k + input * 4 * h]);
            orthogonal(rng, h, 4 * h, &mut net.params[u..u + h * 4 * h]);
            net.params[b + h..b + 2 * h].fill(1.0);
            input = h;
        }
        let d = &net.layout[3 * net.spec.layers.len()];
        let (off, len) = (d.offset, d.len());
        glorot_uniform(
            rng,
            input,
            net.spec.n_outputs,
            &mut net.params[off..off + len],
        );
        if net.spec.step_inputs > 0 {
            let p = &net.layout[3 * net.spec.layers.len() + 2];
            let (off, len) = (p.offset, p.len());
            glorot_uniform(
                rng,
                net.spec.step_inputs,
                net.spec.per_step(),
                &mut net.params[off..off + len],
            );
        }
        Ok(net)
    }

    /// A network with every parameter zero (to be filled by [`Network::set_params`]).
    ///
    /// # Errors
    /// An invalid spec.
    pub fn zeros(spec: NetworkSpec) -> Result<Network> {
        spec.validate()?;
        let layout = layout_for(&spec);
        let n = layout.last().map(|p| p.offset + p.len()).unwrap_or(0);
        Ok(Network {
            spec,
            params: vec![0.0; n],
            layout,
        })
    }

    /// The spec.
    pub fn spec(&self) -> &NetworkSpec {
        &self.spec
    }

    /// All parameters, flat, in [`Network::layout`] order.
    pub fn params(&self) -> &[f32] {
        &self.params
    }

    /// Mutable parameters (for the optimiser).
    pub fn params_mut(&mut self) -> &mut [f32] {
        &mut self.params
    }

    /// Replaces every parameter.
    ///
    /// # Errors
    /// A length mismatch.
    pub fn set_params(&mut self, params: &[f32]) -> Result<()> {
        if params.len() != self.params.len() {
            return Err(Error::config(
                "params",
                format!(
                    "expected {} parameters, got {}",
                    self.params.len(),
                    params.len()
                ),
            ));
        }
        self.params.copy_from_slice(params);
        Ok(())
    }

    /// Named tensors with their shapes and offsets.
    pub fn layout(&self) -> &[ParamInfo] {
        &self.layout
    }

    /// One named tensor.
    pub fn param(&self, name: &str) -> Option<&[f32]> {
        self.layout
            .iter()
            .find(|p| p.name == name)
            .map(|p| &self.params[p.offset..p.offset + p.len()])
    }

    /// Mutable access to one named tensor.
    pub fn param_mut(&mut self, name: &str) -> Option<&mut [f32]> {
        let p = self.layout.iter().find(|p| p.name == name)?.clone();
        Some(&mut self.params[p.offset..p.offset + p.len()])
    }

    /// Sets the output layer's kernel and bias to zero: the network then outputs 0 whatever its
    /// inputs, and learns away from there.
    pub fn zero_output_layer(&mut self) {
        let n = 3 * self.spec.layers.len();
        for p in &self.layout[n..] {
            self.params[p.offset..p.offset + p.len()].fill(0.0);
        }
    }

    /// Total number of parameters.
    pub fn n_params(&self) -> usize {
        self.params.len()
    }

    fn layer_params(&self, l: usize) -> (&[f32], &[f32], &[f32]) {
        let t = |i: usize| {
            let p = &self.layout[3 * l + i];
            &self.params[p.offset..p.offset + p.len()]
        };
        (t(0), t(1), t(2))
    }

    fn dense_params(&self) -> (&[f32], &[f32]) {
        let n = 3 * self.spec.layers.len();
        let t = |i: usize| {
            let p = &self.layout[n + i];
            &self.params[p.offset..p.offset + p.len()]
        };
        (t(0), t(1))
    }

    /// The head's kernel for the per-step inputs (empty without them).
    fn step_kernel(&self) -> &[f32] {
        match self.layout.get(3 * self.spec.layers.len() + 2) {
            Some(p) => &self.params[p.offset..p.offset + p.len()],
            None => &[],
        }
    }
}

/// `C[m,n] = op(A)[m,k] · op(B)[k,n] + beta · C`; `at`: A is stored `[k, m]`; `bt`: B is stored `[n, k]`.
#[allow(clippy::too_many_arguments)]
fn gemm(
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    at: bool,
    b: &[f32],
    bt: bool,
    c: &mut [f32],
    beta: f32,
) {
    assert!(
        a.len() >= m * k && b.len() >= k * n && c.len() >= m * n,
        "gemm shapes"
    );
    if m == 0 || n == 0 {
        return;
    }
    let (rsa, csa) = if at { (1, m as isize) } else { (k as isize, 1) };
    let (rsb, csb) = if bt { (1, k as isize) } else { (n as isize, 1) };
    // SAFETY: the asserts above guarantee every index the strides reach is inside the slices.
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            1.0,
            a.as_ptr(),
            rsa,
            csa,
            b.as_ptr(),
            rsb,
            csb,
            beta,
            c.as_mut_ptr(),
            n as isize,
            1,
        );
    }
}

/// Per-layer activations and gradients for one batch.
#[derive(Debug, Default, Clone)]
struct LayerBuf {
    x_drop: Vec<f32>,   // [T·B, I] inputs after the dropout mask
    in_mask: Vec<f32>,  // [B, I]
    rec_mask: Vec<f32>, // [B, H]
    h_drop: Vec<f32>,   // [T·B, H] h(t−1) after the recurrent mask
    z: Vec<f32>,        // [T·B, 4H] pre-activations, then activated gates
    c: Vec<f32>,        // [(T+1)·B, H], slot 0 = 0
    tc: Vec<f32>,       // [T·B, H] tanh(c)
    h: Vec<f32>,        // [(T+1)·B, H], slot 0 = 0
    dz: Vec<f32>,       // [T·B, 4H]
    dh_in: Vec<f32>,    // [T·B, H] ∂L/∂h(t) from the layer above (or the head)
    dh_rec: Vec<f32>,   // [B, H]
    dc: Vec<f32>,       // [B, H]
}

fn grow(v: &mut Vec<f32>, n: usize) {
    if v.len() < n {
        v.resize(n, 0.0);
    }
}

/// The transposed kernels a backward pass multiplies by, per layer: the recurrent kernel
/// `[4H, H]` (for dz · Uᵀ) and, above the first layer, the input kernel `[4H, I]` (for dz ·
/// Wᵀ). They depend on the weights only, so the chunks of a split batch share one copy.
#[derive(Debug, Default, Clone)]
pub(crate) struct Transposes {
    u_t: Vec<Vec<f32>>,
    w_t: Vec<Vec<f32>>,
}

/// The pinball loss of quantile `tau` for the error `e = prediction − target`, and its slope in
/// the prediction (the subgradient 0 at e = 0).
pub fn pinball(tau: f32, e: f32) -> (f64, f32) {
    let u = -e;
    if u > 0.0 {
        ((tau * u) as f64, -tau)
    } else if u < 0.0 {
        (((tau - 1.0) * u) as f64, 1.0 - tau)
    } else {
        (0.0, 0.0)
    }
}

/// Reusable buffers for one network: activations, gradients and outputs of one batch. Grows to
/// the largest batch seen and never shrinks, so steady-state training allocates nothing.
#[derive(Debug, Clone)]
pub struct Workspace {
    layers: Vec<LayerBuf>,
    batch: usize,
    steps: usize,
    dropped_inputs: bool,
    dropped_state: bool,
    n_outputs: usize,
    out: Vec<f32>,
    dout: Vec<f32>,
    grad: Vec<f32>,
    /// The per-step head inputs of the last forward pass, `[batch, steps, step_inputs]`.
    xf: Vec<f32>,
    /// Rows the loss is averaged over (0: the batch's own): a chunk of a larger batch is
    /// scaled by the whole batch, so that the chunks' gradients add up to the batch's.
    pub(crate) loss_rows: usize,
    /// This workspace's own transposed kernels (when a backward pass is not given shared ones).
    transposes: Transposes,
}

impl Workspace {
    /// Empty buffers for `net`.
    pub fn new(net: &Network) -> Workspace {
        Workspace {
            layers: vec![LayerBuf::default(); net.spec.layers.len()],
            batch: 0,
            steps: 0,
            dropped_inputs: false,
            dropped_state: false,
            n_outputs: net.spec.n_outputs,
            out: Vec::new(),
            dout: Vec::new(),
            grad: vec![0.0; net.n_params()],
            xf: Vec::new(),
            loss_rows: 0,
            transposes: Transposes::default(),
        }
    }

    fn ensure(&mut self, net: &Network, batch: usize, steps: usize, train: bool) {
        let (b, t) = (batch, steps);
        let mut input = net.spec.n_inputs;
        for (buf, &h) in self.layers.iter_mut().zip(&net.spec.layers) {
            grow(&mut buf.z, t * b * 4 * h);
            grow(&mut buf.c, (t + 1) * b * h);
            grow(&mut buf.tc, t * b * h);
            grow(&mut buf.h, (t + 1) * b * h);
            if train {
                if net.spec.dropout > 0.0 {
                    grow(&mut buf.x_drop, t * b * input);
                    grow(&mut buf.in_mask, b * input);
                }
                if net.spec.recurrent_dropout > 0.0 {
                    grow(&mut buf.h_drop, t * b * h);
                    grow(&mut buf.rec_mask, b * h);
                }
            }
            input = h;
        }
        grow(&mut self.out, b * net.spec.n_outputs);
        grow(&mut self.dout, b * net.spec.n_outputs);
        self.batch = b;
        self.steps = t;
    }

    /// The outputs of the last forward pass, `[batch, outputs]`.
    pub fn output(&self) -> &[f32] {
        &self.out[..self.batch * self.n_outputs]
    }

    /// The gradient of the last backward pass, flat in [`Network::layout`] order.
    pub fn grad(&self) -> &[f32] {
        &self.grad
    }

    /// The hidden sequence of LSTM layer `l` from the last forward pass, time-major
    /// `[steps, batch, units]`.
    pub fn hidden_sequence(&self, net: &Network, l: usize) -> &[f32] {
        let bh = self.batch * net.spec.layers[l];
        &self.layers[l].h[bh..bh * (self.steps + 1)]
    }

    /// The cell states of layer `l` at the last step, `[batch, units]`.
    pub fn final_cell(&self, net: &Network, l: usize) -> &[f32] {
        let bh = self.batch * net.spec.layers[l];
        &self.layers[l].c[bh * self.steps..bh * (self.steps + 1)]
    }
}

/// Writes the transpose of row-major `a [rows, cols]` into `out` (`[cols, rows]`), growing it.
/// In tiles of 16 × 16, so that the strided writes of a tile stay in L1: element by element,
/// the transpose of a 128-unit recurrent kernel took about 0.15 ms of every backward pass (one
/// step of lookback 24 and batch 8: 0.84 ms before, 0.68 ms in tiles).
fn transpose_into(a: &[f32], rows: usize, cols: usize, out: &mut Vec<f32>) {
    const TILE: usize = 16;
    grow(out, rows * cols);
    let (a, out) = (&a[..rows * cols], &mut out[..rows * cols]);
    for r0 in (0..rows).step_by(TILE) {
        for c0 in (0..cols).step_by(TILE) {
            let c1 = (c0 + TILE).min(cols);
            for r in r0..(r0 + TILE).min(rows) {
                for (c, &v) in (c0..c1).zip(&a[r * cols + c0..r * cols + c1]) {
                    out[c * rows + r] = v;
                }
            }
        }
    }
}

fn dropout_mask<R: Rng>(rng: &mut R, rate: f32, mask: &mut [f32]) {
    let keep = 1.0 - rate;
    let scale = 1.0 / keep;
    for m in mask.iter_mut() {
        *m = if rng.gen::<f32>() < keep { scale } else { 0.0 };
    }
}

impl Network {
    /// Forward pass over `x` (time-major `[steps, batch, inputs]`); the outputs land in
    /// `ws.output()` (`[batch, outputs]`). With `rng` (training) dropout masks are drawn from it;
    /// without, dropout is off (inference). For a network with per-step head inputs use
    /// [`Network::forward_with`].
    pub fn forward<R: Rng>(
        &self,
        ws: &mut Workspace,
        x: &[f32],
        batch: usize,
        steps: usize,
        rng: Option<&mut R>,
    ) {
        self.forward_with(ws, x, &[], batch, steps, rng)
    }

    /// As [`Network::forward`], with the head's per-step inputs `xf` (`[batch, output steps,
    /// step_inputs]`; empty when the spec has none).
    pub fn forward_with<R: Rng>(
        &self,
        ws: &mut Workspace,
        x: &[f32],
        xf: &[f32],
        batch: usize,
        steps: usize,
        rng: Option<&mut R>,
    ) {
        match rng {
            Some(r) => self.forward_impl(ws, x, xf, (batch, steps), true, &mut |rate, mask, _| {
                dropout_mask(r, rate, mask)
            }),
            None => self.forward_impl(ws, x, xf, (batch, steps), false, &mut |_, _, _| {}),
        }
    }

    /// Draws the dropout masks of a training batch of `batch` rows from `rng`, in the order
    /// [`Network::forward_with`] draws them (per layer: the input mask `[batch, inputs]`, then
    /// the recurrent one `[batch, units]`; empty where that dropout is off).
    pub fn draw_masks<R: Rng>(&self, rng: &mut R, batch: usize) -> Vec<[Vec<f32>; 2]> {
        let mut input = self.spec.n_inputs;
        self.spec
            .layers
            .iter()
            .map(|&h| {
                let mut m = [Vec::new(), Vec::new()];
                if self.spec.dropout > 0.0 {
                    m[0] = vec![0.0; batch * input];
                    dropout_mask(rng, self.spec.dropout, &mut m[0]);
                }
                if self.spec.recurrent_dropout > 0.0 {
                    m[1] = vec![0.0; batch * h];
                    dropout_mask(rng, self.spec.recurrent_dropout, &mut m[1]);
                }
                input = h;
                m
            })
            .collect()
    }

    /// A forward pass over rows `rows` of a batch (`x`, `xf` hold those rows only), with the
    /// batch's dropout masks `masks` drawn by [`Network::draw_masks`], or without dropout.
    pub(crate) fn forward_rows(
        &self,
        ws: &mut Workspace,
        x: &[f32],
        xf: &[f32],
        (rows, steps): (std::ops::Range<usize>, usize),
        masks: Option<&[[Vec<f32>; 2]]>,
    ) {
        let (lo, n) = (rows.start, rows.len());
        let Some(masks) = masks else {
            return self.forward_impl(ws, x, xf, (n, steps), false, &mut |_, _, _| {});
        };
        self.forward_impl(ws, x, xf, (n, steps), true, &mut |_, mask, (l, rec)| {
            let per = mask.len() / n;
            mask.copy_from_slice(&masks[l][rec as usize][lo * per..(lo + n) * per]);
        })
    }

    /// The forward pass; `draw(rate, mask, (layer, recurrent))` fills each dropout mask of a
    /// training pass.
    #[allow(clippy::type_complexity)]
    fn forward_impl(
        &self,
        ws: &mut Workspace,
        x: &[f32],
        xf: &[f32],
        (batch, steps): (usize, usize),
        train: bool,
        draw: &mut dyn FnMut(f32, &mut [f32], (usize, bool)),
    ) {
        assert_eq!(
            xf.len(),
            batch * self.spec.steps * self.spec.step_inputs * (self.spec.step_inputs > 0) as usize,
            "xf must be [batch, output steps, step inputs]"
        );
        ws.xf.clear();
        ws.xf.extend_from_slice(xf);
        assert_eq!(
            x.len(),
            steps * batch * self.spec.n_inputs,
            "x must be [steps, batch, inputs]"
        );
        assert!(steps > 0 && batch > 0, "empty batch");
        ws.ensure(self, batch, steps, train);
        let (b, t) = (batch, steps);
        ws.dropped_inputs = train && self.spec.dropout > 0.0;
        ws.dropped_state = train && self.spec.recurrent_dropout > 0.0;
        let mut input_size = self.spec.n_inputs;
        for l in 0..self.spec.layers.len() {
            let h = self.spec.layers[l];
            let (w, u, bias) = self.layer_params(l);
            let (below, rest) = ws.layers.split_at_mut(l);
            let buf = &mut rest[0];
            let mut input: &[f32] = if l == 0 {
                x
            } else {
                &below[l - 1].h[b * input_size..b * input_size * (t + 1)]
            };
            if ws.dropped_inputs {
                draw(
                    self.spec.dropout,
                    &mut buf.in_mask[..b * input_size],
                    (l, false),
                );
                let mask = &buf.in_mask[..b * input_size];
                for (dst, src) in buf.x_drop[..t * b * input_size]
                    .chunks_exact_mut(b * input_size)
                    .zip(input.chunks_exact(b * input_size))
                {
                    for ((d, s), m) in dst.iter_mut().zip(src).zip(mask) {
                        *d = s * m;
                    }
                }
                input = &buf.x_drop[..t * b * input_size];
            }
            if ws.dropped_state {
                draw(
                    self.spec.recurrent_dropout,
                    &mut buf.rec_mask[..b * h],
                    (l, true),
                );
            }
            let g4 = 4 * h;
            let z = &mut buf.z[..t * b * g4];
            for row in z.chunks_exact_mut(g4) {
                row.copy_from_slice(bias);
            }
            gemm_acc(t * b, input_size, g4, input, w, z);
            buf.c[..b * h].fill(0.0);
            buf.h[..b * h].fill(0.0);
            for s in 0..t {
                let zs = &mut buf.z[s * b * g4..(s + 1) * b * g4];
                if s > 0 {
                    let mut hp = &buf.h[s * b * h..(s + 1) * b * h];
                    if ws.dropped_state {
                        let hd = &mut buf.h_drop[s * b * h..(s + 1) * b * h];
                        for ((d, v), m) in hd.iter_mut().zip(hp).zip(buf.rec_mask[..b * h].iter()) {
                            *d = v * m;
                        }
                        hp = &buf.h_drop[s * b * h..(s + 1) * b * h];
                    }
                    gemm_acc(b, h, g4, hp, u, zs);
                }
                let (c_lo, c_hi) = buf.c.split_at_mut((s + 1) * b * h);
                lstm_forward(
                    zs,
                    &c_lo[s * b * h..],
                    &mut c_hi[..b * h],
                    &mut buf.tc[s * b * h..(s + 1) * b * h],
                    &mut buf.h[(s + 1) * b * h..(s + 2) * b * h],
                    h,
                );
            }
            if ws.dropped_state {
                buf.h_drop[..b * h].fill(0.0);
            }
            input_size = h;
        }
        let (wd, bd) = self.dense_params();
        let o = self.spec.n_outputs;
        let last = &ws.layers[self.spec.layers.len() - 1];
        let h_last = &last.h[t * b * input_size..(t + 1) * b * input_size];
        let out = &mut ws.out[..b * o];
        for row in out.chunks_exact_mut(o) {
            row.copy_from_slice(bd);
        }
        gemm_acc(b, input_size, o, h_last, wd, out);
        if self.spec.step_inputs > 0 {
            // [batch, steps · per step] is [batch · steps, per step]: one GEMM for every step.
            let (e, p) = (self.spec.step_inputs, self.spec.per_step());
            gemm_acc(b * self.spec.steps, e, p, &ws.xf, self.step_kernel(), out);
        }
    }

    /// Inference on `x` (time-major `[steps, batch, inputs]`), no dropout; returns
    /// `[batch, outputs]` (a view into the workspace).
    pub fn predict<'w>(
        &self,
        ws: &'w mut Workspace,
        x: &[f32],
        batch: usize,
        steps: usize,
    ) -> &'w [f32] {
        self.predict_with(ws, x, &[], batch, steps)
    }

    /// As [`Network::predict`] with the head's per-step inputs (see [`Network::forward_with`]).
    pub fn predict_with<'w>(
        &self,
        ws: &'w mut Workspace,
        x: &[f32],
        xf: &[f32],
        batch: usize,
        steps: usize,
    ) -> &'w [f32] {
        self.forward_with::<rand_chacha::ChaCha8Rng>(ws, x, xf, batch, steps, None);
        &ws.out[..batch * self.spec.n_outputs]
    }

    /// Mean squared error of the last forward pass against `y [batch, outputs]`, and the gradient
    /// of every parameter by backpropagation through time (into `ws.grad()`). Returns the loss.
    pub fn backward(&self, ws: &mut Workspace, x: &[f32], y: &[f32]) -> f32 {
        self.backward_with(ws, x, y, super::Loss::Mse)
    }

    /// As [`Network::backward`] for the mean of `loss` over every output.
    pub fn backward_with(
        &self,
        ws: &mut Workspace,
        x: &[f32],
        y: &[f32],
        loss_fn: super::Loss,
    ) -> f32 {
        self.backward_by(ws, x, y, &|_, e| loss_fn.value_and_slope(e), None)
    }

    /// As [`Network::backward`] for the pinball (quantile) loss: output `o` predicts the
    /// quantile `taus[o % taus.len()]` of its target (outputs are `[…][quantile]`), and the loss
    /// is the mean over outputs of `max(τ·u, (τ − 1)·u)` with `u = y − prediction`.
    pub fn backward_pinball(&self, ws: &mut Workspace, x: &[f32], y: &[f32], taus: &[f32]) -> f32 {
        self.backward_by(ws, x, y, &|o, e| pinball(taus[o % taus.len()], e), None)
    }

    /// Fills `t` with the transposed kernels of the current weights.
    pub(crate) fn transposes(&self, t: &mut Transposes) {
        let n = self.spec.layers.len();
        t.u_t.resize_with(n, Vec::new);
        t.w_t.resize_with(n, Vec::new);
        let mut input = self.spec.n_inputs;
        for (l, &h) in self.spec.layers.iter().enumerate() {
            let (w, u, _) = self.layer_params(l);
            transpose_into(u, h, 4 * h, &mut t.u_t[l]);
            if l > 0 {
                transpose_into(w, input, 4 * h, &mut t.w_t[l]);
            }
            input = h;
        }
    }

    /// The backward pass for a loss given per output: `per(output index within the row,
    /// prediction − target)` returns the loss term and its slope in the prediction. `shared`:
    /// the transposed kernels of the current weights ([`Network::transposes`]), else the pass
    /// transposes them itself.
    pub(crate) fn backward_by(
        &self,
        ws: &mut Workspace,
        x: &[f32],
        y: &[f32],
        per: &dyn Fn(usize, f32) -> (f64, f32),
        shared: Option<&Transposes>,
    ) -> f32 {
        let mut own = std::mem::take(&mut ws.transposes);
        let kt = match shared {
            Some(t) => t,
            None => {
                self.transposes(&mut own);
                &own
            }
        };
        let loss = self.backward_with_transposes(ws, x, y, per, kt);
        ws.transposes = own;
        loss
    }

    fn backward_with_transposes(
        &self,
        ws: &mut Workspace,
        x: &[f32],
        y: &[f32],
        per: &dyn Fn(usize, f32) -> (f64, f32),
        kt: &Transposes,
    ) -> f32 {
        let (b, t) = (ws.batch, ws.steps);
        let o = self.spec.n_outputs;
        assert_eq!(y.len(), b * o, "y must be [batch, outputs]");
        let n_layers = self.spec.layers.len();
        for (buf, &h) in ws.layers.iter_mut().zip(&self.spec.layers) {
            grow(&mut buf.dz, t * b * 4 * h);
            grow(&mut buf.dh_in, t * b * h);
            grow(&mut buf.dh_rec, b * h);
            grow(&mut buf.dc, b * h);
        }
        let rows = if ws.loss_rows > 0 { ws.loss_rows } else { b };
        let denom = (rows * o) as f32;
        let mut loss = 0f64;
        for (i, ((d, &p), &yv)) in ws.dout[..b * o]
            .iter_mut()
            .zip(&ws.out[..b * o])
            .zip(y)
            .enumerate()
        {
            let (v, slope) = per(i % o, p - yv);
            loss += v;
            *d = slope / denom;
        }
        let loss = (loss / denom as f64) as f32;

        // Dense head.
        let h_top = self.spec.layers[n_layers - 1];
        let dense_k = &self.layout[3 * n_layers];
        let dense_b = &self.layout[3 * n_layers + 1];
        let (wd, _) = self.dense_params();
        {
            let top = &mut ws.layers[n_layers - 1];
            let h_last = &top.h[t * b * h_top..(t + 1) * b * h_top];
            let gk = &mut ws.grad[dense_k.offset..dense_k.offset + dense_k.len()];
            gemm(h_top, b, o, h_last, true, &ws.dout[..b * o], false, gk, 0.0);
            let gb = &mut ws.grad[dense_b.offset..dense_b.offset + o];
            gb.fill(0.0);
            for row in ws.dout[..b * o].chunks_exact(o) {
                for (g, d) in gb.iter_mut().zip(row) {
                    *g += d;
                }
            }
            if self.spec.step_inputs > 0 {
                let ps = &self.layout[3 * n_layers + 2];
                let (e, p, k) = (self.spec.step_inputs, self.spec.per_step(), self.spec.steps);
                let gs = &mut ws.grad[ps.offset..ps.offset + e * p];
                gemm(e, b * k, p, &ws.xf, true, &ws.dout[..b * o], false, gs, 0.0);
            }
            top.dh_in[..(t - 1) * b * h_top].fill(0.0);
            gemm(
                b,
                o,
                h_top,
                &ws.dout[..b * o],
                false,
                wd,
                true,
                &mut top.dh_in[(t - 1) * b * h_top..t * b * h_top],
                0.0,
            );
        }

        // LSTM layers, top to bottom.
        for l in (0..n_layers).rev() {
            let h = self.spec.layers[l];
            let g4 = 4 * h;
            let input_size = if l == 0 {
                self.spec.n_inputs
            } else {
                self.spec.layers[l - 1]
            };
            let (pk, pu, pb) = (
                &self.layout[3 * l],
                &self.layout[3 * l + 1],
                &self.layout[3 * l + 2],
            );
            let (below, rest) = ws.layers.split_at_mut(l);
            let buf = &mut rest[0];
            buf.dh_rec[..b * h].fill(0.0);
            buf.dc[..b * h].fill(0.0);
            for s in (0..t).rev() {
                lstm_backward(
                    &buf.z[s * b * g4..(s + 1) * b * g4],
                    &buf.c[s * b * h..(s + 1) * b * h],
                    &buf.tc[s * b * h..(s + 1) * b * h],
                    &buf.dh_in[s * b * h..(s + 1) * b * h],
                    &buf.dh_rec[..b * h],
                    &mut buf.dc[..b * h],
                    &mut buf.dz[s * b * g4..(s + 1) * b * g4],
                    h,
                );
                if s > 0 {
                    buf.dh_rec[..b * h].fill(0.0);
                    gemm_acc(
                        b,
                        g4,
                        h,
                        &buf.dz[s * b * g4..(s + 1) * b * g4],
                        &kt.u_t[l],
                        &mut buf.dh_rec[..b * h],
                    );
                    if ws.dropped_state {
                        for (d, m) in buf.dh_rec[..b * h].iter_mut().zip(&buf.rec_mask[..b * h]) {
                            *d *= m;
                        }
                    }
                }
            }
            let dz = &buf.dz[..t * b * g4];
            // ∂U = Σ_t h(t−1)ᵀ dz(t): one GEMM over all steps (slot 0 of h is zero).
            let h_prev: &[f32] = if ws.dropped_state {
                &buf.h_drop[..t * b * h]
            } else {
                &buf.h[..t * b * h]
            };
            gemm(
                h,
                t * b,
                g4,
                h_prev,
                true,
                dz,
                false,
                &mut ws.grad[pu.offset..pu.offset + h * g4],
                0.0,
            );
            let input: &[f32] = if ws.dropped_inputs {
                &buf.x_drop[..t * b * input_size]
            } else if l == 0 {
                x
            } else {
                &below[l - 1].h[b * input_size..(t + 1) * b * input_size]
            };
            gemm(
                input_size,
                t * b,
                g4,
                input,
                true,
                dz,
                false,
                &mut ws.grad[pk.offset..pk.offset + input_size * g4],
                0.0,
            );
            let gb = &mut ws.grad[pb.offset..pb.offset + g4];
            gb.fill(0.0);
            for row in dz.chunks_exact(g4) {
                for (g, d) in gb.iter_mut().zip(row) {
                    *g += d;
                }
            }
            if l > 0 {
                let dx = &mut below[l - 1].dh_in[..t * b * input_size];
                dx.fill(0.0);
                gemm_acc(t * b, g4, input_size, dz, &kt.w_t[l], dx);
                if ws.dropped_inputs {
                    let mask = &buf.in_mask[..b * input_size];
                    for chunk in dx.chunks_exact_mut(b * input_size) {
                        for (d, m) in chunk.iter_mut().zip(mask) {
                            *d *= m;
                        }
                    }
                }
            }
        }
        loss
    }
}
