//! Workbooks as plain sheets of text cells: read with `calamine`, written with
//! `rust_xlsxwriter`. No other module knows either crate.
//!
//! Reading is bounded whatever the file holds: the file is a regular file of at most
//! [`FILE_LIMIT`] bytes, the zip's declared contents at most [`UNPACKED_LIMIT`], and cells are
//! streamed into a sparse list (a sheet with one cell at A1 and one at XFD1048576 costs two
//! cells, not the dense range calamine would allocate), at most [`CELL_LIMIT`] of them.

use std::io::{Cursor, Read};
use std::path::Path;

use calamine::{DataRef, Reader, Xlsx};

/// The largest workbook read (HQ's bulk downloads of large projects stay well below).
pub const FILE_LIMIT: u64 = 256 << 20;
/// The most the zip entries may declare unpacked (a zip bomb is refused before reading).
pub const UNPACKED_LIMIT: u64 = 256 << 20;
/// The most non-empty cells read from one workbook.
pub const CELL_LIMIT: usize = 5_000_000;
/// The most text read from one workbook's cells, however often a shared string repeats.
pub const TEXT_LIMIT: usize = 256 << 20;
/// Excel's longest cell text.
pub const CELL_TEXT_LIMIT: usize = 32_767;

/// A row's non-empty cells: `(column, text)`, 0-based columns in order.
pub type Cells = Vec<(u32, String)>;

/// A numbered row: its 0-based row number and its cells.
pub type Row = (u32, Cells);

/// One sheet: its name and non-empty cells by row, rows and cells in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sheet {
    pub name: String,
    /// `(row, cells)` with 0-based row numbers; each cell `(column, text)`, 0-based, trimmed,
    /// never empty.
    pub rows: Vec<(u32, Cells)>,
}

impl Sheet {
    /// A sheet from a header row and data rows (each row as wide as it likes; empty cells are
    /// left out).
    pub fn from_rows(name: &str, headers: &[String], data: &[Vec<String>]) -> Sheet {
        let mut rows = Vec::with_capacity(data.len() + 1);
        let all = std::iter::once(headers).chain(data.iter().map(Vec::as_slice));
        for (r, row) in all.enumerate() {
            let cells: Vec<(u32, String)> = row
                .iter()
                .enumerate()
                .filter(|(_, t)| !t.trim().is_empty())
                .map(|(c, t)| (c as u32, t.trim().to_owned()))
                .collect();
            if !cells.is_empty() {
                rows.push((r as u32, cells));
            }
        }
        Sheet {
            name: name.to_owned(),
            rows,
        }
    }

    /// The header row (the first row with a cell) and the rows below it.
    pub fn split_header(&self) -> Option<(&Cells, &[Row])> {
        let ((_, header), rest) = self.rows.split_first()?;
        Some((header, rest))
    }
}

/// Excel's name of a 0-based column: A, B, ..., Z, AA, ...
pub fn column_name(mut col: u32) -> String {
    let mut out = Vec::new();
    loop {
        out.push(char::from(b'A' + (col % 26) as u8));
        if col < 26 {
            break;
        }
        col = col / 26 - 1;
    }
    out.iter().rev().collect()
}

/// Why a workbook could not be read.
#[derive(Debug)]
pub enum ReadError {
    Io(std::io::Error),
    NotRegular(&'static str),
    TooLarge(u64),
    NotAWorkbook(String),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Io(e) => write!(f, "cannot read it: {e}"),
            ReadError::NotRegular(kind) => write!(f, "it is {kind}, not a regular file"),
            ReadError::TooLarge(limit) => {
                write!(f, "it is larger than the limit of {} MiB", limit >> 20)
            }
            ReadError::NotAWorkbook(why) => write!(f, "it is not an .xlsx workbook ({why})"),
        }
    }
}

/// A file's bytes: a regular file (checked before it is opened, so a pipe or a device cannot
/// hang the command) of at most `limit` bytes.
pub fn read_file(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    let meta = std::fs::metadata(path).map_err(ReadError::Io)?;
    if !meta.is_file() {
        return Err(ReadError::NotRegular(crate::source::kind_of(&meta)));
    }
    if meta.len() > limit {
        return Err(ReadError::TooLarge(limit));
    }
    let file = crate::source::open_for_reading(path).map_err(ReadError::Io)?;
    let opened = file.metadata().map_err(ReadError::Io)?;
    if !opened.is_file() || !crate::source::same_file(&opened, &meta) {
        return Err(ReadError::NotRegular(crate::source::kind_of(&opened)));
    }
    let mut bytes = Vec::with_capacity(opened.len().min(limit) as usize);
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(ReadError::Io)?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge(limit));
    }
    Ok(bytes)
}

/// Every sheet of a workbook file, in workbook order.
pub fn read(path: &Path) -> Result<Vec<Sheet>, ReadError> {
    read_bytes(read_file(path, FILE_LIMIT)?)
}

