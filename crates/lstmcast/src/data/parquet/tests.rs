//! Tests of the Parquet reader: files written here with the parquet crate's writer, and files
//! written by pandas, polars and pyarrow (`tests/fixtures/parquet`, made by `make_fixtures.py`).
use super::*;
use ::parquet::basic::Compression;
use ::parquet::data_type::{
    BoolType, ByteArrayType, DoubleType, FixedLenByteArrayType, FloatType, Int32Type, Int64Type,
    Int96Type,
};
use ::parquet::file::properties::WriterProperties;
use ::parquet::file::writer::{SerializedColumnWriter, SerializedFileWriter};
use ::parquet::schema::parser::parse_message_type;
use std::sync::Arc;

/// Bytes of a small file written by pandas/polars/pyarrow (`make_fixtures.py` beside them).
/// The folder is the only line to change when the fixtures move.
macro_rules! fixture {
    ($name:literal) => {
        include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/parquet/",
            $name
        ))
    };
}

/// Test data for one column of one row group.
enum Col {
    Bool(Vec<Option<bool>>),
    I32(Vec<Option<i32>>),
    I64(Vec<Option<i64>>),
    I96(Vec<Option<[u32; 3]>>),
    F32(Vec<Option<f32>>),
    F64(Vec<Option<f64>>),
    Bytes(Vec<Option<&'static [u8]>>),
    Fixed(Vec<Option<Vec<u8>>>),
    /// INT32 leaf with explicit values, definition and repetition levels (nested columns).
    Levels(Vec<i32>, Vec<i16>, Vec<i16>),
}

fn put<T: DataType>(writer: &mut SerializedColumnWriter<'_>, cells: &[Option<T::T>])
where
    T::T: Clone,
{
    let values: Vec<T::T> = cells.iter().flatten().cloned().collect();
    let defs: Vec<i16> = cells.iter().map(|c| i16::from(c.is_some())).collect();
    writer
        .typed::<T>()
        .write_batch(&values, Some(&defs), None)
        .expect("write column");
}

/// Writes a Parquet file with the given schema, one `Vec<Col>` per row group.
fn write_file(schema: &str, compression: Compression, groups: Vec<Vec<Col>>) -> Vec<u8> {
    let schema = Arc::new(parse_message_type(schema).expect("test schema"));
    let props = Arc::new(
        WriterProperties::builder()
            .set_compression(compression)
            .build(),
    );
    let mut buf = Vec::new();
    let mut writer = SerializedFileWriter::new(&mut buf, schema, props).expect("writer");
    for group in groups {
        let mut group_writer = writer.next_row_group().expect("row group");
        let mut cols = group.into_iter();
        while let Some(mut w) = group_writer.next_column().expect("next column") {
            match cols.next().expect("test data for every column") {
                Col::Bool(c) => put::<BoolType>(&mut w, &c),
                Col::I32(c) => put::<Int32Type>(&mut w, &c),
                Col::I64(c) => put::<Int64Type>(&mut w, &c),
                Col::I96(c) => {
                    let c: Vec<Option<Int96>> = c
                        .iter()
                        .map(|v| {
                            v.map(|[a, b, d]| {
                                let mut x = Int96::new();
                                x.set_data(a, b, d);
                                x
                            })
                        })
                        .collect();
                    put::<Int96Type>(&mut w, &c)
                }
                Col::F32(c) => put::<FloatType>(&mut w, &c),
                Col::F64(c) => put::<DoubleType>(&mut w, &c),
                Col::Bytes(c) => {
                    let c: Vec<Option<ByteArray>> = c
                        .iter()
                        .map(|v| v.map(|b| ByteArray::from(b.to_vec())))
                        .collect();
                    put::<ByteArrayType>(&mut w, &c)
                }
                Col::Fixed(c) => {
                    let c: Vec<Option<FixedLenByteArray>> = c
                        .into_iter()
                        .map(|v| v.map(FixedLenByteArray::from))
                        .collect();
                    put::<FixedLenByteArrayType>(&mut w, &c)
                }
                Col::Levels(values, defs, reps) => {
                    let reps = (!reps.is_empty()).then_some(&reps[..]);
                    w.typed::<Int32Type>()
                        .write_batch(&values, Some(&defs), reps)
                        .expect("write nested column");
                }
            }
            w.close().expect("close column");
        }
        group_writer.close().expect("close row group");
    }
    writer.close().expect("close file");
    buf
}

fn s(text: &str) -> Option<String> {
    Some(text.to_string())
}

/// One column of the table, top to bottom.
fn column(table: &ParquetTable, name: &str) -> Vec<Option<String>> {
    let i = table
        .header
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no column {name} in {:?}", table.header));
    table.rows.iter().map(|row| row[i].clone()).collect()
}

const BASIC_SCHEMA: &str = "message m {
    required int32 step;
    optional int32 i32;
    optional int64 i64;
    optional float f32;
    optional double f64;
    optional binary name (STRING);
    optional int32 day (DATE);
    optional int64 ts (TIMESTAMP(MICROS,false));
}";

fn basic_group(offset: i32) -> Vec<Col> {
    vec![
        Col::I32(vec![Some(offset), Some(offset + 1), Some(offset + 2)]),
        Col::I32(vec![Some(12), None, Some(-7)]),
        Col::I64(vec![None, Some(9_007_199_254_740_993), Some(i64::MIN)]),
        Col::F32(vec![Some(1.1), Some(f32::NAN), None]),
        Col::F64(vec![Some(0.1), None, Some(f64::NAN)]),
        Col::Bytes(vec![Some(b"a-1"), Some("é ü".as_bytes()), None]),
        Col::I32(vec![Some(18_292), None, Some(-1)]),
        Col::I64(vec![Some(1_580_472_000_000_000), Some(1_500_000), None]),
    ]
}

fn basic_file(compression: Compression) -> Vec<u8> {
    write_file(BASIC_SCHEMA, compression, vec![basic_group(0)])
}

#[test]
fn reads_basic_types_with_nulls() {
    for compression in [
        Compression::UNCOMPRESSED,
        Compression::SNAPPY,
        Compression::ZSTD(Default::default()),
    ] {
        let table = read_parquet(&basic_file(compression)).expect("readable");
        assert_eq!(
            table.header,
            ["step", "i32", "i64", "f32", "f64", "name", "day", "ts"]
        );
        assert_eq!(
            table.rows,
            vec![
                vec![
                    s("0"),
                    s("12"),
                    None,
                    s("1.1"),
                    s("0.1"),
                    s("a-1"),
                    s("2020-01-31"),
                    s("2020-01-31T12:00:00"),
                ],
                vec![
                    s("1"),
                    None,
                    s("9007199254740993"),
                    s("NaN"),
                    None,
                    s("é ü"),
                    None,
                    s("1970-01-01T00:00:01.500"),
                ],
                vec![
                    s("2"),
                    s("-7"),
                    s("-9223372036854775808"),
                    None,
                    s("NaN"),
                    None,
                    s("1969-12-31"),
                    None,
                ],
            ],
            "{compression:?}"
        );
    }
}

#[test]
fn reads_every_row_group_in_order() {
    let groups = (0..4).map(|g| basic_group(g * 3)).collect();
    let table =
        read_parquet(&write_file(BASIC_SCHEMA, Compression::SNAPPY, groups)).expect("readable");
    assert_eq!(table.rows.len(), 12);
    let steps: Vec<Option<String>> = (0..12).map(|i| Some(i.to_string())).collect();
    assert_eq!(column(&table, "step"), steps);
    assert!(table.rows.iter().all(|row| row.len() == 8));
    assert_eq!(column(&table, "i32")[10], None);
    assert_eq!(column(&table, "name")[9], s("a-1"));
}

#[test]
fn reads_a_file_with_no_rows() {
    let file = write_file(
        "message m { optional double x; optional binary y (STRING); }",
        Compression::UNCOMPRESSED,
        vec![],
    );
    let table = read_parquet(&file).expect("readable");
    assert_eq!(table.header, ["x", "y"]);
    assert!(table.rows.is_empty());
}

#[test]
fn reads_large_columns_across_batches_and_pages() {
    let n = 3 * BATCH as i64 + 17;
    let file = write_file(
        "message m { optional int64 x; required double y; }",
        Compression::ZSTD(Default::default()),
        vec![vec![
            Col::I64((0..n).map(|i| (i % 5 != 0).then_some(i)).collect()),
            Col::F64((0..n).map(|i| Some(i as f64 / 4.0)).collect()),
        ]],
    );
    let table = read_parquet(&file).expect("readable");
    assert_eq!(table.rows.len(), n as usize);
    for (i, row) in table.rows.iter().enumerate() {
        let x = (i % 5 != 0).then(|| i.to_string());
        assert_eq!(row[0], x, "row {i}");
        assert_eq!(row[1], Some((i as f64 / 4.0).to_string()), "row {i}");
    }
}

#[test]
fn timestamps_in_every_unit_with_and_without_utc() {
    let file = write_file(
        "message m {
            optional int64 ms_utc (TIMESTAMP(MILLIS,true));
            optional int64 us (TIMESTAMP(MICROS,false));
            optional int64 ns_utc (TIMESTAMP(NANOS,true));
            optional int64 ns (TIMESTAMP(NANOS,false));
        }",
        Compression::SNAPPY,
        vec![vec![
            Col::I64(vec![Some(1_580_472_000_123), Some(-1), None]),
            Col::I64(vec![Some(1_580_472_000_000_001), Some(-1), Some(0)]),
            Col::I64(vec![Some(1_580_472_000_000_000_007), Some(-1_000), Some(1)]),
            Col::I64(vec![
                Some(i64::MAX),
                Some(i64::MIN),
                Some(86_400_000_000_000),
            ]),
        ]],
    );
    let table = read_parquet(&file).expect("readable");
    assert_eq!(
        column(&table, "ms_utc"),
        [
            s("2020-01-31T12:00:00.123Z"),
            s("1969-12-31T23:59:59.999Z"),
            None
        ]
    );
    assert_eq!(
        column(&table, "us"),
        [
            s("2020-01-31T12:00:00.000001"),
            s("1969-12-31T23:59:59.999999"),
            s("1970-01-01T00:00:00"),
        ]
    );
    assert_eq!(
        column(&table, "ns_utc"),
        [
            s("2020-01-31T12:00:00.000000007Z"),
            s("1969-12-31T23:59:59.999999Z"),
            s("1970-01-01T00:00:00.000000001Z"),
        ]
    );
    assert_eq!(
        column(&table, "ns"),
        [
            s("2262-04-11T23:47:16.854775807"),
            s("1677-09-21T00:12:43.145224192"),
            s("1970-01-02T00:00:00"),
        ]
    );
}

