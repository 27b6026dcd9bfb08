//! Several runs' metrics as one Parquet file (`learnscope export --parquet`), for comparing runs
//! in pandas, polars or DuckDB without a loop over run directories.
//!
//! Schema: the columns of `metrics.parquet` (see the [`parquet_export`](crate::parquet_export)
//! module: `step`, `epoch`, `probe`, `key`, `split`, `layer`, `index`, `index2`, `value`, in
//! that order), then
//!
//! | column | physical | logical | nullable |
//! |---|---|---|---|
//! | `run` | BYTE_ARRAY | STRING (UTF8) | no |
//! | one per config key, sorted | BYTE_ARRAY | STRING (UTF8) | yes |
//!
//! The config columns are the union of the keys of all runs' [`ExportRun::config`] (null where a
//! run lacks the key). A config key that equals one of the fixed column names above gets the
//! prefix `config.` ([`config_column_name`]). Each run's rows form their own row groups (at most
//! [`ROWS_PER_GROUP`] rows each), in the order the runs are given, so the `run` and config
//! columns are constant within a row group. Uncompressed, replaced atomically, like
//! `metrics.parquet`.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use parquet::basic::{Compression, LogicalType, Repetition, Type as PhysicalType};
use parquet::data_type::{ByteArray, ByteArrayType};
use parquet::file::properties::WriterProperties;
use parquet::file::reader::FileReader;
use parquet::file::serialized_reader::SerializedFileReader;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::Type;

use crate::atomic::write_atomic_with;
use crate::error::{StoreError, StoreResult};
use crate::parquet_export::{
    columns, metric_fields, read_all, read_group, with_nulls, write_group, write_optional,
    write_required, ROWS_PER_GROUP,
};
use crate::record::MetricRecord;

/// Name of the column that holds the run's name.
pub const RUN_COLUMN: &str = "run";

/// One run to export.
#[derive(Debug, Clone, Copy)]
pub struct ExportRun<'a> {
    /// The run's name (its directory's name), written to the `run` column.
    pub name: &'a str,
    /// Its metric records.
    pub records: &'a [MetricRecord],
    /// Its configuration flattened to (dotted key, rendered value) pairs.
    pub config: &'a BTreeMap<String, String>,
}

/// The column a config key is written to: the key itself, or `config.<key>` when the key equals
/// one of the fixed columns (`step`, ..., `value`, `run`).
pub fn config_column_name(key: &str) -> String {
    let fixed = columns().iter().any(|c| c.name == key) || key == RUN_COLUMN;
    if fixed {
        format!("config.{key}")
    } else {
        key.to_string()
    }
}

fn string_field(name: &str, repetition: Repetition) -> parquet::errors::Result<Arc<Type>> {
    Type::primitive_type_builder(name, PhysicalType::BYTE_ARRAY)
        .with_repetition(repetition)
        .with_logical_type(Some(LogicalType::String))
        .build()
        .map(Arc::new)
}

fn schema(config_columns: &[String]) -> parquet::errors::Result<Type> {
    let mut fields = metric_fields()?;
    fields.push(string_field(RUN_COLUMN, Repetition::REQUIRED)?);
    for name in config_columns {
        fields.push(string_field(name, Repetition::OPTIONAL)?);
    }
    Type::group_type_builder("metrics")
        .with_fields(fields)
        .build()
}

