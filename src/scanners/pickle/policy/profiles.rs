//! Library profiles: the classes of the packages models are pickled with, each listed exactly
//! (`library_names.rs`, generated from the installed libraries, and `SEEN_IN_REAL_FILES`, names
//! that files written by older versions use) and vouched for construction and state only
//! (`Verdict::ConstructOnly`), never for calls. A name a profile's package does not list is
//! judged as any unknown name: the prefix vouches for nothing.

use super::library_names::LIBRARY_CLASSES;
use super::*;

/// The packages with a profile, and what their files hold (the reason every listed class of the
/// package is data).
pub(super) static ALLOW_LIBRARY_PREFIXES: &[(&str, &str)] = &[
    ("sklearn", "scikit-learn estimators and their helpers"),
    ("scipy", "scipy data structures"),
    ("numpy", "numpy types and dtypes"),
    ("pandas", "pandas data structures"),
    ("xgboost", "XGBoost boosters and estimators"),
    ("lightgbm", "LightGBM boosters and estimators"),
    ("catboost", "CatBoost models"),
    ("_catboost", "CatBoost models"),
    (
        "transformers",
        "Hugging Face configs, training arguments and tokenizers",
    ),
    ("tokenizers", "Hugging Face tokenizers"),
    ("sentencepiece", "sentencepiece processors"),
    ("torch", "torch tensors, modules, optimizers and schedulers"),
    ("torchvision", "torchvision modules and transforms"),
    ("torchaudio", "torchaudio modules"),
    ("timm", "timm models"),
    ("accelerate", "accelerate configs"),
    ("peft", "PEFT configs"),
    ("trl", "TRL configs"),
    (
        "sentence_transformers",
        "sentence-transformers models and configs",
    ),
    ("ultralytics", "YOLO models"),
    ("joblib", "joblib wrappers"),
    ("imblearn", "imbalanced-learn estimators"),
    ("statsmodels", "statsmodels results"),
    ("category_encoders", "encoders"),
    ("datetime", "value types"),
    ("gensim", "gensim models, vocabularies and dictionaries"),
    (
        "morfessor",
        "Morfessor segmentation models (shipped with gensim)",
    ),
    ("nltk", "NLTK tokenizers and taggers (punkt parameters)"),
    ("madmom", "madmom neural network processors"),
    ("allennlp", "AllenNLP vocabularies and configs"),
];

/// Classes of the profiles' packages that real files written by older versions name, and that
/// the installed versions the table is generated from no longer define at that path (a loader
/// with the current version fails to find them; one with the old version builds plain data).
/// Mined from the real-world files (`fixtures/gen/mine_allowlist.py`) and reviewed one by one.
pub(super) static SEEN_IN_REAL_FILES: &[(&str, &str, &str)] = &[
    (
        "gensim.models.doc2vec",
        "DocvecsArray",
        "gensim < 4 document vectors (arrays and a tag index); gone in gensim 4",
    ),
    (
        "gensim.models.wrappers.fasttext",
        "FastText",
        "gensim < 4 wrapper of a FastText model (vectors, vocabulary, parameters); gone in gensim 4",
    ),
    (
        "gensim.models.wrappers.fasttext",
        "FastTextKeyedVectors",
        "gensim < 4 FastText vectors (arrays and a vocabulary); gone in gensim 4",
    ),
    (
        "sklearn.externals.joblib.numpy_pickle",
        "NumpyArrayWrapper",
        "scikit-learn < 0.23's copy of joblib's array wrapper (shape, dtype, order; the array \
         bytes follow, read as joblib reads them); gone since",
    ),
];

/// The generated table's lines: (module, its names separated by spaces).
pub(super) fn library_lines() -> impl Iterator<Item = (&'static str, &'static str)> {
    LIBRARY_CLASSES
        .lines()
        .filter_map(|line| line.split_once('\t'))
}

/// Whether `(module, qualname)` is listed in the generated table: a binary search over its
/// sorted lines (bisect the bytes, step back to the start of the line there).
fn generated(module: &str, qualname: &str) -> bool {
    let text = LIBRARY_CLASSES;
    let bytes = text.as_bytes();
    // `lo` and `hi` are always at the start of a line (or the end).
    let (mut lo, mut hi) = (0usize, bytes.len());
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let start = bytes
            .get(lo..mid)
            .and_then(|b| b.iter().rposition(|&c| c == b'\n'))
            .map_or(lo, |i| lo + i + 1);
        let end = bytes
            .get(start..hi)
            .and_then(|b| b.iter().position(|&c| c == b'\n'))
            .map_or(hi, |i| start + i);
        let line = text.get(start..end).unwrap_or_default();
        let (m, names) = line.split_once('\t').unwrap_or((line, ""));
        match m.cmp(module) {
            std::cmp::Ordering::Equal => return names.split(' ').any(|n| n == qualname),
            std::cmp::Ordering::Less => lo = end.saturating_add(1).min(hi),
            std::cmp::Ordering::Greater => hi = start,
        }
    }
    false
}

/// Why a class no exact allowlist entry lists is still constructible data: it is one of a
/// profile package's classes, listed exactly (generated or seen in real files). This vouches only
/// for importing it, constructing it with `__new__` and setting its state
/// (`Verdict::ConstructOnly`); a call of it is an issue.
pub fn library_class_reason(module: &str, qualname: &str) -> Option<&'static str> {
    let listed = generated(module, qualname)
        || SEEN_IN_REAL_FILES
            .iter()
            .any(|(m, n, _)| *m == module && *n == qualname);
    if !listed {
        return None;
    }
    ALLOW_LIBRARY_PREFIXES
        .iter()
        .find(|(prefix, _)| module_matches(prefix, module))
        .map(|(_, why)| *why)
}

/// Number of listed classes per profile package (for the documentation).
pub fn listed_per_package() -> Vec<(&'static str, usize)> {
    ALLOW_LIBRARY_PREFIXES
        .iter()
        .map(|(p, _)| {
            let n = library_lines()
                .filter(|(m, _)| module_matches(p, m))
                .map(|(_, names)| names.split(' ').count())
                .sum::<usize>()
                + SEEN_IN_REAL_FILES
                    .iter()
                    .filter(|(m, _, _)| module_matches(p, m))
                    .count();
            (*p, n)
        })
        .collect()
}
