//! `ecs-reconciler validate`: load a set, print every finding, exit 1 if any is an error.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anstyle::{AnsiColor, Style};
use serde_json::json;

use super::Output;
use crate::manifest::{Diagnostic, ManifestSet, Severity};

pub fn run(paths: &[PathBuf], output: Output, strict: bool) -> anyhow::Result<ExitCode> {
    let set = ManifestSet::load(paths)?;
    match output {
        Output::Json => {
            let report = json!({
                "valid": set.is_valid(),
                "files": set.files,
                "resources": set.resources.iter().map(|r| json!({
                    "kind": r.kind, "name": r.name(), "file": r.origin.file,
                    "line": r.origin.positions.value("").line,
                })).collect::<Vec<_>>(),
                "diagnostics": set.diagnostics,
            });
            let mut out = std::io::stdout().lock();
            serde_json::to_writer_pretty(&mut out, &report)?;
            writeln!(out)?;
        }
        Output::Text => print_text(&set)?,
    }
    let warned = set.diagnostics.iter().any(|d| d.severity == Severity::Warning);
    Ok(if set.is_valid() && !(strict && warned) { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn print_text(set: &ManifestSet) -> std::io::Result<()> {
    // anstream drops the colour when stdout is not a terminal (or NO_COLOR is set).
    let mut out = anstream::stdout().lock();
    for d in &set.diagnostics {
        write_diagnostic(&mut out, d)?;
    }
    let count = |s: Severity| set.diagnostics.iter().filter(|d| d.severity == s).count();
    let (errors, warnings) = (count(Severity::Error), count(Severity::Warning));
    let verdict = if errors > 0 {
        format!(
            "{}invalid{}: nothing in this set will be applied",
            style(Severity::Error).render(),
            style(Severity::Error).render_reset()
        )
    } else {
        let ok = Style::new().fg_color(Some(AnsiColor::Green.into())).bold();
        format!("{}valid{}", ok.render(), ok.render_reset())
    };
    writeln!(
        out,
        "{} file(s), {} resource(s): {errors} error(s), {warnings} warning(s): {verdict}",
        set.files.len(),
        set.resources.len()
    )
}

fn style(s: Severity) -> Style {
    let colour = match s {
        Severity::Error => AnsiColor::Red,
        Severity::Warning => AnsiColor::Yellow,
        Severity::Note => AnsiColor::Cyan,
    };
    Style::new().fg_color(Some(colour.into())).bold()
}

fn write_diagnostic(out: &mut impl Write, d: &Diagnostic) -> std::io::Result<()> {
    let s = style(d.severity);
    let bold = Style::new().bold();
    write!(out, "{}{}:{}:{}{}: ", bold.render(), d.file, d.line, d.column, bold.render_reset())?;
    write!(out, "{}{}[{}]{}: ", s.render(), d.severity.as_str(), d.code, s.render_reset())?;
    writeln!(out, "{}", d.body())?;
    Ok(())
}
