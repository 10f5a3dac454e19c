//! The one option table: every option a user sets by name (the CLI's flags, with `-`; Python's
//! keyword arguments, with `_`), the kind of value it takes, and where it lands in a
//! [`ForecasterConfig`]. The CLI and the Python module both set options through
//! [`ForecasterConfig::set`], so a name, a parse rule and a message exist once.

use super::{ForecasterConfig, Refit, Strategy};
use crate::covariates::Calendar;
use crate::data::Fill;
use crate::engine::{Device, Loss};
use crate::error::{Error, Result};
use crate::normalize::Normalize;
use crate::scale::{ScalerKind, ScalerScope};
use crate::split::SplitSpec;
use crate::train::Sampling;
use crate::transform::Transform;

/// The kind of value an option takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A whole number (`--lookback 24`).
    Whole,
    /// A number (`--dropout 0.1`).
    Number,
    /// Whole numbers, or one (`--layers 64,32`).
    Wholes,
    /// Numbers, or their text separated by commas (`--intervals 80,95`).
    Numbers,
    /// A name or text (`--normalize auto`).
    Text,
}

/// One option: its name (with `_`) and its kind; `expected` says what a value must be, for a
/// message naming a wrong one.
#[derive(Debug, Clone, Copy)]
pub struct OptionSpec {
    /// The name, with `_` between words (the CLI's flag has `-`).
    pub name: &'static str,
    /// The kind of value.
    pub kind: Kind,
    /// What a value must be, e.g. "a whole number".
    pub expected: &'static str,
}

const fn spec(name: &'static str, kind: Kind) -> OptionSpec {
    OptionSpec {
        name,
        kind,
        expected: match kind {
            Kind::Whole => "a whole number",
            Kind::Number => "a number",
            Kind::Wholes => "a whole number or a list of them",
            Kind::Numbers => "a list of numbers",
            Kind::Text => "text",
        },
    }
}

const fn listed(name: &'static str, expected: &'static str) -> OptionSpec {
    OptionSpec {
        name,
        kind: Kind::Numbers,
        expected,
    }
}

/// Every option, in the order the CLI applies its flags.
pub const OPTIONS: &[OptionSpec] = &[
    spec("lookback", Kind::Whole),
    spec("horizon", Kind::Whole),
    spec("layers", Kind::Wholes),
    spec("dropout", Kind::Number),
    spec("recurrent_dropout", Kind::Number),
    spec("ensemble", Kind::Whole),
    spec("epochs", Kind::Whole),
    spec("batch_size", Kind::Whole),
    spec("learning_rate", Kind::Number),
    spec("patience", Kind::Whole),
    spec("min_delta", Kind::Number),
    spec("warmup", Kind::Whole),
    spec("reduce_lr_patience", Kind::Whole),
    spec("reduce_lr_factor", Kind::Number),
    spec("clip_norm", Kind::Number),
    spec("seed", Kind::Whole),
    spec("season", Kind::Whole),
    spec("normalize", Kind::Text),
    spec("transform", Kind::Text),
    spec("scaler", Kind::Text),
    spec("scaler_scope", Kind::Text),
    spec("sampling", Kind::Text),
    listed("intervals", "a list of levels in percent, or None"),
    spec("intervals_window", Kind::Whole),
    spec("intervals_rate", Kind::Number),
    listed("quantiles", "a list of numbers in (0, 1)"),
    spec("loss", Kind::Text),
    spec("strategy", Kind::Text),
    spec("calendar", Kind::Text),
    spec("refit", Kind::Text),
    spec("per_series", Kind::Text),
    spec("combine", Kind::Text),
    spec("split", Kind::Text),
    spec("split_at", Kind::Text),
    spec("split_last", Kind::Text),
    spec("device", Kind::Text),
    spec("fill", Kind::Text),
    spec("fill_gaps", Kind::Text),
    spec("freq", Kind::Text),
    spec("time_format", Kind::Text),
];

/// The option called `name`, if there is one.
pub fn option(name: &str) -> Option<&'static OptionSpec> {
    OPTIONS.iter().find(|o| o.name == name)
}

/// An unknown option's error, listing the options.
pub fn unknown(name: &str) -> Error {
    let names: Vec<&str> = OPTIONS.iter().map(|o| o.name).collect();
    Error::config(
        name,
        format!("not an option; the options are {}", names.join(", ")),
    )
}

