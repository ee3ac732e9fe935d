//! What TensorFlow graph ops can do to the machine that runs a model, as data: ops that read
//! or write files, call back into Python, talk to the network, or dump tensors somewhere, each
//! with a severity, the condition under which it is reported, and why. Checkpoint and lookup
//! table ops that every SavedModel has are reported only when a constant path sends them
//! outside the model. `tf_ops.txt` lists the ops registered in a stock TensorFlow build; an op
//! outside it needs a custom kernel library (ModelScan reports those as MEDIUM).

use crate::findings::Severity;
use std::collections::HashSet;
use std::sync::OnceLock;

/// When an op in the table is reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    Always,
    /// PrintV2 with `output_stream` naming a file rather than stdout/stderr/the log.
    OutputStreamIsFile,
    /// Debug ops with non-empty `debug_urls` (file:// or grpc:// sinks).
    HasDebugUrls,
    /// File ops every checkpoint uses: only when one of these inputs is a constant path that
    /// is absolute or climbs with `..`.
    ConstPathOutside(&'static [usize]),
}

pub struct OpRule {
    pub op: &'static str,
    pub severity: Severity,
    pub when: When,
    pub why: &'static str,
}

const fn rule(op: &'static str, severity: Severity, when: When, why: &'static str) -> OpRule {
    OpRule {
        op,
        severity,
        when,
        why,
    }
}

use Severity::{Critical, High, Medium};
use When::{Always, ConstPathOutside, HasDebugUrls, OutputStreamIsFile};

const READS_RECORDS: &str = "reads records from local files named by the graph";
const READS_DATASET: &str = "reads local files (or a database) named by the graph as a dataset";
const WRITES_DATASET: &str = "writes dataset elements to local files named by the graph";
const DATA_SERVICE: &str = "connects to a tf.data service at an address named by the graph";
const RPC: &str = "makes or serves network RPCs from inside the graph";
const PY_CALLBACK: &str = "calls back into a Python function of the loading process; the model \
                           only runs beside Python code that registers it, and that code is \
                           what runs";
const CHECKPOINT_OUTSIDE: &str = "reads or writes checkpoint or table files at a fixed path \
                                  outside the model's folder";

