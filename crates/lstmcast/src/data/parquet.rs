//! Reading Parquet files as text cells, so that Parquet input can go through the same
//! validation pipeline as CSV input.
//!
//! Only flat tables are read: every top-level column must be a plain (non-repeated) primitive
//! column. Nested columns (LIST, MAP, STRUCT, repeated fields) are rejected with an error that
//! names the column.
//!
//! # Cell text
//!
//! | Parquet type                               | text                                                  |
//! |--------------------------------------------|-------------------------------------------------------|
//! | null                                       | `None`                                                |
//! | BOOLEAN                                    | `true` / `false`                                      |
//! | INT32 / INT64 (signed or unsigned, any width) | decimal, `12`, `-3`, `18446744073709551615`        |
//! | FLOAT (f32)                                | `f32::to_string()` of the f32 itself: a stored `1.1f32` gives `1.1` (the shortest text that parses back to the same f32, not the f64 widening `1.100000023841858`) |
//! | DOUBLE (f64)                               | `f64::to_string()`: shortest round-trip text, never exponent notation |
//! | FLOAT16                                    | `f32::to_string()` of its exact f32 value             |
//! | NaN (any float type)                       | `NaN` (the pipeline treats it as a missing value); infinities are `inf` / `-inf` |
//! | STRING / ENUM / JSON, and unannotated BYTE_ARRAY holding UTF-8 | the text as is                    |
//! | DATE                                       | `YYYY-MM-DD`                                          |
//! | TIMESTAMP (millis, micros, nanos), INT96   | `YYYY-MM-DDTHH:MM:SS`, then `.fff`, `.ffffff` or `.fffffffff` (3, 6 or 9 digits, as few as hold the value) only when the fraction is nonzero, then `Z` when the column is UTC-adjusted |
//! | TIME (millis, micros, nanos)               | `HH:MM:SS` with the same fraction and `Z` rules        |
//! | DECIMAL (INT32, INT64, BYTE_ARRAY, FIXED_LEN_BYTE_ARRAY) | decimal text with exactly `scale` fraction digits, `-12.50` |
//! | UUID                                       | `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` (lowercase hex) |
//!
//! Years outside 0000..=9999 are written as chrono writes them (`+10000-01-01`, `-0001-01-01`).
//! Legacy columns that carry only a converted type (no logical type) are read by the Parquet
//! specification's rules: `TIMESTAMP_MILLIS` / `TIMESTAMP_MICROS` are UTC-adjusted (`Z`).
//! INT96 timestamps (old Spark/Impala/pandas files) have no time-zone flag and are written without
//! `Z`, as pyarrow reads them.
//!
//! Rejected with an error naming the column: nested and repeated columns, raw binary that is not
//! UTF-8 text, BSON, INTERVAL, unannotated FIXED_LEN_BYTE_ARRAY, VARIANT and geospatial types, and
//! column chunks compressed with a codec this build cannot decompress (only uncompressed, snappy
//! and zstd are enabled: the defaults of pandas/pyarrow and polars).

// `::parquet` names the crate explicitly: this module may itself be called `parquet`.
use ::parquet::basic::{
    Compression, ConvertedType, LogicalType, Repetition, TimeUnit, Type as PhysicalType,
};
use ::parquet::column::reader::{ColumnReader, ColumnReaderImpl};
use ::parquet::data_type::{ByteArray, DataType, FixedLenByteArray, Int96};
use ::parquet::errors::ParquetError;
use ::parquet::file::reader::{FileReader, SerializedFileReader};
use ::parquet::schema::types::{ColumnDescriptor, Type as SchemaType};
use bytes::Bytes;
use std::fmt::Write as _;
use std::panic::{self, AssertUnwindSafe};

/// A table read from a Parquet file: column names, and per row the cells as text
/// (None for a null). Row r (0-based) is reported to users as "row r+1".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParquetTable {
    /// Column names, in file order (the top-level fields of the Parquet schema).
    pub header: Vec<String>,
    /// One entry per row, each with one cell per column of `header`; `None` is a null.
    pub rows: Vec<Vec<Option<String>>>,
}

