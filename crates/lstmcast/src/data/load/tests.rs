//! Tests of the loader: CSV layouts, roles, long-format panels, dates, gaps and fills.
use super::*;
use crate::time::Frequency;

fn load_with_future_bytes(
    path: &Path,
    bytes: &[u8],
    opts: &LoadOptions,
) -> Result<(Panel, Option<Panel>)> {
    csv_table(path, bytes)?.into_panels(opts, false)
}

fn parse(text: &str, opts: &LoadOptions) -> Result<Panel> {
    parse_csv(Path::new("t.csv"), text.as_bytes(), opts)
}

fn msg(text: &str, opts: &LoadOptions) -> String {
    parse(text, opts)
        .expect_err("expected an error")
        .to_string()
}

fn target(names: &[&str]) -> LoadOptions {
    LoadOptions {
        target: names.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

#[test]
fn loads_univariate_with_dates() {
    let ts = parse(
        "date,y\n2020-01-01,1\n2020-02-01,2.5\n2020-03-01,3\n",
        &LoadOptions::default(),
    )
    .unwrap();
    assert_eq!(ts.names, vec!["y"]);
    assert_eq!(ts.columns[0], vec![1.0, 2.5, 3.0]);
    assert_eq!(ts.frequency(), Some(Frequency::Months(1)));
    assert_eq!(ts.time_name, "date");
}

#[test]
fn targets_come_first_and_features_default_to_all_numeric() {
    let ts = parse(
        "date,a,b,c\n2020-01-01,1,2,3\n2020-01-02,4,5,6\n",
        &target(&["b"]),
    )
    .unwrap();
    assert_eq!(ts.names, vec!["b", "a", "c"]);
    assert_eq!(ts.n_targets, 1);
    let only = LoadOptions {
        features: vec!["c".into()],
        ..target(&["b"])
    };
    assert_eq!(
        parse("date,a,b,c\n2020-01-01,1,2,3\n2020-01-02,4,5,6\n", &only)
            .unwrap()
            .names,
        vec!["b", "c"]
    );
}

#[test]
fn missing_file_is_io_error_naming_path() {
    let e = load("/nonexistent/dir/x.csv", &LoadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("/nonexistent/dir/x.csv"), "{e}");
}

#[test]
fn a_lone_quote_is_an_error_not_a_panic() {
    // Found by `cargo fuzz run csv` (fuzz/corpus/csv/regression-lone-quote).
    for text in ["\"", "\"\"\n\n", " \"\"\n"] {
        let e = parse_csv(Path::new("q.csv"), text.as_bytes(), &LoadOptions::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("q.csv:1"), "{text:?}: {e}");
    }
}

#[test]
fn empty_and_header_only_files_are_errors() {
    assert!(msg("", &LoadOptions::default()).contains("empty"));
    assert!(msg("date,y\n", &LoadOptions::default()).contains("no data rows"));
}

#[test]
fn non_utf8_is_error_naming_line() {
    let e = parse_csv(
        Path::new("t.csv"),
        b"date,y\n2020-01-01,1\n2020-01-02,\xff\n",
        &LoadOptions::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("t.csv:3") && e.contains("UTF-8"), "{e}");
}

#[test]
fn ragged_row_is_error_naming_line() {
    let e = msg(
        "date,y\n2020-01-01,1\n2020-01-02,2,9\n",
        &LoadOptions::default(),
    );
    assert!(e.contains("t.csv:3") && e.contains("3 fields"), "{e}");
}

#[test]
fn non_numeric_cell_names_line_column_and_value() {
    let e = msg(
        "date,y\n2020-01-01,1\n2020-01-02,abc\n",
        &LoadOptions::default(),
    );
    assert!(
        e.contains("t.csv:3") && e.contains("column 'y'") && e.contains("'abc'"),
        "{e}"
    );
}

#[test]
fn missing_value_without_fill_is_error_and_fill_fills() {
    let text = "date,y\n2020-01-01,1\n2020-01-02,NA\n2020-01-03,\n2020-01-04,4\n";
    let e = msg(text, &LoadOptions::default());
    assert!(e.contains("t.csv:3") && e.contains("--fill"), "{e}");
    let lin = parse(
        text,
        &LoadOptions {
            fill: Fill::Linear,
            ..Default::default()
        },
    )
    .unwrap();
    // Linear between 1 (row 0) and 4 (row 3): 2 and 3, by hand.
    assert_eq!(lin.columns[0], vec![1.0, 2.0, 3.0, 4.0]);
    assert_eq!(lin.filled, vec![2]);
    let fwd = parse(
        text,
        &LoadOptions {
            fill: Fill::Forward,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(fwd.columns[0], vec![1.0, 1.0, 1.0, 4.0]);
}

#[test]
fn infinity_is_always_an_error() {
    for v in ["inf", "-inf", "1e400"] {
        let e = msg(
            &format!("date,y\n2020-01-01,1\n2020-01-02,{v}\n"),
            &LoadOptions {
                fill: Fill::Linear,
                ..Default::default()
            },
        );
        assert!(e.contains("t.csv:3") && e.contains("not finite"), "{e}");
    }
}

#[test]
fn duplicates_name_both_lines_and_unsorted_rows_are_sorted() {
    let e = msg(
        "date,y\n2020-01-01,1\n2020-01-02,2\n2020-01-02,3\n",
        &LoadOptions::default(),
    );
    assert!(
        e.contains("duplicate") && e.contains("t.csv:4") && e.contains("line 3"),
        "{e}"
    );
    let ts = parse(
        "date,y\n2020-01-02,1\n2020-01-01,2\n",
        &LoadOptions::default(),
    )
    .unwrap();
    assert_eq!(ts.columns[0], vec![2.0, 1.0]);
    assert_eq!(ts.timestamps[0].to_string(), "2020-01-01");
}

fn ids(name: &str) -> LoadOptions {
    LoadOptions {
        id_col: Some(name.into()),
        ..Default::default()
    }
}

#[test]
fn long_format_interleaved_or_sorted_gives_the_same_panel() {
    let sorted = "id,ds,y\nb,2020-01-01,1\nb,2020-01-02,2\na,2020-01-02,20\na,2020-01-03,30\n";
    let mixed = "ds,id,y\n2020-01-03,a,30\n2020-01-01,b,1\n2020-01-02,a,20\n2020-01-02,b,2\n";
    let p = parse(sorted, &ids("id")).unwrap();
    let q = parse(mixed, &ids("id")).unwrap();
    assert_eq!(p.ids, vec!["a", "b"]);
    assert_eq!(p.offsets, vec![0, 2, 4]);
    assert_eq!(p.columns, q.columns);
    assert_eq!(p.timestamps, q.timestamps);
    assert_eq!(p.series_column(1, 0), &[1.0, 2.0]);
    assert_eq!(p.frequency(), Some(Frequency::Seconds(86_400)));
    assert_eq!(p.id_name.as_deref(), Some("id"));
}

#[test]
fn a_repeated_series_time_names_both_lines_and_the_series() {
    let e = msg(
        "id,ds,y\na,2020-01-01,1\nb,2020-01-01,2\na,2020-01-01,3\n",
        &ids("id"),
    );
    assert!(
        e.contains("t.csv:4") && e.contains("line 2") && e.contains("series 'a'"),
        "{e}"
    );
}

#[test]
fn a_text_column_is_never_dropped_silently() {
    // The case: a long file read without --id-col.
    let text = "unique_id,ds,y\nA,2020-01-01,1\nA,2020-01-02,2\nB,2020-01-01,3\n";
    let e = msg(text, &LoadOptions::default());
    assert!(
        e.contains("'unique_id'") && e.contains("--id-col unique_id") && e.contains("--ignore"),
        "{e}"
    );
    let p = parse(text, &ids("unique_id")).unwrap();
    assert_eq!((p.n_series(), p.time_name.as_str()), (2, "ds"));
    // Leaving it out on purpose works too (then the rows are one series, so times repeat).
    let ok = "date,label,y\n2020-01-01,x,1\n2020-01-02,y,2\n";
    let p = parse(
        ok,
        &LoadOptions {
            ignore: vec!["label".into()],
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(p.names, vec!["y"]);
}

#[test]
fn a_time_column_that_is_not_first_is_found_and_a_bad_one_is_an_error() {
    let p = parse(
        "y,date\n1,2020-01-01\n2,2020-01-02\n",
        &LoadOptions::default(),
    )
    .unwrap();
    assert_eq!(p.time_name, "date");
    assert_eq!(p.names, vec!["y"]);
    // A common layout that reads every value is recognised, and kept for the output.
    let p = parse(
        "date,y\n01/31/2020,1\n02/01/2020,2\n",
        &LoadOptions::default(),
    )
    .unwrap();
    assert_eq!(p.time_format.as_deref(), Some("%m/%d/%Y"));
    assert_eq!(p.timestamps[1].to_string(), "2020-02-01");
    assert_eq!(p.format_time(&p.timestamps[1]), "02/01/2020");
    let p = parse(
        "date,y\n31.01.2020,1\n01.02.2020,2\n",
        &LoadOptions::default(),
    )
    .unwrap();
    assert_eq!(p.time_format.as_deref(), Some("%d.%m.%Y"));
    let p = parse(
        "month,y\n2020-11,1\n2020-12,2\n2021-01,3\n",
        &LoadOptions::default(),
    )
    .unwrap();
    assert_eq!(p.frequency(), Some(Frequency::Months(1)));
    // Day-first or month-first cannot be told from these values: an error saying how.
    let e = msg(
        "date,y\n01/02/2020,1\n03/04/2020,2\n",
        &LoadOptions::default(),
    );
    assert!(
        e.contains("t.csv:2") && e.contains("--time-format") && e.contains("%d/%m/%Y"),
        "{e}"
    );
    let given = LoadOptions {
        time_format: Some("%d/%m/%Y".into()),
        ..Default::default()
    };
    let p = parse("date,y\n01/02/2020,1\n03/04/2020,2\n", &given).unwrap();
    assert_eq!(p.timestamps[1].to_string(), "2020-04-03");
    let e = msg("date,y\n2020-13-45,1\n", &LoadOptions::default());
    assert!(e.contains("'2020-13-45' is not a timestamp"), "{e}");
}

#[test]
fn fill_gaps_inserts_the_missing_timestamps_of_each_series() {
    // Business days with Wednesday 2021-03-10 missing; a second series with none missing.
    let text = "id,date,y\na,2021-03-08,1\na,2021-03-09,2\na,2021-03-11,4\na,2021-03-12,5\na,2021-03-15,6\nb,2021-03-08,7\nb,2021-03-09,8\n";
    let opts = LoadOptions {
        fill_gaps: Fill::Linear,
        ..ids("id")
    };
    let p = parse(text, &opts).unwrap();
    assert_eq!(p.frequency(), Some(Frequency::BusinessDays));
    assert_eq!(p.series_column(0, 0), &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    assert_eq!(p.series_timestamps(0)[2].to_string(), "2021-03-10");
    assert_eq!(p.filled, vec![1]);
    let zero = parse(
        text,
        &LoadOptions {
            fill_gaps: Fill::Zero,
            ..ids("id")
        },
    )
    .unwrap();
    assert_eq!(zero.series_column(0, 0)[2], 0.0);
    // Daily steps given with --freq: the weekend is inserted too, forward-filled.
    let daily = LoadOptions {
        freq: Some("D".into()),
        fill_gaps: Fill::Forward,
        ..ids("id")
    };
    let p = parse(text, &daily).unwrap();
    assert_eq!(p.series_len(0), 8);
    assert_eq!(p.series_column(0, 0)[5..7], [5.0, 5.0]);
    // A timestamp off the grid is an error naming it.
    let e = msg(
        "date,y\n2021-03-08,1\n2021-03-09T12:00:00,2\n",
        &LoadOptions {
            fill_gaps: Fill::Linear,
            freq: Some("D".into()),
            ..Default::default()
        },
    );
    assert!(
        e.contains("mixes timestamp kinds") || e.contains("not on the grid"),
        "{e}"
    );
}

#[test]
fn fill_never_crosses_series() {
    let text = "id,t,y\na,0,1\na,1,\nb,0,\nb,1,10\n";
    let p = parse(
        text,
        &LoadOptions {
            fill: Fill::Linear,
            ..ids("id")
        },
    )
    .unwrap();
    // a's gap takes a's last value (1), b's leading gap b's first value (10), never 1 ↔ 10.
    assert_eq!(p.columns[0], vec![1.0, 1.0, 10.0, 10.0]);
    assert_eq!(p.filled, vec![2]);
    let e = msg(
        "id,t,y\na,0,1\nb,0,\n",
        &LoadOptions {
            fill: Fill::Linear,
            ..ids("id")
        },
    );
    assert!(e.contains("series 'b'"), "{e}");
}

#[test]
fn unknown_column_lists_available() {
    let e = msg("date,a,b\n2020-01-01,1,2\n", &target(&["zz"]));
    assert!(e.contains("'zz'") && e.contains("date, a, b"), "{e}");
    let e = msg("date,a,b\n2020-01-01,1,2\n", &LoadOptions::default());
    assert!(e.contains("--target") && e.contains("a, b"), "{e}");
}

#[test]
fn rows_are_numbered_when_first_column_is_data() {
    let ts = parse("y\n5\n6\n7\n", &LoadOptions::default()).unwrap();
    assert_eq!(ts.time_name, "row");
    assert_eq!(ts.timestamps[2], Timestamp::Index(2));
    let ts = parse("step,y\n10\t\n", &LoadOptions::default());
    assert!(ts.is_err());
    let ts = parse("step,y\n10,1\n20,2\n", &LoadOptions::default()).unwrap();
    assert_eq!(ts.frequency(), Some(Frequency::Step(10)));
}

#[test]
fn bad_timestamp_is_error_naming_line() {
    let e = msg("date,y\n2020-01-01,1\nsoon,2\n", &LoadOptions::default());
    assert!(
        e.contains("t.csv:3") && e.contains("'soon'") && e.contains("ISO 8601"),
        "{e}"
    );
}

/// A frame handed over column by column reads as the same CSV does (the Python package's path),
/// and its problems name the frame and the 1-based row.
#[test]
fn a_frame_reads_as_its_csv_and_names_its_rows() {
    let text = "id,date,y,promo\nb,2020-01-02,2,1\na,2020-01-01,1,0\nb,2020-01-01,1.5,0\na,2020-01-02,3,1\nb,2020-01-03,,1\n";
    let opts = LoadOptions {
        id_col: Some("id".into()),
        target: vec!["y".into()],
        future_known: vec!["promo".into()],
        ..Default::default()
    };
    let (from_csv, future_csv) =
        load_with_future_bytes(Path::new("data frame"), text.as_bytes(), &opts).unwrap();
    let mut lines = text.lines();
    let header: Vec<String> = lines
        .next()
        .unwrap()
        .split(',')
        .map(str::to_string)
        .collect();
    let rows: Vec<Vec<String>> = lines
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect();
    let frame = Frame {
        name: "data frame".into(),
        columns: (0..header.len())
            .map(|c| rows.iter().map(|r| r[c].clone()).collect())
            .collect(),
        header,
    };
    let (panel, future) = load_frame(&frame, &opts).unwrap();
    assert_eq!(format!("{panel:?}"), format!("{from_csv:?}"));
    assert_eq!(format!("{future:?}"), format!("{future_csv:?}"));
    assert_eq!(panel.ids, vec!["a", "b"]);

    let mut bad = frame.clone();
    bad.columns[2][3] = "warm".into();
    let e = load_frame(&bad, &opts).unwrap_err().to_string();
    assert!(e.starts_with("data frame: row 4, column 'y': "), "{e}");
    // Another place of the frame is named as a row too (the CSV names lines).
    let mut dup = frame.clone();
    dup.columns[1][3] = "2020-01-01".into();
    let e = load_frame(&dup, &opts).unwrap_err().to_string();
    assert!(
        e.starts_with("data frame: row 4, column 'date': duplicate timestamp for series 'a': '2020-01-01' is also on row 2;"),
        "{e}"
    );
    bad.columns[3].pop();
    let e = load_frame(&bad, &opts).unwrap_err().to_string();
    assert!(
        e.contains("column 'promo'") && e.contains("4 values where the first has 5"),
        "{e}"
    );
}