#[test]
fn legacy_converted_types_and_int96() {
    let file = write_file(
        "message m {
            optional int64 ts (TIMESTAMP_MILLIS);
            optional int32 u8 (UINT_8);
            optional int64 u64 (UINT_64);
            optional binary text (UTF8);
            optional binary raw;
            optional int96 legacy;
            optional int32 t (TIME_MILLIS);
        }",
        Compression::UNCOMPRESSED,
        vec![vec![
            Col::I64(vec![Some(86_400_000), None]),
            Col::I32(vec![Some(255), None]),
            Col::I64(vec![Some(-1), Some(42)]),
            Col::Bytes(vec![Some(b"x"), None]),
            Col::Bytes(vec![Some(b"plain"), Some(b"")]),
            // 2020-01-31T12:00:00.5: Julian day 2458880, 43200.5 s of the day.
            Col::I96(vec![
                Some([
                    (43_200_500_000_000u64 & 0xffff_ffff) as u32,
                    (43_200_500_000_000u64 >> 32) as u32,
                    2_458_880,
                ]),
                None,
            ]),
            Col::I32(vec![Some(3_723_004), Some(0)]),
        ]],
    );
    let table = read_parquet(&file).expect("readable");
    assert_eq!(
        table.rows,
        vec![
            vec![
                s("1970-01-02T00:00:00Z"),
                s("255"),
                s("18446744073709551615"),
                s("x"),
                s("plain"),
                s("2020-01-31T12:00:00.500"),
                s("01:02:03.004Z"),
            ],
            vec![None, None, s("42"), None, s(""), None, s("00:00:00Z")],
        ]
    );
}

