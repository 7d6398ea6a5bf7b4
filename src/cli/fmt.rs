//! `charter fmt`: the canonical format, written atomically and only over unchanged files.

use std::path::Path;

use charter::diagnostic::{self, Diagnostic};
use charter::source::SourceSet;

use super::output::{USAGE, fail, outln, print_human};

/// `charter fmt`: rewrites files in the canonical format (`charter::syntax::format`), or with
/// `--check` lists those that would change (exit 1).
pub(crate) fn run(path: &Path, check: bool) -> u8 {
    let (sources, problems) = match SourceSet::load(path) {
        Ok(loaded) => loaded,
        Err(e) => return fail(e),
    };
    let mut unformattable: Vec<Diagnostic> = problems.into_iter().map(Diagnostic::from).collect();
    let mut changed = Vec::new();
    // Files that could not be written: reported after the others are done, exit 2.
    let mut unwritten = Vec::new();
    for (id, file) in sources.files().filter(|(_, f)| !f.undecodable) {
        match charter::syntax::format(id, &file.text) {
            Err(mut d) => unformattable.append(&mut d),
            Ok(formatted) if formatted != *file.text => {
                if !check {
                    // Written to the file that was read (a link's target, by its exact name),
                    // and only if nobody edited it while it was formatted.
                    let written =
                        charter::output::write_atomic_if(&file.path, formatted.as_bytes(), || {
                            file.unchanged_on_disk()
                        });
                    match written {
                        Ok(true) => {}
                        Ok(false) => {
                            unwritten.push(format!(
                                "`{}` changed while formatting; nothing written",
                                file.name
                            ));
                            continue;
                        }
                        Err(e) => {
                            unwritten.push(format!("cannot write `{}`: {e}", file.name));
                            continue;
                        }
                    }
                }
                changed.push(file.name.clone());
            }
            Ok(_) => {}
        }
    }
    for name in &changed {
        outln!(
            "{}{name}",
            if check {
                "would reformat "
            } else {
                "formatted "
            }
        );
    }
    for problem in &unwritten {
        fail(problem);
    }
    if !unformattable.is_empty() {
        diagnostic::sort(&mut unformattable);
        print_human(&sources, &unformattable);
        return fail("some files have syntax errors and were left as they are");
    }
    if !unwritten.is_empty() {
        return USAGE;
    }
    u8::from(check && !changed.is_empty())
}