/// Reads every row group of the file.
///
/// Errors: a String message naming what is wrong and what to do (e.g. "not a Parquet file (bad
/// magic)", "column 'x' has type LIST, which lstmcast cannot read; flatten it or drop the column",
/// unsupported compression codec, truncated file). Never panics, on any bytes: besides checking
/// everything it reads, it turns a panic inside the Parquet decoder into an error (this relies on
/// the default `panic = "unwind"`).
pub fn read_parquet(bytes: &[u8]) -> Result<ParquetTable, String> {
    check_magic(bytes)?;
    quiet_panics();
    QUIET.with(|q| q.set(true));
    PLACE.with(|p| p.borrow_mut().clear());
    let result = panic::catch_unwind(AssertUnwindSafe(|| read_table(bytes)));
    QUIET.with(|q| q.set(false));
    match result {
        Ok(result) => result,
        Err(_) => {
            let place = PLACE.with(|p| std::mem::take(&mut *p.borrow_mut()));
            let place = if place.is_empty() {
                String::new()
            } else {
                format!(" in {place}")
            };
            Err(format!(
                "corrupt Parquet file: the Parquet decoder failed{place}; re-export the file"
            ))
        }
    }
}

thread_local! {
    /// Set while this thread reads a Parquet file: a panic of the decoder is caught and turned
    /// into an error, so its text must not reach the user's terminal.
    static QUIET: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// What this thread is decoding (a column of a row group), for the error a panic becomes.
    static PLACE: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

/// Installs, once per process, a panic hook that says nothing for a panic on a thread inside
/// [`read_parquet`] (it is caught and becomes an error naming the file and the column) and
/// hands every other panic to the hook that was there before.
fn quiet_panics() {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !QUIET.with(std::cell::Cell::get) {
                previous(info);
            }
        }));
    });
}

/// The 4-byte marker at both ends of a Parquet file.
const MAGIC: &[u8; 4] = b"PAR1";
/// The marker of a Parquet file with an encrypted footer.
const MAGIC_ENCRYPTED: &[u8; 4] = b"PARE";
/// Smallest possible file: leading magic, footer length, trailing magic.
const MIN_LEN: usize = 12;
/// Values decoded per call to the column reader.
const BATCH: usize = 4096;
/// Largest decimal scale accepted (Parquet's DECIMAL(76, s) is the widest anyone writes).
const MAX_SCALE: i32 = 76;

/// Cheap checks on the file's ends, for clear messages before the decoder sees the bytes.
fn check_magic(bytes: &[u8]) -> Result<(), String> {
    if bytes.is_empty() {
        return Err("the file is empty (0 bytes), not a Parquet file".to_string());
    }
    if bytes.starts_with(MAGIC_ENCRYPTED) {
        return Err(
            "encrypted Parquet file: lstmcast cannot read encrypted files; save it without encryption"
                .to_string(),
        );
    }
    if !bytes.starts_with(MAGIC) {
        return Err(
            "not a Parquet file (bad magic): it does not start with PAR1; check the path, \
             or give a CSV file as CSV"
                .to_string(),
        );
    }
    if bytes.len() < MIN_LEN || !(bytes.ends_with(MAGIC) || bytes.ends_with(MAGIC_ENCRYPTED)) {
        return Err(format!(
            "truncated Parquet file: {} bytes and no Parquet footer (PAR1) at the end; \
             the file is incomplete, copy or export it again",
            bytes.len()
        ));
    }
    if bytes.ends_with(MAGIC_ENCRYPTED) {
        return Err(
            "encrypted Parquet file: lstmcast cannot read encrypted files; save it without encryption"
                .to_string(),
        );
    }
    Ok(())
}

/// Message for an error from the Parquet decoder.
fn corrupt(err: &ParquetError) -> String {
    let detail = err.to_string();
    if matches!(err, ParquetError::EOF(_)) || detail.contains("EOF") {
        format!("truncated or corrupt Parquet file ({detail}); copy or export it again")
    } else {
        format!("corrupt Parquet file ({detail}); re-export it")
    }
}

/// How the values of one column become text; decided once per column from its schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// BOOLEAN.
    Bool,
    /// INT32 / INT64 integers; `unsigned` reinterprets the bits as unsigned.
    Int { unsigned: bool },
    /// FLOAT or DOUBLE.
    Float,
    /// FIXED_LEN_BYTE_ARRAY(2) holding an IEEE half-precision float.
    Float16,
    /// DECIMAL on any physical type, with its scale (0..=MAX_SCALE).
    Decimal { scale: i32 },
    /// Days since 1970-01-01.
    Date,
    /// Time of day in `unit` since midnight.
    Time { unit: Unit, utc: bool },
    /// Instant in `unit` since 1970-01-01T00:00:00.
    Timestamp { unit: Unit, utc: bool },
    /// Legacy INT96 timestamp: nanoseconds of day and Julian day.
    Int96,
    /// UTF-8 text (STRING, ENUM, JSON).
    Text,
    /// Unannotated BYTE_ARRAY: read as text when it is UTF-8.
    MaybeText,
    /// UUID, FIXED_LEN_BYTE_ARRAY(16).
    Uuid,
    /// Logical type NULL (UNKNOWN): every cell is null; stray values are ignored.
    Null,
}

