//! Municipalities and their 全国地方公共団体コード (local government code) with its check digit.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::fiscal_year::normalize_digits;

/// A 6-digit 全国地方公共団体コード: five digits and a check digit. Always stored and shown with 6 digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MunicipalityCode([u8; 6]);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("municipality code {input:?}: {reason}")]
pub struct CodeError {
    pub input: String,
    pub reason: String,
}

/// The check digit of the 総務省 code: weights 6,5,4,3,2, sum mod 11, and the ones digit of 11 minus the remainder.
pub fn check_digit(first5: &[u8; 5]) -> u8 {
    let sum: u32 = first5.iter().zip([6u32, 5, 4, 3, 2]).map(|(d, w)| u32::from(*d) * w).sum();
    ((11 - sum % 11) % 10) as u8
}

impl MunicipalityCode {
    pub fn as_string(&self) -> String {
        self.0.iter().map(|d| char::from(b'0' + d)).collect()
    }

    /// The two-digit prefecture number (01 北海道 … 47 沖縄県).
    pub fn prefecture(&self) -> u8 {
        self.0[0] * 10 + self.0[1]
    }
}

impl FromStr for MunicipalityCode {
    type Err = CodeError;

    /// Accepts the 6-digit form (the check digit is verified) and the 5-digit form (the check digit is computed).
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let s = normalize_digits(input.trim());
        let e = |reason: &str| CodeError { input: input.to_string(), reason: reason.to_string() };
        if !s.chars().all(|c| c.is_ascii_digit()) {
            return Err(e("must consist of digits"));
        }
        let digits: Vec<u8> = s.bytes().map(|b| b - b'0').collect();
        let first5: [u8; 5] = match digits.len() {
            5 | 6 => [digits[0], digits[1], digits[2], digits[3], digits[4]],
            _ => return Err(e("must have 6 digits (or 5 without the check digit)")),
        };
        let pref = first5[0] * 10 + first5[1];
        if !(1..=47).contains(&pref) {
            return Err(e("the first two digits must be a prefecture number 01–47"));
        }
        let check = check_digit(&first5);
        if digits.len() == 6 && digits[5] != check {
            return Err(CodeError {
                input: input.to_string(),
                reason: format!("check digit is {} but should be {check}", digits[5]),
            });
        }
        let mut all = [0u8; 6];
        all[..5].copy_from_slice(&first5);
        all[5] = check;
        Ok(Self(all))
    }
}

impl fmt::Display for MunicipalityCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_string())
    }
}

impl Serialize for MunicipalityCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.as_string())
    }
}

impl<'de> Deserialize<'de> for MunicipalityCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        // The stored form is always the 6-digit one; anything else is not canonical.
        if s.len() != 6 {
            return Err(serde::de::Error::custom("municipality code must have 6 digits"));
        }
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A municipality as a plan names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Municipality {
    pub name: String,
    pub code: MunicipalityCode,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_municipalities_validate() {
        for code in ["131091", "131105", "131121", "151009", "130001", "010006"] {
            assert_eq!(code.parse::<MunicipalityCode>().unwrap().to_string(), code);
        }
    }

    #[test]
    fn five_digit_form_gains_its_check_digit() {
        assert_eq!("13109".parse::<MunicipalityCode>().unwrap().to_string(), "131091");
        assert_eq!("１３１１０".parse::<MunicipalityCode>().unwrap().to_string(), "131105");
    }

    #[test]
    fn bad_codes_are_refused() {
        let e = "131092".parse::<MunicipalityCode>().unwrap_err();
        assert!(e.reason.contains("check digit is 2 but should be 1"), "{e}");
        assert!("1310".parse::<MunicipalityCode>().is_err());
        assert!("1310911".parse::<MunicipalityCode>().is_err());
        assert!("13a091".parse::<MunicipalityCode>().is_err());
        assert!("481001".parse::<MunicipalityCode>().is_err());
        assert!("00000".parse::<MunicipalityCode>().is_err());
    }
}
