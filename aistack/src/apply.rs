//! `aistack apply`: the plan of [`crate::fix`] checked, then written. Every
//! changed compose file is first checked with the target's own `docker
//! compose config`; when one is refused nothing at all is written (exit
//! 2). Files are replaced through core's writer (a directory another user
//! can write in is refused: a compose file in a user's home is theirs to
//! change), keeping their owner and mode, the old version kept beside them.
//! Containers are not recreated: the `restart` action tells the caller
//! (first-five --apply runs `docker compose up -d` in that project).

use std::io;
use std::os::unix::fs::MetadataExt;

use hardkit_core::atomic::{self, WriteOptions};
use hardkit_core::output::escape_untrusted;
use hardkit_core::record::Action;
use hardkit_core::root::Root;
use hardkit_core::{ExitStatus, Reporter};

use crate::cli::CliError;
use crate::fix;
use crate::stack::Stack;

fn action(op: &str, path: &std::path::Path, changed: bool) -> Action {
    Action {
        op: op.into(),
        path: path.to_path_buf().into(),
        mode: None,
        owner: None,
        changed,
        diff: None,
    }
}

pub fn run<W: io::Write>(
    root: &Root,
    stack: &Stack,
    check: bool,
    diff: bool,
    reporter: &mut Reporter<W>,
) -> Result<ExitStatus, CliError> {
    let plan = fix::plan(stack, root);
    let mut text = String::new();
    // Check every compose file before writing any.
    let mut validated = Vec::new();
    for change in plan.changes.iter().filter(|c| !c.project.is_empty()) {
        match fix::check_with_compose(root, stack, change) {
            fix::Verdict::Refused(message) => {
                return Err(CliError::Refused {
                    path: change.path.clone(),
                    message: format!("{message} (nothing was written)"),
                })
            }
            verdict => validated.push((change.path.clone(), verdict)),
        }
    }
    let mut status = ExitStatus::Clean;
    for change in &plan.changes {
        let host = root.resolve_parent(&change.path)?;
        let meta = std::fs::metadata(&host).map_err(|e| CliError::Refused {
            path: change.path.clone(),
            message: e.to_string(),
        })?;
        let opts = WriteOptions {
            mode: meta.mode() & 0o7777,
            owner: Some((meta.uid(), meta.gid())),
            backup: true,
        };
        if !check {
            atomic::replace_file(&host, change.new.as_bytes(), &opts)?;
        } else {
            status = ExitStatus::Findings;
        }
        let mut a = action("write", &change.path, true);
        a.mode = Some(format!("{:04o}", opts.mode));
        if diff {
            a.diff = Some(hardkit_core::diff::unified(
                &change.path.display().to_string(),
                &change.old,
                &change.new,
            ));
        }
        reporter.emit(&a)?;
        text.push_str(&format!(
            "change  write    {}\n",
            escape_untrusted(&change.path.display().to_string())
        ));
        for r in &change.reasons {
            text.push_str(&format!("          {}\n", escape_untrusted(r)));
        }
        if let Some(d) = &a.diff {
            text.push_str(d);
        }
        if let Some((_, verdict)) = validated.iter().find(|(p, _)| p == &change.path) {
            reporter.emit(&action("validate", &change.path, false))?;
            text.push_str(&match verdict {
                fix::Verdict::Accepted(p) => format!(
                    "ok      validate {} ({p} config accepted it)\n",
                    change.path.display()
                ),
                fix::Verdict::Unjudged(why) | fix::Verdict::Refused(why) => {
                    format!(
                        "ok      validate {} (NOT checked: {})\n",
                        change.path.display(),
                        escape_untrusted(why)
                    )
                }
            });
        }
    }
    // The containers run the old files until they are recreated: one
    // restart per changed project, named by its first file.
    let mut projects: Vec<&Vec<std::path::PathBuf>> = Vec::new();
    for change in plan.changes.iter().filter(|c| !c.project.is_empty()) {
        if !projects.iter().any(|p| p[0] == change.project[0]) {
            projects.push(&change.project);
        }
    }
    for files in projects {
        reporter.emit(&action("restart", &files[0], true))?;
        let flags: Vec<String> = files
            .iter()
            .map(|f| format!("-f {}", f.display()))
            .collect();
        text.push_str(&format!(
            "change  restart  {} (run: docker compose {} up -d)\n",
            escape_untrusted(&files[0].display().to_string()),
            escape_untrusted(&flags.join(" "))
        ));
    }
    for file in &plan.chmods {
        let host = root.resolve_parent(file)?;
        if !check {
            let (dir, name) = hardkit_core::dirfd::parent_for_writing(&host)?;
            dir.set_owner_mode(&name, Some((0, 0)), Some(0o400))
                .map_err(|e| CliError::Refused {
                    path: file.clone(),
                    message: e.to_string(),
                })?;
        } else {
            status = ExitStatus::Findings;
        }
        let mut a = action("chmod", file, true);
        a.mode = Some("0400".into());
        a.owner = Some("root:root".into());
        reporter.emit(&a)?;
        text.push_str(&format!(
            "change  chmod    {} (0400 root:root)\n",
            escape_untrusted(&file.display().to_string())
        ));
    }
    for s in &plan.skipped {
        text.push_str(&format!(
            "manual  {}:{}: {}\n",
            escape_untrusted(&s.path.display().to_string()),
            s.line,
            escape_untrusted(&s.why)
        ));
    }
    if plan.changes.is_empty() && plan.chmods.is_empty() {
        text.push_str("aistack: nothing to change in files\n");
    }
    reporter.text(&text)?;
    Ok(status)
}
