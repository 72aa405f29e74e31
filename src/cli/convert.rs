//! `ecsplane convert`: CloudFormation, AWS CLI JSON and Terraform into ecsplane manifests.
//!
//! Exit codes: 0 when objects were written; 1 when an input is invalid (nothing written); 2 for
//! usage errors; 3 when the inputs were read but no object could be written (every object held
//! back, skipped or not converted: the notes say why).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::import::{
    Conversion, ConvertOptions, NoteKind, Object, convert_files, problems_as_written,
    read_param_file,
};

/// The exit code when nothing could be written.
const NOTHING_CONVERTED: u8 = 3;

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
    /// A value for a CloudFormation parameter, pseudo parameter (AWS::Region,
    /// AWS::StackName), resource (LogicalId or LogicalId.Attribute), Fn::ImportValue export
    /// name, Terraform variable or unrendered placeholder; FILE:KEY=VALUE applies to the input
    /// FILE only. Repeatable; wins over --param-file.
    #[arg(long = "param", value_name = "[FILE:]KEY=VALUE", value_parser = parse_param)]
    params: Vec<(String, String)>,
    /// Values from a parameter file: CloudFormation parameter JSON (the `aws cloudformation`
    /// [{"ParameterKey", "ParameterValue"}] shape or Copilot's {"Parameters": {…}});
    /// INPUT:FILE applies them to the input INPUT only. Repeatable.
    #[arg(long = "param-file", value_name = "[INPUT:]FILE")]
    param_files: Vec<String>,
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

/// The values of `--param-file [INPUT:]FILE`, keys scoped to INPUT when one is given.
fn param_file(arg: &str) -> Result<Vec<(String, String)>, String> {
    let (scope, file) = match arg.split_once(':') {
        Some((scope, file)) if !Path::new(arg).exists() && Path::new(file).exists() => {
            (Some(scope), file)
        }
        _ => (None, arg),
    };
    let values = read_param_file(Path::new(file)).map_err(|e| e.to_string())?;
    Ok(values
        .into_iter()
        .map(|(k, v)| match scope {
            Some(scope) => (format!("{scope}:{k}"), v),
            None => (k, v),
        })
        .collect())
}

/// Converts, writes the manifests, and prints the summary and notes on stderr.
pub fn run(args: Args) -> ExitCode {
    let mut params = BTreeMap::new();
    for arg in &args.param_files {
        match param_file(arg) {
            Ok(values) => params.extend(values),
            Err(e) => {
                eprintln!("error: nothing written:\n{e}");
                return ExitCode::FAILURE;
            }
        }
    }
    params.extend(args.params.iter().cloned());
    let options = ConvertOptions {
        params,
        namespace: args.namespace.clone(),
    };
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
    if objects.is_empty() {
        // Decided before anything is written: not even an empty output directory is made.
        eprint!("{}", summary(&conversion, args.keep_unresolved));
        eprintln!("nothing converted: no object could be written (exit code {NOTHING_CONVERTED})");
        return ExitCode::from(NOTHING_CONVERTED);
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