#[test]
fn decimals_uuid_float16_booleans_and_times() {
    let file = write_file(
        "message m {
            optional int32 d32 (DECIMAL(9,2));
            optional int64 d64 (DECIMAL(18,4));
            optional fixed_len_byte_array(9) dfix (DECIMAL(20,3));
            optional binary dvar (DECIMAL(30,0));
            optional fixed_len_byte_array(16) id (UUID);
            optional fixed_len_byte_array(2) half (FLOAT16);
            optional boolean flag;
            optional int64 t_us (TIME(MICROS,false));
            optional int32 small (INTEGER(8,true));
            optional int32 ushort (INTEGER(16,false));
        }",
        Compression::SNAPPY,
        vec![vec![
            Col::I32(vec![Some(1250), Some(-5), None]),
            Col::I64(vec![Some(1), Some(-123_456_789), Some(0)]),
            Col::Fixed(vec![
                Some(vec![0, 0, 0, 0, 0, 0, 0, 0x30, 0x39]),
                Some(vec![0xff; 9]),
                None,
            ]),
            Col::Bytes(vec![Some(&[0x01, 0x00]), Some(&[0x80]), None]),
            Col::Fixed(vec![Some((0u8..16).collect()), None, None]),
            Col::Fixed(vec![
                Some(vec![0x00, 0x3c]),
                Some(vec![0x00, 0x7e]),
                Some(vec![0x66, 0x2e]),
            ]),
            Col::Bool(vec![Some(true), Some(false), None]),
            Col::I64(vec![Some(45_296_000_001), None, Some(0)]),
            Col::I32(vec![Some(-128), Some(127), None]),
            Col::I32(vec![Some(65_535), None, Some(0)]),
        ]],
    );
    let table = read_parquet(&file).expect("readable");
    assert_eq!(column(&table, "d32"), [s("12.50"), s("-0.05"), None]);
    assert_eq!(
        column(&table, "d64"),
        [s("0.0001"), s("-12345.6789"), s("0.0000")]
    );
    assert_eq!(column(&table, "dfix"), [s("12.345"), s("-0.001"), None]);
    assert_eq!(column(&table, "dvar"), [s("256"), s("-128"), None]);
    assert_eq!(
        column(&table, "id"),
        [s("00010203-0405-0607-0809-0a0b0c0d0e0f"), None, None]
    );
    assert_eq!(column(&table, "half"), [s("1"), s("NaN"), s("0.099975586")]);
    assert_eq!(column(&table, "flag"), [s("true"), s("false"), None]);
    assert_eq!(
        column(&table, "t_us"),
        [s("12:34:56.000001"), None, s("00:00:00")]
    );
    assert_eq!(column(&table, "small"), [s("-128"), s("127"), None]);
    assert_eq!(column(&table, "ushort"), [s("65535"), None, s("0")]);
}