/// Every sheet of a workbook held in memory.
pub fn read_bytes(bytes: Vec<u8>) -> Result<Vec<Sheet>, ReadError> {
    check_unpacked_size(&bytes)?;
    check_references(&bytes)?;
    let bad = |e: calamine::XlsxError| ReadError::NotAWorkbook(e.to_string());
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).map_err(bad)?;
    let mut sheets = Vec::new();
    let mut budget = CELL_LIMIT;
    let mut text_budget = TEXT_LIMIT;
    for name in book.sheet_names() {
        let mut reader = book.worksheet_cells_reader(&name).map_err(bad)?;
        let mut rows: Vec<(u32, Cells)> = Vec::new();
        while let Some(cell) = reader.next_cell().map_err(bad)? {
            // Sized before it is copied: one long shared string may back many cells.
            let size = match cell.get_value() {
                DataRef::SharedString(t) => t.len(),
                DataRef::String(t) | DataRef::DateTimeIso(t) | DataRef::DurationIso(t) => t.len(),
                _ => 24,
            };
            if size > CELL_TEXT_LIMIT * 4 {
                return Err(ReadError::NotAWorkbook(format!(
                    "a cell of sheet `{name}` holds more than Excel's {CELL_TEXT_LIMIT} characters"
                )));
            }
            text_budget = text_budget.checked_sub(size).ok_or_else(|| {
                ReadError::NotAWorkbook(format!(
                    "its cells hold more than {} MiB of text",
                    TEXT_LIMIT >> 20
                ))
            })?;
            let text = cell_text(cell.get_value());
            if text.is_empty() {
                continue;
            }
            budget = budget
                .checked_sub(1)
                .ok_or_else(|| ReadError::NotAWorkbook(format!("more than {CELL_LIMIT} cells")))?;
            let (r, c) = cell.get_position();
            match rows.last_mut() {
                Some((last, cells)) if *last == r => cells.push((c, text)),
                _ => rows.push((r, vec![(c, text)])),
            }
        }
        // Cells come in sheet order; a hand-made file may not keep it.
        rows.sort_by_key(|(r, _)| *r);
        rows.dedup_by(|b, a| {
            if a.0 == b.0 {
                a.1.append(&mut b.1);
                true
            } else {
                false
            }
        });
        for (_, cells) in &mut rows {
            cells.sort_by_key(|(c, _)| *c);
            cells.dedup_by_key(|(c, _)| *c);
        }
        sheets.push(Sheet { name, rows });
    }
    Ok(sheets)
}

/// Refuses a zip whose entries declare more than [`UNPACKED_LIMIT`] unpacked bytes.
fn check_unpacked_size(bytes: &[u8]) -> Result<(), ReadError> {
    let bad = |e: zip::result::ZipError| ReadError::NotAWorkbook(e.to_string());
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(bad)?;
    // The central directory's sizes (`decompressed_size` gives up on entries written with a
    // data descriptor, as rust_xlsxwriter writes them).
    let mut total: u128 = 0;
    for i in 0..archive.len() {
        total = total.saturating_add(u128::from(archive.by_index_raw(i).map_err(bad)?.size()));
    }
    if total > u128::from(UNPACKED_LIMIT) {
        return Err(ReadError::NotAWorkbook(format!(
            "its contents unpack to more than {} MiB",
            UNPACKED_LIMIT >> 20
        )));
    }
    Ok(())
}

/// Refuses a worksheet whose cell references (`r="B7"`, `<row r="7">`, `ref="A1:C9"`) are not
/// Excel's (columns up to XFD, rows up to 1048576): calamine's arithmetic on them overflows.
/// Streams each worksheet once, byte by byte, so it costs no memory.
fn check_references(bytes: &[u8]) -> Result<(), ReadError> {
    let bad = |e: zip::result::ZipError| ReadError::NotAWorkbook(e.to_string());
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(bad)?;
    for i in 0..archive.len() {
        let entry = archive.by_index(i).map_err(bad)?;
        let name = entry.name().to_owned();
        if !(name.starts_with("xl/worksheets/") && name.ends_with(".xml")) {
            continue;
        }
        let mut scanner = RefScanner::default();
        let mut reader = std::io::BufReader::with_capacity(64 << 10, entry);
        loop {
            let chunk = std::io::BufRead::fill_buf(&mut reader)
                .map_err(|e| ReadError::NotAWorkbook(format!("{name}: {e}")))?;
            if chunk.is_empty() {
                break;
            }
            let n = chunk.len();
            for &b in chunk {
                if let Some(value) = scanner.push(b)
                    && !is_reference(&value)
                {
                    return Err(ReadError::NotAWorkbook(format!(
                        "{name} has the cell reference `{}`, which is not one of Excel's",
                        String::from_utf8_lossy(&value)
                    )));
                }
            }
            std::io::BufRead::consume(&mut reader, n);
        }
    }
    Ok(())
}

/// Finds the values of ` r="..."` and ` ref="..."` attributes in a byte stream.
#[derive(Default)]
struct RefScanner {
    /// The last bytes seen, to match the attribute names.
    window: [u8; 6],
    /// Inside a value: its quote and the bytes so far.
    value: Option<(u8, Vec<u8>)>,
}

