//! `lstmcast._native`: the Python package's bridge to the library. It stays thin: data frames
//! arrive as columns (numpy arrays, or lists for text) and become a [`Frame`] that the library's
//! own loader reads, keyword arguments become a [`ForecasterConfig`] through the library's own
//! parsers, and results leave as the CLI's own CSV and JSON texts (`forecast.csv`,
//! `predictions.csv`, `metrics.json`, `backtest.csv`, `trials.csv`), so that Python and the CLI
//! give the same numbers by construction. The frame handling, the column names NeuralForecast
//! users know, and Ray live in the Python package (`python/lstmcast`).

use lstmcast::backtest::{backtest, backtest_on, BacktestOptions, Fold, Refit, TrainWindow};
use lstmcast::config::options::{self, Kind, Value};
use lstmcast::config::Validated;
use lstmcast::covariates::{Covariates, StaticTable};
use lstmcast::data::{load_frame, load_future_frame, Frame};
use lstmcast::forecaster::{FitControl, FitOutcome, FitProgress};
use lstmcast::tune::{TuneResult, TuneSpace};
use lstmcast::{
    report, store, DataSource, ForecasterConfig, LoadOptions, Panel, TrainedForecaster, TrainingRun,
};
use numpy::PyReadonlyArray1;
use pyo3::create_exception;
use pyo3::exceptions::{PyKeyboardInterrupt, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};
use std::borrow::Cow;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

create_exception!(
    lstmcast,
    LstmcastError,
    PyValueError,
    "An lstmcast error: bad data, a bad option or a model that does not fit the data. The message is the one the CLI prints after `error: `."
);

fn err(e: impl std::fmt::Display) -> PyErr {
    LstmcastError::new_err(e.to_string())
}

/// Text, or a list of texts joined by commas (`layers=[64, 32]` as `--layers 64,32`).
fn text_of(v: &Bound<'_, PyAny>) -> PyResult<String> {
    if let Ok(s) = v.extract::<String>() {
        return Ok(s);
    }
    if let Ok(items) = v.extract::<Vec<Bound<'_, PyAny>>>() {
        let parts: Vec<String> = items
            .iter()
            .map(|i| i.str().map(|s| s.to_string()))
            .collect::<PyResult<_>>()?;
        return Ok(parts.join(","));
    }
    Ok(v.str()?.to_string())
}

fn bad_value(key: &str, v: &Bound<'_, PyAny>, expected: &str) -> PyErr {
    err(format!(
        "invalid configuration: {key}: {} is not {expected}",
        v.repr().map(|r| r.to_string()).unwrap_or_default()
    ))
}

fn number<'py, T: FromPyObjectOwned<'py>>(
    key: &str,
    v: &Bound<'py, PyAny>,
    expected: &str,
) -> PyResult<T> {
    v.extract::<T>().map_err(|_| bad_value(key, v, expected))
}