pub static OP_RULES: &[OpRule] = &[
    rule(
        "ReadFile",
        High,
        Always,
        "reads a local file into a tensor the model can return",
    ),
    rule("WriteFile", High, Always, "writes a tensor to a local file"),
    rule("PyFunc", Critical, Always, PY_CALLBACK),
    rule("PyFuncStateless", Critical, Always, PY_CALLBACK),
    rule("EagerPyFunc", Critical, Always, PY_CALLBACK),
    rule(
        "MatchingFiles",
        Medium,
        Always,
        "lists local files matching a pattern",
    ),
    rule("WholeFileReader", High, Always, "reads whole local files"),
    rule("WholeFileReaderV2", High, Always, "reads whole local files"),
    rule("TFRecordReader", Medium, Always, READS_RECORDS),
    rule("TFRecordReaderV2", Medium, Always, READS_RECORDS),
    rule("TextLineReader", Medium, Always, READS_RECORDS),
    rule("TextLineReaderV2", Medium, Always, READS_RECORDS),
    rule("FixedLengthRecordReader", Medium, Always, READS_RECORDS),
    rule("FixedLengthRecordReaderV2", Medium, Always, READS_RECORDS),
    rule("LMDBReader", Medium, Always, READS_RECORDS),
    rule("TFRecordDataset", Medium, Always, READS_DATASET),
    rule("TFRecordDatasetV2", Medium, Always, READS_DATASET),
    rule("TextLineDataset", Medium, Always, READS_DATASET),
    rule("FixedLengthRecordDataset", Medium, Always, READS_DATASET),
    rule("FixedLengthRecordDatasetV2", Medium, Always, READS_DATASET),
    rule("CSVDataset", Medium, Always, READS_DATASET),
    rule("CSVDatasetV2", Medium, Always, READS_DATASET),
    rule("ExperimentalCSVDataset", Medium, Always, READS_DATASET),
    rule("LMDBDataset", Medium, Always, READS_DATASET),
    rule("ExperimentalLMDBDataset", Medium, Always, READS_DATASET),
    rule("SqlDataset", Medium, Always, READS_DATASET),
    rule("ExperimentalSqlDataset", Medium, Always, READS_DATASET),
    rule("LoadDataset", Medium, Always, READS_DATASET),
    rule("SaveDataset", High, Always, WRITES_DATASET),
    rule("SaveDatasetV2", High, Always, WRITES_DATASET),
    rule("DatasetToTFRecord", High, Always, WRITES_DATASET),
    rule(
        "ExperimentalDatasetToTFRecord",
        High,
        Always,
        WRITES_DATASET,
    ),
    rule(
        "SnapshotDataset",
        Medium,
        Always,
        "writes and reads snapshot files at a path named by the graph",
    ),
    rule(
        "SnapshotDatasetV2",
        Medium,
        Always,
        "writes and reads snapshot files at a path named by the graph",
    ),
    rule("DataServiceDataset", High, Always, DATA_SERVICE),
    rule("DataServiceDatasetV2", High, Always, DATA_SERVICE),
    rule("DataServiceDatasetV3", High, Always, DATA_SERVICE),
    rule("DataServiceDatasetV4", High, Always, DATA_SERVICE),
    rule("RegisterDataset", High, Always, DATA_SERVICE),
    rule("RegisterDatasetV2", High, Always, DATA_SERVICE),
    rule("RpcClient", High, Always, RPC),
    rule("RpcCall", High, Always, RPC),
    rule("RpcServer", High, Always, RPC),
    rule("RpcServerStart", High, Always, RPC),
    rule("RpcServerRegister", High, Always, RPC),
    rule(
        "CreateSummaryFileWriter",
        Medium,
        Always,
        "writes event files to a directory named by the graph",
    ),
    rule(
        "CreateSummaryDbWriter",
        Medium,
        Always,
        "writes a summary database at a path named by the graph",
    ),
    rule(
        "ImmutableConst",
        Medium,
        Always,
        "maps a region of a file (memory_region_name) as a constant tensor",
    ),
    rule(
        "PrintV2",
        Medium,
        OutputStreamIsFile,
        "appends tensor values to a local file",
    ),
    rule(
        "DebugIdentity",
        High,
        HasDebugUrls,
        "sends tensors to debug URLs (file:// or grpc:// sinks)",
    ),
    rule(
        "DebugIdentityV2",
        High,
        HasDebugUrls,
        "sends tensors to debug URLs (file:// or grpc:// sinks)",
    ),
    rule(
        "DebugIdentityV3",
        High,
        HasDebugUrls,
        "sends tensors to debug URLs (file:// or grpc:// sinks)",
    ),
    rule(
        "DebugNanCount",
        High,
        HasDebugUrls,
        "sends tensor statistics to debug URLs",
    ),
    rule(
        "DebugNumericSummary",
        High,
        HasDebugUrls,
        "sends tensor statistics to debug URLs",
    ),
    rule("SaveV2", Medium, ConstPathOutside(&[0]), CHECKPOINT_OUTSIDE),
    rule("Save", Medium, ConstPathOutside(&[0]), CHECKPOINT_OUTSIDE),
    rule(
        "SaveSlices",
        Medium,
        ConstPathOutside(&[0]),
        CHECKPOINT_OUTSIDE,
    ),
    rule(
        "RestoreV2",
        Medium,
        ConstPathOutside(&[0]),
        CHECKPOINT_OUTSIDE,
    ),
    rule(
        "Restore",
        Medium,
        ConstPathOutside(&[0]),
        CHECKPOINT_OUTSIDE,
    ),
    rule(
        "RestoreSlice",
        Medium,
        ConstPathOutside(&[0]),
        CHECKPOINT_OUTSIDE,
    ),
    rule(
        "MergeV2Checkpoints",
        Medium,
        ConstPathOutside(&[0, 1]),
        CHECKPOINT_OUTSIDE,
    ),
    rule(
        "InitializeTableFromTextFile",
        Medium,
        ConstPathOutside(&[1]),
        CHECKPOINT_OUTSIDE,
    ),
    rule(
        "InitializeTableFromTextFileV2",
        Medium,
        ConstPathOutside(&[1]),
        CHECKPOINT_OUTSIDE,
    ),
];

pub fn rule_for(op: &str) -> Option<&'static OpRule> {
    OP_RULES.iter().find(|r| r.op == op)
}

/// The severity and reason for an op reported whatever its inputs (used for `tf.raw_ops.X`
/// references in Keras configs, where no graph context exists).
pub fn judge_op(op: &str) -> Option<(Severity, &'static str)> {
    rule_for(op)
        .filter(|r| r.when == When::Always)
        .map(|r| (r.severity, r.why))
}

static KNOWN_OPS_TEXT: &str = include_str!("tf_ops.txt");

/// Whether `op` is registered in a stock TensorFlow build.
pub fn is_known_op(op: &str) -> bool {
    static KNOWN: OnceLock<HashSet<&'static str>> = OnceLock::new();
    KNOWN
        .get_or_init(|| {
            KNOWN_OPS_TEXT
                .lines()
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .collect()
        })
        .contains(op)
}

/// A path that leaves the model's folder.
pub fn path_escapes(path: &str) -> bool {
    let p = path.strip_prefix("file://").unwrap_or(path);
    p.starts_with('/')
        || p.starts_with('\\')
        || p.get(1..3) == Some(":\\")
        || p.get(1..3) == Some(":/")
        || p.split(['/', '\\']).any(|c| c == "..")
        || p.contains("://")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_op_list_knows_stock_ops_and_not_custom_ones() {
        for op in [
            "MatMul",
            "StatefulPartitionedCall",
            "ReadFile",
            "XlaCallModule",
            "_Arg",
        ] {
            assert!(is_known_op(op), "{op}");
        }
        assert!(!is_known_op("SentencepieceOp"));
        assert!(!is_known_op("EvilOp"));
    }

    #[test]
    fn every_table_op_is_a_real_op() {
        for r in OP_RULES {
            assert!(is_known_op(r.op), "{}", r.op);
        }
    }

    #[test]
    fn paths_outside_the_model_are_recognized() {
        assert!(path_escapes("/etc/passwd"));
        assert!(path_escapes("../x"));
        assert!(path_escapes("gs://bucket/x"));
        assert!(!path_escapes("variables/variables"));
    }
}
