//! SARIF 2.1.0 output (OASIS SARIF v2.1.0, with GitHub code scanning's conventions), written
//! with our own small serde types for the few objects we emit: one run, the driver with one
//! rule per rule id that has results, the results, the artifacts with their sha-256, and one
//! invocation carrying the exit code and the errors as tool execution notifications.
//!
//! Locations. A result's artifact is the file on disk, by a relative URI under the base id
//! `%SRCROOT%`; `run.originalUriBaseIds` says what `%SRCROOT%` is: the current directory when
//! the scanned path lies inside it (a scan started at a repository's root yields
//! repository-relative paths, which code scanning needs to place alerts), otherwise the scanned
//! folder. A finding inside an archive member keeps the container as its artifact, names the
//! member in its message and in a logical location (`outer.zip:inner/data.pkl`), and carries
//! the member's byte offset in its properties; a `region.byteOffset` is only given for findings
//! in top-level files, where the offset is one into the artifact itself (SARIF 3.30.9).
//! Members are listed as nested artifacts (`parentIndex`, a `/`-rooted path: SARIF 3.24.2).
//!
//! Settings that weaken detection are tool configuration notifications of the invocation
//! (SARIF 3.20.22), one per setting, and the run's properties carry the settings' source and
//! the same list as the JSON report's `settings` object.
//!
//! This module only formats a finished `Report`; the exit code comes from `exit_status`.

use super::rules_doc;
use super::sanitize::for_terminal;
use super::{Report, SettingsOut, exit_meaning, exit_status};
use crate::findings::{Issue, Severity, Source};
use crate::rules;
use crate::settings::Weakening;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;

pub const SARIF_SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";
pub const SRCROOT: &str = "%SRCROOT%";
/// Descriptor id of the notification for a setting that weakens detection.
pub const WEAKENING_DESCRIPTOR: &str = "SETTINGS_WEAKEN_DETECTION";
/// Key of our entry in `result.partialFingerprints`.
pub const FINGERPRINT_KEY: &str = "modelscan/v1";