/// A value for one option, as a flag or a keyword argument carries it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A whole number.
    Whole(u64),
    /// A number.
    Number(f64),
    /// Whole numbers.
    Wholes(Vec<usize>),
    /// Numbers.
    Numbers(Vec<f64>),
    /// Text: a name, or numbers separated by commas for a list option.
    Text(String),
}

impl Value {
    fn whole(&self, o: &OptionSpec) -> Result<u64> {
        match self {
            Value::Whole(v) => Ok(*v),
            _ => Err(self.wrong(o)),
        }
    }

    fn usize(&self, o: &OptionSpec) -> Result<usize> {
        usize::try_from(self.whole(o)?).map_err(|_| self.wrong(o))
    }

    fn number(&self, o: &OptionSpec) -> Result<f64> {
        match self {
            Value::Number(v) => Ok(*v),
            Value::Whole(v) => Ok(*v as f64),
            _ => Err(self.wrong(o)),
        }
    }

    fn text(&self, o: &OptionSpec) -> Result<&str> {
        match self {
            Value::Text(t) => Ok(t),
            _ => Err(self.wrong(o)),
        }
    }

    fn wrong(&self, o: &OptionSpec) -> Error {
        Error::config(o.name, format!("{self:?} is not {}", o.expected))
    }
}

/// `--intervals`: `none`, or levels in percent separated by commas.
fn levels(text: &str) -> Result<Vec<f64>> {
    if text.trim() == "none" {
        return Ok(Vec::new());
    }
    numbers(text, "intervals", "80,95, or none")
}

/// Numbers separated by commas for the option `what`; `example` shows the form.
fn numbers(text: &str, what: &str, example: &str) -> Result<Vec<f64>> {
    text.split(',')
        .map(|p| {
            p.trim().parse::<f64>().map_err(|_| {
                Error::config(
                    what,
                    format!(
                        "'{}' in '{text}' is not a number; give them like {example}",
                        p.trim()
                    ),
                )
            })
        })
        .collect()
}

impl ForecasterConfig {
    /// Sets the option `name` (see [`OPTIONS`]) to `value`, as the CLI's flag or Python's keyword
    /// argument of that name does. Check the whole configuration with
    /// [`ForecasterConfig::validate`] once every option is set.
    ///
    /// # Errors
    /// An unknown name, a value of the wrong kind, or one its parser refuses.
    pub fn set(&mut self, name: &str, value: Value) -> Result<()> {
        let o = option(name).ok_or_else(|| unknown(name))?;
        let v = &value;
        match o.name {
            "lookback" => self.lookback = v.usize(o)?,
            "horizon" => self.horizon = v.usize(o)?,
            "layers" => {
                self.model.layers = match v {
                    Value::Wholes(l) => l.clone(),
                    _ => vec![v.usize(o)?],
                }
            }
            "dropout" => self.model.dropout = v.number(o)? as f32,
            "recurrent_dropout" => self.model.recurrent_dropout = v.number(o)? as f32,
            "ensemble" => self.model.ensemble = v.usize(o)?,
            "epochs" => self.training.epochs = v.usize(o)?,
            "batch_size" => self.training.batch_size = v.usize(o)?,
            "learning_rate" => self.training.learning_rate = v.number(o)?,
            "patience" => self.training.patience = v.usize(o)?,
            "min_delta" => self.training.min_delta = v.number(o)?,
            "warmup" => self.training.warmup = v.usize(o)?,
            "reduce_lr_patience" => self.training.reduce_lr_patience = v.usize(o)?,
            "reduce_lr_factor" => self.training.reduce_lr_factor = v.number(o)?,
            "clip_norm" => self.training.clip_norm = Some(v.number(o)?),
            "seed" => self.seed = v.whole(o)?,
            "season" => self.season = Some(v.usize(o)?),
            "normalize" => self.normalize = v.text(o)?.parse::<Normalize>()?,
            "transform" => self.transform = v.text(o)?.parse::<Transform>()?,
            "scaler" => self.scaler = v.text(o)?.parse::<ScalerKind>()?,
            "scaler_scope" => self.scaler_scope = v.text(o)?.parse::<ScalerScope>()?,
            "sampling" => self.training.sampling = v.text(o)?.parse::<Sampling>()?,
            "intervals" => {
                self.intervals = match v {
                    Value::Text(t) => levels(t)?,
                    Value::Numbers(l) => l.clone(),
                    _ => return Err(v.wrong(o)),
                }
            }
            "intervals_window" => self.intervals_window = v.usize(o)?,
            "intervals_rate" => self.intervals_rate = v.number(o)?,
            "quantiles" => {
                self.training.quantiles = match v {
                    Value::Text(t) => numbers(t, "quantiles", "0.1,0.5,0.9")?,
                    Value::Numbers(l) => l.clone(),
                    _ => return Err(v.wrong(o)),
                }
            }
            "loss" => self.training.loss = Some(v.text(o)?.parse::<Loss>()?),
            "strategy" => self.strategy = v.text(o)?.parse::<Strategy>()?,
            "calendar" => self.calendar = v.text(o)?.parse::<Calendar>()?,
            "refit" => self.refit = v.text(o)?.parse::<Refit>()?,
            "per_series" => self.per_series = v.text(o)?.parse::<super::PerSeries>()?,
            "combine" => self.combine = v.text(o)?.parse::<super::Combine>()?,
            "split" => self.split = v.text(o)?.parse::<SplitSpec>()?,
            "split_at" => {
                self.split.at = Some(SplitSpec::parse_at(v.text(o)?)?);
                self.split.last = None;
            }
            "split_last" => {
                self.split.last = Some(SplitSpec::parse_last(v.text(o)?)?);
                self.split.at = None;
            }
            // Checked only: the device is chosen per run, not stored.
            "device" => {
                v.text(o)?.parse::<Device>()?.check()?;
            }
            "fill" => self.data.fill = Fill::parse(v.text(o)?, "fill")?,
            "fill_gaps" => self.data.fill_gaps = Fill::parse(v.text(o)?, "fill-gaps")?,
            "freq" => self.data.freq = Some(v.text(o)?.to_string()),
            "time_format" => self.data.time_format = Some(v.text(o)?.to_string()),
            other => unreachable!("option {other} is in OPTIONS but not set here"),
        }
        Ok(())
    }