#[test]
fn nested_columns_are_rejected_by_name() {
    let list = write_file(
        "message m {
            optional int32 a;
            optional group tags (LIST) { repeated group list { optional int32 element; } }
        }",
        Compression::UNCOMPRESSED,
        vec![vec![
            Col::I32(vec![Some(1), Some(2)]),
            Col::Levels(vec![7, 8, 9], vec![3, 3, 3], vec![0, 1, 0]),
        ]],
    );
    assert_eq!(
        read_parquet(&list),
        Err("column 'tags' has type LIST, which lstmcast cannot read; \
             flatten it or drop the column"
            .to_string())
    );

    let map = write_file(
        "message m {
            optional group kv (MAP) {
                repeated group key_value { required int32 key; optional int32 value; }
            }
        }",
        Compression::UNCOMPRESSED,
        vec![vec![
            Col::Levels(vec![1], vec![2], vec![0]),
            Col::Levels(vec![2], vec![3], vec![0]),
        ]],
    );
    let err = read_parquet(&map).expect_err("map rejected");
    assert!(err.starts_with("column 'kv' has type MAP,"), "{err}");

    let record = write_file(
        "message m { optional group point { optional int32 x; optional int32 y; } }",
        Compression::UNCOMPRESSED,
        vec![vec![
            Col::Levels(vec![1], vec![2], vec![]),
            Col::Levels(vec![2], vec![2], vec![]),
        ]],
    );
    let err = read_parquet(&record).expect_err("struct rejected");
    assert!(err.starts_with("column 'point' has type STRUCT,"), "{err}");

    let repeated = write_file(
        "message m { optional int32 a; repeated int32 r; }",
        Compression::UNCOMPRESSED,
        vec![vec![
            Col::I32(vec![Some(1)]),
            Col::Levels(vec![1, 2], vec![1, 1], vec![0, 1]),
        ]],
    );
    let err = read_parquet(&repeated).expect_err("repeated rejected");
    assert!(
        err.starts_with("column 'r' has type LIST (a repeated INT32),"),
        "{err}"
    );
    assert!(err.ends_with("flatten it or drop the column"), "{err}");
}