/// Resolution of times and timestamps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Millis,
    Micros,
    Nanos,
}

impl Unit {
    fn from_parquet(unit: &TimeUnit) -> Unit {
        match unit {
            TimeUnit::MILLIS => Unit::Millis,
            TimeUnit::MICROS => Unit::Micros,
            TimeUnit::NANOS => Unit::Nanos,
        }
    }

    /// Units per second.
    fn per_second(self) -> i64 {
        match self {
            Unit::Millis => 1_000,
            Unit::Micros => 1_000_000,
            Unit::Nanos => 1_000_000_000,
        }
    }
}

/// Error for a column whose type lstmcast does not read.
fn unsupported(name: &str, type_name: &str, advice: &str) -> String {
    format!("column '{name}' has type {type_name}, which lstmcast cannot read; {advice}")
}

const NESTED_ADVICE: &str = "flatten it or drop the column";
const CONVERT_ADVICE: &str =
    "convert it to a number, date, timestamp or string column, or drop the column";

/// Rejects a top-level field that is not a plain primitive column.
fn check_flat(field: &SchemaType) -> Result<(), String> {
    let info = field.get_basic_info();
    let repeated = info.has_repetition() && info.repetition() == Repetition::REPEATED;
    let name = field.name();
    if field.is_group() {
        let type_name = match (info.logical_type_ref(), info.converted_type()) {
            (Some(LogicalType::List), _) | (_, ConvertedType::LIST) => "LIST",
            (Some(LogicalType::Map), _)
            | (_, ConvertedType::MAP | ConvertedType::MAP_KEY_VALUE) => "MAP",
            (Some(LogicalType::Variant(_)), _) => "VARIANT",
            _ if repeated => "LIST (a repeated group)",
            _ => "STRUCT",
        };
        return Err(unsupported(name, type_name, NESTED_ADVICE));
    }
    if repeated {
        let type_name = format!("LIST (a repeated {})", field.get_physical_type());
        return Err(unsupported(name, &type_name, NESTED_ADVICE));
    }
    Ok(())
}