/// A configuration from the defaults and keyword arguments (`None` means the default, except
/// `intervals=None`: no intervals), validated as the CLI validates its flags.
#[pyfunction]
#[pyo3(signature = (**kwargs))]
fn config(kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<String> {
    let c = config_of(kwargs)?;
    serde_json::to_string(&c).map_err(err)
}

fn config_of(kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<ForecasterConfig> {
    let mut c = ForecasterConfig::default();
    let Some(kw) = kwargs else {
        return Ok(c);
    };
    for (k, v) in kw.iter() {
        let key: String = k.extract()?;
        if v.is_none() {
            c.unset(&key).map_err(err)?;
            continue;
        }
        // The library's one option table (the CLI's flags) says what each option takes.
        let o = options::option(&key).ok_or_else(|| err(options::unknown(&key)))?;
        let v = &v;
        let value = match o.kind {
            Kind::Whole => Value::Whole(number(&key, v, o.expected)?),
            Kind::Number => Value::Number(number(&key, v, o.expected)?),
            Kind::Wholes => match v.extract::<u64>() {
                Ok(n) => Value::Whole(n),
                Err(_) => Value::Wholes(number(&key, v, o.expected)?),
            },
            Kind::Numbers => Value::Numbers(number(&key, v, o.expected)?),
            Kind::Text => Value::Text(text_of(v)?),
        };
        c.set(&key, value).map_err(err)?;
    }
    c.validate().map_err(err)?;
    Ok(c)
}

/// A frame's columns as text cells, the way a CSV file would hold them: numbers in their
/// shortest form that reads back to the same bits, datetimes as ISO 8601 (a date alone when
/// every value is midnight), missing values empty. `kinds`: `f` float64, `i` int64, `t`
/// datetime64[ns] as int64 (NaT: the smallest int64), `s` a list of str or None.
fn frame_of(
    name: &str,
    header: Vec<String>,
    kinds: Vec<String>,
    columns: &Bound<'_, PyList>,
) -> PyResult<Frame> {
    let mut out = Vec::with_capacity(columns.len());
    for (c, (kind, col)) in kinds.iter().zip(columns.iter()).enumerate() {
        let cells: Vec<String> = match kind.as_str() {
            "f" => {
                let a: PyReadonlyArray1<f64> = col.extract()?;
                let a = a.as_array();
                a.iter()
                    .map(|v| {
                        if v.is_nan() {
                            String::new()
                        } else {
                            v.to_string()
                        }
                    })
                    .collect()
            }
            "i" => {
                let a: PyReadonlyArray1<i64> = col.extract()?;
                a.as_array().iter().map(i64::to_string).collect()
            }
            "t" => {
                let a: PyReadonlyArray1<i64> = col.extract()?;
                datetimes(a.as_array().iter().copied(), name, &header[c])?
            }
            "s" => {
                let v: Vec<Option<String>> = col.extract()?;
                v.into_iter().map(Option::unwrap_or_default).collect()
            }
            other => {
                return Err(PyValueError::new_err(format!(
                    "unknown column kind {other}"
                )))
            }
        };
        out.push(cells);
    }
    Ok(Frame {
        name: name.to_string(),
        header,
        columns: out,
    })
}

fn datetimes(
    ns: impl Iterator<Item = i64> + Clone,
    name: &str,
    col: &str,
) -> PyResult<Vec<String>> {
    const NAT: i64 = i64::MIN;
    let day = 86_400_000_000_000i64;
    let dates_only = ns.clone().all(|v| v == NAT || v.rem_euclid(day) == 0);
    let whole_seconds = ns
        .clone()
        .all(|v| v == NAT || v.rem_euclid(1_000_000_000) == 0);
    ns.map(|v| {
        if v == NAT {
            return Ok(String::new());
        }
        let t = chrono::DateTime::from_timestamp(
            v.div_euclid(1_000_000_000),
            v.rem_euclid(1_000_000_000) as u32,
        )
        .ok_or_else(|| {
            err(format!(
                "{name}: column '{col}': {v} ns is out of range for a time"
            ))
        })?
        .naive_utc();
        Ok(if dates_only {
            t.format("%Y-%m-%d").to_string()
        } else if whole_seconds {
            t.format("%Y-%m-%d %H:%M:%S").to_string()
        } else {
            t.format("%Y-%m-%d %H:%M:%S%.f").to_string()
        })
    })
    .collect()
}

/// A frame as the Python package hands it over: `(name, header, kinds, columns)`.
type FrameArgs<'py> = (String, Vec<String>, Vec<String>, Bound<'py, PyList>);

fn frame(args: &FrameArgs<'_>) -> PyResult<Frame> {
    frame_of(&args.0, args.1.clone(), args.2.clone(), &args.3)
}

/// Raised while a call of this module is being interrupted (Ctrl-C): what Python code that the
/// call runs (the Ray task loops of `lstmcast.ray`) polls through [`interrupted`].
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Whether the running lstmcast call was interrupted (Ctrl-C): Python code it calls back (a Ray
/// scheduling loop) stops waiting when it is.
#[pyfunction]
fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::Relaxed)
}

