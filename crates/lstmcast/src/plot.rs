//! Plots of a run, as SVG and PNG. PNG text uses the bundled DejaVu Sans font (no system font
//! library needed on a fresh machine).

use crate::data::Panel;
use crate::error::{Error, Result};
use crate::forecaster::{Evaluation, Forecast, PredictionRow, SeriesForecast};
use crate::train::TrainReport;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;
use std::sync::Once;

static FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");
static REGISTER: Once = Once::new();

fn register_font() {
    REGISTER.call_once(|| {
        // The bytes are a valid TrueType font (checked by the plot tests).
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    });
}

/// A named line of (x, y) points.
pub struct Series {
    /// Legend label.
    pub label: String,
    /// Points.
    pub points: Vec<(f64, f64)>,
    /// Line colour.
    pub color: RGBColor,
    /// Draw dots instead of a line.
    pub scatter: bool,
    /// A shaded area instead of a line: `points` is its outline (the lower edge left to right,
    /// then the upper edge right to left).
    pub area: bool,
}

/// A line chart description.
pub struct Chart<'a> {
    /// Title at the top.
    pub title: String,
    /// X axis label.
    pub x_label: &'a str,
    /// Y axis label.
    pub y_label: &'a str,
    /// Lines.
    pub series: Vec<Series>,
    /// An optional vertical marker (x, label).
    pub marker: Option<(f64, String)>,
    /// Formats x tick labels (e.g. row index to timestamp).
    pub x_format: Box<dyn Fn(f64) -> String + 'a>,
    /// Logarithmic y axis.
    pub log_y: bool,
    /// A fixed x range (categorical axes keep half a category of room on each side).
    pub x_range: Option<(f64, f64)>,
}

fn draw<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    c: &Chart,
) -> std::result::Result<(), String> {
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    root.fill(&WHITE).map_err(err)?;
    let pts = c.series.iter().flat_map(|s| s.points.iter());
    let (mut x0, mut x1, mut y0, mut y1) = (
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
    );
    for &(x, y) in pts {
        if !(x.is_finite() && y.is_finite()) || (c.log_y && y <= 0.0) {
            continue;
        }
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    if x0 > x1 {
        (x0, x1, y0, y1) = (0.0, 1.0, 1.0, 2.0);
    }
    if let Some((a, b)) = c.x_range {
        (x0, x1) = (a, b);
    }
    if x1 - x0 < 1e-12 {
        x1 = x0 + 1.0;
    }
    if y1 - y0 < 1e-12 * y1.abs().max(1.0) {
        y1 = y0 + y0.abs().max(1.0) * 0.1;
    }
    let pad = (y1 - y0) * 0.05;
    // Room above the data for the legend (one line per series and the marker), so that it
    // never covers a line: the legend sits in the top band, the data below it.
    let entries = c.series.len() + usize::from(c.marker.is_some());
    let (y_lo, y_hi) = y_axis(y0, y1, pad, entries, c.log_y);
    let mut builder = ChartBuilder::on(&root);
    builder
        .caption(&c.title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(42)
        .y_label_area_size(70);
    let style = |s: &Series| ShapeStyle {
        color: s.color.to_rgba(),
        filled: false,
        stroke_width: 2,
    };
    macro_rules! body {
        ($chart:expr) => {{
            let mut chart = $chart;
            chart
                .configure_mesh()
                .x_desc(c.x_label)
                .y_desc(c.y_label)
                .x_label_formatter(&|x| (c.x_format)(*x))
                .y_label_formatter(&|y| short_number(*y))
                .y_labels(10)
                .x_labels(6)
                .label_style(("sans-serif", 13))
                .draw()
                .map_err(err)?;
            for s in &c.series {
                let st = style(s);
                let pts = s
                    .points
                    .iter()
                    .copied()
                    .filter(|p| p.1.is_finite() && (!c.log_y || p.1 > 0.0));
                if s.area {
                    let fill = s.color.mix(0.18).filled();
                    chart
                        .draw_series(std::iter::once(Polygon::new(pts.collect::<Vec<_>>(), fill)))
                        .map_err(err)?
                        .label(s.label.as_str())
                        .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 18, y + 5)], fill));
                } else if s.scatter {
                    chart
                        .draw_series(pts.map(|p| Circle::new(p, 4, st.filled())))
                        .map_err(err)?
                        .label(s.label.as_str())
                        .legend(move |(x, y)| Circle::new((x + 9, y), 4, st.filled()));
                } else {
                    chart
                        .draw_series(LineSeries::new(pts, st))
                        .map_err(err)?
                        .label(s.label.as_str())
                        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], st));
                }
            }
            if let Some((mx, label)) = &c.marker {
                let (lo, hi) = (y0, y1);
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        vec![(*mx, lo), (*mx, hi)],
                        ShapeStyle {
                            color: BLACK.mix(0.6),
                            filled: false,
                            stroke_width: 1,
                        },
                    )))
                    .map_err(err)?
                    .label(label.as_str())
                    .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], BLACK.mix(0.6)));
            }
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .label_font(("sans-serif", 13))
                .position(SeriesLabelPosition::UpperRight)
                .draw()
                .map_err(err)?;
        }};
    }
    if c.log_y {
        body!(builder
            .build_cartesian_2d(
                x0..x1,
                (y_lo..y_hi)
                    .log_scale()
                    .with_key_points(log_ticks(y_lo, y_hi))
            )
            .map_err(err)?);
    } else {
        body!(builder
            .build_cartesian_2d(x0..x1, y_lo..y_hi)
            .map_err(err)?);
    }
    root.present().map_err(err)?;
    Ok(())
}