    /// Leaves the option `name` at its default, except `intervals`, which it clears (Python's
    /// `intervals=None`: no intervals).
    ///
    /// # Errors
    /// An unknown name.
    pub fn unset(&mut self, name: &str) -> Result<()> {
        option(name).ok_or_else(|| unknown(name))?;
        if name == "intervals" {
            self.intervals.clear();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_option_sets_its_field_and_wrong_kinds_are_refused() {
        let mut c = ForecasterConfig::default();
        c.set("lookback", Value::Whole(36)).unwrap();
        c.set("layers", Value::Whole(16)).unwrap();
        assert_eq!((c.lookback, c.model.layers.clone()), (36, vec![16]));
        c.set("layers", Value::Wholes(vec![64, 32])).unwrap();
        c.set("intervals", Value::Text("90".into())).unwrap();
        c.set("dropout", Value::Number(0.25)).unwrap();
        assert_eq!(c.model.layers, vec![64, 32]);
        assert_eq!(c.intervals, vec![90.0]);
        assert_eq!(c.model.dropout, 0.25);
        c.set("intervals", Value::Text("none".into())).unwrap();
        assert!(c.intervals.is_empty());
        let e = c.set("lookback", Value::Text("x".into())).unwrap_err();
        assert!(e.to_string().contains("lookback"), "{e}");
        let e = c.set("intervals", Value::Text("80,x".into())).unwrap_err();
        assert!(
            e.to_string().contains("'x' in '80,x' is not a number"),
            "{e}"
        );
        let e = c.set("lookbak", Value::Whole(3)).unwrap_err();
        assert!(e.to_string().contains("not an option"), "{e}");
        // Every name in the table has a field: none reaches the `unreachable!`.
        for o in OPTIONS {
            let v = match o.kind {
                Kind::Whole => Value::Whole(1),
                Kind::Number => Value::Number(0.5),
                Kind::Wholes => Value::Wholes(vec![8]),
                Kind::Numbers => Value::Numbers(vec![0.5]),
                Kind::Text => Value::Text("?".into()),
            };
            let _ = ForecasterConfig::default().set(o.name, v);
        }
    }
}