/// Decides how a flat column's values become text, or why they cannot.
fn classify(descr: &ColumnDescriptor) -> Result<Kind, String> {
    let name = descr.name();
    let physical = descr.physical_type();
    let logical = descr.logical_type_ref();
    let converted = descr.converted_type();
    let no_logical = matches!(logical, None | Some(LogicalType::_Unknown { .. }));
    let decimal = || {
        let scale = descr.type_scale();
        if matches!(
            physical,
            PhysicalType::BOOLEAN
                | PhysicalType::INT96
                | PhysicalType::FLOAT
                | PhysicalType::DOUBLE
        ) {
            Err(unsupported(
                name,
                &format!("{physical} (DECIMAL)"),
                CONVERT_ADVICE,
            ))
        } else if (0..=MAX_SCALE).contains(&scale) {
            Ok(Kind::Decimal { scale })
        } else {
            Err(format!(
                "corrupt Parquet file: column '{name}' is a DECIMAL with invalid scale {scale}"
            ))
        }
    };
    let other = |type_name: String| Err(unsupported(name, &type_name, CONVERT_ADVICE));
    match (physical, logical) {
        (_, Some(LogicalType::Unknown)) => Ok(Kind::Null),
        (_, Some(LogicalType::Decimal(_))) => decimal(),
        (PhysicalType::BOOLEAN, _) if no_logical => Ok(Kind::Bool),
        (PhysicalType::INT32 | PhysicalType::INT64, Some(LogicalType::Integer(int))) => {
            Ok(Kind::Int {
                unsigned: !int.is_signed,
            })
        }
        (PhysicalType::INT32, Some(LogicalType::Date)) => Ok(Kind::Date),
        (PhysicalType::INT32 | PhysicalType::INT64, Some(LogicalType::Time(t))) => Ok(Kind::Time {
            unit: Unit::from_parquet(&t.unit),
            utc: t.is_adjusted_to_u_t_c,
        }),
        (PhysicalType::INT64, Some(LogicalType::Timestamp(t))) => Ok(Kind::Timestamp {
            unit: Unit::from_parquet(&t.unit),
            utc: t.is_adjusted_to_u_t_c,
        }),
        (PhysicalType::INT32 | PhysicalType::INT64, _) if no_logical => match converted {
            ConvertedType::NONE
            | ConvertedType::INT_8
            | ConvertedType::INT_16
            | ConvertedType::INT_32
            | ConvertedType::INT_64 => Ok(Kind::Int { unsigned: false }),
            ConvertedType::UINT_8
            | ConvertedType::UINT_16
            | ConvertedType::UINT_32
            | ConvertedType::UINT_64 => Ok(Kind::Int { unsigned: true }),
            ConvertedType::DECIMAL => decimal(),
            ConvertedType::DATE if physical == PhysicalType::INT32 => Ok(Kind::Date),
            ConvertedType::TIME_MILLIS if physical == PhysicalType::INT32 => Ok(Kind::Time {
                unit: Unit::Millis,
                utc: true,
            }),
            ConvertedType::TIME_MICROS if physical == PhysicalType::INT64 => Ok(Kind::Time {
                unit: Unit::Micros,
                utc: true,
            }),
            ConvertedType::TIMESTAMP_MILLIS if physical == PhysicalType::INT64 => {
                Ok(Kind::Timestamp {
                    unit: Unit::Millis,
                    utc: true,
                })
            }
            ConvertedType::TIMESTAMP_MICROS if physical == PhysicalType::INT64 => {
                Ok(Kind::Timestamp {
                    unit: Unit::Micros,
                    utc: true,
                })
            }
            c => other(format!("{physical} ({c})")),
        },
        (PhysicalType::INT96, _) if no_logical => Ok(Kind::Int96),
        (PhysicalType::FLOAT | PhysicalType::DOUBLE, _) if no_logical => Ok(Kind::Float),
        (
            PhysicalType::BYTE_ARRAY,
            Some(LogicalType::String | LogicalType::Enum | LogicalType::Json),
        ) => Ok(Kind::Text),
        (PhysicalType::BYTE_ARRAY, _) if no_logical => match converted {
            ConvertedType::UTF8 | ConvertedType::ENUM | ConvertedType::JSON => Ok(Kind::Text),
            ConvertedType::DECIMAL => decimal(),
            ConvertedType::NONE => Ok(Kind::MaybeText),
            c => other(format!("BYTE_ARRAY ({c})")),
        },
        (PhysicalType::FIXED_LEN_BYTE_ARRAY, Some(LogicalType::Uuid))
            if descr.type_length() == 16 =>
        {
            Ok(Kind::Uuid)
        }
        (PhysicalType::FIXED_LEN_BYTE_ARRAY, Some(LogicalType::Float16))
            if descr.type_length() == 2 =>
        {
            Ok(Kind::Float16)
        }
        (PhysicalType::FIXED_LEN_BYTE_ARRAY, _)
            if no_logical && converted == ConvertedType::DECIMAL =>
        {
            decimal()
        }
        (PhysicalType::FIXED_LEN_BYTE_ARRAY, _) if no_logical => match converted {
            ConvertedType::NONE => other("FIXED_LEN_BYTE_ARRAY (raw bytes)".to_string()),
            c => other(format!("FIXED_LEN_BYTE_ARRAY ({c})")),
        },
        (_, Some(l)) => other(format!("{physical} ({})", logical_type_name(l))),
        (_, None) => other(physical.to_string()),
    }
}

/// Short upper-case name of a logical type, for messages.
fn logical_type_name(logical: &LogicalType) -> String {
    match logical {
        LogicalType::String => "STRING".to_string(),
        LogicalType::Map => "MAP".to_string(),
        LogicalType::List => "LIST".to_string(),
        LogicalType::Enum => "ENUM".to_string(),
        LogicalType::Decimal(_) => "DECIMAL".to_string(),
        LogicalType::Date => "DATE".to_string(),
        LogicalType::Time(_) => "TIME".to_string(),
        LogicalType::Timestamp(_) => "TIMESTAMP".to_string(),
        LogicalType::Integer(_) => "INTEGER".to_string(),
        LogicalType::Unknown => "NULL".to_string(),
        LogicalType::Json => "JSON".to_string(),
        LogicalType::Bson => "BSON".to_string(),
        LogicalType::Uuid => "UUID".to_string(),
        LogicalType::Float16 => "FLOAT16".to_string(),
        LogicalType::Variant(_) => "VARIANT".to_string(),
        LogicalType::Geometry(_) => "GEOMETRY".to_string(),
        LogicalType::Geography(_) => "GEOGRAPHY".to_string(),
        other => format!("{other:?}").to_uppercase(),
    }
}

