//! The mutation engine: byte-level mutations (bit flips, byte insert/delete, splices, interesting integers),
//! dictionary tokens per target, text-token mutation (numbers and quoted strings replaced in place) and the
//! structure-aware JSON and TOML mutations of `tree.rs`, all driven by one seeded random generator.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::targets::Shape;
use crate::tree;

/// Integers at the edges of the types the parsers read into: u64, i64, u32, u16, years, powers of two.
pub const INTERESTING: &[&str] = &[
    "0",
    "1",
    "-1",
    "9",
    "10",
    "63",
    "64",
    "65",
    "127",
    "128",
    "255",
    "256",
    "999",
    "1000",
    "9999",
    "10000",
    "65535",
    "65536",
    "2147483647",
    "2147483648",
    "4294967295",
    "4294967296",
    "9007199254740993",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "-9223372036854775809",
    "18446744073709551615",
    "18446744073709551616",
    "79228162514264337593543950335",
    "79228162514264337593543950336",
    "1e308",
    "-0",
    "0.0000000000000000000000000001",
    "00",
    "01",
];

/// Raw bytes that break text formats: NUL, controls, invalid UTF-8, separators, BOM, the em dash of notes.
const WEIRD: &[&[u8]] = &[
    b"\0",
    b"\n",
    b"\r\n",
    b"\n\n",
    b"\t",
    b"\x7f",
    b"\xff",
    b"\xc3",
    b"\xed\xa0\x80",
    b"\xef\xbb\xbf",
    "\u{2014} ".as_bytes(),
    "\u{3000}".as_bytes(),
    "\u{ff10}".as_bytes(),
    b"\\u0000",
    b"\\ud800",
    b"\"",
    b"\\",
    b"{",
    b"}",
    b"[",
    b"]",
    b",",
    b":",
    b"=",
    b"+",
    b"-",
    b".",
    b" ",
];

pub struct Engine {
    pub rng: StdRng,
    /// The longest input a mutation yields.
    pub max_len: usize,
}