#[test]
fn bad_cells_are_reported_with_column_and_row() {
    let groups = vec![
        vec![Col::Bytes(vec![Some(b"ok"), Some(b"ok")])],
        vec![Col::Bytes(vec![Some(b"ok"), Some(&[0xff, 0xfe])])],
    ];
    let text = write_file(
        "message m { optional binary id (STRING); }",
        Compression::UNCOMPRESSED,
        groups,
    );
    let err = read_parquet(&text).expect_err("invalid UTF-8");
    assert!(
        err.starts_with("column 'id', row 4: the text is not valid UTF-8"),
        "{err}"
    );

    let raw = write_file(
        "message m { optional binary blob; }",
        Compression::UNCOMPRESSED,
        vec![vec![Col::Bytes(vec![Some(&[0xc3, 0x28])])]],
    );
    let err = read_parquet(&raw).expect_err("binary");
    assert!(
        err.starts_with("column 'blob', row 1: the column holds raw binary"),
        "{err}"
    );

    let fixed = write_file(
        "message m { optional fixed_len_byte_array(4) f; }",
        Compression::UNCOMPRESSED,
        vec![vec![Col::Fixed(vec![Some(vec![1, 2, 3, 4])])]],
    );
    let err = read_parquet(&fixed).expect_err("fixed");
    assert!(
        err.starts_with("column 'f' has type FIXED_LEN_BYTE_ARRAY (raw bytes), which lstmcast"),
        "{err}"
    );
}

#[test]
fn garbage_empty_and_truncated_input_are_errors() {
    assert_eq!(
        read_parquet(b""),
        Err("the file is empty (0 bytes), not a Parquet file".to_string())
    );
    let err = read_parquet(b"date,value\n2020-01-01,1\n").expect_err("csv");
    assert!(err.starts_with("not a Parquet file (bad magic"), "{err}");
    let err = read_parquet(&[0u8; 64]).expect_err("zeros");
    assert!(err.starts_with("not a Parquet file (bad magic"), "{err}");
    for short in [&b"PAR1"[..], b"PAR1PAR1", b"PAR1\0\0\0\0PAR1"] {
        assert!(read_parquet(short).is_err(), "{short:?}");
    }
    let file = basic_file(Compression::SNAPPY);
    let err = read_parquet(&file[..file.len() - 1]).expect_err("truncated");
    assert!(err.starts_with("truncated Parquet file"), "{err}");
    let err = read_parquet(&file[..file.len() / 2]).expect_err("truncated");
    assert!(err.starts_with("truncated Parquet file"), "{err}");
    // Footer intact, data pages cut out: the decoder reports it.
    let mut holed = file[..4].to_vec();
    holed.extend_from_slice(&file[file.len() / 2..]);
    assert!(read_parquet(&holed).is_err());
    let mut encrypted = file.clone();
    encrypted[..4].copy_from_slice(b"PARE");
    let err = read_parquet(&encrypted).expect_err("encrypted");
    assert!(err.starts_with("encrypted Parquet file"), "{err}");
}

#[test]
fn every_truncation_is_an_error() {
    let file = basic_file(Compression::SNAPPY);
    for len in 0..file.len() {
        assert!(read_parquet(&file[..len]).is_err(), "prefix of {len} bytes");
    }
    for start in 1..file.len() {
        assert!(read_parquet(&file[start..]).is_err(), "suffix from {start}");
    }
}

#[test]
fn corrupted_bytes_never_panic() {
    for file in [
        basic_file(Compression::UNCOMPRESSED),
        basic_file(Compression::SNAPPY),
    ] {
        for i in 4..file.len() - 4 {
            for flip in [0x01u8, 0x80, 0xff] {
                let mut bad = file.clone();
                bad[i] ^= flip;
                // Either a table or a message, never a panic.
                match read_parquet(&bad) {
                    Ok(table) => assert_eq!(table.header.len(), table.rows[0].len()),
                    Err(msg) => assert!(!msg.is_empty()),
                }
            }
        }
    }
}