/// Runs `work` on a thread of its own while this one waits with the GIL released, checking for
/// Ctrl-C (and any other signal handler's exception) every 50 ms: on one, `stop` is raised, the
/// work ends after its current batch, and the handler's exception is returned.
fn interruptible<T: Send>(
    py: Python<'_>,
    stop: &AtomicBool,
    work: impl FnOnce() -> T + Send,
) -> PyResult<T> {
    INTERRUPTED.store(false, Ordering::Relaxed);
    let done = AtomicBool::new(false);
    let mut signal: Option<PyErr> = None;
    let out = std::thread::scope(|s| {
        let h = s.spawn(|| {
            let r = work();
            done.store(true, Ordering::Release);
            r
        });
        while !done.load(Ordering::Acquire) {
            py.detach(|| {
                for _ in 0..10 {
                    if done.load(Ordering::Acquire) {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
            });
            if signal.is_none() {
                if let Err(e) = py.check_signals() {
                    stop.store(true, Ordering::Relaxed);
                    INTERRUPTED.store(true, Ordering::Relaxed);
                    signal = Some(e);
                }
            }
        }
        py.detach(|| h.join())
    });
    // The work (and any Python it called back) has ended: the flag is for it only.
    INTERRUPTED.store(false, Ordering::Relaxed);
    if let Some(e) = signal {
        return Err(e);
    }
    out.map_err(|_| PyRuntimeError::new_err("lstmcast panicked; this is a bug, please report it"))
}

/// The history (and future rows) of a frame, with the static values of `statics` (a frame
/// with one row per series) joined when given: what `lstmcast train` does with `--data` and
/// `--static-data`. Runs with the GIL released; errors are the CLI's.
fn load(
    py: Python<'_>,
    data: &FrameArgs<'_>,
    opts: &LoadOptions,
    statics: Option<&FrameArgs<'_>>,
    specs: Option<&[lstmcast::covariates::StaticColumn]>,
) -> PyResult<(Panel, Option<Panel>)> {
    let data = frame(data)?;
    let statics = statics.map(frame).transpose()?;
    py.detach(|| -> lstmcast::Result<_> {
        let (mut panel, future) = load_frame(&data, opts)?;
        if let Some(st) = &statics {
            panel = StaticTable::from_frame(st, opts.id_col.as_deref())?.join(&panel, specs)?;
        }
        Ok((panel, future))
    })
    .map_err(err)
}

/// The data options of a configuration: `data` is a JSON object of [`LoadOptions`] fields.
fn with_data(cfg_json: &str, data_json: &str) -> PyResult<Validated> {
    let mut cfg: ForecasterConfig = serde_json::from_str(cfg_json).map_err(err)?;
    cfg.data = serde_json::from_str(data_json).map_err(err)?;
    cfg.validated().map_err(err)
}

/// A trained model (a [`TrainedForecaster`]).
#[pyclass(module = "lstmcast._native")]
struct Model {
    inner: TrainedForecaster,
}

/// Trains as `lstmcast train` does: the configuration `cfg_json` (from [`config`]) with the
/// data options `data_json`, on `threads` threads (default: every core). `progress` is called
/// after every epoch with a dict. Returns the model; the GIL is released while it trains, and
/// Ctrl-C stops it after the current batch (raising KeyboardInterrupt).
#[pyfunction]
#[pyo3(signature = (cfg_json, data_json, data, threads=None, progress=None, statics=None, checkpoint=None))]
#[allow(clippy::too_many_arguments)]
fn fit(
    py: Python<'_>,
    cfg_json: &str,
    data_json: &str,
    data: FrameArgs<'_>,
    threads: Option<usize>,
    progress: Option<Py<PyAny>>,
    statics: Option<FrameArgs<'_>>,
    checkpoint: Option<PathBuf>,
) -> PyResult<Model> {
    let cfg = with_data(cfg_json, data_json)?;
    let (ts, future) = load(py, &data, &cfg.data, statics.as_ref(), None)?;
    let split = cfg.split.resolve(&ts).map_err(err)?;
    // A run folder with a checkpoint after every epoch, as `lstmcast train` keeps: a folder that
    // holds an interrupted training of the same frame and options is continued.
    let mut run = match &checkpoint {
        None => None,
        Some(dir) if dir.join(store::CHECKPOINT_FILE).is_file() => {
            let run = TrainingRun::open(dir).map_err(err)?;
            run.check_same(&cfg, DataSource::Frame(&ts)).map_err(err)?;
            Some(run)
        }
        Some(dir) => {
            Some(TrainingRun::create(dir, &cfg, DataSource::Frame(&ts), false).map_err(err)?)
        }
    };
    let stop = AtomicBool::new(false);
    let callback_error: Mutex<Option<PyErr>> = Mutex::new(None);
    let threads = lstmcast::threads_or_cores(threads);
    let outcome = interruptible(py, &stop, || -> lstmcast::Result<FitOutcome> {
        let mut on_epoch = |p: &FitProgress| {
            let Some(cb) = &progress else { return };
            // Once it raised, it is not called again (candidates trained at once may still
            // report the epoch they were finishing).
            if callback_error
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .is_some()
            {
                return;
            }
            let r = p.record;
            let failed = Python::attach(|py| -> PyResult<()> {
                let d = PyDict::new(py);
                d.set_item("candidate", p.candidate.name())?;
                d.set_item("index", p.index)?;
                d.set_item("of", p.of)?;
                d.set_item("epoch", r.epoch)?;
                d.set_item("epochs", cfg.training.epochs)?;
                d.set_item("train_loss", r.train_loss)?;
                d.set_item("val_loss", r.val_loss)?;
                d.set_item("best_epoch", r.best_epoch)?;
                cb.call1(py, (d,))?;
                Ok(())
            });
            if let Err(e) = failed {
                // A progress callback that raises stops training and re-raises.
                stop.store(true, Ordering::Relaxed);
                *callback_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
            }
        };
        match run.as_mut() {
            Some(run) => run.fit(&cfg, &ts, split, &mut on_epoch, Some(&stop), threads),
            None => cfg.fit_with(
                &ts,
                split,
                FitControl::new(&mut on_epoch)
                    .with_interrupt(&stop)
                    .with_threads(threads),
            ),
        }
    })?;
    if let Some(e) = callback_error
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
    {
        return Err(e);
    }
    match outcome.map_err(|e| err(format!("training failed: {e}")))? {
        FitOutcome::Done(m) => {
            if let Some(run) = run {
                // The complete run folder over the checkpoint, as `lstmcast train` writes it.
                py.detach(|| run.finish(&m, &ts, future.as_ref()))
                    .map_err(err)?;
            }
            Ok(Model { inner: *m })
        }
        FitOutcome::Interrupted(_) => Err(PyKeyboardInterrupt::new_err(match &checkpoint {
            Some(dir) => format!(
                "training interrupted; the checkpoint in {} resumes it: fit again with checkpoint={:?}",
                dir.display(),
                dir.display().to_string()
            ),
            None => "training interrupted".into(),
        })),
    }
}

#[pymethods]
impl Model {
    /// Loads a run folder written by `lstmcast train` or [`Model::save`].
    #[staticmethod]
    fn load(path: PathBuf) -> PyResult<Model> {
        let inner = TrainedForecaster::load(&path).map_err(err)?;
        Ok(Model { inner })
    }

    /// Writes the model's files into a new folder `path` (atomically), as `lstmcast train`'s run
    /// folder holds them; `overwrite` replaces an existing one.
    fn save(&self, path: PathBuf, overwrite: bool) -> PyResult<()> {
        self.inner.save(&path, overwrite).map_err(err)
    }

    /// The model's files (name, bytes): what pickling carries.
    fn files(&self) -> PyResult<Files> {
        Ok(to_python(model_files(&self.inner)?))
    }

    /// A model from [`Model::files`].
    #[staticmethod]
    fn from_files(files: FilesIn<'_>) -> PyResult<Model> {
        Ok(Model {
            inner: model_from_files(&from_python(files))?,
        })
    }

    /// The configuration the model was trained with, as JSON.
    fn config_json(&self) -> PyResult<String> {
        serde_json::to_string(&self.inner.config).map_err(err)
    }

    /// The interval levels (percent) the model was calibrated for.
    fn levels(&self) -> Vec<f64> {
        self.inner.calibration.levels.clone()
    }

    /// The target column names.
    fn targets(&self) -> Vec<String> {
        self.inner.names[..self.inner.n_targets].to_vec()
    }

    /// Why training stopped on a non-finite loss, if it did (the best weights before it are kept).
    fn diverged(&self) -> Option<String> {
        self.inner.report.diverged.clone()
    }

    /// `history.csv` of the training.
    fn history_csv(&self) -> String {
        report::history_csv(&self.inner.report)
    }

    /// The forecast after the end of `data` as `lstmcast forecast` writes it (forecast.csv), and
    /// the series it skipped with why: `future` holds future-known values (as `--future`),
    /// `statics` static values for new series (a frame, one row per series), `horizon` a
    /// longer or shorter one.
    #[pyo3(signature = (data, future=None, statics=None, horizon=None, threads=None))]
    fn forecast(
        &self,
        py: Python<'_>,
        data: FrameArgs<'_>,
        future: Option<FrameArgs<'_>>,
        statics: Option<FrameArgs<'_>>,
        horizon: Option<usize>,
        threads: Option<usize>,
    ) -> PyResult<(String, Vec<(String, String)>)> {
        let mut model = self.inner.clone();
        model.config.training.threads = lstmcast::threads_or_cores(threads);
        let mut opts = model.config.data.clone();
        opts.static_data = None;
        let specs =
            Covariates::file_columns(&model.names, &model.roles, &model.config.data.statics);
        let (ts, mut rows) = load(py, &data, &opts, statics.as_ref(), Some(&specs))?;
        if let Some(f) = &future {
            if rows.is_some() {
                return Err(err(lstmcast::Error::config(
                    "future",
                    "the data already ends its series with future rows (empty targets); give the future-known values once, there or in futr_df",
                )));
            }
            let f = frame(f)?;
            rows = Some(py.detach(|| load_future_frame(&f, &opts)).map_err(err)?);
        }
        let stop = AtomicBool::new(false);
        interruptible(
            py,
            &stop,
            || -> lstmcast::Result<(String, Vec<(String, String)>)> {
                let f = model.forecast_with(&ts, rows.as_ref(), horizon)?;
                Ok((report::forecast_csv(&ts, &f), f.skipped.clone()))
            },
        )?
        .map_err(err)
    }

    /// `report.html` for `data` (scored and forecast again, as the run folder's report is).
    #[pyo3(signature = (data, threads=None))]
    fn report_html(
        &self,
        py: Python<'_>,
        data: FrameArgs<'_>,
        threads: Option<usize>,
    ) -> PyResult<String> {
        let mut model = self.inner.clone();
        model.config.training.threads = lstmcast::threads_or_cores(threads);
        let mut opts = model.config.data.clone();
        opts.static_data = None;
        let (ts, rows) = load(py, &data, &opts, None, None)?;
        let stop = AtomicBool::new(false);
        interruptible(py, &stop, || -> lstmcast::Result<String> {
            let ev = model.evaluate(&ts)?;
            let fc = lstmcast::run::forecast_after(&model, &ts, rows.as_ref(), &ev)?;
            Ok(lstmcast::report::html::run_report(&model, &ts, &ev, &fc))
        })?
        .map_err(err)
    }

    /// Evaluates on the test part of `data` as `lstmcast evaluate` does: `metrics.json`'s
    /// evaluation (JSON) and `predictions.csv`.
    #[pyo3(signature = (data, threads=None))]
    fn evaluate(
        &self,
        py: Python<'_>,
        data: FrameArgs<'_>,
        threads: Option<usize>,
    ) -> PyResult<(String, String)> {
        let mut model = self.inner.clone();
        model.config.training.threads = lstmcast::threads_or_cores(threads);
        let mut opts = model.config.data.clone();
        opts.static_data = None;
        let ts = load(py, &data, &opts, None, None)?.0;
        let stop = AtomicBool::new(false);
        interruptible(py, &stop, || -> lstmcast::Result<(String, String)> {
            let ev = model.evaluate(&ts)?;
            Ok((
                report::metrics_json(&model, &ev),
                report::predictions_csv(&ev, ts.id_name.as_deref()),
            ))
        })?
        .map_err(err)
    }
}

/// `refit` and `window` by the CLI's names.
fn backtest_options(folds: usize, refit: &str, window: &str) -> PyResult<BacktestOptions> {
    Ok(BacktestOptions {
        folds,
        refit: refit.parse::<Refit>().map_err(err)?,
        window: window.parse::<TrainWindow>().map_err(err)?,
    })
}

/// Files as they cross to Python and back: (name, bytes).
type Files = Vec<(String, Cow<'static, [u8]>)>;

fn to_python(files: Vec<(String, Vec<u8>)>) -> Files {
    files.into_iter().map(|(n, b)| (n, Cow::Owned(b))).collect()
}

/// Files as Python hands them back.
type FilesIn<'py> = Vec<(String, Bound<'py, PyBytes>)>;

fn from_python(files: FilesIn<'_>) -> Vec<(String, Vec<u8>)> {
    files
        .into_iter()
        .map(|(n, b)| (n, b.as_bytes().to_vec()))
        .collect()
}

/// A fold as it crosses processes: its rows, evaluation and predictions (which the
/// evaluation's JSON leaves out) as JSON, its model as files.
type FoldParts = (String, String, String, Files);
/// A fold's parts as Python hands them back.
type FoldPartsIn<'py> = (String, String, String, FilesIn<'py>);

fn fold_parts(f: &Fold) -> PyResult<FoldParts> {
    Ok((
        serde_json::to_string(&f.rows).map_err(err)?,
        serde_json::to_string(&f.evaluation).map_err(err)?,
        serde_json::to_string(&f.evaluation.rows).map_err(err)?,
        to_python(model_files(&f.model)?),
    ))
}

fn fold_of(parts: FoldPartsIn<'_>) -> PyResult<Fold> {
    let mut evaluation: lstmcast::Evaluation = serde_json::from_str(&parts.1).map_err(err)?;
    evaluation.rows = serde_json::from_str(&parts.2).map_err(err)?;
    Ok(Fold {
        rows: serde_json::from_str(&parts.0).map_err(err)?,
        evaluation,
        model: model_from_files(&from_python(parts.3))?,
    })
}

/// The walk-forward backtest of `lstmcast backtest`: `backtest.csv`, `folds.csv` and
/// `metrics.json` as texts. With `done`, the folds of `refit="every"` are not trained here but
/// taken from `done` (each from [`backtest_fold`], run anywhere: Ray tasks).
#[pyfunction]
#[pyo3(signature = (cfg_json, data_json, data, folds=5, refit="every", window="expanding", jobs=None, done=None, statics=None))]
#[allow(clippy::too_many_arguments)]
fn cross_validation(
    py: Python<'_>,
    cfg_json: &str,
    data_json: &str,
    data: FrameArgs<'_>,
    folds: usize,
    refit: &str,
    window: &str,
    jobs: Option<usize>,
    done: Option<Vec<FoldPartsIn<'_>>>,
    statics: Option<FrameArgs<'_>>,
) -> PyResult<(String, String, String)> {
    let cfg = with_data(cfg_json, data_json)?;
    let opts = backtest_options(folds, refit, window)?;
    if jobs == Some(0) {
        return Err(err("invalid configuration: jobs: must be at least 1"));
    }
    if done.is_some() && opts.refit != Refit::Every {
        return Err(err(
            "invalid configuration: refit: folds run elsewhere need refit every (with once, every fold scores the first fold's model)",
        ));
    }
    let ts = load(py, &data, &cfg.data, statics.as_ref(), None)?.0;
    let done: Option<Vec<Fold>> = done
        .map(|d| d.into_iter().map(fold_of).collect::<PyResult<_>>())
        .transpose()?;
    let stop = AtomicBool::new(false);
    interruptible(
        py,
        &stop,
        || -> lstmcast::Result<(String, String, String)> {
            let bt = match done {
                None => backtest(
                    &cfg,
                    &ts,
                    &opts,
                    lstmcast::threads_or_cores(jobs),
                    &|_, _| {},
                    Some(&stop),
                )?,
                Some(folds) => {
                    let folds = Mutex::new(Some(folds));
                    backtest_on(&cfg, &ts, &opts, 1, &|_, _| {}, Some(&stop), &|_, _| {
                        let taken = folds.lock().map(|mut f| f.take()).unwrap_or_default();
                        taken.unwrap_or_default().into_iter().map(Ok).collect()
                    })?
                }
            };
            Ok((
                report::backtest_csv(&bt, ts.id_name.as_deref()),
                report::folds_csv(&bt),
                report::backtest_json(&bt),
            ))
        },
    )?
    .map_err(|e| err(format!("backtest failed: {e}")))
}

/// Fold `i` (from 0) of the backtest `cross_validation` would run with `refit="every"`, trained
/// here on one thread: a Ray task's work. Returns the fold's parts for `cross_validation(done=...)`.
#[pyfunction]
#[pyo3(signature = (cfg_json, data_json, data, folds, window, i, statics=None))]
#[allow(clippy::too_many_arguments)]
fn backtest_fold(
    py: Python<'_>,
    cfg_json: &str,
    data_json: &str,
    data: FrameArgs<'_>,
    folds: usize,
    window: &str,
    i: usize,
    statics: Option<FrameArgs<'_>>,
) -> PyResult<FoldParts> {
    let cfg = with_data(cfg_json, data_json)?;
    let opts = backtest_options(folds, "every", window)?;
    let ts = load(py, &data, &cfg.data, statics.as_ref(), None)?.0;
    let stop = AtomicBool::new(false);
    let fold = interruptible(py, &stop, || {
        lstmcast::backtest::backtest_fold(&cfg, &ts, &opts, i, 1)
    })?
    .map_err(|e| err(format!("backtest failed: {e}")))?;
    fold_parts(&fold)
}

/// The search of `lstmcast tune` over `space_json` (a `[tune]` table as JSON; `{}` for the
/// defaults) with `jobs` trials at a time: `trials.csv`, the best configuration (JSON) and the
/// best configuration's model (its trial's when that ran the full budget, else retrained, as the
/// CLI does). With `run_rung`, every rung's trials run there instead, rung by rung
/// (`run_rung(space_json, trials, rung)` returns each trial's [`tune_trial`] parts: Ray tasks).
#[pyfunction]
#[pyo3(signature = (cfg_json, data_json, data, space_json, jobs=None, run_rung=None, statics=None))]
#[allow(clippy::too_many_arguments)]
fn tune(
    py: Python<'_>,
    cfg_json: &str,
    data_json: &str,
    data: FrameArgs<'_>,
    space_json: &str,
    jobs: Option<usize>,
    run_rung: Option<Py<PyAny>>,
    statics: Option<FrameArgs<'_>>,
) -> PyResult<(String, String, Model)> {
    let base = with_data(cfg_json, data_json)?;
    let space: TuneSpace = serde_json::from_str(space_json)
        .map_err(|e| err(format!("invalid configuration: tune: {e}")))?;
    if jobs == Some(0) {
        return Err(err("invalid configuration: jobs: must be at least 1"));
    }
    let ts = load(py, &data, &base.data, statics.as_ref(), None)?.0;
    let jobs = lstmcast::threads_or_cores(jobs);
    let stop = AtomicBool::new(false);
    let callback_error: Mutex<Option<PyErr>> = Mutex::new(None);
    let done = interruptible(
        py,
        &stop,
        || -> lstmcast::Result<(TuneResult, TrainedForecaster)> {
            let (result, kept) = match &run_rung {
                None => lstmcast::tune::tune_model(&base, &space, &ts, jobs, &|_| {}, Some(&stop))?,
                Some(cb) => {
                    let run = |space: &TuneSpace, trials: &[usize], rung: usize| {
                        let got = Python::attach(|py| -> PyResult<Vec<(String, bool)>> {
                            let space = serde_json::to_string(space).map_err(err)?;
                            cb.call1(py, (space, trials.to_vec(), rung))?.extract(py)
                        });
                        let parts = got.map_err(|e| {
                            let msg = e.to_string();
                            *callback_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
                            lstmcast::Error::config("tune", msg)
                        })?;
                        parts
                            .into_iter()
                            .map(|(json, started)| {
                                serde_json::from_str(&json)
                                    .map(|r| (r, started))
                                    .map_err(|e| lstmcast::Error::config("tune", e.to_string()))
                            })
                            .collect()
                    };
                    let r = lstmcast::tune::tune_remote(
                        &base,
                        &space,
                        &ts,
                        jobs,
                        &|_| {},
                        &run,
                        Some(&stop),
                    )?;
                    (r, None)
                }
            };
            // The best configuration on the full budget, as `lstmcast tune` keeps it.
            let model =
                lstmcast::tune::best_model(&result, kept, &ts, jobs, &mut |_| {}, Some(&stop))?;
            Ok((result, model))
        },
    )?;
    if let Some(e) = callback_error
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
    {
        return Err(e);
    }
    let (result, model) = done.map_err(|e| err(format!("tuning failed: {e}")))?;
    Ok((
        report::trials_csv(&result),
        serde_json::to_string(&result.best_config).map_err(err)?,
        Model { inner: model },
    ))
}

/// Trial `trial` of the search over the resolved space `space_json`, trained through `rung` on
/// one thread: a Ray task's work for [`tune`]'s `run_rung`. Returns the trial's result (JSON)
/// and whether it started.
#[pyfunction]
#[pyo3(signature = (cfg_json, data_json, data, space_json, trial, rung, statics=None))]
#[allow(clippy::too_many_arguments)]
fn tune_trial(
    py: Python<'_>,
    cfg_json: &str,
    data_json: &str,
    data: FrameArgs<'_>,
    space_json: &str,
    trial: usize,
    rung: usize,
    statics: Option<FrameArgs<'_>>,
) -> PyResult<(String, bool)> {
    let base = with_data(cfg_json, data_json)?;
    let space: TuneSpace = serde_json::from_str(space_json).map_err(err)?;
    let ts = load(py, &data, &base.data, statics.as_ref(), None)?.0;
    let stop = AtomicBool::new(false);
    let (result, started) = interruptible(py, &stop, || {
        lstmcast::tune::tune_trial(&base, &space, &ts, trial, rung, 1)
    })?
    .map_err(err)?;
    Ok((serde_json::to_string(&result).map_err(err)?, started))
}

/// A model's files (name, bytes), as a run folder holds them.
fn model_files(model: &TrainedForecaster) -> PyResult<Vec<(String, Vec<u8>)>> {
    let dir = tempdir()?;
    let path = dir.path().join("model");
    model.save(&path, false).map_err(err)?;
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&path).map_err(err)? {
        let entry = entry.map_err(err)?;
        let bytes = std::fs::read(entry.path()).map_err(err)?;
        out.push((entry.file_name().to_string_lossy().to_string(), bytes));
    }
    out.sort();
    Ok(out)
}