impl Engine {
    pub fn new(seed: u64, max_len: usize) -> Self {
        Self { rng: StdRng::seed_from_u64(seed), max_len }
    }

    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { self.rng.gen_range(0..n) }
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.rng.gen_bool(p)
    }

    /// A token: from the target's dictionary, an interesting integer, or weird bytes.
    pub fn token(&mut self, dict: &[&str]) -> Vec<u8> {
        match self.below(4) {
            0 | 1 if !dict.is_empty() => {
                let i = self.below(dict.len());
                dict[i].as_bytes().to_vec()
            }
            2 => {
                let i = self.below(INTERESTING.len());
                INTERESTING[i].as_bytes().to_vec()
            }
            _ => {
                let i = self.below(WEIRD.len());
                WEIRD[i].to_vec()
            }
        }
    }

    /// One to a few stacked mutations of `input`, the structure-aware ones when the target's shape allows.
    pub fn mutate(&mut self, input: &[u8], corpus: &[Vec<u8>], dict: &[&str], shape: Shape) -> Vec<u8> {
        let mut out = input.to_vec();
        let most = if self.chance(0.2) { 8 } else { 3 };
        let rounds = 1 + self.below(most);
        for _ in 0..rounds {
            let structured = match shape {
                Shape::Json if self.chance(0.45) => tree::mutate_json(self, &out, dict),
                Shape::PrefixedJson if self.chance(0.45) => {
                    let at = out.iter().position(|b| *b == b'\n').map_or(0, |i| i + 1);
                    tree::mutate_json(self, &out[at..], dict).map(|j| [&out[..at], j.as_slice()].concat())
                }
                Shape::Toml if self.chance(0.45) => tree::mutate_toml(self, &out, dict),
                _ => None,
            };
            out = match structured {
                Some(s) => s,
                None if self.chance(0.4) => self.mutate_text(&out, dict),
                None => self.mutate_bytes(&out, corpus, dict),
            };
        }
        out.truncate(self.max_len);
        out
    }

    fn mutate_bytes(&mut self, input: &[u8], corpus: &[Vec<u8>], dict: &[&str]) -> Vec<u8> {
        let mut b = input.to_vec();
        let len = b.len();
        match self.below(9) {
            0 if len > 0 => {
                let i = self.below(len);
                b[i] ^= 1 << self.below(8);
            }
            1 if len > 0 => {
                let i = self.below(len);
                b[i] = self.rng.r#gen();
            }
            2 => {
                let i = self.below(len + 1);
                let n = 1 + self.below(8);
                let bytes: Vec<u8> = (0..n).map(|_| self.rng.r#gen()).collect();
                b.splice(i..i, bytes);
            }
            3 if len > 0 => {
                let i = self.below(len);
                let cap = if self.chance(0.1) { len } else { 16 };
                let n = 1 + self.below((len - i).min(cap));
                b.drain(i..i + n);
            }
            4 if len > 0 => {
                let i = self.below(len);
                let n = 1 + self.below((len - i).min(64));
                let copy = b[i..i + n].to_vec();
                let at = self.below(len + 1);
                b.splice(at..at, copy);
            }
            5 if !corpus.is_empty() => {
                let other = &corpus[self.below(corpus.len())];
                let cut = self.below(len + 1);
                let from = self.below(other.len() + 1);
                b.truncate(cut);
                b.extend_from_slice(&other[from..]);
            }
            6 => {
                let t = self.token(dict);
                let i = self.below(len + 1);
                if self.chance(0.5) && i < len {
                    let n = 1 + self.below((len - i).min(8));
                    b.splice(i..i + n, t);
                } else {
                    b.splice(i..i, t);
                }
            }
            7 if len > 0 => {
                let i = self.below(len);
                b.truncate(i);
            }
            _ => {
                let i = self.below(len + 1);
                let n = 1 + self.below(4);
                let byte = b.get(i).copied().unwrap_or(b'a');
                b.splice(i..i, std::iter::repeat_n(byte, n * if self.chance(0.05) { 256 } else { 1 }));
            }
        }
        b
    }

    /// Replaces one number or one quoted string of the text with a token, keeping the rest as it was; or swaps
    /// two lines.
    fn mutate_text(&mut self, input: &[u8], dict: &[&str]) -> Vec<u8> {
        let spans = text_spans(input);
        if spans.is_empty() || self.chance(0.1) {
            return self.swap_lines(input);
        }
        let (a, b, quoted) = spans[self.below(spans.len())];
        let mut t = self.token(dict);
        if quoted && self.chance(0.7) {
            t = [b"\"".as_slice(), &t, b"\""].concat();
        }
        let mut out = input.to_vec();
        out.splice(a..b, t);
        out
    }

    fn swap_lines(&mut self, input: &[u8]) -> Vec<u8> {
        let mut lines: Vec<&[u8]> = input.split(|b| *b == b'\n').collect();
        if lines.len() < 2 {
            return input.to_vec();
        }
        let (i, j) = (self.below(lines.len()), self.below(lines.len()));
        match self.below(3) {
            0 => lines.swap(i, j),
            1 => {
                lines.remove(i);
            }
            _ => {
                let l = lines[i];
                lines.insert(j, l);
            }
        }
        lines.join(&b'\n')
    }
}

/// Spans of ASCII digit runs (with a leading minus) and of double-quoted strings: (start, end, quoted).
fn text_spans(b: &[u8]) -> Vec<(usize, usize, bool)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() && out.len() < 4096 {
        if b[i] == b'"' {
            let start = i;
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            let end = (i + 1).min(b.len());
            out.push((start, end, true));
            i = end;
        } else if b[i].is_ascii_digit() || (b[i] == b'-' && b.get(i + 1).is_some_and(u8::is_ascii_digit)) {
            let start = i;
            i += 1;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            out.push((start, i, false));
        } else {
            i += 1;
        }
    }
    out
}