#[test]
fn unsupported_codecs_are_named() {
    for (name, bytes) in [
        ("BROTLI", &fixture!("pyarrow_brotli.parquet")[..]),
        ("GZIP", &fixture!("pyarrow_gzip.parquet")[..]),
    ] {
        let err = read_parquet(bytes).expect_err("unsupported codec");
        assert!(
            err.starts_with(&format!(
                "column 'value' is compressed with {name}, which lstmcast cannot read; \
                 save the file with snappy or zstd compression"
            )),
            "{err}"
        );
    }
}

#[test]
fn reads_pandas_snappy_file() {
    // pandas 2 / pyarrow, default snappy, row_group_size=2 (see fixtures/make_fixtures.py).
    let table = read_parquet(fixture!("pandas_snappy.parquet")).expect("readable");
    assert_eq!(
        table.header,
        ["id", "date", "ts", "ts_utc", "value", "f32", "count"]
    );
    assert_eq!(
        column(&table, "id"),
        [s("a1"), s("b2"), None, s("d4"), s("e5")]
    );
    assert_eq!(
        column(&table, "date"),
        [
            s("2020-01-31"),
            s("1969-12-31"),
            None,
            s("2000-02-29"),
            s("2020-02-01")
        ]
    );
    assert_eq!(
        column(&table, "ts"),
        [
            s("2020-01-31T12:00:00"),
            s("2020-01-31T12:00:00.500"),
            None,
            s("1969-12-31T23:59:59.000001"),
            s("2020-02-01T00:00:00.000000001"),
        ]
    );
    assert_eq!(
        column(&table, "ts_utc"),
        [
            s("2020-01-31T12:00:00Z"),
            s("2020-01-31T12:00:00.500Z"),
            None,
            s("1969-12-31T23:59:59.000001Z"),
            s("2020-02-01T00:00:00.000000001Z"),
        ]
    );
    // pandas turns NaN into null when writing floats.
    assert_eq!(
        column(&table, "value"),
        [s("1.5"), None, s("3.25"), s("-0.1"), s("0.0000001")]
    );
    assert_eq!(
        column(&table, "f32"),
        [s("1.1"), s("2.5"), None, s("0.1"), s("-0")]
    );
    assert_eq!(
        column(&table, "count"),
        [s("1"), None, s("3"), s("-4"), s("5")]
    );
}

#[test]
fn reads_polars_zstd_file() {
    // polars, default zstd (see fixtures/make_fixtures.py).
    let table = read_parquet(fixture!("polars_zstd.parquet")).expect("readable");
    assert_eq!(
        table.header,
        [
            "id",
            "date",
            "ts",
            "ts_ms_utc",
            "ts_ns",
            "value",
            "n",
            "f32"
        ]
    );
    assert_eq!(column(&table, "id"), [s("x1"), s("x2"), s("x3"), None]);
    assert_eq!(
        column(&table, "date"),
        [s("2021-03-01"), None, s("2021-03-03"), s("2021-03-04")]
    );
    assert_eq!(
        column(&table, "ts"),
        [
            s("2021-03-01T00:00:00"),
            s("2021-03-01T01:30:15.250"),
            None,
            s("2021-03-01T03:00:00.000001"),
        ]
    );
    assert_eq!(
        column(&table, "ts_ms_utc"),
        [
            s("2021-03-01T00:00:00Z"),
            s("2021-03-01T01:30:15.250Z"),
            None,
            s("2021-03-01T03:00:00Z"),
        ]
    );
    assert_eq!(
        column(&table, "ts_ns"),
        [
            s("2021-03-01T00:00:00"),
            s("2021-03-01T01:30:15.250"),
            None,
            s("2021-03-01T03:00:00.000001"),
        ]
    );
    // polars keeps NaN apart from null.
    assert_eq!(
        column(&table, "value"),
        [s("1"), s("NaN"), None, s("0.0000001")]
    );
    assert_eq!(column(&table, "n"), [s("1"), s("2"), None, s("-4")]);
    assert_eq!(column(&table, "f32"), [s("1.1"), None, s("3"), s("NaN")]);
}