/// Writes all `runs`' metrics to `path` as one long table with the `run` and config columns
/// (see the module documentation), atomically.
pub fn write_export_parquet(path: &Path, runs: &[ExportRun<'_>]) -> StoreResult<()> {
    let keys: BTreeSet<&str> = runs
        .iter()
        .flat_map(|r| r.config.keys().map(String::as_str))
        .collect();
    let keys: Vec<&str> = keys.into_iter().collect();
    let names: Vec<String> = keys.iter().map(|k| config_column_name(k)).collect();
    let pq = |e| StoreError::parquet(path, e);
    let schema = Arc::new(schema(&names).map_err(pq)?);
    let props = Arc::new(
        WriterProperties::builder()
            .set_compression(Compression::UNCOMPRESSED)
            .build(),
    );
    write_atomic_with(path, |w, tmp| {
        let pq = |e| StoreError::parquet(tmp, e);
        let mut writer = SerializedFileWriter::new(w, schema, props).map_err(pq)?;
        for run in runs {
            for chunk in run.records.chunks(ROWS_PER_GROUP) {
                let n = chunk.len();
                let mut rg = writer.next_row_group().map_err(pq)?;
                write_group(&mut rg, chunk, tmp)?;
                let name = vec![ByteArray::from(run.name); n];
                write_required::<ByteArrayType, _>(&mut rg, tmp, &name)?;
                for key in &keys {
                    let value = run.config.get(*key).map(|v| ByteArray::from(v.as_str()));
                    write_optional::<ByteArrayType, _>(&mut rg, tmp, vec![value; n])?;
                }
                rg.close().map_err(pq)?;
            }
        }
        writer.close().map_err(pq)?;
        Ok(())
    })
}

/// A file written by [`write_export_parquet`], read back.
#[derive(Debug, Clone, Default)]
pub struct ExportTable {
    /// The metric columns, one record per row.
    pub records: Vec<MetricRecord>,
    /// The `run` column.
    pub run: Vec<String>,
    /// The config columns in file order: (column name, one value per row).
    pub config: Vec<(String, Vec<Option<String>>)>,
}

/// Reads a file written by [`write_export_parquet`] (the fixed columns are checked by name).
pub fn read_export_parquet(path: &Path) -> StoreResult<ExportTable> {
    let pq = |e| StoreError::parquet(path, e);
    let schema_err = |column: &str, expected: String, found: String| StoreError::ParquetSchema {
        path: path.to_path_buf(),
        column: column.into(),
        expected,
        found,
    };
    let file = File::open(path).map_err(|e| StoreError::io("open", path, e))?;
    let reader = SerializedFileReader::new(file).map_err(pq)?;
    let descr = reader.metadata().file_metadata().schema_descr_ptr();
    let fixed: Vec<&str> = columns()
        .iter()
        .map(|c| c.name)
        .chain([RUN_COLUMN])
        .collect();
    if descr.num_columns() < fixed.len() {
        return Err(schema_err(
            "*",
            format!("at least {} columns", fixed.len()),
            format!("{} columns", descr.num_columns()),
        ));
    }
    for (i, want) in fixed.iter().enumerate() {
        let found = descr.column(i).name().to_string();
        if found != *want {
            return Err(schema_err(want, format!("column {i} = {want}"), found));
        }
    }
    let config_names: Vec<String> = (fixed.len()..descr.num_columns())
        .map(|i| descr.column(i).name().to_string())
        .collect();
    let mut out = ExportTable {
        config: config_names.into_iter().map(|c| (c, Vec::new())).collect(),
        ..ExportTable::default()
    };
    let utf8 = |column: &str, b: ByteArray| -> StoreResult<String> {
        String::from_utf8(b.data().to_vec())
            .map_err(|e| schema_err(column, "UTF-8 text".into(), format!("invalid UTF-8 ({e})")))
    };
    for g in 0..reader.num_row_groups() {
        let rg = reader.get_row_group(g).map_err(pq)?;
        let rows = rg.metadata().num_rows();
        let n = usize::try_from(rows)
            .map_err(|_| schema_err("*", "a non-negative row count".into(), rows.to_string()))?;
        read_group(path, rg.as_ref(), n, &mut out.records)?;
        let col = |i: usize| rg.get_column_reader(i).map_err(pq);
        let run_index = fixed.len() - 1;
        let (run, _) = read_all::<ByteArrayType>(path, RUN_COLUMN, col(run_index)?, n, false)?;
        for b in run {
            out.run.push(utf8(RUN_COLUMN, b)?);
        }
        for (j, (name, values)) in out.config.iter_mut().enumerate() {
            let (v, def) = read_all::<ByteArrayType>(path, name, col(fixed.len() + j)?, n, true)?;
            for x in with_nulls(v, &def) {
                values.push(x.map(|b| utf8(name, b)).transpose()?);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::TempDir;

    fn config(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn round_trip_two_runs_with_union_of_keys() {
        let dir = TempDir::new("export");
        let p = dir.path().join("all.parquet");
        let a = vec![
            MetricRecord::new(0, 0, "loss", "loss", "train", 1.5),
            MetricRecord::new(10, 1, "norms", "weight", "", f64::NAN)
                .with_layer("layers.0")
                .with_index(2),
        ];
        let b =
            vec![MetricRecord::new(5, 0, "loss", "loss", "test", f64::INFINITY).with_index2(-1)];
        let ca = config(&[
            ("lr.base", "0.1"),
            ("model.hidden", "[16, 16]"),
            ("seed", "0"),
        ]);
        let cb = config(&[
            ("lr.base", "0.05"),
            ("data.kind", "hierarchy"),
            ("step", "7"),
        ]);
        let runs = [
            ExportRun {
                name: "run-a",
                records: &a,
                config: &ca,
            },
            ExportRun {
                name: "run-b",
                records: &b,
                config: &cb,
            },
        ];
        write_export_parquet(&p, &runs).unwrap();
        let t = read_export_parquet(&p).unwrap();
        assert_eq!(t.records.len(), 3);
        for (x, y) in a.iter().chain(&b).zip(&t.records) {
            assert!(x.identical(y), "{x:?} vs {y:?}");
        }
        assert_eq!(t.run, ["run-a", "run-a", "run-b"]);
        let names: Vec<&str> = t.config.iter().map(|(n, _)| n.as_str()).collect();
        // Sorted by key; `step` collides with a fixed column.
        assert_eq!(
            names,
            [
                "data.kind",
                "lr.base",
                "model.hidden",
                "seed",
                "config.step"
            ]
        );
        let col = |name: &str| &t.config.iter().find(|(n, _)| n == name).unwrap().1;
        let s = |v: &str| Some(v.to_string());
        assert_eq!(col("lr.base"), &[s("0.1"), s("0.1"), s("0.05")]);
        assert_eq!(col("data.kind"), &[None, None, s("hierarchy")]);
        assert_eq!(col("model.hidden"), &[s("[16, 16]"), s("[16, 16]"), None]);
        assert_eq!(col("config.step"), &[None, None, s("7")]);
    }

    #[test]
    fn no_runs_and_empty_runs() {
        let dir = TempDir::new("export-empty");
        let p = dir.path().join("none.parquet");
        write_export_parquet(&p, &[]).unwrap();
        let t = read_export_parquet(&p).unwrap();
        assert!(t.records.is_empty() && t.run.is_empty() && t.config.is_empty());
        let c = config(&[("seed", "1")]);
        let run = ExportRun {
            name: "empty",
            records: &[],
            config: &c,
        };
        write_export_parquet(&p, &[run]).unwrap();
        let t = read_export_parquet(&p).unwrap();
        assert!(t.records.is_empty());
        assert_eq!(t.config.len(), 1);
        assert!(t.config[0].1.is_empty());
    }

    #[test]
    fn metrics_parquet_is_not_an_export() {
        let dir = TempDir::new("export-wrong");
        let p = dir.path().join("metrics.parquet");
        crate::write_metrics_parquet(&p, &[MetricRecord::new(0, 0, "p", "k", "s", 1.0)]).unwrap();
        let e = read_export_parquet(&p).unwrap_err();
        assert!(e.to_string().contains("metrics.parquet"), "{e}");
    }
}
