//! The loader's stages over a table of text cells, in the order they run: header → column roles
//! → time column and format → timestamps → series ids → group by series (sorted, regularised,
//! gaps filled) → values.

use super::*;

impl Table<'_> {
    pub(super) fn err(&self, line: usize, column: Option<&str>, reason: String) -> Error {
        Error::at(self.path, line, self.numbered_rows, column, reason)
    }

    /// Another line of this input as messages name it (a row for Parquet and frames).
    pub(super) fn place(&self, line: usize) -> String {
        crate::error::place(line, self.numbered_rows)
    }

    pub(super) fn col_index(&self, name: &str) -> Result<usize> {
        self.header
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| Error::MissingColumn {
                path: self.path.to_path_buf(),
                name: name.to_string(),
                available: self.header.clone(),
            })
    }

    /// The first non-missing cell of column `c`, with its line.
    pub(super) fn first_value(&self, c: usize) -> Option<(usize, &str)> {
        self.records
            .iter()
            .map(|(l, f)| (*l, f[c].as_str()))
            .find(|(_, s)| !is_missing(s))
    }

    pub(super) fn into_panels(
        self,
        opts: &LoadOptions,
        describe: bool,
    ) -> Result<(Panel, Option<Panel>)> {
        self.check_header()?;
        let roles = self.roles(opts, describe)?;
        let ids = self.ids(&roles)?;
        let (times, time_format) = self.times(&roles, opts.time_format.as_deref())?;
        let mut order = self.group(&roles, &ids, &times)?;
        let freq = opts
            .freq
            .as_deref()
            .map(Frequency::parse)
            .transpose()
            .map_err(|e| Error::config("freq", e))?;
        let future = self.future_rows(&roles, &mut order, &times)?;
        let series = self.regularise(&roles, order, &times, freq, opts.fill_gaps)?;
        let panel = self.build(
            &roles,
            series,
            time_format.clone(),
            opts.fill,
            opts.fill_gaps,
            freq,
        )?;
        panel.check_statics()?;
        let future = match future {
            Some(series) => {
                let froles = Roles {
                    id: roles.id,
                    time: roles.time,
                    targets: Vec::new(),
                    inputs: (0..roles.inputs.len())
                        .filter(|&i| roles.roles[i] == Role::Future)
                        .map(|i| roles.inputs[i])
                        .collect(),
                    roles: Vec::new(),
                    categorical: Vec::new(),
                };
                let froles = Roles {
                    roles: vec![Role::Future; froles.inputs.len()],
                    ..froles
                };
                Some(self.build(&froles, series, time_format, Fill::None, Fill::None, None)?)
            }
            None => None,
        };
        Ok((panel, future))
    }

    /// With future-known columns, cuts from each series the rows at its end whose target cells
    /// are all empty (the steps to forecast) and returns them as series of their own; a
    /// future-known cell missing there is an error naming the series, line and column.
    pub(super) fn future_rows(
        &self,
        roles: &Roles,
        order: &mut [(String, Vec<usize>)],
        times: &Option<Vec<Timestamp>>,
    ) -> Result<Option<Vec<SeriesRows>>> {
        if !roles.roles.contains(&Role::Future) || roles.targets.is_empty() {
            return Ok(None);
        }
        let empty = |r: usize| {
            roles
                .targets
                .iter()
                .all(|&c| is_missing(&self.records[r].1[c]))
        };
        let mut out = Vec::new();
        for (id, rows) in order.iter_mut() {
            let keep = rows.iter().rposition(|&r| !empty(r)).map_or(0, |i| i + 1);
            if keep == rows.len() {
                continue;
            }
            if keep == 0 {
                let which = if id.is_empty() {
                    "the series".to_string()
                } else {
                    format!("series '{id}'")
                };
                return Err(self.err(
                    self.records[rows[0]].0,
                    Some(&self.header[roles.targets[0]]),
                    format!("{which} has no row with a target, only future rows; it needs history to be trained on or forecast (remove its rows, or give its observed values)"),
                ));
            }
            let tail = rows.split_off(keep);
            for &r in &tail {
                for (i, &c) in roles.inputs.iter().enumerate() {
                    if roles.roles[i] == Role::Future && is_missing(&self.records[r].1[c]) {
                        let series = if id.is_empty() {
                            String::new()
                        } else {
                            format!(" of series '{id}'")
                        };
                        return Err(self.err(
                            self.records[r].0,
                            Some(&self.header[c]),
                            format!("this row{series} has no target, so it is a future row, but its future-known value is missing; give every future-known value for the steps to forecast"),
                        ));
                    }
                }
            }
            let stamps = match times {
                Some(t) => tail.iter().map(|&r| t[r]).collect(),
                None => (keep as i64..(keep + tail.len()) as i64)
                    .map(Timestamp::Index)
                    .collect(),
            };
            out.push(SeriesRows {
                id: id.clone(),
                rows: tail.into_iter().map(Some).collect(),
                times: stamps,
            });
        }
        Ok((!out.is_empty()).then_some(out))
    }

    /// A panel of the columns `roles.inputs` over `series`.
    pub(super) fn build(
        &self,
        roles: &Roles,
        series: Vec<SeriesRows>,
        time_format: Option<String>,
        fill: Fill,
        gaps: Fill,
        freq: Option<Frequency>,
    ) -> Result<Panel> {
        let n_series = series.len();
        let mut offsets = Vec::with_capacity(n_series + 1);
        offsets.push(0);
        let mut timestamps = Vec::with_capacity(self.records.len());
        let mut series_ids = Vec::with_capacity(n_series);
        for s in &series {
            series_ids.push(s.id.clone());
            timestamps.extend_from_slice(&s.times);
            offsets.push(timestamps.len());
        }
        let mut columns = Vec::with_capacity(roles.inputs.len());
        let mut filled = Vec::with_capacity(roles.inputs.len());
        let mut names = Vec::with_capacity(roles.inputs.len());
        let mut col_roles = Vec::with_capacity(roles.inputs.len());
        for (i, &c) in roles.inputs.iter().enumerate() {
            if roles.categorical.contains(&c) {
                for (name, col) in self.one_hot(c, &series)? {
                    names.push(name);
                    columns.push(col);
                    filled.push(0);
                    col_roles.push(Role::Static);
                }
                continue;
            }
            let (col, n) = self.values(c, &series, fill, gaps)?;
            columns.push(col);
            filled.push(n);
            names.push(self.header[c].clone());
            col_roles.push(roles.roles[i]);
        }
        let mut panel = Panel {
            source: self.path.to_path_buf(),
            time_format,
            time_name: roles
                .time
                .map(|c| self.header[c].clone())
                .unwrap_or_else(|| "row".into()),
            id_name: roles.id.map(|c| self.header[c].clone()),
            ids: series_ids,
            offsets,
            timestamps,
            names,
            columns,
            n_targets: roles.targets.len(),
            roles: col_roles,
            spacing: crate::time::infer_frequency(&[]),
            filled,
        };
        panel.spacing = match freq {
            Some(f) => panel.check_spacing(f),
            None => panel.infer_spacing(),
        };
        Ok(panel)
    }

    /// Each series' rows on its time grid: without `fill_gaps` the records as they are; with it,
    /// the timestamps missing between a series' first and last row (one step of `freq`, or of
    /// the step the series mostly has) inserted as rows without a record.
    pub(super) fn regularise(
        &self,
        roles: &Roles,
        order: Vec<(String, Vec<usize>)>,
        times: &Option<Vec<Timestamp>>,
        freq: Option<Frequency>,
        fill_gaps: Fill,
    ) -> Result<Vec<SeriesRows>> {
        let Some(t) = times else {
            if fill_gaps != Fill::None {
                return Err(Error::config(
                    "fill_gaps",
                    "there is no time column, so there are no missing timestamps to insert",
                ));
            }
            return Ok(order
                .into_iter()
                .map(|(id, rows)| SeriesRows {
                    times: (0..rows.len() as i64).map(Timestamp::Index).collect(),
                    rows: rows.into_iter().map(Some).collect(),
                    id,
                })
                .collect());
        };
        let mut out = Vec::with_capacity(order.len());
        for (id, rows) in order {
            let stamps: Vec<Timestamp> = rows.iter().map(|&r| t[r]).collect();
            if fill_gaps == Fill::None || rows.len() < 2 {
                out.push(SeriesRows {
                    id,
                    rows: rows.into_iter().map(Some).collect(),
                    times: stamps,
                });
                continue;
            }
            let step = match freq {
                Some(f) => f,
                None => match crate::time::infer_frequency(&stamps) {
                    Spacing::Regular(f)
                    | Spacing::Irregular {
                        typical: Some(f), ..
                    } => f,
                    Spacing::Irregular { gap, .. } => {
                        return Err(Error::config(
                            "freq",
                            format!(
                            "cannot tell the step of series '{id}' ({gap}); give it with --freq"
                        ),
                        ))
                    }
                },
            };
            let tc = &self.header[roles.time.unwrap_or(0)];
            let limit = 10 * rows.len() + 1000;
            let mut grid = SeriesRows {
                id,
                rows: Vec::with_capacity(rows.len()),
                times: Vec::with_capacity(rows.len()),
            };
            let mut expected = stamps[0];
            for (&r, ts) in rows.iter().zip(&stamps) {
                while expected.seconds() < ts.seconds() {
                    grid.rows.push(None);
                    grid.times.push(expected);
                    if grid.rows.len() > limit {
                        return Err(self.err(self.records[r].0, Some(tc), format!(
                            "filling the gaps of series '{}' with a step of {} would insert more than {limit} rows; check --freq",
                            grid.id, step.describe()
                        )));
                    }
                    expected = step.advance(&expected, 1).unwrap_or(*ts);
                }
                if expected.seconds() != ts.seconds() {
                    return Err(self.err(self.records[r].0, Some(tc), format!(
                        "'{ts}' is not on the grid of {} that starts at {}; give the step with --freq",
                        step.describe(), stamps[0]
                    )));
                }
                grid.rows.push(Some(r));
                grid.times.push(*ts);
                expected = step.advance(ts, 1).unwrap_or(*ts);
            }
            out.push(grid);
        }
        Ok(out)
    }

    pub(super) fn check_header(&self) -> Result<()> {
        if let Some(c) = self.header.iter().position(String::is_empty) {
            return Err(self.err(
                1,
                None,
                format!("header field {} is empty; every column needs a name", c + 1),
            ));
        }
        for (i, h) in self.header.iter().enumerate() {
            if let Some(j) = self.header[..i].iter().position(|x| x == h) {
                return Err(self.err(
                    1,
                    Some(h),
                    format!(
                        "the header names '{h}' twice (fields {} and {})",
                        j + 1,
                        i + 1
                    ),
                ));
            }
        }
        if self.records.is_empty() {
            return Err(self.err(1, None, "the file has a header but no data rows".into()));
        }
        Ok(())
    }

    /// Decides every column's role; an unassigned text column is an error.
    pub(super) fn roles(&self, opts: &LoadOptions, describe: bool) -> Result<Roles> {
        let id = opts
            .id_col
            .as_deref()
            .map(|n| self.col_index(n))
            .transpose()?;
        let ignored: Vec<usize> = opts
            .ignore
            .iter()
            .map(|n| self.col_index(n))
            .collect::<Result<_>>()?;
        let free = |c: usize| Some(c) != id && !ignored.contains(&c);
        let time = match &opts.time_col {
            Some(name) => Some(self.col_index(name)?),
            None => self.detect_time(&free),
        };
        if time.is_some() && time == id {
            return Err(Error::config(
                "time_col",
                format!(
                    "'{}' is the id column; it cannot also be the time column",
                    self.header[id.unwrap_or(0)]
                ),
            ));
        }
        let value_cols: Vec<usize> = (0..self.header.len())
            .filter(|&c| free(c) && Some(c) != time)
            .collect();
        if value_cols.is_empty() {
            return Err(self.err(
                1,
                None,
                "no value columns besides the id and time columns".into(),
            ));
        }
        let named = |list: &[String]| -> Result<Vec<usize>> {
            list.iter().map(|n| self.col_index(n)).collect()
        };
        let targets_named = named(&opts.target)?;
        let features_named = named(&[opts.features.clone(), opts.past.clone()].concat())?;
        let future_named = named(&opts.future_known)?;
        let static_named = named(&opts.statics)?;
        // A column has one role: future-known and static columns are in no other list (a
        // target may be listed among the past inputs too; it is an input anyway).
        let lists: [(&str, &Vec<usize>); 4] = [
            ("target", &targets_named),
            ("past", &features_named),
            ("future-known", &future_named),
            ("static", &static_named),
        ];
        let conflict = |c: usize, what: String| {
            Error::config(
                "columns",
                format!(
                    "'{}' {what}; give each column one role (--target, --past, --future-known or --static)",
                    self.header[c]
                ),
            )
        };
        for (i, &(a, la)) in lists.iter().enumerate() {
            if i >= 2 {
                if let Some(k) = (0..la.len()).find(|&k| la[..k].contains(&la[k])) {
                    return Err(conflict(la[k], format!("is named twice as {a}")));
                }
            }
            for &(b, lb) in &lists[i + 1..] {
                if (a, b) == ("target", "past") {
                    continue;
                }
                if let Some(&c) = la.iter().find(|c| lb.contains(c)) {
                    return Err(conflict(c, format!("is given two roles, {a} and {b}")));
                }
            }
        }
        let mut numeric = Vec::new();
        let mut categorical = Vec::new();
        for &c in &value_cols {
            match self.first_value(c) {
                Some((_, v)) if v.parse::<f64>().is_ok() => numeric.push(c),
                Some(_) if static_named.contains(&c) => categorical.push(c),
                _ if targets_named.contains(&c)
                    || features_named.contains(&c)
                    || future_named.contains(&c) =>
                {
                    // Named explicitly: its cells are parsed and the first bad one is reported.
                }
                // With the inputs listed explicitly, other columns are not used by choice.
                _ if !features_named.is_empty() => {}
                Some((line, v)) => {
                    let h = &self.header[c];
                    return Err(self.err(
                        line,
                        Some(h),
                        format!(
                            "'{v}' is text, so '{h}' is not a numeric column; if it names the series of a long-format file pass --id-col {h}, if it is the time column pass --time-col {h}, else leave it out with --ignore {h}"
                        ),
                    ));
                }
                None => {
                    let h = &self.header[c];
                    return Err(self.err(
                        2,
                        Some(h),
                        format!("every value is missing; leave the column out with --ignore {h}"),
                    ));
                }
            }
        }
        // Future-known and static columns are never the default target.
        numeric.retain(|c| !future_named.contains(c) && !static_named.contains(c));
        let targets: Vec<usize> = if targets_named.is_empty() {
            match numeric.as_slice() {
                [_, _, ..] if describe => Vec::new(),
                [one] => vec![*one],
                [] => return Err(self.err(2, None, "no numeric value column found".into())),
                many => {
                    return Err(Error::config(
                        "target",
                        format!(
                        "{} has {} numeric columns ({}); name the one(s) to forecast with --target",
                        self.path.display(),
                        many.len(),
                        many.iter()
                            .map(|&c| self.header[c].as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    ))
                }
            }
        } else {
            targets_named
        };
        let mut inputs: Vec<usize> = targets.clone();
        let features = if features_named.is_empty() {
            numeric
        } else {
            features_named
        };
        for c in features {
            if !inputs.contains(&c) {
                if future_named.contains(&c) || static_named.contains(&c) {
                    continue;
                }
                inputs.push(c);
            }
        }
        let mut col_roles: Vec<Role> = inputs
            .iter()
            .enumerate()
            .map(|(i, _)| {
                if i < targets.len() {
                    Role::Target
                } else {
                    Role::Past
                }
            })
            .collect();
        for (list, role) in [(&future_named, Role::Future), (&static_named, Role::Static)] {
            for &c in list.iter() {
                inputs.push(c);
                col_roles.push(role);
            }
        }
        for &c in &inputs {
            let clash = if Some(c) == time {
                Some("the time column")
            } else if Some(c) == id {
                Some("the id column")
            } else if ignored.contains(&c) {
                Some("in --ignore")
            } else {
                None
            };
            if let Some(what) = clash {
                return Err(Error::config(
                    "target/features",
                    format!(
                        "'{}' is {what}; it cannot also be a value column",
                        self.header[c]
                    ),
                ));
            }
        }
        for (i, &c) in targets.iter().enumerate() {
            if targets[..i].contains(&c) {
                return Err(Error::config(
                    "target",
                    format!("'{}' is named twice", self.header[c]),
                ));
            }
        }
        Ok(Roles {
            id,
            time,
            targets,
            inputs,
            roles: col_roles,
            categorical,
        })
    }

    /// The default time column: the first free column if its header reads like a time or its
    /// values look like times, else the first later column named like one (`date`, `ds`, ...)
    /// or holding dates.
    pub(super) fn detect_time(&self, free: &dyn Fn(usize) -> bool) -> Option<usize> {
        let candidates: Vec<usize> = (0..self.header.len()).filter(|&c| free(c)).collect();
        for (k, &c) in candidates.iter().enumerate() {
            let h = self.header[c].to_ascii_lowercase();
            let named = if k == 0 {
                TIME_WORDS.contains(&h.as_str()) || h.contains("date") || h.contains("time")
            } else {
                TIME_NAMES.contains(&h.as_str())
            };
            let value = self.first_value(c).map(|(_, v)| v).unwrap_or("");
            let dated = match Timestamp::parse(value) {
                Some(Timestamp::Index(_)) => false,
                Some(_) => true,
                None => looks_like_time(value),
            };
            if named || dated {
                return Some(c);
            }
        }
        None
    }

    /// Each record's series id (`""` without an id column).
    pub(super) fn ids(&self, roles: &Roles) -> Result<Vec<String>> {
        let Some(c) = roles.id else {
            return Ok(Vec::new());
        };
        self.records
            .iter()
            .map(|(line, f)| {
                if is_missing(&f[c]) {
                    Err(self.err(
                        *line,
                        Some(&self.header[c]),
                        "the series id is missing; every row needs one".into(),
                    ))
                } else {
                    Ok(f[c].clone())
                }
            })
            .collect()
    }

    /// The layout of the time column: `--time-format`, else ISO 8601 / an integer index when the
    /// first value reads as one (`None`), else the one pattern of [`TIME_FORMATS`] that reads
    /// every value.
    pub(super) fn time_format(&self, tc: usize, given: Option<&str>) -> Result<Option<String>> {
        if let Some(p) = given {
            return Ok(Some(p.to_string()));
        }
        let h = &self.header[tc];
        let Some((line, first)) = self.first_value(tc) else {
            return Ok(None);
        };
        if Timestamp::parse(first).is_some() {
            return Ok(None);
        }
        let fits: Vec<&str> = TIME_FORMATS
            .iter()
            .copied()
            .filter(|p| {
                self.records
                    .iter()
                    .all(|(_, f)| crate::time::parse_with(&f[tc], p).is_some())
            })
            .collect();
        match fits.as_slice() {
            [one] => Ok(Some(one.to_string())),
            [a, b, ..] => Err(self.err(line, Some(h), format!(
                "'{first}' could be {a} or {b} (every value of '{h}' fits both); say which with --time-format, e.g. --time-format '{a}'"
            ))),
            [] => Err(self.err(line, Some(h), format!(
                "'{first}' is not a timestamp; use ISO 8601 (2020-01-31, 2020-01-31T12:00:00, optional Z or +01:00), an integer index, or give the layout with --time-format (e.g. '%d/%m/%Y')"
            ))),
        }
    }

    /// Each record's timestamp, all of one kind, and the column's layout; `None` without a time
    /// column.
    pub(super) fn times(
        &self,
        roles: &Roles,
        given: Option<&str>,
    ) -> Result<(Option<Vec<Timestamp>>, Option<String>)> {
        let Some(tc) = roles.time else {
            return Ok((None, None));
        };
        let h = &self.header[tc];
        let format = self.time_format(tc, given)?;
        let mut ts: Vec<Timestamp> = Vec::with_capacity(self.records.len());
        for (line, fields) in &self.records {
            let parsed = match &format {
                Some(p) => crate::time::parse_with(&fields[tc], p),
                None => Timestamp::parse(&fields[tc]),
            };
            let t = parsed.ok_or_else(|| {
                let how = match &format {
                    Some(p) => format!("the layout {p} of the column"),
                    None => "ISO 8601 (2020-01-31, 2020-01-31T12:00:00, optional Z or +01:00) or an integer index".into(),
                };
                self.err(*line, Some(h), format!(
                    "'{}' is not a timestamp; use {how}, or give the layout with --time-format",
                    fields[tc]
                ))
            })?;
            if let Some(first) = ts.first() {
                if !t.same_kind(first) {
                    return Err(self.err(
                        *line,
                        Some(h),
                        format!(
                            "'{}' mixes timestamp kinds: the first row has '{first}'",
                            fields[tc]
                        ),
                    ));
                }
            }
            ts.push(t);
        }
        Ok((Some(ts), format))
    }

    /// Records grouped by series (in id order) and sorted by time within each; a repeated
    /// (series, time) is an error naming both lines.
    pub(super) fn group(
        &self,
        roles: &Roles,
        ids: &[String],
        times: &Option<Vec<Timestamp>>,
    ) -> Result<Vec<(String, Vec<usize>)>> {
        let mut groups: Vec<(String, Vec<usize>)> = if ids.is_empty() {
            vec![(String::new(), (0..self.records.len()).collect())]
        } else {
            let mut at: HashMap<&str, usize> = HashMap::new();
            let mut g: Vec<(String, Vec<usize>)> = Vec::new();
            for (r, id) in ids.iter().enumerate() {
                let k = *at.entry(id.as_str()).or_insert_with(|| {
                    g.push((id.clone(), Vec::new()));
                    g.len() - 1
                });
                g[k].1.push(r);
            }
            sort_ids(&mut g, |(id, _)| id);
            g
        };
        if let Some(t) = times {
            let tc = roles.time.unwrap_or(0);
            for (id, rows) in &mut groups {
                rows.sort_by_key(|&r| t[r].seconds());
                for w in rows.windows(2) {
                    if t[w[0]].seconds() == t[w[1]].seconds() {
                        let (a, b) = (w[0].min(w[1]), w[0].max(w[1]));
                        let series = match roles.id {
                            Some(_) => format!(" for series '{id}'"),
                            None => String::new(),
                        };
                        return Err(self.err(
                            self.records[b].0,
                            Some(&self.header[tc]),
                            format!(
                                "duplicate timestamp{series}: '{}' is also on {}; each time may appear once per series (remove one of the rows{})",
                                t[b],
                                self.place(self.records[a].0),
                                if roles.id.is_none() { ", or pass --id-col if the file holds several series" } else { "" }
                            ),
                        ));
                    }
                }
            }
        }
        Ok(groups)
    }

    /// A categorical static column `c` as one-hot columns `name=category` (categories sorted),
    /// in series order; every series holds one category (rows inserted for missing timestamps
    /// take it).
    ///
    /// # Errors
    /// A missing cell, or a series whose cells differ, naming the line.
    pub(super) fn one_hot(
        &self,
        c: usize,
        series: &[SeriesRows],
    ) -> Result<Vec<(String, Vec<f64>)>> {
        let name = &self.header[c];
        let mut per_series: Vec<(&str, usize)> = Vec::with_capacity(series.len());
        for SeriesRows { id, rows, .. } in series {
            let mut first: Option<(&str, usize)> = None;
            for &r in rows.iter().flatten() {
                let (line, fields) = &self.records[r];
                let v = fields[c].trim();
                if is_missing(v) {
                    return Err(self.err(
                        *line,
                        Some(name),
                        format!(
                            "missing value '{v}'; a static column needs its value on every row"
                        ),
                    ));
                }
                match first {
                    None => first = Some((v, *line)),
                    Some((f, fl)) if f != v => {
                        return Err(self.err(*line, Some(name), format!(
                            "'{v}' differs from '{f}' on {} of series '{id}': a static column holds one value per series (declare it --past or --future-known instead)", self.place(fl)
                        )))
                    }
                    Some(_) => {}
                }
            }
            per_series.push((first.map_or("", |f| f.0), rows.len()));
        }
        let mut cats: Vec<&str> = per_series.iter().map(|p| p.0).collect();
        cats.sort_unstable();
        cats.dedup();
        Ok(cats
            .iter()
            .map(|cat| {
                let col = per_series
                    .iter()
                    .flat_map(|&(v, n)| std::iter::repeat_n((v == *cat) as i32 as f64, n))
                    .collect();
                (format!("{name}={cat}"), col)
            })
            .collect())
    }

    /// Column `c` in series order, parsed and filled per series (missing cells by `fill`, the
    /// rows inserted for missing timestamps by `gaps`); with the number of filled cells.
    pub(super) fn values(
        &self,
        c: usize,
        series: &[SeriesRows],
        fill: Fill,
        gaps: Fill,
    ) -> Result<(Vec<f64>, usize)> {
        let name = &self.header[c];
        let mut out = Vec::with_capacity(self.records.len());
        let mut n_missing = 0;
        let mut col: Vec<Option<f64>> = Vec::new();
        let mut how: Vec<Fill> = Vec::new();
        for SeriesRows { id, rows, .. } in series {
            col.clear();
            how.clear();
            for &r in rows {
                let Some(r) = r else {
                    col.push(None);
                    how.push(gaps);
                    continue;
                };
                let (line, fields) = &self.records[r];
                let s = &fields[c];
                if is_missing(s) {
                    if fill == Fill::None {
                        return Err(self.err(*line, Some(name), format!("missing value '{s}'; pass --fill linear or --fill forward to fill gaps")));
                    }
                    col.push(None);
                    how.push(fill);
                    continue;
                }
                let v: f64 = s
                    .parse()
                    .map_err(|_| self.err(*line, Some(name), format!("'{s}' is not a number")))?;
                if !v.is_finite() {
                    return Err(self.err(*line, Some(name), format!("'{s}' is not finite; replace it with a real value or leave the cell empty and use --fill")));
                }
                col.push(Some(v));
                how.push(Fill::None);
            }
            let missing = col.iter().filter(|v| v.is_none()).count();
            if missing == col.len() {
                let line = rows
                    .iter()
                    .flatten()
                    .next()
                    .map_or(2, |&r| self.records[r].0);
                let what = if id.is_empty() {
                    "every value is missing".to_string()
                } else {
                    format!("every value of series '{id}' is missing; leave the column out with --ignore {name} or drop the series")
                };
                return Err(self.err(line, Some(name), what));
            }
            n_missing += missing;
            fill_gaps(&col, &how, &mut out);
        }
        Ok((out, n_missing))
    }
}

/// One series' rows: a record index, or `None` for a row inserted for a missing timestamp.
pub(super) struct SeriesRows {
    id: String,
    rows: Vec<Option<usize>>,
    times: Vec<Timestamp>,
}

/// Appends `col` to `out` with each `None` cell filled as `how` says for it; at least one value
/// is known.
pub(super) fn fill_gaps(col: &[Option<f64>], how: &[Fill], out: &mut Vec<f64>) {
    let known: Vec<usize> = (0..col.len()).filter(|&i| col[i].is_some()).collect();
    let first = known[0];
    let last = *known.last().unwrap_or(&first);
    let mut prev = first;
    let mut next_k = 0;
    for (i, v) in col.iter().enumerate() {
        if let Some(v) = v {
            out.push(*v);
            prev = i;
            continue;
        }
        let fv = |j: usize| col[j].unwrap_or(0.0);
        let value = if how[i] == Fill::Zero {
            0.0
        } else if i < first {
            fv(first)
        } else if i > last || how[i] == Fill::Forward {
            fv(prev)
        } else {
            while known[next_k] < i {
                next_k += 1;
            }
            let nxt = known[next_k];
            let w = (i - prev) as f64 / (nxt - prev) as f64;
            fv(prev) + w * (fv(nxt) - fv(prev))
        };
        out.push(value);
    }
}