/// A model from [`model_files`].
fn model_from_files(files: &[(String, Vec<u8>)]) -> PyResult<TrainedForecaster> {
    let dir = tempdir()?;
    for (name, bytes) in files {
        if name.is_empty() || name.contains(['/', '\\']) || name == "." || name == ".." {
            return Err(err(format!("not a model file name: {name}")));
        }
        std::fs::write(dir.path().join(name), bytes).map_err(err)?;
    }
    TrainedForecaster::load(dir.path()).map_err(err)
}

/// A new empty folder under the system's temporary folder, removed when dropped.
fn tempdir() -> PyResult<tempfile::TempDir> {
    tempfile::tempdir().map_err(err)
}

/// The module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("LstmcastError", m.py().get_type::<LstmcastError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<Model>()?;
    m.add_function(wrap_pyfunction!(config, m)?)?;
    m.add_function(wrap_pyfunction!(fit, m)?)?;
    m.add_function(wrap_pyfunction!(cross_validation, m)?)?;
    m.add_function(wrap_pyfunction!(backtest_fold, m)?)?;
    m.add_function(wrap_pyfunction!(tune, m)?)?;
    m.add_function(wrap_pyfunction!(tune_trial, m)?)?;
    m.add_function(wrap_pyfunction!(interrupted, m)?)?;
    Ok(())
}
