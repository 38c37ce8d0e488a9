//! File names of published snapshots: a version name made safe for every file system, reversibly.

use super::MAX_STEM;
use crate::core::domain::{DomainError, PlanId};

// ───────────────────────────── file names ─────────────────────────────

/// Characters a file name keeps as they are: lowercase ASCII letters, digits, `-`, `_`, and Japanese characters
/// that have no case and no canonical decomposition into other characters of this set (kana, kanji, a few
/// full-width marks), so that case-insensitive and normalizing file systems cannot merge two names.
fn kept(c: char) -> bool {
    matches!(c,
        'a'..='z' | '0'..='9' | '-' | '_'
        | '\u{3001}'..='\u{3002}'   // 、。
        | '\u{3005}'                // 々
        | '\u{300C}'..='\u{3011}'   // 「」『』【】
        | '\u{3041}'..='\u{3096}'   // hiragana (the combining voice marks U+3099–U+309A are escaped)
        | '\u{30A1}'..='\u{30FC}'   // katakana, ・, ー
        | '\u{4E00}'..='\u{9FFF}'   // CJK unified ideographs
        | '\u{FF08}'..='\u{FF09}'   // （）
        | '\u{FF10}'..='\u{FF19}'   // full-width digits
        | '\u{FF5E}'                // ～
    )
}

/// The names Windows reserves for devices whatever the extension; a stem equal to one gets its first byte escaped.
const DEVICE_NAMES: [&str; 24] = [
    "con", "prn", "aux", "nul", "com0", "com1", "com2", "com3", "com4", "com5", "com6", "com7", "com8", "com9", "lpt0",
    "lpt1", "lpt2", "lpt3", "lpt4", "lpt5", "lpt6", "lpt7", "lpt8", "lpt9",
];

fn escape(out: &mut String, c: char) {
    let mut buf = [0u8; 4];
    for b in c.encode_utf8(&mut buf).bytes() {
        out.push_str(&format!("%{b:02X}"));
    }
}

/// The file-name stem of a version name or plan id: every character that [`kept`] keeps is written as it is,
/// every other one as `%XX` per UTF-8 byte (uppercase hex), and the first character of a Windows device name is
/// escaped too. Percent-decoding the stem gives the name back, so distinct names get distinct stems, also on file
/// systems that ignore case or Unicode normalization. Refused when the stem would exceed [`MAX_STEM`] bytes.
pub fn file_stem(field: &str, name: &str) -> Result<String, DomainError> {
    let mut out = String::with_capacity(name.len());
    let device = DEVICE_NAMES.contains(&name);
    for (i, c) in name.chars().enumerate() {
        if kept(c) && !(device && i == 0) {
            out.push(c);
        } else {
            escape(&mut out, c);
        }
    }
    if out.is_empty() {
        return Err(DomainError::invalid(field, "an empty name has no file name"));
    }
    if out.len() > MAX_STEM {
        return Err(DomainError::invalid(
            field,
            format!(
                "{name:?} would need a file name of {} bytes, more than {MAX_STEM}; publish it under a shorter name",
                out.len()
            ),
        ));
    }
    Ok(out)
}

/// `<plan stem>/<version stem>.json`, the snapshot's path under the snapshots directory (always `/`-separated).
pub fn relative_path(plan: &PlanId, version: &str) -> Result<String, DomainError> {
    Ok(format!("{}/{}.json", file_stem("plan", plan.as_str())?, file_stem("version", version)?))
}