/// The y axis for data from `y0` to `y1`: padded, with a band on top tall enough for a legend
/// of `entries` lines (the share of the axis, in its own scale, above the padded data).
fn y_axis(y0: f64, y1: f64, pad: f64, entries: usize, log: bool) -> (f64, f64) {
    let band = legend_band(entries);
    if log {
        let (l0, l1) = ((y0 * 0.9).ln(), (y1 * 1.1).ln());
        (y0 * 0.9, (l1 + (l1 - l0) * band / (1.0 - band)).exp())
    } else {
        (
            y0 - pad,
            y1 + pad + (y1 - y0 + 2.0 * pad) * band / (1.0 - band),
        )
    }
}

/// The share of the plot a legend of `entries` lines takes at the top (about 22 px a line and
/// the box's margins on the 470 px tall plot area of a 540 px chart).
fn legend_band(entries: usize) -> f64 {
    (0.07 * entries as f64 + 0.04).min(0.6)
}

/// Ticks for a log axis from `lo` to `hi`: 1, 2 and 5 times each power of ten in range (every
/// integer multiple when the range spans less than one decade), so that any range has labels.
fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    if !(lo > 0.0 && hi > lo && lo.is_finite() && hi.is_finite()) {
        return vec![];
    }
    let steps: &[f64] = if hi / lo < 10.0 {
        &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]
    } else {
        &[1.0, 2.0, 5.0]
    };
    let mut out = Vec::new();
    let mut p = 10f64.powf(lo.log10().floor());
    while p <= hi {
        for &m in steps {
            let v = m * p;
            if v >= lo && v <= hi {
                out.push(v);
            }
        }
        p *= 10.0;
    }
    out
}

/// A compact tick label: 4 significant digits, scientific outside [1e-3, 1e5).
fn short_number(y: f64) -> String {
    let a = y.abs();
    if a != 0.0 && !(1e-3..1e5).contains(&a) {
        format!("{y:.1e}")
    } else {
        let s = format!("{y:.4}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        if s.is_empty() || s == "-" {
            "0".into()
        } else {
            s.to_string()
        }
    }
}

/// Local row index of every timestamp's text in series `s` (prediction rows name their origin
/// by timestamp).
fn row_of_timestamp(panel: &Panel, s: usize) -> std::collections::HashMap<String, usize> {
    panel
        .series_timestamps(s)
        .iter()
        .enumerate()
        .map(|(i, t)| (panel.format_time(t), i))
        .collect()
}

