//! `ecsplane convert`: CloudFormation, AWS CLI JSON and Terraform into ecsplane manifests.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::import::{
    Conversion, ConvertOptions, NoteKind, Object, convert_files, problems_as_written,
};

/// Arguments of `ecsplane convert`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Input files: CloudFormation templates (YAML or JSON), AWS CLI JSON output, task or
    /// service definitions, Terraform files.
    #[arg(short = 'f', long = "filename", required = true, num_args = 1..)]
    files: Vec<PathBuf>,
    /// Write one file per object, named KIND-NAME.yaml, into this directory.
    #[arg(short = 'o', long = "output-dir", conflicts_with = "stdout")]
    output_dir: Option<PathBuf>,
    /// Write one multi-document YAML stream on stdout (the default without --output-dir).
    #[arg(long)]
    stdout: bool,
    /// A value for a CloudFormation parameter, pseudo parameter (AWS::Region), resource
    /// (LogicalId or LogicalId.Attribute), Fn::ImportValue export name, Terraform variable or
    /// unrendered placeholder. Repeatable.
    #[arg(long = "param", value_name = "KEY=VALUE", value_parser = parse_param)]
    params: Vec<(String, String)>,
    /// A file of parameter values, by extension: a Terraform variable file (`.tfvars`, HCL
    /// assignments, or `.tfvars.json`). `--param` wins over a file. Repeatable.
    #[arg(long = "param-file", value_name = "PATH")]
    param_files: Vec<PathBuf>,
    /// Namespace to set on every object.
    #[arg(short = 'n', long)]
    namespace: Option<String>,
    /// Also write objects that still contain unresolved values (as `${...}` placeholders), for
    /// editing by hand.
    #[arg(long)]
    keep_unresolved: bool,
}

fn parse_param(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .ok_or_else(|| format!("{s:?} is not KEY=VALUE"))
}

/// Converts, writes the manifests, and prints the summary and notes on stderr.
pub fn run(args: Args) -> ExitCode {
    let mut options = ConvertOptions {
        params: args.params.iter().cloned().collect::<BTreeMap<_, _>>(),
        namespace: args.namespace.clone(),
    };
    for file in &args.param_files {
        if let Err(e) = param_file(file, &mut options.params) {
            eprintln!("error: nothing written:\n{e}");
            return ExitCode::FAILURE;
        }
    }
    let conversion = match convert_files(&args.files, &options) {
        Ok(c) => c,
        Err(errors) => {
            eprintln!("error: nothing written:\n{errors}");
            return ExitCode::FAILURE;
        }
    };
    let mut objects: Vec<&Object> = conversion.objects.iter().collect();
    if args.keep_unresolved {
        objects.extend(conversion.incomplete.iter().map(|i| &i.object));
    }
    if let Some(why) = nothing_converted(&conversion, objects.len()) {
        eprint!("{}", summary(&conversion, args.keep_unresolved));
        eprintln!("error: {why}");
        return ExitCode::FAILURE;
    }
    let written = match &args.output_dir {
        Some(dir) => write_dir(dir, &objects),
        None => write_stdout(&objects),
    };
    if let Err(e) = written {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    eprint!("{}", summary(&conversion, args.keep_unresolved));
    ExitCode::SUCCESS
}

/// Reads one `--param-file` into `params` (values given with `--param` win), dispatched by
/// extension: `.tfvars` and `.tfvars.json` are Terraform variable files.
fn param_file(path: &Path, params: &mut BTreeMap<String, String>) -> Result<(), String> {
    if !crate::import::is_terraform_param_file(path) {
        return Err(format!(
            "{}: --param-file takes a Terraform variable file (.tfvars or .tfvars.json)",
            path.display()
        ));
    }
    let values = crate::import::terraform_param_file(path).map_err(|e| e.to_string())?;
    for (k, v) in values {
        params.entry(k).or_insert(v);
    }
    Ok(())
}

/// Why the run is a failure though every input was read: inputs were given, but nothing at
/// all is written (every object held back, skipped or not converted). `None` otherwise.
fn nothing_converted(c: &Conversion, written: usize) -> Option<String> {
    if written > 0 || c.files.is_empty() {
        return None;
    }
    let held_back = c.incomplete.len();
    let skipped: usize = c.files.iter().map(|f| f.skipped).sum();
    let not_converted: usize = c.files.iter().map(|f| f.not_converted).sum();
    Some(format!(
        "nothing converted from {} input file(s): {held_back} object(s) held back for unresolved values, {skipped} resource(s) skipped, {not_converted} not converted (the notes above say why); nothing written",
        c.files.len()
    ))
}

/// One YAML document per object.
pub fn to_yaml(object: &Object) -> String {
    serde_saphyr::to_string(&object.manifest).expect("JSON values always serialize to YAML")
}

fn write_stdout(objects: &[&Object]) -> std::io::Result<()> {
    let docs: Vec<String> = objects.iter().map(|o| to_yaml(o)).collect();
    super::write_stdout(&docs.join("---\n"))
}

fn write_dir(dir: &Path, objects: &[&Object]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for o in objects {
        let path = dir.join(format!(
            "{}-{}.yaml",
            o.kind.as_str().to_lowercase(),
            o.name
        ));
        std::fs::write(path, to_yaml(o))?;
    }
    Ok(())
}

/// The text printed on stderr: one line per file, the skipped types, then every note.
pub fn summary(c: &Conversion, keep_unresolved: bool) -> String {
    let mut s = String::new();
    for f in &c.files {
        s.push_str(&format!(
            "{} ({}): {} converted, {} held back for unresolved values, {} skipped, {} not converted\n",
            f.file.display(),
            f.format,
            f.objects.len(),
            f.incomplete.len(),
            f.skipped,
            f.not_converted,
        ));
    }
    if !c.skipped.is_empty() {
        let total: usize = c.skipped.values().sum();
        let list: Vec<String> = c.skipped.iter().map(|(t, n)| format!("{t} ×{n}")).collect();
        s.push_str(&format!(
            "skipped {total} unsupported resources: {}\n",
            list.join(", ")
        ));
    }
    for n in c.notes.iter().filter(|n| n.kind != NoteKind::Skipped) {
        s.push_str(&format!("{n}\n"));
    }
    if keep_unresolved {
        for i in &c.incomplete {
            for (field, problem) in problems_as_written(&i.object) {
                s.push_str(&format!(
                    "{}: {field}: until its placeholders are filled in, the API server would reject {}/{}: {problem}\n",
                    i.object.source, i.object.kind, i.object.name
                ));
            }
        }
    }
    if !c.incomplete.is_empty() {
        s.push_str(&format!(
            "{} object(s) {} because of unresolved values: supply them with --param KEY=VALUE{}\n",
            c.incomplete.len(),
            if keep_unresolved {
                "written with ${...} placeholders"
            } else {
                "not written"
            },
            if keep_unresolved {
                ""
            } else {
                ", or write them with placeholders using --keep-unresolved"
            },
        ));
    }
    s
}