/// Compression codecs this build decompresses; keep in step with the `parquet` crate features
/// in Cargo.toml (`snap`, `zstd`).
fn codec_supported(codec: Compression) -> bool {
    matches!(
        codec,
        Compression::UNCOMPRESSED | Compression::SNAPPY | Compression::ZSTD(_)
    )
}

/// Upper-case codec name without level, for messages.
fn codec_name(codec: Compression) -> String {
    let text = codec.to_string();
    match text.find('(') {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

/// The whole read, after the magic checks; may panic only inside the Parquet decoder.
fn read_table(bytes: &[u8]) -> Result<ParquetTable, String> {
    let reader =
        SerializedFileReader::new(Bytes::copy_from_slice(bytes)).map_err(|e| corrupt(&e))?;
    let metadata = reader.metadata();
    let schema = metadata.file_metadata().schema_descr();
    let fields = schema.root_schema().get_fields();
    if fields.is_empty() {
        return Err("the Parquet file has no columns".to_string());
    }
    for field in fields {
        check_flat(field)?;
    }
    let columns = schema.columns();
    if columns.len() != fields.len() {
        return Err("corrupt Parquet file: its schema does not match its columns".to_string());
    }
    let kinds = columns
        .iter()
        .map(|descr| classify(descr))
        .collect::<Result<Vec<_>, _>>()?;
    let header: Vec<String> = fields.iter().map(|f| f.name().to_string()).collect();
    let file_len = i64::try_from(bytes.len()).unwrap_or(i64::MAX);

    for group in metadata.row_groups() {
        if group.num_columns() != columns.len() {
            return Err(format!(
                "corrupt Parquet file: a row group has {} columns, the schema {}",
                group.num_columns(),
                columns.len()
            ));
        }
        for (chunk, name) in group.columns().iter().zip(&header) {
            let codec = chunk.compression();
            if !codec_supported(codec) {
                return Err(format!(
                    "column '{name}' is compressed with {}, which lstmcast cannot read; \
                     save the file with snappy or zstd compression (pandas: \
                     df.to_parquet(path, compression=\"snappy\"))",
                    codec_name(codec)
                ));
            }
            // The decoder asserts (panics) on negative ranges: check them here first.
            let start = chunk
                .dictionary_page_offset()
                .unwrap_or_else(|| chunk.data_page_offset());
            let end = start.checked_add(chunk.compressed_size());
            if start < 0 || chunk.compressed_size() < 0 || end.is_none_or(|e| e > file_len) {
                return Err(format!(
                    "truncated or corrupt Parquet file: the data of column '{name}' lies outside \
                     the file; copy or export it again"
                ));
            }
        }
    }

    let mut rows: Vec<Vec<Option<String>>> = Vec::new();
    for g in 0..reader.num_row_groups() {
        let group = reader.get_row_group(g).map_err(|e| corrupt(&e))?;
        let expected = usize::try_from(group.metadata().num_rows()).map_err(|_| {
            format!(
                "corrupt Parquet file: row group {} has a negative row count",
                g + 1
            )
        })?;
        let first_row = rows.len();
        let mut cells = Vec::with_capacity(columns.len());
        for (c, (descr, kind)) in columns.iter().zip(&kinds).enumerate() {
            PLACE.with(|p| {
                *p.borrow_mut() = format!("column '{}' of row group {}", header[c], g + 1)
            });
            let column = group.get_column_reader(c).map_err(|e| corrupt(&e))?;
            let mut values = read_column(column, *kind, descr.max_def_level()).map_err(
                |(row, msg)| match row {
                    Some(r) => format!("column '{}', row {}: {msg}", header[c], first_row + r + 1),
                    None => format!("column '{}': {msg}", header[c]),
                },
            )?;
            if values.len() != expected {
                return Err(format!(
                    "corrupt Parquet file: column '{}' has {} values in row group {}, which has {} rows",
                    header[c],
                    values.len(),
                    g + 1,
                    expected
                ));
            }
            if *kind == Kind::Null {
                values.iter_mut().for_each(|cell| *cell = None);
            }
            cells.push(values.into_iter());
        }
        rows.reserve(expected);
        for _ in 0..expected {
            rows.push(cells.iter_mut().map(|col| col.next().flatten()).collect());
        }
    }
    Ok(ParquetTable { header, rows })
}

/// A failure while reading one column: the 0-based row within the row group when known.
type CellError = (Option<usize>, String);

/// Reads one column chunk of a flat column into text cells.
fn read_column(
    column: ColumnReader,
    kind: Kind,
    max_def: i16,
) -> Result<Vec<Option<String>>, CellError> {
    let mismatch = || format!("internal error: no reader for values of kind {kind:?}");
    match column {
        ColumnReader::BoolColumnReader(r) => read_typed(r, max_def, |v: &bool| match kind {
            Kind::Bool => Ok(v.to_string()),
            Kind::Null => Ok(String::new()),
            _ => Err(mismatch()),
        }),
        ColumnReader::Int32ColumnReader(r) => read_typed(r, max_def, |v: &i32| {
            format_int(kind, i64::from(*v), *v as u32 as u64)
        }),
        ColumnReader::Int64ColumnReader(r) => {
            read_typed(r, max_def, |v: &i64| format_int(kind, *v, *v as u64))
        }
        ColumnReader::Int96ColumnReader(r) => read_typed(r, max_def, |v: &Int96| match kind {
            Kind::Int96 => Ok(format_int96(v)),
            Kind::Null => Ok(String::new()),
            _ => Err(mismatch()),
        }),
        ColumnReader::FloatColumnReader(r) => read_typed(r, max_def, |v: &f32| match kind {
            Kind::Float => Ok(format_f32(*v)),
            Kind::Null => Ok(String::new()),
            _ => Err(mismatch()),
        }),
        ColumnReader::DoubleColumnReader(r) => read_typed(r, max_def, |v: &f64| match kind {
            Kind::Float => Ok(format_f64(*v)),
            Kind::Null => Ok(String::new()),
            _ => Err(mismatch()),
        }),
        ColumnReader::ByteArrayColumnReader(r) => {
            read_typed(r, max_def, |v: &ByteArray| format_bytes(kind, v.data()))
        }
        ColumnReader::FixedLenByteArrayColumnReader(r) => {
            read_typed(r, max_def, |v: &FixedLenByteArray| {
                format_bytes(kind, v.data())
            })
        }
    }
}

/// Drives a typed column reader to the end of its chunk, formatting each non-null value.
fn read_typed<T: DataType>(
    mut reader: ColumnReaderImpl<T>,
    max_def: i16,
    mut format: impl FnMut(&T::T) -> Result<String, String>,
) -> Result<Vec<Option<String>>, CellError> {
    let mut cells: Vec<Option<String>> = Vec::new();
    let mut values: Vec<T::T> = Vec::with_capacity(BATCH);
    let mut defs: Vec<i16> = Vec::with_capacity(BATCH);
    let bad = |msg: &str| {
        (
            None,
            format!("corrupt Parquet data ({msg}); re-export the file"),
        )
    };
    loop {
        values.clear();
        defs.clear();
        let levels = if max_def > 0 { Some(&mut defs) } else { None };
        let (records, _, _) = reader
            .read_records(BATCH, levels, None, &mut values)
            .map_err(|e| (None, corrupt(&e)))?;
        if records == 0 {
            break;
        }
        let mut value_iter = values.iter();
        let mut push = |cells: &mut Vec<Option<String>>, value: &T::T| {
            let row = cells.len();
            let text = format(value).map_err(|msg| (Some(row), msg))?;
            cells.push(Some(text));
            Ok::<(), CellError>(())
        };
        if max_def == 0 {
            if values.len() != records {
                return Err(bad("value count differs from record count"));
            }
            for value in value_iter.by_ref() {
                push(&mut cells, value)?;
            }
        } else {
            if defs.len() != records {
                return Err(bad("definition level count differs from record count"));
            }
            for &def in &defs {
                if def == max_def {
                    let value = value_iter.next().ok_or_else(|| bad("too few values"))?;
                    push(&mut cells, value)?;
                } else {
                    cells.push(None);
                }
            }
        }
        if value_iter.next().is_some() {
            return Err(bad("too many values"));
        }
    }
    Ok(cells)
}

/// Text of an INT32/INT64 value; `bits` is the same value reinterpreted as unsigned.
fn format_int(kind: Kind, value: i64, bits: u64) -> Result<String, String> {
    match kind {
        Kind::Int { unsigned: false } => Ok(value.to_string()),
        Kind::Int { unsigned: true } => Ok(bits.to_string()),
        Kind::Decimal { scale } => Ok(format_decimal(i128::from(value), scale)),
        Kind::Date => Ok(format_date(i64::from(value as i32))),
        Kind::Time { unit, utc } => format_time(value, unit, utc),
        Kind::Timestamp { unit, utc } => Ok(format_timestamp(value, unit, utc)),
        Kind::Null => Ok(String::new()),
        _ => Err(format!(
            "internal error: integer value in a column of kind {kind:?}"
        )),
    }
}

/// Text of a BYTE_ARRAY / FIXED_LEN_BYTE_ARRAY value.
fn format_bytes(kind: Kind, data: &[u8]) -> Result<String, String> {
    match kind {
        Kind::Text => std::str::from_utf8(data).map(str::to_string).map_err(|_| {
            "the text is not valid UTF-8; re-export the file with UTF-8 strings".to_string()
        }),
        Kind::MaybeText => std::str::from_utf8(data).map(str::to_string).map_err(|_| {
            "the column holds raw binary data that is not UTF-8 text, which lstmcast cannot \
             read; store it as a string column or drop it"
                .to_string()
        }),
        Kind::Decimal { scale } => decimal_from_be_bytes(data)
            .map(|unscaled| format_decimal(unscaled, scale))
            .ok_or_else(|| {
                "the DECIMAL value is wider than 128 bits, which lstmcast cannot read; \
                 convert the column to float64"
                    .to_string()
            }),
        Kind::Float16 => match data {
            [lo, hi] => Ok(format_f32(f16_to_f32(u16::from_le_bytes([*lo, *hi])))),
            _ => Err("corrupt FLOAT16 value (not 2 bytes); re-export the file".to_string()),
        },
        Kind::Uuid => format_uuid(data)
            .ok_or_else(|| "corrupt UUID value (not 16 bytes); re-export the file".to_string()),
        Kind::Null => Ok(String::new()),
        _ => Err(format!(
            "internal error: byte value in a column of kind {kind:?}"
        )),
    }
}

/// `f32` text: Rust's shortest round-trip form of the f32 itself (`1.1f32` gives `1.1`).
fn format_f32(v: f32) -> String {
    if v.is_nan() {
        "NaN".to_string()
    } else {
        v.to_string()
    }
}

/// `f64` text: Rust's shortest round-trip form.
fn format_f64(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_string()
    } else {
        v.to_string()
    }
}

/// Converts IEEE 754 half-precision bits to the f32 of the same value (exact).
fn f16_to_f32(bits: u16) -> f32 {
    let sign = if bits & 0x8000 != 0 { -1.0f32 } else { 1.0 };
    let exponent = i32::from((bits >> 10) & 0x1f);
    let mantissa = f32::from(bits & 0x3ff);
    match exponent {
        0 => sign * mantissa * 2f32.powi(-24),
        0x1f if mantissa == 0.0 => sign * f32::INFINITY,
        0x1f => f32::NAN,
        e => sign * (1.0 + mantissa / 1024.0) * 2f32.powi(e - 15),
    }
}

/// Signed big-endian two's-complement integer of any length, if it fits in 128 bits.
fn decimal_from_be_bytes(data: &[u8]) -> Option<i128> {
    let negative = data.first().is_some_and(|b| b & 0x80 != 0);
    let fill = if negative { 0xff } else { 0x00 };
    // Leading bytes beyond 16 must be pure sign extension.
    let excess = data.len().saturating_sub(16);
    let (extension, rest) = data.split_at(excess);
    if extension.iter().any(|&b| b != fill) {
        return None;
    }
    if excess > 0 && rest.first().is_some_and(|b| (b & 0x80 != 0) != negative) {
        return None;
    }
    let mut buf = [fill; 16];
    buf[16 - rest.len()..].copy_from_slice(rest);
    Some(i128::from_be_bytes(buf))
}

/// Decimal text of `unscaled * 10^-scale` with exactly `scale` fraction digits.
fn format_decimal(unscaled: i128, scale: i32) -> String {
    let digits = unscaled.unsigned_abs().to_string();
    let sign = if unscaled < 0 { "-" } else { "" };
    let scale = usize::try_from(scale).unwrap_or(0);
    if scale == 0 {
        return format!("{sign}{digits}");
    }
    let padded = format!("{digits:0>width$}", width = scale + 1);
    let (int_part, frac_part) = padded.split_at(padded.len() - scale);
    format!("{sign}{int_part}.{frac_part}")
}

/// Proleptic Gregorian (year, month, day) of a day count since 1970-01-01
/// (Howard Hinnant's `civil_from_days`). Exact for any `i64` input below ±2^60.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11], March-based
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// `YYYY-MM-DD` (chrono's `%Y` rules outside 0000..=9999) of a day count since 1970-01-01.
fn format_date(days: i64) -> String {
    let (year, month, day) = civil_from_days(days);
    let mut out = String::with_capacity(10);
    if (0..=9999).contains(&year) {
        let _ = write!(out, "{year:04}");
    } else if year < 0 {
        let _ = write!(out, "-{:04}", year.unsigned_abs());
    } else {
        let _ = write!(out, "+{year}");
    }
    let _ = write!(out, "-{month:02}-{day:02}");
    out
}

/// `.fff`, `.ffffff` or `.fffffffff` (fewest of these that hold the value), or nothing for 0.
fn format_fraction(out: &mut String, nanos: u32) {
    if nanos == 0 {
        return;
    }
    let _ = if nanos.is_multiple_of(1_000_000) {
        write!(out, ".{:03}", nanos / 1_000_000)
    } else if nanos.is_multiple_of(1_000) {
        write!(out, ".{:06}", nanos / 1_000)
    } else {
        write!(out, ".{nanos:09}")
    };
}

/// Splits a count of `unit` into whole seconds and nanoseconds (floor division).
fn split_seconds(value: i64, unit: Unit) -> (i64, u32) {
    let per = unit.per_second();
    let nanos = value.rem_euclid(per) * (1_000_000_000 / per);
    (value.div_euclid(per), nanos as u32)
}

/// `HH:MM:SS[.f][Z]` of a second within a day and its nanoseconds.
fn push_clock(out: &mut String, second_of_day: i64, nanos: u32, utc: bool) {
    let _ = write!(
        out,
        "{:02}:{:02}:{:02}",
        second_of_day / 3_600,
        second_of_day / 60 % 60,
        second_of_day % 60
    );
    format_fraction(out, nanos);
    if utc {
        out.push('Z');
    }
}

/// ISO 8601 text of seconds since the epoch plus nanoseconds.
fn format_instant(seconds: i64, nanos: u32, utc: bool) -> String {
    let mut out = format_date(seconds.div_euclid(86_400));
    out.push('T');
    push_clock(&mut out, seconds.rem_euclid(86_400), nanos, utc);
    out
}

/// ISO 8601 text of a TIMESTAMP value.
fn format_timestamp(value: i64, unit: Unit, utc: bool) -> String {
    let (seconds, nanos) = split_seconds(value, unit);
    format_instant(seconds, nanos, utc)
}

/// `HH:MM:SS[.f][Z]` of a TIME value (time since midnight); values outside one day are errors.
fn format_time(value: i64, unit: Unit, utc: bool) -> Result<String, String> {
    let (seconds, nanos) = split_seconds(value, unit);
    if !(0..86_400).contains(&seconds) {
        return Err(format!(
            "TIME value {value} is not a time of day; re-export the file"
        ));
    }
    let mut out = String::with_capacity(19);
    push_clock(&mut out, seconds, nanos, utc);
    Ok(out)
}

/// ISO 8601 text of a legacy INT96 timestamp (nanoseconds of day, then Julian day), no `Z`.
fn format_int96(value: &Int96) -> String {
    const JULIAN_DAY_OF_EPOCH: i64 = 2_440_588;
    let (nanos_of_day, julian_day) = match value.data() {
        [lo, hi, day] => (
            (u64::from(*hi) << 32 | u64::from(*lo)) as i64,
            i64::from(*day as i32),
        ),
        _ => (0, JULIAN_DAY_OF_EPOCH),
    };
    let (seconds_of_day, nanos) = split_seconds(nanos_of_day, Unit::Nanos);
    let seconds = (julian_day - JULIAN_DAY_OF_EPOCH) * 86_400 + seconds_of_day;
    format_instant(seconds, nanos, false)
}

/// `8-4-4-4-12` lowercase hex text of a 16-byte UUID.
fn format_uuid(data: &[u8]) -> Option<String> {
    if data.len() != 16 {
        return None;
    }
    let mut out = String::with_capacity(36);
    for (i, byte) in data.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        let _ = write!(out, "{byte:02x}");
    }
    Some(out)
}

#[cfg(test)]
mod tests;