/// Writes several charts stacked in one `<stem>.svg` and `<stem>.png` in `dir`.
///
/// # Errors
/// [`Error::Plot`] when drawing or writing fails.
pub fn write_charts(dir: &Path, stem: &str, charts: &[Chart]) -> Result<()> {
    if let [one] = charts {
        return write_chart(dir, stem, one);
    }
    register_font();
    let size = (960, 400 * charts.len().max(1) as u32);
    let svg = dir.join(format!("{stem}.svg"));
    let png = dir.join(format!("{stem}.png"));
    let plot_err = |path: &Path| {
        let path = path.to_path_buf();
        move |reason: String| Error::Plot { path, reason }
    };
    let areas = SVGBackend::new(&svg, size).into_drawing_area();
    for (a, c) in areas
        .split_evenly((charts.len(), 1))
        .into_iter()
        .zip(charts)
    {
        draw(a, c).map_err(plot_err(&svg))?;
    }
    let areas = BitMapBackend::new(&png, size).into_drawing_area();
    for (a, c) in areas
        .split_evenly((charts.len(), 1))
        .into_iter()
        .zip(charts)
    {
        draw(a, c).map_err(plot_err(&png))?;
    }
    Ok(())
}

/// Writes `<stem>.svg` and `<stem>.png` in `dir`.
///
/// # Errors
/// [`Error::Plot`] when drawing or writing fails.
pub fn write_chart(dir: &Path, stem: &str, chart: &Chart) -> Result<()> {
    register_font();
    let svg = dir.join(format!("{stem}.svg"));
    draw(SVGBackend::new(&svg, (960, 540)).into_drawing_area(), chart).map_err(|reason| {
        Error::Plot {
            path: svg.clone(),
            reason,
        }
    })?;
    let png = dir.join(format!("{stem}.png"));
    draw(
        BitMapBackend::new(&png, (960, 540)).into_drawing_area(),
        chart,
    )
    .map_err(|reason| Error::Plot {
        path: png.clone(),
        reason,
    })?;
    Ok(())
}

/// The loss chart: training and validation loss per epoch (log scale), best epoch marked.
pub fn loss_chart(report: &TrainReport) -> Chart<'static> {
    let train: Vec<(f64, f64)> = report
        .history
        .iter()
        .map(|r| (r.epoch as f64, r.train_loss))
        .collect();
    let val: Vec<(f64, f64)> = report
        .history
        .iter()
        .filter_map(|r| r.val_loss.map(|v| (r.epoch as f64, v)))
        .collect();
    Chart {
        title: format!("Loss per epoch (best epoch {})", report.best_epoch),
        x_label: "epoch",
        y_label: "MSE (scaled units)",
        series: vec![
            Series {
                label: "train".into(),
                points: train,
                color: RGBColor(31, 119, 180),
                scatter: false,
                area: false,
            },
            Series {
                label: "validation".into(),
                points: val,
                color: RGBColor(255, 127, 14),
                scatter: false,
                area: false,
            },
        ],
        marker: Some((
            report.best_epoch as f64,
            format!("best epoch {}", report.best_epoch),
        )),
        x_format: Box::new(|x| format!("{x:.0}")),
        log_y: true,
        x_range: None,
    }
}

