//! `metrics.parquet`: the metrics long table (DESIGN.md §5) for pandas, polars and DuckDB,
//! written with the `parquet` crate's low-level column API (no arrow: it keeps this crate's cold
//! build around a minute).
//!
//! Schema (one row per [`MetricRecord`]):
//!
//! | column | physical | logical | nullable |
//! |---|---|---|---|
//! | `step` | INT64 | UINT_64 | no |
//! | `epoch` | INT32 | UINT_32 | no |
//! | `probe`, `key`, `split` | BYTE_ARRAY | STRING (UTF8) | no |
//! | `layer` | BYTE_ARRAY | STRING (UTF8) | yes |
//! | `index`, `index2` | INT64 | — | yes |
//! | `value` | DOUBLE | — | no |
//!
//! Non-finite values are stored as their IEEE bits (NaN, ±inf); NaN is left out of the column
//! statistics by the library. The file is uncompressed (no codec dependencies), split into row
//! groups of [`ROWS_PER_GROUP`] rows, and replaced atomically. It is an export, rebuilt from
//! `metrics.jsonl` at each checkpoint and at the end of the run; the JSONL stays the record.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use parquet::basic::{Compression, LogicalType, Repetition, Type as PhysicalType};
use parquet::column::reader::{ColumnReader, ColumnReaderImpl};
use parquet::data_type::{ByteArray, ByteArrayType, DataType, DoubleType, Int32Type, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::reader::{FileReader, RowGroupReader};
use parquet::file::serialized_reader::SerializedFileReader;
use parquet::file::writer::{SerializedFileWriter, SerializedRowGroupWriter};
use parquet::schema::types::Type;

use crate::atomic::write_atomic_with;
use crate::error::{StoreError, StoreResult};
use crate::record::MetricRecord;

/// File name of the Parquet export inside a run directory.
pub const METRICS_PARQUET_FILE: &str = "metrics.parquet";

/// Rows per row group.
pub const ROWS_PER_GROUP: usize = 1 << 20;

/// One column of the long table: name, physical type, logical type, nullable.
pub(crate) struct Column {
    pub(crate) name: &'static str,
    pub(crate) physical: PhysicalType,
    pub(crate) logical: Option<LogicalType>,
    pub(crate) optional: bool,
}

pub(crate) fn columns() -> [Column; 9] {
    let col = |name, physical, logical, optional| Column {
        name,
        physical,
        logical,
        optional,
    };
    use PhysicalType as P;
    [
        col(
            "step",
            P::INT64,
            Some(LogicalType::integer(64, false)),
            false,
        ),
        col(
            "epoch",
            P::INT32,
            Some(LogicalType::integer(32, false)),
            false,
        ),
        col("probe", P::BYTE_ARRAY, Some(LogicalType::String), false),
        col("key", P::BYTE_ARRAY, Some(LogicalType::String), false),
        col("split", P::BYTE_ARRAY, Some(LogicalType::String), false),
        col("layer", P::BYTE_ARRAY, Some(LogicalType::String), true),
        col("index", P::INT64, None, true),
        col("index2", P::INT64, None, true),
        col("value", P::DOUBLE, None, false),
    ]
}

fn schema() -> parquet::errors::Result<Type> {
    Type::group_type_builder("metrics")
        .with_fields(metric_fields()?)
        .build()
}

/// The long table's columns as Parquet fields (shared with the multi-run export).
pub(crate) fn metric_fields() -> parquet::errors::Result<Vec<Arc<Type>>> {
    columns()
        .into_iter()
        .map(|c| {
            Type::primitive_type_builder(c.name, c.physical)
                .with_repetition(if c.optional {
                    Repetition::OPTIONAL
                } else {
                    Repetition::REQUIRED
                })
                .with_logical_type(c.logical)
                .build()
                .map(Arc::new)
        })
        .collect()
}

/// Writes `records` to `path` as the metrics long table, atomically.
pub fn write_metrics_parquet(path: &Path, records: &[MetricRecord]) -> StoreResult<()> {
    let pq = |e| StoreError::parquet(path, e);
    let schema = Arc::new(schema().map_err(pq)?);
    let props = Arc::new(
        WriterProperties::builder()
            .set_compression(Compression::UNCOMPRESSED)
            .build(),
    );
    write_atomic_with(path, |w, tmp| {
        let pq = |e| StoreError::parquet(tmp, e);
        let mut writer = SerializedFileWriter::new(w, schema, props).map_err(pq)?;
        for chunk in records.chunks(ROWS_PER_GROUP) {
            let mut rg = writer.next_row_group().map_err(pq)?;
            write_group(&mut rg, chunk, tmp)?;
            rg.close().map_err(pq)?;
        }
        writer.close().map_err(pq)?;
        Ok(())
    })
}

pub(crate) fn write_group<W: std::io::Write + Send>(
    rg: &mut SerializedRowGroupWriter<'_, W>,
    rows: &[MetricRecord],
    path: &Path,
) -> StoreResult<()> {
    // Two's-complement reinterpretation: UINT_64 / UINT_32 columns hold the unsigned bits.
    let step: Vec<i64> = rows.iter().map(|r| r.step as i64).collect();
    let epoch: Vec<i32> = rows.iter().map(|r| r.epoch as i32).collect();
    let text = |f: fn(&MetricRecord) -> &str| -> Vec<ByteArray> {
        rows.iter().map(|r| ByteArray::from(f(r))).collect()
    };
    write_required::<Int64Type, _>(rg, path, &step)?;
    write_required::<Int32Type, _>(rg, path, &epoch)?;
    write_required::<ByteArrayType, _>(rg, path, &text(|r| &r.probe))?;
    write_required::<ByteArrayType, _>(rg, path, &text(|r| &r.key))?;
    write_required::<ByteArrayType, _>(rg, path, &text(|r| &r.split))?;
    let layer: Vec<Option<ByteArray>> = rows
        .iter()
        .map(|r| r.layer.as_deref().map(ByteArray::from))
        .collect();
    write_optional::<ByteArrayType, _>(rg, path, layer)?;
    write_optional::<Int64Type, _>(rg, path, rows.iter().map(|r| r.index).collect())?;
    write_optional::<Int64Type, _>(rg, path, rows.iter().map(|r| r.index2).collect())?;
    let value: Vec<f64> = rows.iter().map(|r| r.value).collect();
    write_required::<DoubleType, _>(rg, path, &value)
}

pub(crate) fn write_required<T: DataType, W: std::io::Write + Send>(
    rg: &mut SerializedRowGroupWriter<'_, W>,
    path: &Path,
    values: &[T::T],
) -> StoreResult<()> {
    write_column::<T, W>(rg, path, values, None)
}

pub(crate) fn write_optional<T: DataType, W: std::io::Write + Send>(
    rg: &mut SerializedRowGroupWriter<'_, W>,
    path: &Path,
    values: Vec<Option<T::T>>,
) -> StoreResult<()> {
    let def: Vec<i16> = values.iter().map(|v| i16::from(v.is_some())).collect();
    let present: Vec<T::T> = values.into_iter().flatten().collect();
    write_column::<T, W>(rg, path, &present, Some(&def))
}

fn write_column<T: DataType, W: std::io::Write + Send>(
    rg: &mut SerializedRowGroupWriter<'_, W>,
    path: &Path,
    values: &[T::T],
    def_levels: Option<&[i16]>,
) -> StoreResult<()> {
    let pq = |e| StoreError::parquet(path, e);
    let mut col = rg
        .next_column()
        .map_err(pq)?
        .ok_or_else(|| StoreError::ParquetSchema {
            path: path.to_path_buf(),
            column: "?".into(),
            expected: "a column writer for every schema column".into(),
            found: "fewer columns than written".into(),
        })?;
    col.typed::<T>()
        .write_batch(values, def_levels, None)
        .map_err(pq)?;
    col.close().map_err(pq)
}

/// Reads a metrics long table written by [`write_metrics_parquet`] (the schema is checked
/// column by column).
pub fn read_metrics_parquet(path: &Path) -> StoreResult<Vec<MetricRecord>> {
    let pq = |e| StoreError::parquet(path, e);
    let file = File::open(path).map_err(|e| StoreError::io("open", path, e))?;
    let reader = SerializedFileReader::new(file).map_err(pq)?;
    check_schema(path, reader.metadata().file_metadata().schema_descr())?;
    let total = usize::try_from(reader.metadata().file_metadata().num_rows()).unwrap_or(0);
    let mut out = Vec::with_capacity(total);
    for g in 0..reader.num_row_groups() {
        let rg = reader.get_row_group(g).map_err(pq)?;
        let n =
            usize::try_from(rg.metadata().num_rows()).map_err(|_| StoreError::ParquetSchema {
                path: path.to_path_buf(),
                column: "*".into(),
                expected: "a non-negative row count".into(),
                found: rg.metadata().num_rows().to_string(),
            })?;
        read_group(path, rg.as_ref(), n, &mut out)?;
    }
    Ok(out)
}

fn check_schema(path: &Path, descr: &parquet::schema::types::SchemaDescriptor) -> StoreResult<()> {
    let want = columns();
    if descr.num_columns() != want.len() {
        return Err(StoreError::ParquetSchema {
            path: path.to_path_buf(),
            column: "*".into(),
            expected: format!("{} columns", want.len()),
            found: format!("{} columns", descr.num_columns()),
        });
    }
    for (i, c) in want.iter().enumerate() {
        let d = descr.column(i);
        let optional = d.self_type().get_basic_info().repetition() == Repetition::OPTIONAL;
        if d.name() != c.name || d.physical_type() != c.physical || optional != c.optional {
            return Err(StoreError::ParquetSchema {
                path: path.to_path_buf(),
                column: c.name.into(),
                expected: format!(
                    "column {i} = {} {} {}",
                    if c.optional { "OPTIONAL" } else { "REQUIRED" },
                    c.physical,
                    c.name
                ),
                found: format!(
                    "{} {} {}",
                    if optional { "OPTIONAL" } else { "REQUIRED" },
                    d.physical_type(),
                    d.name()
                ),
            });
        }
    }
    Ok(())
}

/// Reads all `n` rows of one column: the non-null values and, if nullable, the levels.
pub(crate) fn read_all<T: DataType>(
    path: &Path,
    name: &str,
    reader: ColumnReader,
    n: usize,
    optional: bool,
) -> StoreResult<(Vec<T::T>, Vec<i16>)> {
    let mut r: ColumnReaderImpl<T> =
        T::get_column_reader(reader).ok_or_else(|| StoreError::ParquetSchema {
            path: path.to_path_buf(),
            column: name.into(),
            expected: format!("physical type {}", T::get_physical_type()),
            found: "another physical type".into(),
        })?;
    let mut values = Vec::with_capacity(n);
    let mut def = Vec::with_capacity(if optional { n } else { 0 });
    let mut rows = 0;
    while rows < n {
        let (read, _, _) = r
            .read_records(
                n - rows,
                if optional { Some(&mut def) } else { None },
                None,
                &mut values,
            )
            .map_err(|e| StoreError::parquet(path, e))?;
        if read == 0 {
            break;
        }
        rows += read;
    }
    let present = if optional {
        def.iter().filter(|&&d| d > 0).count()
    } else {
        rows
    };
    if rows != n || values.len() != present || (optional && def.len() != n) {
        return Err(StoreError::ParquetSchema {
            path: path.to_path_buf(),
            column: name.into(),
            expected: format!("{n} rows"),
            found: format!("{rows} rows, {} values", values.len()),
        });
    }
    Ok((values, def))
}

/// Merges non-null values with definition levels into one option per row.
pub(crate) fn with_nulls<T>(values: Vec<T>, def: &[i16]) -> Vec<Option<T>> {
    let mut it = values.into_iter();
    def.iter()
        .map(|&d| if d > 0 { it.next() } else { None })
        .collect()
}

pub(crate) fn read_group(
    path: &Path,
    rg: &dyn RowGroupReader,
    n: usize,
    out: &mut Vec<MetricRecord>,
) -> StoreResult<()> {
    let pq = |e| StoreError::parquet(path, e);
    let col = |i: usize| rg.get_column_reader(i).map_err(pq);
    let (step, _) = read_all::<Int64Type>(path, "step", col(0)?, n, false)?;
    let (epoch, _) = read_all::<Int32Type>(path, "epoch", col(1)?, n, false)?;
    let (probe, _) = read_all::<ByteArrayType>(path, "probe", col(2)?, n, false)?;
    let (key, _) = read_all::<ByteArrayType>(path, "key", col(3)?, n, false)?;
    let (split, _) = read_all::<ByteArrayType>(path, "split", col(4)?, n, false)?;
    let (layer, layer_def) = read_all::<ByteArrayType>(path, "layer", col(5)?, n, true)?;
    let (index, index_def) = read_all::<Int64Type>(path, "index", col(6)?, n, true)?;
    let (index2, index2_def) = read_all::<Int64Type>(path, "index2", col(7)?, n, true)?;
    let (value, _) = read_all::<DoubleType>(path, "value", col(8)?, n, false)?;

    let utf8 = |column: &'static str, b: ByteArray| -> StoreResult<String> {
        String::from_utf8(b.data().to_vec()).map_err(|e| StoreError::ParquetSchema {
            path: path.to_path_buf(),
            column: column.into(),
            expected: "UTF-8 text".into(),
            found: format!("invalid UTF-8 ({e})"),
        })
    };
    let layer = with_nulls(layer, &layer_def);
    let index = with_nulls(index, &index_def);
    let index2 = with_nulls(index2, &index2_def);
    out.reserve(n);
    let rows = step
        .into_iter()
        .zip(epoch)
        .zip(probe)
        .zip(key)
        .zip(split)
        .zip(layer)
        .zip(index)
        .zip(index2)
        .zip(value);
    for ((((((((step, epoch), probe), key), split), layer), index), index2), value) in rows {
        out.push(MetricRecord {
            step: step as u64,
            epoch: epoch as u32,
            probe: utf8("probe", probe)?,
            key: utf8("key", key)?,
            split: utf8("split", split)?,
            layer: layer.map(|l| utf8("layer", l)).transpose()?,
            index,
            index2,
            value,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::TempDir;

    #[test]
    fn round_trip_with_nulls_and_non_finite() {
        let dir = TempDir::new("pq");
        let p = dir.path().join(METRICS_PARQUET_FILE);
        let recs = vec![
            MetricRecord::new(u64::MAX, u32::MAX, "p", "k", "train", f64::NAN),
            MetricRecord::new(1, 0, "p", "k", "test", -0.0).with_layer("l.0"),
            MetricRecord::new(2, 0, "p", "k/é", "ood", f64::NEG_INFINITY)
                .with_index(-3)
                .with_index2(i64::MAX),
        ];
        write_metrics_parquet(&p, &recs).unwrap();
        let back = read_metrics_parquet(&p).unwrap();
        assert_eq!(back.len(), recs.len());
        for (a, b) in recs.iter().zip(&back) {
            assert!(a.identical(b), "{a:?} vs {b:?}");
        }
    }

    #[test]
    fn empty_table() {
        let dir = TempDir::new("pq-empty");
        let p = dir.path().join(METRICS_PARQUET_FILE);
        write_metrics_parquet(&p, &[]).unwrap();
        assert!(read_metrics_parquet(&p).unwrap().is_empty());
    }
}
