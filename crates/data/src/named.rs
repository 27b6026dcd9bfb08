//! Data sets read from files in their standard layouts.
//!
//! - IDX pairs (MNIST-style): images `[n, …]` of any IDX type and u8 labels, raw or gzip. Pixel
//!   values are multiplied by `scale` (default 1/255: u8 images land in [0, 1]).
//! - `fashion_mnist` and `mnist`: a directory holding `train-images-idx3-ubyte[.gz]`,
//!   `train-labels-idx1-ubyte[.gz]`, `t10k-images-idx3-ubyte[.gz]`, `t10k-labels-idx1-ubyte[.gz]`.
//!   Fashion-MNIST's default directory is `$LEARNSCOPE_DATA/fashion-mnist` when that variable is
//!   set, else `/usr/share/datasets/fashion-mnist` (Debian's `dataset-fashion-mnist`).
//!
//! `limit_train` / `limit_test` keep the first n examples of a split (for quick runs).

use std::path::{Path, PathBuf};

use crate::dataset::{DatasetSpec, InMemoryDataset, TargetData, TargetKind};
use crate::formats::idx::{read_idx_pair, IdxError};

/// The four files of an MNIST-layout directory, preferring `.gz` when both exist.
pub fn mnist_layout_files(dir: &Path) -> Result<[PathBuf; 4], IdxError> {
    let names = [
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
    ];
    let mut out: Vec<PathBuf> = Vec::new();
    for n in names {
        let gz = dir.join(format!("{n}.gz"));
        let raw = dir.join(n);
        out.push(if gz.is_file() { gz } else { raw });
    }
    Ok(out.try_into().expect("four names"))
}

/// The default Fashion-MNIST directory (see the module documentation).
pub fn default_fashion_mnist_dir() -> PathBuf {
    match std::env::var_os("LEARNSCOPE_DATA") {
        Some(root) => PathBuf::from(root).join("fashion-mnist"),
        None => PathBuf::from("/usr/share/datasets/fashion-mnist"),
    }
}

/// One split as read: per-example shape, scaled pixels, labels.
type SplitArrays = (Vec<usize>, Vec<f64>, Vec<u32>);

/// An IDX data set.
#[derive(Debug, Clone, PartialEq)]
pub struct IdxSpec {
    /// Name for manifests.
    pub name: String,
    /// Training images.
    pub train_images: PathBuf,
    /// Training labels.
    pub train_labels: PathBuf,
    /// Test images.
    pub test_images: PathBuf,
    /// Test labels.
    pub test_labels: PathBuf,
    /// Number of classes.
    pub classes: usize,
    /// Factor applied to every pixel.
    pub scale: f64,
    /// Keep at most this many training examples.
    pub limit_train: Option<usize>,
    /// Keep at most this many test examples.
    pub limit_test: Option<usize>,
}

impl IdxSpec {
    /// An MNIST-layout directory with 10 classes and 1/255 scaling.
    pub fn mnist_layout(name: &str, dir: &Path) -> Result<Self, IdxError> {
        let [a, b, c, d] = mnist_layout_files(dir)?;
        Ok(IdxSpec {
            name: name.to_string(),
            train_images: a,
            train_labels: b,
            test_images: c,
            test_labels: d,
            classes: 10,
            scale: 1.0 / 255.0,
            limit_train: None,
            limit_test: None,
        })
    }

    /// The files this data set reads.
    pub fn files(&self) -> Vec<PathBuf> {
        vec![
            self.train_images.clone(),
            self.train_labels.clone(),
            self.test_images.clone(),
            self.test_labels.clone(),
        ]
    }

    /// Reads the four files.
    pub fn load(&self) -> Result<InMemoryDataset, IdxError> {
        let split =
            |images: &Path, labels: &Path, limit: Option<usize>| -> Result<SplitArrays, IdxError> {
                let (x, mut y) = read_idx_pair(images, labels, self.classes)?;
                let n = limit.map_or(x.dims[0], |l| l.min(x.dims[0]));
                let per: usize = x.dims[1..].iter().product();
                y.truncate(n);
                let values = x.values[..n * per].iter().map(|v| v * self.scale).collect();
                Ok((x.dims[1..].to_vec(), values, y))
            };
        let (shape, xtr, ytr) = split(&self.train_images, &self.train_labels, self.limit_train)?;
        let (shape_te, xte, yte) = split(&self.test_images, &self.test_labels, self.limit_test)?;
        if shape != shape_te {
            return Err(IdxError::BadLabels {
                path: self.test_images.clone(),
                detail: format!("test images are {shape_te:?}, training images {shape:?}"),
            });
        }
        let spec = DatasetSpec {
            name: self.name.clone(),
            input_shape: shape,
            target: TargetKind::Classes {
                classes: self.classes,
            },
            train_len: ytr.len(),
            test_len: yte.len(),
        };
        let ds = InMemoryDataset::new(
            spec,
            (xtr, TargetData::Classes(ytr)),
            (xte, TargetData::Classes(yte)),
        )
        .expect("sizes and labels checked while reading");
        Ok(ds.with_files(self.files()))
    }
}