/// The forecast chart of series `s` for target `k`: actual values over the test rows and as
/// many before them, the model's and the baselines' step-1 test predictions, and the forecast
/// past the end.
pub fn forecast_chart<'a>(
    panel: &'a Panel,
    s: usize,
    ev: &Evaluation,
    future: Option<(&SeriesForecast, &[f64])>,
    k: usize,
) -> Chart<'a> {
    let name = panel.names[k].clone();
    let id = panel.ids[s].clone();
    let y = panel.series_column(s, k);
    let times = panel.series_timestamps(s);
    let n = y.len();
    let index_of = row_of_timestamp(panel, s);
    let step1 = |f: &dyn Fn(&PredictionRow) -> f64| -> Vec<(f64, f64)> {
        ev.rows
            .iter()
            .filter(|r| r.step == 1 && r.target == name && r.series == id)
            .filter_map(|r| index_of.get(&r.origin).map(|&i| (i as f64, f(r))))
            .collect()
    };
    let model = step1(&|r| r.predicted);
    let test_start = model.first().map_or(n, |p| p.0 as usize);
    let first = test_start.saturating_sub((n - test_start).max(24));
    let actual: Vec<(f64, f64)> = (first..n).map(|r| (r as f64, y[r])).collect();
    let mut series = vec![
        Series {
            label: "actual".into(),
            points: actual,
            color: RGBColor(40, 40, 40),
            scatter: false,
            area: false,
        },
        Series {
            label: "LSTM (step 1)".into(),
            points: model,
            color: RGBColor(214, 39, 40),
            scatter: false,
            area: false,
        },
        Series {
            label: "naive".into(),
            points: step1(&|r| r.naive),
            color: RGBColor(148, 148, 148),
            scatter: false,
            area: false,
        },
        Series {
            label: "seasonal naive".into(),
            points: step1(&|r| r.seasonal_naive),
            color: RGBColor(44, 160, 44),
            scatter: false,
            area: false,
        },
    ];
    // ETS where the series has a model (every row of it, or none).
    let ets: Vec<(f64, f64)> = ev
        .rows
        .iter()
        .filter(|r| r.step == 1 && r.target == name && r.series == id)
        .filter_map(|r| Some((*index_of.get(&r.origin)? as f64, r.ets?)))
        .collect();
    if !ets.is_empty() {
        // Drawn under the LSTM, which often follows it closely.
        series.insert(
            1,
            Series {
                label: "ETS".into(),
                points: ets,
                color: RGBColor(255, 127, 14),
                scatter: false,
                area: false,
            },
        );
    }
    if let Some((f, levels)) = future {
        // The prediction intervals, widest first (drawn under the forecast line).
        for (i, level) in levels.iter().enumerate().rev() {
            let edge = |hi: bool| -> Vec<(f64, f64)> {
                f.intervals
                    .iter()
                    .enumerate()
                    .filter_map(|(h, step)| {
                        let (lo, up) = step.get(k)?.get(i).copied().flatten()?;
                        Some(((n + h) as f64, if hi { up } else { lo }))
                    })
                    .collect()
            };
            let (lo, mut hi) = (edge(false), edge(true));
            if lo.is_empty() {
                continue;
            }
            hi.reverse();
            series.push(Series {
                label: format!("{level}% interval (conformal)"),
                points: lo.into_iter().chain(hi).collect(),
                color: RGBColor(31, 119, 180),
                scatter: false,
                area: true,
            });
        }
        let mut pts = vec![((n - 1) as f64, y[n - 1])];
        pts.extend(
            f.values
                .iter()
                .enumerate()
                .map(|(h, v)| ((n + h) as f64, v[k])),
        );
        series.push(Series {
            label: "forecast".into(),
            points: pts,
            color: RGBColor(31, 119, 180),
            scatter: false,
            area: false,
        });
    }
    let freq = panel.frequency();
    let last = times[n - 1];
    let title = match &panel.id_name {
        None => format!("{name}: test period and forecast"),
        Some(_) => format!("{name}, series {id}: test period and forecast"),
    };
    Chart {
        title,
        x_label: &panel.time_name,
        y_label: "value",
        series,
        marker: Some((test_start as f64, "test starts".into())),
        x_format: Box::new(move |x| {
            let i = x.round().max(0.0) as usize;
            if i < n {
                panel.format_time(&times[i])
            } else {
                freq.and_then(|f| f.advance(&last, (i - n + 1) as i64))
                    .map(|t| panel.format_time(&t))
                    .unwrap_or_default()
            }
        }),
        log_y: false,
        x_range: None,
    }
}

/// Per-series MASE of the model and both baselines for target `k`, each sorted (an empirical
/// distribution: the share of series at or below a MASE).
pub fn mase_chart(ev: &Evaluation, k: &str) -> Chart<'static> {
    let mut model = Vec::new();
    let mut naive = Vec::new();
    let mut snaive = Vec::new();
    let mut ets = Vec::new();
    if let Some(p) = &ev.panel {
        for scores in p.per_series.values() {
            if let Some(s) = scores.get(k) {
                model.extend(s.model.mase);
                naive.extend(s.naive.mase);
                snaive.extend(s.seasonal_naive.mase);
                ets.extend(s.ets.as_ref().and_then(|e| e.mase));
            }
        }
    }
    let curve = |mut v: Vec<f64>| -> Vec<(f64, f64)> {
        v.sort_by(f64::total_cmp);
        let n = v.len() as f64;
        v.into_iter()
            .enumerate()
            .map(|(i, m)| (m, (i + 1) as f64 / n))
            .collect()
    };
    Chart {
        title: format!(
            "{k}: per-series MASE on the test period ({} series)",
            model.len()
        ),
        x_label: "MASE (lower is better)",
        y_label: "share of series",
        series: vec![
            Series {
                label: "LSTM".into(),
                points: curve(model),
                color: RGBColor(214, 39, 40),
                scatter: false,
                area: false,
            },
            Series {
                label: "naive".into(),
                points: curve(naive),
                color: RGBColor(148, 148, 148),
                scatter: false,
                area: false,
            },
            Series {
                label: "seasonal naive".into(),
                points: curve(snaive),
                color: RGBColor(44, 160, 44),
                scatter: false,
                area: false,
            },
            Series {
                label: "ETS".into(),
                points: curve(ets),
                color: RGBColor(255, 127, 14),
                scatter: false,
                area: false,
            },
        ]
        .into_iter()
        .filter(|s| !s.points.is_empty())
        .collect(),
        marker: Some((1.0, "MASE 1".into())),
        x_format: Box::new(short_number),
        log_y: false,
        x_range: None,
    }
}