#[test]
fn reads_legacy_pyarrow_file() {
    // pyarrow, format 1.0, INT96 timestamps, DECIMAL as FIXED_LEN_BYTE_ARRAY, uncompressed.
    let table = read_parquet(fixture!("pyarrow_legacy.parquet")).expect("readable");
    assert_eq!(table.header, ["ts", "price", "u8", "u64", "flag", "empty"]);
    assert_eq!(
        column(&table, "ts"),
        [
            s("2020-01-31T12:00:00"),
            s("1999-12-31T23:59:59.123456789"),
            None
        ]
    );
    assert_eq!(column(&table, "price"), [s("12.50"), s("-0.05"), None]);
    assert_eq!(column(&table, "u8"), [s("255"), s("0"), None]);
    assert_eq!(
        column(&table, "u64"),
        [s("18446744073709551615"), s("1"), None]
    );
    assert_eq!(column(&table, "flag"), [s("true"), s("false"), None]);
    assert_eq!(column(&table, "empty"), [None, None, None]);
}

#[test]
fn list_column_from_polars_is_rejected() {
    let err = read_parquet(fixture!("polars_list.parquet")).expect_err("list");
    assert_eq!(
        err,
        "column 'tags' has type LIST, which lstmcast cannot read; flatten it or drop the column"
    );
}

#[test]
fn float_text_is_shortest_round_trip() {
    assert_eq!(format_f32(1.1), "1.1");
    assert_eq!("1.1".parse::<f32>(), Ok(1.1f32));
    assert_eq!(format_f32(f32::MAX), f32::MAX.to_string());
    assert_eq!(format_f64(1.0), "1");
    assert_eq!(format_f64(-0.0), "-0");
    assert_eq!(format_f64(f64::INFINITY), "inf");
    assert_eq!(format_f64(-f64::NAN), "NaN");
    assert_eq!(format_f32(f32::NAN), "NaN");
    assert_eq!(f16_to_f32(0x3c00), 1.0);
    assert_eq!(f16_to_f32(0xc000), -2.0);
    assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
    assert_eq!(f16_to_f32(0x7bff), 65_504.0);
    assert_eq!(f16_to_f32(0xfc00), f32::NEG_INFINITY);
}

#[test]
fn decimal_text() {
    assert_eq!(format_decimal(0, 0), "0");
    assert_eq!(format_decimal(-7, 0), "-7");
    assert_eq!(format_decimal(5, 3), "0.005");
    assert_eq!(format_decimal(-12_345, 2), "-123.45");
    assert_eq!(
        format_decimal(i128::MIN, 38),
        "-1.70141183460469231731687303715884105728"
    );
    assert_eq!(decimal_from_be_bytes(&[]), Some(0));
    assert_eq!(decimal_from_be_bytes(&[0xff]), Some(-1));
    assert_eq!(decimal_from_be_bytes(&[0x7f, 0xff]), Some(32_767));
    let mut wide = vec![0xff; 4];
    wide.extend_from_slice(&i128::MIN.to_be_bytes());
    assert_eq!(decimal_from_be_bytes(&wide), Some(i128::MIN));
    let mut wide = vec![0xff; 4];
    wide.extend_from_slice(&i128::MAX.to_be_bytes());
    assert_eq!(decimal_from_be_bytes(&wide), None);
    let mut wide = vec![0xff; 4];
    wide.extend_from_slice(&(-5i128).to_be_bytes());
    assert_eq!(decimal_from_be_bytes(&wide), Some(-5));
    let mut wide = vec![0x00, 0x01];
    wide.extend_from_slice(&[0; 16]);
    assert_eq!(decimal_from_be_bytes(&wide), None);
}

#[test]
fn dates_match_chrono() {
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch");
    for days in (-800_000i64..3_000_000)
        .step_by(97)
        .chain([-719_528, -719_529, 0, 59, 60])
    {
        let expected = (epoch + chrono::Duration::days(days))
            .format("%Y-%m-%d")
            .to_string();
        assert_eq!(format_date(days), expected, "day {days}");
    }
    assert_eq!(format_date(i64::from(i32::MAX)), "+5881580-07-11");
    assert_eq!(format_date(i64::from(i32::MIN)), "-5877641-06-23");
    assert_eq!(
        format_timestamp(i64::MAX, Unit::Millis, true),
        "+292278994-08-17T07:12:55.807Z"
    );
    assert_eq!(
        format_timestamp(i64::MIN, Unit::Millis, false),
        "-292275055-05-16T16:47:04.192"
    );
}

