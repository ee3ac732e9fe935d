//! Library profiles: packages whose top-level names are vouched for construction and state only
//! (`Verdict::ConstructOnly`), never for calls.

use super::*;

/// Library prefixes whose classes (capitalised names) and reconstruction helpers
/// (`__pyx_unpickle_*`, `_unpickle*`, `_new_*`, `_reconstruct*`, `_rebuild*`) are safe: these
/// packages pickle estimators, configs and arrays, and their classes run only library code when
/// constructed. The denylist is checked first, so known gadgets inside them still count.
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

/// Why a name that no entry lists is still constructible data: a class-shaped name (or a
/// reconstruction helper's name) directly in a library profile's module. The shape of a name
/// proves nothing about what calling it does, so this vouches only for importing it,
/// constructing it with `__new__` and setting its state (`Verdict::ConstructOnly`).
pub fn library_class_reason(module: &str, qualname: &str) -> Option<&'static str> {
    if qualname.contains('.') {
        return None;
    }
    // Any top-level name: the profile vouches for constructing and setting state, never for
    // calling, so the shape of the name (`cKDTree`, `_BinMapper`, `bsr_array`) does not matter.
    ALLOW_LIBRARY_PREFIXES
        .iter()
        .find(|(prefix, _)| module_matches(prefix, module))
        .map(|(_, why)| *why)
}