/// Writes `forecast.svg/.png`: for a single series, one chart per target; for a panel, the
/// best, median and worst series by the LSTM's MASE on the first target, and `mase.svg/.png`,
/// the distribution of per-series MASE beside the baselines'.
///
/// # Errors
/// [`Error::Plot`] when drawing or writing fails.
pub fn write_forecast_charts(
    dir: &Path,
    panel: &Panel,
    ev: &Evaluation,
    future: &Forecast,
) -> Result<()> {
    let future_of = |s: usize| future.series.iter().find(|f| f.id == panel.ids[s]);
    if panel.id_name.is_none() {
        let charts: Vec<Chart> = (0..panel.n_targets)
            .map(|k| {
                forecast_chart(
                    panel,
                    0,
                    ev,
                    future_of(0).map(|f| (f, &future.levels[..])),
                    k,
                )
            })
            .collect();
        return write_charts(dir, "forecast", &charts);
    }
    let target = panel.names[0].clone();
    let mut picked: Vec<(usize, &str)> = Vec::new();
    if let Some(t) = ev.panel.as_ref().and_then(|p| p.targets.get(&target)) {
        for (sm, rank) in [
            (&t.best, "best"),
            (&t.median, "median"),
            (&t.worst, "worst"),
        ] {
            let Some(sm) = sm else { continue };
            if let Some(s) = panel.series_index(&sm.series) {
                if !picked.iter().any(|(p, _)| *p == s) {
                    picked.push((s, rank));
                }
            }
        }
    }
    if picked.is_empty() {
        picked.push((0, "first"));
    }
    let charts: Vec<Chart> = picked
        .iter()
        .map(|&(s, rank)| {
            let mut c = forecast_chart(
                panel,
                s,
                ev,
                future_of(s).map(|f| (f, &future.levels[..])),
                0,
            );
            c.title = format!(
                "{} ({rank} of {} series by MASE)",
                c.title,
                panel.n_series()
            );
            c
        })
        .collect();
    write_charts(dir, "forecast", &charts)?;
    write_chart(dir, "mase", &mase_chart(ev, &target))
}

/// Colours of the successive-halving rungs, lowest first.
const RUNG_COLORS: [RGBColor; 5] = [
    RGBColor(158, 202, 225),
    RGBColor(66, 146, 198),
    RGBColor(8, 81, 156),
    RGBColor(8, 48, 107),
    RGBColor(0, 0, 0),
];

/// One scatter series per rung a trial stopped at (scores after 5 epochs and after 100 are not
/// the same kind of number), with `x` placing each trial.
fn rung_series(
    r: &crate::tune::TuneResult,
    x: &dyn Fn(&crate::tune::TrialResult) -> f64,
) -> Vec<Series> {
    (0..r.rungs.len())
        .filter_map(|k| {
            let pts: Vec<(f64, f64)> = r
                .trials
                .iter()
                .filter(|t| t.rung == k)
                .filter_map(|t| t.val_mse.map(|v| (x(t), v)))
                .collect();
            (!pts.is_empty()).then(|| Series {
                label: format!("stopped after rung {} ({} epochs)", k + 1, r.rungs[k]),
                points: pts,
                color: RUNG_COLORS[k.min(RUNG_COLORS.len() - 1)],
                scatter: true,
                area: false,
            })
        })
        .collect()
}