impl RefScanner {
    fn push(&mut self, b: u8) -> Option<Vec<u8>> {
        if let Some((quote, v)) = &mut self.value {
            if b == *quote {
                let (_, v) = self.value.take()?;
                return Some(v);
            }
            // Longer than any reference: kept short, and refused as too long.
            if v.len() <= 32 {
                v.push(b);
            }
            return None;
        }
        self.window.rotate_left(1);
        self.window[5] = b;
        let w = &self.window;
        if (b == b'"' || b == b'\'')
            && (w[2..5] == *b" r=" || (w[0].is_ascii_whitespace() && w[1..5] == *b"ref="))
        {
            self.value = Some((b, Vec::new()));
        }
        None
    }
}

/// `A1`, `XFD1048576`, `7` (a row), `A1:C9`, each within Excel's limits.
fn is_reference(value: &[u8]) -> bool {
    if value.len() > 32 || value.is_empty() {
        return false;
    }
    value.split(|&b| b == b':').all(|part| {
        let letters = part.iter().take_while(|b| b.is_ascii_alphabetic()).count();
        let (col, row) = part.split_at(letters);
        let row_ok = !row.is_empty()
            && row.len() <= 7
            && row.iter().all(u8::is_ascii_digit)
            && std::str::from_utf8(row)
                .ok()
                .and_then(|r| r.parse::<u32>().ok())
                .is_some_and(|r| (1..=1_048_576).contains(&r));
        let col_ok = col.len() <= 3
            && col.iter().fold(0u32, |n, c| {
                n * 26 + u32::from(c.to_ascii_uppercase() - b'A') + 1
            }) <= 16_384;
        row_ok && col_ok
    })
}

fn cell_text(value: &DataRef<'_>) -> String {
    let text = match value {
        DataRef::Empty | DataRef::Error(_) => return String::new(),
        DataRef::String(s) => s.clone(),
        DataRef::SharedString(s) => (*s).to_owned(),
        // A code typed as a number is read as one: `12.0` is the code `12`.
        DataRef::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        DataRef::Float(f) => f.to_string(),
        DataRef::Int(i) => i.to_string(),
        DataRef::Bool(true) => "True".to_owned(),
        DataRef::Bool(false) => "False".to_owned(),
        DataRef::DateTime(d) => d.as_f64().to_string(),
        DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => s.clone(),
    };
    text.trim().to_owned()
}

/// A workbook's bytes: each sheet's cells written as text.
pub fn write(sheets: &[Sheet]) -> Result<Vec<u8>, String> {
    let mut book = rust_xlsxwriter::Workbook::new();
    for sheet in sheets {
        let ws = book.add_worksheet();
        ws.set_name(&sheet.name).map_err(|e| e.to_string())?;
        for (r, cells) in &sheet.rows {
            for (c, text) in cells {
                let col = u16::try_from(*c).map_err(|_| format!("column {c} is too far"))?;
                ws.write_string(*r, col, text).map_err(|e| e.to_string())?;
            }
        }
    }
    book.save_to_buffer().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_named_as_excel_names_them() {
        assert_eq!(column_name(0), "A");
        assert_eq!(column_name(25), "Z");
        assert_eq!(column_name(26), "AA");
        assert_eq!(column_name(16383), "XFD");
    }

    #[test]
    fn a_written_workbook_reads_back() {
        let sheet = Sheet::from_rows(
            "users",
            &["username".to_owned(), "role".to_owned()],
            &[vec!["asha".to_owned(), String::new(), "x".to_owned()]],
        );
        let bytes = write(std::slice::from_ref(&sheet)).unwrap();
        assert_eq!(read_bytes(bytes).unwrap(), vec![sheet]);
    }

    #[test]
    fn references_are_excels() {
        for good in ["A1", "XFD1048576", "7", "A1:C9", "b2"] {
            assert!(is_reference(good.as_bytes()), "{good}");
        }
        for bad in [
            "AAAAAAAAAAAAAAAAAAAA2",
            "99999999999",
            "XFE1",
            "A0",
            "A1048577",
            "",
            "A",
            "1A",
        ] {
            assert!(!is_reference(bad.as_bytes()), "{bad}");
        }
        let mut s = RefScanner::default();
        let found: Vec<Vec<u8>> =
            br#"<row r="2"><c r="B2" t="s"><f ref='A1:A3'/><x sqref="Q"/></c>"#
                .iter()
                .filter_map(|&b| s.push(b))
                .collect();
        assert_eq!(found, [b"2".to_vec(), b"B2".to_vec(), b"A1:A3".to_vec()]);
    }

    #[test]
    fn garbage_is_not_a_workbook() {
        assert!(matches!(
            read_bytes(b"PK\x03\x04 not really".to_vec()),
            Err(ReadError::NotAWorkbook(_))
        ));
        assert!(read_bytes(Vec::new()).is_err());
    }
}