#[derive(Debug, Serialize)]
pub struct Log {
    #[serde(rename = "$schema")]
    pub schema: &'static str,
    pub version: &'static str,
    pub runs: Vec<Run>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Run {
    pub tool: Tool,
    pub original_uri_base_ids: BTreeMap<&'static str, ArtifactLocation>,
    pub artifacts: Vec<Artifact>,
    pub results: Vec<SarifResult>,
    pub invocations: Vec<Invocation>,
    pub properties: RunProperties,
}

#[derive(Debug, Serialize)]
pub struct RunProperties {
    /// The JSON report's `settings`: where they came from, and which weaken detection.
    pub settings: SettingsOut,
}

#[derive(Debug, Serialize)]
pub struct Tool {
    pub driver: Driver,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Driver {
    pub name: &'static str,
    pub version: &'static str,
    pub semantic_version: &'static str,
    pub rules: Vec<ReportingDescriptor>,
}

#[derive(Debug, Serialize)]
pub struct Message {
    pub text: String,
}

#[derive(Debug, Serialize)]
pub struct MultiformatMessage {
    pub text: String,
    pub markdown: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportingDescriptor {
    pub id: String,
    pub name: String,
    pub short_description: Message,
    pub full_description: Message,
    pub help: MultiformatMessage,
    pub default_configuration: Configuration,
    pub properties: RuleProperties,
}

#[derive(Debug, Serialize)]
pub struct Configuration {
    pub level: &'static str,
}

#[derive(Debug, Serialize)]
pub struct RuleProperties {
    pub tags: Vec<String>,
    pub precision: &'static str,
    #[serde(rename = "security-severity")]
    pub security_severity: &'static str,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactLocation {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uri_base_id: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<usize>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Artifact {
    pub location: ArtifactLocation,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_index: Option<usize>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<&'static str>,
    pub hashes: BTreeMap<&'static str, String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SarifResult {
    pub rule_id: String,
    pub rule_index: usize,
    pub level: &'static str,
    pub message: Message,
    pub locations: Vec<Location>,
    pub partial_fingerprints: BTreeMap<&'static str, String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub suppressions: Vec<Suppression>,
    pub properties: ResultProperties,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Location {
    pub physical_location: PhysicalLocation,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub logical_locations: Vec<LogicalLocation>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PhysicalLocation {
    pub artifact_location: ArtifactLocation,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<Region>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Region {
    pub byte_offset: u64,
    pub byte_length: u64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogicalLocation {
    pub name: String,
    pub fully_qualified_name: String,
    pub kind: &'static str,
}

#[derive(Debug, Serialize)]
pub struct Suppression {
    pub kind: &'static str,
    pub justification: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResultProperties {
    pub severity: Severity,
    #[serde(rename = "security-severity")]
    pub security_severity: &'static str,
    pub module: String,
    pub operator: String,
    pub scanner: String,
    pub why: String,
    /// The member chain inside the artifact (`inner.zip:data.pkl`), for findings in members.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub member: Option<String>,
    /// Byte offset inside the member, for findings in members.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub member_offset: Option<u64>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Invocation {
    pub execution_successful: bool,
    pub exit_code: i32,
    pub exit_code_description: &'static str,
    pub tool_execution_notifications: Vec<Notification>,
    pub tool_configuration_notifications: Vec<Notification>,
}

#[derive(Debug, Serialize)]
pub struct Notification {
    pub level: &'static str,
    pub message: Message,
    pub descriptor: DescriptorReference,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub locations: Vec<Location>,
}

#[derive(Debug, Serialize)]
pub struct DescriptorReference {
    pub id: String,
}

/// SARIF level for a severity: errors for what must block, warnings and notes below.
pub fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low => "note",
    }
}

/// GitHub code scanning's `security-severity` scores, one inside each of its bands
/// (critical > 9.0, high 7.0-8.9, medium 4.0-6.9, low 0.1-3.9).
pub fn security_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "2.0",
    }
}

/// Percent-encode a relative path for a URI (RFC 3986): unreserved characters, `/` and the
/// sub-delimiters stay; `:` is encoded so that a first segment never reads as a scheme, and
/// `%`, `#`, `?`, spaces, controls and non-ASCII bytes (as UTF-8) are encoded.
pub fn encode_path(path: &str) -> String {
    let mut o = String::with_capacity(path.len());
    for b in path.bytes() {
        let keep = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b'/'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
                    | b'@'
            );
        if keep {
            o.push(char::from(b));
        } else {
            o.push_str(&format!("%{b:02X}"));
        }
    }
    o
}

/// `file://` URI of an absolute directory, with a trailing slash (SARIF 3.14.14 requires base
/// URIs to end with one).
fn dir_uri(dir: &Path) -> String {
    let mut p = dir.to_string_lossy().replace('\\', "/");
    if !p.starts_with('/') {
        p.insert(0, '/');
    }
    if !p.ends_with('/') {
        p.push('/');
    }
    format!("file://{}", encode_path(&p))
}

/// Where relative URIs start from: the current directory when the scanned root lies inside it,
/// else the scanned root. Returns the base and the prefix to put before each `Source::relative`.
fn uri_base(root: &Path, cwd: Option<&Path>) -> (std::path::PathBuf, String) {
    if let Some(cwd) = cwd {
        if let Ok(rest) = root.strip_prefix(cwd) {
            let mut prefix = rest.to_string_lossy().replace('\\', "/");
            if !prefix.is_empty() && !prefix.ends_with('/') {
                prefix.push('/');
            }
            return (cwd.to_path_buf(), prefix);
        }
    }
    (root.to_path_buf(), String::new())
}

/// PascalCase name for a rule id: `pickle.dangerous-global` -> `PickleDangerousGlobal`.
pub fn rule_name(id: &str) -> String {
    id.split(['.', '-', '_'])
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

fn descriptor(id: &str, worst: Severity) -> ReportingDescriptor {
    let Some(r) = rules::lookup(id) else {
        return ReportingDescriptor {
            id: id.to_string(),
            name: rule_name(id),
            short_description: Message {
                text: id.to_string(),
            },
            full_description: Message {
                text: id.to_string(),
            },
            help: MultiformatMessage {
                text: id.to_string(),
                markdown: id.to_string(),
            },
            default_configuration: Configuration {
                level: level(worst),
            },
            properties: RuleProperties {
                tags: vec!["security".into()],
                precision: "high",
                security_severity: security_severity(worst),
            },
        };
    };
    let mut tags = vec!["security".to_string()];
    tags.extend(r.cwe.iter().map(|c| format!("external/cwe/cwe-{c}")));
    ReportingDescriptor {
        id: r.id.to_string(),
        name: rule_name(r.id),
        short_description: Message {
            text: r.title.to_string(),
        },
        full_description: Message {
            text: r.detects.to_string(),
        },
        help: MultiformatMessage {
            text: rules_doc::text(r),
            markdown: rules_doc::body_markdown(r),
        },
        default_configuration: Configuration {
            level: level(r.severity),
        },
        properties: RuleProperties {
            tags,
            precision: "high",
            // A run's findings of one rule may be rated above its default (the globals policy
            // rates each import); code scanning ranks by the rule, so the worst one counts.
            security_severity: security_severity(worst.max(r.severity)),
        },
    }
}

fn member_chain(s: &Source) -> Option<String> {
    (!s.members.is_empty()).then(|| s.members.join(":"))
}

struct Ctx {
    prefix: String,
    /// Index in `artifacts` of each source's artifact.
    artifact_index: BTreeMap<Source, usize>,
}

impl Ctx {
    fn top_uri(&self, s: &Source) -> String {
        encode_path(&format!("{}{}", self.prefix, s.relative.replace('\\', "/")))
    }

    fn top_location(&self, s: &Source) -> ArtifactLocation {
        let top = s.top();
        ArtifactLocation {
            uri: Some(self.top_uri(s)),
            uri_base_id: Some(SRCROOT),
            index: self.artifact_index.get(&top).copied(),
        }
    }

    fn location(&self, s: &Source, offset: Option<u64>) -> Location {
        let region = match (s.members.is_empty(), offset) {
            (true, Some(o)) => Some(Region {
                byte_offset: o,
                byte_length: 1,
            }),
            _ => None,
        };
        let logical_locations = match member_chain(s) {
            Some(chain) => vec![LogicalLocation {
                name: for_terminal(s.members.last().map_or("", String::as_str)),
                fully_qualified_name: for_terminal(&format!("{}:{chain}", s.relative)),
                kind: "resource",
            }],
            None => Vec::new(),
        };
        Location {
            physical_location: PhysicalLocation {
                artifact_location: self.top_location(s),
                region,
            },
            logical_locations,
        }
    }
}

fn fingerprint(i: &Issue, uri: &str) -> String {
    let mut h = Sha256::new();
    for part in [
        i.rule,
        uri,
        &i.source.members.join(":"),
        &i.module,
        &i.operator,
    ] {
        h.update(part.as_bytes());
        h.update([0u8]);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn artifacts(r: &Report, ctx: &mut Ctx) -> Vec<Artifact> {
    let mut out = Vec::new();
    for (s, sha) in &r.raw_files {
        let parent = if s.members.is_empty() {
            None
        } else {
            let mut p = s.clone();
            p.members.pop();
            ctx.artifact_index.get(&p).copied()
        };
        let location = match (s.members.last(), parent) {
            (None, _) => ArtifactLocation {
                uri: Some(ctx.top_uri(s)),
                uri_base_id: Some(SRCROOT),
                index: None,
            },
            (Some(m), _) => ArtifactLocation {
                uri: Some(format!("/{}", encode_path(m.trim_start_matches('/')))),
                uri_base_id: None,
                index: None,
            },
        };
        if s.members.is_empty() || parent.is_some() {
            ctx.artifact_index.insert(s.clone(), out.len());
            out.push(Artifact {
                location,
                parent_index: parent,
                roles: if s.members.is_empty() {
                    vec!["analysisTarget"]
                } else {
                    Vec::new()
                },
                hashes: BTreeMap::from([("sha-256", sha.clone())]),
            });
        }
    }
    out
}

fn result(i: &Issue, ctx: &Ctx, rule_index: usize) -> SarifResult {
    let chain = member_chain(&i.source);
    let description = for_terminal(&i.description);
    let text = match &chain {
        Some(c) => format!("{description} (in archive member `{}`)", for_terminal(c)),
        None => description,
    };
    let uri = ctx.top_uri(&i.source);
    SarifResult {
        rule_id: i.rule.to_string(),
        rule_index,
        level: level(i.severity),
        message: Message { text },
        locations: vec![ctx.location(&i.source, i.offset)],
        partial_fingerprints: BTreeMap::from([(FINGERPRINT_KEY, fingerprint(i, &uri))]),
        suppressions: i
            .suppressed
            .as_ref()
            .map(|why| {
                vec![Suppression {
                    kind: "external",
                    justification: for_terminal(why),
                }]
            })
            .unwrap_or_default(),
        properties: ResultProperties {
            severity: i.severity,
            security_severity: security_severity(i.severity),
            module: for_terminal(&i.module),
            operator: for_terminal(&i.operator),
            scanner: i.scanner.to_string(),
            why: for_terminal(&i.why),
            member: chain.as_deref().map(for_terminal),
            member_offset: if i.source.members.is_empty() {
                None
            } else {
                i.offset
            },
        },
    }
}

/// Build the SARIF log for `r`. `cwd` is the directory relative URIs may start from.
pub fn build(r: &Report, cwd: Option<&Path>) -> Log {
    let (base, prefix) = uri_base(&r.absolute_root, cwd);
    let mut ctx = Ctx {
        prefix,
        artifact_index: BTreeMap::new(),
    };
    let artifacts = artifacts(r, &mut ctx);
    let all: Vec<&Issue> = r.raw_issues.iter().chain(r.raw_suppressed.iter()).collect();
    let mut worst: BTreeMap<&str, Severity> = BTreeMap::new();
    for i in &all {
        let w = worst.entry(i.rule).or_insert(i.severity);
        *w = (*w).max(i.severity);
    }
    let rule_ids: Vec<&str> = worst.keys().copied().collect();
    let rules: Vec<ReportingDescriptor> = worst.iter().map(|(id, w)| descriptor(id, *w)).collect();
    let results = all
        .iter()
        .map(|i| {
            let idx = rule_ids.iter().position(|id| *id == i.rule).unwrap_or(0);
            result(i, &ctx, idx)
        })
        .collect();
    let mut notifications: Vec<Notification> = r
        .raw_errors
        .iter()
        .map(|e| Notification {
            level: "error",
            message: Message {
                text: match &e.source {
                    Some(s) => format!(
                        "{} could not be fully scanned ({} scan): {}",
                        for_terminal(&s.display_relative()),
                        e.scan_name,
                        for_terminal(&e.description)
                    ),
                    None => for_terminal(&e.description),
                },
            },
            descriptor: DescriptorReference {
                id: e.category.as_str().to_string(),
            },
            locations: e.source.iter().map(|s| ctx.location(s, None)).collect(),
        })
        .collect();
    if r.show_skipped {
        notifications.extend(r.raw_skipped.iter().map(|s| Notification {
            level: "note",
            message: Message {
                text: format!(
                    "{} was skipped: {}",
                    for_terminal(&s.source.display_relative()),
                    for_terminal(&s.description)
                ),
            },
            descriptor: DescriptorReference {
                id: s.category.as_str().to_string(),
            },
            locations: vec![ctx.location(&s.source, None)],
        }));
    }
    let configuration = r
        .settings
        .weakenings
        .iter()
        .map(|w| Notification {
            level: "warning",
            message: Message {
                text: format!(
                    "a setting weakens detection: {} = {} ({}): {}",
                    for_terminal(&w.key),
                    for_terminal(&w.value),
                    for_terminal(&r.settings.source),
                    for_terminal(&w.effect)
                ),
            },
            descriptor: DescriptorReference {
                id: WEAKENING_DESCRIPTOR.to_string(),
            },
            locations: Vec::new(),
        })
        .collect();
    let status = exit_status(r);
    Log {
        schema: SARIF_SCHEMA,
        version: "2.1.0",
        runs: vec![Run {
            tool: Tool {
                driver: Driver {
                    name: "modelscan",
                    version: env!("CARGO_PKG_VERSION"),
                    semantic_version: env!("CARGO_PKG_VERSION"),
                    rules,
                },
            },
            original_uri_base_ids: BTreeMap::from([(
                SRCROOT,
                ArtifactLocation {
                    uri: Some(dir_uri(&base)),
                    uri_base_id: None,
                    index: None,
                },
            )]),
            artifacts,
            results,
            invocations: vec![Invocation {
                execution_successful: r.raw_errors.is_empty(),
                exit_code: status,
                exit_code_description: exit_meaning(status),
                tool_execution_notifications: notifications,
                tool_configuration_notifications: configuration,
            }],
            properties: RunProperties {
                settings: SettingsOut {
                    source: for_terminal(&r.settings.source),
                    weakenings: r
                        .settings
                        .weakenings
                        .iter()
                        .map(|w| Weakening {
                            key: for_terminal(&w.key),
                            value: for_terminal(&w.value),
                            effect: for_terminal(&w.effect),
                        })
                        .collect(),
                },
            },
        }],
    }
}

/// The SARIF log as pretty-printed JSON.
pub fn render(r: &Report, cwd: Option<&Path>) -> String {
    serde_json::to_string_pretty(&build(r, cwd)).unwrap_or_else(|_| "{}".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_percent_encoded_only_where_uris_need_it() {
        assert_eq!(encode_path("models/a b.pkl"), "models/a%20b.pkl");
        assert_eq!(encode_path("x#1?.pkl"), "x%231%3F.pkl");
        assert_eq!(encode_path("c:d.pkl"), "c%3Ad.pkl");
        assert_eq!(encode_path("100%.pt"), "100%25.pt");
        assert_eq!(encode_path("modèle.pkl"), "mod%C3%A8le.pkl");
        assert_eq!(encode_path("a-b_c.~(1)+2.bin"), "a-b_c.~(1)+2.bin");
    }

    #[test]
    fn rule_names_are_pascal_case() {
        assert_eq!(
            rule_name("pickle.dangerous-global"),
            "PickleDangerousGlobal"
        );
    }

    #[test]
    fn the_base_is_the_current_directory_when_the_root_is_inside_it() {
        let (b, p) = uri_base(Path::new("/repo/models"), Some(Path::new("/repo")));
        assert_eq!((b.as_path(), p.as_str()), (Path::new("/repo"), "models/"));
        let (b, p) = uri_base(Path::new("/tmp/x"), Some(Path::new("/repo")));
        assert_eq!((b.as_path(), p.as_str()), (Path::new("/tmp/x"), ""));
        let (b, p) = uri_base(Path::new("/repo"), Some(Path::new("/repo")));
        assert_eq!((b.as_path(), p.as_str()), (Path::new("/repo"), ""));
    }

    #[test]
    fn base_uris_end_with_a_slash() {
        assert_eq!(dir_uri(Path::new("/a b/c")), "file:///a%20b/c/");
    }

    #[test]
    fn severities_land_in_githubs_bands() {
        let score = |s| security_severity(s).parse::<f64>().unwrap();
        assert!(score(Severity::Critical) > 9.0);
        assert!((7.0..9.0).contains(&score(Severity::High)));
        assert!((4.0..7.0).contains(&score(Severity::Medium)));
        assert!((0.1..4.0).contains(&score(Severity::Low)));
    }
}