/// Tuning: every trial's validation score in sampling order, by the rung it reached, and the
/// best so far.
pub fn tune_trials_chart(r: &crate::tune::TuneResult) -> Chart<'static> {
    let mut best = f64::INFINITY;
    let best_so_far = r
        .trials
        .iter()
        .map(|t| {
            best = best.min(t.val_mse.unwrap_or(f64::INFINITY));
            (t.trial as f64, best)
        })
        .collect();
    let mut series = rung_series(r, &|t| t.trial as f64);
    series.push(Series {
        label: "best so far".into(),
        points: best_so_far,
        color: RGBColor(214, 39, 40),
        scatter: false,
        area: false,
    });
    Chart {
        title: "Tuning: validation MSE per trial (scaled units)".into(),
        x_label: "trial",
        y_label: "validation MSE",
        series,
        marker: None,
        x_format: Box::new(|x| format!("{x:.0}")),
        log_y: true,
        x_range: None,
    }
}

/// The index of a categorical x position, when `x` sits on one (tick labels between categories
/// stay empty).
fn category(x: f64, n: usize) -> Option<usize> {
    let k = x.round();
    ((x - k).abs() < 0.01 && k >= 0.0 && (k as usize) < n).then_some(k as usize)
}

/// Tuning: validation score against one parameter (one of [`crate::tune::TrialParams::NAMES`]);
/// choices without a natural
/// number (layers, normalize) are placed by their position in the search space.
pub fn tune_param_chart(r: &crate::tune::TuneResult, param: &'static str) -> Chart<'static> {
    let space = r.space.clone();
    let x_of = |p: &crate::tune::TrialParams| -> f64 {
        match param {
            "lookback" => p.lookback as f64,
            "layers" => space
                .layers
                .iter()
                .position(|l| *l == p.layers)
                .unwrap_or(0) as f64,
            "dropout" => p.dropout as f64,
            "learning_rate" => p.learning_rate.log10(),
            "batch_size" => p.batch_size as f64,
            "calendar" => space
                .calendar
                .iter()
                .position(|c| *c == p.calendar)
                .unwrap_or(0) as f64,
            _ => space
                .normalize
                .iter()
                .position(|m| *m == p.normalize)
                .unwrap_or(0) as f64,
        }
    };
    let series = rung_series(r, &|t| x_of(&t.params));
    let x_format: Box<dyn Fn(f64) -> String> = match param {
        "layers" => Box::new(move |x| {
            category(x, space.layers.len())
                .map(|k| {
                    let units: Vec<String> =
                        space.layers[k].iter().map(|u| u.to_string()).collect();
                    units.join("-")
                })
                .unwrap_or_default()
        }),
        "normalize" => Box::new(move |x| {
            category(x, space.normalize.len())
                .map(|k| space.normalize[k].name().to_string())
                .unwrap_or_default()
        }),
        "calendar" => Box::new(move |x| {
            category(x, space.calendar.len())
                .map(|k| String::from(space.calendar[k].clone()))
                .unwrap_or_default()
        }),
        "learning_rate" => Box::new(|x| format!("{:.0e}", 10f64.powf(x))),
        _ => Box::new(short_number),
    };
    Chart {
        title: format!("Tuning: validation MSE against {param}"),
        x_label: param,
        y_label: "validation MSE",
        series,
        marker: None,
        x_format,
        log_y: true,
        x_range: match param {
            "layers" => Some((-0.5, r.space.layers.len() as f64 - 0.5)),
            "normalize" => Some((-0.5, r.space.normalize.len() as f64 - 0.5)),
            "calendar" => Some((-0.5, r.space.calendar.len() as f64 - 0.5)),
            _ => None,
        },
    }
}

/// Backtest: the actual values of series `s` over the folds and each fold's step-1 predictions
/// for target `k`.
pub fn backtest_chart<'a>(
    panel: &'a Panel,
    bt: &crate::backtest::Backtest,
    s: usize,
    k: usize,
) -> Chart<'a> {
    const LABELS: [&str; 2] = ["LSTM (step 1), odd folds", "LSTM (step 1), even folds"];
    const COLORS: [RGBColor; 2] = [RGBColor(214, 39, 40), RGBColor(255, 127, 14)];
    let name = panel.names[k].clone();
    let id = panel.ids[s].clone();
    let index_of = row_of_timestamp(panel, s);
    let y = panel.series_column(s, k);
    let times = panel.series_timestamps(s);
    let row = |origin: &str| index_of.get(origin).copied();
    let fold_start = |f: &crate::backtest::Fold| {
        f.evaluation
            .rows
            .iter()
            .filter(|r| r.series == id)
            .filter_map(|r| row(&r.origin))
            .min()
    };
    let first_origin = bt.folds.iter().find_map(fold_start).unwrap_or(0);
    let val_len = bt.folds[0].rows.val.len();
    let first = first_origin.saturating_sub(val_len);
    let mut series = vec![Series {
        label: "actual".into(),
        points: (first..y.len()).map(|r| (r as f64, y[r])).collect(),
        color: RGBColor(40, 40, 40),
        scatter: false,
        area: false,
    }];
    for parity in 0..2 {
        let pts: Vec<(f64, f64)> = bt
            .folds
            .iter()
            .skip(parity)
            .step_by(2)
            .flat_map(|f| {
                f.evaluation
                    .rows
                    .iter()
                    .filter(|r| r.step == 1 && r.target == name && r.series == id)
                    .filter_map(|r| row(&r.origin).map(|i| (i as f64, r.predicted)))
            })
            .collect();
        if !pts.is_empty() {
            series.push(Series {
                label: LABELS[parity].into(),
                points: pts,
                color: COLORS[parity],
                scatter: true,
                area: false,
            });
        }
    }
    let last = y.len() - 1;
    let title = match &panel.id_name {
        None => format!("{name}: walk-forward backtest, {} folds", bt.folds.len()),
        Some(_) => format!(
            "{name}, series {id}: walk-forward backtest, {} folds",
            bt.folds.len()
        ),
    };
    Chart {
        title,
        x_label: &panel.time_name,
        y_label: "value",
        series,
        marker: Some((first_origin as f64, "first origin".into())),
        x_format: Box::new(move |x| {
            let i = (x.round().max(0.0) as usize).min(last);
            panel.format_time(&times[i])
        }),
        log_y: false,
        x_range: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::EpochRecord;

    #[test]
    fn the_legend_band_is_above_every_data_point() {
        for (entries, log) in [(2, false), (6, false), (3, true)] {
            let (y0, y1, pad) = (2.0, 10.0, 0.4);
            let (lo, hi) = y_axis(y0, y1, pad, entries, log);
            // The data's top, as a share of the axis from the bottom (in the axis' own scale).
            let top = if log {
                ((y1 * 1.1).ln() - lo.ln()) / (hi.ln() - lo.ln())
            } else {
                (y1 + pad - lo) / (hi - lo)
            };
            assert!(
                (1.0 - top) >= legend_band(entries) - 1e-9,
                "{entries} entries, log {log}: data reaches {top:.3} of the axis"
            );
        }
        // Ticks on a log axis: 1-2-5 over decades, every integer within one.
        assert_eq!(log_ticks(0.5, 30.0), vec![0.5, 1.0, 2.0, 5.0, 10.0, 20.0]);
        let t = log_ticks(0.11, 0.35);
        assert!(
            t.len() == 2 && (t[0] - 0.2).abs() < 1e-12 && (t[1] - 0.3).abs() < 1e-12,
            "{t:?}"
        );
    }

    #[test]
    fn writes_svg_and_png_with_the_bundled_font() {
        let dir = tempfile::tempdir().unwrap();
        let history = (1..=5)
            .map(|e| EpochRecord {
                epoch: e,
                train_loss: 1.0 / e as f64,
                val_loss: Some(1.2 / e as f64),
                learning_rate: 1e-3,
                best_epoch: e,
                seconds: 0.1,
            })
            .collect();
        let report = TrainReport {
            history,
            best_epoch: 5,
            best_val_loss: Some(0.24),
            stopped_early: false,
            diverged: None,
            seconds: 0.5,
        };
        write_chart(dir.path(), "loss", &loss_chart(&report)).unwrap();
        let svg = std::fs::read_to_string(dir.path().join("loss.svg")).unwrap();
        assert!(svg.contains("<svg") && svg.contains("validation") && svg.contains("best epoch 5"));
        let png = std::fs::read(dir.path().join("loss.png")).unwrap();
        assert_eq!(&png[1..4], b"PNG");
        assert!(png.len() > 10_000, "a rendered chart, not an empty image");
    }
}