/// The same long-format panel as CSV and as Parquet (rows interleaved, a DATE column, a
/// string id, a double target with one null) loads into the same panel, and a bad cell is
/// reported with its row and column.
#[test]
fn a_parquet_panel_loads_like_the_same_csv() {
    use crate::data::{load, Fill, LoadOptions};
    let schema = "message m {
        required binary city (STRING);
        required int32 date (DATE);
        optional double temp;
        optional binary note (STRING);
    }";
    // 2020-01-01 is day 18262; rows interleaved over two cities, Oslo's second value missing.
    let ids: Vec<Option<&'static [u8]>> = (0..6)
        .map(|i| {
            Some(if i % 2 == 0 {
                &b"Rome"[..]
            } else {
                &b"Oslo"[..]
            })
        })
        .collect();
    let days: Vec<Option<i32>> = (0..6).map(|i| Some(18262 + i / 2)).collect();
    let temps = vec![
        Some(10.5),
        Some(-3.0),
        Some(11.0),
        None,
        Some(12.5),
        Some(-1.0),
    ];
    let notes: Vec<Option<&'static [u8]>> = vec![Some(b"a"), None, None, None, None, None];
    let bytes = write_file(
        schema,
        Compression::SNAPPY,
        vec![vec![
            Col::Bytes(ids),
            Col::I32(days),
            Col::F64(temps),
            Col::Bytes(notes),
        ]],
    );
    let dir = tempfile::tempdir().unwrap();
    let pq = dir.path().join("panel.parquet");
    std::fs::write(&pq, &bytes).unwrap();
    let csv = dir.path().join("panel.csv");
    std::fs::write(
        &csv,
        "city,date,temp,note\nRome,2020-01-01,10.5,a\nOslo,2020-01-01,-3,\nRome,2020-01-02,11,\nOslo,2020-01-02,,\nRome,2020-01-03,12.5,\nOslo,2020-01-03,-1,\n",
    )
    .unwrap();
    let opts = LoadOptions {
        id_col: Some("city".into()),
        ignore: vec!["note".into()],
        fill: Fill::Linear,
        ..Default::default()
    };
    let (a, b) = (load(&pq, &opts).unwrap(), load(&csv, &opts).unwrap());
    assert_eq!(a.ids, vec!["Oslo", "Rome"]);
    assert_eq!(
        (&a.columns, &a.timestamps, &a.offsets),
        (&b.columns, &b.timestamps, &b.offsets)
    );
    // Oslo: -3, (filled) -2, -1.
    assert_eq!(a.series_column(0, 0), &[-3.0, -2.0, -1.0]);
    // Without --fill, the missing value names its row (the 4th data row) and column.
    let e = load(
        &pq,
        &LoadOptions {
            fill: Fill::None,
            ..opts.clone()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("panel.parquet: row 4, column 'temp'") && e.contains("--fill"),
        "{e}"
    );
    // The undeclared text column is refused, as in a CSV.
    let e = load(
        &pq,
        &LoadOptions {
            ignore: vec![],
            ..opts
        },
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("column 'note'") && e.contains("--ignore note"),
        "{e}"
    );
    // Not a Parquet file, though it starts like one: a clean error naming the file.
    let bad = dir.path().join("bad.parquet");
    std::fs::write(&bad, b"PAR1 and then nothing").unwrap();
    let e = load(&bad, &LoadOptions::default()).unwrap_err().to_string();
    assert!(e.starts_with(&bad.display().to_string()), "{e}");
}

#[test]
fn a_decoder_panic_is_an_error_naming_the_column() {
    // A corpus file with a few bytes changed, on which the parquet crate's dictionary decoder
    // panics ("Decoder for dict should have been set"); kept as a fuzz regression input.
    let bytes = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fuzz/corpus/parquet/regression-decoder-panic.parquet"),
    )
    .unwrap();
    let e = read_parquet(&bytes).unwrap_err();
    assert_eq!(
        e,
        "corrupt Parquet file: the Parquet decoder failed in column 'u64' of row group 1; re-export the file"
    );
    // Twice: the hook and the flags are left as they were.
    assert_eq!(read_parquet(&bytes).unwrap_err(), e);
}
