//! Which modules are joblib's. joblib's classes are pickled under the module path they were
//! imported from: `joblib.numpy_pickle` for the joblib package, and
//! `sklearn.externals.joblib.numpy_pickle` for the copy of joblib that scikit-learn shipped
//! (vendored up to 0.20; from 0.21 to 0.22 that path only re-exported the joblib package, so
//! its pickles name `joblib.numpy_pickle`). `joblib.load` of either reads the array bytes that
//! follow a `NumpyArrayWrapper` as data (both copies' `NumpyUnpickler.load_build`); the VM
//! reads them the same way (`vm.rs` `skip_joblib_array`).

/// The module paths of joblib's `numpy_pickle`, the package's and scikit-learn's copy.
pub const NUMPY_PICKLE_MODULES: &[&str] = &[
    "joblib.numpy_pickle",
    "sklearn.externals.joblib.numpy_pickle",
];

/// Whether `module.name` is joblib's inline array header, after which joblib writes the array.
pub fn is_array_wrapper(module: &str, name: &str) -> bool {
    name == "NumpyArrayWrapper" && NUMPY_PICKLE_MODULES.contains(&module)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scikit_learns_copy_of_joblib_is_joblib() {
        assert!(is_array_wrapper("joblib.numpy_pickle", "NumpyArrayWrapper"));
        assert!(is_array_wrapper(
            "sklearn.externals.joblib.numpy_pickle",
            "NumpyArrayWrapper"
        ));
        assert!(!is_array_wrapper("numpy_pickle", "NumpyArrayWrapper"));
        assert!(!is_array_wrapper("joblib.numpy_pickle", "NDArrayWrapper"));
    }
}
