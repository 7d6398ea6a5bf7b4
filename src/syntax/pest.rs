//! The generated pest parser. Nothing outside `syntax/` sees `Rule` or `Pair`.

#[derive(pest_derive::Parser)]
#[grammar = "../grammar/charter.pest"]
pub(crate) struct CharterParser;
